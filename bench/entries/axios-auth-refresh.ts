// What a browser app ships for axios-auth-refresh (bench/bundle.ts bundles this file).
export { createAuthRefresh } from 'axios-auth-refresh';
