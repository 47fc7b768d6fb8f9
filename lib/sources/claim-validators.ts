// Custom claim checks (`validators`) of jwtVerifier and introspectionVerifier: run after the
// token was verified, they can only refuse more. Nothing here can turn a check off.

import { MultiAuthConfigError, InvalidTokenError } from '../core/errors';
import { shown } from '../core/redaction';

/**
 * One custom check of a claim: a function of the claim's value (and of all claims and the JWS
 * header), or the value the claim must equal (`===`). A function answering anything but `true`
 * refuses the token.
 */
export type ClaimValidator =
  | ((value: unknown, claims: Readonly<Record<string, unknown>>, header: Readonly<Record<string, unknown>>) => boolean | Promise<boolean>)
  | string
  | number
  | true;

/** `validators` option: claim name -> check. `alg` and `typ` are read from the JWS header. */
export type ClaimValidators = Readonly<Record<string, ClaimValidator | undefined>>;

/** Header parameters express-oauth2-jwt-bearer's validators read from the header, not the claims. */
const HEADER_NAMES = new Set(['alg', 'typ']);

/** A check ready to run: the claim it names, and how. */
export type CompiledValidators = ReadonlyArray<readonly [claim: string, check: Exclude<ClaimValidator, undefined>]>;

/**
 * Checks `validators` at construction. `false` is refused: express-oauth2-jwt-bearer reads it as
 * "turn this check off", and here no check can be turned off. `undefined` entries are skipped.
 *
 * @example
 * compileValidators('jwtVerifier', { org_id: 'org_123', email_verified: (v) => v === true });
 */
export function compileValidators(factory: string, validators: unknown): CompiledValidators {
  if (validators === undefined) return [];
  if (validators === null || typeof validators !== 'object' || Array.isArray(validators)) {
    throw new MultiAuthConfigError(`${factory}: validators must be an object { claim: check }, e.g. { org_id: 'org_123' }`);
  }
  const compiled: Array<readonly [string, Exclude<ClaimValidator, undefined>]> = [];
  for (const [claim, check] of Object.entries(validators as Record<string, unknown>)) {
    if (check === undefined) continue;
    if (check === false) {
      throw new MultiAuthConfigError(
        `${factory}: validators.${claim} is false; validators only add checks and cannot turn one off (express-oauth2-jwt-bearer's ` +
          '`false` has no counterpart): remove the entry, the built-in check stays',
      );
    }
    if (typeof check !== 'function' && typeof check !== 'string' && !(typeof check === 'number' && Number.isFinite(check)) && check !== true) {
      throw new MultiAuthConfigError(`${factory}: validators.${claim} must be a function (value, claims, header) => boolean or the value the claim must equal`);
    }
    compiled.push([claim, check as Exclude<ClaimValidator, undefined>]);
  }
  return Object.freeze(compiled);
}

/**
 * Runs every check, in order, on verified claims; throws `InvalidTokenError` naming the claim
 * of the first that refuses. A validator that throws is the application's bug: its error is
 * rethrown with the claim named, and the chain reports it as `errored` (401 all the same).
 */
export async function runValidators(
  validators: CompiledValidators,
  claims: Readonly<Record<string, unknown>>,
  header: Readonly<Record<string, unknown>>,
  what: string,
): Promise<void> {
  for (const [claim, check] of validators) {
    const value = HEADER_NAMES.has(claim) ? header[claim] : claims[claim];
    let ok: unknown;
    if (typeof check === 'function') {
      try {
        ok = await check(value, claims, header);
      } catch (error) {
        throw new Error(`the validator of "${claim}" threw: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    } else {
      ok = value === check;
    }
    if (ok !== true) {
      throw new InvalidTokenError(`${what} "${claim}" refused by its validator (it is ${shown(value)})`);
    }
  }
}
