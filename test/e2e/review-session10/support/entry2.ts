// The review-session10 page script, plus a session whose `onTokens` calls are recorded (`f2`).
import './entry.js';
import axios from 'axios';
import { attachRefresh } from '../../../../src/index.js';
import type { TokenSet } from '../../../../src/index.js';
import { createBrowserTokenStore, memoryStorage } from '../../../../src/browser.js';

const onTokens: (string | null)[] = [];
const events: string[] = [];
let attached: ReturnType<typeof attachRefresh> | undefined;
let api: ReturnType<typeof axios.create> | undefined;

const f2 = {
  /** A session on a memoryStorage() browser store named `name`, with no `onError` (the default: reportError). */
  start(name: string): void {
    const store = createBrowserTokenStore({ name, storage: memoryStorage() });
    api = axios.create();
    attached = attachRefresh(api, {
      store,
      refresh: () => Promise.reject(new Error('no refresh in this test')),
      onTokens: (tokens) => {
        onTokens.push(tokens?.refreshToken ?? null);
      },
    });
    attached.on('tokens', (tokens) => events.push(`tokens ${tokens?.refreshToken ?? null}`));
    attached.on('sessionExpired', (error) => events.push(`sessionExpired ${error.code}: ${error.message}`));
    attached.on('refreshError', (error) => events.push(`refreshError ${error.code}: ${error.message}`));
  },
  login: (tokens: TokenSet) => attached!.setTokens(tokens),
  async request(path: string): Promise<string> {
    try {
      return String((await api!.get(path)).status);
    } catch (error) {
      const e = error as { code?: string; message?: string; response?: { status: number } };
      return e.response ? String(e.response.status) : `${e.code}: ${e.message}`;
    }
  },
  onTokens: () => onTokens,
  events: () => events,
};

export type F2 = typeof f2;
(globalThis as unknown as { f2: F2 }).f2 = f2;
