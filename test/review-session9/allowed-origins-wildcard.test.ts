/**
 * Found (s9 newcomer review): `allowedOrigins: ['https://*.example.com']`, the way CORS settings and many plugins
 * spell "every subdomain", is accepted without a word. The WHATWG parser takes `*.example.com` as a literal host, so
 * the entry matches nothing: requests to `https://files.example.com` go out without a token and their 401s never
 * refresh. docs/scope.md says an entry must be "an origin, written plainly", and lists what is a `TypeError` (a path,
 * a query, a user name, a backslash, a space); a wildcard is a mistake of the same kind and gets silence.
 * Expected: a `TypeError` naming the wildcard and the fix (a function: `(origin) => origin.endsWith('.example.com')`).
 * Cause: the allowedOrigins entry check in src/options.ts / src/scope.ts accepts `*` in the host.
 */
import axios from 'axios';
import { expect, it } from 'vitest';
import { attachRefresh } from '../../src/index.js';

it('refuses a wildcard entry in allowedOrigins with a TypeError that names the fix', () => {
  expect(() =>
    attachRefresh(axios.create({ baseURL: 'https://api.example.com' }), {
      tokens: null,
      refresh: async () => ({ accessToken: 'a' }),
      allowedOrigins: ['https://*.example.com'],
    }),
  ).toThrow(TypeError);
});
