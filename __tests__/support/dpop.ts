// DPoP proofs made with jose, as a client would (RFC 9449 §4.2), with knobs to make them wrong.
import { createHash, randomBytes } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';

export interface ProofKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** RFC 7638 thumbprint: what a token bound to this key carries as `cnf.jkt`. */
  jkt: string;
  alg: string;
}

export async function proofKey(alg = 'ES256'): Promise<ProofKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, 'sha256'), alg };
}

export const ath = (token: string): string => createHash('sha256').update(token).digest('base64url');

export interface ProofSpec {
  htm?: string;
  htu?: string;
  token?: string;
  /** Replaces the computed `ath`; `null` leaves it out. */
  ath?: string | null;
  iat?: number;
  jti?: string;
  nonce?: string;
  typ?: string;
  /** The `jwk` header; `null` leaves it out. Default: the key's public JWK. */
  jwk?: JWK | null;
  /** Signs with this key instead (the header still names `key`'s public JWK unless `jwk` says otherwise). */
  signWith?: CryptoKey | Uint8Array;
  alg?: string;
}

/** A proof for `spec.htm spec.htu` with `spec.token`, signed by `key`. */
export async function makeProof(key: ProofKey, spec: ProofSpec = {}): Promise<string> {
  const payload: Record<string, unknown> = {
    jti: spec.jti ?? randomBytes(12).toString('base64url'),
    htm: spec.htm ?? 'GET',
    htu: spec.htu ?? 'http://127.0.0.1/echo',
    iat: spec.iat ?? Math.floor(Date.now() / 1000),
  };
  if (spec.ath !== null) payload.ath = spec.ath ?? ath(spec.token ?? 'token');
  if (spec.nonce !== undefined) payload.nonce = spec.nonce;
  const header: Record<string, unknown> = { alg: spec.alg ?? key.alg, typ: spec.typ ?? 'dpop+jwt' };
  if (spec.jwk !== null) header.jwk = spec.jwk ?? key.publicJwk;
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(spec.signWith ?? key.privateKey);
}
