// The checks both SDK migration guides must pass (README "Migrating from the MCP SDK's
// requireBearerAuth"): the app before and after, each on its own loopback port, against a real
// authorization server (oidc-provider) whose issuer has no path (`http://127.0.0.1:PORT`, no
// trailing slash), called by that SDK generation's own MCP client. Each test file supplies only
// what differs between SDK v1 and v2: the example, the client and the verifier's error.
import http from 'node:http';
import type { RequestListener } from 'node:http';
import request from 'supertest';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { StaticTokenEntry } from '../../lib';
import { parseBearerChallenge } from '../support/app';
import { startIssuer, type Issuer } from '../support/issuer';
import { closeServer, listenOnLoopback } from '../support/loopback';

const CI_KEY = 'ci-key-0123456789abcdef';
const PRM = '/.well-known/oauth-protected-resource/mcp';
const AS_METADATA = '/.well-known/oauth-authorization-server';

/** A token verifier as both SDK generations type it (structurally). */
interface Verifier {
  verifyAccessToken(token: string): Promise<{ token: string; clientId: string; scopes: string[]; expiresAt?: number }>;
}

/** The options both migration examples take, with the authorization server's metadata as fetched. */
export interface MigrationOptions {
  oauthMetadata: Record<string, unknown>;
  resourceServerUrl: URL;
  verifier: Verifier;
  requiredScopes: string[];
  ciKeys: Record<string, StaticTokenEntry>;
}

/** What one SDK generation brings to the suite. */
export interface SdkGeneration {
  /** The example's app before and after the migration. */
  before(options: MigrationOptions): RequestListener;
  after(options: MigrationOptions): RequestListener;
  /** The error the SDK's verifiers throw for a token they refuse. */
  invalidToken(): Error;
  /** The error they throw when they cannot decide (the SDK's `server_error`). */
  serverError(): Error;
  /** The error they throw for a valid token with too little scope (`insufficient_scope`). */
  insufficientScope(): Error;
  /** Calls the `whoami` tool at `url` through the SDK's own client. */
  whoami(url: URL, token: string): Promise<{ clientId: string; source: string | null }>;
}

/** The app's own verifier, as an SDK resource server writes one: jose against the issuer's JWKS. */
function appVerifier(issuer: Issuer, audience: string, invalidToken: () => Error): Verifier {
  const keys = createRemoteJWKSet(new URL(issuer.jwksUri));
  return {
    async verifyAccessToken(token) {
      try {
        const { payload } = await jwtVerify(token, keys, { issuer: issuer.issuer, audience });
        return { token, clientId: String(payload.client_id), scopes: String(payload.scope ?? '').split(' ').filter(Boolean), expiresAt: payload.exp };
      } catch {
        throw invalidToken();
      }
    },
  };
}

