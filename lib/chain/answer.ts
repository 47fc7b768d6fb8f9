import { errorAnswer, noCredentialsAnswer, type HttpAnswer } from '../http/challenge';
import { contextForSource, type RequestContext } from '../http/request-auth';
import type { PresentedCredentials } from '../http/presented';
import { InsufficientScopeError, type MultiAuthError } from '../core/errors';
import { challengeScopes } from '../core/scopes';
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
  /** For a token refused for lacking scope: what it holds, so its challenge can name what it uses. */
  held?: readonly string[];
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
export function answerOf(verdict: Verdict, context: RequestContext, token: string | undefined, presented?: PresentedCredentials): Answer {
  const { info, decision } = verdict;
  let { error } = verdict;
  if (error) {
    // One challenge per operation: a 403 also names what the policies tied to the router
    // require of the call in the parsed body.
    if (error instanceof InsufficientScopeError && context.operationScopes && presented?.operation) {
      const more = context.operationScopes(presented.operation(), verdict.held);
      if (more.length > 0) error = new InsufficientScopeError(challengeScopes(error.scopes, more), error.message);
    }
    return { kind: 'refused', http: errorAnswer(error, context), error, decision, context, token };
  }
  const accepted = info as MultiAuthInfo;
  // Guards and mcpPolicy further down challenge with the list this token was held to.
  return { kind: 'accepted', info: accepted, decision, context: contextForSource(context, accepted.source), token };
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
