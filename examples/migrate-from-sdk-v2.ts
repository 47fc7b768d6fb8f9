/**
 * Migrating an MCP resource server built on the MCP SDK v2 (`@modelcontextprotocol/server`,
 * `/node`, `/express`) from its `requireBearerAuth` + `mcpAuthMetadataRouter` to multiAuth, to
 * accept CI API keys next to the authorization server's tokens. Exercised by
 * __tests__/examples/migrate-from-sdk-v2.test.ts.
 *
 * As with v1 (examples/migrate-from-sdk-v1-resource-server.ts): the same metadata at the same
 * URLs, the issuer spelled as before, the app's verifier kept as the primary's. Tool handlers
 * read `ctx.http.authInfo` as before; its `extra.source` tells which source accepted the token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import { McpServer, type AuthInfo, type OAuthMetadata, type OAuthTokenVerifier } from '@modelcontextprotocol/server';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { getOAuthProtectedResourceMetadataUrl, mcpAuthMetadataRouter, requireBearerAuth } from '@modelcontextprotocol/express';
import { mcpRequest, multiAuth, remoteAuthServer, staticTokenVerifier, type StaticTokenEntry } from '../lib/index';

export interface SdkV2MigrationOptions {
  /** The authorization server's RFC 8414 metadata, as the app gave it to `mcpAuthMetadataRouter`. */
  oauthMetadata: OAuthMetadata;
  /** This MCP endpoint's URL, e.g. `https://mcp.example.com/mcp`. */
  resourceServerUrl: URL;
  /** How the app checks the authorization server's tokens (any v2 `OAuthTokenVerifier`). */
  verifier: OAuthTokenVerifier;
  requiredScopes: string[];
  /** New: API keys for CI. */
  ciKeys: Record<string, StaticTokenEntry>;
}

/** The MCP endpoint: a stateless v2 server with one tool that says who called. */
async function handleMcp(req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, body: unknown): Promise<void> {
  const server = new McpServer({ name: 'things', version: '1.0.0' });
  server.registerTool('whoami', { description: 'The caller, as the server sees it' }, async (ctx) => {
    const authInfo = ctx.http?.authInfo;
    return { content: [{ type: 'text', text: JSON.stringify({ clientId: authInfo?.clientId, source: authInfo?.extra?.source ?? null }) }] };
  });
  const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
}

/** The app before: v2's metadata router and bearer middleware. */
export function before(options: SdkV2MigrationOptions): express.Express {
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
export function after(options: SdkV2MigrationOptions): express.Express {
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
