// The four mistakes of issue 16 that used to pass unnoticed: refused at construction, or (for a
// mount path Express reveals only per request) warned about once.
import express from 'express';
import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { MultiAuthConfigError } from '../../lib/core/errors';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import { remoteAuthServer } from '../../lib/primaries/remote-auth-server';
import { oauthServer } from '../../lib/primaries/oauth-server';
import { captureWarnings, type CapturedWarning } from '../support/warnings';

const ISSUER = 'https://login.example.com';
const RESOURCE = 'https://mcp.example.com/mcp';
const verifier = { name: 'v', verifyAccessToken: async () => null };

function refusal(make: () => unknown): string {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(MultiAuthConfigError);
    return (error as Error).message;
  }
  throw new Error('expected construction to throw');
}

describe('a static key shorter than 16 characters', () => {
  it('is refused, without the key in the message', () => {
    const message = refusal(() => staticTokenVerifier({ tokens: { abc: { clientId: 'ci', scopes: [] } } }));
    expect(message).toMatch(/key #1 is 3 characters; an API key must be at least 16/);
    expect(message).not.toContain('abc');
  });
  it('is accepted from 16 characters on', () => {
    expect(staticTokenVerifier({ tokens: { '0123456789abcdef': { clientId: 'ci', scopes: [] } } }).name).toBe('static');
  });
});

describe('an issuer, audience or URL with whitespace around it', () => {
  it.each([
    ['jwtVerifier issuer', () => jwtVerifier({ issuer: `${ISSUER} `, audience: RESOURCE }), /jwtVerifier: issuer "https:\/\/login\.example\.com " has whitespace around it/],
    ['jwtVerifier issuer in a list', () => jwtVerifier({ issuer: [ISSUER, `\t${ISSUER}/other`], audience: RESOURCE }), /jwtVerifier: issuer "\\thttps/],
    ['jwtVerifier audience', () => jwtVerifier({ issuer: ISSUER, audience: `${RESOURCE}\n` }), /jwtVerifier: audience .* whitespace/],
    ['jwtVerifier jwksUri', () => jwtVerifier({ issuer: ISSUER, audience: RESOURCE, jwksUri: ` ${ISSUER}/jwks` }), /jwtVerifier: jwksUri .* whitespace/],
    ['introspectionVerifier endpoint', () => introspectionVerifier({ endpoint: `${ISSUER}/introspect `, clientId: 'rs', clientSecret: 's', audience: RESOURCE }), /introspectionVerifier: endpoint .* whitespace/],
    ['introspectionVerifier issuer', () => introspectionVerifier({ endpoint: `${ISSUER}/introspect`, clientId: 'rs', clientSecret: 's', issuer: `${ISSUER} `, audience: RESOURCE }), /introspectionVerifier: issuer .* whitespace/],
    ['remoteAuthServer issuer', () => remoteAuthServer({ issuer: `${ISSUER}\n`, resource: RESOURCE }), /remoteAuthServer: issuer .* whitespace/],
    ['remoteAuthServer resource', () => remoteAuthServer({ issuer: ISSUER, resource: ` ${RESOURCE}` }), /remoteAuthServer: resource .* whitespace/],
    ['oauthServer issuer', () => oauthServer({ router: () => undefined, verifier, issuer: `${ISSUER} `, resource: RESOURCE }), /oauthServer: issuer .* whitespace/],
    ['multiAuth resourceMetadataUrl', () => multiAuth({ verifiers: verifier, resourceMetadataUrl: ` ${ISSUER}/.well-known/oauth-protected-resource` }), /multiAuth: resourceMetadataUrl .* whitespace/],
  ])('%s is refused', (_what, make, message) => {
    expect(refusal(make)).toMatch(message);
  });
});

describe('a primary passed among verifiers', () => {
  it.each([
    ['remoteAuthServer', () => remoteAuthServer({ name: 'login', issuer: ISSUER, resource: RESOURCE })],
    ['oauthServer', () => oauthServer({ router: () => undefined, verifier, issuer: ISSUER, resource: RESOURCE })],
  ])('is refused (%s): its metadata would never be served', (_what, make) => {
    expect(refusal(() => multiAuth({ verifiers: [verifier, make()] }))).toMatch(/verifiers\[1\].* is a primary .*pass it as `primary`/);
  });
  it('is fine as the primary', () => {
    expect(multiAuth({ primary: remoteAuthServer({ issuer: ISSUER, resource: RESOURCE }), verifiers: verifier }).sourceNames).toEqual(['primary', 'v']);
  });
});

describe('a primary mounted below the root (app.use(\'/mcp\', auth))', () => {
  let warnings: CapturedWarning[];
  let spy: jest.SpyInstance;
  beforeEach(() => {
    ({ warnings, spy } = captureWarnings());
  });
  afterEach(() => spy.mockRestore());
  const auth = () => multiAuth({ primary: remoteAuthServer({ issuer: ISSUER, resource: RESOURCE }), verifiers: verifier });

  it('gets one process warning naming the mount path and the fix, at the first request', async () => {
    const app = express().use('/mcp', auth());
    expect(warnings).toEqual([]);
    await request(app).get('/mcp');
    await request(app).get('/mcp/.well-known/oauth-protected-resource/mcp');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].code).toBe('MULTIAUTH_MOUNT_PATH');
    expect(warnings[0].message).toMatch(/mounted at "\/mcp".*Mount the router at the root \(app\.use\(auth\)\), or auth\.routes at the root and auth\.bearer on the path/);
  });

  it('gets none mounted at the root, or with auth.routes at the root and auth.bearer on the path', async () => {
    const atRoot = auth();
    await request(express().use(atRoot)).get('/.well-known/oauth-protected-resource/mcp').expect(200);
    const split = auth();
    const app = express().use(split.routes).use('/mcp', split.bearer);
    await request(app).get('/.well-known/oauth-protected-resource/mcp').expect(200);
    await request(app).get('/mcp').expect(401);
    expect(warnings).toEqual([]);
  });
});
