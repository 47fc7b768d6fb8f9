import { LRUCache } from 'lru-cache';
import { expiredFromMs } from '../core/clock';
import { freezeDeep } from '../core/claims';
import type { InspectedToken, MultiAuthInfo } from '../core/types';

/** Settings of the verified-result cache (`multiAuth({ cache })`). */
export interface CacheOptions {
  /** Most accepted tokens remembered. Default 10,000. */
  max?: number;
  /**
   * Longest an acceptance is reused, in ms, whatever the token's `exp`. Default 60,000. This
   * bounds how long a revoked token or a withdrawn key keeps working *on top of* the source's
   * own cache: with `introspectionVerifier`'s 30 s default the bound is 90 s, the sum.
   */
  ttlMs?: number;
  /** Most rejected tokens remembered. Default 10,000; 0 turns negative caching off. */
  negativeMax?: number;
  /** How long a rejection is reused, in ms. Default 5,000. */
  negativeTtlMs?: number;
}

type CachedInfo = Omit<MultiAuthInfo, 'token'>;

/**
 * How a request presented its token and what it proved besides (`'bearer'`, or the DPoP proof's
 * key; see `requestKind`): a refusal may depend on it (a wrapped middleware with DPoP support
 * refuses a bound token as Bearer, or with a thief's proof, and accepts it with the owner's), so
 * a rejection is remembered for one kind only.
 */
export type RequestKind = string;

/**
 * Where an entry keeps the instant it expires (`expiresAt` plus the accepting source's clock
 * tolerance): a non-enumerable property, so a hit's spread copy never carries it into `req.auth`.
 */
const EXPIRED_FROM = Symbol('expiredFromMs');
/**
 * The digest of the spelling an acceptance was made from, when that spelling was not the
 * canonical one (see `InspectedToken.identityKey`): a hit needs the same spelling, since only
 * the source can say whether it accepts another.
 */
const SPELLING = Symbol('spelling');
type Entry = CachedInfo & { readonly [EXPIRED_FROM]: number; readonly [SPELLING]?: string };

/** `undefined` for the canonical spelling, else the spelling's own digest. */
function spellingOf(token: InspectedToken): string | undefined {
  const identity = token.identityKey;
  return identity === token.digestKey ? undefined : token.digestKey;
}

function cloneDeepFrozen<T>(value: T): T {
  let copy: T;
  try {
    copy = structuredClone(value);
  } catch {
    // Values a custom source built with functions or class instances: one level deep, at least.
    copy = Array.isArray(value) ? ([...value] as T) : ({ ...value } as T);
  }
  return freezeDeep(copy);
}

/**
 * What the cache keeps: a deep copy, frozen, that shares nothing with the `req.auth` a handler
 * got (a handler may add a scope or a note to its own `req.auth`; that must never reach the
 * next request with the same token). Cloning happens once per entry, not per hit.
 */
function entryOf(info: CachedInfo, expiredFrom: number, spelling: string | undefined): Entry {
  const entry: CachedInfo = { ...info, scopes: cloneDeepFrozen(info.scopes), extra: cloneDeepFrozen(info.extra) };
  if (info.payload !== undefined) entry.payload = cloneDeepFrozen(info.payload);
  if (info.header !== undefined) entry.header = cloneDeepFrozen(info.header);
  Object.defineProperty(entry, EXPIRED_FROM, { value: expiredFrom, enumerable: false });
  if (spelling !== undefined) Object.defineProperty(entry, SPELLING, { value: spelling, enumerable: false });
  return Object.freeze(entry) as Entry;
}

/**
 * A hit's `req.auth`: its own top-level objects, so a handler can change them as it could on the
 * first request; nested claim values stay the frozen shared ones (cheap, and unchangeable).
 */
