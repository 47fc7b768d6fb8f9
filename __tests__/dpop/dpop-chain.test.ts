// DPoP through multiAuth against a real oidc-provider that binds tokens to the client's key
// (RFC 9449 §5: a proof at the token endpoint gives `cnf.jkt` and `token_type: DPoP`), over real
// HTTP on loopback: every way a proof or a binding can be wrong, and the answers it gets.
import { request as httpRequest, createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import express from 'express';
import Keyv from 'keyv';
import fc from 'fast-check';
import { decodeJwt, exportJWK, generateKeyPair } from 'jose';
import { multiAuth, type MultiAuth } from '../../lib/chain/multi-auth';
import type { MultiAuthOptions } from '../../lib/chain/config';
import { remoteAuthServer } from '../../lib/primaries/remote-auth-server';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import { getAuth } from '../../lib/http/request-auth';
import type { Decision } from '../../lib/core/types';
import { introspectionOptionsFor, startIssuer, type Issuer } from '../support/issuer';
import { closeServer, listenOnLoopback } from '../support/loopback';
import { makeProof, proofKey, type ProofKey, type ProofSpec } from '../support/dpop';

const RESOURCE = 'http://127.0.0.1/mcp';
/** The origin proofs name in `htu`: the primary's resource origin, whatever port the test app listens on. */
const PUBLIC = new URL(RESOURCE).origin;
const CI_KEY = 'ci-key-0123456789abcdef';
const NONCE_SECRET = 'a nonce secret of at least thirty-two bytes';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** One request over a real socket; header values given as arrays go out as repeated headers. */
function send(origin: string, path: string, headers: Record<string, string | string[]>, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${origin}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

interface Running {
  origin: string;
  server: Server;
  auth: MultiAuth;
  decisions: Decision[];
}

let issuer: Issuer;
const running: Running[] = [];

/** An app with `multiAuth(options)` in front of `/echo`, listening on loopback. */
async function start(options: Partial<MultiAuthOptions>, configure?: (app: express.Express) => void): Promise<Running> {
  const decisions: Decision[] = [];
  const auth = multiAuth({
    primary: remoteAuthServer({ issuer: issuer.issuer, resource: RESOURCE }),
    verifiers: [
      introspectionVerifier({ ...introspectionOptionsFor(issuer) }),
      staticTokenVerifier({ name: 'ci', tokens: { [CI_KEY]: { clientId: 'ci', scopes: [] } } }),
    ],
    onDecision: (d) => decisions.push(d),
    ...options,
  });
  const app = express();
  configure?.(app);
  app.use(auth);
  app.all('/echo', (req, res) => {
    const info = getAuth(req);
    res.json({ source: info?.source, clientId: info?.clientId, dpop: info?.dpop });
  });
  const server = createServer(app);
  const origin = await listenOnLoopback(server);
  const r = { origin, server, auth, decisions };
  running.push(r);
  return r;
}

/** A client_credentials token bound to `key` (a proof at the token endpoint). */
async function boundToken(key: ProofKey, resource = RESOURCE): Promise<string> {
  const dpop = await makeProof(key, { htm: 'POST', htu: issuer.tokenEndpoint, ath: null });
  const response = await issuer.tokenResponse({ resource, scope: 'mcp:read', dpop });
  expect(response.token_type).toBe('DPoP');
  return response.access_token;
}

/** A DPoP request for `token` to `r`'s /echo, with a proof made from `spec` (defaults: fits the request). */
async function dpopGet(r: Running, key: ProofKey, token: string, spec: ProofSpec = {}, headers: Record<string, string | string[]> = {}): Promise<Reply> {
  const proof = await makeProof(key, { htm: 'GET', htu: `${PUBLIC}/echo`, token, ...spec });
  return send(r.origin, '/echo', { authorization: `DPoP ${token}`, dpop: proof, ...headers });
}

const errorOf = (reply: Reply): unknown => reply.body.error;

let app: Running;
let key: ProofKey;
let token: string;

beforeAll(async () => {
  issuer = await startIssuer();
  app = await start({ dpop: { required: ['primary'] } });
  key = await proofKey('ES256');
  token = await boundToken(key);
});
afterAll(async () => {
  await Promise.all(running.map((r) => closeServer(r.server)));
  await issuer?.stop();
});

describe('a DPoP-bound token from oidc-provider', () => {
  it('carries cnf.jkt, the thumbprint of the client\'s key', () => {
    expect(decodeJwt(token).cnf).toEqual({ jkt: key.jkt });
  });

  it('is accepted with a fresh proof by that key, and req.auth.dpop.jkt names the key', async () => {
    const reply = await dpopGet(app, key, token);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ source: 'primary', dpop: { jkt: key.jkt } });
  });

  it('checks the proof on every request, also when the token\'s verification comes from the cache', async () => {
    expect((await dpopGet(app, key, token)).status).toBe(200);
    app.decisions.length = 0;
    const bad = await dpopGet(app, key, token, { htm: 'POST' });
    expect(bad.status).toBe(401);
    expect(errorOf(bad)).toBe('invalid_dpop_proof');
    const good = await dpopGet(app, key, token);
    expect(good.status).toBe(200);
    expect(app.decisions.at(-1)).toMatchObject({ outcome: 'accepted', cached: true });
  });

  it('is refused as Bearer: 401 invalid_token', async () => {
    const reply = await send(app.origin, '/echo', { authorization: `Bearer ${token}` });
    expect(reply.status).toBe(401);
    expect(errorOf(reply)).toBe('invalid_token');
    expect(app.decisions.at(-1)?.reason).toMatch(/DPoP-bound/);
  });

  it('is refused with a valid proof by another key than cnf.jkt: 401 invalid_token', async () => {
    const other = await proofKey('ES256');
    const reply = await dpopGet(app, other, token);
    expect(reply.status).toBe(401);
    expect(errorOf(reply)).toBe('invalid_token');
  });
});

