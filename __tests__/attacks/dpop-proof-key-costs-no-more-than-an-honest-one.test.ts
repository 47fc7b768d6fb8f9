// Attack: a DPoP proof is checked with the key it carries, so the attacker picks the key. An RSA
// `jwk` with a 3,072-bit modulus and a 3,064-bit public exponent makes one signature check cost
// what a hundred honest ones do, before anything else about the proof is known. The defence
// bounds the key before it reaches crypto: RSA modulus 2048-4096 bits with a small odd exponent,
// EC and OKP curves that match the proof's algorithm. Observed here as "no key was imported":
// timings belong to the benchmark, not to unit tests.
import { randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import { resolveDpopOptions } from '../../lib/dpop/options';
import { DpopProofError, DpopProofVerifier } from '../../lib/dpop/proof';
import { makeProof, proofKey, type ProofKey } from '../support/dpop';

const ORIGIN = 'https://mcp.example.com';
const URL_ = `${ORIGIN}/mcp`;
const TOKEN = 'the-access-token';

/** `bits` random bits with the top one set and the number odd, base64url. */
function bigOdd(bits: number): string {
  const bytes = randomBytes(Math.ceil(bits / 8));
  const topBit = (bits - 1) % 8;
  bytes[0] = (bytes[0] & ((1 << (topBit + 1)) - 1)) | (1 << topBit);
  bytes[bytes.length - 1] |= 1;
  return bytes.toString('base64url');
}

let rsa: ProofKey;
let es256: ProofKey;
let ed: ProofKey;
beforeAll(async () => {
  [rsa, es256, ed] = await Promise.all([proofKey('RS256'), proofKey('ES256'), proofKey('EdDSA')]);
});

const verifier = () => new DpopProofVerifier(resolveDpopOptions({ url: ORIGIN }, ['primary'])!);

async function attempt(proof: string): Promise<{ outcome: string; reason?: string; imports: number }> {
  const spy = jest.spyOn(crypto.subtle, 'importKey');
  try {
    await verifier().verify({ proof, method: 'POST', url: URL_, accessToken: TOKEN });
    return { outcome: 'accepted', imports: spy.mock.calls.length };
  } catch (error) {
    if (!(error instanceof DpopProofError)) throw error;
    return { outcome: error.code, reason: error.message, imports: spy.mock.calls.length };
  } finally {
    spy.mockRestore();
  }
}

const proofWith = (key: ProofKey, jwk: JWK, alg = key.alg) => makeProof(key, { jwk, alg, htm: 'POST', htu: URL_, token: TOKEN });

describe('a hostile DPoP proof key is refused before it reaches crypto', () => {
  it.each<[string, () => JWK, () => ProofKey, string?]>([
    ['RSA, 3072-bit modulus, 3064-bit exponent', () => ({ kty: 'RSA', n: bigOdd(3072), e: bigOdd(3064) }), () => rsa],
    ['RSA, 8192-bit modulus', () => ({ kty: 'RSA', n: bigOdd(8192), e: 'AQAB' }), () => rsa],
    ['RSA, 1024-bit modulus', () => ({ kty: 'RSA', n: bigOdd(1024), e: 'AQAB' }), () => rsa],
    ['RSA, even exponent', () => ({ kty: 'RSA', n: bigOdd(2048), e: 'AQAA' }), () => rsa],
    ['RSA, exponent 1', () => ({ kty: 'RSA', n: bigOdd(2048), e: 'AQ' }), () => rsa],
    ['RSA, modulus with leading zero bytes padding it to 2048 bits', () => ({ kty: 'RSA', n: Buffer.concat([Buffer.alloc(128), Buffer.from(bigOdd(1024), 'base64url')]).toString('base64url'), e: 'AQAB' }), () => rsa],
    ['EC P-521 key under ES256', () => ({ kty: 'EC', crv: 'P-521', x: bigOdd(521), y: bigOdd(521) }), () => es256],
    ['an RSA key under ES256', () => ({ kty: 'RSA', n: bigOdd(2048), e: 'AQAB' }), () => es256],
    ['an EC key under EdDSA', () => ({ ...es256.publicJwk }), () => ed],
    ['an oversized "x" under EdDSA', () => ({ kty: 'OKP', crv: 'Ed25519', x: randomBytes(4096).toString('base64url') }), () => ed],
  ])('%s', async (_what, jwk, key) => {
    const result = await attempt(await proofWith(key(), jwk()));
    expect(result.outcome).toBe('invalid_dpop_proof');
    expect(result.imports).toBe(0);
  });

  // Stays accepted: the keys real clients use.
  it.each([
    ['RSA 2048, e = 65537', 'RS256', 2048],
    ['RSA 4096, e = 65537', 'PS256', 4096],
  ])('%s passes', async (_what, alg, modulusLength) => {
    const { generateKeyPair, exportJWK, calculateJwkThumbprint } = await import('jose');
    const pair = await generateKeyPair(alg, { modulusLength, extractable: true });
    const publicJwk = await exportJWK(pair.publicKey);
    const key: ProofKey = { privateKey: pair.privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk), alg };
    const result = await attempt(await proofWith(key, publicJwk));
    expect(result.outcome).toBe('accepted');
    expect(result.imports).toBeGreaterThan(0);
  });

  it.each([['ES256'], ['EdDSA']])('an honest %s key passes', async (alg) => {
    const key = alg === 'ES256' ? es256 : ed;
    expect((await attempt(await proofWith(key, key.publicJwk))).outcome).toBe('accepted');
  });
});
