import request from 'supertest';
import express from 'express';
import type { RequestHandler } from 'express';
import { mcpAuthMetadataRouter, mcpAuthRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { DemoInMemoryAuthProvider } from '@modelcontextprotocol/sdk/examples/server/demoInMemoryOAuthProvider.js';
import { multiAuth } from '../../lib/chain/multi-auth';
import { remoteAuthServer } from '../../lib/primaries/remote-auth-server';
import { oauthServer } from '../../lib/primaries/oauth-server';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import { MultiAuthConfigError } from '../../lib/core/errors';
import { appWith, oneTokenVerifier, parseBearerChallenge } from '../support/app';
import { getAuth } from '../../lib/http/request-auth';
import type { AuthServer } from '../../lib/core/types';

const RESOURCE = 'https://mcp.example.com/mcp';
const PRM_PATH = '/.well-known/oauth-protected-resource/mcp';

/** remoteAuthServer with a stand-in verifier, so these tests need no key server. */
function remote(extra: Partial<Parameters<typeof remoteAuthServer>[0]> = {}) {
  return remoteAuthServer({ issuer: 'https://login.example.com', resource: RESOURCE, verifier: oneTokenVerifier(undefined, 'user'), ...extra });
}

/** Follows the resource_metadata URL of a 401, on the same app. */
async function followChallenge(app: Parameters<typeof request>[0]) {
  const challenge = await request(app).get('/echo');
  const url = new URL(parseBearerChallenge(challenge.headers['www-authenticate']).params.resource_metadata);
  return { challenge, url, metadata: await request(app).get(url.pathname) };
}

describe('remoteAuthServer: RFC 9728 protected-resource metadata', () => {
  it('serves the document at the well-known path built from the resource path, with the RFC 9728 members', async () => {
    const app = appWith(multiAuth({ primary: remote({ scopesSupported: ['mcp:write'], resourceName: 'Example MCP', resourceDocumentation: 'https://docs.example.com' }), requiredScopes: ['mcp:read'] }));
    const res = await request(app).get(PRM_PATH);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      resource: RESOURCE,
      authorization_servers: ['https://login.example.com'],
      scopes_supported: ['mcp:write', 'mcp:read'],
      bearer_methods_supported: ['header'],
      resource_name: 'Example MCP',
      resource_documentation: 'https://docs.example.com',
    });
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['cache-control']).toMatch(/max-age=\d+/);
  });

  it('answers HEAD and the CORS preflight, and 405 for other methods', async () => {
    const app = appWith(multiAuth({ primary: remote() }));
    expect((await request(app).head(PRM_PATH)).status).toBe(200);
    const preflight = await request(app).options(PRM_PATH).set('Origin', 'https://app.example').set('Access-Control-Request-Method', 'GET');
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-methods']).toContain('GET');
    const post = await request(app).post(PRM_PATH);
    expect(post.status).toBe(405);
    expect(post.headers.allow).toContain('GET');
  });

  it('points every challenge at exactly the document it serves', async () => {
    const { url, metadata } = await followChallenge(appWith(multiAuth({ primary: remote() })));
    expect(url.href).toBe(`https://mcp.example.com${PRM_PATH}`);
    expect(metadata.status).toBe(200);
    expect(metadata.body.resource).toBe(RESOURCE);
  });

  it('serves a resource with a deeper path, and one at the root', async () => {
    const deep = appWith(multiAuth({ primary: remote({ resource: 'https://api.example.com/v2/tenants/acme/mcp' }) }));
    const followed = await followChallenge(deep);
    expect(followed.url.pathname).toBe('/.well-known/oauth-protected-resource/v2/tenants/acme/mcp');
    expect(followed.metadata.body.resource).toBe('https://api.example.com/v2/tenants/acme/mcp');
    const root = await followChallenge(appWith(multiAuth({ primary: remote({ resource: 'https://api.example.com' }) })));
    expect(root.url.pathname).toBe('/.well-known/oauth-protected-resource');
    expect(root.metadata.status).toBe(200);
  });

  it('advertises the primary\'s required scopes when inherited, in metadata and challenges', async () => {
    const app = appWith(multiAuth({ primary: remote({ requiredScopes: ['mcp:read'] }) }));
    const { challenge, metadata } = await followChallenge(app);
    expect(parseBearerChallenge(challenge.headers['www-authenticate']).params.scope).toBe('mcp:read');
    expect(metadata.body.scopes_supported).toEqual(['mcp:read']);
  });

  it('an explicit requiredScopes: [] clears them everywhere (FastMCP review finding)', async () => {
    const app = appWith(multiAuth({ primary: remote({ requiredScopes: ['mcp:read'] }), requiredScopes: [] }));
    const { challenge, metadata } = await followChallenge(app);
    expect(parseBearerChallenge(challenge.headers['www-authenticate']).params.scope).toBeUndefined();
    expect(metadata.body.scopes_supported).toEqual([]);
    expect((await request(app).get('/echo').set('Authorization', 'Bearer user')).status).toBe(200);
  });

  it('an override is enforced, challenged and advertised alike', async () => {
    const app = appWith(multiAuth({ primary: remote({ requiredScopes: ['mcp:read'] }), requiredScopes: ['mcp:admin'] }));
    const { challenge, metadata } = await followChallenge(app);
    expect(parseBearerChallenge(challenge.headers['www-authenticate']).params.scope).toBe('mcp:admin');
    expect(metadata.body.scopes_supported).toEqual(['mcp:admin']);
    const denied = await request(app).get('/echo').set('Authorization', 'Bearer user');
    expect(denied.status).toBe(403);
    expect(parseBearerChallenge(denied.headers['www-authenticate']).params.scope).toBe('mcp:admin');
  });

  it('lists several authorization servers', async () => {
    const app = appWith(multiAuth({ primary: remote({ issuer: undefined, authorizationServers: ['https://a.example', 'https://b.example/t'] }) }));
    expect((await request(app).get(PRM_PATH)).body.authorization_servers).toEqual(['https://a.example', 'https://b.example/t']);
  });

  it('is tried first, and other sources still accept their tokens', async () => {
    const app = appWith(multiAuth({ primary: remote(), verifiers: staticTokenVerifier({ name: 'ci', tokens: { 'ci-key-0123456789': { clientId: 'ci', scopes: [] } } }) }));
    expect((await request(app).get('/echo').set('Authorization', 'Bearer user')).body.source).toBe('primary');
    expect((await request(app).get('/echo').set('Authorization', 'Bearer ci-key-0123456789')).body.source).toBe('ci');
  });

  describe('authorizationServerMetadata: the copy the SDK\'s mcpAuthMetadataRouter served', () => {
    const AS = { issuer: 'https://login.example.com', token_endpoint: 'https://login.example.com/oauth/token', response_types_supported: ['code'] };

    it('serves the authorization server metadata at the root well-known path, CORS open, as given', async () => {
      const app = appWith(multiAuth({ primary: remote({ authorizationServerMetadata: AS }) }));
      const res = await request(app).get('/.well-known/oauth-authorization-server').set('Origin', 'https://client.example');
      expect(res.status).toBe(200);
      expect(res.body).toEqual(AS);
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect((await request(app).get(PRM_PATH)).body.authorization_servers).toEqual(['https://login.example.com']);
    });

    it('serves no copy unless given one: the path stays behind the bearer check', async () => {
      const res = await request(appWith(multiAuth({ primary: remote() }))).get('/.well-known/oauth-authorization-server');
      expect(res.status).toBe(401);
    });

    it.each([
      ['an issuer spelled otherwise (a slash added)', { ...AS, issuer: 'https://login.example.com/' }, /is not one of the authorization servers/],
      ['no issuer', { token_endpoint: AS.token_endpoint }, /is not one of the authorization servers/],
      ['a string', 'https://login.example.com/.well-known/oauth-authorization-server', /must be the authorization server's RFC 8414 metadata object/],
    ])('refuses metadata with %s', (_n, metadata, message) => {
      expect(() => remote({ authorizationServerMetadata: metadata as never })).toThrow(MultiAuthConfigError);
      expect(() => remote({ authorizationServerMetadata: metadata as never })).toThrow(message);
    });
  });

  it.each([
    ['no issuer', { resource: RESOURCE }, /give issuer/],
    ['no resource', { issuer: 'https://a.example' }, /resource must be/],
    ['a resource with a fragment', { issuer: 'https://a.example', resource: 'https://m.example/mcp#x' }, /fragment/],
    ['issuer and authorizationServers', { issuer: 'https://a.example', authorizationServers: ['https://b.example'], resource: RESOURCE }, /not both/],
    ['an unknown option', { issuer: 'https://a.example', resource: RESOURCE, audience: 'x' }, /unknown option "audience"/],
  ])('refuses %s', (_n, options, message) => {
    expect(() => remoteAuthServer(options as never)).toThrow(MultiAuthConfigError);
    expect(() => remoteAuthServer(options as never)).toThrow(message);
  });
});

