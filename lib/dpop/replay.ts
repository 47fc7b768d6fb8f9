import { LRUCache } from 'lru-cache';

/**
 * The part of a Keyv-compatible store the replay check uses: what `new Keyv()` or
 * `new Keyv(new KeyvRedis(url))` offers. Values may come back as stored or as `undefined`.
 */
export interface ReplayStore {
  get(key: string): Promise<unknown> | unknown;
  set(key: string, value: unknown, ttlMs?: number): Promise<unknown> | unknown;
}

/** How long the replay check waits for the store before it goes on with its own memory. */
const STORE_TIMEOUT_MS = 1_000;
/** At most one warning a minute about a failing store: a dead Redis must not flood the log. */
const WARNING_INTERVAL_MS = 60_000;

function withTimeout<T>(value: Promise<T> | T, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref?.();
    Promise.resolve(value).then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * Remembers the proofs (by a digest of key thumbprint and `jti`) this resource has accepted,
 * for as long as each could still pass the `iat` check (RFC 9449 §11.1). Bounded in memory; with
 * a shared store, replicas see each other's proofs.
 *
 * Keyv offers no "set if absent", so across replicas this is a read then a write: two replicas
 * that get the same proof within one store round trip may both accept it. Within one process the
 * memory is checked and written at once, so a replay there is always caught.
 */
export class ReplayGuard {
  private readonly memory: LRUCache<string, true>;
  private lastWarning = 0;

  constructor(
    max: number,
    private readonly store: ReplayStore | undefined,
  ) {
    this.memory = new LRUCache({ max });
  }

  /**
   * Records `key` as used for `ttlMs`. Resolves `true` when it was not used before (the proof may
   * pass), `false` for a replay.
   */
  async claim(key: string, ttlMs: number): Promise<boolean> {
    if (this.memory.has(key)) return false;
    this.memory.set(key, true, { ttl: ttlMs });
    if (!this.store) return true;
    const storeKey = `express-multiauth:dpop-jti:${key}`;
    try {
      if ((await withTimeout(this.store.get(storeKey), STORE_TIMEOUT_MS)) !== undefined) return false;
      await withTimeout(this.store.set(storeKey, 1, ttlMs), STORE_TIMEOUT_MS);
    } catch (error) {
      this.warn(error);
    }
    return true;
  }

  private warn(error: unknown): void {
    const now = Date.now();
    if (now - this.lastWarning < WARNING_INTERVAL_MS) return;
    this.lastWarning = now;
    const message = error instanceof Error ? error.message : String(error);
    process.emitWarning(`express-multiauth: the DPoP replay store failed (${message}); replays are checked per process until it answers again`);
  }

  /** Proof ids held in this process. */
  get size(): number {
    return this.memory.size;
  }
}
