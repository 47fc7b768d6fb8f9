import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import type { IssuerResolverContext } from '../../lib/sources/issuer-resolver';
import type { Decision } from '../../lib/core/types';
import { appWith } from '../support/app';
import { startIssuer, type Issuer } from '../support/issuer';
import { AUDIENCE, hmacToken, KeyServer } from '../support/key-server';

const RESOURCE = 'http://127.0.0.1/mcp';

/**
 * Issue 28, point 1: `jwtVerifier({ issuer })` takes a resolver for multi-tenant deployments
 * (express-oauth2-jwt-bearer's `issuers` function). One SaaS customer per issuer, each a real
 * authorization server (oidc-provider) whose keys are found by discovery.
 */
describe('jwtVerifier with an issuer resolver, against several real issuers', () => {
  let tenantA: Issuer;
  let tenantB: Issuer;
  let stranger: Issuer;
  const decisions: Decision[] = [];
  const seen: IssuerResolverContext[] = [];
  let failResolver = false;

  beforeAll(async () => {
    [tenantA, tenantB, stranger] = await Promise.all([
      startIssuer({ path: '/tenant-a' }),
      startIssuer({ path: '/tenant-b' }),
      startIssuer({ path: '/tenant-c' }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([tenantA?.stop(), tenantB?.stop(), stranger?.stop()]);
  });

  const app = () => {
    const customers = new Set([tenantA.issuer, tenantB.issuer]);
    return appWith(
      multiAuth({
        verifiers: jwtVerifier({
          name: 'tenants',
          audience: RESOURCE,
          allowHttp: true,
          issuer: async (context) => {
            seen.push(context);
            if (failResolver) throw new Error('customer database unreachable');
            return customers.has(context.iss) ? [context.iss] : [];
          },
        }),
        onDecision: (d) => decisions.push(d),
        cache: false,
      }),
    );
  };
  const get = (server: ReturnType<typeof app>, token: string) => request(server).get('/echo').set('Authorization', `Bearer ${token}`);

  it("accepts each approved tenant's token, with its keys found by that tenant's discovery", async () => {
    const server = app();
    for (const tenant of [tenantA, tenantB]) {
      const token = await tenant.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:read' });
      const res = await get(server, token);
      expect({ status: res.status, source: res.body.source }).toEqual({ status: 200, source: 'tenants' });
    }
  });

  it('gives the resolver the unverified iss, claims, header and the request', async () => {
    seen.length = 0;
    const token = await tenantA.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:read' });
    await get(app(), token);
    expect(seen[0]).toMatchObject({ iss: tenantA.issuer, claims: { iss: tenantA.issuer }, header: { alg: expect.any(String) } });
    expect(seen[0].req?.headers.authorization).toBe(`Bearer ${token}`);
  });

  it("refuses a token from an issuer the resolver does not approve (401), without ever contacting that issuer", async () => {
    const token = await stranger.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:read' });
    await stranger.resetRequests();
    decisions.length = 0;
    const res = await get(app(), token);
    expect(res.status).toBe(401);
    expect(await stranger.requestCount()).toBe(0);
    expect(decisions[0].attempts[0].reason).toContain('is not one the issuer resolver approves');
  });

  it('answers 503 when the resolver throws: it could not decide, the client keeps its token', async () => {
    const token = await tenantA.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:read' });
    failResolver = true;
    try {
      decisions.length = 0;
      const res = await get(app(), token);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      expect(decisions[0].attempts[0]).toMatchObject({ outcome: 'failed', reason: expect.stringContaining('customer database unreachable') });
    } finally {
      failResolver = false;
    }
  });

  it("takes per-issuer key options (IssuerConfig) and checks them when they are returned: a bad jwksUri is a failure (503), not an acceptance", async () => {
    const token = await tenantB.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:read' });
    const withConfig = (jwksUri: string) =>
      appWith(multiAuth({ verifiers: jwtVerifier({ audience: RESOURCE, allowHttp: true, issuer: ({ iss }) => [{ issuer: iss, jwksUri }] }), cache: false }));
    expect((await get(withConfig(tenantB.jwksUri), token)).status).toBe(200);
    expect((await get(withConfig('ftp://keys.example.com/jwks'), token)).status).toBe(503);
    // Another tenant's keys never verify this tenant's token.
    expect((await get(withConfig(tenantA.jwksUri), token)).status).toBe(401);
  });
});

describe('jwtVerifier with an issuer resolver: what a flood of issuers can cost', () => {
  let keys: KeyServer;
  beforeAll(async () => {
    keys = await KeyServer.start();
    for (const tenant of ['t0', 't1', 't2']) {
      keys.serveJson(`/${tenant}/.well-known/openid-configuration`, { issuer: keys.issuer(`/${tenant}`), jwks_uri: keys.jwksUri });
    }
  });
  afterAll(() => keys.close());

  it('costs no fetch at all for tokens naming made-up issuers the resolver does not approve', async () => {
    const approved = new Set([keys.issuer('/t0')]);
    const verifier = jwtVerifier({ audience: AUDIENCE, issuer: ({ iss }) => (approved.has(iss) ? iss : []) });
    const auth = multiAuth({ verifiers: verifier });
    keys.resetCounts();
    for (let i = 0; i < 300; i++) {
      const token = await keys.mint({ iss: keys.issuer(`/made-up-${i}`) }, { kid: `kid-${i}` });
      await expect(auth.verify(token)).rejects.toMatchObject({ status: 401 });
    }
    expect(keys.requests()).toBe(0);
  });

  it('remembers at most maxIssuers approved issuers: the least recently used is forgotten and found again', async () => {
    const auth = multiAuth({ verifiers: jwtVerifier({ audience: AUDIENCE, maxIssuers: 2, issuer: ({ iss }) => iss }), cache: false });
    const verify = async (tenant: string) => (await auth.verify(await keys.mint({ iss: keys.issuer(`/${tenant}`) }))).source;
    keys.resetCounts();
    for (const tenant of ['t0', 't1', 't0', 't1']) expect(await verify(tenant)).toBe('jwt');
    expect(keys.requests('/t0/.well-known/openid-configuration')).toBe(1);
    await verify('t2'); // pushes out t0, the least recently used
    await verify('t0');
    expect(keys.requests('/t0/.well-known/openid-configuration')).toBe(2);
    expect(keys.requests('/t1/.well-known/openid-configuration')).toBe(1);
  });

  it("takes a per-issuer secret (HS256), and answers 503 for one too short to be safe, never accepting with it", async () => {
    const secret = 'tenant-s3cret-0123456789abcdef-0123456789';
    const iss = 'https://hs-tenant.example.com';
    const now = Math.floor(Date.now() / 1000);
    const token = hmacToken({ iss, aud: AUDIENCE, sub: 'u', client_id: 'c', exp: now + 300, iat: now }, secret);
    const withSecret = (s: string) => multiAuth({ verifiers: jwtVerifier({ audience: AUDIENCE, issuer: () => [{ issuer: iss, secret: s, alg: 'HS256' }] }), cache: false });
    expect((await withSecret(secret).verify(token)).source).toBe('jwt');
    await expect(withSecret('short').verify(hmacToken({ iss, aud: AUDIENCE, sub: 'u', exp: now + 300 }, 'short'))).rejects.toMatchObject({ status: 503 });
  });

  it('refuses maxIssuers without a resolver, and a resolver with no audience, at construction', () => {
    expect(() => jwtVerifier({ issuer: 'https://a.example.com', audience: AUDIENCE, maxIssuers: 5 })).toThrow(/maxIssuers .* needs `issuer` to be a function/);
    expect(() => jwtVerifier({ issuer: () => [], audience: undefined as never })).toThrow(/audience is required/);
  });
});

/** docs/sources.md recipes, each run against a key server standing in for the real one. */
describe('issuer resolver recipes', () => {
  let keys: KeyServer;
  beforeAll(async () => {
    keys = await KeyServer.start();
  });
  afterAll(() => keys.close());

  it("Microsoft Entra ID multi-tenant: approves the tenants you onboarded by tid, with the one shared key set, fetched once", async () => {
    // Stands for https://login.microsoftonline.com; the keys are common to all tenants.
    const login = keys.origin;
    const onboarded = new Set(['11111111-1111-1111-1111-111111111111', '22222222-2222-2222-2222-222222222222']);
    const entra = jwtVerifier({
      name: 'entra',
      audience: AUDIENCE,
      jwksUri: keys.jwksUri, // https://login.microsoftonline.com/common/discovery/v2.0/keys
      issuer: ({ claims }) => {
        const tid = claims.tid;
        return typeof tid === 'string' && onboarded.has(tid) ? `${login}/${tid}/v2.0` : [];
      },
    });
    const auth = multiAuth({ verifiers: entra, cache: false });
    keys.resetCounts();
    for (const tid of onboarded) {
      expect((await auth.verify(await keys.mint({ iss: `${login}/${tid}/v2.0`, tid }))).source).toBe('entra');
    }
    expect(keys.requests(keys.jwksPath)).toBe(1);
    // A tenant not onboarded, and a token whose iss names another tenant than its tid.
    const stranger = await keys.mint({ iss: `${login}/33333333-3333-3333-3333-333333333333/v2.0`, tid: '33333333-3333-3333-3333-333333333333' });
    await expect(auth.verify(stranger)).rejects.toMatchObject({ status: 401 });
    const mismatched = await keys.mint({ iss: `${login}/33333333-3333-3333-3333-333333333333/v2.0`, tid: '11111111-1111-1111-1111-111111111111' });
    await expect(auth.verify(mismatched)).rejects.toMatchObject({ status: 401 });
  });

  it('Auth0 custom domains: one tenant under its canonical and its custom domain, one key set', async () => {
    const canonical = keys.issuer('/tenant.auth0.example/');
    const custom = keys.issuer('/login.example.com/');
    const auth0 = jwtVerifier({ name: 'auth0', audience: AUDIENCE, jwksUri: keys.jwksUri, issuer: () => [canonical, custom] });
    const auth = multiAuth({ verifiers: auth0, cache: false });
    for (const iss of [canonical, custom]) expect((await auth.verify(await keys.mint({ iss }))).source).toBe('auth0');
    await expect(auth.verify(await keys.mint({ iss: keys.issuer('/evil.example/') }))).rejects.toMatchObject({ status: 401 });
  });
});
