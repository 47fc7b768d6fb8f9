// lib/core/: what every layer shares: the public types (MultiAuthInfo, TokenVerifier, Decision),
// the error classes, claim helpers and the inspected token (its hash, its unverified JWT parts
// for routing). Imports nothing from the package's other folders.

import type { IncomingMessage } from 'node:http';
import type { rulesDigest } from './rules';
import type { RequestHandler } from 'express';

/**
 * What a source returns for a token it accepts: the MCP SDK's `AuthInfo`, plus the
 * optional fields this package understands. Declared structurally so that the SDK
 * stays an optional peer dependency.
 */
export interface AuthInfo {
  /** The bearer token as presented. */
  token: string;
  /** The OAuth client the token was issued to. */
  clientId: string;
  /** Scopes the token grants; `[]` for none. */
  scopes: string[];
  /** Seconds since the epoch. */
  expiresAt?: number;
  /** RFC 8707 resource the token is bound to. */
  resource?: URL;
  /**
   * Absolute URL of the RFC 9728 metadata of the resource that accepted the token (MCP SDK v2).
   * Kept when a source sets it; otherwise `multiAuth` stamps its own `resourceMetadataUrl`.
   */
  resourceMetadataUrl?: string;
  /** Anything else handlers should see; `multiAuth` copies it into `req.auth.extra`. */
  extra?: Record<string, unknown>;
}

/**
 * `req.auth` after `multiAuth`: the MCP SDK's `AuthInfo` plus which source accepted the
 * token. `payload` and `header` keep express-oauth2-jwt-bearer's field names so its
 * guards keep working.
 */
export interface MultiAuthInfo {
  /** The bearer token as presented. */
  token: string;
  /** The OAuth client the token was issued to; `''` when the source cannot tell. */
  clientId: string;
  /** Scopes the token grants, as the accepting source read them; `[]` for none. */
  scopes: string[];
  /**
   * With `multiAuth`'s `scopeHierarchy`: `scopes` plus every scope they imply, which is what the
   * router, the guards and `mcpPolicy` judge. Absent without a hierarchy (then `scopes` is it).
   */
  effectiveScopes?: string[];
  /** Seconds since the epoch. */
  expiresAt?: number;
  /** RFC 8707 resource the token is bound to, where known. */
  resource?: URL;
  /**
   * Absolute URL of the RFC 9728 metadata clients should be sent to: the accepting source's own
   * value when it set one, else the `multiAuth` router's `resourceMetadataUrl` (when it has one).
   * MCP SDK v2 reads it for the `resource_metadata=` of its per-tool scope challenges.
   */
  resourceMetadataUrl?: string;
  /** Name of the source that accepted the token. */
  source: string;
  /** `sub`, where known. */
  subject?: string;
  /**
   * Claims: the JWT payload, the introspection response, or a static key's claims. Always set:
   * for a source that has no claims of its own, `multiAuth` fills in the standard ones it knows
   * (`client_id`, `scope`, `sub`, `exp`).
   */
  payload: Record<string, unknown>;
  /** JWS protected header; JWT sources only. */
  header?: Record<string, unknown>;
  /** The source's own `extra`, plus `source` mirrored for handlers typed with the SDK's `AuthInfo`. */
  extra: { source: string; [key: string]: unknown };
  /** On requests with the DPoP scheme: the RFC 7638 thumbprint of the proof's key, which the token is bound to. */
  dpop?: { jkt: string };
  /**
   * For a certificate-bound token (RFC 8705 `cnf["x5t#S256"]`): the SHA-256 thumbprint of the
   * client certificate the request presented, which the token is bound to.
   */
  mtls?: { x5tS256: string };
}

/** A JWT's parts, decoded but NOT verified, and frozen (deeply): shared by every source. */
export interface UnverifiedJwt {
  /** The JOSE header, decoded. */
  readonly header: Readonly<Record<string, unknown>>;
  /** The claims, decoded: fit for choosing a source (e.g. by `iss`), never for trusting the token. */
  readonly payload: Readonly<Record<string, unknown>>;
}

/**
 * The presented token, looked at once per request and shared by every source, so that
 * adding sources adds no parsing or hashing.
 */
export interface InspectedToken {
  /** The token exactly as presented. */
  readonly raw: string;
  /** SHA-256 of the token; computed on first use. */
  readonly digest: Buffer;
  /** The same SHA-256, base64-encoded: a cheaper cache key than `digest`. */
  readonly digestKey: string;
  /**
   * What identifies the token however it is spelled: `digestKey`, except for an ECDSA-signed JWT
   * whose signature's s is above n/2, for which it is the digest of the low-s spelling. Keys the
   * result cache, shared rejections and `tokenId`.
   */
  readonly identityKey: string;
  /** Decoded (unverified) header and payload when the token has the shape of a compact JWS, else `undefined`. */
  readonly jwt: UnverifiedJwt | undefined;
}

