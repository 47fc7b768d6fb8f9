// lib/dpop/: RFC 9449 (DPoP) on the resource server: the options (options), the proof check
// (proof), stateless nonces (nonce), jti replay memory (replay) and reading the DPoP scheme,
// the proof and the request's URL from a request (request). jose verifies every proof; this
// folder decides what to ask of it. May import core/, transport/ and http/.

import type { IncomingMessage } from 'node:http';
import { MultiAuthConfigError } from '../core/errors';
import { refuseUnknownOptions, requiredSources } from '../core/options';
import { toSharedStore, type KeyvLike, type SharedStore } from '../transport/shared-store';

/** Asymmetric JWS algorithms a DPoP proof may use (RFC 9449 §4.3 forbids `none` and MACs). */
export const DPOP_ALGORITHMS = [
  'ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519',
] as const;

/** A JWS algorithm allowed for DPoP proofs. */
export type DpopAlgorithm = (typeof DPOP_ALGORITHMS)[number];

/** `multiAuth({ dpop })`: accept DPoP-bound tokens (RFC 9449) with a proof on every request. */
export interface DpopOptions {
  /**
   * `true`: every source's tokens must be DPoP-bound (a Bearer request is refused). A list of
   * source names: those sources' tokens must be bound; the others may still come as Bearer.
   * Default `false`: bound tokens need their proof, unbound ones are Bearer tokens as before.
   */
  required?: boolean | readonly string[];
  /** Algorithms proofs may be signed with; asymmetric only. Default: every `DpopAlgorithm`. */
  algorithms?: readonly DpopAlgorithm[];
  /** A proof's `iat` may be this many seconds before or after the server's clock. Default 300. */
  maxProofAgeSeconds?: number;
  /**
   * Turns server nonces on (RFC 9449 §9): a proof must carry a nonce this server (or any replica
   * with the same `secret`) issued within the last one or two `lifetimeSeconds` (default 300).
   * `secret`: at least 32 bytes (a string is taken as UTF-8).
   */
  nonce?: { secret: string | Uint8Array; lifetimeSeconds?: number };
  /**
   * The public origin the proofs' `htu` is compared against (e.g. `https://mcp.example.com`),
   * with the request's path appended; or a function giving the whole URL of a request. Default:
   * the primary's `resource` origin; with neither, `multiAuth` refuses the `dpop` option. The
   * request's `Host` and `X-Forwarded-*` headers never decide it: the client writes them.
   */
  url?: string | ((req: IncomingMessage) => string);
  /**
   * A Keyv-compatible store (`get`, `set`, `delete`; e.g. `new Keyv(new KeyvRedis(url))`) or a
   * `sharedStore(...)`, shared by replicas, so a proof replayed at another replica is refused
   * too; default: `multiAuth`'s own `store`. Keys are SHA-256 digests. When it fails, the per-process memory still refuses replays
   * seen here, and a warning is emitted.
   */
  store?: KeyvLike | SharedStore;
  /**
   * Most proof ids remembered per process (for the replay check). Default 100,000. A proof id is
   * held until its `iat` leaves the window, never less; when the memory is full, new proofs get
   * 503 `temporarily_unavailable` (`use_dpop_nonce` with nonces on) until room comes back. Size
   * it as peak proofs per second x (`maxProofAgeSeconds` + 1).
   */
  maxReplayEntries?: number;
  /**
   * Most proof ids one proof key may hold, so one client (or a thief with one bound token)
   * cannot fill the memory for everyone. Default a tenth of `maxReplayEntries`.
   */
  maxReplayEntriesPerKey?: number;
  /**
   * `true`: when the shared store cannot say whether a proof was used at another replica (down,
   * slow), the proof is not accepted (503, or `use_dpop_nonce` with nonces on). Default `false`:
   * per-process memory stays in charge, with an `onDecision` note and a warning.
   */
  failClosed?: boolean;
}

/** {@link DpopOptions}, checked, with defaults. */
export interface ResolvedDpopOptions {
  required: true | ReadonlySet<string>;
  algorithms: readonly DpopAlgorithm[];
  maxProofAgeSeconds: number;
  nonce: { secret: Uint8Array; lifetimeSeconds: number } | undefined;
  url: string | ((req: IncomingMessage) => string);
  store: SharedStore | undefined;
  maxReplayEntries: number;
  maxReplayEntriesPerKey: number;
  failClosed: boolean;
}

const KNOWN = ['required', 'algorithms', 'maxProofAgeSeconds', 'nonce', 'url', 'store', 'maxReplayEntries', 'maxReplayEntriesPerKey', 'failClosed'];
const MIN_SECRET_BYTES = 32;
/** Fewer distinct bytes than a hex string of random bytes has is a pattern, not a secret. */
const MIN_DISTINCT_SECRET_BYTES = 8;

function fail(message: string): never {
  throw new MultiAuthConfigError(`multiAuth: dpop.${message}`);
}

function positiveInteger(value: unknown, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) <= 0) fail(`${what} must be a positive whole number, got ${String(value)}`);
  return value as number;
}

function publicOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(`url must be an absolute http(s) origin such as "https://mcp.example.com", got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(`url must be an http(s) origin, got ${url.protocol}`);
  if (url.pathname !== '/' || url.search || url.hash || value.trim() !== value) {
    fail(`url must be an origin only (scheme, host, port), got ${JSON.stringify(value)}; the request's path is appended to it`);
  }
  return url.origin;
}

/**
 * Checks `multiAuth`'s `dpop` option once, at construction. `sourceNames` are the chain's
 * sources, so that `required` cannot name one that does not exist (a typo there would silently
 * leave that source's tokens usable as Bearer).
 */
export function resolveDpopOptions(
  options: unknown,
  sourceNames: readonly string[],
  primaryOrigin?: string,
): ResolvedDpopOptions | undefined {
  if (options === undefined || options === false) return undefined;
  const given: Record<string, unknown> = options === true ? {} : (options as Record<string, unknown>);
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new MultiAuthConfigError('multiAuth: dpop must be true or an object { required?, algorithms?, maxProofAgeSeconds?, nonce?, url?, store? }');
  }
  refuseUnknownOptions('multiAuth', given, KNOWN, 'dpop');

  const required = requiredSources(given.required, sourceNames, 'multiAuth: dpop.');

  let algorithms: readonly DpopAlgorithm[] = DPOP_ALGORITHMS;
  if (given.algorithms !== undefined) {
    const list = given.algorithms;
    if (!Array.isArray(list) || list.length === 0) fail('algorithms must be a non-empty list such as ["ES256", "EdDSA"]');
    for (const alg of list) {
      if (!(DPOP_ALGORITHMS as readonly unknown[]).includes(alg)) {
        fail(`algorithms: ${JSON.stringify(alg)} is not an asymmetric JWS algorithm (RFC 9449 §4.3 forbids none and MACs); allowed: ${DPOP_ALGORITHMS.join(', ')}`);
      }
    }
    algorithms = Object.freeze([...new Set(list as DpopAlgorithm[])]);
  }

  const maxProofAgeSeconds = positiveInteger(given.maxProofAgeSeconds, 'maxProofAgeSeconds', 300);

  let nonce: ResolvedDpopOptions['nonce'];
  if (given.nonce !== undefined) {
    const n = given.nonce as Record<string, unknown>;
    if (n === null || typeof n !== 'object') fail('nonce must be an object { secret, lifetimeSeconds? }');
    refuseUnknownOptions('multiAuth', n, ['secret', 'lifetimeSeconds'], 'dpop.nonce');
    const secret =
      typeof n.secret === 'string' ? Buffer.from(n.secret, 'utf8') : n.secret instanceof Uint8Array ? Buffer.from(n.secret) : undefined;
    if (!secret) fail('nonce.secret must be a string or bytes');
    if (secret.byteLength < MIN_SECRET_BYTES) fail(`nonce.secret must be at least ${MIN_SECRET_BYTES} bytes: a short secret lets nonces be guessed`);
    // Length says nothing about guessability: "aaaa..." is the first secret an attacker tries.
    const distinct = new Set(secret).size;
    if (distinct < MIN_DISTINCT_SECRET_BYTES) {
      fail(`nonce.secret holds only ${distinct} distinct byte value(s): use a random secret, e.g. crypto.randomBytes(32) or its hex`);
    }
    nonce = { secret, lifetimeSeconds: positiveInteger(n.lifetimeSeconds, 'nonce.lifetimeSeconds', 300) };
  }

  let url: ResolvedDpopOptions['url'] | undefined;
  if (typeof given.url === 'string') url = publicOrigin(given.url);
  else if (typeof given.url === 'function') url = given.url as (req: IncomingMessage) => string;
  else if (given.url !== undefined) fail('url must be an origin string or a function (req) => string');
  else if (primaryOrigin !== undefined) url = publicOrigin(primaryOrigin);
  else {
    fail(
      'url is needed: the public origin proofs name in "htu" (e.g. dpop: { url: "https://mcp.example.com" }). Without a primary ' +
        'there is no resource to take it from, and the request\'s Host header is the client\'s to write',
    );
  }

  const store = toSharedStore(given.store, 'multiAuth: dpop');

  const maxReplayEntries = positiveInteger(given.maxReplayEntries, 'maxReplayEntries', 100_000);
  const maxReplayEntriesPerKey = positiveInteger(given.maxReplayEntriesPerKey, 'maxReplayEntriesPerKey', Math.max(1, Math.floor(maxReplayEntries / 10)));
  if (maxReplayEntriesPerKey > maxReplayEntries) fail(`maxReplayEntriesPerKey (${maxReplayEntriesPerKey}) cannot exceed maxReplayEntries (${maxReplayEntries})`);
  if (given.failClosed !== undefined && typeof given.failClosed !== 'boolean') fail('failClosed must be true or false');

  return {
    required,
    algorithms,
    maxProofAgeSeconds,
    nonce,
    url: url as ResolvedDpopOptions['url'],
    store,
    maxReplayEntries,
    maxReplayEntriesPerKey,
    failClosed: given.failClosed === true,
  };
}
