// What a browser app ships for `axios-token-refresh/dpop` (bench/bundle.ts bundles this file).
export { createDpop } from '../../src/dpop.js';
