/**
 * Found (s9 review4 of 780fe3c): the plugin's own proof from an earlier send of a config goes out again once 1024 other
 * proofs were made in between. src/dpop.ts signing(): a DPoP header on a config is recognised as the plugin's (and
 * removed before signing) only while its signature is in `ours`, the latest OURS_KEPT = 1024 proofs. A busy app makes
 * 1024 proofs in seconds to minutes; an `api.request(error.config)` after that (a retry with back-off, a resend after
 * logout, or to a mirror) carries the old proof, with its `ath` and `htu`, to wherever the config now goes, a request
 * that is no longer the session's. docs/dpop.md: "a proof of the plugin's own from an earlier send of a config is
 * removed" (no limit mentioned); the same resend with fewer proofs in between is cleaned (first case below).
 */
import axios, { type AxiosError } from 'axios';
import { describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { createDpop } from '../../src/dpop.js';
import { readBody, serveEach } from '../support/local-server.js';

const serve = serveEach();
const tokens = { accessToken: 'at-1', refreshToken: 'rt-1', tokenType: 'DPoP', expiresAt: Date.now() + 3_600_000 };

async function resendAfter(proofsBetween: number) {
  let failFirst = true;
  const api = await serve(async (req, res) => {
    await readBody(req);
    const status = failFirst ? 503 : 200;
    failFirst = false;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end('{}');
  });
  const atMirror: Array<{ authorization?: string | undefined; dpop?: string | undefined }> = [];
  const mirror = await serve(async (req, res) => {
    await readBody(req);
    atMirror.push({ authorization: req.headers.authorization, dpop: req.headers['dpop'] as string | undefined });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  const instance = axios.create({ baseURL: api.url });
  const auth = attachRefresh(instance, { tokens, refresh: async () => tokens, dpop: await createDpop() });
  const error = (await instance.get('/orders').catch((e: unknown) => e)) as AxiosError;
  expect(error.response?.status).toBe(503);
  expect(error.config?.headers.get('DPoP')).toEqual(expect.any(String));
  // The app keeps working meanwhile: each request is one proof.
  for (let start = 0; start < proofsBetween; start += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, n) => instance.get(`/n${start + n}`)));
  }
  // The failed request, tried again at a mirror (outside the instance's scope: the plugin leaves it alone).
  await instance.request({ ...error.config, baseURL: mirror.url });
  auth.detach();
  return atMirror;
}

describe("the plugin's own proof on a config sent again", () => {
  it('is removed (50 proofs in between)', async () => {
    expect(await resendAfter(50)).toEqual([{ authorization: undefined, dpop: undefined }]);
  });

  it('is removed (1100 proofs in between)', async () => {
    expect(await resendAfter(1100)).toEqual([{ authorization: undefined, dpop: undefined }]);
  });
});