describe('an unbound token with the DPoP scheme', () => {
  it('is refused: 401 invalid_token (an API key)', async () => {
    const reply = await dpopGet(app, key, CI_KEY);
    expect(reply.status).toBe(401);
    expect(errorOf(reply)).toBe('invalid_token');
  });
});

describe('adversarial proofs, each 401 invalid_dpop_proof', () => {
  const now = () => Math.floor(Date.now() / 1000);
  it.each<[string, () => Promise<ProofSpec>]>([
    ['wrong htm', async () => ({ htm: 'DELETE' })],
    ['wrong htu (another path)', async () => ({ htu: 'http://127.0.0.1/elsewhere' })],
    ['stale iat', async () => ({ iat: now() - 400 })],
    ['future iat', async () => ({ iat: now() + 400 })],
    ['ath of another token', async () => ({ ath: 'x'.repeat(43) })],
    ['signed by another key than its jwk', async () => ({ signWith: (await proofKey('ES256')).privateKey })],
    ['missing jwk', async () => ({ jwk: null })],
    ['symmetric alg (HS256)', async () => ({ alg: 'HS256', signWith: new Uint8Array(32).fill(1), jwk: { kty: 'oct', k: 'AQ' } })],
  ])('%s', async (_name, spec) => {
    const reply = await dpopGet(app, key, token, await spec());
    expect(reply.status).toBe(401);
    expect(errorOf(reply)).toBe('invalid_dpop_proof');
    expect(reply.headers['www-authenticate']).toMatch(/^DPoP error="invalid_dpop_proof"/);
  });

  it('its private key in jwk', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const reply = await dpopGet(app, key, token, { jwk: await exportJWK(privateKey), signWith: privateKey });
    expect(errorOf(reply)).toBe('invalid_dpop_proof');
  });

  it('whatever the DPoP header holds: missing, several, oversized, not a JWT, alg none', async () => {
    const proof = await makeProof(key, { htu: `${PUBLIC}/echo`, token });
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk })).toString('base64url')}.${Buffer.from(
      JSON.stringify({ jti: 'n', htm: 'GET', htu: `${PUBLIC}/echo`, iat: now() }),
    ).toString('base64url')}.`;
    const headerSets: Record<string, string | string[]>[] = [
      {},
      { dpop: [proof, proof] },
      { dpop: `${proof}${'A'.repeat(9000)}` },
      { dpop: 'not a jwt' },
      { dpop: 'a.b.c' },
      { dpop: none },
    ];
    for (const extra of headerSets) {
      const reply = await send(app.origin, '/echo', { authorization: `DPoP ${token}`, ...extra });
      expect([reply.status, errorOf(reply)]).toEqual([401, 'invalid_dpop_proof']);
    }
  });

  it('never a 500: any printable DPoP header and Authorization: DPoP value get 400 or 401 (property)', async () => {
    const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 });
    await fc.assert(
      fc.asyncProperty(printable, fc.oneof(fc.constant(token), printable), async (proof, credentials) => {
        const reply = await send(app.origin, '/echo', { authorization: `DPoP ${credentials}`, dpop: proof });
        expect([400, 401]).toContain(reply.status);
      }),
      { numRuns: 60 },
    );
  });

  it('a replayed proof (same jti), the second time', async () => {
    const proof = await makeProof(key, { htu: `${PUBLIC}/echo`, token });
    const first = await send(app.origin, '/echo', { authorization: `DPoP ${token}`, dpop: proof });
    const again = await send(app.origin, '/echo', { authorization: `DPoP ${token}`, dpop: proof });
    expect([first.status, again.status, errorOf(again)]).toEqual([200, 401, 'invalid_dpop_proof']);
  });

  it('a proof replayed at another app instance sharing a Keyv store', async () => {
    const store = new Keyv();
    const one = await start({ dpop: { store, url: 'http://mcp.example.test' } });
    const two = await start({ dpop: { store, url: 'http://mcp.example.test' } });
    const proof = await makeProof(key, { htu: 'http://mcp.example.test/echo', token });
    const first = await send(one.origin, '/echo', { authorization: `DPoP ${token}`, dpop: proof });
    const again = await send(two.origin, '/echo', { authorization: `DPoP ${token}`, dpop: proof });
    expect([first.status, again.status, errorOf(again)]).toEqual([200, 401, 'invalid_dpop_proof']);
  });
});

describe('introspection answers with cnf', () => {
  it('accepts a bound opaque token with its proof, and refuses it as Bearer', async () => {
    const opaque = await boundToken(key, issuer.opaqueResource);
    expect((await dpopGet(app, key, opaque)).body).toMatchObject({ source: 'corp-as', dpop: { jkt: key.jkt } });
    const other = await proofKey('ES256');
    expect(errorOf(await dpopGet(app, other, opaque))).toBe('invalid_token');
    expect(errorOf(await send(app.origin, '/echo', { authorization: `Bearer ${opaque}` }))).toBe('invalid_token');
  });
});

describe('per-source requirements', () => {
  it('refuses the primary\'s unbound token as Bearer, and still takes the CI key as Bearer', async () => {
    const unbound = await issuer.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:read' });
    expect(errorOf(await send(app.origin, '/echo', { authorization: `Bearer ${unbound}` }))).toBe('invalid_token');
    expect(app.decisions.at(-1)?.reason).toMatch(/accepts DPoP-bound tokens only/);
    expect((await send(app.origin, '/echo', { authorization: `Bearer ${CI_KEY}` })).body).toMatchObject({ source: 'ci' });
  });

  it('without a requirement, an unbound token is a Bearer token as before', async () => {
    const open = await start({ dpop: true });
    const unbound = await issuer.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:read' });
    expect((await send(open.origin, '/echo', { authorization: `Bearer ${unbound}` })).body).toMatchObject({ source: 'primary' });
  });
});

describe('challenges and metadata', () => {
  it('offers DPoP next to Bearer when credentials are missing', async () => {
    const reply = await send(app.origin, '/echo', {});
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toMatch(/^Bearer resource_metadata="[^"]+", DPoP algs="ES256 [^"]*EdDSA[^"]*"$/);
  });

  it('offers only DPoP when every source requires it', async () => {
    const strict = await start({ dpop: { required: true, algorithms: ['ES256'] } });
    const reply = await send(strict.origin, '/echo', {});
    expect(reply.headers['www-authenticate']).toBe(
      `DPoP resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource/mcp", algs="ES256"`,
    );
  });

  it('puts the primary\'s DPoP settings in its protected-resource metadata', async () => {
    const metadata = (await send(app.origin, '/.well-known/oauth-protected-resource/mcp', {})).body;
    expect(metadata).toMatchObject({ dpop_bound_access_tokens_required: true, dpop_signing_alg_values_supported: expect.arrayContaining(['ES256', 'EdDSA']) });
    const open = await start({ dpop: { required: ['ci'] } });
    const loose = (await send(open.origin, '/.well-known/oauth-protected-resource/mcp', {})).body;
    expect(loose.dpop_signing_alg_values_supported).toBeDefined();
    expect(loose).not.toHaveProperty('dpop_bound_access_tokens_required');
  });
});

