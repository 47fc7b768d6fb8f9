import { constants, createHmac, KeyObject, timingSafeEqual, verify } from 'node:crypto';
import type { VerifyKeyObjectInput } from 'node:crypto';
import { isBase64urlSegment } from '../core/token-inspection';

/**
 * Checking a compact JWS's signature (RFC 7515) with `node:crypto`, against a key jose chose.
 *
 * jose 6 checks signatures with WebCrypto, whose argument normalisation costs about as much CPU
 * as the RSA check itself on Node 20. Key handling (JWKS fetching, `kid`/`alg` selection, JWK
 * import) stays jose's; only the final check is done here, with the key jose imported for the
 * token's `alg`, and only after that key is confirmed to be a verification key of exactly that
 * algorithm (so no token can choose how its signature is checked).
 */

/** What one JWS `alg` (RFC 7518 §3, RFC 8037, RFC 9864) asks of the key and of node:crypto. */
interface AlgorithmSpec {
  /** The WebCrypto algorithm jose imports this alg's keys as. */
  readonly keyAlgorithm: 'HMAC' | 'RSASSA-PKCS1-v1_5' | 'RSA-PSS' | 'ECDSA' | 'Ed25519';
  /** The digest: node:crypto's name, and the key's WebCrypto hash. `null` for EdDSA. */
  readonly digest: 'sha256' | 'sha384' | 'sha512' | null;
  readonly keyHash?: 'SHA-256' | 'SHA-384' | 'SHA-512';
  /** ECDSA: the key's curve, and the length of the raw `r || s` signature. */
  readonly curve?: 'P-256' | 'P-384' | 'P-521';
  readonly signatureBytes?: number;
}

const hmac = (bits: 256 | 384 | 512): AlgorithmSpec => ({ keyAlgorithm: 'HMAC', digest: `sha${bits}`, keyHash: `SHA-${bits}` });
const rsa = (bits: 256 | 384 | 512, pss: boolean): AlgorithmSpec => ({
  keyAlgorithm: pss ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5',
  digest: `sha${bits}`,
  keyHash: `SHA-${bits}`,
});
const ecdsa = (bits: 256 | 384 | 512, curve: 'P-256' | 'P-384' | 'P-521', signatureBytes: number): AlgorithmSpec => ({
  keyAlgorithm: 'ECDSA',
  digest: `sha${bits}`,
  curve,
  signatureBytes,
});

const SPECS: ReadonlyMap<string, AlgorithmSpec> = new Map([
  ['HS256', hmac(256)],
  ['HS384', hmac(384)],
  ['HS512', hmac(512)],
  ['RS256', rsa(256, false)],
  ['RS384', rsa(384, false)],
  ['RS512', rsa(512, false)],
  ['PS256', rsa(256, true)],
  ['PS384', rsa(384, true)],
  ['PS512', rsa(512, true)],
  ['ES256', ecdsa(256, 'P-256', 64)],
  ['ES384', ecdsa(384, 'P-384', 96)],
  ['ES512', ecdsa(512, 'P-521', 132)],
  ['EdDSA', { keyAlgorithm: 'Ed25519', digest: null }],
  ['Ed25519', { keyAlgorithm: 'Ed25519', digest: null }],
]);

/** RFC 7518 §3.3 and §3.5. */
const MIN_RSA_BITS = 2048;

/** The key cannot check this algorithm: a fact about the token (its `alg`), not an outage. */
export class JwsKeyMismatch extends TypeError {
  override readonly name = 'JwsKeyMismatch';
}

/** The members of a CryptoKey's `algorithm` that say what it can verify. */
interface KeyAlgorithm {
  name: string;
  hash?: { name?: string };
  namedCurve?: string;
  modulusLength?: number;
}

/**
 * A WebCrypto key by its shape: `instanceof` fails across realms (Jest's VM contexts, for one).
 * `KeyObject.from` below refuses anything that only looks like one.
 */
function isCryptoKey(key: unknown): key is CryptoKey {
  const candidate = key as CryptoKey | null;
  return (
    typeof candidate === 'object' && candidate !== null && typeof candidate.type === 'string' &&
    Array.isArray(candidate.usages) && typeof candidate.algorithm === 'object' && candidate.algorithm !== null
  );
}

