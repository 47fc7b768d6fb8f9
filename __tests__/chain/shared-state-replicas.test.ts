// Three replicas of one resource server (three processes) behind an imaginary load balancer,
// sharing one real Redis and one real introspection endpoint (oidc-provider): what one replica
// learnt, the others use; and Redis dying mid-run costs no request its right answer.
import { makeProof, proofKey } from '../support/dpop';
import { introspectionOptionsFor, startIssuer, type Issuer } from '../support/issuer';
import { startRedis, type RedisServer } from '../support/redis';
import { startReplica, type Replica } from '../support/replicas';

jest.setTimeout(120_000);

/** The one origin clients see in front of the replicas (DPoP proofs name it in `htu`). */
const PUBLIC_ORIGIN = 'http://mcp.example.test';

let issuer: Issuer;
let redis: RedisServer;
let replicas: Replica[] = [];

beforeAll(async () => {
  [issuer, redis] = await Promise.all([startIssuer(), startRedis()]);
  const options = {
    redisUrl: redis.url,
    introspection: introspectionOptionsFor(issuer),
    // Generous on a loaded CI machine: a timed-out store call would mean one more introspection.
    storeTimeoutMs: 2_000,
    retryAfterMs: 200,
    dpopOrigin: PUBLIC_ORIGIN,
  };
  replicas = await Promise.all([startReplica(options), startReplica(options), startReplica(options)]);
});

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await Promise.all([issuer?.stop(), redis?.stop()]);
});

beforeEach(async () => {
  if (!redis.alive) await redis.restart();
  await Promise.all(replicas.map((r) => r.takeDecisions()));
  await issuer.resetRequests();
});

async function call(
  replica: Replica,
  token: string,
  dpopProof?: string,
): Promise<{ status: number; body: Record<string, unknown>; challenge: string | null }> {
  const headers: Record<string, string> = dpopProof ? { authorization: `DPoP ${token}`, dpop: dpopProof } : { authorization: `Bearer ${token}` };
  const res = await fetch(`${replica.origin}/echo`, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, challenge: res.headers.get('www-authenticate') };
}

const introspections = () => issuer.requestCount(issuer.introspectionEndpoint);

describe('replicas sharing one Redis', () => {
  it('introspect each token once across all replicas', async () => {
    const tokens = await Promise.all([issuer.opaqueToken({ scope: 'mcp:read' }), issuer.opaqueToken({ scope: 'mcp:read' })]);
    await issuer.resetRequests();
    for (const token of tokens) {
      for (const replica of replicas) {
        expect(await call(replica, token)).toMatchObject({ status: 200, body: { source: 'corp-as', clientId: issuer.m2mClient.clientId } });
      }
    }
    expect(await introspections()).toBe(tokens.length);
    // The second and third replicas say where their answer came from.
    const { decisions } = await replicas[1].takeDecisions();
    expect(decisions.map((d) => d.attempts[0]?.notes)).toEqual([
      ['introspection answer from the shared store'],
      ['introspection answer from the shared store'],
    ]);
  });

  it('serve a rejection one replica learnt to the others from the store', async () => {
    const bogus = `opaque-${Date.now()}-never-issued`;
    expect((await call(replicas[0], bogus)).status).toBe(401);
    expect(await introspections()).toBe(1);
    expect((await call(replicas[1], bogus)).status).toBe(401);
    expect((await call(replicas[2], bogus)).status).toBe(401);
    expect(await introspections()).toBe(1);
    const { decisions } = await replicas[2].takeDecisions();
    expect(decisions).toEqual([expect.objectContaining({ outcome: 'rejected', cached: true, reason: 'rejected recently (shared store)', attempts: [] })]);
  });

  it('refuse a DPoP proof replayed to another replica', async () => {
    const key = await proofKey('ES256');
    const tokenProof = await makeProof(key, { htm: 'POST', htu: issuer.tokenEndpoint, ath: null });
    const response = await issuer.tokenResponse({ resource: issuer.opaqueResource, scope: 'mcp:read', dpop: tokenProof });
    expect(response.token_type).toBe('DPoP');
    const token = response.access_token;
    const proof = await makeProof(key, { htm: 'GET', htu: `${PUBLIC_ORIGIN}/echo`, token });
    expect(await call(replicas[0], token, proof)).toMatchObject({ status: 200, body: { source: 'corp-as', dpop: { jkt: key.jkt } } });
    const replayed = await call(replicas[1], token, proof);
    expect(replayed.status).toBe(401);
    expect(replayed.challenge).toContain('error="invalid_dpop_proof"');
    // A fresh proof from the same key passes at that replica: what it refused was the replay.
    const fresh = await makeProof(key, { htm: 'GET', htu: `${PUBLIC_ORIGIN}/echo`, token });
    expect((await call(replicas[1], token, fresh)).status).toBe(200);
  });

  it('lose no request when Redis dies mid-run, and share again once it is back', async () => {
    const good = await Promise.all(Array.from({ length: 6 }, () => issuer.opaqueToken({ scope: 'mcp:read' })));
    const bad = Array.from({ length: 6 }, (_, i) => `opaque-${Date.now()}-bad-${i}`);
    const answers: Array<{ expected: number; got: number }> = [];
    const round = async (tokens: string[], expected: number) => {
      await Promise.all(
        tokens.flatMap((token, i) =>
          replicas.map(async (replica, r) => {
            const { status } = await call(replicas[(i + r) % replicas.length], token);
            answers.push({ expected, got: status });
          }),
        ),
      );
    };
    // Some tokens seen with Redis up, then Redis killed while more requests are in flight.
    await round([good[0]], 200);
    await round([bad[0]], 401);
    await Promise.all([round(good.slice(1, 3), 200), round(bad.slice(1, 3), 401), redis.kill()]);
    await round(good.slice(3), 200);
    await round(bad.slice(3), 401);
    expect(answers.length).toBe(3 * good.length + 3 * bad.length);
    expect(answers.filter((a) => a.got !== a.expected)).toEqual([]);

    // Each replica noticed, said so once, and answered from its own state meanwhile.
    const seen = await Promise.all(replicas.map((r) => r.takeDecisions()));
    for (const { decisions, warnings } of seen) {
      expect(warnings.filter((w) => w.includes('the shared store failed'))).toHaveLength(1);
      expect(decisions.some((d) => JSON.stringify(d).includes('per-process state used'))).toBe(true);
    }

    await redis.restart();
    const fresh = await issuer.opaqueToken({ scope: 'mcp:read' });
    // The replicas retry the store every 200 ms: wait until each one uses it again, then count.
    for (const replica of replicas) {
      for (let i = 0; i < 100; i++) {
        await call(replica, `opaque-probe-${Date.now()}-${i}`);
        const { decisions } = await replica.takeDecisions();
        if (!JSON.stringify(decisions).includes('per-process state used')) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await issuer.resetRequests();
    for (const replica of replicas) expect((await call(replica, fresh)).status).toBe(200);
    expect(await introspections()).toBe(1);
  });
});
