/**
 * The test authorization server (support/issuer.ts + support/oidc-issuer.mjs):
 * pins down what oidc-provider 9 actually issues and serves, so tests built on
 * it can rely on these facts.
 */
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { createPkce, IssuerRequestError, startIssuer, type Issuer } from './support/issuer';

const RESOURCE = 'http://127.0.0.1:4000/mcp';
const HS_RESOURCE = 'http://127.0.0.1:4000/hs-api';
const HS_SECRET = 'a-shared-secret-of-at-least-32-bytes!';

let root: Issuer;
let tenant: Issuer;

beforeAll(async () => {
  [root, tenant] = await Promise.all([
    startIssuer(),
    startIssuer({
      path: '/tenant-a',
      accessTokenTtl: 120,
      autoApprove: false,
      signingAlgs: ['ES256'],
      resources: { [HS_RESOURCE]: { alg: 'HS256', secret: HS_SECRET, scope: 'repo:read' } },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([root?.stop(), tenant?.stop()]);
});

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

describe('client credentials tokens for a JWT resource', () => {
  let token: string;
  beforeAll(async () => {
    token = await root.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:read repo:admin' });
  });

  it('are RFC 9068 JWTs: header typ at+jwt, signed with a published key', () => {
    const header = decodeProtectedHeader(token);
    expect(header.typ).toBe('at+jwt');
    expect(header.alg).toBe('RS256');
    expect(root.keys.map((k) => k.kid)).toContain(header.kid);
  });

  it('carry iss, aud = the requested resource, scope, exp, client_id', () => {
    const claims = decodeJwt(token);
    expect(claims.iss).toBe(root.issuer);
    expect(claims.aud).toBe(RESOURCE);
    expect(String(claims.scope).split(' ').sort()).toEqual(['mcp:read', 'repo:admin']);
    expect(claims.client_id).toBe(root.m2mClient.clientId);
    expect(claims.sub).toBe(root.m2mClient.clientId); // client credentials: sub is the client
    expect(typeof claims.exp).toBe('number');
    expect(claims.exp! - claims.iat!).toBe(600); // the default accessTokenTtl
    expect(typeof claims.jti).toBe('string');
  });

  it("verify against the issuer's JWKS with jose's createRemoteJWKSet", async () => {
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(root.jwksUri)), {
      issuer: root.issuer,
      audience: RESOURCE,
      typ: 'at+jwt',
    });
    expect(payload.client_id).toBe('m2m-client');
    expect(protectedHeader.typ).toBe('at+jwt');
  });

  it('drop requested scopes the resource does not know, without an error', async () => {
    const response = await root.tokenResponse({ resource: RESOURCE, scope: 'mcp:write no-such-scope' });
    expect(response.scope).toBe('mcp:write');
    expect(decodeJwt(response.access_token).scope).toBe('mcp:write');
  });

  it('default to http://127.0.0.1/mcp as audience when no resource is requested', async () => {
    const claims = decodeJwt(await root.clientCredentialsToken({ scope: 'mcp:read' }));
    expect(claims.aud).toBe('http://127.0.0.1/mcp');
    expect(root.defaultResource).toBe('http://127.0.0.1/mcp');
  });

  it('are also issued when the client authenticates with client_secret_post', async () => {
    const token = await root.clientCredentialsToken({ resource: RESOURCE, authMethod: 'client_secret_post' });
    expect(decodeJwt(token).client_id).toBe(root.m2mClient.clientId);
  });

  it('are refused to a wrong client secret with 401 invalid_client', async () => {
    const wrong = { ...root.m2mClient, clientSecret: 'wrong' };
    await expect(root.clientCredentialsToken({ resource: RESOURCE, client: wrong })).rejects.toMatchObject({
      status: 401,
      body: { error: 'invalid_client' },
    });
  });

  it('are refused to the introspection client, which has no client_credentials grant', async () => {
    // oidc-provider answers invalid_request here, not RFC 6749's unauthorized_client.
    await expect(
      root.clientCredentialsToken({ resource: RESOURCE, client: root.introspectionClient }),
    ).rejects.toMatchObject({
      status: 400,
      body: { error: 'invalid_request', error_description: 'requested grant type is not allowed for this client' },
    });
  });

  it('honour a per-token ttl and the issuer-wide accessTokenTtl', async () => {
    const short = await root.tokenResponse({ resource: RESOURCE, scope: 'mcp:read', ttl: 2 });
    expect(short.expires_in).toBe(2);
    const claims = decodeJwt(short.access_token);
    expect(claims.exp! - claims.iat!).toBe(2);

    const tenantToken = await tenant.tokenResponse({ resource: RESOURCE, scope: 'mcp:read' });
    expect(tenantToken.expires_in).toBe(120);
  });
});

describe('discovery', () => {
  it('serves /.well-known/openid-configuration with issuer and jwks_uri', async () => {
    const { status, body } = await getJson(`${root.issuer}/.well-known/openid-configuration`);
    expect(status).toBe(200);
    expect(body.issuer).toBe(root.issuer);
    expect(body.jwks_uri).toBe(root.jwksUri);
    expect(body.introspection_endpoint).toBe(root.introspectionEndpoint);
    expect(body.registration_endpoint).toBe(root.registrationEndpoint);
    expect(body.code_challenge_methods_supported).toEqual(['S256']);
    expect(body.scopes_supported).toEqual(expect.arrayContaining(['mcp:read', 'mcp:write', 'repo:read', 'repo:admin']));
  });

  it('serves the same document at /.well-known/oauth-authorization-server (oidc-provider mounts both)', async () => {
    const oauth = await getJson(`${root.issuer}/.well-known/oauth-authorization-server`);
    const openid = await getJson(root.discoveryUrl);
    expect(oauth.status).toBe(200);
    expect(oauth.body).toEqual(openid.body);
  });

  it('for an issuer with a path, answers at the RFC 8414 inserted and the OIDC appended URLs', async () => {
    const { origin } = tenant;
    const urls = [
      `${origin}/.well-known/oauth-authorization-server/tenant-a`,
      `${origin}/.well-known/openid-configuration/tenant-a`,
      `${origin}/tenant-a/.well-known/openid-configuration`,
      `${origin}/tenant-a/.well-known/oauth-authorization-server`,
    ];
    for (const url of urls) {
      const { status, body } = await getJson(url);
      expect({ url, status, issuer: body.issuer, jwks_uri: body.jwks_uri }).toEqual({
        url,
        status: 200,
        issuer: `${origin}/tenant-a`,
        jwks_uri: `${origin}/tenant-a/jwks`,
      });
    }
    expect((await getJson(`${origin}/.well-known/openid-configuration`)).status).toBe(404);
  });
});

describe('an issuer with a path', () => {
  it('issues tokens whose iss includes the path and that verify against its JWKS', async () => {
    expect(tenant.issuer).toBe(`http://127.0.0.1:${tenant.port}/tenant-a`);
    expect(tenant.jwksUri).toBe(`${tenant.issuer}/jwks`);
    const token = await tenant.clientCredentialsToken({ resource: RESOURCE, scope: 'repo:read' });
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(tenant.jwksUri)), {
      issuer: tenant.issuer,
      audience: RESOURCE,
    });
    expect(payload.scope).toBe('repo:read');
  });
});

