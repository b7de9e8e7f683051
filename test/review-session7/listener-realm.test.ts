/**
 * Session 7 break-it review.
 * h2 break-it review: callApp (src/report.ts) catches an async listener's rejection only when it returns an
 * `instanceof Promise` of this realm. An async function from another realm (a `vm` context, an iframe) returns a
 * promise of that realm: its rejection is never handled, and Node's default `--unhandled-rejections=throw` kills the
 * process. docs/errors.md: a listener or the debug hook that rejects "never becomes an uncaught exception or
 * unhandled rejection".
 */
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createTokenSession } from '../../src/index.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
  vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
});

afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
  vi.restoreAllMocks();
});

it('an async `tokens` listener from another realm that rejects is reported, not left unhandled', async () => {
  const session = createTokenSession({
    tokens: { accessToken: 'AT-1', refreshToken: 'RT-1' },
    refresh: async () => ({ accessToken: 'AT-2' }),
  });
  const foreignAsync = runInNewContext('(async () => { throw new Error("listener failed") })') as () => Promise<void>;
  session.on('tokens', foreignAsync);
  await session.setTokens({ accessToken: 'AT-3', refreshToken: 'RT-3' });
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(unhandled).toEqual([]);
  expect(process.emitWarning).toHaveBeenCalled();
});

it('an async debug hook from another realm that rejects is reported, not left unhandled', async () => {
  const debug = runInNewContext('(async () => { throw new Error("debug hook failed") })') as () => void;
  const session = createTokenSession({
    tokens: { accessToken: 'AT-1', refreshToken: 'RT-1' },
    refresh: async () => ({ accessToken: 'AT-2' }),
    debug,
  });
  await session.refresh();
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(unhandled).toEqual([]);
});
