import { shown } from '../core/redaction';
import { NEAR_MISS_WARNING, WarningLimiter } from '../core/warnings';
import type { InspectedToken } from '../core/types';

/**
 * Near misses: a JWT refused for a reason that points at the configuration rather than at the
 * token. Its `iss` is a configured issuer but for a trailing slash, letter case or scheme; its
 * `aud` is a configured audience but for a trailing slash, case or a typo; its `alg` is one the
 * source's key could verify but `algorithms` leaves out. Each is a 401 the operator can fix in
 * one line, and without this it shows as nothing at all.
 *
 * Only diagnoses: the refusal stands (the token may as well be an attacker's guess, and exact
 * matching is what RFC 8414 §3.3 and RFC 9068 ask). The diagnosis reads the token's unverified
 * claims, so a warning says "a token whose iss is...", quotes only `iss`, `aud` and `alg`, and
 * comes at most once a minute per configured value, whatever the tokens say.
 */

export { NEAR_MISS_WARNING };

/** Claims longer than this are no one's spelling of a configured value; not worth comparing. */
const MAX_COMPARED_LENGTH = 2048;
/** How many of a token's audiences are compared. */
const MAX_COMPARED_AUDIENCES = 16;
/** Edits that still count as a typo, for audiences at least {@link MIN_TYPO_LENGTH} long. */
const MAX_TYPO_EDITS = 2;
const MIN_TYPO_LENGTH = 8;

/** What a JWT source tells the diagnosis about itself. */
export interface JwtNearMissConfig {
  issuers: readonly string[];
  audiences: readonly string[];
  algorithms: readonly string[];
  /**
   * The algorithms the keys known for `issuer` could verify for a token naming `kid` (configured
   * keys, or the key set fetched earlier), or `undefined` when none is known. A promise when the
   * key set was never fetched: it is loaded as an unknown `kid` would load it, within jose's
   * cooldown, so the first refused token can already be explained.
   */
  keyAlgorithms(issuer: string, kid: unknown): ReadonlySet<string> | undefined | Promise<ReadonlySet<string> | undefined>;
}

