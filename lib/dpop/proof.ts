import { createHash } from 'node:crypto';
import { EmbeddedJWK, calculateJwkThumbprint, errors as joseErrors, jwtVerify } from 'jose';
import type { CryptoKey, JWK, JWTHeaderParameters, FlattenedJWSInput } from 'jose';
import { LRUCache } from 'lru-cache';
import { NonceSource } from './nonce';
import { proofKeyProblem } from './proof-key';
import { ReplayGuard, type ReplayVerdict } from './replay';
import type { ResolvedDpopOptions } from './options';

/** Longest `DPoP` header value looked at: a proof with an RSA-4096 key is about 1.5 KB. */
export const MAX_PROOF_LENGTH = 8_192;

/** Client keys remembered, imported, with their thumbprints. */
const KEY_CACHE_SIZE = 1_000;

/** JWK members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Why a proof was not accepted: `invalid_dpop_proof`, or `use_dpop_nonce` with the nonce to use. */
export class DpopProofError extends Error {
  constructor(
    readonly code: 'invalid_dpop_proof' | 'use_dpop_nonce',
    /** For the operator (`onDecision`); never sent to the client. */
    message: string,
    /** With `use_dpop_nonce`: the nonce the client must put in its next proof. */
    readonly nonce?: string,
  ) {
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'DpopProofError';
  }
}

/** What one request presents: its proof, and what the proof must match. */
export interface ProofInput {
  /** The `DPoP` header's value. */
  proof: string;
  /** The request's method, e.g. `POST`. */
  method: string;
  /** The request's absolute URL, without query and fragment (see `requestUrl`). */
  url: string;
  /** The access token presented with the proof (`Authorization: DPoP <token>`). */
  accessToken: string;
}

/** A proof that passed every check that does not need the token's `cnf`. */
export interface VerifiedProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key: must equal the token's `cnf.jkt`. */
  jkt: string;
  /** The proof's id, for the replay check. */
  jti: string;
  /** Seconds since the epoch, as the proof says. */
  iat: number;
}

const invalid = (message: string): DpopProofError => new DpopProofError('invalid_dpop_proof', message);

/** `htu` as compared: scheme, host, port and path, normalised the way WHATWG URL parsing does. */
export function comparableUrl(value: string): string | undefined {
  if (!URL.canParse(value)) return undefined;
  const url = new URL(value);
  return `${url.origin}${url.pathname}`;
}

/** RFC 9449 §4.1 `ath`: base64url of the SHA-256 of the token's ASCII bytes. */
function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('base64url');
}

