// Attack: send one captured DPoP proof to two replicas at the same instant. With proof ids
// shared by a read and then a write, both replicas read "not seen" before either writes, and
// both accept. The recommended store (docs/replicas.md's recipe) claims a proof id with one
// atomic SET NX PX, so exactly one replica accepts; a store without it is warned about at
// construction. Real Redis, real replicas (separate processes), a real DPoP-bound token.
import { makeProof, proofKey, type ProofKey } from '../support/dpop';
import { introspectionOptionsFor, startIssuer, type Issuer } from '../support/issuer';
import { startRedis, type RedisServer } from '../support/redis';
import { startReplica, type Replica } from '../support/replicas';

jest.setTimeout(180_000);

const PUBLIC_ORIGIN = 'http://mcp.example.test';
const TRIES = 60;

let issuer: Issuer;
let redis: RedisServer;
const atomic: Replica[] = [];
let plain: Replica | undefined;

beforeAll(async () => {
  [issuer, redis] = await Promise.all([startIssuer(), startRedis()]);
  const options = { redisUrl: redis.url, introspection: introspectionOptionsFor(issuer), storeTimeoutMs: 2_000, retryAfterMs: 200, dpopOrigin: PUBLIC_ORIGIN };
  [atomic[0], atomic[1], plain] = await Promise.all([startReplica(options), startReplica(options), startReplica({ ...options, atomicReplay: false })]);
});
afterAll(async () => {
  await Promise.all([...atomic, plain].map((r) => r?.stop()));
  await Promise.all([issuer?.stop(), redis?.stop()]);
});

async function boundToken(key: ProofKey): Promise<string> {
  const dpop = await makeProof(key, { htm: 'POST', htu: issuer.tokenEndpoint, ath: null });
  const response = await issuer.tokenResponse({ resource: issuer.opaqueResource, scope: 'mcp:read', dpop });
  expect(response.token_type).toBe('DPoP');
  return response.access_token;
}

async function status(replica: Replica, token: string, proof: string): Promise<number> {
  const res = await fetch(`${replica.origin}/echo`, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
  await res.arrayBuffer();
  return res.status;
}

describe('a DPoP proof sent to two replicas at once is accepted once', () => {
  it(`through the recommended store: never twice in ${TRIES} tries`, async () => {
    const key = await proofKey('ES256');
    const token = await boundToken(key);
    const proof = () => makeProof(key, { htm: 'GET', htu: `${PUBLIC_ORIGIN}/echo`, token });
    // Both replicas know the token already, so the race is on the proof id alone.
    for (const replica of atomic) expect(await status(replica, token, await proof())).toBe(200);
    let both = 0;
    for (let i = 0; i < TRIES; i++) {
      const p = await proof();
      const answers = await Promise.all(atomic.map((r) => status(r, token, p)));
      if (answers.every((s) => s === 200)) both++;
      expect(answers).toContain(200);
    }
    expect(both).toBe(0);
  });

  it('a replica sharing proof ids through a store without setIfAbsent is warned about at start', async () => {
    const { warnings } = await (plain as Replica).takeDecisions();
    expect(warnings.some((w) => /without setIfAbsent/.test(w))).toBe(true);
    const { warnings: quiet } = await atomic[0].takeDecisions();
    expect(quiet.some((w) => /without setIfAbsent/.test(w))).toBe(false);
  });
});
