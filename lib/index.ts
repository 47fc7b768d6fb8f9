// The public surface: re-exports only, grouped as the request meets them.

// The chain
export { multiAuth, type MultiAuth } from './multi-auth';
export type { MultiAuthOptions } from './config';
export type { CacheOptions } from './result-cache';

// Sources
export { staticTokenVerifier, type StaticTokenVerifierOptions, type StaticTokenEntry } from './static-token-verifier';
export { jwtVerifier, type JwtVerifierOptions, type JwtAlgorithm, type JwksFetchOptions } from './jwt-verifier';
export {
  introspectionVerifier,
  type IntrospectionVerifierOptions,
  type IntrospectionCacheOptions,
  type IntrospectionVerifier,
} from './introspection-verifier';
export {
  middlewareVerifier,
  type MiddlewareVerifierOptions,
  type MiddlewareVerifier,
  type AuthMiddleware,
  type ToAuthInfo,
  type ClassifyError,
  type ShadowRequest,
} from './middleware-verifier';
export { discoverAuthorizationServer, type AuthorizationServerMetadata, type DiscoveryOptions } from './issuer-discovery';

// Primaries
export { remoteAuthServer, type RemoteAuthServerOptions } from './remote-auth-server';
export { oauthServer, type OAuthServerOptions } from './oauth-server';
export {
  protectedResourceMetadataUrl,
  protectedResourceMetadataPath,
  type ProtectedResourceMetadata,
} from './protected-resource-metadata';

// After the chain: guards, policy, access to req.auth
export { requireScopes, requireAnyScope, requireSource } from './guards';
export { mcpPolicy, allowedTools, type McpRule, type McpPolicyRules, type McpPolicyOptions } from './mcp-policy';
export { getAuth } from './request-auth';

// Building blocks and errors
export { extractBearerToken } from './token-extraction';
export { bearerChallenge, type ChallengeContext } from './challenge';
export {
  MultiAuthError,
  InvalidRequestError,
  InvalidTokenError,
  InsufficientScopeError,
  TemporarilyUnavailableError,
  MultiAuthConfigError,
  type MultiAuthErrorCode,
} from './errors';
export type {
  AuthInfo,
  MultiAuthInfo,
  TokenVerifier,
  AuthServer,
  VerifyContext,
  InspectedToken,
  UnverifiedJwt,
  Attempt,
  AttemptOutcome,
  Decision,
  DecisionOutcome,
} from './types';
