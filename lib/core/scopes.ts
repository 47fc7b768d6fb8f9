import { MultiAuthConfigError } from './errors';

/**
 * How scopes are judged, in one place: a scope hierarchy (MCP 2026-07-28: "a broader scope
 * implies narrower ones") and what a challenge may name. The chain, the guards and `mcpPolicy`
 * all ask this module, so a token that passes one of them cannot be refused by another for a
 * scope it holds by implication.
 */

/**
 * Requested from the authorization server for refresh tokens, never a resource's requirement:
 * MCP 2026-07-28 says a protected resource SHOULD NOT name it in `WWW-Authenticate` or in
 * `scopes_supported`.
 */
export const OFFLINE_ACCESS = 'offline_access';

/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * A built-in source's `requiredScopes` option, checked: `undefined` when not given. Every
 * built-in source takes it and carries it as its `requiredScopes` property.
 */
export function sourceRequiredScopes(factory: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new MultiAuthConfigError(`${factory}: requiredScopes must be an array of scope strings, e.g. ['mcp:read']`);
  for (const scope of value) {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) {
      throw new MultiAuthConfigError(`${factory}: requiredScopes contains ${JSON.stringify(scope)}; a scope is a non-empty string without spaces, quotes or backslashes`);
    }
  }
  return [...new Set(value as string[])];
}

/** The scopes a challenge or metadata document may name: all but `offline_access`. */
export function advertisable(scopes: readonly string[]): string[] {
  return scopes.filter((scope) => scope !== OFFLINE_ACCESS);
}

/**
 * A checked, transitively closed `scopeHierarchy`: each scope mapped to every scope it implies,
 * directly or through others. Built once at construction; a cycle is refused there, since "a
 * implies b implies a" means the two are one scope under two names, which is a configuration
 * mistake rather than a hierarchy.
 *
 * @example
 * const hierarchy = ScopeHierarchy.from({ 'mcp:admin': ['mcp:write'], 'mcp:write': ['mcp:read'] }, 'scopeHierarchy');
 * hierarchy?.expand(['mcp:admin']); // ['mcp:admin', 'mcp:write', 'mcp:read']
 */
export class ScopeHierarchy {
  private constructor(private readonly implied: ReadonlyMap<string, readonly string[]>) {}

  /**
   * Checks `value` (a plain object of scope -> implied scopes) and closes it. `undefined` for
   * no hierarchy (`undefined` or `{}`). Throws `MultiAuthConfigError` naming the fix for anything
   * else: a value that is not an object, an entry that is not a scope, a cycle.
   */
  static from(value: unknown, what: string): ScopeHierarchy | undefined {
    if (value === undefined) return undefined;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new MultiAuthConfigError(`multiAuth: ${what} must be an object mapping a scope to the scopes it implies, e.g. { 'mcp:admin': ['mcp:write'] }`);
    }
    const direct = new Map<string, readonly string[]>();
    for (const [scope, implies] of Object.entries(value as Record<string, unknown>)) {
      if (!SCOPE_TOKEN.test(scope)) {
        throw new MultiAuthConfigError(`multiAuth: ${what} has the key ${JSON.stringify(scope)}; a scope is a non-empty string without spaces, quotes or backslashes`);
      }
      if (!Array.isArray(implies)) {
        throw new MultiAuthConfigError(`multiAuth: ${what}[${JSON.stringify(scope)}] must be an array of the scopes ${scope} implies`);
      }
      for (const narrower of implies) {
        if (typeof narrower !== 'string' || !SCOPE_TOKEN.test(narrower)) {
          throw new MultiAuthConfigError(
            `multiAuth: ${what}[${JSON.stringify(scope)}] contains ${JSON.stringify(narrower)}; a scope is a non-empty string without spaces, quotes or backslashes`,
          );
        }
      }
      direct.set(scope, [...new Set(implies as string[])]);
    }
    if (direct.size === 0) return undefined;
    return new ScopeHierarchy(close(direct, what));
  }

  /** `scopes` followed by every scope they imply that is not among them, without duplicates. */
  expand(scopes: readonly string[]): string[] {
    const all = new Set(scopes);
    for (const scope of scopes) for (const narrower of this.implied.get(scope) ?? []) all.add(narrower);
    return [...all];
  }
}

/** The transitive closure of `direct`, refusing a cycle with the path that makes it. */
function close(direct: ReadonlyMap<string, readonly string[]>, what: string): Map<string, readonly string[]> {
  const closed = new Map<string, readonly string[]>();
  const visiting: string[] = [];
  const visit = (scope: string): readonly string[] => {
    const done = closed.get(scope);
    if (done) return done;
    const at = visiting.indexOf(scope);
    if (at !== -1) {
      const cycle = [...visiting.slice(at), scope].join(' -> ');
      throw new MultiAuthConfigError(
        `multiAuth: ${what} has a cycle (${cycle}); a scope cannot imply itself, even through others. Remove one of these implications`,
      );
    }
    visiting.push(scope);
    const all = new Set<string>();
    for (const narrower of direct.get(scope) ?? []) {
      all.add(narrower);
      for (const further of visit(narrower)) all.add(further);
    }
    visiting.pop();
    const result = Object.freeze([...all]);
    closed.set(scope, result);
    return result;
  };
  for (const scope of direct.keys()) visit(scope);
  return closed;
}

/**
 * The scopes a token holds for judging: what it carries plus what that implies. `undefined`
 * hierarchy: what it carries. Rules read this, never `scopes` alone.
 */
export function heldScopes(scopes: readonly string[], hierarchy: ScopeHierarchy | undefined): readonly string[] {
  return hierarchy ? hierarchy.expand(scopes) : scopes;
}

/**
 * What a token holds as `multiAuth` judged it: `effectiveScopes` when the router has a
 * hierarchy, else `scopes`. An `AuthInfo` made elsewhere is judged on its own `scopes`.
 */
export function scopesHeld(info: { readonly scopes: readonly string[]; readonly effectiveScopes?: readonly string[] | undefined }): readonly string[] {
  return Array.isArray(info.effectiveScopes) ? info.effectiveScopes : Array.isArray(info.scopes) ? info.scopes : [];
}

/** The scopes of `needed` that `held` lacks, in the order declared. */
export function missingScopes(held: readonly string[], needed: readonly string[]): string[] {
  return needed.filter((scope) => !held.includes(scope));
}

/**
 * Everything one operation needs, as one list for one challenge (MCP 2026-07-28: "all scopes
 * required for the current operation in a single challenge"): the lists in order, without
 * duplicates, without `offline_access`.
 *
 * @example
 * challengeScopes(['mcp:read'], ['mcp:write', 'mcp:read', 'offline_access']); // ['mcp:read', 'mcp:write']
 */
export function challengeScopes(...lists: ReadonlyArray<readonly string[] | undefined>): string[] {
  const all = new Set<string>();
  for (const list of lists) for (const scope of list ?? []) if (scope !== OFFLINE_ACCESS) all.add(scope);
  return [...all];
}