function joseReason(error: unknown): string {
  if (error instanceof joseErrors.JOSEError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * Checks DPoP proofs (RFC 9449 §4.3) for one `multiAuth`: jose verifies the signature with the
 * embedded key, the `typ`, the algorithm and the `iat` window; this adds the request binding
 * (`htm`, `htu`, `ath`), nonces and replay. The token's `cnf.jkt` is compared by the caller,
 * once a source has accepted the token.
 *
 * @example
 * const proofs = new DpopProofVerifier(resolveDpopOptions({ maxProofAgeSeconds: 60 }, [])!);
 * const proof = await proofs.verify({ proof: req.headers.dpop, method: 'POST', url: 'https://mcp.example.com/mcp', accessToken });
 * // proof.jkt must equal the access token's cnf.jkt; then: await proofs.claim(proof)
 */
export class DpopProofVerifier {
  private readonly nonces: NonceSource | undefined;
  private readonly replay: ReplayGuard;
  /**
   * A client signs every proof with the same key, and importing it is most of the cost of
   * jose's `EmbeddedJWK` (about 300 of 450 µs on Node 20). Keyed by the `alg` and the embedded
   * JWK exactly as sent, so a hit is the key `EmbeddedJWK` would import (its checks depend on
   * nothing else); filled only once a request with the key was accepted (see `verdict`): a
   * proof by a throwaway key verifies too, and must not push out the keys of real clients. jose still
   * verifies each proof's signature and claims.
   */
  private readonly keys = new LRUCache<string, { key: CryptoKey | Uint8Array; jkt: string }>({ max: KEY_CACHE_SIZE });
  /** A verified proof's imported key, kept for the cache until its request is accepted. */
  private readonly pendingKeys = new WeakMap<VerifiedProof, [string, { key: CryptoKey | Uint8Array; jkt: string }]>();

  constructor(private readonly options: ResolvedDpopOptions) {
    this.nonces = options.nonce && new NonceSource(options.nonce.secret, options.nonce.lifetimeSeconds);
    this.replay = new ReplayGuard({
      max: options.maxReplayEntries,
      maxPerKey: options.maxReplayEntriesPerKey,
      store: options.store,
      failClosed: options.failClosed,
    });
    if (options.store && !options.store.atomic) {
      process.emitWarning(
        'express-multiauth: DPoP proof ids are shared through a store without setIfAbsent: two replicas given the same proof within ' +
          'one store round trip can both accept it. Add an atomic setIfAbsent (Redis SET NX PX), see docs/replicas.md',
        { code: 'MULTIAUTH_DPOP_STORE_NOT_ATOMIC' },
      );
    }
  }

  /** The nonce to offer now, when nonces are on. */
  currentNonce(nowMs = Date.now()): string | undefined {
    return this.nonces?.current(Math.floor(nowMs / 1000));
  }

  /**
   * Verifies `input.proof` against the request. Rejects with a {@link DpopProofError}; never
   * with anything else, whatever the header holds.
   */
  async verify(input: ProofInput, nowMs = Date.now()): Promise<VerifiedProof> {
    const { proof } = input;
    if (typeof proof !== 'string' || proof === '') throw invalid('the DPoP header is empty');
    if (proof.length > MAX_PROOF_LENGTH) throw invalid(`the DPoP header is longer than ${MAX_PROOF_LENGTH} characters`);
    let payload: Record<string, unknown>;
    let jwk: JWK;
    let cacheId: string | undefined;
    let cached: { key: CryptoKey | Uint8Array; jkt: string } | undefined;
    let imported: CryptoKey | Uint8Array | undefined;
    const embeddedKey = async (header: JWTHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey | Uint8Array> => {
      // jose refuses a private key once imported; refusing on sight also covers members a
      // public import would ignore, and never imports key material a client leaked.
      const embedded = header.jwk as Record<string, unknown> | undefined;
      if (embedded && typeof embedded === 'object' && PRIVATE_MEMBERS.some((m) => Object.hasOwn(embedded, m))) {
        throw invalid('the proof\'s "jwk" holds private or symmetric key material');
      }
      if (embedded && typeof embedded === 'object' && typeof header.alg === 'string') {
        const problem = proofKeyProblem(header.alg, embedded);
        if (problem) throw invalid(`the proof's "jwk" is refused before any crypto: ${problem}`);
        cacheId = `${header.alg} ${JSON.stringify(embedded)}`;
        cached = this.keys.get(cacheId);
        if (cached) return cached.key;
      }
      imported = await EmbeddedJWK(header, token);
      return imported;
    };
    try {
      const verified = await jwtVerify(proof, embeddedKey, {
        typ: 'dpop+jwt',
        algorithms: [...this.options.algorithms],
        requiredClaims: ['jti', 'htm', 'htu', 'iat'],
        // iat within ±maxProofAgeSeconds: an age of at most 0, with that much tolerance either way.
        maxTokenAge: 0,
        clockTolerance: this.options.maxProofAgeSeconds,
        currentDate: new Date(nowMs),
      });
      payload = verified.payload as Record<string, unknown>;
      jwk = verified.protectedHeader.jwk as JWK;
    } catch (error) {
      if (error instanceof DpopProofError) throw error;
      throw invalid(`jose refused the proof (${joseReason(error)})`);
    }

    if (payload.htm !== input.method) throw invalid(`"htm" ${JSON.stringify(payload.htm)} is not the request's method ${input.method}`);
    const htu = typeof payload.htu === 'string' ? comparableUrl(payload.htu) : undefined;
    if (htu === undefined || htu !== comparableUrl(input.url)) {
      throw invalid(`"htu" does not name this request's URL ${comparableUrl(input.url) ?? input.url}`);
    }
    if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 512) throw invalid('"jti" is not a non-empty string');
    if (typeof payload.ath !== 'string' || payload.ath !== accessTokenHash(input.accessToken)) {
      throw invalid('"ath" is not the hash of the presented access token');
    }
    if (this.nonces && !this.nonces.accepts(payload.nonce, Math.floor(nowMs / 1000))) {
      throw new DpopProofError(
        'use_dpop_nonce',
        payload.nonce === undefined ? 'the proof carries no nonce' : 'the proof\'s nonce is not current',
        this.currentNonce(nowMs),
      );
    }
    let jkt: string;
    if (cached) {
      jkt = cached.jkt;
    } else {
      try {
        jkt = await calculateJwkThumbprint(jwk, 'sha256');
      } catch (error) {
        throw invalid(`no thumbprint for the proof's key (${joseReason(error)})`);
      }
    }
    const verified: VerifiedProof = { jkt, jti: payload.jti, iat: payload.iat as number };
    if (!cached && cacheId !== undefined && imported !== undefined) this.pendingKeys.set(verified, [cacheId, { key: imported, jkt }]);
    return verified;
  }

  /**
   * Records a proof as used, once the whole request has passed, and says whether it may pass:
   * `first` (yes), `replay` (the same key already used this `jti` within the window), `full` or
   * `unknown` (its replay status cannot be known: not accepted on a guess). The memory lasts
   * until the proof's `iat` leaves the window, which is as long as it could pass again. `note`
   * hears about a shared store that could not be used.
   */
  async verdict(proof: VerifiedProof, nowMs = Date.now(), note?: (text: string) => void): Promise<ReplayVerdict> {
    const untilMs = Math.max(nowMs + 1_000, (proof.iat + this.options.maxProofAgeSeconds + 1) * 1000);
    const id = createHash('sha256').update(`${proof.jkt} ${proof.jti}`).digest('base64url');
    const verdict = await this.replay.claim(id, proof.jkt, untilMs, nowMs, note);
    const pending = this.pendingKeys.get(proof);
    if (verdict === 'first' && pending) this.keys.set(pending[0], pending[1]);
    return verdict;
  }

  /** {@link verdict}, as "may it pass": `false` for a replay and for a proof whose status is unknown. */
  async claim(proof: VerifiedProof, nowMs = Date.now(), note?: (text: string) => void): Promise<boolean> {
    return (await this.verdict(proof, nowMs, note)) === 'first';
  }
}
