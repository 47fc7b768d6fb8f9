import http from 'node:http';
import express from 'express';
import request from 'supertest';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { multiAuth } from '../../lib/chain/multi-auth';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import type { Decision } from '../../lib/core/types';
import { appWith } from '../support/app';
import { AUDIENCE, KeyServer } from '../support/key-server';
import { closeServer, listenOnLoopback } from '../support/loopback';

// express-oauth2-jwt-bearer, loaded without its type declarations (see middleware-verifier.test.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jwtBearer = require('express-oauth2-jwt-bearer') as { auth: (options: Record<string, unknown>) => RequestHandler };

const statusOf: ErrorRequestHandler = (error, _req, res, _next) => {
  res.status((error as { status?: number }).status ?? 500).json({ error: (error as { code?: string }).code });
};

/**
 * Issue 28, point 2: express-oauth2-jwt-bearer's `validators` (custom claim checks) have a
 * counterpart, so a migrating user keeps the check instead of dropping it. They run after jose
 * verified the token and only add checks.
 */
describe('jwtVerifier validators: checks of your own after jose', () => {
  let keys: KeyServer;
  beforeAll(async () => {
    keys = await KeyServer.start();
  });
  afterAll(() => keys.close());

  const validators = {
    org_id: 'org_acme',
    email_verified: (value: unknown) => value === true,
    roles: async (value: unknown) => Array.isArray(value) && value.includes('mcp-user'),
  };
  const good = { org_id: 'org_acme', email_verified: true, roles: ['mcp-user'] };

  it('answers what express-oauth2-jwt-bearer answered with the same validators, token by token', async () => {
    const before = express().use(jwtBearer.auth({ issuer: keys.issuer(), jwksUri: keys.jwksUri, audience: AUDIENCE, validators }));
    before.get('/echo', (_req, res) => void res.json({})).use(statusOf);
    const after = appWith(multiAuth({ verifiers: jwtVerifier({ issuer: keys.issuer(), audience: AUDIENCE, jwksUri: keys.jwksUri, validators }) }));
    const cases: Record<string, Record<string, unknown>> = {
      'all checks pass': good,
      'another organisation': { ...good, org_id: 'org_evil' },
      'no organisation': { ...good, org_id: undefined },
      'email not verified': { ...good, email_verified: 'true' },
      'without the role': { ...good, roles: ['viewer'] },
    };
    for (const [name, claims] of Object.entries(cases)) {
      const token = await keys.mint(claims);
      const was = (await request(before).get('/echo').set('Authorization', `Bearer ${token}`)).status;
      const is = (await request(after).get('/echo').set('Authorization', `Bearer ${token}`)).status;
      expect({ name, is }).toEqual({ name, is: was });
    }
  });

  it("names the refusing validator's claim in the decision reason", async () => {
    const decisions: Decision[] = [];
    const auth = multiAuth({ verifiers: jwtVerifier({ issuer: keys.issuer(), audience: AUDIENCE, jwksUri: keys.jwksUri, validators }), onDecision: (d) => decisions.push(d) });
    await expect(auth.verify(await keys.mint({ ...good, roles: [] }))).rejects.toMatchObject({ status: 401 });
    expect(decisions[0].attempts[0].reason).toMatch(/JWT claim "roles" refused by its validator/);
  });

  it("cannot turn off a check of jose's or of this package: a validator saying yes to iss, aud or exp changes nothing", async () => {
    const lenient = { iss: () => true, aud: () => true, exp: () => true };
    const auth = multiAuth({ verifiers: jwtVerifier({ issuer: keys.issuer(), audience: AUDIENCE, jwksUri: keys.jwksUri, validators: lenient }) });
    const now = Math.floor(Date.now() / 1000);
    await expect(auth.verify(await keys.mint({ aud: 'https://other.example.com' }))).rejects.toMatchObject({ status: 401 });
    await expect(auth.verify(await keys.mint({ exp: now - 3600, iat: now - 7200 }))).rejects.toMatchObject({ status: 401 });
    await expect(auth.verify(await keys.mint({ iss: keys.issuer('/other') }))).rejects.toMatchObject({ status: 401 });
  });

  it("refuses express-oauth2-jwt-bearer's `false` (turn a check off) at construction, saying why", () => {
    expect(() => jwtVerifier({ issuer: keys.issuer(), audience: AUDIENCE, jwksUri: keys.jwksUri, validators: { iss: false } as never })).toThrow(
      /validators.iss is false; validators only add checks and cannot turn one off/,
    );
  });

  it('reads alg and typ from the header, as express-oauth2-jwt-bearer does', async () => {
    const auth = multiAuth({ verifiers: jwtVerifier({ issuer: keys.issuer(), audience: AUDIENCE, jwksUri: keys.jwksUri, validators: { alg: 'ES256' } }) });
    expect((await auth.verify(await keys.mint({}, { alg: 'ES256' }))).source).toBe('jwt');
    await expect(auth.verify(await keys.mint({}, { alg: 'RS256' }))).rejects.toMatchObject({ status: 401 });
  });
});

describe('introspectionVerifier validators: checks of your own on the answer', () => {
  let endpoint: http.Server;
  let url: string;
  beforeAll(async () => {
    endpoint = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const token = new URLSearchParams(body).get('token') ?? '';
        const answer = { active: true, client_id: 'c', aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600, org_id: token.startsWith('acme') ? 'org_acme' : 'org_evil' };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    url = await listenOnLoopback(endpoint);
  });
  afterAll(() => closeServer(endpoint));

  it("refuses an active token whose answer fails a validator, naming the member, on a cached answer too", async () => {
    const decisions: Decision[] = [];
    const auth = multiAuth({
      verifiers: introspectionVerifier({ endpoint: `${url}/introspect`, clientId: 'rs', clientSecret: 's', audience: AUDIENCE, validators: { org_id: 'org_acme' } }),
      onDecision: (d) => decisions.push(d),
      cache: false,
    });
    expect((await auth.verify('acme-token-0123')).source).toBe('introspection');
    for (let i = 0; i < 2; i++) await expect(auth.verify('evil-token-0123')).rejects.toMatchObject({ status: 401 });
    expect(decisions.at(-1)?.attempts[0].reason).toMatch(/"org_id" refused by its validator/);
  });
});
