/**
 * Found (s9 review2 of 997b452): src/redact.ts Scrubber#bytes now reads bytes one character per byte (Latin-1), but
 * compares them with the secrets' JS-string spellings. A secret with a non-ASCII character is UTF-8 in the bytes
 * (`ü` is C3 BC, read as `Ã¼`), so its raw and JSON spellings are never found: the secret stays in a Buffer body of
 * the refresh error's cause. The previous version decoded UTF-8 and found it. (Tokens are ASCII in RFC 6749, but the
 * plugin takes any string from an app's `refresh`, and a password-like secret can be anything.)
 */
import { describe, expect, it } from 'vitest';
import { scrubSecrets } from '../../src/redact.js';

describe('a non-ASCII secret inside bytes', () => {
  const secret = 'rt-grüße-€-秘密';
  for (const [name, make] of [
    ['Buffer', (text: string) => Buffer.from(text)],
    ['Uint8Array', (text: string) => new TextEncoder().encode(text)],
  ] as const) {
    it(`is removed from a ${name} holding its JSON (UTF-8)`, () => {
      const body = make(JSON.stringify({ refresh_token: secret }));
      const error = Object.assign(new Error('token endpoint failed'), { body });
      const scrubbed = scrubSecrets(error, [secret]) as typeof error;
      const text = Buffer.from(scrubbed.body as Uint8Array).toString('utf8');
      expect(text).not.toContain(secret);
      expect(text).toContain('[REDACTED]');
    });
  }
});
