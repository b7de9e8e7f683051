// What a browser app ships for `refreshTokenGrant` alone (bench/bundle.ts bundles this file).
export { refreshTokenGrant } from '../../src/index.js';
