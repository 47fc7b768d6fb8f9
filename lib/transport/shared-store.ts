import { createHash, randomUUID } from 'node:crypto';
import { MultiAuthConfigError } from '../core/errors';
import { refuseUnknownOptions } from '../core/options';

/**
 * A Keyv-compatible store: what `multiAuth({ store })` and `introspectionVerifier({ store })`
 * take. `new Keyv(new KeyvRedis(url))` is one; so is anything with these three methods. Values
 * are plain JSON objects; `ttlMs` is in milliseconds.
 */
export interface KeyvLike {
  /** The value stored under `key`, or `undefined` (a promise of it, for Keyv). */
  get(key: string): unknown;
  /** Stores `value` under `key` for `ttlMs` milliseconds. */
  set(key: string, value: unknown, ttlMs?: number): unknown;
  /** Removes `key`. */
  delete(key: string): unknown;
  /**
   * Optional: store `value` under `key` only if the key is absent, atomically, resolving `true`
   * when it did (Redis `SET key value NX PX ttlMs`). Keyv has no such operation; without it
   * {@link SharedStore.firstSighting} checks then writes, which leaves a window of one round trip.
   */
  setIfAbsent?(key: string, value: unknown, ttlMs: number): Promise<boolean>;
}

/** Settings of a {@link SharedStore} (`sharedStore(store, options)`). */
export interface SharedStoreOptions {
  /**
   * Longest wait for one store call, in ms; past it the call counts as failed and the request
   * goes on with per-process state. Default 100: a store slower than that is no cheaper than
   * asking the source again.
   */
  timeoutMs?: number;
  /**
   * After a failure, the store is left alone for this long (requests use per-process state at
   * no cost), then tried again by the next request; the first success means it is back.
   * Default 1,000 ms.
   */
  retryAfterMs?: number;
  /** Prefix of every key, to keep several apps apart in one store. Default `'multiauth'`. */
  prefix?: string;
}

/** Receives an operator-facing note when the store could not be used for one request. */
export type StoreNote = (text: string) => void;

/** What a store answered for `firstSighting`. */
export type Sighting = 'first' | 'seen' | 'unknown';

const ENVELOPE_VERSION = 1;
const WARNING_INTERVAL_MS = 60_000;
const DEFAULTS = { timeoutMs: 100, retryAfterMs: 1000, prefix: 'multiauth' };
const MAX_TIMER_MS = 2_147_483_647;
const WARNING_CODES: Record<string, string> = {
  failure: 'MULTIAUTH_STORE_UNAVAILABLE',
  garbage: 'MULTIAUTH_STORE_GARBAGE',
  recovered: 'MULTIAUTH_STORE_RECOVERED',
};
const KNOWN: readonly string[] = ['timeoutMs', 'retryAfterMs', 'prefix'];

class StoreTimeout extends Error {}

/** What the package keeps in a store: the data, and the instant after which it means nothing. */
interface Envelope {
  v: typeof ENVELOPE_VERSION;
  /** Milliseconds since the epoch; checked on every read, whatever the store's own TTL did. */
  until: number;
  data: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function fail(message: string): never {
  throw new MultiAuthConfigError(`store: ${message}`);
}

function isStoreLike(value: unknown): value is KeyvLike {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as KeyvLike).get === 'function' &&
    typeof (value as KeyvLike).set === 'function' &&
    typeof (value as KeyvLike).delete === 'function'
  );
}

function describe(error: unknown): string {
  if (error instanceof StoreTimeout) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 200);
  return `non-error thrown: ${typeof error}`;
}

