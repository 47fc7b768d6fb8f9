import { InsufficientScopeError, InvalidTokenError } from '../core/errors';
import type { ResolvedDpopOptions } from '../dpop/options';
import type { ResolvedMtlsOptions } from '../mtls/options';
import { bindingOf, bindingProblem, type BindingEvidence, type BindingPolicy } from './binding';
import type { Decision, MultiAuthInfo } from '../core/types';
import type { Verdict } from './answer';
import { scopeRefusals } from './scope-refusal';
import type { ScopeRules } from './scope-rules';

export const REJECTED = 'The access token is invalid or has expired';
const LACKS_SCOPE = 'The access token lacks a scope this resource requires';

/**
 * What the request proved it holds, besides the token: the key of a verified DPoP proof (and,
 * with mTLS, its client certificate). An accepted token bound to a key or a certificate (`cnf`)
 * is accepted only with proof of each; the binding rule (./binding.ts) decides.
 */
export type Possession = Readonly<BindingEvidence>;

/** The rules every accepted token meets, from `multiAuth`'s options. */
export interface AcceptanceRules {
  readonly requiredScopes: readonly string[];
  /** Per-source lists and the scope hierarchy: `requiredScopes` as each token is held to it. */
  readonly scopeRules: ScopeRules;
  readonly resourceMetadataUrl: string | undefined;
  readonly dpop: ResolvedDpopOptions | undefined;
  readonly mtls: ResolvedMtlsOptions | undefined;
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
  // For every source, whatever the dpop option: a sender-constrained token is never a bearer token.
  const unbound = bindingProblem(info, possession, bindingPolicyOf(rules));
  if (unbound) {
    decision.reason = unbound;
    return { error: new InvalidTokenError(REJECTED), decision };
  }
  // Told to handlers only for a token the certificate was checked against: any other request's
  // certificate says nothing about the token.
  if (possession.x5tS256 !== undefined && bindingOf(info).x5tS256.length > 0) info.mtls = { x5tS256: possession.x5tS256 };
  const lacking = rules.scopeRules.check(info);
  if (lacking) {
    decision.outcome = 'insufficient_scope';
    decision.status = 403;
    const held = info.effectiveScopes ?? info.scopes;
    decision.reason = explainerOf(rules)(info, lacking, held);
    return { error: new InsufficientScopeError(lacking, LACKS_SCOPE), decision, held };
  }
  decision.outcome = 'accepted';
  decision.status = 200;
  return { info, decision };
}

const NO_BINDING_CHECKS: BindingPolicy = Object.freeze({});
const policies = new WeakMap<AcceptanceRules, BindingPolicy>();

/** `required` of the dpop or mtls option as the binding rule asks it: per source. */
function requirement(required: true | ReadonlySet<string>): { required(source: string): boolean } {
  return { required: (source: string) => required === true || required.has(source) };
}

/** What the binding rule may check and demand under these options, built once per router. */
function bindingPolicyOf(rules: AcceptanceRules): BindingPolicy {
  const { dpop, mtls } = rules;
  if (!dpop && !mtls) return NO_BINDING_CHECKS;
  let policy = policies.get(rules);
  if (!policy) {
    policy = Object.freeze({ ...(dpop ? { dpop: requirement(dpop.required) } : {}), ...(mtls ? { mtls: requirement(mtls.required) } : {}) });
    policies.set(rules, policy);
  }
  return policy;
}

/** One explainer (and its warning rate limit) per router's rules. */
const explainers = new WeakMap<AcceptanceRules, ReturnType<typeof scopeRefusals>>();

function explainerOf(rules: AcceptanceRules): ReturnType<typeof scopeRefusals> {
  let explain = explainers.get(rules);
  if (explain === undefined) explainers.set(rules, (explain = scopeRefusals()));
  return explain;
}
