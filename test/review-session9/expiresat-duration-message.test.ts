/**
 * Found (s9 newcomer review): a newcomer who puts a lifetime into `expiresAt` (`expiresAt: data.expires_in`, 3600) is
 * told "`expiresAt` (3600) looks like Unix seconds; it must be epoch milliseconds (multiply by 1000)". Following that
 * advice (`data.expires_in * 1000`, 3600000) gets the very same message again ("(3600000) looks like Unix seconds ...
 * multiply by 1000"), which is now wrong: the value is a duration in milliseconds, and what is missing is `Date.now() +`.
 * Below ~1e9 (the year 2001 in seconds) a value is not a plausible Unix time at all. Expected: for such values the
 * message names the real fix (`Date.now() + expires_in * 1000`) instead of repeating "multiply by 1000".
 * Cause: expiryProblem in src/tokens.ts has one message for every value below 1e11.
 */
import { describe, expect, it } from 'vitest';
import axios from 'axios';
import { attachRefresh } from '../../src/index.js';

describe('expiresAt that is a lifetime, not a point in time', () => {
  for (const expiresAt of [3600, 3_600_000]) {
    it(`expiresAt: ${expiresAt} names Date.now() + ..., not "multiply by 1000" again`, () => {
      let message = '';
      try {
        attachRefresh(axios.create(), {
          tokens: { accessToken: 'a', expiresAt },
          refresh: async () => ({ accessToken: 'b' }),
        });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/Date\.now\(\)/);
      if (expiresAt === 3_600_000) expect(message).not.toMatch(/multiply by 1000/);
    });
  }
});
