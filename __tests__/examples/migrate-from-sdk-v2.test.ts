import http from 'node:http';
import request from 'supertest';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { OAuthError, OAuthErrorCode, type OAuthMetadata, type OAuthTokenVerifier } from '@modelcontextprotocol/server';
import { after, before, type SdkV2MigrationOptions } from '../../examples/migrate-from-sdk-v2';
import { parseBearerChallenge } from '../support/app';
import { startIssuer, type Issuer } from '../support/issuer';
import { closeServer, listenOnLoopback } from '../support/loopback';

const CI_KEY = 'ci-key-0123456789abcdef';
const PRM = '/.well-known/oauth-protected-resource/mcp';
const AS_METADATA = '/.well-known/oauth-authorization-server';

/** The app's own verifier, as an SDK resource server writes one: jose against the issuer's JWKS. */
function appVerifier(issuer: Issuer, audience: string): OAuthTokenVerifier {
  const keys = createRemoteJWKSet(new URL(issuer.jwksUri));
  return {
    async verifyAccessToken(token) {
      try {
        const { payload } = await jwtVerify(token, keys, { issuer: issuer.issuer, audience });
        return { token, clientId: String(payload.client_id), scopes: String(payload.scope ?? '').split(' ').filter(Boolean), expiresAt: payload.exp };
      } catch {
        throw new OAuthError(OAuthErrorCode.InvalidToken, 'Invalid token');
      }
    },
  };
}

/**
 * README "Migrating from the MCP SDK's requireBearerAuth", v2 packages: the example's app before
 * and after, each on its own loopback port, against a real authorization server (oidc-provider)
 * whose issuer has no path, called by the v2 SDK's own MCP client.
 */
describe('migrating from SDK v2 requireBearerAuth + mcpAuthMetadataRouter (examples/migrate-from-sdk-v2.ts)', () => {
  let issuer: Issuer;
  const servers: Record<'before' | 'after', { server: http.Server; origin: string; resource: URL }> = {} as never;
  let userToken: string;

  beforeAll(async () => {
    issuer = await startIssuer();
    const oauthMetadata = (await (await fetch(`${issuer.issuer}/.well-known/openid-configuration`)).json()) as OAuthMetadata;
    for (const which of ['before', 'after'] as const) {
      const server = http.createServer();
      const origin = await listenOnLoopback(server);
      const resource = new URL(`${origin}/mcp`);
      const options: SdkV2MigrationOptions = {
        oauthMetadata,
        resourceServerUrl: resource,
        verifier: appVerifier(issuer, resource.href),
        requiredScopes: ['mcp:read'],
        ciKeys: { [CI_KEY]: { clientId: 'ci', scopes: ['mcp:read'] } },
      };
      server.on('request', (which === 'before' ? before : after)(options));
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

  /** Calls the `whoami` tool through the SDK's own client. */
  async function whoami(which: 'before' | 'after', token: string): Promise<{ clientId: string; source: string | null }> {
    const client = new Client({ name: 'migration-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(servers[which].resource, { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
    await client.connect(transport);
    try {
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      return JSON.parse((result.content as Array<{ text: string }>)[0].text);
    } finally {
      await client.close();
    }
  }

  it("serves the authorization server's tokens to the MCP tools as before", async () => {
    const token = await issuer.clientCredentialsToken({ resource: servers.after.resource.href, scope: 'mcp:read' });
    expect(await whoami('before', userToken)).toEqual({ clientId: issuer.m2mClient.clientId, source: null });
    expect(await whoami('after', token)).toEqual({ clientId: issuer.m2mClient.clientId, source: 'primary' });
  });

  it('accepts the new API key after, and only after', async () => {
    expect(await whoami('after', CI_KEY)).toEqual({ clientId: 'ci', source: 'ci' });
    expect((await request(servers.before.origin).post('/mcp').set('Authorization', `Bearer ${CI_KEY}`).send({})).status).toBe(401);
  });
});