/** An issuer or audience as people misspell it: without scheme and trailing slashes, in lower case. */
function looseForm(value: string): string {
  return value.toLowerCase().replace(/^[a-z][a-z0-9+.-]*:\/\//, '').replace(/\/+$/, '');
}

/** Whether `a` becomes `b` in at most `max` single-character edits (Levenshtein, banded). */
export function withinEdits(a: string, b: string, max: number): boolean {
  if (Math.abs(a.length - b.length) > max) return false;
  const width = b.length + 1;
  let previous = Array.from({ length: width }, (_v, j) => j);
  let current = new Array<number>(width);
  for (let i = 1; i <= a.length; i++) {
    current.fill(max + 1);
    current[0] = i;
    let best = i;
    for (let j = Math.max(1, i - max); j <= Math.min(b.length, i + max); j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(substitution, previous[j] + 1, current[j - 1] + 1);
      if (current[j] < best) best = current[j];
    }
    if (best > max) return false;
    [previous, current] = [current, previous];
  }
  return previous[b.length] <= max;
}

function differences(said: string, configured: string): string {
  const kinds: string[] = [];
  const unslashed = (value: string) => value.replace(/\/+$/, '');
  const scheme = (value: string) => /^[a-z][a-z0-9+.-]*:\/\//i.exec(value)?.[0].toLowerCase() ?? '';
  if ((unslashed(said) !== said) !== (unslashed(configured) !== configured)) kinds.push('a trailing slash');
  if (scheme(said) !== scheme(configured)) kinds.push('scheme');
  const rest = (value: string) => unslashed(value).slice(scheme(value).length);
  if (rest(said) !== rest(configured) && rest(said).toLowerCase() === rest(configured).toLowerCase()) kinds.push('letter case');
  if (kinds.length === 0 || looseForm(said) !== looseForm(configured)) kinds.push('a typo');
  return kinds.join(' and ');
}

/**
 * The near-miss diagnosis of one JWT source: call it with a token the chain refused and the
 * source's name; it warns (`MULTIAUTH_NEAR_MISS`) when the refusal looks like a configuration
 * mistake, and does nothing otherwise.
 *
 * @example
 * const diagnose = jwtNearMisses({ issuers: ['https://login.example.com/'], audiences: ['api'], algorithms: ['RS256'], keyAlgorithms: () => undefined });
 * diagnose(inspectToken(token), 'internal'); // warns: ... set issuer: "https://login.example.com"
 */
export function jwtNearMisses(config: JwtNearMissConfig): (token: InspectedToken, source: string) => void {
  const warnings = new WarningLimiter();
  const issuerSet = new Set(config.issuers);
  const audienceSet = new Set(config.audiences);
  const issuerByForm = new Map(config.issuers.map((issuer) => [looseForm(issuer), issuer]));
  const allowed = new Set(config.algorithms);

  const nearIssuer = (iss: string): string | undefined => issuerByForm.get(looseForm(iss));
  const nearAudience = (aud: string): string | undefined => {
    const form = looseForm(aud);
    for (const audience of config.audiences) {
      if (looseForm(audience) === form) return audience;
      if (audience.length >= MIN_TYPO_LENGTH && withinEdits(aud, audience, MAX_TYPO_EDITS)) return audience;
    }
    return undefined;
  };

  return (token, source) => {
    const jwt = token.jwt;
    if (!jwt) return;
    const { iss, aud } = jwt.payload;
    if (typeof iss !== 'string' || iss.length > MAX_COMPARED_LENGTH) return;
    if (!issuerSet.has(iss)) {
      const configured = nearIssuer(iss);
      if (configured === undefined) return;
      warnings.warn(
        `iss ${configured}`,
        () =>
          `source "${source}" refused a token whose "iss" is ${shown(iss)}; the source is configured with issuer ${shown(configured)}, ` +
          `which differs only in ${differences(iss, configured)}, and issuers must match exactly (RFC 8414 §3.3, RFC 9068). ` +
          `If that token's issuer is the one you trust, set issuer: ${shown(iss)} (the spelling in its tokens and metadata)`,
        NEAR_MISS_WARNING,
      );
      return;
    }
    const audiences = (typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.slice(0, MAX_COMPARED_AUDIENCES) : []).filter(
      (value): value is string => typeof value === 'string' && value.length <= MAX_COMPARED_LENGTH,
    );
    if (!audiences.some((value) => audienceSet.has(value))) {
      for (const said of audiences) {
        const configured = nearAudience(said);
        if (configured === undefined) continue;
        warnings.warn(
          `aud ${configured}`,
          () =>
            `source "${source}" refused a token whose "aud" is ${shown(said)}; the source is configured with audience ${shown(configured)}, ` +
            `which differs only in ${differences(said, configured)}, and audiences must match exactly. ` +
            `If this API is the audience that token names, set audience: ${shown(said)}`,
          NEAR_MISS_WARNING,
        );
        return;
      }
      return;
    }
    const alg = jwt.header.alg;
    if (typeof alg !== 'string' || allowed.has(alg)) return;
    const cause = `alg ${alg}`;
    // Looking at keys costs more than comparing strings: only when a warning would be emitted.
    if (!warnings.due(cause)) return;
    const kid = typeof jwt.header.kid === 'string' ? ` (kid ${shown(jwt.header.kid, 60)})` : '';
    const warnIfVerifiable = (verifiable: ReadonlySet<string> | undefined): void => {
      if (!verifiable?.has(alg)) return;
      warnings.warn(
        cause,
        () =>
          `source "${source}" refused a token whose "alg" is ${shown(alg)}: its issuer's key${kid} can verify ${alg}, ` +
          `but the source is configured with algorithms ${JSON.stringify(config.algorithms)}. ` +
          `If the issuer signs with ${alg}, add ${shown(alg)} to algorithms (or leave algorithms out to allow what the keys support)`,
        NEAR_MISS_WARNING,
      );
    };
    const known = config.keyAlgorithms(iss, jwt.header.kid);
    if (known instanceof Promise) known.then(warnIfVerifiable, () => undefined);
    else warnIfVerifiable(known);
  };
}
