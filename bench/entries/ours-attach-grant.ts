// What a browser app ships for `attachRefresh` with the OAuth refresh-token grant (bench/bundle.ts bundles this file).
export { attachRefresh, refreshTokenGrant } from '../../src/index.js';
