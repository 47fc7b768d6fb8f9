// Certificate-bound access tokens from a real authorization server (oidc-provider's mTLS
// feature with certificateBoundAccessTokens), accepted through a JWT source and through
// introspection, over direct TLS and behind a TLS-terminating proxy that forwards the client
// certificate as RFC 9440 Client-Cert.
import express from 'express';
import { createServer, type Server } from 'node:http';
import request from 'supertest';
import { decodeJwt } from 'jose';
import { multiAuth } from '../../lib/chain/multi-auth';
import type { MultiAuthOptions } from '../../lib/chain/config';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { remoteAuthServer } from '../../lib/primaries/remote-auth-server';
import { startIssuer, type Issuer } from '../support/issuer';
import { certificateBoundTokens, mtlsApp } from '../support/mtls';
import { closeServer, listenOnLoopback } from '../support/loopback';
import { makeCertificate, startCertificateProxy, startTlsServer, tlsRequest, type TestCertificate, type TlsServer } from '../support/tls';
import { makeProof, proofKey } from '../support/dpop';
import { MultiAuthError } from '../../lib/core/errors';

const RESOURCE = 'https://mcp.example.test/mcp';

let issuer: Issuer;
const alice: TestCertificate = makeCertificate('alice-service');
const mallory: TestCertificate = makeCertificate('mallory');
let jwt: string;
let opaque: string;

beforeAll(async () => {
  issuer = await startIssuer({ mtls: true });
  ({ jwt, opaque } = await certificateBoundTokens(issuer, alice, RESOURCE));
});
afterAll(() => issuer.stop());

function app(extra: Partial<MultiAuthOptions>): express.Express {
  return mtlsApp(issuer, RESOURCE, { mtls: true, ...extra });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('oidc-provider\'s certificate-bound tokens', () => {
  it('carry the SHA-256 thumbprint of the certificate of the token request, as openssl computes it', async () => {
    expect(decodeJwt(jwt).cnf).toEqual({ 'x5t#S256': alice.x5tS256 });
    expect((await issuer.introspect(opaque)).cnf).toEqual({ 'x5t#S256': alice.x5tS256 });
  });
});

describe('over direct TLS', () => {
  let server: TlsServer;
  beforeAll(async () => {
    server = await startTlsServer(app({}));
  });
  afterAll(() => server.close());

  it('a bound JWT is accepted by the JWT source with its certificate, and req.auth.mtls names it', async () => {
    const res = await tlsRequest(`${server.origin}/whoami`, { client: alice, headers: bearer(jwt) });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ source: 'corp-jwt', clientId: 'mtls-client', mtls: { x5tS256: alice.x5tS256 } });
  });

  it('a bound opaque token is accepted through introspection with its certificate', async () => {
    const res = await tlsRequest(`${server.origin}/whoami`, { client: alice, headers: bearer(opaque) });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ source: 'corp-as', clientId: 'mtls-client', mtls: { x5tS256: alice.x5tS256 } });
  });

  it('is accepted again from the cache with the certificate, and refused from it without', async () => {
    expect((await tlsRequest(`${server.origin}/whoami`, { client: alice, headers: bearer(jwt) })).status).toBe(200);
    expect((await tlsRequest(`${server.origin}/whoami`, { client: mallory, headers: bearer(jwt) })).status).toBe(401);
  });

  it('an unbound token is accepted as before, without req.auth.mtls', async () => {
    const plain = await issuer.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:read' });
    const res = await tlsRequest(`${server.origin}/whoami`, { client: alice, headers: bearer(plain) });
    expect(res.json()).toEqual({ source: 'corp-jwt', clientId: 'm2m-client', mtls: null });
  });
});