/**
 * A Keyv-compatible store as the package uses it: every call bounded in time, what comes back
 * checked (anything malformed or past its time is a miss), failures absorbed. Whatever the store
 * does (refuses connections, hangs, answers garbage), a call resolves, and the caller falls
 * back to per-process state: a store can cost a request a round trip, never an answer.
 *
 * Keys are SHA-256 digests of a purpose and an id, under `prefix`: no token, no `jti`, reaches
 * the store in clear. Values are small JSON envelopes carrying their own expiry.
 *
 * @example
 * const store = sharedStore(new Keyv(new KeyvRedis(process.env.REDIS_URL!)), { timeoutMs: 50 });
 * const auth = multiAuth({ verifiers: [introspectionVerifier({ ...options, store })], store });
 */
export class SharedStore {
  /** The time limit of one store call, in milliseconds (option `timeoutMs`). */
  readonly timeoutMs: number;
  /** How long a failed store is left alone before it is tried again (option `retryAfterMs`). */
  readonly retryAfterMs: number;
  /** What every key starts with (option `prefix`). */
  readonly prefix: string;
  private readonly store: KeyvLike;
  /** While `Date.now()` is below this, the store is not asked. */
  private downUntil = 0;
  private down = false;
  private readonly lastWarning = new Map<string, number>();
  /** Errors the store reported as events (Keyv's `error`), counted so a call can tell one came during it. */
  private errorEvents = 0;
  private lastErrorEvent: unknown;

