// Page script for base-href-dpop.e2e.test.ts: a same-origin API called with relative URLs, as an app with
// `<base href>` (Angular's default `<base href="/">`) does, with a DPoP session.
import axios from 'axios';
import { attachRefresh } from '../../../../src/index.js';
import { createDpop } from '../../../../src/dpop.js';

(globalThis as { baseHrefTest?: unknown }).baseHrefTest = {
  async run(url: string): Promise<number> {
    const dpop = await createDpop();
    const api = axios.create(); // no baseURL: relative URLs resolve against the document, as XHR/fetch do
    attachRefresh(api, {
      tokens: { accessToken: 'at-1', tokenType: 'DPoP' },
      dpop,
      refresh: async () => ({ accessToken: 'at-2', tokenType: 'DPoP' }),
    });
    const response = await api.get(url, { validateStatus: () => true });
    return response.status;
  },
};
