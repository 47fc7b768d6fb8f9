import { scopeList } from './claims';

/**
 * Claims where issuers put scopes or permissions, in the order they are looked at. A source reads
 * one of them (`scope`, else `scp`, unless told `scopeClaim`); Auth0's RBAC puts API permissions
 * in `permissions`, others use `scopes` or `roles`.
 */
const SCOPE_CLAIMS = ['permissions', 'scopes', 'scope', 'scp', 'roles'];

/**
 * The claim of `payload` that lists some of the `missing` scopes although the source did not
 * read them from it (they are not in `scopes`), or `undefined`. Then the 403 is not the token's
 * fault: the source reads the wrong claim, and `scopeClaim` is the fix.
 *
 * @example
 * unreadScopeClaim({ permissions: ['read:things'] }, [], ['read:things']); // 'permissions'
 */
export function unreadScopeClaim(
  payload: Readonly<Record<string, unknown>> | undefined,
  scopes: readonly string[],
  missing: readonly string[],
): string | undefined {
  if (!payload || missing.length === 0) return undefined;
  for (const claim of SCOPE_CLAIMS) {
    const listed = scopeList(payload[claim]);
    if (listed && missing.some((scope) => listed.includes(scope) && !scopes.includes(scope))) return claim;
  }
  return undefined;
}

/** The warning (and decision reason) for {@link unreadScopeClaim}'s finding. */
export function unreadScopeClaimAdvice(source: string, claim: string, missing: readonly string[]): string {
  return (
    `source "${source}" did not read ${missing.join(' ')} from the token, but its "${claim}" claim lists ` +
    `${missing.length === 1 ? 'it' : 'some of them'}; set scopeClaim: '${claim}' on source "${source}" so its scopes are read from there`
  );
}