/** Registers the migration suite for one SDK generation in the calling `describe`. */
export function migrationSuite(sdk: SdkGeneration): void {
  let issuer: Issuer;
  const servers: Record<'before' | 'after', { server: http.Server; origin: string; resource: URL }> = {} as never;
  let userToken: string;

  beforeAll(async () => {
    issuer = await startIssuer();
    const oauthMetadata = (await (await fetch(`${issuer.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    for (const which of ['before', 'after'] as const) {
      const server = http.createServer();
      const origin = await listenOnLoopback(server);
      const resource = new URL(`${origin}/mcp`);
      const options: MigrationOptions = {
        oauthMetadata,
        resourceServerUrl: resource,
        verifier: appVerifier(issuer, resource.href, sdk.invalidToken),
        requiredScopes: ['mcp:read'],
        ciKeys: { [CI_KEY]: { clientId: 'ci', scopes: ['mcp:read'] } },
      };
      server.on('request', sdk[which](options));
      servers[which] = { server, origin, resource };
    }
    userToken = await issuer.clientCredentialsToken({ resource: servers.before.resource.href, scope: 'mcp:read' });
  }, 30_000);

  afterAll(async () => {
    for (const { server } of Object.values(servers)) await closeServer(server);
    await issuer?.stop();
  });

  /** The same path on the other app's origin: what "the same URL" means across two ports. */
  const samePath = (url: string, which: 'before' | 'after') => url.replace(servers[which].origin, '<origin>');

  it('serves both metadata documents at the paths the SDK router served', async () => {
    for (const path of [PRM, AS_METADATA]) {
      const was = await request(servers.before.origin).get(path);
      const is = await request(servers.after.origin).get(path);
      expect({ path, was: was.status, is: is.status }).toEqual({ path, was: 200, is: 200 });
    }
  });

  it('advertises the issuer spelled as before (no slash added) and the same resource', async () => {
    const was = (await request(servers.before.origin).get(PRM)).body;
    const is = (await request(servers.after.origin).get(PRM)).body;
    expect(is.authorization_servers).toEqual(was.authorization_servers);
    expect(is.authorization_servers).toEqual([issuer.issuer]);
    expect(samePath(is.resource, 'after')).toBe(samePath(was.resource, 'before'));
  });

  it("serves the authorization server's metadata unchanged", async () => {
    const was = (await request(servers.before.origin).get(AS_METADATA)).body;
    const is = (await request(servers.after.origin).get(AS_METADATA)).body;
    expect(is).toEqual(was);
    expect(is.issuer).toBe(issuer.issuer);
  });

  it('points the 401 challenge at the same metadata URL', async () => {
    const was = parseBearerChallenge((await request(servers.before.origin).post('/mcp').send({})).headers['www-authenticate']);
    const is = parseBearerChallenge((await request(servers.after.origin).post('/mcp').send({})).headers['www-authenticate']);
    expect(samePath(is.params.resource_metadata, 'after')).toBe(samePath(was.params.resource_metadata, 'before'));
    expect(samePath(is.params.resource_metadata, 'after')).toBe(`<origin>${PRM}`);
  });

  const whoami = (which: 'before' | 'after', token: string) => sdk.whoami(servers[which].resource, token);

  it("serves the authorization server's tokens to the MCP tools as before", async () => {
    const token = await issuer.clientCredentialsToken({ resource: servers.after.resource.href, scope: 'mcp:read' });
    expect(await whoami('before', userToken)).toEqual({ clientId: issuer.m2mClient.clientId, source: null });
    expect(await whoami('after', token)).toEqual({ clientId: issuer.m2mClient.clientId, source: 'primary' });
  });

  /**
   * Issue 28, point 3 and 4: what the app's verifier says keeps its meaning after the migration.
   * Each case builds both apps around one verifier and sends them the same request.
   */
  describe("the app's verifier keeps its meaning", () => {
    const pair = async (verifier: Verifier) => {
      const apps: Partial<Record<'before' | 'after', { server: http.Server; origin: string }>> = {};
      const close = async () => {
        for (const app of Object.values(apps)) await closeServer(app.server);
      };
      for (const which of ['before', 'after'] as const) {
        const server = http.createServer();
        const origin = await listenOnLoopback(server);
        apps[which] = { server, origin };
        const resourceServerUrl = new URL(`${origin}/mcp`);
        const oauthMetadata = (await (await fetch(`${issuer.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
        const ciKeys = { [CI_KEY]: { clientId: 'ci', scopes: ['mcp:read'] } };
        try {
          server.on('request', sdk[which]({ oauthMetadata, resourceServerUrl, verifier, requiredScopes: ['mcp:read'], ciKeys }));
        } catch (error) {
          await close();
          throw error;
        }
      }
      const call = (which: 'before' | 'after') => request(apps[which]!.origin).post('/mcp').set('Authorization', 'Bearer some-token').send({});
      try {
        return { was: await call('before'), is: await call('after') };
      } finally {
        await close();
      }
    };
    const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

    it('a token without expiry is refused with 401 invalid_token, as before', async () => {
      const { was, is } = await pair({ verifyAccessToken: async (token) => ({ token, clientId: 'c', scopes: ['mcp:read'] }) });
      expect(was.status).toBe(401);
      expect(is.status).toBe(401);
      expect(is.headers['www-authenticate']).toContain('error="invalid_token"');
    });

    it("the verifier's insufficient_scope is a 403 naming the required scopes, as before", async () => {
      const { was, is } = await pair({ verifyAccessToken: () => Promise.reject(sdk.insufficientScope()) });
      expect(was.status).toBe(403);
      expect(is.status).toBe(403);
      expect(parseBearerChallenge(is.headers['www-authenticate']).params).toMatchObject({ error: 'insufficient_scope', scope: 'mcp:read' });
    });

    it("the verifier's server_error is no refusal: 500 before, 503 with Retry-After after (retry, keep the token)", async () => {
      const { was, is } = await pair({ verifyAccessToken: () => Promise.reject(sdk.serverError()) });
      expect(was.status).toBe(500);
      expect(is.status).toBe(503);
      expect(is.headers['retry-after']).toBeDefined();
    });

    it('a token that carries its expiry passes both, as before', async () => {
      const { was, is } = await pair({ verifyAccessToken: async (token) => ({ token, clientId: 'c', scopes: ['mcp:read'], expiresAt: inAnHour() }) });
      expect(was.status).not.toBe(401);
      expect(is.status).toBe(was.status);
    });
  });

  it('accepts the new API key after, and only after', async () => {
    expect(await whoami('after', CI_KEY)).toEqual({ clientId: 'ci', source: 'ci' });
    expect((await request(servers.before.origin).post('/mcp').set('Authorization', `Bearer ${CI_KEY}`).send({})).status).toBe(401);
  });
}
