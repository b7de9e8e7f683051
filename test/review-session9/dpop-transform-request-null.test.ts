/**
 * Found (s9 review2 of 997b452): `transformRequest: null` (JavaScript's way to switch axios's serialization off for
 * one request; mergeConfig keeps it and axios skips it) works on a plain instance, but on an instance with a DPoP
 * session every request throws `TypeError: Cannot read properties of null (reading 'call')`, even one the plugin
 * leaves alone: src/send-guard.ts lastTransform turns `null` into `[null, step]`.
 */
import axios, { type AxiosRequestConfig } from 'axios';
import { describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { createDpop } from '../../src/dpop.js';
import { readBody, sendJson, serveEach } from '../support/local-server.js';

const serve = serveEach();
const future = () => Date.now() + 3_600_000;
const tokens = () => ({ accessToken: 'at-1', refreshToken: 'rt-1', tokenType: 'DPoP', expiresAt: future() });
// Not in axios's types, but what JavaScript apps write; axios itself handles it.
const noTransform = { transformRequest: null } as unknown as AxiosRequestConfig;

describe('a request with transformRequest: null on a DPoP instance', () => {
  it('is sent as without the plugin (attached and skipped)', async () => {
    const seen: Array<{ body: string; dpop: boolean }> = [];
    const api = await serve(async (req, res) => {
      seen.push({ body: await readBody(req), dpop: typeof req.headers['dpop'] === 'string' });
      sendJson(res, 200, {});
    });
    const plain = axios.create({ baseURL: api.url });
    await plain.post('/raw', 'raw-body', noTransform);
    const instance = axios.create({ baseURL: api.url });
    attachRefresh(instance, { tokens: tokens(), refresh: async () => tokens(), dpop: await createDpop() });
    const attached = await instance.post('/raw', 'raw-body', noTransform).then(
      (response) => response.status,
      (error: unknown) => String(error),
    );
    const skipped = await instance.post('/raw', 'raw-body', { ...noTransform, skipAuthRefresh: true }).then(
      (response) => response.status,
      (error: unknown) => String(error),
    );
    expect([attached, skipped]).toEqual([200, 200]);
    expect(seen).toEqual([
      { body: 'raw-body', dpop: false },
      { body: 'raw-body', dpop: true },
      { body: 'raw-body', dpop: false },
    ]);
  });
});
