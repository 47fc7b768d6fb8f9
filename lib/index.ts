export { multiAuth, type MultiAuth } from './multi-auth';
export type { MultiAuthOptions } from './config';
export type { CacheOptions } from './result-cache';
export { requireScopes, requireAnyScope, requireSource } from './guards';
export { getAuth } from './request-auth';
export { staticTokenVerifier, type StaticTokenVerifierOptions, type StaticTokenEntry } from './static-token-verifier';
export { jwtVerifier, type JwtVerifierOptions, type JwtAlgorithm, type JwksFetchOptions } from './jwt-verifier';
export { remoteAuthServer, type RemoteAuthServerOptions } from './remote-auth-server';
export { oauthServer, type OAuthServerOptions } from './oauth-server';
export {
  protectedResourceMetadataUrl,
  protectedResourceMetadataPath,
  type ProtectedResourceMetadata,
} from './protected-resource-metadata';
export { extractBearerToken } from './token-extraction';
export { bearerChallenge } from './challenge';
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
export { mcpPolicy, allowedTools, type McpRule, type McpPolicyRules, type McpPolicyOptions } from './mcp-policy';
