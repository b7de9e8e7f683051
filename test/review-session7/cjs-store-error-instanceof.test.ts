// Session 7 break-it review.
// Finding (h3): under CommonJS (`require`), every entry point (dist/index.cjs, file.cjs, redis.cjs, browser.cjs,
// dpop.cjs) bundles its own copy of src/errors.ts. A STORE_FAILED from `axios-token-refresh/file` (or /redis, /browser)
// reaches the app through the session unchanged, and `error instanceof TokenRefreshError` (the class from
// `require('axios-token-refresh')`) is false for it, while the ESM build (shared chunk) says true and the types (one
// declared class) promise it. Needs the built package (`npm run build`).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const root = mkdtempSync(join(tmpdir(), 'axios-token-refresh-found-cjs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the CommonJS build: errors from the store entry points', () => {
  it('are instances of the TokenRefreshError that require("axios-token-refresh") exports, as under ESM', async () => {
    const main = require('../../dist/index.cjs') as typeof import('../../src/index.js');
    const file = require('../../dist/file.cjs') as typeof import('../../src/file.js');
    const path = join(root, 'tokens.json');
    mkdirSync(path, { recursive: true }); // a directory where the token file should be: STORE_FAILED
    const store = file.createFileTokenStore({ path });
    const error = await Promise.resolve()
      .then(() => store.read())
      .then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
    await store.close();
    expect(main.isTokenRefreshError(error)).toBe(true);
    expect((error as { code?: string }).code).toBe('STORE_FAILED');
    expect(error instanceof main.TokenRefreshError).toBe(true);
  });
});
