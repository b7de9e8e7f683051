/**
 * Found (s9 review3 of f057ff7): src/redact.ts Scrubber#bytes now decodes every byte view with
 * `new TextDecoder('windows-1252')`. Node built with `--with-intl=small-icu` or `--with-intl=none` supports only
 * UTF-8 and UTF-16 in TextDecoder (Node docs, util "WHATWG supported encodings"), and so do some other JavaScript
 * runtimes: there the constructor throws a RangeError, which the scrubber's catch-all in `scrubSecrets` turns into
 * "the whole value could not be read". Every error handed back through the scrubber that holds any bytes at all (a
 * `Buffer` request body, an `arraybuffer` response), with or without a secret in them, loses everything: message,
 * status, config. Before f057ff7 the bytes were read with `String.fromCharCode`, which every runtime has. The runtime is
 * simulated by a TextDecoder that knows only what such a build knows.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scrubSecrets } from '../../src/redact.js';

const Native = globalThis.TextDecoder;
class SmallIcuTextDecoder extends Native {
  constructor(label = 'utf-8', options?: TextDecoderOptions) {
    if (!['utf-8', 'utf8', 'unicode-1-1-utf-8', 'utf-16le', 'utf-16'].includes(label.toLowerCase())) {
      throw new RangeError(`The "${label}" encoding is not supported`);
    }
    super(label, options);
  }
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('scrubbing bytes where TextDecoder knows only UTF-8 and UTF-16', () => {
  const secret = 'rt-secret-value';

  it('keeps an error whose Buffer holds no secret (nothing to remove)', () => {
    vi.stubGlobal('TextDecoder', SmallIcuTextDecoder);
    const error = Object.assign(new Error('upstream answered HTTP 502'), {
      status: 502,
      config: { data: Buffer.from('{"hello":"world"}') },
    });
    const scrubbed = scrubSecrets(error, [secret]);
    expect(scrubbed.message).toBe('upstream answered HTTP 502');
    expect(scrubbed.status).toBe(502);
  });

  it('removes the secret from a Buffer and keeps the rest of the error', () => {
    vi.stubGlobal('TextDecoder', SmallIcuTextDecoder);
    const error = Object.assign(new Error('token request failed'), {
      status: 503,
      config: { data: Buffer.from(`grant_type=refresh_token&refresh_token=${secret}`) },
    });
    const scrubbed = scrubSecrets(error, [secret]);
    expect(scrubbed.message).toBe('token request failed');
    expect(scrubbed.status).toBe(503);
    expect(Buffer.from(scrubbed.config.data).toString('latin1')).toBe(
      'grant_type=refresh_token&refresh_token=[REDACTED]',
    );
  });
});