/** Handed to every source with the token. Sources that ignore it (the MCP SDK's) still work. */
export interface VerifyContext {
  /** Aborted when the source's time limit (`timeoutMs`) passes: pass it to `fetch`. */
  signal: AbortSignal;
  /** The same token, inspected once for all sources: reuse its `digest` and `jwt` instead of recomputing them. */
  token: InspectedToken;
  /** The HTTP request being authenticated, when there is one (absent for `auth.verify(token)`). */
  req?: IncomingMessage;
  /**
   * `true` when the caller checks a sender-constrained token's `cnf` itself: `multiAuth` always
   * does (its binding rule, for every source, against the request's DPoP proof or client
   * certificate, refusing it as Bearer). A source then accepts a token with `cnf` and keeps `cnf`
   * in `payload`; without it (a direct call), such a token is refused, since nothing else would
   * check its proof of possession.
   */
  senderConstrained?: boolean;
  /**
   * Adds an operator-facing note to this attempt (`Attempt.notes` in `onDecision`) about how the
   * answer was reached, e.g. "shared store unavailable". Never put the token in it.
   */
  note?(text: string): void;
}

/** What a primary is told about DPoP when `multiAuth` has its `dpop` option, for its metadata. */
export interface DpopRouteContext {
  /** Proof algorithms accepted (RFC 9728 `dpop_signing_alg_values_supported`). */
  algorithms: string[];
  /** Whether the primary's tokens must be DPoP-bound (`dpop_bound_access_tokens_required`). */
  required: boolean;
}

/** What a primary is told about RFC 8705 mTLS when `multiAuth` has its `mtls` option, for its metadata. */
export interface MtlsRouteContext {
  /** Whether the primary's tokens must be certificate-bound (`tls_client_certificate_bound_access_tokens`). */
  required: boolean;
}

/**
 * Optional fast path of a source: from the token's unverified parts, says synchronously that the
 * token cannot be this source's (`true`: another issuer's JWT, not a JWT at all). The chain then
 * records a rejection without calling `verifyAccessToken`: no promise, no attempt bookkeeping.
 * A registered symbol, so the public interface stays the SDK's single method.
 */
export const notMine: unique symbol = Symbol.for('express-multiauth.notMine');

/**
 * Optional companion of {@link notMine}: why the token is not this source's, in words that name
 * what did not match (the token's `iss` and the issuers the source accepts). Called only when
 * someone will read the reason (an `onDecision`, or `auth.verify`), so a flood of foreign tokens
 * costs no string building.
 */
export const whyNotMine: unique symbol = Symbol.for('express-multiauth.whyNotMine');

/**
 * Optional: told about a token the chain refused (no source accepted it), with the name the
 * source is known by, so the source can say when the refusal points at its configuration rather
 * than at the token (an issuer that differs only by a trailing slash). It warns, rate-limited;
 * it never changes an answer, and it is not called for a token another source accepted.
 */
export const diagnoseRefusal: unique symbol = Symbol.for('express-multiauth.diagnoseRefusal');

/**
 * A source of truth about tokens: the MCP SDK's `OAuthTokenVerifier` plus an optional name.
 *
 * Resolve the token's `AuthInfo` to accept it; resolve `null`/`undefined` or throw an error
 * coded `invalid_token` to reject it; throw a `TemporarilyUnavailableError` (or time out)
 * when you cannot decide.
 */
