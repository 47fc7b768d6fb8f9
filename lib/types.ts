import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';

/**
 * What a source returns for a token it accepts: the MCP SDK's `AuthInfo`, plus the
 * optional fields this package understands. Declared structurally so that the SDK
 * stays an optional peer dependency.
 */
export interface AuthInfo {
  token: string;
  clientId: string;
  scopes: string[];
  /** Seconds since the epoch. */
  expiresAt?: number;
  /** RFC 8707 resource the token is bound to. */
  resource?: URL;
  extra?: Record<string, unknown>;
}

/**
 * `req.auth` after `multiAuth`: the MCP SDK's `AuthInfo` plus which source accepted the
 * token. `payload` and `header` keep express-oauth2-jwt-bearer's field names so its
 * guards keep working.
 */
export interface MultiAuthInfo {
  token: string;
  clientId: string;
  scopes: string[];
  /** Seconds since the epoch. */
  expiresAt?: number;
  /** RFC 8707 resource the token is bound to, where known. */
  resource?: URL;
  /** Name of the source that accepted the token. */
  source: string;
  /** `sub`, where known. */
  subject?: string;
  /** Claims: the JWT payload, the introspection response, or a static key's claims. */
  payload?: Record<string, unknown>;
  /** JWS protected header; JWT sources only. */
  header?: Record<string, unknown>;
  /** `source` mirrored here for handlers typed with the SDK's `AuthInfo`. */
  extra: { source: string; [key: string]: unknown };
}

/** A JWT's parts, decoded but NOT verified. */
export interface UnverifiedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/**
 * The presented token, looked at once per request and shared by every source, so that
 * adding sources adds no parsing or hashing.
 */
export interface InspectedToken {
  readonly raw: string;
  /** SHA-256 of the token; computed on first use. */
  readonly digest: Buffer;
  /** Decoded (unverified) header and payload when the token has the shape of a compact JWS, else `undefined`. */
  readonly jwt: UnverifiedJwt | undefined;
}

/** Handed to every source with the token. Sources that ignore it (the MCP SDK's) still work. */
export interface VerifyContext {
  /** Aborted when the source's time limit (`timeoutMs`) passes: pass it to `fetch`. */
  signal: AbortSignal;
  token: InspectedToken;
  /** The HTTP request being authenticated, when there is one (absent for `auth.verify(token)`). */
  req?: IncomingMessage;
}

/**
 * A source of truth about tokens: the MCP SDK's `OAuthTokenVerifier` plus an optional name.
 *
 * Resolve the token's `AuthInfo` to accept it; resolve `null`/`undefined` or throw an error
 * coded `invalid_token` to reject it; throw a `TemporarilyUnavailableError` (or time out)
 * when you cannot decide.
 */
export interface TokenVerifier {
  name?: string;
  /**
   * `false` when this source's answer depends on more than the token (a session cookie, a client
   * certificate, the source address): multiAuth then never caches what it decides. Default `true`.
   */
  readonly cacheable?: boolean;
  verifyAccessToken(token: string, context?: VerifyContext): Promise<AuthInfo | MultiAuthInfo | null | undefined>;
}

/** A primary source: a verifier that also serves the routes clients use to find out how to get a token. */
export interface AuthServer extends TokenVerifier {
  /** Scopes this server requires; `multiAuth` inherits them unless told otherwise. */
  requiredScopes?: string[];
  /** Absolute URL of the RFC 9728 document that `routes()` serves. */
  resourceMetadataUrl?: string;
  /** The server's routes, built for the scopes `multiAuth` actually enforces. */
  routes(context: { requiredScopes: string[] }): RequestHandler;
}

/** How one source answered one token. */
export type AttemptOutcome = 'accepted' | 'rejected' | 'failed' | 'errored';

export interface Attempt {
  source: string;
  outcome: AttemptOutcome;
  /** Why, for the operator: never shown to the client, never containing the token. */
  reason?: string;
  durationMs: number;
}

/** The outcome of one request, as `onDecision` sees it. */
export type DecisionOutcome =
  | 'accepted'
  | 'anonymous'
  | 'no_credentials'
  | 'invalid_request'
  | 'rejected'
  | 'insufficient_scope'
  | 'failed';

export interface Decision {
  outcome: DecisionOutcome;
  /** HTTP status the request was answered with (200 stands for "passed on"). */
  status: number;
  /** The source that accepted the token, when one did. */
  source?: string;
  clientId?: string;
  /** Each source tried, in order; empty when the answer came from the cache or before any source ran. */
  attempts: Attempt[];
  /** `true` when the answer came from the verified-result cache. */
  cached: boolean;
  /** The first 16 hex digits of the token's SHA-256, to correlate logs without the token. */
  tokenId?: string;
  /** Operator-facing detail for refusals before any source ran. */
  reason?: string;
}
