// The shared store wrapper against a real redis-server: what it keeps, and how it behaves when
// the store is down, slow or answers garbage (never a throw, always a note and one warning).
import Keyv from 'keyv';
import KeyvRedis, { createClient } from '@keyv/redis';
import { MultiAuthConfigError } from '../../lib/core/errors';
import { SharedStore, sharedStore, toSharedStore, type KeyvLike } from '../../lib/transport/shared-store';
import { startRedis, type RedisServer } from '../support/redis';

type RawClient = ReturnType<typeof createClient>;

let redis: RedisServer;
let raw: RawClient;
const opened: Keyv[] = [];

/** A Keyv on the test Redis as README recommends: errors thrown, no offline queue. */
function keyvOn(url: string): Keyv {
  const keyv = new Keyv(new KeyvRedis({ url, disableOfflineQueue: true }, { throwOnErrors: true }), { throwOnErrors: true });
  opened.push(keyv);
  return keyv;
}

/** Records the package's process warnings (Jest's sandboxed `process` does not relay 'warning' events). */
function captureWarnings(): { list: Array<{ code?: string; message: string }>; stop(): void } {
  const list: Array<{ code?: string; message: string }> = [];
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation(((message: string | Error, options?: { code?: string }) => {
    const text = typeof message === 'string' ? message : message.message;
    if (text.startsWith('express-multiauth')) list.push({ code: options?.code, message: text });
  }) as typeof process.emitWarning);
  return { list, stop: () => spy.mockRestore() };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  redis = await startRedis();
  raw = createClient({ url: redis.url });
  // The tests kill Redis on purpose: the raw client reconnects, and must not crash the run meanwhile.
  raw.on('error', () => undefined);
  await raw.connect();
});

afterAll(async () => {
  await Promise.all(opened.map((k) => k.disconnect().catch(() => undefined)));
  await raw?.quit().catch(() => undefined);
  await redis?.stop();
});

beforeEach(async () => {
  // A test that failed between killing Redis and restarting it must not take the others down.
  if (!redis.alive) await redis.restart();
  await raw.flushAll();
});

const asNumber = (d: unknown) => (typeof d === 'number' ? d : undefined);

describe('SharedStore on Redis', () => {
  it('gives back what was stored, under a digest key that holds neither the id nor the data', async () => {
    const store = sharedStore(keyvOn(redis.url));
    const id = 'opaque-token-value-that-must-not-leak';
    expect(await store.set('introspection', id, 42, Date.now() + 60_000)).toBe(true);
    expect(await store.get('introspection', id, asNumber)).toEqual({ data: 42, until: expect.any(Number) });
    const keys = await raw.keys('*');
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain(id);
    expect(keys[0]).toContain(store.keyFor('introspection', id));
    expect(await raw.get(keys[0])).not.toContain(id);
  });

  it('keeps purposes apart: the same id under another purpose is a miss', async () => {
    const store = sharedStore(keyvOn(redis.url));
    await store.set('rejected', 'same-id', 1, Date.now() + 60_000);
    expect(await store.get('introspection', 'same-id', asNumber)).toBeUndefined();
  });

  it('sets the store TTL from the entry\'s end: Redis forgets it no later', async () => {
    const store = sharedStore(keyvOn(redis.url));
    await store.set('introspection', 'ttl', 1, Date.now() + 30_000);
    const [key] = await raw.keys('*');
    const pttl = await raw.pTTL(key);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(30_000);
  });

  it('stores nothing whose end has already passed', async () => {
    const store = sharedStore(keyvOn(redis.url));
    expect(await store.set('introspection', 'late', 1, Date.now() - 1)).toBe(false);
    expect(await raw.keys('*')).toEqual([]);
  });

  it('treats an entry past its own end as a miss, whatever the store\'s TTL kept', async () => {
    const keyv = keyvOn(redis.url);
    const store = sharedStore(keyv);
    await keyv.set(store.keyFor('introspection', 'stale'), { v: 1, until: Date.now() - 1000, data: 7 }, 60_000);
    expect(await store.get('introspection', 'stale', asNumber)).toBeUndefined();
  });

  it('treats garbage as a miss, with a note per read and one warning', async () => {
    const keyv = keyvOn(redis.url);
    const store = sharedStore(keyv);
    const warnings = captureWarnings();
    try {
      await keyv.set(store.keyFor('introspection', 'junk'), 'not an envelope', 60_000);
      await keyv.set(store.keyFor('introspection', 'wrong-data'), { v: 1, until: Date.now() + 60_000, data: 'text' }, 60_000);
      const notes: string[] = [];
      expect(await store.get('introspection', 'junk', asNumber, (n) => notes.push(n))).toBeUndefined();
      expect(await store.get('introspection', 'wrong-data', asNumber, (n) => notes.push(n))).toBeUndefined();
      expect(notes).toEqual([expect.stringContaining('not one of ours'), expect.stringContaining('does not check out')]);
      expect(warnings.list).toEqual([expect.objectContaining({ code: 'MULTIAUTH_STORE_GARBAGE' })]);
    } finally {
      warnings.stop();
    }
  });

  it('treats a validator that throws as a miss', async () => {
    const store = sharedStore(keyvOn(redis.url));
    await store.set('introspection', 'x', 1, Date.now() + 60_000);
    const thrower = () => {
      throw new Error('bad');
    };
    expect(await store.get('introspection', 'x', thrower)).toBeUndefined();
  });
});

