import type { IncomingMessage } from 'node:http';
import { InsufficientScopeError, InvalidTokenError, TemporarilyUnavailableError } from '../core/errors';
import { notMine } from '../core/types';
import type { InspectedToken, MultiAuthInfo } from '../core/types';
import type { SharedStore } from '../transport/shared-store';
import type { Verdict } from './answer';
import { concludeAccepted, REJECTED, type AcceptanceRules, type Possession } from './conclude';
import type { DecisionReporter } from './decision-report';
import type { Readiness } from './readiness';
import { rejectionId, requestKind, routerRules } from './rejection-key';
import { ResultCache, type CacheOptions } from './result-cache';
import { runChain, type NamedSource } from './source-chain';

const UNAVAILABLE = 'Token verification is temporarily unavailable; retry later';
const SOURCE_LACKS_SCOPE = 'The access token lacks a scope this resource requires';

/** What deciding a token needs from `multiAuth`'s options. */
export interface TokenDecisionOptions extends AcceptanceRules {
  readonly sources: readonly NamedSource[];
  readonly timeoutMs: number;
  readonly maxTokenLength: number;
  readonly cache: false | CacheOptions;
  readonly store: SharedStore | undefined;
}

const isOne = (data: unknown): 1 | undefined => (data === 1 ? 1 : undefined);

/**
 * Decides one token: from the verified-result cache when it knows the token (synchronously),
 * else by the shared store's remembered rejections and the chain of sources. The same for the
 * HTTP path and `auth.verify()`; a request is only passed through to the sources (a wrapped
 * middleware reads it), never read here.
 */
export class TokenDecision {
  private readonly cache: ResultCache | undefined;
  /** Sources that decide on more than the token: keyed by the token, their answers could be served to another request that carries the same token without the rest. */
  private readonly uncacheable: ReadonlySet<string>;
  /**
   * Rejections are shared only where they are remembered at all (the shared store is a second
   * level under the per-process cache, with the same lifetime), and only by a router whose
   * sources can all say what their rules are: `rules` names them in every shared rejection.
   */
  private readonly sharing: { store: SharedStore; cache: ResultCache; rules: string } | undefined;

  constructor(
    private readonly options: TokenDecisionOptions,
    private readonly reporter: DecisionReporter,
    private readonly readiness: Readiness,
  ) {
    this.uncacheable = new Set(options.sources.filter((s) => s.verifier.cacheable === false).map((s) => s.name));
    this.cache = options.cache === false ? undefined : new ResultCache(options.cache);
    const rules = routerRules(options.sources, options.dpop);
    this.sharing = options.store && this.cache?.remembersRejections && rules !== undefined ? { store: options.store, cache: this.cache, rules } : undefined;
  }

  /** An accepted token's verdict under every rule of {@link concludeAccepted}. */
  conclude(info: MultiAuthInfo, verdict: Verdict['decision'], possession: Possession): Verdict {
    return concludeAccepted(this.options, info, verdict, possession);
  }

  /**
   * The verdict the cache holds for a token, synchronously, or `undefined` when the chain must
   * decide. A token over `maxTokenLength` is never cached, so it is not even hashed here.
   */
  fromCache(token: InspectedToken, now: number, possession: Possession): Verdict | undefined {
    const { cache } = this;
    if (!cache || token.raw.length > this.options.maxTokenLength) return undefined;
    // A rejection is served only to the kind of request it was made for: a thief's Bearer use of
    // a bound token, or their proof by another key, never refuses the owner's.
    const cached = cache.get(token, now, requestKind(possession));
    if (cached === undefined) return undefined;
    const decision = this.reporter.newDecision(token);
    decision.cached = true;
    if (cached === 'rejected') {
      decision.reason = 'rejected recently';
      return { error: new InvalidTokenError(REJECTED), decision };
    }
    return this.conclude(cached, decision, possession);
  }

  /** Whether some source would look at the token rather than refuse it on sight. */
  private anyoneAsked(token: InspectedToken): boolean {
    return this.options.sources.some((s) => !s.verifier[notMine]?.(token));
  }

  /** Decides a token the cache does not know, by the chain. `req` is handed to the sources only. */
  async fromChain(token: InspectedToken, req: IncomingMessage | undefined, now: number, possession: Possession): Promise<Verdict> {
    const { options, cache, uncacheable } = this;
    const decision = this.reporter.newDecision(token);
    if (token.raw.length > options.maxTokenLength) {
      decision.reason = `token longer than ${options.maxTokenLength} characters`;
      return { error: new InvalidTokenError(REJECTED), decision };
    }
    const note = (text: string): void => {
      (decision.notes ??= []).push(text);
    };
    // A token every source refuses on sight is never remembered, here or in the store, so
    // there is nothing to look up.
    const shared = this.sharing && this.anyoneAsked(token) ? this.sharing : undefined;
    const kind = requestKind(possession);
    if (shared) {
      const hit = await shared.store.get('rejected', rejectionId(shared.rules, kind, token), isOne, note);
      if (hit) {
        shared.cache.setRejected(token, kind, hit.until - Date.now());
        decision.cached = true;
        decision.reason = 'rejected recently (shared store)';
        return { error: new InvalidTokenError(REJECTED), decision };
      }
    }
    // Reasons are read through onDecision, or from the error auth.verify() rejects with.
    const explain = req === undefined || this.reporter.listening;
    // Sources keep `cnf` for the binding rule (concludeAccepted), which every acceptance meets.
    const result = await runChain(options.sources as NamedSource[], token, req, options.timeoutMs, true, explain);
    decision.attempts = result.attempts;
    for (const attempt of result.attempts) if (attempt.permanent) this.readiness.warnMisconfigured(attempt.source, attempt.reason ?? 'unknown cause');
    if (result.outcome !== 'accepted') {
      if (result.outcome === 'failed') {
        decision.outcome = 'failed';
        decision.status = 503;
        return { error: new TemporarilyUnavailableError(UNAVAILABLE), decision };
      }
      if (result.outcome === 'insufficient_scope') {
        // A source that recognised the token said its scope is too small (the MCP SDKs'
        // InsufficientScopeError): a 403 naming the scopes it named, else the ones it is held to
        // (its own requiredScopes, else the router's). Not
        // remembered: it is not a rejection of the token, and another route may need less.
        const source = result.attempts[result.attempts.length - 1].source;
        decision.outcome = 'insufficient_scope';
        decision.status = 403;
        decision.source = source;
        return { error: new InsufficientScopeError(result.scopes ?? options.scopeRules.requiredFor(source), SOURCE_LACKS_SCOPE), decision };
      }
      // Remembered only when some source was asked: a token every source refused on its
      // synchronous "not mine" check costs as little to refuse again, and a flood of such
      // tokens must not push out the rejections worth remembering.
      if (result.asked && !result.attempts.some((a) => uncacheable.has(a.source))) {
        cache?.setRejected(token, kind);
        // Awaited (within the store's time limit) so that a replica asked next already finds it.
        if (shared) await shared.store.set('rejected', rejectionId(shared.rules, kind, token), 1, Date.now() + shared.cache.negativeTtlMs, note);
      }
      return { error: new InvalidTokenError(REJECTED), decision };
    }
    if (!uncacheable.has(result.info.source)) cache?.setAccepted(token, result.info, now, result.toleranceSeconds);
    return this.conclude(result.info, decision, possession);
  }
}