describe('signing algorithms', () => {
  it('signs with the first of signingAlgs and still publishes an RS256 key', async () => {
    expect(tenant.keys.map((k) => k.alg)).toEqual(['ES256', 'RS256']);
    const token = await tenant.clientCredentialsToken({ resource: RESOURCE });
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: tenant.keys[0].kid, typ: 'at+jwt' });
  });

  it('signs an HS256 resource with its shared secret', async () => {
    const token = await tenant.clientCredentialsToken({ resource: HS_RESOURCE, scope: 'repo:read mcp:read' });
    expect(decodeProtectedHeader(token).alg).toBe('HS256');
    const { payload } = await jwtVerify(token, new TextEncoder().encode(HS_SECRET), {
      issuer: tenant.issuer,
      audience: HS_RESOURCE,
    });
    expect(payload.scope).toBe('repo:read'); // the resource's own scope list applies
  });
});

describe('two issuers at once', () => {
  it('listen on different ports with different keys', async () => {
    expect(root.port).not.toBe(tenant.port);
    expect(root.keys[0].kid).not.toBe(tenant.keys[0].kid);
    const fromRoot = await root.clientCredentialsToken({ resource: RESOURCE });
    await expect(jwtVerify(fromRoot, createRemoteJWKSet(new URL(tenant.jwksUri)))).rejects.toBeInstanceOf(
      joseErrors.JWKSNoMatchingKey,
    );
  });
});

