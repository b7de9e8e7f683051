/**
 * Found (s9 review2 of 997b452): the DPoP signer is now a `transformRequest` step appended by the plugin's request
 * interceptor (src/dpop.ts signAtSend + src/send-guard.ts lastTransform). An app request interceptor that runs after
 * the plugin's and sets `config.transformRequest` (a serializer for one route, qs for a form API) drops the step: the
 * request goes out as `Authorization: DPoP <token>` with no `DPoP` proof, which every DPoP resource server refuses
 * (RFC 9449 §7.1). docs/dpop.md promises the proof is made "after every request interceptor (yours included, in either
 * of axios's interceptor orders) and `transformRequest`". The same class as the adapter finding of 81d0554, moved
 * from `config.adapter` to `config.transformRequest`.
 */
import axios, { type InternalAxiosRequestConfig } from 'axios';
import { describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { createDpop } from '../../src/dpop.js';
import { readBody, sendJson, serveEach } from '../support/local-server.js';

const serve = serveEach();
const future = () => Date.now() + 3_600_000;
const tokens = () => ({ accessToken: 'at-1', refreshToken: 'rt-1', tokenType: 'DPoP', expiresAt: future() });

describe('an app interceptor that sets its own transformRequest', () => {
  for (const legacy of [true, false]) {
    it(`still sends a proof with the DPoP token (legacyInterceptorReqResOrdering: ${legacy})`, async () => {
      const seen: Array<{ auth?: string | undefined; dpop?: string | undefined; body: string }> = [];
      const api = await serve(async (req, res) => {
        const body = await readBody(req);
        seen.push({ auth: req.headers.authorization, dpop: req.headers['dpop'] as string | undefined, body });
        sendJson(res, 200, { ok: true });
      });
      const instance = axios.create({ baseURL: api.url, transitional: { legacyInterceptorReqResOrdering: legacy } });
      const serializeForm = (config: InternalAxiosRequestConfig) => {
        // e.g. a form-encoded API: the app's own serializer for this request, set in an interceptor.
        config.transformRequest = [(data: Record<string, string>) => new URLSearchParams(data).toString()];
        return config;
      };
      // Runs after the plugin's interceptors: registered before attachRefresh in the legacy order, after it otherwise.
      if (legacy) instance.interceptors.request.use(serializeForm);
      attachRefresh(instance, { tokens: tokens(), refresh: async () => tokens(), dpop: await createDpop() });
      if (!legacy) instance.interceptors.request.use(serializeForm);
      await instance.post('/form', { a: '1' });
      expect(seen).toHaveLength(1);
      expect(seen[0]!.body).toBe('a=1');
      expect(seen[0]!.auth).toBe('DPoP at-1');
      expect(seen[0]!.dpop).toEqual(expect.any(String));
    });
  }
});
