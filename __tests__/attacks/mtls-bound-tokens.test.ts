// Attacks on certificate-bound access tokens (RFC 8705): an attacker holds a token bound to
// someone else's certificate (stolen from a log, a proxy, a compromised client), their own
// valid certificate and key, and whatever headers they like. Real parts: oidc-provider issues
// the bound tokens, openssl makes the certificates, and requests arrive over real TLS.
import express from 'express';
import { createServer, type Server } from 'node:http';
import { multiAuth } from '../../lib/chain/multi-auth';
import type { MultiAuthOptions } from '../../lib/chain/config';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import type { Decision } from '../../lib/core/types';
import { startIssuer, type Issuer } from '../support/issuer';
import { certificateBoundTokens, mtlsApp } from '../support/mtls';
import { closeServer, listenOnLoopback } from '../support/loopback';
import { makeCertificate, startTlsServer, tlsRequest, type TestCertificate, type TlsServer } from '../support/tls';

const RESOURCE = 'https://mcp.example.test/mcp';

let issuer: Issuer;
const alice: TestCertificate = makeCertificate('alice');
const mallory: TestCertificate = makeCertificate('mallory');
/** Alice's tokens, bound to her certificate: what the attacker stole. */
let aliceJwt: string;
let aliceOpaque: string;
/** A token of the same issuer bound to no certificate. */
let plainJwt: string;

beforeAll(async () => {
  issuer = await startIssuer({ mtls: true });
  [{ jwt: aliceJwt, opaque: aliceOpaque }, plainJwt] = await Promise.all([
    certificateBoundTokens(issuer, alice, RESOURCE),
    issuer.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:read' }),
  ]);
});
afterAll(() => issuer.stop());

