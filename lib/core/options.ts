import { MultiAuthConfigError } from './errors';

/**
 * Options checking every factory shares, so that a misspelt option stops the server from
 * starting with the same kind of message wherever it is made. JavaScript callers and config
 * files get no compiler to catch `clockTolerence`; an ignored option would silently leave the
 * default in force.
 */

/**
 * Optimal string alignment distance (Levenshtein plus swapping two neighbours), compared
 * case-insensitively: `clockTolerence`, `scopeclaim` and `timeotMs` are each one edit away.
 */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  // Three rows suffice: the transposition looks two rows back.
  let before = new Array<number>(t.length + 1).fill(0);
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const current = new Array<number>(t.length + 1);
    current[0] = i;
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) best = Math.min(best, before[j - 2] + 1);
      current[j] = best;
    }
    before = previous;
    previous = current;
  }
  return previous[t.length];
}

/** Spellings of one idea other conventions use, which edit distance alone would not find. */
function squash(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, '');
}

/**
 * The known name `name` most likely meant, or `undefined` when none is close: the same name in
 * another case or with `_`/`-` (`jwks_uri`), else the nearest within a third of its length, a
 * name that only adds or drops a suffix (`timeout`, `ttl`) counting as one edit away.
 */
export function closestName(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    if (squash(candidate) === squash(name)) return candidate;
    // A unit left off or added (`ttl` for `ttlMs`) is as good a guess as one typo.
    const a = squash(name);
    const b = squash(candidate);
    const prefix = Math.min(a.length, b.length) >= 3 && (a.startsWith(b) || b.startsWith(a));
    const distance = prefix ? 1 : editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * Throws `MultiAuthConfigError` for the first own key of `options` that is not in `known`,
 * naming the closest known one. `where` prefixes nested objects (`'jwks'` gives `jwks.timeotMs`).
 *
 * @example
 * refuseUnknownOptions('jwtVerifier', { issuer, audience, clockTolerence: 30 }, ['issuer', 'audience', 'clockTolerance']);
 * // MultiAuthConfigError: jwtVerifier: unknown option "clockTolerence"; did you mean "clockTolerance"?
 * //   (known: issuer, audience, clockTolerance)
 */
export function refuseUnknownOptions(
  factory: string,
  options: object,
  known: Iterable<string>,
  where?: string,
): void {
  const names = [...known];
  const allowed = new Set(names);
  for (const key of Object.keys(options)) {
    if (allowed.has(key)) continue;
    const path = where === undefined ? key : `${where}.${key}`;
    const guess = closestName(key, names);
    const hint = guess === undefined ? '' : `; did you mean "${where === undefined ? guess : `${where}.${guess}`}"?`;
    throw new MultiAuthConfigError(`${factory}: unknown option "${path}"${hint} (known: ${names.join(', ')})`);
  }
}

/**
 * Throws when a string option (an issuer, an audience, a URL) has whitespace around it. `new URL()`
 * trims it silently, but issuers and audiences are compared with the token's claims exactly, so
 * `'https://login.example.com '` from a config file would refuse every token with no clue why.
 *
 * @example
 * refuseSurroundingWhitespace('jwtVerifier', 'issuer', process.env.ISSUER);
 * // MultiAuthConfigError: jwtVerifier: issuer "https://login.example.com\n" has whitespace around it; ...
 */
export function refuseSurroundingWhitespace(factory: string, option: string, value: unknown): void {
  if (typeof value === 'string' && value !== value.trim()) {
    throw new MultiAuthConfigError(
      `${factory}: ${option} ${JSON.stringify(value)} has whitespace around it; tokens carry issuers and audiences exactly, so it could never match (trim it)`,
    );
  }
}

/**
 * A binding option's `required` (DPoP, mTLS): `true` for every source, or the names of some;
 * `undefined`/`false` for none. A name that is not a source is refused, listing the sources, so
 * a typo cannot leave a source unprotected.
 *
 * @example
 * requiredSources(['ci'], ['primary', 'ci'], 'multiAuth: dpop.'); // Set { 'ci' }
 */
export function requiredSources(required: unknown, sourceNames: readonly string[], prefix: string): true | ReadonlySet<string> {
  if (required === undefined || required === false) return new Set();
  if (required === true) return true;
  if (!Array.isArray(required) || !required.every((n) => typeof n === 'string')) {
    throw new MultiAuthConfigError(`${prefix}required must be true, false or a list of source names`);
  }
  for (const name of required) {
    if (!sourceNames.includes(name)) throw new MultiAuthConfigError(`${prefix}required names "${name}", which is not a source; sources: ${sourceNames.join(', ')}`);
  }
  return new Set(required as string[]);
}
