// The public surface: re-exports only, grouped as the request meets them.

// The chain
export { multiAuth, type MultiAuth } from './chain/multi-auth';
export type { MultiAuthOptions } from './chain/config';
export type { CacheOptions } from './chain/result-cache';
export { DECISION_CHANNEL, VERIFY_CHANNEL, type DecisionMessage, type VerifyTraceContext } from './chain/tracing';
export type { DpopOptions, DpopAlgorithm } from './dpop/options';
export type { MtlsOptions } from './mtls/options';

// Sources
export { staticTokenVerifier, type StaticTokenVerifierOptions, type StaticTokenEntry } from './sources/static-token-verifier';
export { jwtVerifier, type JwtVerifierOptions, type JwtAlgorithm, type JwksFetchOptions } from './sources/jwt-verifier';
export type { IssuerConfig, IssuerResolver, IssuerResolverContext, IssuerResolverResult } from './sources/issuer-resolver';
export type { ClaimValidator, ClaimValidators } from './sources/claim-validators';
export type { PublicJwk, PublicJwkSet } from './core/jwk';
export {
  introspectionVerifier,
  type IntrospectionVerifierOptions,
  type IntrospectionCacheOptions,
  type IntrospectionVerifier,
} from './sources/introspection-verifier';
export {
  middlewareVerifier,
  type MiddlewareVerifierOptions,
  type MiddlewareVerifier,
  type AuthMiddleware,
  type ToAuthInfo,
  type ClassifyError,
  type ShadowRequest,
} from './sources/middleware-verifier';
export { sharedStore, SharedStore, type SharedStoreOptions, type KeyvLike } from './transport/shared-store';
export { discoverAuthorizationServer, type AuthorizationServerMetadata, type DiscoveryOptions } from './transport/issuer-discovery';

// Primaries
export { remoteAuthServer, type RemoteAuthServerOptions } from './primaries/remote-auth-server';
export { oauthServer, type OAuthServerOptions } from './primaries/oauth-server';
export {
  protectedResourceMetadataUrl,
  protectedResourceMetadataPath,
  type ProtectedResourceMetadata,
} from './primaries/protected-resource-metadata';

// After the chain: guards, policy, access to req.auth
export { requireScopes, requireAnyScope, requireSource } from './http/guards';
export {
  mcpPolicy,
  allowedTools,
  type McpPolicy,
  type McpRule,
  type McpPolicyRules,
  type McpPolicyOptions,
  type McpScopeChallenge,
  type McpScopeChallengeHandler,
  type McpJsonRpcRequest,
} from './mcp/mcp-policy';
export { getAuth, mcpRequest } from './http/request-auth';

// Building blocks and errors
export { extractBearerToken } from './http/token-extraction';
export { loggableUrl } from './http/loggable-url';
export type { NodeMiddleware } from './http/node-http';
export { bearerChallenge, type ChallengeContext } from './http/challenge';
export {
  MultiAuthError,
  InvalidRequestError,
  InvalidTokenError,
  InsufficientScopeError,
  TemporarilyUnavailableError,
  InvalidDpopProofError,
  UseDpopNonceError,
  MultiAuthConfigError,
  MultiAuthNotReadyError,
  type MultiAuthErrorCode,
} from './core/errors';
export type {
  AuthInfo,
  MultiAuthInfo,
  TokenVerifier,
  AuthServer,
  VerifyContext,
  DpopRouteContext,
  MtlsRouteContext,
  InspectedToken,
  UnverifiedJwt,
  Attempt,
  AttemptOutcome,
  Decision,
  DecisionOutcome,
  ProbeContext,
  ReadyReport,
  SourceReadiness,
} from './core/types';
