import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import type { NodeMiddleware } from './node-http';
import { sendError, sendNoCredentials } from './challenge';
import { InsufficientScopeError, MultiAuthConfigError } from '../core/errors';
import { challengeScopes, missingScopes, scopesHeld } from '../core/scopes';
import { getAuth, getChallengeContext, notePassedScopes, parsedBody, passedScopes, reportRefusal, type RequestContext } from './request-auth';
import { GuardDiagnosis } from './guard-diagnosis';
import type { MultiAuthInfo } from '../core/types';

/**
 * `undefined` to let the request through, else what did not match (for the operator). `held`:
 * the token's scopes plus what they imply under the router's `scopeHierarchy`.
 */
type Check = (auth: MultiAuthInfo, held: readonly string[]) => string | undefined;

function checkNames(names: string[], guard: string, what: string): readonly string[] {
  // requireScopes(['a', 'b']) is the commonest slip (express-oauth2-jwt-bearer takes an array).
  if (names.length === 1 && Array.isArray(names[0])) {
    const list = (names[0] as unknown[]).map((name) => JSON.stringify(name)).join(', ');
    throw new MultiAuthConfigError(`${guard}() takes each ${what} as a separate argument, not an array: write ${guard}(${list})`);
  }
  if (names.length === 0) throw new MultiAuthConfigError(`${guard}() needs at least one ${what}`);
  for (const name of names) {
    if (typeof name !== 'string' || name === '' || /\s/.test(name)) {
      throw new MultiAuthConfigError(`${guard}(): ${JSON.stringify(name)} is not a valid ${what}`);
    }
  }
  return Object.freeze([...names]);
}

/**
 * What a guard's `scope=` names: every scope the operation needs, in one challenge (MCP
 * 2026-07-28). Clients such as the MCP SDK's replace their scope with exactly this value, so it
 * must be a set that, granted, passes everything on the way: the scopes `multiAuth` requires of
 * this token, what the guards and policies before this one required, this route's, and what the
 * `mcpPolicy`s tied to the router require of the parsed body after it. A guard that asks for no
 * scope (`requireSource`) names none: no scope would help.
 */
function scopesToAsk(req: IncomingMessage, context: RequestContext, route: readonly string[], held: readonly string[] | undefined): readonly string[] {
  return route.length === 0 ? [] : challengeScopes(context.scopes, passedScopes(req), route, context.operationScopes?.(parsedBody(req), held));
}

/**
 * The shared shape of every guard: 401 with the bearer challenge when `multiAuth` let the
 * request through without credentials, 403 `insufficient_scope` when the check fails. Either
 * refusal is reported, with `rule`, through the `onDecision` of the `multiAuth` in front.
 * `routeScopes(held)` are what the route adds to `scope=` (one alternative for
 * `requireAnyScope`); a request that passes is remembered to have needed them.
 */
function guard(rule: string, check: Check, routeScopes: (held: readonly string[] | undefined) => readonly string[], description: string, diagnosis = new GuardDiagnosis(rule)): RequestHandler & NodeMiddleware {
  // Reads and answers through Node's request and response only: an Express handler and a Node
  // middleware alike.
  const middleware: NodeMiddleware = (req, res, next) => {
    const context = getChallengeContext(req);
    const auth = getAuth(req);
    if (!auth) {
      diagnosis.unseen(req);
      const challengeScopes = scopesToAsk(req, context, routeScopes(undefined), undefined);
      reportRefusal(req, context, { outcome: 'no_credentials', status: 401, rule, reason: 'no credentials' });
      sendNoCredentials(res, { ...context, scopes: challengeScopes.length > 0 ? challengeScopes : context.scopes });
      return;
    }
    const held = scopesHeld(auth);
    const mismatch = check(auth, held);
    const explained = diagnosis.explain(auth, held, context, mismatch !== undefined);
    if (mismatch === undefined) {
      notePassedScopes(req, routeScopes(held));
      next();
      return;
    }
    reportRefusal(req, context, { outcome: 'forbidden', status: 403, rule, reason: mismatch + explained });
    sendError(res, new InsufficientScopeError(scopesToAsk(req, context, routeScopes(held), held), description), context);
  };
  return middleware as RequestHandler & NodeMiddleware;
}

function lacking(auth: MultiAuthInfo, held: readonly string[], scopes: readonly string[]): string {
  return `the token lacks ${missingScopes(held, scopes).join(' ')} (it has ${auth.scopes.join(' ') || 'no scope'})`;
}

/**
 * Lets the request through only when the token carries every one of `scopes`.
 *
 * @example
 * app.post('/mcp', requireScopes('mcp:write'), handler);
 */
export function requireScopes(...scopes: string[]): RequestHandler & NodeMiddleware {
  const needed = checkNames(scopes, 'requireScopes', 'scope');
  return guard(
    `requireScopes(${needed.join(', ')})`,
    (auth, held) => (needed.every((s) => held.includes(s)) ? undefined : lacking(auth, held, needed)),
    () => needed,
    'The access token lacks a scope this route requires',
    new GuardDiagnosis(`requireScopes(${needed.join(', ')})`, { scopes: needed }),
  );
}

/**
 * Lets the request through when the token carries at least one of `scopes`. List them least
 * privileged first: a refusal's `scope=` names the first one only (as `mcpPolicy`'s `anyScopes`
 * does), since `scope="a b"` would ask the client to obtain both.
 *
 * @example
 * app.get('/repo', requireAnyScope('repo:read', 'repo:admin'), handler);
 */
export function requireAnyScope(...scopes: string[]): RequestHandler & NodeMiddleware {
  const accepted = checkNames(scopes, 'requireAnyScope', 'scope');
  return guard(
    `requireAnyScope(${accepted.join(', ')})`,
    (auth, held) => (accepted.some((s) => held.includes(s)) ? undefined : `the token has none of ${accepted.join(' ')} (it has ${auth.scopes.join(' ') || 'no scope'})`),
    // The alternative the token holds, else the least privileged: asking for exactly it passes.
    (held) => [accepted.find((s) => held?.includes(s)) ?? accepted[0]],
    'The access token lacks a scope this route requires',
    new GuardDiagnosis(`requireAnyScope(${accepted.join(', ')})`, { scopes: accepted }),
  );
}

/**
 * Lets the request through only when the token was accepted by one of the named sources.
 * The answer is 403 `insufficient_scope` (RFC 6750 has no closer code); the description
 * says the kind of token is not accepted here, without naming sources.
 *
 * @example
 * app.post('/admin', requireSource('internal'), handler);
 */
export function requireSource(...names: string[]): RequestHandler & NodeMiddleware {
  const allowed = checkNames(names, 'requireSource', 'source name');
  return guard(
    `requireSource(${allowed.join(', ')})`,
    (auth) => (allowed.includes(auth.source) ? undefined : `the token comes from ${auth.source}, not from ${allowed.join(' or ')}`),
    () => [],
    'This kind of access token is not accepted for this route',
    new GuardDiagnosis(`requireSource(${allowed.join(', ')})`, { sources: allowed }),
  );
}
