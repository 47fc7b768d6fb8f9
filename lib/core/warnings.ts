/**
 * Process warnings that explain a configuration mistake, at most once a minute per cause: often
 * enough that an operator sees one soon after the mistake shows, rarely enough that a flood of
 * requests (an attacker's included) cannot flood the logs. A cause is a short key the caller
 * chooses from the configuration (never from the token), so the number of causes stays bounded.
 */

/** Process-warning code of a refusal that points at the configuration rather than at the token. */
export const NEAR_MISS_WARNING = 'MULTIAUTH_NEAR_MISS';
/** Process-warning code of a guard that cannot work where it is mounted or as it is written. */
export const GUARD_WARNING = 'MULTIAUTH_GUARD';

/** How often the same cause is warned about again. */
export const WARNING_INTERVAL_MS = 60_000;

/**
 * One rate limiter per owner (a source, a guard, a router).
 *
 * @example
 * const warnings = new WarningLimiter();
 * warnings.warn('iss:https://login.example.com', () => 'source "jwt": ...; set issuer: "..."', 'MULTIAUTH_NEAR_MISS');
 */
export class WarningLimiter {
  readonly #warnedAt = new Map<string, number>();

  /** Whether `cause` would be warned about now: lets a caller skip working out the message. */
  due(cause: string, now = Date.now()): boolean {
    const last = this.#warnedAt.get(cause);
    return last === undefined || now - last >= WARNING_INTERVAL_MS;
  }

  /** Emits `message()` as a process warning with `code`, unless `cause` was warned about within the minute. */
  warn(cause: string, message: () => string, code: string): boolean {
    const now = Date.now();
    if (!this.due(cause, now)) return false;
    // Forgetting causes whose minute has passed keeps the map as small as the live causes.
    for (const [key, at] of this.#warnedAt) if (now - at >= WARNING_INTERVAL_MS) this.#warnedAt.delete(key);
    this.#warnedAt.set(cause, now);
    process.emitWarning(`express-multiauth: ${message()}`, { code });
    return true;
  }
}
