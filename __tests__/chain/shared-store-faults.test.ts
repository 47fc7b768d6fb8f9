// multiAuth + introspectionVerifier on a shared store that is down, hangs or answers garbage
// (a real Redis, killed, stopped or overwritten; the real oidc-provider behind): every answer is
// still the right one, onDecision says what happened, and one warning goes out per cause.
import Keyv from 'keyv';
import KeyvRedis, { createClient } from '@keyv/redis';
import { multiAuth, type MultiAuth } from '../../lib/chain/multi-auth';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { MultiAuthConfigError } from '../../lib/core/errors';
import { sharedStore, type SharedStore } from '../../lib/transport/shared-store';
import type { Decision } from '../../lib/core/types';
import { introspectionOptionsFor, startIssuer, type Issuer } from '../support/issuer';
import { startRedis, type RedisServer } from '../support/redis';

jest.setTimeout(60_000);

let issuer: Issuer;
let redis: RedisServer;
let raw: ReturnType<typeof createClient>;
const keyvs: Keyv[] = [];

beforeAll(async () => {
  [issuer, redis] = await Promise.all([startIssuer(), startRedis()]);
  raw = createClient({ url: redis.url });
  raw.on('error', () => undefined);
  await raw.connect();
});

afterAll(async () => {
  await Promise.all(keyvs.map((k) => k.disconnect().catch(() => undefined)));
  await raw?.quit().catch(() => undefined);
  await Promise.all([issuer?.stop(), redis?.stop()]);
});

beforeEach(async () => {
  if (!redis.alive) await redis.restart();
  await raw.flushAll();
  await issuer.resetRequests();
});

/** One replica: multiAuth and its introspectionVerifier on one shared store, recording decisions. */
function replica(storeOptions: { timeoutMs?: number; retryAfterMs?: number } = {}): { auth: MultiAuth; decisions: Decision[]; store: SharedStore } {
  const keyv = new Keyv(new KeyvRedis({ url: redis.url, disableOfflineQueue: true }, { throwOnErrors: true }), { throwOnErrors: true });
  keyvs.push(keyv);
  const store = sharedStore(keyv, { timeoutMs: 2_000, ...storeOptions });
  const decisions: Decision[] = [];
  const auth = multiAuth({
    verifiers: [introspectionVerifier({ ...introspectionOptionsFor(issuer), store })],
    store,
    onDecision: (d) => decisions.push(d),
  });
  return { auth, decisions, store };
}

/** The status HTTP would have answered, from `verify`. */
async function statusOf(auth: MultiAuth, token: string): Promise<number> {
  try {
    await auth.verify(token);
    return 200;
  } catch (error) {
    return (error as { status: number }).status;
  }
}

function captureWarnings(): { codes: string[]; stop(): void } {
  const codes: string[] = [];
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation(((message: string | Error, options?: { code?: string }) => {
    const text = typeof message === 'string' ? message : message.message;
    if (text.startsWith('express-multiauth')) codes.push(options?.code ?? text);
  }) as typeof process.emitWarning);
  return { codes, stop: () => spy.mockRestore() };
}

const notesOf = (decisions: Decision[]) => decisions.map((d) => [...(d.notes ?? []), ...d.attempts.flatMap((a) => a.notes ?? [])]);
const introspections = () => issuer.requestCount(issuer.introspectionEndpoint);

