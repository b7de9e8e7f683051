export { attachRefresh } from './attach.js';
export type { AttachRefreshOptions, AttachedRefresh, RequestRefreshState } from './attach.js';
export { createTokenSession } from './session.js';
export type {
  DebugEvent,
  DpopHooks,
  DpopProofRequest,
  InstanceOptions,
  LogoutResult,
  RefreshContext,
  RefreshFunction,
  RefreshReason,
  SessionEventName,
  SessionEvents,
  SessionOptions,
  TokenSession,
  TokenSessionMethods,
  TokenSnapshot,
  TokensSource,
} from './options.js';
export { refreshTokenGrant } from './oauth2.js';
export type {
  BasicAuthEncoding,
  ClientAuthMethod,
  OAuthErrorResponse,
  OAuthTokenResponse,
  RefreshTokenGrantOptions,
  TokenRequest,
  TokenRequestHeaders,
} from './oauth2.js';
export { clientCredentialsGrant } from './client-credentials.js';
export type { ClientCredentialsGrantOptions } from './client-credentials.js';
export { discover } from './discovery.js';
export type { AuthorizationServerMetadata, DiscoveryOptions } from './discovery.js';
export { tokenSetFromResponse } from './token-response.js';
export type { TokenSetFromResponseOptions } from './token-response.js';
export { TokenRefreshError, isTokenRefreshError } from './errors.js';
export type { TokenRefreshErrorCode, TokenRefreshErrorJSON, TokenRefreshErrorOptions } from './errors.js';
export { MemoryTokenStore } from './store.js';
export type { ClosableTokenStore, EndReason, LockContext, LockOptions, StoredTokens, TokenStore } from './store.js';
export type { TokenSet, TokenSetMembers } from './tokens.js';
