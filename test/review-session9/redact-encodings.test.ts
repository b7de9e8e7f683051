/**
 * Found (s9 review of 154ba6b): what the scrub of an app refresh's error (src/redact.ts) lets through or breaks.
 */
import axios, { type AxiosError } from 'axios';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { isTokenRefreshError } from '../../src/errors.js';
import { scrubSecrets } from '../../src/redact.js';
import { readBody, sendJson, serveEach } from '../support/local-server.js';

const serve = serveEach();

describe('a refresh token sent as a URLSearchParams body (the form every OAuth server takes)', () => {
  // RFC 6749 allows any VSCHAR in a token; URLSearchParams escapes ! ' ( ) ~, which encodeURIComponent leaves.
  it('is scrubbed from the cause in its form-encoded spelling', async () => {
    const refreshToken = "rt~0Aa!b'c(d)e";
    const auth = await serve(async (req, res) => {
      await readBody(req);
      sendJson(res, 503, {});
    });
    const api = await serve((_req, res) => sendJson(res, 401, {}, { 'www-authenticate': 'Bearer' }));
    const instance = axios.create({ baseURL: api.url });
    attachRefresh(instance, {
      tokens: { accessToken: 'at-1', refreshToken },
      refresh: async () => {
        const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
        await axios.post(`${auth.url}/token`, body);
        throw new Error('unreachable');
      },
    });
    const error = await instance.get('/me').catch((e: unknown) => e);
    expect(isTokenRefreshError(error) && error.code).toBe('REFRESH_FAILED');
    const cause = (error as { cause?: AxiosError }).cause;
    const printed = `${JSON.stringify(cause)}\n${inspect(cause, { depth: 8 })}`;
    const formEncoded = new URLSearchParams({ t: refreshToken }).toString().slice(2);
    expect(printed).not.toContain(formEncoded);
  });
});

describe('bytes in an error', () => {
  it('a detached ArrayBuffer does not cost the whole error (status, message) when no secret is in it', () => {
    const buffer = new ArrayBuffer(8);
    structuredClone(buffer, { transfer: [buffer] }); // detached, as after a transfer to a worker
    const error = Object.assign(new Error('token endpoint answered HTTP 502'), { status: 502, body: buffer });
    const scrubbed = scrubSecrets(error, ['rt-secret-1']) as typeof error;
    expect(scrubbed.message).toBe('token endpoint answered HTTP 502');
    expect(scrubbed.status).toBe(502);
  });

  it('a Buffer body with a secret stays a Buffer whose text reads back (toString)', () => {
    const error = Object.assign(new Error('refused'), { body: Buffer.from('refresh_token=rt-secret-1&x=1') });
    const scrubbed = scrubSecrets(error, ['rt-secret-1']) as typeof error;
    expect(Buffer.isBuffer(scrubbed.body)).toBe(true);
    expect(String(scrubbed.body)).toBe('refresh_token=[REDACTED]&x=1');
  });
});
