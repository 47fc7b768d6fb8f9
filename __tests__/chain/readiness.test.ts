// Permanent misconfiguration must not look like an outage: auth.ready() names each source that
// cannot work and why, and while such a cause lasts requests still get 503 but the operator gets
// a process warning, at most once a minute. Against the real oidc-provider issuer.
import http from 'node:http';
import express from 'express';
import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { MultiAuthNotReadyError } from '../../lib/core/errors';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import { remoteAuthServer } from '../../lib/primaries/remote-auth-server';
import { introspectionOptionsFor, startIssuer, type Issuer } from '../support/issuer';
import { closeServer, listenOnLoopback } from '../support/loopback';
import type { ReadyReport } from '../../lib/core/types';
import { captureWarnings, type CapturedWarning } from '../support/warnings';

let issuer: Issuer;
let audience: string;
/** An origin where nothing listens any more: connection refused. */
let deadOrigin: string;

beforeAll(async () => {
  issuer = await startIssuer();
  audience = issuer.defaultResource!;
  const server = http.createServer();
  deadOrigin = await listenOnLoopback(server);
  await closeServer(server);
});
afterAll(() => issuer.stop());

const statusOf = (report: ReadyReport) => Object.fromEntries(report.sources.map((s) => [s.source, s.status]));

async function notReady(promise: Promise<unknown>): Promise<MultiAuthNotReadyError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MultiAuthNotReadyError);
    return error as MultiAuthNotReadyError;
  }
  throw new Error('expected ready() to reject');
}

