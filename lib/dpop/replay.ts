import { LRUCache } from 'lru-cache';
import type { SharedStore } from '../transport/shared-store';

/**
 * Remembers the proofs (by a digest of key thumbprint and `jti`) this resource has accepted,
 * for as long as each could still pass the `iat` check (RFC 9449 §11.1). Bounded in memory; with
 * a shared store, replicas see each other's proofs.
 *
 * Within one process the memory is checked and written at once, so a replay there is always
 * caught. Across replicas the store decides (`SharedStore.firstSighting`): atomically when the
 * store has `setIfAbsent`, else by a read and a write, which leaves a window of one round trip.
 * A store that fails or is slow leaves the per-process memory in charge (the store warns).
 */
export class ReplayGuard {
  private readonly memory: LRUCache<string, true>;

  constructor(
    max: number,
    private readonly store: SharedStore | undefined,
  ) {
    this.memory = new LRUCache({ max });
  }

  /**
   * Records `key` as used for `ttlMs`. Resolves `true` when it was not used before (the proof may
   * pass), `false` for a replay. `note` receives what the operator should know about the store.
   */
  async claim(key: string, ttlMs: number, note?: (text: string) => void): Promise<boolean> {
    if (this.memory.has(key)) return false;
    this.memory.set(key, true, { ttl: ttlMs });
    if (!this.store) return true;
    return (await this.store.firstSighting('dpop-jti', key, Date.now() + ttlMs, note)) !== 'seen';
  }

  /** Proof ids held in this process. */
  get size(): number {
    return this.memory.size;
  }
}
