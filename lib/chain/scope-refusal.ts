import { unreadScopeClaim, unreadScopeClaimAdvice } from '../core/scope-hint';
import { NEAR_MISS_WARNING, WarningLimiter } from '../core/warnings';
import type { MultiAuthInfo } from '../core/types';

/**
 * The words of a router's `insufficient_scope` decision: the scopes the token carried and the
 * ones it lacked, so the operator need not guess which side is wrong. When the missing scopes
 * sit in a claim the source did not read (Auth0 RBAC's `permissions`), the fix (`scopeClaim`) is
 * added and a process warning says it too, at most once a minute per source and claim: the 403
 * is then the configuration's doing, and without an `onDecision` nobody would learn why.
 *
 * @example
 * const explain = scopeRefusals();
 * decision.reason = explain(info, ['mcp:write'], info.scopes); // 'the token lacks mcp:write (it has mcp:read)'
 */
export function scopeRefusals(): (info: MultiAuthInfo, required: readonly string[], held: readonly string[]) => string {
  const warnings = new WarningLimiter();
  return (info, required, held) => {
    const missing = required.filter((scope) => !held.includes(scope));
    const reason = `the token lacks ${missing.join(' ')} (it has ${info.scopes.join(' ') || 'no scope'})`;
    const claim = unreadScopeClaim(info.payload, info.scopes, missing);
    if (claim === undefined) return reason;
    const advice = unreadScopeClaimAdvice(info.source, claim, missing);
    warnings.warn(`${info.source} ${claim}`, () => advice, NEAR_MISS_WARNING);
    return `${reason}; ${advice}`;
  };
}
