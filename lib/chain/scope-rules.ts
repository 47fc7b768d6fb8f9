import type { IncomingMessage } from 'node:http';
import { challengeScopes, missingScopes, type ScopeHierarchy } from '../core/scopes';
import type { MultiAuthInfo } from '../core/types';
import type { OperationScopes, RequestContext } from '../http/request-auth';
import type { ResolvedConfig } from './config';

/**
 * The router's scope rules for an accepted token: which list it must carry (a source's own, else
 * the router's), what it holds under the hierarchy, and the challenge context guards and
 * `mcpPolicy` find on the request (its `scopes` are the list this token was held to, so their
 * 403s name it). The decision of the router itself is `check`; the rest is wiring.
 */
export class ScopeRules {
  private readonly required: readonly string[];
  private readonly bySource: ReadonlyMap<string, readonly string[]>;
  private readonly hierarchy: ScopeHierarchy | undefined;
  /** What the `mcpPolicy`s created with `{ auth }` for this router require of a parsed body. */
  private readonly policies: OperationScopes[] = [];
  private readonly contexts = new WeakMap<RequestContext, Map<string, RequestContext>>();
  /** On every challenge context of the router: the policies' scopes for one request. */
  readonly operationScopes: OperationScopes = (req, held) => {
    if (this.policies.length === 0) return [];
    return challengeScopes(...this.policies.map((scopes) => scopes(req, held)));
  };

  constructor(config: Pick<ResolvedConfig, 'requiredScopes' | 'sourceScopes' | 'scopeHierarchy'>) {
    this.required = config.requiredScopes;
    this.bySource = config.sourceScopes;
    this.hierarchy = config.scopeHierarchy;
  }

  /** For `mcpPolicy(rules, { auth })`: called once per policy, at its construction. */
  register(scopes: OperationScopes): void {
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
    return missingScopes(held, required).length > 0 ? required : undefined;
  }

  /**
   * The router's 403 for a token lacking `required`: those scopes plus what the policies tied to
   * the router require of the request's parsed body, in one challenge.
   */
  challenge(req: IncomingMessage | undefined, info: MultiAuthInfo, required: readonly string[]): readonly string[] {
    if (req === undefined || this.policies.length === 0) return required;
    return challengeScopes(required, this.operationScopes(req, info.effectiveScopes ?? info.scopes));
  }

  /**
   * The challenge context for requests whose token `source` accepted: `base` with that source's
   * list as `scopes` when it has one of its own. Made once per source.
   */
  contextFor(base: RequestContext, source: string): RequestContext {
    const own = this.bySource.get(source);
    if (own === undefined) return base;
    let bySource = this.contexts.get(base);
    if (!bySource) this.contexts.set(base, (bySource = new Map()));
    let context = bySource.get(source);
    if (!context) bySource.set(source, (context = Object.freeze({ ...base, scopes: own })));
    return context;
  }
}
