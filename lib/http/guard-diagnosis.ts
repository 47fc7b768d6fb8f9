import type { IncomingMessage } from 'node:http';
import { unreadScopeClaim, unreadScopeClaimAdvice } from '../core/scope-hint';
import { GUARD_WARNING, NEAR_MISS_WARNING, WarningLimiter } from '../core/warnings';
import { reportUnseen, seenByMultiAuth, type RequestContext } from './request-auth';
import type { MultiAuthInfo } from '../core/types';

/**
 * What a guard says about itself when it cannot work: mounted where no `multiAuth` ran first,
 * naming a source the router does not have, or refusing a token whose scopes sit in a claim the
 * source does not read. Each is a process warning (once a minute per guard and cause) plus words
 * in the decision; the guard's answer never changes. Kept apart from the guards' judgement so
 * the two can change independently.
 */
export class GuardDiagnosis {
  readonly #warnings = new WarningLimiter();
  /** Per router (its request context): the names this guard lists that the router lacks. */
  readonly #unknownByContext = new WeakMap<RequestContext, readonly string[]>();

  constructor(
    readonly rule: string,
    /** What the guard lists: source names (requireSource) or scopes (the scope guards). */
    readonly lists: { sources?: readonly string[]; scopes?: readonly string[] } = {},
  ) {}

  get sources(): readonly string[] {
    return this.lists.sources ?? [];
  }

  /**
   * For a request `multiAuth` authenticated: warns about what cannot be right, and returns the
   * words to add to the reason when the guard refuses (`''` when there is nothing to add).
   * `held`: the token's scopes plus what they imply.
   */
  explain(auth: MultiAuthInfo, held: readonly string[], context: RequestContext, refused: boolean): string {
    const sources = this.unknownSources(context);
    if (!refused) return '';
    const missing = (this.lists.scopes ?? []).filter((scope) => !held.includes(scope));
    return sources + this.unreadScopes(auth, missing);
  }

  /**
   * A request without `req.auth`: when no `multiAuth` has seen it, the guard is mounted before
   * the router (or another auth middleware set `req.auth`), and it will refuse every request.
   * Returns the reason to report, or `undefined` when the request simply carried no token.
   */
  unseen(req: IncomingMessage): string | undefined {
    if (seenByMultiAuth(req)) return undefined;
    const reason =
      `${this.rule} ran on a request no multiAuth has seen, so it answers 401 to every request: mount the multiAuth router before ` +
      `the guard (app.use(auth) first, or app.post(path, auth, ${this.rule}, handler))`;
    this.#warnings.warn('unseen', () => reason, GUARD_WARNING);
    reportUnseen(req, { outcome: 'no_credentials', status: 401, rule: this.rule, reason });
    return reason;
  }

  /**
   * The names this guard lists that the router in front has no source for, warned about once a
   * minute; `''` when it has them all (or does not say which it has).
   */
  unknownSources(context: RequestContext): string {
    if (this.sources.length === 0 || context.sourceNames === undefined) return '';
    let unknown = this.#unknownByContext.get(context);
    if (unknown === undefined) {
      const known = context.sourceNames;
      unknown = this.sources.filter((name) => !known.includes(name));
      this.#unknownByContext.set(context, unknown);
    }
    if (unknown.length === 0) return '';
    const known = context.sourceNames;
    const advice = unknown
      .map((name) => {
        const like = known.find((k) => k.toLowerCase() === name.toLowerCase());
        return `"${name}"${like ? ` (did you mean "${like}"?)` : ''}`;
      })
      .join(', ');
    const reason = `${this.rule} names ${advice}, but the router has no source by that name (its sources: ${known.join(', ')}); use the names in req.auth.source`;
    this.#warnings.warn(`sources ${context.sourceNames.join(' ')}`, () => reason, GUARD_WARNING);
    return `; ${reason}`;
  }

  /** For a scope refusal: the advice when the missing scopes sit in a claim the source does not read, else `''`. */
  unreadScopes(auth: MultiAuthInfo, missing: readonly string[]): string {
    const claim = unreadScopeClaim(auth.payload, auth.scopes, missing);
    if (claim === undefined) return '';
    const advice = unreadScopeClaimAdvice(auth.source, claim, missing);
    this.#warnings.warn(`scopes ${auth.source} ${claim}`, () => advice, NEAR_MISS_WARNING);
    return `; ${advice}`;
  }
}
