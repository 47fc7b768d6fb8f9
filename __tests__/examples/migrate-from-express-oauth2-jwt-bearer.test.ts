import request from 'supertest';
import { after, afterMultiTenant, before, beforeMultiTenant, type EojbMigrationOptions, type MultiTenantOptions } from '../../examples/migrate-from-express-oauth2-jwt-bearer';
import { startIssuer, type Issuer } from '../support/issuer';

/**
 * README "Migrating from express-oauth2-jwt-bearer": the example's app before and after, against
 * a real OpenID issuer (oidc-provider) and the real express-oauth2-jwt-bearer.
 */
describe('migrating from express-oauth2-jwt-bearer (examples/migrate-from-express-oauth2-jwt-bearer.ts)', () => {
  const AUDIENCE = 'https://api.example.com/things';
  const READER_KEY = 'ci-reader-0123456789abcdef';
  const RELEASE_KEY = 'ci-release-0123456789abcdef';
  let issuer: Issuer;
  let options: EojbMigrationOptions;
  let userToken: string;

  beforeAll(async () => {
    issuer = await startIssuer({ scope: 'read:things write:things' });
    options = {
      issuerBaseURL: issuer.issuer,
      audience: AUDIENCE,
      ciKeys: {
        [READER_KEY]: { clientId: 'nightly-report', scopes: ['read:things'] },
        [RELEASE_KEY]: { clientId: 'release-bot', scopes: ['read:things', 'write:things'] },
      },
    };
    userToken = await issuer.clientCredentialsToken({ resource: AUDIENCE, scope: 'read:things' });
  }, 30_000);

  afterAll(async () => {
    await issuer?.stop();
  });

  const call = (app: ReturnType<typeof before>, method: 'get' | 'post' | 'delete', token: string) =>
    request(app)[method]('/things').set('Authorization', `Bearer ${token}`);

  it('before: a token from the issuer passes, an API key is refused (why one migrates)', async () => {
    const app = before(options);
    expect((await call(app, 'get', userToken)).status).toBe(200);
    expect((await call(app, 'get', READER_KEY)).status).toBe(401);
  });

  it("after: the issuer's tokens get exactly the answers they got before, route by route", async () => {
    const [old, migrated] = [before(options), after(options)];
    for (const method of ['get', 'post', 'delete'] as const) {
      const was = await call(old, method, userToken);
      const is = await call(migrated, method, userToken);
      expect({ method, status: is.status }).toEqual({ method, status: was.status });
    }
    expect((await call(migrated, 'get', userToken)).body.source).toBe('auth0');
  });

  it("after: API keys pass express-oauth2-jwt-bearer's requiredScopes() by their scopes", async () => {
    const app = after(options);
    const read = await call(app, 'get', READER_KEY);
    expect({ status: read.status, source: read.body.source }).toEqual({ status: 200, source: 'ci' });
    const refused = await call(app, 'post', READER_KEY);
    expect({ status: refused.status, error: refused.body.error }).toEqual({ status: 403, error: 'insufficient_scope' });
    expect((await call(app, 'post', RELEASE_KEY)).status).toBe(201);
  });

  it("after: its claimCheck() reads an API key's client_id as it reads a token's", async () => {
    const app = after(options);
    expect((await call(app, 'delete', RELEASE_KEY)).status).toBe(204);
    expect((await call(app, 'delete', READER_KEY)).status).toBe(401);
    expect((await call(app, 'delete', userToken)).status).toBe(401);
  });

  it('after: a token nobody issued gets 401 invalid_token', async () => {
    const res = await call(after(options), 'get', 'nobody-issued-this-token');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
  });
});

/**
 * Issue 28, points 1 and 2: a multi-tenant API on express-oauth2-jwt-bearer (`mcd.issuers` as a
 * function, a `validators` check) moves to jwtVerifier's issuer resolver and validators, and
 * answers every token as before: against three real issuers, two of them onboarded.
 */
describe('migrating a multi-tenant express-oauth2-jwt-bearer app (mcd issuers, validators)', () => {
  const AUDIENCE = 'https://api.example.com/things';
  let tenants: Issuer[];
  let options: MultiTenantOptions;

  beforeAll(async () => {
    tenants = await Promise.all(
      ['a', 'b', 'c'].map((t) => startIssuer({ path: `/tenant-${t}`, scope: 'read:things write:things', clients: { m2m: { clientId: `reporting-${t}` } } })),
    );
    options = {
      tenants: [tenants[0].issuer, tenants[1].issuer],
      audience: AUDIENCE,
      clients: [tenants[0].m2mClient.clientId],
      ciKeys: { 'ci-reader-0123456789abcdef': { clientId: 'nightly-report', scopes: ['read:things'] } },
    };
  }, 60_000);
  afterAll(async () => {
    await Promise.all((tenants ?? []).map((tenant) => tenant.stop()));
  });

  it("answers each tenant's token as before: onboarded and allowed, onboarded with a client the validator refuses, not onboarded", async () => {
    const [old, migrated] = [beforeMultiTenant(options), afterMultiTenant(options)];
    // Tenant B is onboarded, but its client is not one the validator allows; tenant C is not onboarded.
    const tokens = await Promise.all(tenants.map((tenant) => tenant.clientCredentialsToken({ resource: AUDIENCE, scope: 'read:things' })));
    const expected = [200, 401, 401];
    for (const [i, token] of tokens.entries()) {
      const was = (await request(old).get('/things').set('Authorization', `Bearer ${token}`)).status;
      const is = (await request(migrated).get('/things').set('Authorization', `Bearer ${token}`)).status;
      expect({ tenant: i, was, is }).toEqual({ tenant: i, was: expected[i], is: expected[i] });
    }
  });

  it("keeps requiredScopes() on the routes: a tenant's read-only token is refused writing (403), as before", async () => {
    const token = await tenants[0].clientCredentialsToken({ resource: AUDIENCE, scope: 'read:things' });
    for (const app of [beforeMultiTenant(options), afterMultiTenant(options)]) {
      expect((await request(app).post('/things').set('Authorization', `Bearer ${token}`)).status).toBe(403);
    }
  });
});
