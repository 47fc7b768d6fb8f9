import type { Decision, ReadyReport } from './types';

/** Stable codes to branch on; never parse messages. */
export type MultiAuthErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'temporarily_unavailable'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce';

/**
 * Base of every error this package answers a request with. Carries the HTTP status and the
 * RFC 6750 error code, so one place turns any of them into a response, and callers of
 * `auth.verify` branch on `code` rather than on the message.
 *
 * @example
 * try {
 *   const info = await auth.verify(token);
 * } catch (error) {
 *   if (!(error instanceof MultiAuthError)) throw error;
 *   if (error.code === 'temporarily_unavailable') return retryLater();
 *   return refuse(error.status, error.decision?.attempts);
 * }
 */
export class MultiAuthError extends Error {
  /** The RFC 6750 error code, sent in the JSON body and (but for 503) as `error=` in the challenge. */
  readonly code: MultiAuthErrorCode;
  /** HTTP status of the answer: 400, 401, 403 or 503. */
  readonly status: number;
  /** Scopes the client needs (for `insufficient_scope`). */
  readonly scopes?: readonly string[];
  /** The full decision, on the errors `auth.verify` rejects with. */
  decision?: Decision;

  /** Prefer a subclass: each pairs its `code` with the right `status`. */
  constructor(code: MultiAuthErrorCode, status: number, message: string, scopes?: readonly string[]) {
    // A 4xx is a verdict on a request, not a bug, and sources make one per foreign token: a stack
    // trace would be the most expensive part of refusing it, and nobody reads it.
    const stackTraceLimit = Error.stackTraceLimit;
    if (status < 500) Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    if (scopes) this.scopes = scopes;
  }
}

/**
 * 400: the request carries credentials in a way RFC 6750 forbids or that cannot be parsed.
 *
 * @example
 * // GET /mcp?access_token=... : tokens in URLs end up in logs, so this is refused.
 * try {
 *   extractBearerToken(req);
 * } catch (error) {
 *   if (error instanceof InvalidRequestError) console.log(error.status, error.message); // 400 ...
 * }
 */
export class InvalidRequestError extends MultiAuthError {
  /** When this error answers a request, `message` is the client's `error_description`: name no internals. */
  constructor(message = 'The request is malformed') {
    super('invalid_request', 400, message);
  }
}

/**
 * 401: the token is not accepted. Sources throw it (or resolve `null`) to reject a token;
 * the chain then asks the next source. Throwing it rather than resolving `null` lets the
 * message tell the operator why (through `onDecision`); the client never sees it.
 *
 * @example
 * const sessions: TokenVerifier = {
 *   name: 'sessions',
 *   async verifyAccessToken(token) {
 *     const session = await store.find(token);
 *     if (!session) throw new InvalidTokenError('unknown session');
 *     return { token, clientId: session.clientId, scopes: session.scopes };
 *   },
 * };
 */
export class InvalidTokenError extends MultiAuthError {
  /**
   * Thrown by a source, `message` reaches the operator only (`Attempt.reason`); the client gets
   * a fixed description.
   */
  constructor(message = 'The access token is invalid') {
    super('invalid_token', 401, message);
  }
}

/**
 * 403: the token is valid but lacks scopes (or is of a kind) the resource needs. `scopes`
 * names what to ask for; it is empty when no scope would help (e.g. `requireSource`).
 *
 * @example
 * try {
 *   await auth.verify(token);
 * } catch (error) {
 *   if (error instanceof InsufficientScopeError) console.log(`ask for: ${error.scopes?.join(' ')}`);
 * }
 */
export class InsufficientScopeError extends MultiAuthError {
  /** `scopes` go into `scope=` of the challenge: what the client should ask for. */
  constructor(scopes: readonly string[], message = 'The access token lacks the required scope') {
    super('insufficient_scope', 403, message, scopes);
  }
}

/**
 * 503: a source could not decide (its key server, introspection endpoint or network is down).
 * Throw it from a source to say "not a rejection, try again later": a 401 would tell the
 * client to throw away a token that may be good.
 *
 * @example
 * async verifyAccessToken(token) {
 *   let session;
 *   try {
 *     session = await store.find(token);
 *   } catch (cause) {
 *     throw new TemporarilyUnavailableError('session store unreachable', { cause });
 *   }
 *   // ...
 * }
 */
