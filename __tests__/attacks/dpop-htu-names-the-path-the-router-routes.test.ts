// Attack: a proof names one URL (`htu`); the attacker, holding a captured (token, proof) pair
// for GET /echo, sends it to a URL that compares equal to /echo but that the router sends to
// /admin: dot segments (raw or percent-encoded) and backslashes that WHATWG URL parsing folds
// away, or a Host / X-Forwarded-Host header that smuggles the path into the origin
// (`Host: public.example/echo#`). The defence takes the origin from configuration only and
// refuses a DPoP request whose path the router would read otherwise than the proof does.
import { request as httpRequest, createServer, type Server } from 'node:http';
import express from 'express';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { multiAuth } from '../../lib/chain/multi-auth';
import type { MultiAuthOptions } from '../../lib/chain/config';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { remoteAuthServer } from '../../lib/primaries/remote-auth-server';
import { MultiAuthConfigError } from '../../lib/core/errors';
import { closeServer, listenOnLoopback } from '../support/loopback';
import { makeProof, proofKey, type ProofKey } from '../support/dpop';

const ISSUER = 'https://issuer.example.test';
const PUBLIC = 'https://mcp.example.test';
const AUDIENCE = `${PUBLIC}/mcp`;

let signingKey: CryptoKey;
let publicJwk: Awaited<ReturnType<typeof exportJWK>>;
let key: ProofKey;
let token: string;
const servers: Server[] = [];

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  signingKey = pair.privateKey as CryptoKey;
  publicJwk = await exportJWK(pair.publicKey);
  key = await proofKey('ES256');
  token = await new SignJWT({ client_id: 'victim', scope: 'mcp:read', cnf: { jkt: key.jkt } })
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime('1h')
    .sign(signingKey);
});
afterAll(async () => {
  await Promise.all(servers.map(closeServer));
});

const verifier = () => jwtVerifier({ name: 'jwt', issuer: ISSUER, audience: AUDIENCE, publicKey: publicJwk });

/** /echo and /admin/* behind multiAuth; answers which handler ran. */
async function start(options: Partial<MultiAuthOptions>, configure?: (app: express.Express) => void): Promise<string> {
  const app = express();
  configure?.(app);
  app.use(multiAuth({ verifiers: [verifier()], ...options }));
  app.get('/echo', (_req, res) => res.json({ route: 'echo' }));
  app.use('/admin', (_req, res) => res.json({ route: 'admin' }));
  const server = createServer(app);
  servers.push(server);
  return listenOnLoopback(server);
}

/** Sends `path` exactly as written (no client-side normalisation). */
function send(origin: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, method: 'GET', headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.on('error', reject);
    req.end();
  });
}

const proofFor = (htu: string) => makeProof(key, { htm: 'GET', htu, token });

describe('a DPoP proof authorises the path the router routes, nothing else', () => {
  it.each([
    '/admin/../echo',
    '/admin/.%2e/echo',
    '/admin/%2e%2e/echo',
    '/admin/%2E./echo',
    '/admin/x/../../echo',
    '/admin/./../echo',
    '/admin/..\\echo',
    '/admin/..%5cecho',
    '/admin/%5c..%5c..%5cecho',
  ])('a proof for /echo sent to %s never reaches /admin', async (path) => {
    const origin = await start({ dpop: { url: PUBLIC } });
    const reply = await send(origin, path, { authorization: `DPoP ${token}`, dpop: await proofFor(`${PUBLIC}/echo`) });
    expect(reply.body.route).toBeUndefined();
    expect(reply.status).toBe(401);
    expect(reply.body.error).toBe('invalid_dpop_proof');
  });

  it('the same proof is good for /echo itself (the honest request)', async () => {
    const origin = await start({ dpop: { url: PUBLIC } });
    const reply = await send(origin, '/echo', { authorization: `DPoP ${token}`, dpop: await proofFor(`${PUBLIC}/echo`) });
    expect(reply).toMatchObject({ status: 200, body: { route: 'echo' } });
  });
});

describe('the origin htu is checked against comes from configuration, never from the request', () => {
  it('dpop without url and without a primary is refused at construction, naming dpop.url', () => {
    expect(() => multiAuth({ verifiers: [verifier()], dpop: {} })).toThrow(MultiAuthConfigError);
    expect(() => multiAuth({ verifiers: [verifier()], dpop: true })).toThrow(/dpop\.url/);
  });

  it.each<Record<string, string>>([
    { host: 'mcp.example.test/echo#', 'x-forwarded-proto': 'https' },
    { host: 'mcp.example.test/echo?', 'x-forwarded-proto': 'https' },
    { 'x-forwarded-host': 'mcp.example.test/echo#', 'x-forwarded-proto': 'https' },
  ])('a captured proof for /echo with the headers %o never reaches /admin', async (headers) => {
    const origin = await start(
      { primary: remoteAuthServer({ issuer: ISSUER, resource: AUDIENCE, verifier: verifier() }), verifiers: [], dpop: {} },
      (app) => app.set('trust proxy', true),
    );
    const reply = await send(origin, '/admin/x', { authorization: `DPoP ${token}`, dpop: await proofFor(`${PUBLIC}/echo`), ...headers });
    expect(reply.body.route).toBeUndefined();
    expect(reply.status).toBe(401);
  });

  it('with a primary and no dpop.url, proofs name the primary\'s resource origin', async () => {
    const origin = await start({ primary: remoteAuthServer({ issuer: ISSUER, resource: AUDIENCE, verifier: verifier() }), verifiers: [], dpop: {} });
    const reply = await send(origin, '/admin/x', { authorization: `DPoP ${token}`, dpop: await proofFor(`${PUBLIC}/admin/x`) });
    expect(reply).toMatchObject({ status: 200, body: { route: 'admin' } });
  });
});
