/**
 * Found (s9 review of e7242ee): DPoP proofs made in an adapter wrapper (src/dpop.ts signAtSend).
 */
import axios, { type AxiosError, type InternalAxiosRequestConfig } from 'axios';
import { describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { createDpop } from '../../src/dpop.js';
import { sendJson, serveEach } from '../support/local-server.js';

const serve = serveEach();
const future = () => Date.now() + 3_600_000;
const tokens = () => ({ accessToken: 'at-1', refreshToken: 'rt-1', tokenType: 'DPoP', expiresAt: future() });

describe('an app interceptor that picks the adapter per request', () => {
  for (const legacy of [true, false]) {
    it(`still sends a proof with the DPoP token (legacyInterceptorReqResOrdering: ${legacy})`, async () => {
      const seen: Array<{ auth?: string | undefined; dpop?: string | undefined }> = [];
      const api = await serve((req, res) => {
        seen.push({ auth: req.headers.authorization, dpop: req.headers['dpop'] as string | undefined });
        sendJson(res, 200, { ok: true });
      });
      const instance = axios.create({ baseURL: api.url, transitional: { legacyInterceptorReqResOrdering: legacy } });
      const pick = (config: InternalAxiosRequestConfig) => {
        // e.g. "use fetch for this route": a per-request adapter chosen in an interceptor.
        config.adapter = 'http';
        return config;
      };
      // Runs after the plugin's signer: registered before attachRefresh in the legacy order, after it otherwise.
      if (legacy) instance.interceptors.request.use(pick);
      attachRefresh(instance, { tokens: tokens(), refresh: async () => tokens(), dpop: await createDpop() });
      if (!legacy) instance.interceptors.request.use(pick);
      await instance.get('/x');
      expect(seen).toHaveLength(1);
      expect(seen[0]!.auth).toBe('DPoP at-1');
      // A DPoP token without a proof is refused by every DPoP resource server (RFC 9449 §7.1).
      expect(seen[0]!.dpop).toEqual(expect.any(String));
    });
  }
});

describe('a config re-sent after a failure', () => {
  it('carries no stale DPoP proof to another origin', async () => {
    const otherSeen: Array<string | undefined> = [];
    const other = await serve((req, res) => {
      otherSeen.push(req.headers['dpop'] as string | undefined);
      sendJson(res, 200, { ok: true });
    });
    const api = await serve((_req, res) => sendJson(res, 503, { down: true }));
    const instance = axios.create({ baseURL: api.url });
    attachRefresh(instance, { tokens: tokens(), refresh: async () => tokens(), dpop: await createDpop() });
    const error = (await instance.get('/x').catch((e: unknown) => e)) as AxiosError;
    expect(error.response?.status).toBe(503);
    // A failover: the same request to a mirror the plugin does not cover.
    await instance.request({ ...error.config, url: `${other.url}/x` });
    expect(otherSeen).toEqual([undefined]);
  });

  it('carries no stale DPoP proof when re-sent with skipAuthRefresh', async () => {
    const seen: Array<string | undefined> = [];
    const api = await serve((req, res) => {
      seen.push(req.headers['dpop'] as string | undefined);
      sendJson(res, seen.length === 1 ? 503 : 200, {});
    });
    const instance = axios.create({ baseURL: api.url });
    attachRefresh(instance, { tokens: tokens(), refresh: async () => tokens(), dpop: await createDpop() });
    const error = (await instance.get('/x').catch((e: unknown) => e)) as AxiosError;
    await instance.request({ ...error.config, skipAuthRefresh: true });
    expect(seen[0]).toEqual(expect.any(String));
    expect(seen[1]).toBeUndefined();
  });

  it('carries no stale DPoP proof after logout', async () => {
    const seen: Array<{ auth?: string | undefined; dpop?: string | undefined }> = [];
    const api = await serve((req, res) => {
      seen.push({ auth: req.headers.authorization, dpop: req.headers['dpop'] as string | undefined });
      sendJson(res, seen.length === 1 ? 503 : 200, {});
    });
    const instance = axios.create({ baseURL: api.url });
    const auth = attachRefresh(instance, { tokens: tokens(), refresh: async () => tokens(), dpop: await createDpop() });
    const error = (await instance.get('/x').catch((e: unknown) => e)) as AxiosError;
    await auth.logout();
    await instance.request(error.config!);
    expect(seen[1]).toEqual({ auth: undefined, dpop: undefined });
  });
});

describe('a request cancelled before it reached the adapter', () => {
  it('leaves the app adapter on error.config (not the signer wrapper)', async () => {
    const instance = axios.create({ baseURL: 'http://127.0.0.1:9', adapter: 'http' });
    attachRefresh(instance, { tokens: tokens(), refresh: async () => tokens(), dpop: await createDpop() });
    const error = (await instance.get('/x', { signal: AbortSignal.abort() }).catch((e: unknown) => e)) as AxiosError;
    expect(axios.isCancel(error)).toBe(true);
    expect(error.config?.adapter).toBe('http');
  });
});