export class TemporarilyUnavailableError extends MultiAuthError {
  /**
   * `true` when the cause is configuration that waiting will not fix: a key server answering
   * 404, a discovery document where a JWK Set belongs, an issuer without metadata, client
   * credentials the introspection endpoint refuses. Requests still get 503 (the token may be
   * good); `auth.ready()` reports the source as misconfigured and the operator gets warnings.
   */
  readonly permanent: boolean;

  /**
   * Thrown by a source, `message` reaches the operator only (`Attempt.reason`); `cause` keeps
   * the underlying error for debugging.
   */
  constructor(message = 'Token verification is temporarily unavailable', options?: { cause?: unknown; permanent?: boolean }) {
    super('temporarily_unavailable', 503, message);
    if (options && 'cause' in options) (this as { cause?: unknown }).cause = options.cause;
    this.permanent = options?.permanent === true;
  }
}

/**
 * What `auth.ready()` rejects with: at least one source cannot work now. `report` has every
 * source's state; the message names each source that cannot work and why.
 *
 * @example
 * try {
 *   await auth.ready();
 * } catch (error) {
 *   if (!(error instanceof MultiAuthNotReadyError)) throw error;
 *   console.error(error.message); // multiAuth is not ready: internal: misconfigured: the key server answered HTTP 404 ...
 *   process.exit(1);
 * }
 */
export class MultiAuthNotReadyError extends Error {
  /** Always `'ERR_MULTIAUTH_NOT_READY'`. */
  readonly code = 'ERR_MULTIAUTH_NOT_READY';
  /** Every source's state, as `ready()` would have resolved it. */
  readonly report: ReadyReport;
  constructor(report: ReadyReport) {
    const failing = report.sources.filter((s) => s.status === 'misconfigured' || s.status === 'unreachable');
    super(`multiAuth is not ready: ${failing.map((s) => `${s.source}: ${s.status}: ${s.detail}`).join('; ')}`);
    this.name = 'MultiAuthNotReadyError';
    this.report = report;
  }
}

/**
 * 401 `invalid_dpop_proof` (RFC 9449 §7.1): a request with the DPoP scheme whose `DPoP` proof
 * is missing, malformed, or does not fit the request (method, URL, token, time, key, replay).
 *
 * @example
 * if (error instanceof InvalidDpopProofError) console.log(error.status, error.code); // 401 invalid_dpop_proof
 */
export class InvalidDpopProofError extends MultiAuthError {
  /** `message` is the client's `error_description`: name no internals. */
  constructor(message = 'The DPoP proof is invalid') {
    super('invalid_dpop_proof', 401, message);
  }
}

/**
 * 401 `use_dpop_nonce` (RFC 9449 §9): the proof lacks a current server nonce. The answer carries
 * `nonce` in a `DPoP-Nonce` header; the client signs a new proof with it and retries.
 *
 * @example
 * if (error instanceof UseDpopNonceError) res.setHeader('DPoP-Nonce', error.nonce);
 */
export class UseDpopNonceError extends MultiAuthError {
  /** The nonce the next proof must carry. */
  readonly nonce: string;
  constructor(nonce: string, message = 'The DPoP proof must carry the nonce this server provides') {
    super('use_dpop_nonce', 401, message);
    this.nonce = nonce;
  }
}

/**
 * Thrown for configuration that cannot work, at construction wherever the mistake shows there;
 * the message says what to fix. A `TypeError`, not a `MultiAuthError`: it is the operator's
 * mistake, not the client's, so it never becomes a 4xx answer.
 *
 * @example
 * try {
 *   multiAuth({ verifiers: [] });
 * } catch (error) {
 *   if (error instanceof MultiAuthConfigError) console.error(error.message);
 *   // multiAuth: give a primary or at least one verifier; with no source no token can be accepted
 * }
 */
export class MultiAuthConfigError extends TypeError {
  /** Always `'ERR_MULTIAUTH_CONFIG'`, to tell it from other `TypeError`s without reading messages. */
  readonly code = 'ERR_MULTIAUTH_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'MultiAuthConfigError';
  }
}
