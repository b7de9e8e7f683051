// What a browser app ships for axios-jwt (bench/bundle.ts bundles this file).
export { applyAuthTokenInterceptor } from 'axios-jwt';
