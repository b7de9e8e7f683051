// The URL catalogue's page script, bundled by esbuild for the browser: axios and the package's source, as an app would
// bundle them. The test drives it through `window.scopeTest`.
import axios from 'axios';
import { attachRefresh } from '../../../src/index.js';
import { catalogue, runRow, type Outcome, type Ports } from '../../support/scope-catalogue.js';

/** What the page exposes to the test. */
export interface ScopeTest {
  /** Sends catalogue row `index` through a fresh instance that uses axios's `adapter`. */
  run(index: number, ports: Ports, adapter: 'xhr' | 'fetch'): Promise<Outcome>;
}

const scopeTest: ScopeTest = {
  run: (index, ports, adapter) =>
    runRow(catalogue(ports)[index]!, ports, { axios, attachRefresh, defaults: { adapter } }),
};
(globalThis as unknown as { scopeTest: ScopeTest }).scopeTest = scopeTest;