describe('SharedStore when Redis is down', () => {
  it('resolves every call, notes it, warns once, rests, and recovers when Redis is back', async () => {
    const store = sharedStore(keyvOn(redis.url), { timeoutMs: 2000, retryAfterMs: 200 });
    await store.set('introspection', 'kept', 1, Date.now() + 60_000);
    const warnings = captureWarnings();
    try {
      await redis.kill();
      const notes: string[] = [];
      expect(await store.get('introspection', 'kept', asNumber, (n) => notes.push(n))).toBeUndefined();
      expect(await store.set('introspection', 'other', 1, Date.now() + 60_000, (n) => notes.push(n))).toBe(false);
      expect(await store.firstSighting('jti', 'j', Date.now() + 60_000, (n) => notes.push(n))).toBe('unknown');
      expect(notes[0]).toMatch(/shared store get for introspection failed .*per-process state used/);
      expect(notes.slice(1)).toEqual([expect.stringContaining('skipped'), expect.stringContaining('skipped')]);
      expect(store.unavailable).toBe(true);
      expect(warnings.list).toEqual([expect.objectContaining({ code: 'MULTIAUTH_STORE_UNAVAILABLE' })]);

      await redis.restart();
      let back: { data: number } | undefined;
      for (let i = 0; i < 100 && back === undefined; i++) {
        await sleep(100);
        await store.set('introspection', 'after', 5, Date.now() + 60_000);
        back = await store.get('introspection', 'after', asNumber);
      }
      expect(back?.data).toBe(5);
      expect(store.unavailable).toBe(false);
      expect(warnings.list.map((w) => w.code)).toEqual(['MULTIAUTH_STORE_UNAVAILABLE', 'MULTIAUTH_STORE_RECOVERED']);
    } finally {
      warnings.stop();
    }
  });

  it('bounds the wait on a store that hangs, and resolves a miss', async () => {
    const store = sharedStore(keyvOn(redis.url), { timeoutMs: 200 });
    await store.set('introspection', 'slow', 1, Date.now() + 60_000);
    const notes: string[] = [];
    // A stopped process keeps its socket open and answers nothing: the real shape of a hung store.
    const pid = await raw.info('server').then((info) => Number(/process_id:(\d+)/.exec(info)?.[1]));
    process.kill(pid, 'SIGSTOP');
    try {
      expect(await store.get('introspection', 'slow', asNumber, (n) => notes.push(n))).toBeUndefined();
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(notes).toEqual([expect.stringContaining('no answer within 200 ms')]);
  });

  it('absorbs a store that throws synchronously or answers set with false', async () => {
    const throwing: KeyvLike = {
      get: () => {
        throw new Error('sync boom');
      },
      set: async () => false,
      delete: async () => true,
    };
    const store = sharedStore(throwing, { retryAfterMs: 1 });
    const notes: string[] = [];
    expect(await store.get('p', 'id', asNumber, (n) => notes.push(n))).toBeUndefined();
    await sleep(5);
    expect(await store.set('p', 'id', 1, Date.now() + 1000, (n) => notes.push(n))).toBe(false);
    expect(notes).toEqual([expect.stringContaining('sync boom'), expect.stringContaining('answered false')]);
  });
});

describe('SharedStore.firstSighting', () => {
  it('says first, then seen, across two replicas\' stores (read-then-write without setIfAbsent)', async () => {
    const a = sharedStore(keyvOn(redis.url));
    const b = sharedStore(keyvOn(redis.url));
    expect(await a.firstSighting('dpop-jti', 'jti-1', Date.now() + 60_000)).toBe('first');
    expect(await b.firstSighting('dpop-jti', 'jti-1', Date.now() + 60_000)).toBe('seen');
    expect(await a.firstSighting('dpop-jti', 'jti-1', Date.now() + 60_000)).toBe('seen');
  });

  it('with an atomic setIfAbsent (Redis SET NX), exactly one of many concurrent callers is first', async () => {
    const replicas = Array.from({ length: 5 }, () => {
      const keyv = keyvOn(redis.url);
      const store: KeyvLike = Object.assign(keyv, {
        async setIfAbsent(key: string, value: unknown, ttlMs: number) {
          return (await raw.set(`nx:${key}`, JSON.stringify(value), { NX: true, PX: ttlMs })) === 'OK';
        },
      });
      return sharedStore(store);
    });
    const answers = await Promise.all(replicas.map((r) => r.firstSighting('dpop-jti', 'jti-2', Date.now() + 60_000)));
    expect(answers.filter((a) => a === 'first')).toHaveLength(1);
    expect(answers.filter((a) => a === 'seen')).toHaveLength(4);
  });
});

describe('SharedStore configuration', () => {
  it('refuses what is not a store, and unknown or bad options, by name', () => {
    expect(() => toSharedStore({ get() {} }, 'multiAuth')).toThrow(MultiAuthConfigError);
    expect(() => toSharedStore({ get() {} }, 'multiAuth')).toThrow(/multiAuth: store must be a Keyv-compatible store/);
    const map = new Map();
    expect(() => sharedStore(map, { timeout: 5 } as never)).toThrow(/^sharedStore: unknown option "timeout"; did you mean "timeoutMs"\?/);
    expect(() => sharedStore(map, { timeoutMs: 0 })).toThrow(/timeoutMs must be a positive number/);
    expect(() => sharedStore(map, { prefix: 'a b' })).toThrow(/prefix/);
  });

  it('takes a Keyv-compatible store as is, and a SharedStore unchanged', () => {
    const wrapped = sharedStore(new Map());
    expect(toSharedStore(wrapped, 'x')).toBe(wrapped);
    expect(toSharedStore(new Map(), 'x')).toBeInstanceOf(SharedStore);
    expect(toSharedStore(undefined, 'x')).toBeUndefined();
  });
});
