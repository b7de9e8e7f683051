import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// `npm test` builds first; this checks what users install (dist/), not the source.
const run = (args: string[]): string => execFileSync(process.execPath, args, { encoding: 'utf8' }).trim();
const names = 'attachRefresh,createTokenSession,TokenRefreshError,isTokenRefreshError,MemoryTokenStore';

describe('the built package', () => {
  it('has been built', () => {
    expect(existsSync('dist/index.js') && existsSync('dist/index.cjs')).toBe(true);
  });

  it('loads with import() and exports the public names', () => {
    const out = run([
      '--input-type=module',
      '-e',
      `const m = await import('axios-token-refresh'); console.log('${names}'.split(',').map((n) => typeof m[n]).join())`,
    ]);
    expect(out).toBe('function,function,function,function,function');
  });

  it('loads with require() and exports the same names', () => {
    const out = run([
      '-e',
      `const m = require('axios-token-refresh'); console.log('${names}'.split(',').map((n) => typeof m[n]).join())`,
    ]);
    expect(out).toBe('function,function,function,function,function');
  });

  it('attaches a token through the CommonJS build', () => {
    const out = run([
      '-e',
      `const axios = require('axios'); const { attachRefresh } = require('axios-token-refresh');
       const api = axios.create({ baseURL: 'https://api.test', adapter: async (c) => ({ data: c.headers.Authorization, status: 200, statusText: 'OK', headers: {}, config: c }) });
       attachRefresh(api, { tokens: { accessToken: 'abc' }, refresh: async () => ({ accessToken: 'x' }) });
       api.get('/x').then((r) => console.log(r.data));`,
    ]);
    expect(out).toBe('Bearer abc');
  });
});