describe('introspection (RFC 7662)', () => {
  it('reports an opaque token active, with scope, client_id and aud', async () => {
    const token = await root.opaqueToken({ scope: 'mcp:read' });
    expect(token.split('.')).toHaveLength(1); // not a JWT
    const result = await root.introspect(token);
    expect(result).toMatchObject({
      active: true,
      scope: 'mcp:read',
      client_id: root.m2mClient.clientId,
      aud: root.opaqueResource,
      iss: root.issuer,
      token_type: 'Bearer',
    });
    expect(typeof result.exp).toBe('number');
    expect(result.sub).toBeUndefined(); // no user behind client credentials
  });

  it('accepts the resource server credential via client_secret_post too', async () => {
    const token = await root.opaqueToken({ scope: 'repo:read' });
    expect(await root.introspect(token, { authMethod: 'client_secret_post' })).toMatchObject({
      active: true,
      scope: 'repo:read',
    });
  });

  it('reports a revoked token inactive', async () => {
    const token = await root.opaqueToken({ scope: 'mcp:read' });
    await root.revoke(token);
    expect(await root.introspect(token)).toEqual({ active: false });
  });

  it('reports an unknown token inactive', async () => {
    expect(await root.introspect('not-a-token-this-issuer-made')).toEqual({ active: false });
  });

  it('answers a JWT with 400 unsupported_token_type', async () => {
    const jwt = await root.clientCredentialsToken({ resource: RESOURCE });
    const error = await root.introspect(jwt).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IssuerRequestError);
    expect(error).toMatchObject({ status: 400, body: { error: 'unsupported_token_type' } });
  });

  it('rejects a wrong resource server secret with 401 invalid_client', async () => {
    const token = await root.opaqueToken();
    const wrong = { ...root.introspectionClient, clientSecret: 'wrong' };
    await expect(root.introspect(token, { client: wrong })).rejects.toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });
});

describe('request log and faults', () => {
  it('counts requests per path, excluding its own control requests', async () => {
    await root.resetRequests();
    await fetch(root.jwksUri);
    await fetch(root.jwksUri);
    expect(await root.requestCount(root.jwksUri)).toBe(2);
    expect(await root.requestCount(root.tokenEndpoint)).toBe(0);
    expect(await root.requestCount()).toBe(2);
  });

  it('injects an error status for a number of requests', async () => {
    await root.setFaults([{ pathPrefix: root.jwksUri, status: 503, times: 1 }]);
    try {
      expect((await fetch(root.jwksUri)).status).toBe(503);
      expect((await fetch(root.jwksUri)).status).toBe(200);
    } finally {
      await root.setFaults([]);
    }
  });

  it('injects a connection reset', async () => {
    await root.setFaults([{ pathPrefix: root.jwksUri, reset: true }]);
    try {
      await expect(fetch(root.jwksUri)).rejects.toThrow('fetch failed');
    } finally {
      await root.setFaults([]);
    }
  });
});

