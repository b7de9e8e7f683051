/**
 * Findings of this session's review that predate the size pass (see test/review-size.test.ts for the rest): what the
 * app's own callbacks threw reaches `process.emitWarning` only scrubbed of the session's tokens, describing a thrown
 * value never throws, and a grant whose `dpop` is not a key from `createDpop()` is refused with a TypeError before
 * anything is installed.
 */
import axios from 'axios';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { inspect } from 'node:util';
import { attachRefresh, createTokenSession, type TokenSet } from '../src/index.js';
import { captureWarnings } from './support/warnings.js';

const tokens: TokenSet = {
  accessToken: 'at-secret-4711',
  refreshToken: 'rt-secret-4711',
  expiresAt: Date.now() + 3_600_000,
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('warnings about the app’s own callbacks', () => {
  // Finding (MEDIUM, leak): a listener that threw an error quoting the tokens handed them, raw, to every
  // process.on('warning') handler as the warning's cause.
  it('carry a cause scrubbed of the tokens a `tokens` listener was given', async () => {
    const warnings = captureWarnings();
    const session = createTokenSession({ tokens: null, refresh: async () => tokens });
    session.on('tokens', (given) => {
      throw new Error(`could not save ${given?.accessToken} / ${given?.refreshToken}`);
    });
    await session.setTokens(tokens);
    expect(warnings).toHaveLength(1);
    const shown = inspect(warnings[0], { depth: 10 });
    expect(shown).toContain('a `tokens` listener threw an Error');
    expect(shown).not.toMatch(/secret-4711/);
  });

  it('carry a cause scrubbed of the tokens when the debug hook throws', async () => {
    const warnings = captureWarnings();
    const session = createTokenSession({
      tokens,
      refresh: async () => tokens,
      debug: () => {
        throw new Error(`debug failed with ${tokens.refreshToken}`);
      },
    });
    const api = axios.create({
      adapter: async (config) => ({ data: 'ok', status: 200, statusText: 'OK', headers: {}, config }),
    });
    attachRefresh(api, { session });
    await session.refresh().catch(() => undefined);
    expect(warnings.length).toBeGreaterThan(0);
    for (const warning of warnings) expect(inspect(warning, { depth: 10 })).not.toMatch(/secret-4711/);
  });

  // Finding (LOW): an error whose name is a Symbol made the description throw inside the warning path.
  it('describe an error whose `name` is not a string without throwing', async () => {
    const warnings = captureWarnings();
    const session = createTokenSession({ tokens, refresh: async () => tokens });
    session.on('tokens', () => {
      const odd = new Error('odd');
      Object.defineProperty(odd, 'name', { value: Symbol('odd') });
      throw odd;
    });
    await session.setTokens({ ...tokens, accessToken: 'at-other-4712' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain('a `tokens` listener threw an Error');
  });
});

describe('a grant’s dpop', () => {
  // Finding (LOW): a grant whose `dpop` lacks `install` made attachRefresh throw "install is not a function" after it
  // had claimed the instance.
  it('is refused with a TypeError naming it when it is not a key from createDpop(), and the instance stays free', () => {
    const refresh = Object.assign(async () => tokens, { dpop: { thumbprint: 'x' } });
    const api = axios.create();
    expect(() => attachRefresh(api, { tokens, refresh })).toThrow(TypeError);
    expect(() => attachRefresh(api, { tokens, refresh })).toThrow(/`dpop`.*createDpop\(\)/);
    expect(() => attachRefresh(api, { tokens, refresh: async () => tokens })).not.toThrow();
  });
});
