import { errorAnswer, noCredentialsAnswer, type HttpAnswer } from '../http/challenge';
import type { RequestContext } from '../http/request-auth';
import type { MultiAuthError } from '../core/errors';
import type { Decision, MultiAuthInfo } from '../core/types';

/**
 * What the chain concluded about one token, before HTTP: its `MultiAuthInfo`, or the error
 * `auth.verify()` rejects with; and the decision that explains it. Exactly one of `info` and
 * `error` is set.
 */
export interface Verdict {
  info?: MultiAuthInfo;
  error?: MultiAuthError;
  decision: Decision;
}

/** The request goes on with `req.auth` set to `info`, carrying `context` for the guards further down. */
export interface Accepted {
  readonly kind: 'accepted';
  readonly info: MultiAuthInfo;
  readonly decision: Decision;
  readonly context: RequestContext;
}

/** The request goes on without credentials (`authRequired: false`): no `req.auth`, only `context`. */
export interface Anonymous {
  readonly kind: 'anonymous';
  readonly decision: Decision;
  readonly context: RequestContext;
}

/** The request is answered here: `http` is the status, challenge and body to send. */
export interface Refused {
  readonly kind: 'refused';
  readonly http: HttpAnswer;
  /** What `auth.verify()` would reject with; absent for a request without credentials. */
  readonly error: MultiAuthError | undefined;
  readonly decision: Decision;
  readonly context: RequestContext;
}

/**
 * The decision core's answer to one request. `token` is the raw token when the request carried
 * one: only to scrub it from warnings, never reported.
 */
export type Answer = (Accepted | Anonymous | Refused) & { readonly token?: string | undefined };

/**
 * The one place a verdict becomes an answer, under the challenge settings of the scheme the
 * request used (Bearer or DPoP).
 */
export function answerOf(verdict: Verdict, context: RequestContext, token: string | undefined): Answer {
  const { info, error, decision } = verdict;
  if (error) return { kind: 'refused', http: errorAnswer(error, context), error, decision, context, token };
  return { kind: 'accepted', info: info as MultiAuthInfo, decision, context, token };
}

/** A refusal before any token was looked at: 400 for credentials sent a forbidden way. */
export function refusedRequest(error: MultiAuthError, context: RequestContext): Answer {
  const decision: Decision = { outcome: 'invalid_request', status: 400, attempts: [], cached: false, reason: error.message };
  return { kind: 'refused', http: errorAnswer(error, context), error, decision, context };
}

/** A request with no credentials: 401 with the bare challenge, or on its way when auth is optional. */
export function noCredentials(context: RequestContext, authRequired: boolean): Answer {
  if (!authRequired) return { kind: 'anonymous', decision: { outcome: 'anonymous', status: 200, attempts: [], cached: false }, context };
  const decision: Decision = { outcome: 'no_credentials', status: 401, attempts: [], cached: false };
  return { kind: 'refused', http: noCredentialsAnswer(context), error: undefined, decision, context };
}