/** Why `key` cannot verify `alg`, or `undefined` when it can. */
function mismatch(key: CryptoKey, spec: AlgorithmSpec, alg: string): string | undefined {
  const algorithm = key.algorithm as KeyAlgorithm;
  if (key.type !== (spec.keyAlgorithm === 'HMAC' ? 'secret' : 'public')) return `a ${key.type} key cannot verify ${alg}`;
  if (!key.usages.includes('verify')) return 'the key is not for verification';
  if (algorithm.name !== spec.keyAlgorithm) return `a ${algorithm.name} key cannot verify ${alg}`;
  if (spec.keyHash !== undefined && algorithm.hash?.name !== spec.keyHash) return `a ${algorithm.hash?.name} key cannot verify ${alg}`;
  if (spec.curve !== undefined && algorithm.namedCurve !== spec.curve) return `a ${algorithm.namedCurve} key cannot verify ${alg}`;
  if (algorithm.modulusLength !== undefined && algorithm.modulusLength < MIN_RSA_BITS) {
    return `${alg} requires an RSA key of at least ${MIN_RSA_BITS} bits`;
  }
  return undefined;
}

/** The node:crypto form of each CryptoKey, made once: jose hands out the same key object per `kid` and `alg`. */
const prepared = new WeakMap<CryptoKey, KeyObject | VerifyKeyObjectInput>();

function nodeKey(key: CryptoKey, spec: AlgorithmSpec): KeyObject | VerifyKeyObjectInput {
  let input = prepared.get(key);
  if (input === undefined) {
    const keyObject = KeyObject.from(key);
    if (spec.keyAlgorithm === 'RSA-PSS') {
      // RFC 7518 §3.5: the salt is as long as the hash; any other length is refused.
      input = { key: keyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
    } else if (spec.keyAlgorithm === 'ECDSA') {
      // RFC 7518 §3.4: JWS carries ECDSA signatures as raw r || s, not DER.
      input = { key: keyObject, dsaEncoding: 'ieee-p1363' };
    } else {
      input = keyObject;
    }
    prepared.set(key, input);
  }
  return input;
}

/** The signature segment's bytes, or `undefined` unless it is canonical unpadded base64url. */
function signatureBytes(segment: string): Buffer | undefined {
  if (!isBase64urlSegment(segment) || segment.length % 4 === 1) return undefined;
  const bytes = Buffer.from(segment, 'base64url');
  // Refuses other spellings of the same bytes (non-zero padding bits): one signature, one token.
  return bytes.toString('base64url') === segment ? bytes : undefined;
}

/**
 * Whether `token`, a compact JWS (`header.payload.signature`), carries a valid `alg` signature
 * by `key`. Resolves `false` for a signature that does not verify or is malformed; throws
 * `JwsKeyMismatch` when `key` is not a verification key for `alg` (a different algorithm, hash
 * or curve, an RSA key under 2048 bits, a private key), and for an `alg` this module does not
 * know. `none` is not an algorithm here.
 */
export function verifyJwsSignature(token: string, alg: string, key: CryptoKey): Promise<boolean> {
  if (!isCryptoKey(key)) return Promise.reject(new JwsKeyMismatch('the key is not a CryptoKey'));
  const spec = SPECS.get(alg);
  if (spec === undefined) return Promise.reject(new JwsKeyMismatch(`unsupported JWS algorithm ${JSON.stringify(alg)}`));
  const problem = mismatch(key, spec, alg);
  if (problem !== undefined) return Promise.reject(new JwsKeyMismatch(problem));
  const signed = token.lastIndexOf('.');
  const signature = signatureBytes(token.slice(signed + 1));
  if (signed <= 0 || signature === undefined) return Promise.resolve(false);
  // `header.payload`, both base64url: the only signing input a compact JWS has (RFC 7515 §7.1).
  const signingInput = token.slice(0, signed);
  const dot = signingInput.indexOf('.');
  if (dot < 0 || !isBase64urlSegment(signingInput.slice(0, dot)) || !isBase64urlSegment(signingInput.slice(dot + 1))) {
    return Promise.resolve(false);
  }
  if (spec.signatureBytes !== undefined && signature.length !== spec.signatureBytes) return Promise.resolve(false);
  // ASCII only (checked above), so one byte per character.
  const input = Buffer.from(signingInput, 'latin1');
  const keyInput = nodeKey(key, spec);
  if (spec.keyAlgorithm === 'HMAC') {
    const expected = createHmac(spec.digest as string, keyInput as KeyObject).update(input).digest();
    return Promise.resolve(expected.length === signature.length && timingSafeEqual(expected, signature));
  }
  // The callback form runs the public-key operation on libuv's thread pool, off the event loop.
  // An error there is about the signature's bytes (the key was checked above): not valid.
  return new Promise((resolve) => {
    verify(spec.digest, input, keyInput, signature, (error, valid) => resolve(error === null && valid));
  });
}
