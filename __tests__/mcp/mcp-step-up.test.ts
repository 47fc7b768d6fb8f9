import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { multiAuth } from '../../lib/chain/multi-auth';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { mcpPolicy } from '../../lib/mcp/mcp-policy';
import { startIssuer, type Issuer } from '../support/issuer';
import { parseBearerChallenge } from '../support/app';
import { statelessMcp } from '../../examples/mcp-app';

/**
 * The step-up loop as an MCP client lives it, against a real authorization server: a token with
 * repo:read is refused on delete_repo with `scope="repo:admin"`, the client asks the issuer for a
 * token with exactly that scope, and the call goes through.
 */
describe('per-tool step-up with tokens from a real authorization server', () => {
  const RESOURCE = 'http://127.0.0.1/mcp';
  let issuer: Issuer;
  let server: Server;
  let url: URL;

  beforeAll(async () => {
    issuer = await startIssuer();
    const auth = multiAuth({ verifiers: jwtVerifier({ name: 'user-oauth', issuer: issuer.issuer, audience: RESOURCE }) });
    const policy = mcpPolicy({ tools: { delete_repo: { scopes: ['repo:admin'] }, search: { anyScopes: ['repo:read', 'repo:admin'] } } }, { auth });
    const app = express();
    app.use(express.json(), auth);
    app.post(
      '/mcp',
      policy,
      statelessMcp(() => {
        const mcp = new McpServer({ name: 'repo-server', version: '1.0.0' });
        mcp.registerTool('search', { description: 'Search' }, async (extra) => ({ content: [{ type: 'text', text: `search by ${extra.authInfo?.extra?.source}` }] }));
        mcp.registerTool('delete_repo', { description: 'Delete' }, async () => ({ content: [{ type: 'text', text: 'deleted' }] }));
        return mcp;
      }),
    );
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await issuer?.stop();
  });

  async function connect(token: string) {
    const seen: { challenge?: string | null } = {};
    const transport = new StreamableHTTPClientTransport(url, {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (response.status === 403) seen.challenge = response.headers.get('www-authenticate');
        return response;
      },
    });
    const client = new Client({ name: 'step-up', version: '1.0.0' });
    await client.connect(transport);
    return { client, seen };
  }

  it('refuses delete_repo with scope="repo:admin", and accepts the token the issuer mints for that scope', async () => {
    const reader = await connect(await issuer.clientCredentialsToken({ resource: RESOURCE, scope: 'repo:read' }));
    let needed: string;
    try {
      expect((await reader.client.callTool({ name: 'search', arguments: {} })).content).toEqual([{ type: 'text', text: 'search by user-oauth' }]);
      await expect(reader.client.callTool({ name: 'delete_repo', arguments: {} })).rejects.toMatchObject({ code: 403 });
      const { params } = parseBearerChallenge(reader.seen.challenge ?? undefined);
      expect(params).toMatchObject({ error: 'insufficient_scope', scope: 'repo:admin' });
      needed = params.scope;
    } finally {
      await reader.client.close();
    }

    const stepped = await connect(await issuer.clientCredentialsToken({ resource: RESOURCE, scope: needed }));
    try {
      expect((await stepped.client.callTool({ name: 'delete_repo', arguments: {} })).content).toEqual([{ type: 'text', text: 'deleted' }]);
    } finally {
      await stepped.client.close();
    }
  });
});
