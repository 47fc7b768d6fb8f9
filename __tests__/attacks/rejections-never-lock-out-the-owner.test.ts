// Attack class: turning a remembered rejection against the token's owner. A thief holding only
// a stolen DPoP-bound token sends it as Bearer (refused, rightly) and hopes the refusal is
// remembered by token alone, so the owner's own DPoP requests are refused too; or a token is
// refused by a router with other rules (another audience, no DPoP) and the refusal travels
// through the shared store to the router where it is good.
// The promise (SECURITY.md "How it was attacked"): a rejection is reused, in process or through
// the store, only under a key naming the rules that produced it (the router's sources,
// audiences and DPoP settings) and the kind of request (Bearer or DPoP).
import { createServer, type Server } from 'node:http';
import express from 'express';
import { auth as jwtBearer } from 'express-oauth2-jwt-bearer';
import { multiAuth } from '../../lib/chain/multi-auth';
import { middlewareVerifier } from '../../lib/sources/middleware-verifier';
import { makeProof, proofKey, type ProofKey } from '../support/dpop';
import { introspectionOptionsFor, startIssuer, type Issuer } from '../support/issuer';
import { closeServer, listenOnLoopback } from '../support/loopback';
import { startRedis, type RedisServer } from '../support/redis';
import { startReplica, type Replica } from '../support/replicas';

jest.setTimeout(120_000);

const RESOURCE = 'http://127.0.0.1/mcp';
/** The one origin clients see in front of the replicas (DPoP proofs name it in `htu`). */
const PUBLIC_ORIGIN = 'http://mcp.example.test';

let issuer: Issuer;
let ownerKey: ProofKey;

/** A token bound to `ownerKey`, for `resource` (JWT) or the issuer's opaque resource. */
async function boundToken(opaque: boolean): Promise<string> {
  const dpop = await makeProof(ownerKey, { htm: 'POST', htu: issuer.tokenEndpoint, ath: null });
  return opaque
    ? issuer.opaqueToken({ scope: 'mcp:read', dpop })
    : (await issuer.tokenResponse({ resource: RESOURCE, scope: 'mcp:read', dpop })).access_token;
}

beforeAll(async () => {
  issuer = await startIssuer();
  ownerKey = await proofKey('ES256');
});
afterAll(() => issuer?.stop());

describe('a thief\'s Bearer use of a stolen bound token never refuses the owner\'s DPoP use (one process)', () => {
  let server: Server;
  let origin: string;
  beforeAll(async () => {
    const app = express();
    server = createServer(app);
    origin = await listenOnLoopback(server);
    // express-oauth2-jwt-bearer refuses the Bearer use itself (its DPoP support is on by
    // default) and accepts the DPoP use: a source whose answer depends on the scheme.
    const auth = multiAuth({
      verifiers: middlewareVerifier({
        name: 'auth0',
        middleware: jwtBearer({ issuer: issuer.issuer, jwksUri: issuer.jwksUri, audience: RESOURCE }),
        cacheable: true,
      }),
      dpop: { url: origin },
    });
    app.use(auth);
    app.get('/echo', (_req, res) => res.json({ ok: true }));
  });
  afterAll(() => closeServer(server));

  it('answers the owner 200 every time, the thief 401 every time, interleaved', async () => {
    const token = await boundToken(false);
    const answers: string[] = [];
    for (let i = 0; i < 12; i++) {
      const thief = await fetch(`${origin}/echo`, { headers: { authorization: `Bearer ${token}` } });
      const proof = await makeProof(ownerKey, { htm: 'GET', htu: `${origin}/echo`, token });
      const owner = await fetch(`${origin}/echo`, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
      answers.push(`thief ${thief.status}, owner ${owner.status}`);
    }
    expect(answers).toEqual(Array.from({ length: 12 }, () => 'thief 401, owner 200'));
  });

  it('answers the owner 200 when the thief sends the token with the DPoP scheme and a valid proof by their own key', async () => {
    const token = await boundToken(false);
    const thiefKey = await proofKey('ES256');
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) {
      const thiefProof = await makeProof(thiefKey, { htm: 'GET', htu: `${origin}/echo`, token });
      const thief = await fetch(`${origin}/echo`, { headers: { authorization: `DPoP ${token}`, dpop: thiefProof } });
      const proof = await makeProof(ownerKey, { htm: 'GET', htu: `${origin}/echo`, token });
      const owner = await fetch(`${origin}/echo`, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
      answers.push(`thief ${thief.status}, owner ${owner.status}`);
    }
    expect(answers).toEqual(Array.from({ length: 6 }, () => 'thief 401, owner 200'));
  });
});

describe('replicas sharing one Redis: a refusal under one router\'s rules never refuses the token at another', () => {
  let redis: RedisServer;
  /** Audience: the issuer's opaque resource; DPoP on. Where the owner's token is good. */
  let good: Replica;
  /** Another audience. */
  let otherAudience: Replica;
  /** The same audience, Bearer only (no dpop). */
  let bearerOnly: Replica;

  beforeAll(async () => {
    redis = await startRedis();
    const base = { redisUrl: redis.url, storeTimeoutMs: 2_000, retryAfterMs: 200, dpopOrigin: PUBLIC_ORIGIN };
    const introspection = introspectionOptionsFor(issuer);
    [good, otherAudience, bearerOnly] = await Promise.all([
      startReplica({ ...base, introspection }),
      startReplica({ ...base, introspection: { ...introspection, audience: 'http://127.0.0.1/another-api' } }),
      startReplica({ ...base, introspection, dpop: false }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([good, otherAudience, bearerOnly].map((r) => r?.stop()));
    await redis?.stop();
  });

  const bearer = async (replica: Replica, token: string) =>
    (await fetch(`${replica.origin}/echo`, { headers: { authorization: `Bearer ${token}` } })).status;
  const dpop = async (replica: Replica, token: string) => {
    const proof = await makeProof(ownerKey, { htm: 'GET', htu: `${PUBLIC_ORIGIN}/echo`, token });
    return (await fetch(`${replica.origin}/echo`, { headers: { authorization: `DPoP ${token}`, dpop: proof } })).status;
  };

  it('a router with another audience refuses the token; the router it was issued for still accepts it', async () => {
    const token = await boundToken(true);
    expect(await dpop(otherAudience, token)).toBe(401);
    expect(await dpop(good, token)).toBe(200);
  });

  it('a Bearer-only router refuses the bound token; the owner\'s DPoP use at a DPoP router still passes', async () => {
    const token = await boundToken(true);
    expect(await bearer(bearerOnly, token)).toBe(401);
    expect(await dpop(good, token)).toBe(200);
  });

  it('the thief\'s Bearer use at the DPoP router itself never refuses the owner at another replica of it', async () => {
    const token = await boundToken(true);
    expect(await bearer(good, token)).toBe(401);
    const twin = await startReplica({
      redisUrl: redis.url, storeTimeoutMs: 2_000, retryAfterMs: 200, dpopOrigin: PUBLIC_ORIGIN, introspection: introspectionOptionsFor(issuer),
    });
    try {
      expect(await dpop(twin, token)).toBe(200);
    } finally {
      await twin.stop();
    }
  });

  it('what stays shared: a token the authorization server calls inactive is refused by every replica without asking again', async () => {
    const bogus = `opaque-${Date.now()}-never-issued`;
    expect(await bearer(bearerOnly, bogus)).toBe(401);
    await issuer.resetRequests();
    expect(await bearer(good, bogus)).toBe(401);
    expect(await issuer.requestCount(issuer.introspectionEndpoint)).toBe(0);
  });
});
