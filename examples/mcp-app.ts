import express from 'express';
import type { RequestHandler } from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { getAuth } from '../lib/index';

/** One MCP server per request (stateless Streamable HTTP), with a tool that says who called it. */
function buildMcpServer(): McpServer {
  const server = new McpServer({ name: 'multiauth-example', version: '1.0.0' });
  server.registerTool(
    'whoami',
    { description: 'Reports which auth source accepted the caller\'s token' },
    async (extra) => {
      const auth = extra.authInfo;
      const who = { source: auth?.extra?.source, clientId: auth?.clientId, scopes: auth?.scopes };
      return { content: [{ type: 'text', text: JSON.stringify(who) }], structuredContent: who };
    },
  );
  server.registerTool('write_note', { description: 'Pretends to write a note; needs mcp:write (mcpPolicy)' }, async () => ({
    content: [{ type: 'text', text: 'note written' }],
  }));
  return server;
}

/**
 * Serves MCP over stateless Streamable HTTP: a new server and transport per request, handed the
 * body `express.json()` parsed (and any policy checked). `build` may look at the request, e.g.
 * to register only `allowedTools(req, ...)`.
 */
export function statelessMcp(build: (req: express.Request) => McpServer): RequestHandler {
  return async (req, res) => {
    const server = build(req);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  };
}

/**
 * The example MCP app on SDK v1: `auth` (a multiAuth router) in front of `POST /mcp` (behind
 * `policy` when given), and a plain `GET /whoami` that shows `req.auth.source` for curl users.
 */
export function createMcpApp(auth: RequestHandler, policy?: RequestHandler): express.Express {
  const app = express();
  app.use(express.json());
  app.use(auth);
  app.get('/whoami', (req, res) => {
    const info = getAuth(req);
    res.json({ source: info?.source, clientId: info?.clientId, scopes: info?.scopes });
  });
  app.post('/mcp', ...(policy ? [policy] : []), statelessMcp(buildMcpServer));
  app.all('/mcp', (_req, res) => {
    res.status(405).set('Allow', 'POST').json({ error: 'method_not_allowed' });
  });
  return app;
}