/** An HTTPS app asking for client certificates, with multiAuth over a JWT and an introspection source. */
async function tlsApp(extra: Partial<MultiAuthOptions>, decisions: Decision[] = []): Promise<TlsServer> {
  return startTlsServer(mtlsApp(issuer, RESOURCE, { cache: { max: 100 }, onDecision: (decision) => decisions.push(decision), ...extra }));
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('a stolen certificate-bound token', () => {
  let server: TlsServer;
  const decisions: Decision[] = [];
  beforeAll(async () => {
    server = await tlsApp({ mtls: true }, decisions);
  });
  afterAll(() => server.close());

  it.each([['JWT', () => aliceJwt], ['introspected', () => aliceOpaque]])(
    '(%s) sent without a client certificate is refused with 401 invalid_token',
    async (_kind, token) => {
      const res = await tlsRequest(`${server.origin}/whoami`, { headers: bearer(token()) });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    },
  );

  it.each([['JWT', () => aliceJwt], ['introspected', () => aliceOpaque]])(
    '(%s) sent with the attacker\'s own valid certificate is refused with 401 invalid_token',
    async (_kind, token) => {
      const res = await tlsRequest(`${server.origin}/whoami`, { client: mallory, headers: bearer(token()) });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    },
  );

  it('is refused without its certificate even after its owner used it (the cache keeps no binding)', async () => {
    const owner = await tlsRequest(`${server.origin}/whoami`, { client: alice, headers: bearer(aliceJwt) });
    expect(owner.status).toBe(200);
    const thief = await tlsRequest(`${server.origin}/whoami`, { client: mallory, headers: bearer(aliceJwt) });
    expect(thief.status).toBe(401);
  });

  it('refused to the attacker is still accepted from its owner afterwards (no refusal is remembered)', async () => {
    const thief = await tlsRequest(`${server.origin}/whoami`, { headers: bearer(aliceOpaque) });
    expect(thief.status).toBe(401);
    const owner = await tlsRequest(`${server.origin}/whoami`, { client: alice, headers: bearer(aliceOpaque) });
    expect(owner.status).toBe(200);
  });

  it('is refused with a reason naming the mismatch, never a certificate', async () => {
    decisions.length = 0;
    await tlsRequest(`${server.origin}/whoami`, { client: mallory, headers: bearer(aliceJwt) });
    const text = JSON.stringify(decisions);
    expect(decisions[0].reason).toMatch(/not the one the token is bound to/);
    for (const secretish of [alice.x5tS256, mallory.x5tS256, alice.der.toString('base64').slice(20, 60)]) {
      expect(text).not.toContain(secretish.slice(0, 16));
    }
  });
});

describe('a forged Client-Cert header', () => {
  let direct: TlsServer;
  let proxied: TlsServer;
  beforeAll(async () => {
    // Direct TLS: no proxy is trusted. Proxied: loopback (where the test client connects from) is.
    direct = await tlsApp({ mtls: { trustedProxies: ['10.0.0.0/8', 'fd00::/8'] } });
    proxied = await tlsApp({ mtls: { trustedProxies: ['127.0.0.1'] } });
  });
  afterAll(async () => {
    await direct.close();
    await proxied.close();
  });

  it('naming the owner\'s (public) certificate, from a peer that is no trusted proxy, is refused with 400 invalid_request', async () => {
    const res = await tlsRequest(`${direct.origin}/whoami`, { headers: { ...bearer(aliceJwt), 'client-cert': alice.header } });
    expect(res.status).toBe(400);
    expect(res.headers['www-authenticate']).toMatch(/error="invalid_request"/);
  });

  it('is refused with 400 even with a token bound to no certificate: the request lies about its client', async () => {
    const res = await tlsRequest(`${direct.origin}/whoami`, { headers: { ...bearer(plainJwt), 'client-cert': alice.header } });
    expect(res.status).toBe(400);
  });

  it('naming another certificate than the one on the TLS connection is refused with 400', async () => {
    const res = await tlsRequest(`${proxied.origin}/whoami`, { client: mallory, headers: { ...bearer(aliceJwt), 'client-cert': alice.header } });
    expect(res.status).toBe(400);
  });

  it.each<[string, () => string | string[]]>([
    ['PEM text', () => alice.cert.replace(/\n/g, ' ').trim()],
    ['base64 without the colons', () => alice.der.toString('base64')],
    ['bytes that are no certificate', () => `:${Buffer.from(aliceJwt).toString('base64')}:`],
    ['a certificate with bytes appended', () => `:${Buffer.concat([alice.der, Buffer.from('x')]).toString('base64')}:`],
    ['the field twice', () => [alice.header, mallory.header]],
  ])('(%s) from a trusted proxy is refused with 400', async (_what, value) => {
    const res = await tlsRequest(`${proxied.origin}/whoami`, { headers: { ...bearer(aliceJwt), 'client-cert': value() } });
    expect(res.status).toBe(400);
  });
});

describe('without the mtls option', () => {
  let server: TlsServer;
  beforeAll(async () => {
    server = await tlsApp({});
  });
  afterAll(() => server.close());

  it.each([['JWT', () => aliceJwt], ['introspected', () => aliceOpaque]])(
    'a certificate-bound token (%s) is refused as Bearer, even over TLS with its own certificate',
    async (_kind, token) => {
      const res = await tlsRequest(`${server.origin}/whoami`, { client: alice, headers: bearer(token()) });
      expect(res.status).toBe(401);
    },
  );

  it('a token bound to no certificate is accepted as before', async () => {
    const res = await tlsRequest(`${server.origin}/whoami`, { headers: bearer(plainJwt) });
    expect(res.status).toBe(200);
  });
});

describe('mtls.required', () => {
  let server: TlsServer;
  beforeAll(async () => {
    server = await tlsApp({ mtls: { required: ['corp-jwt'] } });
  });
  afterAll(() => server.close());

  it('refuses a token bound to no certificate from a source that requires binding, whatever certificate comes with it', async () => {
    const res = await tlsRequest(`${server.origin}/whoami`, { client: alice, headers: bearer(plainJwt) });
    expect(res.status).toBe(401);
  });

  it('accepts the bound token with its certificate', async () => {
    const res = await tlsRequest(`${server.origin}/whoami`, { client: alice, headers: bearer(aliceJwt) });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ source: 'corp-jwt', mtls: { x5tS256: alice.x5tS256 } });
  });
});

describe('over plain HTTP (no TLS, no trusted proxy)', () => {
  let server: Server;
  let origin: string;
  beforeAll(async () => {
    const app = express();
    app.use(multiAuth({ verifiers: [jwtVerifier({ name: 'corp-jwt', issuer: issuer.issuer, audience: RESOURCE })], mtls: true }));
    app.get('/whoami', (_req, res) => res.json({ ok: true }));
    server = createServer(app);
    origin = await listenOnLoopback(server);
  });
  afterAll(() => closeServer(server));

  it('a certificate-bound token is refused with 401: there is no certificate to match', async () => {
    const res = await fetch(`${origin}/whoami`, { headers: bearer(aliceJwt) });
    expect(res.status).toBe(401);
  });
});
