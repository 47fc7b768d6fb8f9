import { challengeScopes, type ScopeHierarchy } from '../core/scopes';
import type { MultiAuthInfo } from '../core/types';
import type { OperationScopes } from '../http/request-auth';

/** Policies one router names in its 403 (see `register`). */
const MAX_POLICIES = 64;

/**
 * The router's scope rules for an accepted token: which list it must carry (a source's own, else
 * the router's) and what it holds under the hierarchy (`check`); and what the `mcpPolicy`s tied
 * to the router require of a parsed body (`operationScopes`), for the router's own 403.
 */
export class ScopeRules {
  private readonly required: readonly string[];
  private readonly bySource: ReadonlyMap<string, readonly string[]>;
  private readonly hierarchy: ScopeHierarchy | undefined;
  /** What the `mcpPolicy`s created with `{ auth }` for this router require of a parsed body. */
  private readonly policies: OperationScopes[] = [];
  private warned = false;
  /** On every challenge context of the router: the policies' scopes for one request. */
  readonly operationScopes: OperationScopes = (body, held) => {
    if (this.policies.length === 0) return [];
    return challengeScopes(...this.policies.map((scopes) => scopes(body, held)));
  };

  constructor(required: readonly string[], bySource: ReadonlyMap<string, readonly string[]>, hierarchy: ScopeHierarchy | undefined) {
    this.required = required;
    this.bySource = bySource;
    this.hierarchy = hierarchy;
  }

  /** Sources with their own list, for the challenge context (`scopesBySource`). */
  get sourceScopes(): ReadonlyMap<string, readonly string[]> {
    return this.bySource;
  }

  /**
   * For `mcpPolicy(rules, { auth })`: called once per policy, at its construction. Policies are
   * made once, at start-up; one made per request would be kept for good and asked on every 403,
   * so past `MAX_POLICIES` further ones are not kept (their own middleware still works) and a
   * process warning says why.
   */
  register(scopes: OperationScopes): void {
    if (this.policies.length >= MAX_POLICIES) {
      if (!this.warned) {
        this.warned = true;
        process.emitWarning(
          `express-multiauth: more than ${MAX_POLICIES} mcpPolicy(rules, { auth }) for one multiAuth; create each policy once, at start-up. ` +
            "Further ones are not named in the router's 403",
          { code: 'MULTIAUTH_TOO_MANY_POLICIES' },
        );
      }
      return;
    }
    this.policies.push(scopes);
  }

  /** The scopes a token accepted by `source` must carry. */
  requiredFor(source: string): readonly string[] {
    return this.bySource.get(source) ?? this.required;
  }

  /**
   * Judges an accepted token: `undefined` when it carries (or implies) every scope its source
   * requires, else the list it was held to, for the 403. With a hierarchy, `info` gets
   * `effectiveScopes`, and `payload.scope` names them too, so express-oauth2-jwt-bearer's guards
   * (which read that claim) judge as this package does; `scopes` stays what the token carries.
   */
  check(info: MultiAuthInfo): readonly string[] | undefined {
    let held: readonly string[] = info.scopes;
    if (this.hierarchy) {
      const effective = this.hierarchy.expand(info.scopes);
      info.effectiveScopes = effective;
      if (effective.length > info.scopes.length) info.payload = { ...info.payload, scope: effective.join(' ') };
      held = effective;
    }
    const required = this.requiredFor(info.source);
    // On every request: no array made when nothing is missing.
    for (const scope of required) if (!held.includes(scope)) return required;
    return undefined;
  }
}
