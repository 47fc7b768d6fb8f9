// The binding rule (RFC 9449 §7, RFC 8705 §3): one check in the chain, after whichever source
// accepted the token, whatever that source is and whatever the router's `dpop` setting. A source
// reports that a token is sender-constrained; only the request can show the key it is bound to.
import type { MultiAuthInfo } from '../core/types';

/**
 * What a request presented, verified, to show it holds the key a token may be bound to. Each
 * member is set only once its check passed; an absent member means "nothing shown".
 */
export interface BindingEvidence {
  /** RFC 7638 SHA-256 thumbprint of the key of the request's verified DPoP proof (RFC 9449). */
  dpopJkt?: string;
  /** base64url SHA-256 thumbprint of the request's client certificate (RFC 8705 `x5t#S256`). */
  x5tS256?: string;
}

/** What a router can check and what it demands, per source. */
export interface BindingPolicy {
  /** Present when the router accepts DPoP: `required(source)` says whether that source's tokens must be DPoP-bound. */
  dpop?: { required(source: string): boolean };
  /**
   * Present when the router can read client certificates (mTLS): `required(source)` says whether
   * that source's tokens must be certificate-bound. Without it, every certificate-bound token is
   * refused, since no request could show the certificate.
   */
  mtls?: { required(source: string): boolean };
}

/** What a token is bound to, gathered from everything its source reported. */
export interface TokenBinding {
  /** Every `cnf.jkt` reported (a token bound twice must satisfy both). */
  jkt: string[];
  /** Every `cnf["x5t#S256"]` reported. */
  x5tS256: string[];
  /** Confirmation members this package cannot check, or a `cnf` that is not an object. */
  unknown: string[];
  /** The source said the token is sender-constrained (`cnf`, or introspection `token_type: DPoP`). */
  bound: boolean;
  /** An introspection answer's `token_type` is `DPoP`: a DPoP-bound token, whether or not it names the key. */
  dpopType: boolean;
}

type Reported = Partial<Pick<MultiAuthInfo, 'payload'>> & Pick<MultiAuthInfo, 'extra'>;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Reads one `cnf` into `into`; anything but a string member it knows is "unknown", never ignored. */
function readCnf(cnf: unknown, into: TokenBinding): void {
  into.bound = true;
  if (!isObject(cnf)) {
    into.unknown.push(`cnf (${Array.isArray(cnf) ? 'an array' : cnf === null ? 'null' : typeof cnf})`);
    return;
  }
  const members = Object.keys(cnf);
  if (members.length === 0) into.unknown.push('cnf (empty)');
  for (const member of members) {
    const value = cnf[member];
    if (member === 'jkt' && typeof value === 'string' && value !== '') into.jkt.push(value);
    else if (member === 'x5t#S256' && typeof value === 'string' && value !== '') into.x5tS256.push(value);
    else into.unknown.push(`cnf.${member.slice(0, 32)}`);
  }
}

/**
 * What an accepted token is bound to, read from where sources report it: `payload.cnf` (a JWT
 * claim, an introspection answer's member, a wrapped middleware's `req.auth.payload`),
 * `extra.cnf` (a custom verifier's), and an introspection answer's `token_type: "DPoP"` (the
 * authorization server says the token is DPoP-bound even when it names no key).
 *
 * @example
 * bindingOf({ payload: { cnf: { jkt: 'abc' } }, extra: { source: 'jwt' } });
 * // -> { jkt: ['abc'], x5tS256: [], unknown: [], bound: true, dpopType: false }
 */
export function bindingOf(info: Reported): TokenBinding {
  const binding: TokenBinding = { jkt: [], x5tS256: [], unknown: [], bound: false, dpopType: false };
  const payload = isObject(info.payload) ? info.payload : undefined;
  const extra = isObject(info.extra) ? info.extra : undefined;
  if (payload && payload.cnf !== undefined) readCnf(payload.cnf, binding);
  if (extra && extra.cnf !== undefined) readCnf(extra.cnf, binding);
  const tokenType = payload?.token_type;
  if (typeof tokenType === 'string' && tokenType.toLowerCase() === 'dpop') binding.bound = binding.dpopType = true;
  return binding;
}