describe('a shared store that fails', () => {
  it('down: good tokens accepted, bad ones 401 (never 503 or 500), a note on each, one warning', async () => {
    const { auth, decisions } = replica({ retryAfterMs: 60_000 });
    const good = await issuer.opaqueToken({ scope: 'mcp:read' });
    const warnings = captureWarnings();
    try {
      await redis.kill();
      expect(await statusOf(auth, good)).toBe(200);
      expect(await statusOf(auth, 'opaque-never-issued-1')).toBe(401);
      expect(await statusOf(auth, 'opaque-never-issued-2')).toBe(401);
      expect(warnings.codes).toEqual(['MULTIAUTH_STORE_UNAVAILABLE']);
      const notes = notesOf(decisions);
      // The first call finds out (a refused connection, or no answer within timeoutMs); later
      // ones leave the store alone. Every decision says so.
      expect(notes[0][0]).toMatch(/^shared store get for rejected failed .*; per-process state used$/);
      for (const n of notes.flat().slice(1)) expect(n).toMatch(/^shared store skipped for (rejected|introspection) .*per-process state used$/);
      for (const n of notes) expect(n.length).toBeGreaterThan(0);
      expect(await introspections()).toBe(3);
    } finally {
      warnings.stop();
    }
  });

  it('hanging: each call waits no longer than timeoutMs, and the answer is right', async () => {
    const { auth, decisions } = replica({ timeoutMs: 300 });
    const good = await issuer.opaqueToken({ scope: 'mcp:read' });
    const pid = Number(/process_id:(\d+)/.exec(await raw.info('server'))?.[1]);
    const warnings = captureWarnings();
    process.kill(pid, 'SIGSTOP');
    try {
      expect(await statusOf(auth, good)).toBe(200);
    } finally {
      process.kill(pid, 'SIGCONT');
      warnings.stop();
    }
    const [notes] = notesOf(decisions);
    expect(notes[0]).toBe('shared store get for rejected failed (no answer within 300 ms); per-process state used');
    expect(notes.slice(1)).toEqual([expect.stringContaining('skipped for introspection'), expect.stringContaining('skipped for introspection')]);
    expect(warnings.codes).toEqual(['MULTIAUTH_STORE_UNAVAILABLE']);
  });

  it('garbage under our keys: read as a miss, the endpoint asked again, noted, one warning', async () => {
    const a = replica();
    const b = replica();
    const good = await issuer.opaqueToken({ scope: 'mcp:read' });
    expect(await statusOf(a.auth, good)).toBe(200);
    // Another writer puts well-formed Keyv entries with nonsense in them under every key.
    for (const key of await raw.keys('*')) {
      const nonsense = { v: 1, until: Date.now() + 60_000, data: { active: true, claims: { active: true, exp: 'soon' } } };
      await raw.set(key, JSON.stringify({ value: nonsense, expires: null }));
    }
    const warnings = captureWarnings();
    try {
      expect(await statusOf(b.auth, good)).toBe(200);
      expect(await introspections()).toBe(2);
      expect(notesOf(b.decisions)[0]).toEqual([expect.stringContaining('treated as a miss')]);
      expect(warnings.codes).toEqual(['MULTIAUTH_STORE_GARBAGE']);
    } finally {
      warnings.stop();
    }
  });

  it('an accepted token is never kept in the store past its exp', async () => {
    const { auth } = replica();
    const token = await issuer.opaqueToken({ scope: 'mcp:read', ttl: 20 });
    expect(await statusOf(auth, token)).toBe(200);
    const keys = await raw.keys('*');
    expect(keys).toHaveLength(1);
    const pttl = await raw.pTTL(keys[0]);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(20_000);
    expect(await raw.get(keys[0])).not.toContain(token);
  });
});

describe('store option', () => {
  it('multiAuth and introspectionVerifier refuse a store that is not Keyv-compatible', () => {
    expect(() => multiAuth({ verifiers: [introspectionVerifier(introspectionOptionsFor(issuer))], store: {} as never })).toThrow(
      /multiAuth: store must be a Keyv-compatible store/,
    );
    expect(() => introspectionVerifier({ ...introspectionOptionsFor(issuer), store: { get() {} } as never })).toThrow(MultiAuthConfigError);
  });

  it('introspectionVerifier refuses a store without its cache', () => {
    expect(() => introspectionVerifier({ ...introspectionOptionsFor(issuer), cache: false, store: new Map() })).toThrow(/needs the cache/);
  });
});
