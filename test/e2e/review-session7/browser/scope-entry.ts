// Page script for base-href-scope.e2e.test.ts (session 7 review): exposes axios and the package's source to page.evaluate.
import axios from 'axios';
import { attachRefresh, createTokenSession } from '../../../../src/index.js';

(globalThis as unknown as { h2: unknown }).h2 = { axios, attachRefresh, createTokenSession };