  constructor(store: KeyvLike, options: SharedStoreOptions = {}) {
    if (!isStoreLike(store)) fail('must be a Keyv-compatible store: an object with get(key), set(key, value, ttlMs) and delete(key)');
    if (!isObject(options)) fail('options must be an object { timeoutMs?, retryAfterMs?, prefix? }');
    refuseUnknownOptions('sharedStore', options, KNOWN);
    const positive = (value: unknown, what: string, fallback: number): number => {
      if (value === undefined) return fallback;
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMER_MS) {
        fail(`${what} must be a positive number of milliseconds up to ${MAX_TIMER_MS}, got ${String(value)}`);
      }
      return value;
    };
    this.store = store;
    this.timeoutMs = positive(options.timeoutMs, 'timeoutMs', DEFAULTS.timeoutMs);
    this.retryAfterMs = positive(options.retryAfterMs, 'retryAfterMs', DEFAULTS.retryAfterMs);
    const prefix = options.prefix ?? DEFAULTS.prefix;
    if (typeof prefix !== 'string' || prefix === '' || /\s/.test(prefix)) fail('prefix must be a non-empty string without spaces');
    this.prefix = prefix;
    // Keyv (without throwOnErrors) reports a failed operation as an `error` event and resolves
    // a miss: without listening, an outage would look like an empty store, and nobody would hear.
    const emitter = store as KeyvLike & { on?: (event: string, listener: (error: unknown) => void) => unknown };
    if (typeof emitter.on === 'function') {
      // Judged by the call during which it came (see `call`): a store nobody uses stays quiet.
      emitter.on('error', (error: unknown) => {
        this.errorEvents++;
        this.lastErrorEvent = error;
      });
    }
  }

  /** The store key for `id` under `purpose`: a digest, so nothing secret is ever a key. */
  keyFor(purpose: string, id: string): string {
    return `${this.prefix}:${purpose}:${createHash('sha256').update(purpose).update('\0').update(id).digest('base64url')}`;
  }

  /** Whether the store has an atomic `setIfAbsent`, so {@link firstSighting} has no race between replicas. */
  get atomic(): boolean {
    return typeof this.store.setIfAbsent === 'function';
  }

  /** `true` while the store is being left alone after a failure. */
  get unavailable(): boolean {
    return this.down && Date.now() < this.downUntil;
  }

  /**
   * The data stored for `id` with the instant (ms since the epoch) after which it means nothing,
   * if `validate` accepts the data (returns other than `undefined`) and that instant is still
   * ahead; else `undefined`. Never rejects.
   */
  async get<T>(
    purpose: string,
    id: string,
    validate: (data: unknown) => T | undefined,
    note?: StoreNote,
  ): Promise<{ data: T; until: number } | undefined> {
    const raw = await this.call('get', purpose, note, (key) => this.store.get(key), id);
    if (raw === undefined || raw === null || raw === FAILED) return undefined;
    if (!isObject(raw) || raw.v !== ENVELOPE_VERSION || typeof raw.until !== 'number' || !Number.isFinite(raw.until)) {
      this.garbage(purpose, note, 'an entry that is not one of ours');
      return undefined;
    }
    if (raw.until <= Date.now()) return undefined;
    let data: T | undefined;
    try {
      data = validate(raw.data);
    } catch {
      data = undefined;
    }
    if (data === undefined) {
      this.garbage(purpose, note, 'an entry whose data does not check out');
      return undefined;
    }
    return { data, until: raw.until };
  }

  /**
   * Stores `data` for `id` until `untilMs` (ms since the epoch). Resolves `true` when the store
   * took it; never rejects. Nothing is stored for a time already past.
   */
  async set(purpose: string, id: string, data: unknown, untilMs: number, note?: StoreNote): Promise<boolean> {
    const ttl = Math.floor(untilMs - Date.now());
    if (!(ttl >= 1)) return false;
    const envelope: Envelope = { v: ENVELOPE_VERSION, until: untilMs, data };
    const result = await this.call('set', purpose, note, (key) => this.store.set(key, envelope, ttl), id);
    if (result === FAILED) return false;
    // Keyv resolves `false` when its adapter failed and it was told not to throw.
    if (result === false) {
      this.failed('set', purpose, note, new Error('the store answered false'));
      return false;
    }
    return true;
  }

  /** Forgets `id`. Never rejects. */
  async delete(purpose: string, id: string, note?: StoreNote): Promise<void> {
    await this.call('delete', purpose, note, (key) => this.store.delete(key), id);
  }

  /**
   * Records `id` (e.g. a DPoP proof's `jti`) until `untilMs` and says whether some replica had
   * recorded it before: `'first'`, `'seen'` (a replay), or `'unknown'` when the store could not
   * tell (the caller then relies on its own per-process record).
   *
   * With the store's `setIfAbsent` (an atomic SET NX) exactly one caller gets `'first'`. Without
   * it, this reads then writes: two replicas receiving the same `id` within one store round trip
   * of each other can both get `'first'`. The written value is unique per call and read back
   * after the write, which narrows that window to the two writes' overlap but cannot close it.
   */
  async firstSighting(purpose: string, id: string, untilMs: number, note?: StoreNote): Promise<Sighting> {
    const ttl = Math.floor(untilMs - Date.now());
    if (!(ttl >= 1)) return 'unknown';
    const marker = randomUUID();
    const envelope: Envelope = { v: ENVELOPE_VERSION, until: untilMs, data: marker };
    const setIfAbsent = this.store.setIfAbsent;
    if (typeof setIfAbsent === 'function') {
      const added = await this.call('setIfAbsent', purpose, note, (key) => setIfAbsent.call(this.store, key, envelope, ttl), id);
      if (added === FAILED || typeof added !== 'boolean') {
        if (added !== FAILED) this.garbage(purpose, note, 'a setIfAbsent answer that is not true or false');
        return 'unknown';
      }
      return added ? 'first' : 'seen';
    }
    const asMarker = (d: unknown) => (typeof d === 'string' ? d : undefined);
    const before = await this.get(purpose, id, asMarker, note);
    if (before !== undefined) return 'seen';
    if (this.unavailable) return 'unknown';
    if (!(await this.set(purpose, id, marker, untilMs, note))) return 'unknown';
    const after = await this.get(purpose, id, asMarker, note);
    if (after === undefined) return 'unknown';
    // Another replica wrote between our read and our read-back: it saw it first or at the same time.
    return after.data === marker ? 'first' : 'seen';
  }

  /** Runs one store operation within `timeoutMs`; `FAILED` when it threw, timed out, or the store is resting. */
  private async call(
    operation: string,
    purpose: string,
    note: StoreNote | undefined,
    run: (key: string) => unknown,
    id: string,
  ): Promise<unknown> {
    if (this.down && Date.now() < this.downUntil) {
      note?.(`shared store skipped for ${purpose} (it failed recently; retried after ${this.retryAfterMs} ms); per-process state used`);
      return FAILED;
    }
    let timer: NodeJS.Timeout | undefined;
    const eventsBefore = this.errorEvents;
    try {
      const pending = Promise.resolve().then(() => run(this.keyFor(purpose, id)));
      const value = await Promise.race([
        pending,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new StoreTimeout(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
      // A late rejection of an abandoned call must not become an unhandled rejection.
      pending.catch(() => undefined);
      // The store reported an error while this call ran: its answer is a default, not data.
      if (this.errorEvents !== eventsBefore) {
        this.failed(operation, purpose, note, this.lastErrorEvent);
        return FAILED;
      }
      this.recovered();
      return value;
    } catch (error) {
      this.failed(operation, purpose, note, error);
      return FAILED;
    } finally {
      clearTimeout(timer);
    }
  }

  private failed(operation: string, purpose: string, note: StoreNote | undefined, error: unknown): void {
    this.down = true;
    this.downUntil = Date.now() + this.retryAfterMs;
    const why = describe(error);
    note?.(`shared store ${operation} for ${purpose} failed (${why}); per-process state used`);
    this.warn('failure', `express-multiauth: the shared store failed (${operation} for ${purpose}: ${why}); falling back to per-process state and retrying every ${this.retryAfterMs} ms`);
  }

  private garbage(purpose: string, note: StoreNote | undefined, what: string): void {
    note?.(`shared store returned ${what} for ${purpose}; treated as a miss`);
    this.warn('garbage', `express-multiauth: the shared store returned ${what} for ${purpose}; treated as a miss (is another application writing under the prefix "${this.prefix}"?)`);
  }

  private recovered(): void {
    if (!this.down) return;
    this.down = false;
    this.warn('recovered', 'express-multiauth: the shared store answers again; shared state is back in use');
  }

  /** At most one warning a minute per cause: an outage must not flood the logs. */
  private warn(cause: string, message: string): void {
    const now = Date.now();
    const last = this.lastWarning.get(cause);
    if (last !== undefined && now - last < WARNING_INTERVAL_MS) return;
    this.lastWarning.set(cause, now);
    process.emitWarning(message, { code: WARNING_CODES[cause] });
  }
}

const FAILED: unique symbol = Symbol('failed');

/**
 * Wraps a Keyv-compatible store with the package's bounds (time limit per call, rest after a
 * failure, key prefix). Pass the result as `store` to `multiAuth` and `introspectionVerifier`
 * to share one health state and one rate-limited warning between them; passing the Keyv
 * itself works too, with the defaults.
 *
 * @example
 * import Keyv from 'keyv';
 * import KeyvRedis from '@keyv/redis';
 * const store = sharedStore(new Keyv(new KeyvRedis(process.env.REDIS_URL!)), { timeoutMs: 50 });
 */
export function sharedStore(store: KeyvLike, options?: SharedStoreOptions): SharedStore {
  return new SharedStore(store, options);
}

/**
 * The `store` option as given (a Keyv-compatible store or a {@link SharedStore}), as a
 * `SharedStore`, or `undefined` when none was given.
 */
export function toSharedStore(value: unknown, owner: string): SharedStore | undefined {
  if (value === undefined) return undefined;
  if (value instanceof SharedStore) return value;
  if (!isStoreLike(value)) {
    throw new MultiAuthConfigError(
      `${owner}: store must be a Keyv-compatible store (get, set, delete), e.g. new Keyv(new KeyvRedis(url)), or sharedStore(...)`,
    );
  }
  return new SharedStore(value);
}
