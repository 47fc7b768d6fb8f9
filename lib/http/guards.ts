import type { RequestHandler } from 'express';
import { sendError, sendNoCredentials } from './challenge';
import { InsufficientScopeError, MultiAuthConfigError } from '../core/errors';
import { getAuth, getChallengeContext, reportRefusal } from './request-auth';
import type { MultiAuthInfo } from '../core/types';

/** `undefined` to let the request through, else what did not match (for the operator). */
type Check = (auth: MultiAuthInfo) => string | undefined;

function checkNames(names: string[], guard: string, what: string): readonly string[] {
  if (names.length === 0) throw new MultiAuthConfigError(`${guard}() needs at least one ${what}`);
  for (const name of names) {
    if (typeof name !== 'string' || name === '' || /\s/.test(name)) {
      throw new MultiAuthConfigError(`${guard}(): ${JSON.stringify(name)} is not a valid ${what}`);
    }
  }
  return Object.freeze([...names]);
}

/**
 * What a guard's `scope=` names: every scope the request needs, the ones `multiAuth` requires of
 * every token first. The same rule as `mcpPolicy`: clients such as the MCP SDK's replace their
 * scope with exactly this value, so it must be a set of scopes that, granted, passes; a scope
 * left out (the required ones) would be lost on the next token.
 */
function scopesToAsk(context: { scopes?: readonly string[] | undefined }, route: readonly string[]): readonly string[] {
  return route.length === 0 ? [] : [...new Set([...(context.scopes ?? []), ...route])];
}

/**
 * The shared shape of every guard: 401 with the bearer challenge when `multiAuth` let the
 * request through without credentials, 403 `insufficient_scope` when the check fails. Either
 * refusal is reported, with `rule`, through the `onDecision` of the `multiAuth` in front.
 * `routeScopes` are what the route adds to `scope=` (one alternative for `requireAnyScope`).
 */
function guard(rule: string, check: Check, routeScopes: readonly string[], description: string): RequestHandler {
  return (req, res, next) => {
    const context = getChallengeContext(req);
    const challengeScopes = scopesToAsk(context, routeScopes);
    const auth = getAuth(req);
    if (!auth) {
      reportRefusal(req, context, { outcome: 'no_credentials', status: 401, rule, reason: 'no credentials' });
      sendNoCredentials(res, { ...context, scopes: challengeScopes.length > 0 ? challengeScopes : context.scopes });
      return;
    }
    const mismatch = check(auth);
    if (mismatch === undefined) {
      next();
      return;
    }
    reportRefusal(req, context, { outcome: 'forbidden', status: 403, rule, reason: mismatch });
    sendError(res, new InsufficientScopeError(challengeScopes, description), context);
  };
}

function lacking(auth: MultiAuthInfo, scopes: readonly string[]): string {
  return `the token lacks ${scopes.filter((s) => !auth.scopes.includes(s)).join(' ')} (it has ${auth.scopes.join(' ') || 'no scope'})`;
}

/**
 * Lets the request through only when the token carries every one of `scopes`.
 *
 * @example
 * app.post('/mcp', requireScopes('mcp:write'), handler);
 */
export function requireScopes(...scopes: string[]): RequestHandler {
  const needed = checkNames(scopes, 'requireScopes', 'scope');
  return guard(
    `requireScopes(${needed.join(', ')})`,
    (auth) => (needed.every((s) => auth.scopes.includes(s)) ? undefined : lacking(auth, needed)),
    needed,
    'The access token lacks a scope this route requires',
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
export function requireAnyScope(...scopes: string[]): RequestHandler {
  const accepted = checkNames(scopes, 'requireAnyScope', 'scope');
  return guard(
    `requireAnyScope(${accepted.join(', ')})`,
    (auth) => (accepted.some((s) => auth.scopes.includes(s)) ? undefined : `the token has none of ${accepted.join(' ')} (it has ${auth.scopes.join(' ') || 'no scope'})`),
    [accepted[0]],
    'The access token lacks a scope this route requires',
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
export function requireSource(...names: string[]): RequestHandler {
  const allowed = checkNames(names, 'requireSource', 'source name');
  return guard(
    `requireSource(${allowed.join(', ')})`,
    (auth) => (allowed.includes(auth.source) ? undefined : `the token comes from ${auth.source}, not from ${allowed.join(' or ')}`),
    [],
    'This kind of access token is not accepted for this route',
  );
}
