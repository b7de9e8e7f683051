// What a browser app ships for `attachRefresh` (bench/bundle.ts bundles this file).
export { attachRefresh } from '../../src/index.js';