/**
 * Why an accepted token may not be used with the evidence this request showed, or `undefined`
 * when it may. A bound token is never a bearer token: each key it is bound to needs its proof
 * (a token bound to a DPoP key and a certificate needs both), and a binding this router cannot
 * check refuses it. An unbound token has no business with a DPoP proof, and a source whose
 * tokens must be bound accepts no other.
 *
 * @example
 * bindingProblem({ payload: { cnf: { jkt: 'abc' } }, extra: { source: 'jwt' }, source: 'jwt' }, {}, { dpop: { required: () => false } });
 * // -> 'the token is DPoP-bound (cnf.jkt); it is not accepted as a Bearer token'
 */
export function bindingProblem(
  info: Reported & Pick<MultiAuthInfo, 'source'>,
  evidence: BindingEvidence,
  policy: BindingPolicy,
): string | undefined {
  // Most tokens are unbound: answered without building a TokenBinding.
  const payload = isObject(info.payload) ? info.payload : undefined;
  const extra = isObject(info.extra) ? info.extra : undefined;
  if (payload?.cnf === undefined && extra?.cnf === undefined && typeof payload?.token_type !== 'string') {
    return unboundProblem(info.source, evidence, policy);
  }
  const binding = bindingOf(info);
  if (binding.unknown.length > 0) {
    return `the token is sender-constrained by a method this resource cannot check (${binding.unknown.slice(0, 3).join(', ')})`;
  }
  if (binding.x5tS256.length > 0) {
    if (!policy.mtls) return 'the token is certificate-bound (cnf["x5t#S256"]); this resource does not accept mTLS-bound tokens';
    if (evidence.x5tS256 === undefined) return 'the token is certificate-bound (cnf["x5t#S256"]); the request showed no client certificate';
    if (binding.x5tS256.some((t) => t !== evidence.x5tS256)) {
      return 'the client certificate is not the one the token is bound to (cnf["x5t#S256"])';
    }
  }
  if (binding.dpopType && binding.jkt.length === 0) {
    // Whatever proof comes, nothing says its key is the owner's.
    return 'the authorization server says the token is DPoP-bound (token_type DPoP) but names no key (cnf.jkt)';
  }
  if (binding.jkt.length > 0) {
    if (!policy.dpop) return 'the token is DPoP-bound (cnf.jkt); this resource does not accept DPoP';
    if (evidence.dpopJkt === undefined) return 'the token is DPoP-bound (cnf.jkt); it is not accepted as a Bearer token';
    if (binding.jkt.some((t) => t !== evidence.dpopJkt)) return 'the DPoP proof\'s key is not the key the token is bound to (cnf.jkt)';
  } else {
    if (evidence.dpopJkt !== undefined) return 'the token is not DPoP-bound (no cnf.jkt), yet came with the DPoP scheme';
    if (policy.dpop?.required(info.source)) return `source "${info.source}" accepts DPoP-bound tokens only`;
  }
  if (binding.x5tS256.length === 0 && policy.mtls?.required(info.source)) return `source "${info.source}" accepts certificate-bound tokens only`;
  return undefined;
}

/** What a token not bound to a DPoP key may not do: come with a DPoP proof, or come from a source that requires binding. */
function unboundProblem(source: string, evidence: BindingEvidence, policy: BindingPolicy): string | undefined {
  if (evidence.dpopJkt !== undefined) return 'the token is not DPoP-bound (no cnf.jkt), yet came with the DPoP scheme';
  if (policy.dpop?.required(source)) return `source "${source}" accepts DPoP-bound tokens only`;
  if (policy.mtls?.required(source)) return `source "${source}" accepts certificate-bound tokens only`;
  return undefined;
}
