/**
 * One token, one identity. An ECDSA signature (r, s) also verifies as (r, n - s), so an
 * ES256/384/512 token has two valid spellings. Caches, shared rejections and `tokenId` key on the
 * low-s spelling, so a re-spelled token is not a "new" token. (Loose base64url spellings, which
 * jwtVerifier refuses, keep their own identity.) Acceptance never rests on this: jose verifies
 * whatever spelling was presented.
 */
import { isUtf8 } from 'node:buffer';

interface Curve {
  alg: string;
  /** Bytes of each of r and s. */
  half: number;
  order: bigint;
  /** floor(order / 2) as `half` big-endian bytes: s above it is the high spelling. */
  halfOrder: Buffer;
}

function curve(alg: string, half: number, order: bigint): Curve {
  return { alg, half, order, halfOrder: Buffer.from((order >> 1n).toString(16).padStart(half * 2, '0'), 'hex') };
}

/** By the length of the base64url signature (RFC 7518 §3.4: r and s as fixed-size octets). */
const CURVES_BY_SIGNATURE_CHARS = new Map<number, Curve>([
  [86, curve('ES256', 32, 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n)],
  [128, curve('ES384', 48, 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n)],
  [
    176,
    curve('ES512', 66, 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n),
  ],
]);

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const ALG_OF_HEADER_MAX = 256;
/**
 * The `alg` of each protected header seen (an issuer signs every token with one of a few
 * headers), so the honest path decodes no JSON; cleared when full, so it stays bounded.
 */
const algOfHeader = new Map<string, string | undefined>();

function headerAlg(segment: string): string | undefined {
  if (algOfHeader.has(segment)) return algOfHeader.get(segment);
  let alg: string | undefined;
  if (segment.length <= 4096 && SEGMENT.test(segment)) {
    const bytes = Buffer.from(segment, 'base64url');
    if (isUtf8(bytes)) {
      try {
        const header: unknown = JSON.parse(bytes.toString('utf8'));
        const value = header !== null && typeof header === 'object' ? (header as Record<string, unknown>).alg : undefined;
        alg = typeof value === 'string' ? value : undefined;
      } catch {
        alg = undefined;
      }
    }
  }
  if (algOfHeader.size >= ALG_OF_HEADER_MAX) algOfHeader.clear();
  algOfHeader.set(segment, alg);
  return alg;
}

/**
 * The low-s spelling of `token` when it is an ECDSA-signed compact JWS in canonical base64url
 * whose s is above n/2, else `undefined` (already low s, loosely spelled, or not ECDSA).
 *
 * @example
 * canonicalSpelling(respelled) === original; // where respelled swaps s for n - s
 */
export function canonicalSpelling(token: string): string | undefined {
  const dot = token.lastIndexOf('.');
  if (dot < 0) return undefined;
  const curve = CURVES_BY_SIGNATURE_CHARS.get(token.length - dot - 1);
  if (curve === undefined) return undefined;
  const first = token.indexOf('.');
  if (first === dot || headerAlg(token.slice(0, first)) !== curve.alg) return undefined;
  const spelled = token.slice(dot + 1);
  if (!SEGMENT.test(spelled)) return undefined;
  const signature = Buffer.from(spelled, 'base64url');
  if (signature.length !== curve.half * 2) return undefined;
  // A loose base64url spelling keeps its own identity: jwtVerifier refuses it, and that refusal
  // must not be filed under the token's real identity (it would lock the owner out).
  if (signature.toString('base64url') !== spelled) return undefined;
  const s = signature.subarray(curve.half);
  if (Buffer.compare(s, curve.halfOrder) > 0) {
    const value = BigInt(`0x${s.toString('hex')}`);
    // s >= n is no signature at all; jose refuses it, and it keeps its own identity.
    if (value >= curve.order) return undefined;
    s.set(Buffer.from((curve.order - value).toString(16).padStart(curve.half * 2, '0'), 'hex'));
  }
  const canonical = signature.toString('base64url');
  return canonical === spelled ? undefined : `${token.slice(0, dot + 1)}${canonical}`;
}
