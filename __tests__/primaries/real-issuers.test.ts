import request from 'supertest';
import { startIssuer, type Issuer } from '../support/issuer';
import { multiAuth } from '../../lib/chain/multi-auth';
import { remoteAuthServer } from '../../lib/primaries/remote-auth-server';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import type { Decision } from '../../lib/core/types';
import { appWith, parseBearerChallenge } from '../support/app';

/**
 * The composition this package exists for, against two real authorization servers on loopback:
 * issuer A (with a path) is the primary, found by discovery; issuer B mints machine tokens for a
 * second JWT source; A's opaque tokens go through RFC 7662 introspection; plus an API key.
 */
describe('several real issuers composed', () => {
  const RESOURCE = 'http://127.0.0.1/mcp';
  let a: Issuer;
  let b: Issuer;
  const decisions: Decision[] = [];
  let app: ReturnType<typeof appWith>;

  beforeAll(async () => {
    [a, b] = await Promise.all([startIssuer({ path: '/tenant-a' }), startIssuer()]);
    const auth = multiAuth({
      primary: remoteAuthServer({ issuer: a.issuer, resource: RESOURCE, requiredScopes: ['mcp:read'] }),
      verifiers: [
        jwtVerifier({ name: 'machines', issuer: b.issuer, audience: RESOURCE }),
        introspectionVerifier({ name: 'opaque', endpoint: a.introspectionEndpoint, ...a.introspectionClient, audience: a.opaqueResource }),
        staticTokenVerifier({ name: 'ci', tokens: { 'ci-key-123-0123456789': { clientId: 'ci', scopes: ['mcp:read'] } } }),
      ],
      onDecision: (d) => decisions.push(d),
      cache: false,
    });
    app = appWith(auth);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  const get = (token: string) => request(app).get('/echo').set('Authorization', `Bearer ${token}`);

  it('accepts each issuer\'s token and reports its own source', async () => {
    const fromA = await a.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:read' });
    const fromB = await b.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:read mcp:write' });
    expect((await get(fromA)).body).toMatchObject({ source: 'primary', clientId: a.m2mClient.clientId, scopes: ['mcp:read'] });
    expect((await get(fromB)).body).toMatchObject({ source: 'machines', scopes: ['mcp:read', 'mcp:write'] });
  });

  it('accepts an opaque token through introspection, and the API key', async () => {
    const opaque = await a.opaqueToken({ scope: 'mcp:read' });
    expect((await get(opaque)).body).toMatchObject({ source: 'opaque', scopes: ['mcp:read'] });
    expect((await get('ci-key-123-0123456789')).body).toMatchObject({ source: 'ci' });
  });

  it('refuses a token minted for another resource (audience binding), at every JWT source', async () => {
    const elsewhere = await b.clientCredentialsToken({ resource: 'http://127.0.0.1/other-api', scope: 'mcp:read' });
    const res = await get(elsewhere);
    expect(res.status).toBe(401);
    expect(parseBearerChallenge(res.headers['www-authenticate']).params.error).toBe('invalid_token');
  });

  it('answers 401, not 503, when a JWT reaches the introspection source (400 unsupported_token_type is a rejection)', async () => {
    decisions.length = 0;
    const otherAudience = await a.clientCredentialsToken({ resource: 'http://127.0.0.1/other-api', scope: 'mcp:read' });
    expect((await get(otherAudience)).status).toBe(401);
    expect(decisions[0].attempts.find((x) => x.source === 'opaque')?.outcome).toBe('rejected');
  });

  it('refuses a revoked opaque token', async () => {
    const opaque = await a.opaqueToken({ scope: 'mcp:read' });
    await a.revoke(opaque);
    expect((await get(opaque)).status).toBe(401);
  });

  it('enforces the primary\'s required scope on every source: 403 insufficient_scope', async () => {
    const writeOnly = await b.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:write' });
    const res = await get(writeOnly);
    expect(res.status).toBe(403);
    expect(parseBearerChallenge(res.headers['www-authenticate']).params.scope).toBe('mcp:read');
  });

  it('points clients at metadata naming issuer A, which discovery then finds path-aware', async () => {
    const challenge = await request(app).get('/echo');
    const prm = await request(app).get(new URL(parseBearerChallenge(challenge.headers['www-authenticate']).params.resource_metadata).pathname);
    expect(prm.body.authorization_servers).toEqual([a.issuer]);
    const discovered = await fetch(new URL(`/.well-known/oauth-authorization-server${new URL(a.issuer).pathname}`, a.issuer));
    expect((await discovered.json()).issuer).toBe(a.issuer);
  });

  it('costs B\'s key server nothing for A\'s tokens', async () => {
    const before = await b.requestCount();
    for (let i = 0; i < 5; i++) await get(await a.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:read' }));
    expect(await b.requestCount()).toBe(before);
  });
});