describe('signJwt', () => {
  it("signs arbitrary claims with the issuer's published key", async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    const jwt = await root.signJwt({ iss: root.issuer, aud: RESOURCE, exp: past, scope: 'mcp:read' });
    expect(decodeProtectedHeader(jwt)).toMatchObject({ typ: 'at+jwt', alg: 'RS256', kid: root.keys[0].kid });
    await expect(jwtVerify(jwt, createRemoteJWKSet(new URL(root.jwksUri)))).rejects.toBeInstanceOf(
      joseErrors.JWTExpired,
    );
  });

  it('can sign with a key the JWKS does not publish', async () => {
    const jwt = await root.signJwt({ iss: root.issuer, aud: RESOURCE }, { unpublishedKey: true });
    await expect(jwtVerify(jwt, createRemoteJWKSet(new URL(root.jwksUri)))).rejects.toBeInstanceOf(
      joseErrors.JWKSNoMatchingKey,
    );
  });
});

describe('dynamic registration and authorization code + PKCE', () => {
  const redirectUri = 'http://127.0.0.1:9/callback';

  async function registerPublicClient(issuer: Issuer): Promise<string> {
    const registered = await issuer.registerClient({
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      client_name: 'harness test client',
    });
    expect(typeof registered.client_id).toBe('string');
    return registered.client_id as string;
  }

  function authorizationUrl(issuer: Issuer, clientId: string, challenge: string): URL {
    const url = new URL(issuer.authorizationEndpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      scope: 'mcp:read mcp:write',
      resource: RESOURCE,
      state: 'state-123',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    return url;
  }

  it('auto-approves the test user and exchanges the code for an at+jwt for the resource', async () => {
    const clientId = await registerPublicClient(root);
    const pkce = createPkce();
    const callback = await root.authorize(authorizationUrl(root, clientId, pkce.challenge));
    expect(callback.origin + callback.pathname).toBe(redirectUri);
    expect(callback.searchParams.get('state')).toBe('state-123');
    expect(callback.searchParams.get('iss')).toBe(root.issuer);
    const code = callback.searchParams.get('code');
    expect(code).toEqual(expect.any(String));

    const res = await fetch(root.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: code!,
        redirect_uri: redirectUri,
        client_id: clientId,
        code_verifier: pkce.verifier,
        resource: RESOURCE,
      }),
    });
    const body = await res.json();
    expect(res.status).toBe(200);
    expect(body.scope).toBe('mcp:read mcp:write');
    expect(typeof body.refresh_token).toBe('string'); // the client registered the refresh_token grant
    const { payload, protectedHeader } = await jwtVerify(body.access_token, createRemoteJWKSet(new URL(root.jwksUri)), {
      issuer: root.issuer,
      audience: RESOURCE,
    });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toMatchObject({ sub: 'test-user', client_id: clientId, scope: 'mcp:read mcp:write' });

    const refreshed = await fetch(root.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: body.refresh_token,
        client_id: clientId,
        resource: RESOURCE,
      }),
    });
    expect(refreshed.status).toBe(200);
    expect(decodeJwt((await refreshed.json()).access_token)).toMatchObject({ aud: RESOURCE, sub: 'test-user' });
  });

  it('requires PKCE', async () => {
    const clientId = await registerPublicClient(root);
    const url = authorizationUrl(root, clientId, 'unused');
    url.searchParams.delete('code_challenge');
    url.searchParams.delete('code_challenge_method');
    const callback = await root.authorize(url);
    expect(callback.searchParams.get('error')).toBe('invalid_request');
  });

  it('with autoApprove: false, ends in access_denied', async () => {
    const clientId = await registerPublicClient(tenant);
    const callback = await tenant.authorize(authorizationUrl(tenant, clientId, createPkce().challenge));
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('code')).toBeNull();
  });
});

describe('lifecycle', () => {
  it('stop() ends the child process and frees the port', async () => {
    const issuer = await startIssuer();
    expect((await fetch(issuer.jwksUri)).status).toBe(200);
    await issuer.stop();
    await issuer.stop(); // idempotent
    expect(() => process.kill(issuer.pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    await expect(fetch(issuer.jwksUri)).rejects.toThrow('fetch failed'); // connection refused
  });

  it("a bad configuration fails startIssuer with the child's stderr in the message", async () => {
    await expect(startIssuer({ path: 'no-leading-slash' })).rejects.toThrow(/path must be like "\/tenant-a"/);
  });
});