export interface TokenVerifier {
  /** A synchronous "not this source's token" check (the `notMine` symbol); set by this package's own verifiers. */
  [notMine]?: (token: InspectedToken) => boolean;
  /** Why `notMine` said so (the `whyNotMine` symbol); set by this package's own verifiers. */
  [whyNotMine]?: (token: InspectedToken) => string;
  /** The digest of this source's rules (the `rulesDigest` symbol); set by this package's own verifiers from their options. */
  [rulesDigest]?: string;
  /** Explains a refusal that looks like a configuration mistake (the `diagnoseRefusal` symbol); set by this package's JWT sources. */
  [diagnoseRefusal]?: (token: InspectedToken, source: string) => void;
  /**
   * Reported as `req.auth.source` and in `onDecision`; unique within one `multiAuth`. Unnamed,
   * the primary is called `primary` and a verifier `verifier-<index in verifiers>`.
   */
  name?: string;
  /**
   * `false` when this source's answer depends on more than the token (a session cookie, a client
   * certificate, the source address): multiAuth then never caches what it decides. Default `true`.
   */
  readonly cacheable?: boolean;
  /**
   * Scopes this source's tokens must carry, replacing `multiAuth`'s `requiredScopes` for the
   * tokens it accepts (a CI key with its own vocabulary need not carry the interactive client's
   * scopes); a 403 for such a token names this list. A request without a token is still
   * challenged with the router's. On a primary it keeps its older meaning: the list `multiAuth`
   * inherits when it has none of its own.
   */
  readonly requiredScopes?: string[];
  /**
   * Seconds of clock skew this source allowed when it accepted a token (jwtVerifier's
   * `clockTolerance`). The chain and the result cache treat the token as valid until
   * `expiresAt` plus this, exactly as the source did, so no layer refuses what the source
   * accepted. Default 0.
   */
  readonly clockToleranceSeconds?: number;
  /**
   * `true` when this source's tokens may carry no expiry (API keys): an `AuthInfo` without
   * `expiresAt` is then accepted. Otherwise such an answer is refused (401), as RFC 9068 and
   * both MCP SDKs' `requireBearerAuth` refuse it, so that a verifier that forgot to report the
   * expiry never makes a token good forever. `staticTokenVerifier` sets it. Default `false`.
   */
  readonly neverExpires?: boolean;
  /**
   * Decides one token: resolve its `AuthInfo`, resolve `null`/`undefined` or throw, as described
   * on `TokenVerifier`. `multiAuth` always passes `context`; a direct caller may not.
   */
  verifyAccessToken(token: string, context?: VerifyContext): Promise<AuthInfo | MultiAuthInfo | null | undefined>;
  /**
   * Optional: asks the servers this source depends on (metadata, keys, introspection endpoint)
   * whether it can work, once, for `auth.ready()` and for the warnings `multiAuth` gives while a
   * source fails. Resolves a short description of what was checked; rejects with the problem: a
   * `TemporarilyUnavailableError` whose `permanent` is `true` for a configuration mistake, any
   * other error for an outage.
   */
  probe?(context: ProbeContext): Promise<string>;
}

/** What a source's optional `probe` gets. */
export interface ProbeContext {
  /** Aborted when `auth.ready()`'s time limit for the source passes. */
  signal: AbortSignal;
}

/**
 * One source's state, as `auth.ready()` found it:
 * - `ok`: every server it depends on answered as it should (or it depends on none);
 * - `misconfigured`: a cause waiting will not fix (a JWKS URL answering 404, a discovery document
 *   where a JWK Set belongs, an issuer without metadata, refused client credentials);
 * - `unreachable`: a server it needs is down, slow or answering 5xx, for now;
 * - `unchecked`: the source has no `probe` (custom sources, wrapped middlewares).
 */
export interface SourceReadiness {
  /** The source's name. */
  source: string;
  /** `ok`; `misconfigured` (only a configuration change fixes it); `unreachable` (an outage); `unchecked` (the source has no `probe()`). */
  status: 'ok' | 'misconfigured' | 'unreachable' | 'unchecked';
  /** What was checked, or what is wrong and where. */
  detail: string;
  /** How long the check took, in milliseconds. */
  durationMs: number;
}

/** What `auth.ready()` resolves with: every source, in chain order. */
export interface ReadyReport {
  /** `true` when no source is `misconfigured` or `unreachable`. */
  ready: boolean;
  /** One entry per source, in chain order. */
  sources: SourceReadiness[];
}

/** A primary source: a verifier that also serves the routes clients use to find out how to get a token. */
export interface AuthServer extends TokenVerifier {
  /** Scopes this server requires; `multiAuth` inherits them unless told otherwise. */
  requiredScopes?: string[];
  /** Absolute URL of the RFC 9728 document that `routes()` serves. */
  resourceMetadataUrl?: string;
  /** The server's routes, built for the scopes `multiAuth` actually enforces. */
  routes(context: { requiredScopes: string[]; dpop?: DpopRouteContext; mtls?: MtlsRouteContext }): RequestHandler;
}