describe('oauthServer around the MCP SDK\'s mcpAuthRouter', () => {
  const ISSUER = 'http://127.0.0.1/tenant-a';
  function sdkPrimary(options: { scopesSupported?: string[]; requiredScopes?: string[] } = {}) {
    const provider = new DemoInMemoryAuthProvider();
    const router = mcpAuthRouter({
      provider,
      issuerUrl: new URL(ISSUER),
      // A stale copy: the SDK router serves its own PRM with other scopes.
      resourceServerUrl: new URL('http://127.0.0.1/mcp'),
      scopesSupported: ['stale:scope'],
    });
    return oauthServer({ router, verifier: provider, issuer: ISSUER, resource: 'http://127.0.0.1/mcp', ...options });
  }

  it('adds RFC 8414 path-aware metadata for an issuer with a path, and the OpenID forms', async () => {
    const app = appWith(multiAuth({ primary: sdkPrimary() }));
    for (const path of [
      '/.well-known/oauth-authorization-server/tenant-a',
      '/.well-known/openid-configuration/tenant-a',
      '/tenant-a/.well-known/openid-configuration',
    ]) {
      const res = await request(app).get(path);
      expect(res.status).toBe(200);
      expect(res.body.issuer).toBe(ISSUER);
      expect(res.body.token_endpoint).toBe('http://127.0.0.1/token');
    }
  });

  it('still serves the wrapped router\'s own routes (root metadata, registration)', async () => {
    const app = appWith(multiAuth({ primary: sdkPrimary() }));
    expect((await request(app).get('/.well-known/oauth-authorization-server')).body.issuer).toBe(ISSUER);
    const registered = await request(app).post('/register').send({ redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' });
    expect(registered.status).toBe(201);
    expect(registered.body.client_id).toBeTruthy();
  });

  it('serves protected-resource metadata with the effective scopes, winning over the router\'s stale copy', async () => {
    const app = appWith(multiAuth({ primary: sdkPrimary({ scopesSupported: ['mcp:write'], requiredScopes: ['mcp:read'] }) }));
    const { url, metadata } = await followChallenge(app);
    expect(url.pathname).toBe(PRM_PATH);
    expect(metadata.body).toMatchObject({
      resource: 'http://127.0.0.1/mcp',
      authorization_servers: [ISSUER],
      scopes_supported: ['mcp:write', 'mcp:read'],
      bearer_methods_supported: ['header'],
    });
  });

  it('an explicit [] override reaches its metadata too', async () => {
    const app = appWith(multiAuth({ primary: sdkPrimary({ requiredScopes: ['mcp:read'] }), requiredScopes: [] }));
    expect((await request(app).get(PRM_PATH)).body.scopes_supported).toEqual([]);
  });

  it('a bad token gets 401, though the SDK demo provider throws a plain Error', async () => {
    const res = await request(appWith(multiAuth({ primary: sdkPrimary() }))).get('/echo').set('Authorization', 'Bearer nope');
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
  });

  it('advertises an origin-only issuer as spelled, without the slash URL.href would add', async () => {
    const issuer = 'http://127.0.0.1:33459';
    const router = mcpAuthMetadataRouter({
      oauthMetadata: { issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, response_types_supported: ['code'] },
      resourceServerUrl: new URL('http://127.0.0.1/mcp'),
    });
    const app = appWith(multiAuth({ primary: oauthServer({ router, verifier: new DemoInMemoryAuthProvider(), issuer, resource: 'http://127.0.0.1/mcp' }) }));
    expect((await request(app).get(PRM_PATH)).body.authorization_servers).toEqual([issuer]);
    expect((await request(app).get('/.well-known/oauth-authorization-server')).body.issuer).toBe(issuer);
  });

  it('refuses a resourceDocumentation that is not a URL', () => {
    const provider = new DemoInMemoryAuthProvider();
    expect(() => oauthServer({ router: () => undefined, verifier: provider, issuer: ISSUER, resource: RESOURCE, resourceDocumentation: 'see wiki' })).toThrow(/resourceDocumentation must be/);
  });

  it('refuses a missing router or verifier', () => {
    expect(() => oauthServer({ verifier: new DemoInMemoryAuthProvider(), issuer: ISSUER, resource: RESOURCE } as never)).toThrow(/router must be/);
    expect(() => oauthServer({ router: () => undefined, issuer: ISSUER, resource: RESOURCE } as never)).toThrow(/verifier must be/);
  });
});

describe('auth.routes and auth.bearer mounted apart', () => {
  it('serve the metadata publicly and protect only the routes given the bearer check', async () => {
    const auth = multiAuth({ primary: remote({ requiredScopes: ['mcp:read'] }) });
    const app = express();
    app.use(auth.routes);
    app.get('/health', (_req, res) => res.send('ok'));
    app.get('/mcp', auth.bearer, (_req, res) => res.send('secret'));
    expect((await request(app).get(PRM_PATH)).body.scopes_supported).toEqual(['mcp:read']);
    expect((await request(app).get('/health')).status).toBe(200);
    const denied = await request(app).get('/mcp');
    expect(denied.status).toBe(401);
    expect(parseBearerChallenge(denied.headers['www-authenticate']).params.resource_metadata).toBe(`https://mcp.example.com${PRM_PATH}`);
  });
});

describe('routes without a primary', () => {
  it('serve nothing: metadata paths are behind the bearer check', async () => {
    const res = await request(appWith(multiAuth({ verifiers: oneTokenVerifier('a', 'x') }))).get(PRM_PATH);
    expect(res.status).toBe(401);
  });
});

describe('multiAuth as an Express router', () => {
  /** A primary whose routes handler does `behave` instead of serving anything. */
  const primaryWhoseRoutes = (behave: RequestHandler): AuthServer => ({
    ...oneTokenVerifier('primary', 'p-token'),
    name: 'primary',
    routes: () => behave,
  });

  it('still runs layers added to it with use(), after its own', async () => {
    const auth = multiAuth({ verifiers: oneTokenVerifier('a', 'x') });
    auth.use((req, res, next) => {
      res.setHeader('x-added-layer', getAuth(req)?.source ?? 'none');
      next();
    });
    const accepted = await request(appWith(auth)).get('/echo').set('Authorization', 'Bearer x');
    expect(accepted.status).toBe(200);
    expect(accepted.headers['x-added-layer']).toBe('a');
    const refused = await request(appWith(auth)).get('/echo');
    expect(refused.status).toBe(401);
    expect(refused.headers['x-added-layer']).toBeUndefined();
  });

  it("does not skip the bearer check when the primary's routes call next('router') or next('route')", async () => {
    for (const signal of ['router', 'route']) {
      const auth = multiAuth({ primary: primaryWhoseRoutes((_req, _res, next) => next(signal)) });
      expect((await request(appWith(auth)).get('/echo')).status).toBe(401);
      const ok = await request(appWith(auth)).get('/echo').set('Authorization', 'Bearer p-token');
      expect(ok.body.source).toBe('primary');
    }
  });

  it("hands a synchronous throw in the primary's routes to the app's error handler, as a router does", async () => {
    const auth = multiAuth({ primary: primaryWhoseRoutes(() => { throw new Error('routes broke'); }) });
    const app = appWith(auth);
    app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ handled: error.message });
    });
    const res = await request(app).get('/echo').set('Authorization', 'Bearer p-token');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ handled: 'routes broke' });
  });
});
