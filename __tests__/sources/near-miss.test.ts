// Issue 26: a refusal whose cause is the configuration rather than the token says so, by default,
// in a process warning that names the source, what the token said, what the configuration says
// and the fix, at most once a minute per cause, and quotes nothing of the token but those claims.
import express from 'express';
import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { jwtVerifier, type JwtVerifierOptions } from '../../lib/sources/jwt-verifier';
import { NEAR_MISS_WARNING } from '../../lib/sources/near-miss';
import { AUDIENCE, KeyServer } from '../support/key-server';
import { captureWarnings, type CapturedWarning } from '../support/warnings';

let server: KeyServer;
let warnings: CapturedWarning[];
let spy: jest.SpyInstance;

beforeAll(async () => {
  server = await KeyServer.start();
});
afterAll(() => server.close());
beforeEach(() => {
  ({ warnings, spy } = captureWarnings());
});
afterEach(() => spy.mockRestore());

function appWith(options: Partial<JwtVerifierOptions>, more: Parameters<typeof multiAuth>[0] = {}) {
  const auth = multiAuth({
    verifiers: [jwtVerifier({ name: 'internal', issuer: server.issuer(), audience: AUDIENCE, jwksUri: server.jwksUri, ...options })],
    ...more,
  });
  return express().use(auth).get('/api', (_req, res) => res.end('ok'));
}

const nearMisses = () => warnings.filter((w) => w.code === NEAR_MISS_WARNING);

describe('an issuer configured with a trailing slash, case or scheme the IdP does not use', () => {
  const tenant = () => server.issuer('/tenant');
  it.each([
    ['a trailing slash', (issuer: string) => `${issuer}/`],
    ['different case', (issuer: string) => issuer.replace('/tenant', '/Tenant')],
    ['another scheme', (issuer: string) => issuer.replace('http://', 'https://')],
  ])('with %s: the 401 stays, and one warning names the source, both spellings and the fix', async (_what, spell) => {
    const configured = spell(tenant());
    const app = appWith({ issuer: configured });
    const token = await server.mint({ iss: tenant() });
    await request(app).get('/api').auth(token, { type: 'bearer' }).expect(401);
    expect(nearMisses()).toHaveLength(1);
    const { message } = nearMisses()[0];
    expect(message).toContain('source "internal"');
    expect(message).toContain(`"iss" is "${tenant()}"`);
    expect(message).toContain(`issuer "${configured}"`);
    expect(message).toContain(`set issuer: "${tenant()}"`);
  });

  it('is warned about once a minute, however many tokens show it', async () => {
    const app = appWith({ issuer: `${server.issuer()}/` });
    for (let i = 0; i < 5; i++) {
      await request(app).get('/api').auth(await server.mint({ sub: `user-${i}` }), { type: 'bearer' }).expect(401);
    }
    expect(nearMisses()).toHaveLength(1);
  });

  it('an attacker varying the spelling gets one warning a minute, not one per token', async () => {
    const app = appWith({ issuer: `${tenant()}/` });
    const spellings = [tenant(), tenant().replace('/tenant', '/TENANT'), tenant().replace('/tenant', '/Tenant'), tenant().replace('http://', 'https://'), `${tenant()}//`];
    for (const [i, iss] of spellings.entries()) {
      await request(app).get('/api').auth(await server.mint({ iss, sub: `attacker-${i}` }), { type: 'bearer' }).expect(401);
    }
    for (let i = 0; i < 5; i++) await request(app).get('/api').auth(await server.mint({ aud: `${AUDIENCE}x${i}`, iss: tenant() }), { type: 'bearer' }).expect(401);
    expect(nearMisses()).toHaveLength(1);
  });

  it('is not warned about when another source accepts the token', async () => {
    const auth = multiAuth({
      verifiers: [
        jwtVerifier({ name: 'slashed', issuer: `${server.issuer()}/`, audience: AUDIENCE, jwksUri: server.jwksUri }),
        jwtVerifier({ name: 'exact', issuer: server.issuer(), audience: AUDIENCE, jwksUri: server.jwksUri }),
      ],
    });
    const app = express().use(auth).get('/api', (_req, res) => res.end('ok'));
    await request(app).get('/api').auth(await server.mint(), { type: 'bearer' }).expect(200);
    expect(nearMisses()).toEqual([]);
  });

  it('is not warned about for an unrelated issuer', async () => {
    const app = appWith({});
    await request(app).get('/api').auth(await server.mint({ iss: 'https://login.other.example' }), { type: 'bearer' }).expect(401);
    expect(nearMisses()).toEqual([]);
  });
});