describe('auth.ready()', () => {
  it('resolves a report per source when every server answers as configured', async () => {
    const auth = multiAuth({
      primary: remoteAuthServer({ issuer: issuer.issuer, resource: audience }),
      verifiers: [
        jwtVerifier({ name: 'by-jwks', issuer: issuer.issuer, audience, jwksUri: issuer.jwksUri }),
        introspectionVerifier(introspectionOptionsFor(issuer)),
        staticTokenVerifier({ name: 'ci', tokens: { 'ci-key-0123456789abcdef': { clientId: 'ci', scopes: [] } } }),
        { name: 'custom', verifyAccessToken: async () => null },
      ],
    });
    const report = await auth.ready();
    expect(report.ready).toBe(true);
    expect(statusOf(report)).toEqual({ primary: 'ok', 'by-jwks': 'ok', 'corp-as': 'ok', ci: 'ok', custom: 'unchecked' });
    const detail = Object.fromEntries(report.sources.map((s) => [s.source, s.detail]));
    expect(detail.primary).toMatch(new RegExp(`^metadata of ${issuer.issuer}; JWKS ${issuer.jwksUri}: \\d+ keys?$`));
    expect(detail['corp-as']).toMatch(/introspection endpoint .* answered \(a made-up token: not active\)/);
  });

  it('rejects naming each source that cannot work and why: a 404 JWKS, a discovery document as JWKS, an issuer without metadata, refused credentials', async () => {
    const auth = multiAuth({
      verifiers: [
        jwtVerifier({ name: 'jwks-404', issuer: issuer.issuer, audience, jwksUri: `${issuer.origin}/no-such-jwks.json` }),
        jwtVerifier({ name: 'jwks-is-discovery', issuer: issuer.issuer, audience, jwksUri: issuer.discoveryUrl }),
        jwtVerifier({ name: 'no-discovery', issuer: `${issuer.origin}/no-such-tenant`, audience }),
        introspectionVerifier({ ...introspectionOptionsFor(issuer), clientSecret: 'not-the-secret' }),
        jwtVerifier({ name: 'good', issuer: issuer.issuer, audience, jwksUri: issuer.jwksUri }),
      ],
    });
    const error = await notReady(auth.ready());
    expect(statusOf(error.report)).toEqual({
      'jwks-404': 'misconfigured',
      'jwks-is-discovery': 'misconfigured',
      'no-discovery': 'misconfigured',
      'corp-as': 'misconfigured',
      good: 'ok',
    });
    expect(error.message).toMatch(/^multiAuth is not ready: jwks-404: misconfigured: the key server answered HTTP 404 at .*\/no-such-jwks\.json; is jwksUri right\?/);
    expect(error.message).toContain(`jwks-is-discovery: misconfigured: ${issuer.discoveryUrl} answered a discovery document, not a JWK Set; its jwks_uri is ${issuer.jwksUri}`);
    expect(error.message).toMatch(/no-discovery: misconfigured: no metadata document for .*\/no-such-tenant \(.*HTTP 404/);
    expect(error.message).toMatch(/corp-as: misconfigured: introspection: the endpoint refused our client credentials/);
    expect(error.message).not.toMatch(/good:/);
    expect(error.message).not.toContain('not-the-secret');
  });

  it('reports a server that cannot be reached as unreachable, not misconfigured', async () => {
    const auth = multiAuth({ verifiers: jwtVerifier({ name: 'down', issuer: issuer.issuer, audience, jwksUri: `${deadOrigin}/jwks.json` }) });
    const error = await notReady(auth.ready());
    expect(error.report.sources[0]).toMatchObject({ source: 'down', status: 'unreachable' });
    expect(error.message).toMatch(/down: unreachable: the key server at .* could not be reached/);
  });
});

describe('while a permanent cause lasts', () => {
  let warnings: CapturedWarning[];
  beforeEach(() => {
    ({ warnings } = captureWarnings());
  });
  afterEach(() => jest.restoreAllMocks());

  it('requests still get 503, and a process warning names the source and the cause, at most once a minute', async () => {
    const auth = multiAuth({
      verifiers: jwtVerifier({ name: 'internal', issuer: issuer.issuer, audience, jwksUri: issuer.discoveryUrl, jwks: { failureBackoffMs: 0 } }),
      cache: false,
    });
    const app = express().use(auth).get('/', (_req, res) => res.send('ok'));
    const token = await issuer.clientCredentialsToken();

    const first = await request(app).get('/').set('Authorization', `Bearer ${token}`);
    expect(first.status).toBe(503);
    expect(first.headers['retry-after']).toBe('5');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].code).toBe('MULTIAUTH_SOURCE_MISCONFIGURED');
    expect(warnings[0].message).toMatch(
      /^express-multiauth: source "internal" cannot work: .*openid-configuration answered a discovery document, not a JWK Set; give its jwks_uri as jwksUri\. Requests it could accept get 503/,
    );
    expect(warnings[0].message).not.toContain(token.slice(0, 8));

    // Within the minute: still 503 (the cause is in each attempt too), no new warning.
    for (let i = 0; i < 3; i++) {
      const again = await auth.verify(token).catch((error: { status: number; decision: { attempts: Array<{ permanent?: true; reason?: string }> } }) => error);
      expect(again).toMatchObject({ status: 503, decision: { attempts: [{ permanent: true }] } });
    }
    expect(warnings).toHaveLength(1);

    // A minute later the cause is still there: one more warning.
    const now = Date.now();
    jest.spyOn(Date, 'now').mockImplementation(() => now + 61_000);
    expect((await request(app).get('/').set('Authorization', `Bearer ${token}`)).status).toBe(503);
    expect(warnings).toHaveLength(2);
    expect(warnings[1].message).toBe(warnings[0].message);
  });

  it('gives no warning for an outage (the key server is down): that only needs time', async () => {
    const auth = multiAuth({ verifiers: jwtVerifier({ name: 'down', issuer: issuer.issuer, audience, jwksUri: `${deadOrigin}/jwks.json` }), cache: false });
    const token = await issuer.clientCredentialsToken();
    expect((await request(express().use(auth)).get('/').set('Authorization', `Bearer ${token}`)).status).toBe(503);
    await notReady(auth.ready());
    expect(warnings).toEqual([]);
  });
});