describe('behind a TLS-terminating proxy that forwards RFC 9440 Client-Cert', () => {
  let upstream: Server;
  let proxy: TlsServer;
  beforeAll(async () => {
    upstream = createServer(app({ mtls: { trustedProxies: ['127.0.0.1', '::1'] } }));
    proxy = await startCertificateProxy(await listenOnLoopback(upstream));
  });
  afterAll(async () => {
    await proxy.close();
    await closeServer(upstream);
  });

  it.each([['JWT', 'corp-jwt', () => jwt], ['introspected', 'corp-as', () => opaque]])(
    'a bound %s token is accepted with the certificate the client presented to the proxy',
    async (_kind, source, token) => {
      const res = await tlsRequest(`${proxy.origin}/whoami`, { client: alice, headers: bearer(token()) });
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ source, clientId: 'mtls-client', mtls: { x5tS256: alice.x5tS256 } });
    },
  );

  it('is refused with 401 when the client presented another certificate to the proxy', async () => {
    const res = await tlsRequest(`${proxy.origin}/whoami`, { client: mallory, headers: bearer(jwt) });
    expect(res.status).toBe(401);
  });

  it('is refused with 401 when the client sent the owner\'s Client-Cert itself (the proxy replaces it)', async () => {
    const res = await tlsRequest(`${proxy.origin}/whoami`, { client: mallory, headers: { ...bearer(jwt), 'client-cert': alice.header } });
    expect(res.status).toBe(401);
  });
});

describe('the primary\'s protected-resource metadata', () => {
  const metadataPath = '/.well-known/oauth-protected-resource/mcp';
  const primary = () => remoteAuthServer({ issuer: 'https://login.example.test', resource: RESOURCE });

  it('says tls_client_certificate_bound_access_tokens: true when mtls.required covers the primary', async () => {
    const auth = multiAuth({ primary: primary(), mtls: { required: true } });
    const res = await request(express().use(auth)).get(metadataPath);
    expect(res.body.tls_client_certificate_bound_access_tokens).toBe(true);
  });

  it('says nothing about it when only other sources require binding', async () => {
    const auth = multiAuth({
      primary: primary(),
      verifiers: [jwtVerifier({ name: 'partners', issuer: 'https://partners.example.test', audience: RESOURCE, jwksUri: 'https://partners.example.test/jwks' })],
      mtls: { required: ['partners'] },
    });
    const res = await request(express().use(auth)).get(metadataPath);
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty('tls_client_certificate_bound_access_tokens');
  });
});

// oidc-provider binds a token one way only ("multiple proof-of-possession mechanisms are not
// allowed"), so this one is signed with the issuer's own key, claims written by the test.
describe('a token bound to a DPoP key and to a certificate', () => {
  let server: TlsServer;
  let origin = '';
  let token: string;
  let key: Awaited<ReturnType<typeof proofKey>>;
  beforeAll(async () => {
    key = await proofKey();
    const now = Math.floor(Date.now() / 1000);
    token = await issuer.signJwt({
      iss: issuer.issuer, aud: RESOURCE, client_id: 'mtls-client', sub: 'mtls-client', scope: 'mcp:read',
      iat: now, exp: now + 600, jti: 'both-ways', cnf: { jkt: key.jkt, 'x5t#S256': alice.x5tS256 },
    });
    server = await startTlsServer(app({ dpop: { url: () => `${origin}/whoami` } }));
    origin = server.origin;
  });
  afterAll(() => server?.close());

  const dpopHeaders = async () => ({
    authorization: `DPoP ${token}`,
    dpop: await makeProof(key, { htm: 'GET', htu: `${origin}/whoami`, token }),
  });

  it('is accepted with its proof over a connection with its certificate', async () => {
    const res = await tlsRequest(`${origin}/whoami`, { client: alice, headers: await dpopHeaders() });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ source: 'corp-jwt', mtls: { x5tS256: alice.x5tS256 } });
  });

  it('is refused with its proof but without its certificate', async () => {
    const res = await tlsRequest(`${origin}/whoami`, { client: mallory, headers: await dpopHeaders() });
    expect(res.status).toBe(401);
  });

  it('is refused with its certificate but as Bearer (no proof)', async () => {
    const res = await tlsRequest(`${origin}/whoami`, { client: alice, headers: bearer(token) });
    expect(res.status).toBe(401);
  });
});

describe('auth.verify(token)', () => {
  it('refuses a certificate-bound token: there is no request, so no certificate', async () => {
    const auth = multiAuth({ verifiers: [jwtVerifier({ name: 'corp-jwt', issuer: issuer.issuer, audience: RESOURCE })], mtls: true });
    const refusal = await auth.verify(jwt).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(MultiAuthError);
    expect((refusal as MultiAuthError).code).toBe('invalid_token');
  });
});