/**
 * How one source answered one token:
 * - `accepted`: it resolved the token's `AuthInfo`;
 * - `rejected`: it resolved `null`/`undefined`, threw an error coded `invalid_token`, or
 *   accepted a token whose `expiresAt` has passed;
 * - `failed`: it could not decide (`timeoutMs` passed, or it threw a `temporarily_unavailable`
 *   or `server_error` error, e.g. the MCP SDKs' `ServerError`). Only failures can make the
 *   answer a 503;
 * - `insufficient_scope`: it recognised the token and threw an `insufficient_scope` error (the
 *   MCP SDKs' `InsufficientScopeError`): the chain ends there, answered 403;
 * - `errored`: it threw anything else, or returned a malformed `AuthInfo`. Answered like a
 *   rejection (a source's bug must not become a 503), but reported apart so the operator sees it.
 */
export type AttemptOutcome = 'accepted' | 'rejected' | 'failed' | 'insufficient_scope' | 'errored';

/** One source's answer to one token, as listed in `Decision.attempts`. */
export interface Attempt {
  /** The source's name. */
  source: string;
  /** How it answered; see {@link AttemptOutcome}. */
  outcome: AttemptOutcome;
  /** Why, for the operator: never shown to the client, never containing the token. */
  reason?: string;
  /**
   * On a failure: `true` when the source said its cause is configuration that waiting will not
   * fix (a 404 JWKS, a discovery document where a JWK Set belongs, no metadata, refused client
   * credentials). The answer is still 503; `multiAuth` also emits a process warning.
   */
  permanent?: true;
  /** How long the source took, in milliseconds (fractional). */
  durationMs: number;
  /**
   * What the source noted on the way without changing its answer (through `context.note`),
   * e.g. that the shared store was unavailable and it asked its server instead.
   */
  notes?: string[];
}

/**
 * The outcome of one bearer check, as `onDecision` sees it:
 * - `accepted`: a source accepted the token and it carries the required scopes (passed on);
 * - `anonymous`: no credentials, and `authRequired: false` (passed on without `req.auth`);
 * - `no_credentials`: no credentials (401 challenge without an error code);
 * - `invalid_request`: credentials in a form RFC 6750 forbids or that cannot be parsed (400);
 * - `rejected`: no source accepted the token, or it was too long or rejected moments ago (401);
 * - `insufficient_scope`: accepted, but without every required scope (403);
 * - `failed`: no source accepted and at least one could not decide (503);
 * - `forbidden`: a guard (`requireScopes`, `requireAnyScope`, `requireSource`) or `mcpPolicy`
 *   after the bearer check refused a request the check had let through (403); `rule` says which.
 */
export type DecisionOutcome =
  | 'accepted'
  | 'anonymous'
  | 'no_credentials'
  | 'invalid_request'
  | 'rejected'
  | 'insufficient_scope'
  | 'failed'
  | 'forbidden';

/**
 * What `onDecision` receives: once per bearer check, whether from the middleware or from
 * `auth.verify`, and once more for a request that a guard or `mcpPolicy` further down refuses
 * (with the `rule` that refused it). Never contains the token or any 8-character piece of it.
 */
export interface Decision {
  /** What happened; see {@link DecisionOutcome}. */
  outcome: DecisionOutcome;
  /** HTTP status of the answer (for `auth.verify`, the one HTTP would have got); 200 means "passed on". */
  status: number;
  /** The source that accepted the token, when one did. */
  source?: string;
  /** The accepted token's client id, when a source accepted it (`insufficient_scope` included). */
  clientId?: string;
  /** Each source tried, in order; empty when the answer came from the cache or before any source ran. */
  attempts: Attempt[];
  /** `true` when the answer came from the verified-result cache. */
  cached: boolean;
  /** The first 16 hex digits of the token's SHA-256, to correlate logs without the token. */
  tokenId?: string;
  /** Operator-facing detail: for refusals before any source ran, and for a guard's or policy's refusal. */
  reason?: string;
  /**
   * What happened on the way without changing the answer: e.g. the shared store failed and
   * per-process state was used, or a rejection came from the shared store.
   */
  notes?: string[];
  /**
   * The guard or policy rule that refused the request, on decisions made after the bearer check:
   * e.g. `requireScopes(repo:admin)` or `mcpPolicy tools["delete_repo"].scopes`.
   */
  rule?: string;
}

/**
 * What a guard or `mcpPolicy` reports when it refuses a request the bearer check let through;
 * the `multiAuth` that authenticated the request turns it into a {@link Decision}.
 */
export interface LaterRefusal {
  /** `forbidden` (403), or `no_credentials` (401) for a request let through without a token, or `invalid_request` (400). */
  outcome: 'forbidden' | 'no_credentials' | 'invalid_request';
  /** The HTTP status sent. */
  status: number;
  /** The guard or rule that refused, e.g. `requireSource(internal)`. */
  rule: string;
  /** What did not match, for the operator (scopes and source names, never the token). */
  reason?: string;
}
