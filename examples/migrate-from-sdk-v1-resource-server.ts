/**
 * Migrating an MCP resource server from the MCP SDK v1's `requireBearerAuth` +
 * `mcpAuthMetadataRouter` to multiAuth, to accept CI API keys next to the authorization
 * server's tokens. Exercised by __tests__/examples/migrate-from-sdk-v1-resource-server.test.ts.
 *
 * `before()` is the app as the SDK's docs build it; `after()` serves the same metadata at the
 * same URLs (protected-resource metadata, and the copy of the authorization server's metadata
 * the SDK router served), advertises the issuer spelled exactly as before, keeps the app's own
 * token verifier as the primary's, and adds API keys. The MCP handler is unchanged but for
 * `mcpRequest(req)`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { getOAuthProtectedResourceMetadataUrl, mcpAuthMetadataRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { OAuthMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { mcpRequest, multiAuth, remoteAuthServer, staticTokenVerifier, type StaticTokenEntry } from '../lib/index';

export interface SdkV1MigrationOptions {
  /** The authorization server's RFC 8414 metadata, as the app gave it to `mcpAuthMetadataRouter`. */
  oauthMetadata: OAuthMetadata;
  /** This MCP endpoint's URL, e.g. `https://mcp.example.com/mcp`. */
  resourceServerUrl: URL;
  /** How the app checks the authorization server's tokens (any SDK `OAuthTokenVerifier`). */
  verifier: OAuthTokenVerifier;
  requiredScopes: string[];
  /** New: API keys for CI. */
  ciKeys: Record<string, StaticTokenEntry>;
}

/** The MCP endpoint: a stateless server with one tool that says who called. */
async function handleMcp(req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, body: unknown): Promise<void> {
  const server = new McpServer({ name: 'things', version: '1.0.0' });
  server.registerTool('whoami', { description: 'The caller, as the server sees it' }, async (extra) => ({
    content: [{ type: 'text', text: JSON.stringify({ clientId: extra.authInfo?.clientId, source: extra.authInfo?.extra?.source ?? null }) }],
  }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
}

/** The app before: the SDK's metadata router and bearer middleware. */
export function before(options: SdkV1MigrationOptions): express.Express {
  const { oauthMetadata, resourceServerUrl, verifier, requiredScopes } = options;
  const app = express();
  app.use(express.json());
  app.use(mcpAuthMetadataRouter({ oauthMetadata, resourceServerUrl, scopesSupported: requiredScopes }));
  const bearer = requireBearerAuth({ verifier, requiredScopes, resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(resourceServerUrl) });
  app.post(resourceServerUrl.pathname, bearer, (req, res) => handleMcp(req, res, req.body));
  return app;
}

/**
 * The app after: `remoteAuthServer` serves both metadata documents and checks tokens with the
 * app's verifier; API keys are one more source.
 *
 * @example
 * after({ oauthMetadata, resourceServerUrl: new URL('https://mcp.example.com/mcp'), verifier,
 *         requiredScopes: ['mcp:read'], ciKeys: { [process.env.CI_KEY!]: { clientId: 'ci', scopes: ['mcp:read'] } } })
 *   .listen(3000, '127.0.0.1');
 */
export function after(options: SdkV1MigrationOptions): express.Express {
  const { oauthMetadata, resourceServerUrl, verifier, requiredScopes } = options;
  const app = express();
  app.use(express.json());
  app.use(
    multiAuth({
      primary: remoteAuthServer({
        issuer: oauthMetadata.issuer,                 // advertised as spelled, as the SDK router did
        resource: resourceServerUrl.href,             // the SDK router advertised the URL's href
        verifier,                                     // the same verifier as before
        authorizationServerMetadata: oauthMetadata,   // the copy at /.well-known/oauth-authorization-server
      }),
      verifiers: [staticTokenVerifier({ name: 'ci', tokens: options.ciKeys })],
      requiredScopes,
    }),
  );
  app.post(resourceServerUrl.pathname, (req, res) => handleMcp(mcpRequest(req), res, req.body));
  return app;
}
