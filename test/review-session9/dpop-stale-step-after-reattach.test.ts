/**
 * Found (s9 review2 of 997b452): the DPoP signing step now lives in the request config's own `transformRequest`
 * (src/send-guard.ts lastTransform), so it travels with `error.config`. After `detach()` and a new `attachRefresh` with
 * a new key (a re-login), re-sending a kept config (a retry queue, axios-retry) runs both steps: the new one signs,
 * then the old wrapper, innermost, signs again with the OLD key. The request carries the new session's token with a
 * proof of another key, and the API refuses it (the token's `cnf.jkt` does not match). Before 997b452 the wrapper was
 * removed from the config before signing, so a re-sent config had nothing of the old attachment.
 */
import axios, { type AxiosError } from 'axios';
import { describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { createDpop } from '../../src/dpop.js';
import { sendJson, serveEach } from '../support/local-server.js';

const serve = serveEach();
const future = () => Date.now() + 3_600_000;
const tokens = (accessToken: string) => ({ accessToken, refreshToken: 'rt', tokenType: 'DPoP', expiresAt: future() });
/** The `x` of the public key in a proof's header. */
function keyOf(proof: string | undefined): string | undefined {
  if (proof === undefined) return undefined;
  return (JSON.parse(Buffer.from(proof.split('.')[0]!, 'base64url').toString()) as { jwk: { x: string } }).jwk.x;
}

describe('a config kept from before detach(), re-sent after a new attachRefresh with a new key', () => {
  it('is signed with the new key only', async () => {
    const seen: Array<{ auth?: string | undefined; key?: string | undefined }> = [];
    const api = await serve((req, res) => {
      seen.push({ auth: req.headers.authorization, key: keyOf(req.headers['dpop'] as string | undefined) });
      sendJson(res, seen.length === 1 ? 503 : 200, {});
    });
    const instance = axios.create({ baseURL: api.url });
    const oldKey = await createDpop();
    const first = attachRefresh(instance, {
      tokens: tokens('at-old'),
      refresh: async () => tokens('at-old'),
      dpop: oldKey,
    });
    const failed = (await instance.get('/x').catch((e: unknown) => e)) as AxiosError;
    expect(failed.response?.status).toBe(503);
    first.detach();
    const newKey = await createDpop();
    attachRefresh(instance, { tokens: tokens('at-new'), refresh: async () => tokens('at-new'), dpop: newKey });
    await instance.request(failed.config!);
    expect(seen[1]!.auth).toBe('DPoP at-new');
    expect(seen[1]!.key).toBe(newKey.publicJwk.x);
  });
});
