import request from 'supertest';
import { after, before, type EojbMigrationOptions } from '../../examples/migrate-from-express-oauth2-jwt-bearer';
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
