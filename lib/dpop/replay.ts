import type { SharedStore, StoreNote } from '../transport/shared-store';

/**
 * What the replay check says about one proof:
 * - `first`: never seen in its window: it may pass (and is now remembered);
 * - `replay`: seen before: refuse it;
 * - `full`: not seen here, but there is no room to remember it (the memory, or this proof key's
 *   share of it, is full) and no store could tell: not accepted on a guess;
 * - `unknown`: the shared store could not tell and `failClosed` asks not to guess.
 */
export type ReplayVerdict = 'first' | 'replay' | 'full' | 'unknown';

/** Settings of a {@link ReplayGuard}. */
export interface ReplayGuardOptions {
  /** Most proof ids held in this process. */
  max: number;
  /** Most proof ids one proof key (`jkt`) may hold. */
  maxPerKey: number;
  store: SharedStore | undefined;
  /** Treat a store that cannot tell as "not known", rather than trusting per-process memory. */
  failClosed: boolean;
}

const WARNING_INTERVAL_MS = 60_000;

/**
 * Remembers the proofs (by a digest of key thumbprint and `jti`) this resource has accepted,
 * for as long as each could still pass the `iat` check (RFC 9449 §11.1), and never less: unlike
 * a cache it does not evict. Entries leave by the second their window ends (kept in buckets per
 * second, so letting them go costs nothing per request). When the memory, or one key's share of
 * it, is full, a proof whose replay status nobody else can vouch for is `full`, not accepted.
 *
 * Within one process the memory is checked and written at once, so a replay there is always
 * caught. Across replicas the store decides (`SharedStore.firstSighting`): atomically when the
 * store has `setIfAbsent`, else by a read and a write, which leaves a window of one round trip.
 *
 * @example
 * const guard = new ReplayGuard({ max: 100_000, maxPerKey: 10_000, store: undefined, failClosed: false });
 * await guard.claim(id, jkt, untilMs, Date.now()); // 'first', then 'replay' for the same id
 */
export class ReplayGuard {
  /** Proof id -> the instant (ms) its window ends. */
  private readonly entries = new Map<string, number>();
  /** Second its window ends -> the ids and keys ending then, as [id, jkt, id, jkt, ...]. */
  private readonly buckets = new Map<number, string[]>();
  private readonly perKey = new Map<string, number>();
  private sweptThrough = 0;
  private readonly lastWarning = new Map<string, number>();

  constructor(private readonly options: ReplayGuardOptions) {}

  /**
   * Records proof `id` by key `jkt` as used until `untilMs`, and says whether it may pass. `note`
   * receives what the operator should know about the store for this request.
   */
  async claim(id: string, jkt: string, untilMs: number, nowMs: number, note?: StoreNote): Promise<ReplayVerdict> {
    this.sweep(nowMs);
    if (this.entries.has(id)) return 'replay';
    const held = this.perKey.get(jkt) ?? 0;
    const room = this.entries.size < this.options.max && held < this.options.maxPerKey;
    if (room) this.remember(id, jkt, untilMs, held);
    const { store } = this.options;
    if (store) {
      const sighting = await store.firstSighting('dpop-jti', id, untilMs, note);
      if (sighting === 'seen') return 'replay';
      // The store remembers it for every replica, this one included.
      if (sighting === 'first') return 'first';
      if (room && !this.options.failClosed) return 'first';
      if (room) {
        note?.('DPoP replay status unknown (the shared store could not tell) and dpop.failClosed is set: proof not accepted');
        return 'unknown';
      }
    } else if (room) {
      return 'first';
    }
    this.warnFull(held >= this.options.maxPerKey, note);
    return 'full';
  }

  /** Proof ids held in this process. */
  get size(): number {
    return this.entries.size;
  }

  private remember(id: string, jkt: string, untilMs: number, held: number): void {
    this.entries.set(id, untilMs);
    this.perKey.set(jkt, held + 1);
    const second = Math.ceil(untilMs / 1000);
    const bucket = this.buckets.get(second);
    if (bucket) bucket.push(id, jkt);
    else this.buckets.set(second, [id, jkt]);
  }

  /** Lets go of every proof whose window has ended; at most once a second. */
  private sweep(nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    if (second <= this.sweptThrough) return;
    this.sweptThrough = second;
    for (const [end, bucket] of this.buckets) {
      if (end > second) continue;
      this.buckets.delete(end);
      for (let i = 0; i < bucket.length; i += 2) {
        this.entries.delete(bucket[i]);
        const left = (this.perKey.get(bucket[i + 1]) ?? 1) - 1;
        if (left > 0) this.perKey.set(bucket[i + 1], left);
        else this.perKey.delete(bucket[i + 1]);
      }
    }
  }

  private warnFull(keyShare: boolean, note: StoreNote | undefined): void {
    const what = keyShare
      ? `one proof key holds its whole share (${this.options.maxPerKey} proofs, dpop.maxReplayEntriesPerKey)`
      : `the DPoP replay memory is full (${this.options.max} proofs, dpop.maxReplayEntries)`;
    note?.(`DPoP proof not accepted: ${what}; its replay status would be a guess`);
    const cause = keyShare ? 'key' : 'memory';
    const now = Date.now();
    const last = this.lastWarning.get(cause);
    if (last !== undefined && now - last < WARNING_INTERVAL_MS) return;
    this.lastWarning.set(cause, now);
    process.emitWarning(
      `express-multiauth: ${keyShare ? 'DPoP replay memory is full for one key: ' : ''}${what}; new proofs get 503 (or use_dpop_nonce) until older ones leave ` +
        'the window. Size it as peak proofs per second x (maxProofAgeSeconds + 1), see docs/dpop.md',
      { code: 'MULTIAUTH_DPOP_REPLAY_FULL' },
    );
  }
}