describe('an audience configured with a trailing slash or a typo', () => {
  it.each([
    ['a trailing slash', `${AUDIENCE}/`],
    ['a typo', AUDIENCE.replace('mcp.example', 'mcp.exmaple')],
    ['different case', AUDIENCE.toUpperCase()],
  ])('with %s: 401, and a warning with the fix', async (_what, configured) => {
    const app = appWith({ audience: configured });
    await request(app).get('/api').auth(await server.mint(), { type: 'bearer' }).expect(401);
    expect(nearMisses()).toHaveLength(1);
    const { message } = nearMisses()[0];
    expect(message).toContain('source "internal"');
    expect(message).toContain(`"aud" is "${AUDIENCE}"`);
    expect(message).toContain(`audience "${configured}"`);
    expect(message).toContain(`set audience: "${AUDIENCE}"`);
  });

  it('is not warned about for a token minted for another service', async () => {
    const app = appWith({});
    await request(app).get('/api').auth(await server.mint({ aud: 'https://billing.example.test/api' }), { type: 'bearer' }).expect(401);
    expect(nearMisses()).toEqual([]);
  });
});

describe('algorithms that omit the one the issuer signs with', () => {
  it('algorithms: ["ES256"] for an RS256 issuer: 401, and a warning naming the alg to add', async () => {
    const app = appWith({ algorithms: ['ES256'] });
    // The key set is known once any token has been checked against it.
    await request(app).get('/api').auth(await server.mint({}, { alg: 'ES256' }), { type: 'bearer' }).expect(200);
    await request(app).get('/api').auth(await server.mint(), { type: 'bearer' }).expect(401);
    expect(nearMisses()).toHaveLength(1);
    const { message } = nearMisses()[0];
    expect(message).toContain('source "internal"');
    expect(message).toContain('"alg" is "RS256"');
    expect(message).toMatch(/algorithms \["ES256"\]/);
    expect(message).toContain('add "RS256" to algorithms');
  });

  it('with a configured public key: warned without any key fetch', async () => {
    const app = appWith({ jwksUri: undefined, publicKey: server.key('RS256').publicPem, algorithms: ['PS256'] });
    server.resetCounts();
    await request(app).get('/api').auth(await server.mint(), { type: 'bearer' }).expect(401);
    expect(nearMisses()).toHaveLength(1);
    expect(nearMisses()[0].message).toContain('add "RS256" to algorithms');
    expect(server.requests()).toBe(0);
  });

  it('is not warned about for an alg no configured key could verify', async () => {
    const app = appWith({ jwksUri: undefined, publicKey: server.key('ES256').publicPem });
    await request(app).get('/api').auth(await server.mint(), { type: 'bearer' }).expect(401);
    expect(nearMisses()).toEqual([]);
  });
});

describe('what a near-miss warning quotes', () => {
  it('names the claims only: no other piece of the token', async () => {
    const app = appWith({ issuer: `${server.issuer()}/` });
    const token = await server.mint({ secret_claim: 'do-not-log-this-value' });
    await request(app).get('/api').auth(token, { type: 'bearer' }).expect(401);
    const { message } = nearMisses()[0];
    expect(message).not.toContain('do-not-log-this-value');
    for (let i = 0; i + 8 <= token.length; i++) expect(message).not.toContain(token.slice(i, i + 8));
  });
});
