import { MultiAuthConfigError } from './errors';
/**
 * Reading the claims every token source shares (JWT payloads, introspection answers, what a
 * wrapped middleware set), so that the three verifiers agree on what a scope or a resource is.
 */

export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** The first non-empty string among `values` (e.g. `client_id`, `azp`, `sub`). */
export function firstString(...values: unknown[]): string | undefined {
  return values.find(isNonEmptyString);
}

/** RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`. No space, quote or backslash. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * Whether `value` is one RFC 6749 §3.3 scope token. An element with a space is two scopes to
 * anyone who splits a `scope` string (express-oauth2-jwt-bearer's guards do), and one to anyone
 * who does not: it is neither, so it is no scope at all.
 *
 * @example
 * isScopeToken('mcp:read'); // true
 * isScopeToken('read admin'); // false
 */
export function isScopeToken(value: unknown): value is string {
  return typeof value === 'string' && SCOPE_TOKEN.test(value);
}

/**
 * Scopes from a claim: a space-separated string (RFC 6749 `scope`) or an array (`scp`,
 * Auth0's `permissions`), keeping only scope tokens, so that every reader (this package's
 * guards, express-oauth2-jwt-bearer's on the `scope` claim filled from this list) sees one
 * list. `undefined` when the claim is anything else, so the caller decides whether that is
 * "no scopes" or a malformed answer.
 *
 * @example
 * scopeList(['read admin', 'read']); // ['read']
 */
export function scopeList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return value.split(' ').filter(isScopeToken);
  if (Array.isArray(value)) return value.filter(isScopeToken);
  return undefined;
}

/**
 * Freezes a decoded claim value and everything inside it, so that objects shared between
 * requests (the chain's decoded JWT, cache entries) cannot be changed by one of them.
 * Iterative: claims come from tokens, and a token nested 10,000 levels deep must not be able to
 * overflow the stack (a `RangeError` is not an answer any caller expects).
 *
 * @example
 * const claims = freezeDeep(JSON.parse('{"roles":["admin"]}'));
 * Object.isFrozen(claims.roles); // true
 */
export function freezeDeep<T>(value: T): T {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const current = pending.pop();
    if (current === null || typeof current !== 'object' || Object.isFrozen(current)) continue;
    Object.freeze(current);
    for (const inner of Object.values(current)) pending.push(inner);
  }
  return value;
}

/**
 * How deeply `value` nests objects and arrays (a scalar is 0), counting no further than
 * `limit + 1`: enough to tell "too deep" without walking a hostile structure to its end.
 *
 * @example
 * nestingDepth({ a: [1] }, 64); // 2
 */
export function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[value, 1]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop() as [unknown, number];
    if (current === null || typeof current !== 'object') continue;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const inner of Object.values(current)) pending.push([inner, depth + 1]);
  }
  return deepest;
}

/** RFC 8707: the resource a token is bound to, when its `aud` names exactly one http(s) URL. */
export function resourceFromAudience(aud: unknown): URL | undefined {
  const only = Array.isArray(aud) ? (aud.length === 1 ? aud[0] : undefined) : aud;
  if (typeof only !== 'string') return undefined;
  try {
    const url = new URL(only);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Checks a scope list: an array of non-empty strings without spaces (RFC 6749 §3.3 scope tokens). */
export function checkScopes(value: unknown, what: string): readonly string[] {
  if (!Array.isArray(value)) throw new MultiAuthConfigError(`multiAuth: ${what} must be an array of scope strings, got ${typeof value}`);
  for (const scope of value) {
    if (!isScopeToken(scope)) {
      throw new MultiAuthConfigError(`multiAuth: ${what} contains ${JSON.stringify(scope)}; a scope is a non-empty string without spaces, quotes or backslashes`);
    }
  }
  return Object.freeze([...new Set(value as string[])]);
}

/** What `standardClaims` reads: the fields every source's `req.auth` has, whatever its claims. */
interface ClaimSources {
  clientId: string;
  scopes: readonly string[];
  subject?: string;
  expiresAt?: number;
  payload?: Record<string, unknown>;
}

/**
 * A source's claims with the ones express-oauth2-jwt-bearer's guards read (`scope`,
 * `client_id`, `sub`, `exp`) added where the source left them out, so that `requiredScopes()`,
 * `scopeIncludesAny()` and `claimCheck()` work after `multiAuth` for a static key or an
 * introspected token as for a JWT. The source's own claims always win: a JWT's payload keeps
 * what jose verified, only missing names are filled in from what the source reported.
 * Returns `payload` itself when nothing is missing.
 *
 * @example
 * standardClaims({ clientId: 'ci', scopes: ['read', 'write'], payload: { team: 'ops' } })
 * // -> { team: 'ops', scope: 'read write', client_id: 'ci' }
 */
export function standardClaims(info: ClaimSources): Record<string, unknown> {
  const own = info.payload;
  const missing: Record<string, unknown> = {};
  let count = 0;
  if (own === undefined || !('scope' in own)) {
    missing.scope = info.scopes.join(' ');
    count++;
  }
  if (info.clientId !== '' && (own === undefined || !('client_id' in own))) {
    missing.client_id = info.clientId;
    count++;
  }
  if (info.subject !== undefined && (own === undefined || !('sub' in own))) {
    missing.sub = info.subject;
    count++;
  }
  if (info.expiresAt !== undefined && (own === undefined || !('exp' in own))) {
    missing.exp = info.expiresAt;
    count++;
  }
  if (own === undefined) return missing;
  return count === 0 ? own : { ...own, ...missing };
}
