/**
 * The contenders, each set up the way its README says, all against the same {@link SimApi}. Every refresh goes to the
 * same token endpoint through a separate axios instance (what the READMEs tell users to do, so the refresh call does
 * not loop through the plugin).
 */
import axios from 'axios';
import type { AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { createAuthRefresh } from 'axios-auth-refresh';
import type { AxiosAuthRefreshOptions } from 'axios-auth-refresh';
import { applyAuthTokenInterceptor, clearAuthTokens, setAuthTokens } from 'axios-jwt';
import type { AttachedRefresh, TokenSet } from '../src/index.js';
import { attachRefresh } from '../src/index.js';
import type { SimApi, TokenResponse } from './sim-api.js';

export type ContenderKey = 'axios' | 'handwritten' | 'aar' | 'aarNoDedupe' | 'axiosJwt' | 'ours';

export interface Contender {
  readonly http: AxiosInstance;
  dispose(): Promise<void>;
}

export interface ContenderSpec {
  readonly key: ContenderKey;
  readonly label: string;
  create(api: SimApi, tokens: TokenResponse): Promise<Contender>;
}

/** The form body of a refresh-token grant (RFC 6749 §6). */
function refreshForm(refreshToken: string): string {
  return new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString();
}

function tokenClient(api: SimApi): (refreshToken: string) => Promise<AxiosResponse<TokenResponse>> {
  const auth = axios.create({ adapter: api.adapter });
  return (refreshToken) =>
    auth.post<TokenResponse>('/oauth/token', refreshForm(refreshToken), {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
}

const floor: ContenderSpec = {
  key: 'axios',
  label: 'axios, no auth logic',
  async create(api, tokens) {
    // The floor still sends the header, set once: the same request, with no per-request logic at all.
    const http = axios.create({ adapter: api.adapter, headers: { Authorization: `Bearer ${tokens.access_token}` } });
    return { http, dispose: async () => undefined };
  },
};

const handwritten: ContenderSpec = {
  key: 'handwritten',
  label: 'hand-written header interceptor',
  async create(api, tokens) {
    const http = axios.create({ adapter: api.adapter });
    const store = { accessToken: tokens.access_token };
    http.interceptors.request.use((config) => {
      config.headers.Authorization = `Bearer ${store.accessToken}`;
      return config;
    });
    return { http, dispose: async () => undefined };
  },
};

/**
 * axios-auth-refresh, README set-up: a refresh function that stores the new token and sets it on the failed request,
 * plus the README's request interceptor that reads the stored token for every request. Tokens live in memory (the
 * README's localStorage).
 */
function authRefresh(key: 'aar' | 'aarNoDedupe', label: string, options: AxiosAuthRefreshOptions): ContenderSpec {
  return {
    key,
    label,
    async create(api, tokens) {
      const post = tokenClient(api);
      const store = { accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
      const http = axios.create({ adapter: api.adapter });
      // The README's refresh function: it receives the failed request's error.
      const refreshAuthLogic = (failedRequest: { response: { config: InternalAxiosRequestConfig } }): Promise<void> =>
        post(store.refreshToken).then((response) => {
          store.accessToken = response.data.access_token;
          store.refreshToken = response.data.refresh_token;
          failedRequest.response.config.headers['Authorization'] = `Bearer ${response.data.access_token}`;
          return Promise.resolve();
        });
      createAuthRefresh(http, refreshAuthLogic, options);
      http.interceptors.request.use((request) => {
        request.headers['Authorization'] = `Bearer ${store.accessToken}`;
        return request;
      });
      return { http, dispose: async () => undefined };
    },
  };
}

/**
 * axios-jwt with in-memory storage (its `getStorage` option takes any `{ get, set, remove }`). Its state is
 * module-global, so only one axios-jwt contender may exist at a time.
 */
const axiosJwt: ContenderSpec = {
  key: 'axiosJwt',
  label: 'axios-jwt',
  async create(api, tokens) {
    const post = tokenClient(api);
    const memory = new Map<string, string>();
    const storage = {
      get: async (key: string) => memory.get(key) ?? null,
      set: async (key: string, value: string) => void memory.set(key, value),
      remove: async (key: string) => void memory.delete(key),
    };
    const http = axios.create({ adapter: api.adapter });
    applyAuthTokenInterceptor(http, {
      // Rotation: return both tokens, as its README says for servers that rotate refresh tokens.
      requestRefresh: async (refreshToken) => {
        const { data } = await post(refreshToken);
        return { accessToken: data.access_token, refreshToken: data.refresh_token };
      },
      getStorage: () => storage,
    });
    await setAuthTokens({ accessToken: tokens.access_token, refreshToken: tokens.refresh_token });
    return { http, dispose: () => clearAuthTokens() };
  },
};

/** The refresh function a user of this package writes for the simulated token endpoint. */
export function oursRefresh(api: SimApi): (current: TokenSet) => Promise<TokenSet> {
  const post = tokenClient(api);
  return async (current) => {
    const { data } = await post(current.refreshToken ?? '');
    return { accessToken: data.access_token, refreshToken: data.refresh_token };
  };
}

export function oursTokens(tokens: TokenResponse): TokenSet {
  // No expiresAt: the session reads the JWT `exp`, as it would for most real access tokens.
  return { accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
}

const ours: ContenderSpec = {
  key: 'ours',
  label: 'axios-token-refresh (this package)',
  async create(api, tokens) {
    const http = axios.create({ adapter: api.adapter });
    const attached: AttachedRefresh = attachRefresh(http, { tokens: oursTokens(tokens), refresh: oursRefresh(api) });
    return {
      http,
      dispose: async () => {
        attached.detach();
        await attached.close();
      },
    };
  },
};

export const contenders = {
  floor,
  handwritten,
  // v5 renamed v3/v4's `pauseInstanceWhileRefreshing` to `deduplicateRefresh` and made it the default.
  aar: authRefresh('aar', 'axios-auth-refresh (defaults: deduplicateRefresh)', {}),
  aarNoDedupe: authRefresh('aarNoDedupe', 'axios-auth-refresh (deduplicateRefresh: false)', {
    deduplicateRefresh: false,
  }),
  axiosJwt,
  ours,
} as const satisfies Record<string, ContenderSpec>;

/** Every contender that refreshes, ours last. */
export const refreshingContenders: readonly ContenderSpec[] = [
  contenders.aar,
  contenders.aarNoDedupe,
  contenders.axiosJwt,
  contenders.ours,
];
