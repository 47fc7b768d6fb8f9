import type { Decision } from './types';

/** Stable codes to branch on; never parse messages. */
export type MultiAuthErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'temporarily_unavailable';

/**
 * Base of every error this package answers a request with. Carries the HTTP status and the
 * RFC 6750 error code, so one place (`challenge.ts`) turns any of them into a response.
 */
export class MultiAuthError extends Error {
  readonly code: MultiAuthErrorCode;
  readonly status: number;
  /** Scopes the client needs (for `insufficient_scope`). */
  readonly scopes?: readonly string[];
  /** The full decision, when the error comes out of `multiAuth` (e.g. from `auth.verify`). */
  decision?: Decision;

  constructor(code: MultiAuthErrorCode, status: number, message: string, scopes?: readonly string[]) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    if (scopes) this.scopes = scopes;
  }
}

/** 400: the request carries credentials in a way RFC 6750 forbids or that cannot be parsed. */
export class InvalidRequestError extends MultiAuthError {
  constructor(message = 'The request is malformed') {
    super('invalid_request', 400, message);
  }
}

/**
 * 401: the token is not accepted. Sources throw it (or resolve `null`) to reject a token;
 * the chain then asks the next source.
 */
export class InvalidTokenError extends MultiAuthError {
  constructor(message = 'The access token is invalid') {
    super('invalid_token', 401, message);
  }
}

/** 403: the token is valid but lacks scopes (or is of a kind) the resource needs. */
export class InsufficientScopeError extends MultiAuthError {
  constructor(scopes: readonly string[], message = 'The access token lacks the required scope') {
    super('insufficient_scope', 403, message, scopes);
  }
}

/**
 * 503: a source could not decide (its key server, introspection endpoint or network is down).
 * Throw it from a source to say "not a rejection, try again later".
 */
export class TemporarilyUnavailableError extends MultiAuthError {
  constructor(message = 'Token verification is temporarily unavailable', options?: { cause?: unknown }) {
    super('temporarily_unavailable', 503, message);
    if (options && 'cause' in options) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** Thrown at construction for configuration that cannot work; the message says what to fix. */
export class MultiAuthConfigError extends TypeError {
  readonly code = 'ERR_MULTIAUTH_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'MultiAuthConfigError';
  }
}
