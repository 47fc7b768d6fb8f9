// Issue 26: an issuer that replaces its signing key under the same `kid` (the MCP conformance
// suite's mock issuer does) must not leave the source refusing every token until a restart, and
// an attacker's forged signatures under a known `kid` must not turn into key fetches.
import express from 'express';
import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { AUDIENCE, createSigningKey, KeyServer } from '../support/key-server';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: KeyServer;
beforeAll(async () => {
  server = await KeyServer.start();
});
afterAll(() => server.close());

function appWith(cooldownMs: number) {
  const auth = multiAuth({
    verifiers: [jwtVerifier({ name: 'internal', issuer: server.issuer(), audience: AUDIENCE, jwksUri: server.jwksUri, jwks: { cooldownMs } })],
    cache: false,
  });
  return express().use(auth).get('/api', (_req, res) => res.end('ok'));
}

const fetches = () => server.requests(server.jwksPath);

describe('an issuer that replaced its key under the same kid', () => {
  it('is accepted again after the cooldown, with one key fetch, without a restart', async () => {
    const app = appWith(300);
    const kid = server.key('RS256').kid;
    await request(app).get('/api').auth(await server.mint(), { type: 'bearer' }).expect(200);
    const before = fetches();
    await server.addKey('RS256', kid);
    await sleep(350);
    await request(app).get('/api').auth(await server.mint(), { type: 'bearer' }).expect(200);
    expect(fetches()).toBe(before + 1);
  });

  it('within the cooldown of the last fetch: refused, with no fetch', async () => {
    const app = appWith(60_000);
    const kid = server.key('RS256').kid;
    await request(app).get('/api').auth(await server.mint(), { type: 'bearer' }).expect(200);
    const before = fetches();
    await server.addKey('RS256', kid);
    await request(app).get('/api').auth(await server.mint(), { type: 'bearer' }).expect(401);
    expect(fetches()).toBe(before);
  });
});

describe('an attacker signing with their own key under a known kid', () => {
  it('costs at most one key fetch per cooldown, and every forgery is refused', async () => {
    const cooldownMs = 1_000;
    const app = appWith(cooldownMs);
    const kid = server.key('RS256').kid;
    await request(app).get('/api').auth(await server.mint(), { type: 'bearer' }).expect(200);
    const attackerKey = await createSigningKey('RS256', kid);
    const forged = (i: number) => server.mint({ sub: `forged-${i}` }, { key: attackerKey });
    await sleep(cooldownMs + 50);

    const before = fetches();
    const burst = await Promise.all(Array.from({ length: 20 }, async (_v, i) => request(app).get('/api').auth(await forged(i), { type: 'bearer' })));
    expect(burst.map((r) => r.status)).toEqual(Array(20).fill(401));
    for (let i = 20; i < 40; i++) await request(app).get('/api').auth(await forged(i), { type: 'bearer' }).expect(401);
    expect(fetches()).toBe(before + 1);

    await sleep(cooldownMs + 50);
    for (let i = 40; i < 50; i++) await request(app).get('/api').auth(await forged(i), { type: 'bearer' }).expect(401);
    expect(fetches()).toBe(before + 2);
  });
});
