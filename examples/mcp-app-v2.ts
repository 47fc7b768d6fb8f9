/**
 * The example MCP server on the MCP TypeScript SDK v2: `createMcpExpressApp` (JSON parsing, and
 * DNS-rebinding protection for loopback hosts), `multiAuth` in front, `mcpPolicy` on `/mcp`, and
 * `createMcpHandler`, which serves both protocol eras (2025 `initialize` clients and 2026-07-28
 * clients that start with `server/discover`) from one endpoint.
 */
import type { Express, RequestHandler } from 'express';
import { createMcpExpressApp } from '@modelcontextprotocol/express';
import { createMcpHandler, McpServer, type AuthInfo, type RegisteredTool } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { getAuth, type McpPolicy, type McpPolicyRules } from '../lib/index';

/** Every tool the example has; `allowedTools` picks from these per request. */
export const TOOL_NAMES = ['whoami', 'write_note'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

/** The example's policy: anyone may ask who they are; writing needs `mcp:write`. */
export const EXAMPLE_RULES: McpPolicyRules = { tools: { write_note: { scopes: ['mcp:write'] } } };

/**
 * One MCP server for one request, showing only the tools the caller may call. Every tool is
 * registered and the others disabled, rather than left out: a server with no tool registered
 * has no `tools/list` at all, and would answer it "Method not found".
 */
export function buildMcpServer(authInfo: AuthInfo | undefined, policy: McpPolicy): McpServer {
  const server = new McpServer({ name: 'multiauth-example', version: '2.0.0' });
  const tools: Record<ToolName, RegisteredTool> = {
    whoami: server.registerTool('whoami', { description: 'Reports which auth source accepted the caller\'s token' }, async (ctx) => {
      // The AuthInfo multiAuth made, handed through by the transport: getAuth types it.
      const auth = getAuth(ctx.http?.authInfo);
      const who = { source: auth?.source, clientId: auth?.clientId, scopes: auth?.scopes };
      return { content: [{ type: 'text', text: JSON.stringify(who) }], structuredContent: who };
    }),
    write_note: server.registerTool(
      'write_note',
      // The same rule as the middleware's, checked by v2 before the call. Behind `policy` it never
      // fires (the middleware answers the 403 first); mounted without it, the caller lacking
      // mcp:write finds this tool disabled below, not challenged: drop the disabling to get step-up.
      { description: 'Pretends to write a note; needs mcp:write', scopeChallenge: policy.scopeChallenge },
      async () => ({ content: [{ type: 'text', text: 'note written' }] }),
    ),
  };
  const allowed = policy.allowedTools(authInfo, TOOL_NAMES);
  for (const name of TOOL_NAMES) if (!allowed.includes(name)) tools[name].disable();
  return server;
}

/** `createMcpHandler` as Express middleware: it gets the body `express.json()` parsed and `req.auth`. */
export function mcpRoute(policy: McpPolicy): RequestHandler {
  const handle = toNodeHandler(createMcpHandler((ctx) => buildMcpServer(ctx.authInfo, policy)));
  return (req, res, next) => {
    handle(req, res, req.body).catch(next);
  };
}

/**
 * The example app: `auth` (a multiAuth router) in front of `/mcp` (behind `policy`), and a plain
 * `GET /whoami` that shows `req.auth.source` for curl users.
 */
export function createMcpAppV2(auth: RequestHandler, policy: McpPolicy, host: string): Express {
  const app = createMcpExpressApp({ host });
  app.use(auth);
  app.get('/whoami', (req, res) => {
    const info = getAuth(req);
    res.json({ source: info?.source, clientId: info?.clientId, scopes: info?.scopes });
  });
  app.all('/mcp', policy, mcpRoute(policy));
  return app;
}
