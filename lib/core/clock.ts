/**
 * The one expiry rule every layer applies (sources, the chain, the result cache), so that no
 * layer refuses what another accepted, or caches such a refusal.
 *
 * A token is expired from the instant `now` reaches `expiresAt + tolerance`, tolerance being that
 * of the source that accepted it (jwtVerifier's `clockTolerance`, 0 for sources without one).
 * That is jose's own rule (`exp <= now - clockTolerance` is expired), read in milliseconds, so a
 * cached acceptance ends exactly when jose would start refusing the token.
 */

/**
 * The tolerance a source declares, in seconds: its `clockToleranceSeconds` when that is a finite
 * non-negative number, else 0.
 *
 * @example
 * toleranceOf({ clockToleranceSeconds: 5 }); // 5
 */
export function toleranceOf(source: { readonly clockToleranceSeconds?: unknown }): number {
  const value = source.clockToleranceSeconds;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

/**
 * The first millisecond at which a token valid until `expiresAt` (seconds since the epoch) counts
 * as expired under `toleranceSeconds`; `Infinity` for a token without an expiry.
 *
 * @example
 * expiredFromMs(1_700_000_000, 5); // 1_700_000_005_000
 */
export function expiredFromMs(expiresAt: number | undefined, toleranceSeconds: number): number {
  return expiresAt === undefined ? Infinity : (expiresAt + toleranceSeconds) * 1000;
}

/**
 * Whether a token valid until `expiresAt` has expired at `nowMs` under `toleranceSeconds`.
 *
 * @example
 * isExpired(1_700_000_000, 5, 1_700_000_004_999); // false
 */
export function isExpired(expiresAt: number | undefined, toleranceSeconds: number, nowMs: number): boolean {
  return nowMs >= expiredFromMs(expiresAt, toleranceSeconds);
}
