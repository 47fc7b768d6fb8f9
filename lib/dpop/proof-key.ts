/**
 * Bounds on the key a DPoP proof carries, checked before the key reaches crypto. The client
 * chooses the key, so without them an attacker chooses the cost of checking its proof: an RSA
 * key with a 3,000-bit public exponent costs a hundred honest checks. What passes here still
 * goes through jose (import, algorithm/key fit, signature); this only refuses more.
 */

/** Curves a proof's key may use, per JWS algorithm (RFC 7518 §3.4, RFC 8037 §3.1). */
const CURVES: Readonly<Record<string, readonly string[]>> = {
  ES256: ['P-256'],
  ES384: ['P-384'],
  ES512: ['P-521'],
  EdDSA: ['Ed25519', 'Ed448'],
  Ed25519: ['Ed25519'],
};

/** Length in base64url characters of one coordinate (`x`, `y`) of a key on each curve. */
const COORDINATE_CHARS: Readonly<Record<string, number>> = { 'P-256': 43, 'P-384': 64, 'P-521': 88, Ed25519: 43, Ed448: 76 };

const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 4096;
/** Longest public exponent, in bytes: 65537 is 3; anything over 32 bits only costs. */
const MAX_RSA_EXPONENT_BYTES = 4;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A minimal unsigned big-endian integer (RFC 7518 §6.3.1: no leading zero octet), or `undefined`. */
function unsignedBytes(value: unknown, maxChars: number): Buffer | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxChars || !BASE64URL.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64url');
  return bytes.length === 0 || bytes[0] === 0 ? undefined : bytes;
}

function rsaProblem(jwk: Record<string, unknown>): string | undefined {
  if (jwk.kty !== 'RSA') return `an RS/PS algorithm needs an RSA key, not kty ${JSON.stringify(jwk.kty)}`;
  const n = unsignedBytes(jwk.n, Math.ceil((MAX_RSA_BITS / 8) * 4 / 3));
  if (!n) return `its RSA modulus is not a minimal integer of at most ${MAX_RSA_BITS} bits`;
  const bits = (n.length - 1) * 8 + (32 - Math.clz32(n[0]));
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) return `its RSA modulus has ${bits} bits; ${MIN_RSA_BITS} to ${MAX_RSA_BITS} are accepted`;
  const e = unsignedBytes(jwk.e, Math.ceil((MAX_RSA_EXPONENT_BYTES * 4) / 3));
  if (!e || e.length > MAX_RSA_EXPONENT_BYTES) return 'its RSA public exponent is not a small integer (e.g. 65537)';
  const exponent = e.readUIntBE(0, e.length);
  if (exponent < 3 || exponent % 2 === 0) return `its RSA public exponent ${exponent} is not an odd number of at least 3`;
  return undefined;
}

function curveProblem(alg: string, jwk: Record<string, unknown>): string | undefined {
  const curves = CURVES[alg];
  const kty = alg.startsWith('ES') ? 'EC' : 'OKP';
  if (jwk.kty !== kty) return `${alg} needs a kty ${kty} key, not ${JSON.stringify(jwk.kty)}`;
  if (typeof jwk.crv !== 'string' || !curves.includes(jwk.crv)) return `${alg} needs a key on ${curves.join(' or ')}, not ${JSON.stringify(jwk.crv)}`;
  const size = COORDINATE_CHARS[jwk.crv];
  const members = kty === 'EC' ? ['x', 'y'] : ['x'];
  for (const member of members) {
    const value = jwk[member];
    if (typeof value !== 'string' || value.length !== size || !BASE64URL.test(value)) return `its "${member}" is not a ${jwk.crv} coordinate`;
  }
  return undefined;
}

/**
 * Why the proof's `jwk` costs more than its algorithm's honest keys could, or `undefined` when it
 * is within bounds. `alg` is one of the DPoP algorithms jose already checked against the
 * allow-list.
 *
 * @example
 * proofKeyProblem('RS256', { kty: 'RSA', n, e: 'AQAB' }); // undefined for a 2048-4096-bit modulus
 */
export function proofKeyProblem(alg: string, jwk: Record<string, unknown>): string | undefined {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return rsaProblem(jwk);
  if (CURVES[alg] !== undefined) return curveProblem(alg, jwk);
  return `no key bounds are known for ${JSON.stringify(alg)}`;
}
