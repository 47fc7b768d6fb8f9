import { InsufficientScopeError, InvalidTokenError } from '../core/errors';
import { bindingProblem } from '../dpop/binding';
import type { ResolvedDpopOptions } from '../dpop/options';
import type { Decision, MultiAuthInfo } from '../core/types';
import type { Verdict } from './answer';

export const REJECTED = 'The access token is invalid or has expired';
const LACKS_SCOPE = 'The access token lacks a scope this resource requires';

/**
 * What the request proved it holds, besides the token: the key of a verified DPoP proof. An
 * accepted token bound to a key (`cnf`) is accepted only with proof of that key.
 */
export interface Possession {
  /** RFC 7638 thumbprint of the verified DPoP proof's key; `undefined` on a Bearer request. */
  readonly dpopJkt?: string | undefined;
}

/** The rules every accepted token meets, from `multiAuth`'s options. */
export interface AcceptanceRules {
  readonly requiredScopes: readonly string[];
  readonly resourceMetadataUrl: string | undefined;
  readonly dpop: ResolvedDpopOptions | undefined;
}

/**
 * The one place an accepted token is concluded, whether the sources just accepted it or the
 * cache remembered it: 200, or 403 when it lacks a required scope; 401 when the way it came
 * does not fit its binding (`cnf`). Every rule about an accepted token belongs here, so that a
 * cached token meets the same rules as a fresh one.
 */
export function concludeAccepted(rules: AcceptanceRules, info: MultiAuthInfo, decision: Decision, possession: Possession): Verdict {
  // MCP SDK v2 builds its per-tool scope challenges from this: without it they would lack
  // `resource_metadata` for every source that does not know the resource's metadata URL.
  if (info.resourceMetadataUrl === undefined && rules.resourceMetadataUrl !== undefined) {
    info.resourceMetadataUrl = rules.resourceMetadataUrl;
  }
  decision.source = info.source;
  decision.clientId = info.clientId;
  const { dpop } = rules;
  const unbound = dpop && bindingProblem(info, possession.dpopJkt, dpop.required);
  if (unbound) {
    decision.reason = unbound;
    return { error: new InvalidTokenError(REJECTED), decision };
  }
  if (missingScope(info, rules.requiredScopes)) {
    decision.outcome = 'insufficient_scope';
    decision.status = 403;
    return { error: new InsufficientScopeError(rules.requiredScopes, LACKS_SCOPE), decision };
  }
  decision.outcome = 'accepted';
  decision.status = 200;
  return { info, decision };
}

function missingScope(info: MultiAuthInfo, required: readonly string[]): boolean {
  for (const scope of required) if (!info.scopes.includes(scope)) return true;
  return false;
}