function requestCopy(entry: Entry, token: string): MultiAuthInfo {
  const info: MultiAuthInfo = { ...entry, token, scopes: [...entry.scopes], extra: { ...entry.extra } };
  if (entry.payload !== undefined) info.payload = { ...entry.payload };
  if (entry.header !== undefined) info.header = { ...entry.header };
  if (entry.resource !== undefined) info.resource = new URL(entry.resource.href);
  return info;
}

/**
 * Remembers what the chain decided for a token, keyed by the token's SHA-256 (never the token;
 * the canonical spelling's for an ECDSA-signed JWT, so one token has one entry),
 * so a token seen again costs a hash and a lookup instead of a signature check or an
 * introspection call. An acceptance never outlives the token's `expiresAt` plus the accepting
 * source's clock tolerance (lib/core/clock.ts: the rule the source applied); failures (503s)
 * are never remembered.
 */
export class ResultCache {
  private readonly accepted: LRUCache<string, Entry>;
  private readonly rejected: LRUCache<string, true> | undefined;
  private readonly ttlMs: number;
  /** How long a rejection is remembered, in ms. */
  readonly negativeTtlMs: number;

  constructor(options: CacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.accepted = new LRUCache({ max: options.max ?? 10_000, ttl: this.ttlMs });
    const negativeMax = options.negativeMax ?? 10_000;
    this.negativeTtlMs = options.negativeTtlMs ?? 5_000;
    this.rejected = negativeMax > 0 ? new LRUCache({ max: negativeMax, ttl: this.negativeTtlMs }) : undefined;
  }

  private static key(token: InspectedToken): string {
    return token.identityKey;
  }

  /**
   * The cached acceptance (with the token put back), `'rejected'` when it was refused on a
   * request of the same `kind`, or `undefined` when unknown.
   */
  get(token: InspectedToken, nowMs: number, kind: RequestKind = 'bearer'): MultiAuthInfo | 'rejected' | undefined {
    const key = ResultCache.key(token);
    const hit = this.accepted.get(key);
    if (hit) {
      if (nowMs >= hit[EXPIRED_FROM]) {
        this.accepted.delete(key);
        return undefined;
      }
      if (hit[SPELLING] !== spellingOf(token)) return undefined;
      return requestCopy(hit, token.raw);
    }
    return this.rejected?.get(`${kind}:${key}`) ? 'rejected' : undefined;
  }

  /**
   * Remembers an acceptance until the earlier of `ttlMs` and the token's expiry under the
   * accepting source's clock tolerance (`toleranceSeconds`, 0 when it has none).
   */
  setAccepted(token: InspectedToken, info: MultiAuthInfo, nowMs: number, toleranceSeconds = 0): void {
    const expiredFrom = expiredFromMs(info.expiresAt, toleranceSeconds);
    const ttl = Math.min(this.ttlMs, expiredFrom - nowMs);
    if (ttl <= 0) return;
    const { token: _raw, ...rest } = info;
    this.accepted.set(ResultCache.key(token), entryOf(rest, expiredFrom, spellingOf(token)), { ttl });
  }

  /**
   * Remembers a rejection of the token presented as `kind` for `negativeTtlMs`, or for `ttlMs`
   * when shorter (one learnt from the shared store).
   */
  setRejected(token: InspectedToken, kind: RequestKind = 'bearer', ttlMs = this.negativeTtlMs): void {
    const ttl = Math.floor(Math.min(ttlMs, this.negativeTtlMs));
    // lru-cache reads a ttl of 0 as "forever".
    if (ttl >= 1) this.rejected?.set(`${kind}:${ResultCache.key(token)}`, true, { ttl });
  }

  /** Whether rejections are remembered at all (`negativeMax` above 0). */
  get remembersRejections(): boolean {
    return this.rejected !== undefined;
  }

  /** Entries held, accepted and rejected. */
  get size(): { accepted: number; rejected: number } {
    return { accepted: this.accepted.size, rejected: this.rejected?.size ?? 0 };
  }
}