describe('server nonces', () => {
  it('answers use_dpop_nonce with a DPoP-Nonce header, and accepts the retry carrying it', async () => {
    const withNonce = await start({ dpop: { nonce: { secret: NONCE_SECRET } } });
    const first = await dpopGet(withNonce, key, token);
    expect([first.status, errorOf(first)]).toEqual([401, 'use_dpop_nonce']);
    expect(first.headers['www-authenticate']).toMatch(/^DPoP error="use_dpop_nonce"/);
    const nonce = first.headers['dpop-nonce'];
    expect(typeof nonce).toBe('string');
    const retry = await dpopGet(withNonce, key, token, { nonce: nonce as string });
    expect(retry.status).toBe(200);
  });
});

describe('the request URL behind a proxy', () => {
  it('comes from configuration: X-Forwarded-* change nothing, whatever trust proxy says', async () => {
    const behind = await start({ dpop: true }, (a) => a.set('trust proxy', 'loopback'));
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'mcp.example.test' };
    expect(errorOf(await dpopGet(behind, key, token, { htu: 'https://mcp.example.test/echo' }, forwarded))).toBe('invalid_dpop_proof');
    expect((await dpopGet(behind, key, token, {}, forwarded)).status).toBe(200);
  });

  it('names the public origin with dpop.url when it is not the primary\'s resource origin', async () => {
    const proxied = await start({ dpop: { url: 'https://mcp.example.test' } });
    expect((await dpopGet(proxied, key, token, { htu: 'https://mcp.example.test/echo' })).status).toBe(200);
    expect(errorOf(await dpopGet(proxied, key, token))).toBe('invalid_dpop_proof');
  });
});

describe('without the dpop option', () => {
  it('refuses a bound token as Bearer and does not read the DPoP scheme', async () => {
    const off = await start({});
    expect(errorOf(await send(off.origin, '/echo', { authorization: `Bearer ${token}` }))).toBe('invalid_token');
    const reply = await dpopGet(off, key, token);
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).not.toMatch(/error=/);
  });
});
