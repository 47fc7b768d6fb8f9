import type { MultiAuthInfo } from '../core/types';

/**
 * Why an accepted token may not be used the way it was presented, or `undefined` when it may
 * (RFC 9449 §7): a token bound to a key (`cnf.jkt`, from a JWT claim or an introspection
 * answer, both in `payload`) needs a proof by that key; an unbound token has no business with
 * the DPoP scheme; a source listed in `required` accepts bound tokens only.
 *
 * `proofJkt` is the thumbprint of the request's verified proof key, `undefined` for a Bearer
 * request.
 */
export function bindingProblem(
  info: Pick<MultiAuthInfo, 'payload' | 'source'>,
  proofJkt: string | undefined,
  required: true | ReadonlySet<string>,
): string | undefined {
  const cnf = info.payload?.cnf;
  if (cnf === undefined) {
    if (proofJkt !== undefined) return 'the token is not DPoP-bound (no cnf.jkt), yet came with the DPoP scheme';
    if (required === true || required.has(info.source)) return `source "${info.source}" accepts DPoP-bound tokens only`;
    return undefined;
  }
  // Only a bare `{ jkt }` can be checked here: another confirmation method (RFC 8705 mTLS
  // `x5t#S256`), alone or beside jkt, would go unchecked.
  const jkt = cnf !== null && typeof cnf === 'object' ? (cnf as Record<string, unknown>).jkt : undefined;
  if (typeof jkt !== 'string' || Object.keys(cnf as object).length !== 1) {
    return 'the token is sender-constrained ("cnf") by a method this resource cannot check';
  }
  if (proofJkt === undefined) return 'the token is DPoP-bound (cnf.jkt); it is not accepted as a Bearer token';
  if (jkt !== proofJkt) return 'the DPoP proof\'s key is not the key the token is bound to (cnf.jkt)';
  return undefined;
}
