import { createServer, type Server } from 'node:http';
import type { RequestHandler } from 'express';
import { createMcpExpressApp, requireBearerAuth } from '@modelcontextprotocol/express';
import {
  createMcpHandler,
  McpServer,
  OAuthError,
  OAuthErrorCode,
  requireScopes as v2RequireScopes,
  type AuthInfo as V2AuthInfo,
  type ScopeChallengeHandler,
} from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { multiAuth } from '../../lib/chain/multi-auth';
import { mcpPolicy, type McpPolicy, type McpPolicyRules } from '../../lib/mcp/mcp-policy';
import { getAuth } from '../../lib/http/request-auth';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import { middlewareVerifier } from '../../lib/sources/middleware-verifier';
import { buildMcpServer, TOOL_NAMES } from '../../examples/mcp-app-v2';
import { closeServer, listenOnLoopback } from '../support/loopback';
import { oneTokenVerifier, parseBearerChallenge } from '../support/app';

/**
 * multiAuth in front of servers built on the MCP TypeScript SDK v2 (`createMcpExpressApp`,
 * `createMcpHandler`, `toNodeHandler`) and talked to by its client, over real HTTP: one
 * `describe` per failure of issue 14.
 */
const METADATA = 'http://127.0.0.1/.well-known/oauth-protected-resource/mcp';

const keys = () =>
  staticTokenVerifier({
    name: 'ci',
    tokens: {
      'reader-key-0123456789': { clientId: 'reader', scopes: ['mcp:read'] },
      'admin-key-0123456789ab': { clientId: 'admin', scopes: ['mcp:read', 'repo:admin'] },
      'nothing-key-0123456789': { clientId: 'nobody', scopes: ['mcp:read', 'none'] },
    },
  });
const machines = () => staticTokenVerifier({ name: 'machines', tokens: { 'machine-key-0123456789': { clientId: 'indexer', scopes: ['mcp:read', 'repo:admin'] } } });

/** A v2 server for one request: `search` open, `delete_repo` with the given scope challenge. */
function repoServer(scopeChallenge?: ScopeChallengeHandler): McpServer {
  const server = new McpServer({ name: 'repo', version: '1.0.0' });
  server.registerTool('search', { description: 'Search' }, async (ctx) => ({
    content: [{ type: 'text', text: `search by ${getAuth(ctx.http?.authInfo)?.source}` }],
  }));
  server.registerTool('delete_repo', { description: 'Delete', scopeChallenge }, async () => ({ content: [{ type: 'text', text: 'deleted' }] }));
  return server;
}

/** createMcpExpressApp + multiAuth (+ policy) + createMcpHandler on `/mcp`, listening on loopback. */
async function serve(auth: RequestHandler, factory: Parameters<typeof createMcpHandler>[0], policy?: RequestHandler) {
  const app = createMcpExpressApp({ host: '127.0.0.1' });
  app.use(auth);
  const handle = toNodeHandler(createMcpHandler(factory));
  app.all('/mcp', ...(policy ? [policy] : []), (req, res, next) => {
    handle(req, res, req.body).catch(next);
  });
  const server = createServer(app);
  const origin = await listenOnLoopback(server);
  return { server, url: new URL(`${origin}/mcp`) };
}

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map(closeServer));
});
async function started(...args: Parameters<typeof serve>) {
  const s = await serve(...args);
  servers.push(s.server);
  return s.url;
}

let id = 1;
/** One JSON-RPC call as a 2025-era client sends it (no session: the handler is stateless). */
async function rpc(url: URL, token: string, method: string, params: Record<string, unknown> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: id++, method, params }),
  });
  const text = await res.text();
  const data = /^data: (.*)$/m.exec(text)?.[1] ?? text;
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body: data ? JSON.parse(data) : undefined };
}
const callTool = (url: URL, token: string, name: string) => rpc(url, token, 'tools/call', { name, arguments: {} });

async function connect(url: URL, token: string, mode: 'legacy' | 'auto') {
  const seen: { challenges: string[] } = { challenges: [] };
  const client = new Client({ name: 'v2-e2e', version: '1.0.0' }, { versionNegotiation: { mode } });
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      const challenge = response.headers.get('www-authenticate');
      if (challenge) seen.challenges.push(challenge);
      return response;
    },
  });
  await client.connect(transport);
  return { client, seen };
}

describe('1. req.auth.resourceMetadataUrl: v2 per-tool scope challenges name the metadata', () => {
  it('a v2 scopeChallenge 403 carries multiAuth\'s resource_metadata for a static key', async () => {
    const auth = multiAuth({ verifiers: keys(), resourceMetadataUrl: METADATA });
    const url = await started(auth, () => repoServer(v2RequireScopes('repo:admin')));
    const res = await callTool(url, 'reader-key-0123456789', 'delete_repo');
    expect(res.status).toBe(403);
    expect(parseBearerChallenge(res.challenge ?? undefined).params).toEqual({
      error: 'insufficient_scope',
      error_description: 'Insufficient scope',
      scope: 'repo:admin',
      resource_metadata: METADATA,
    });
  });

  it('stamps the router\'s resourceMetadataUrl on req.auth, and keeps a source\'s own', async () => {
    const own = 'https://elsewhere.example/.well-known/oauth-protected-resource';
    const auth = multiAuth({
      verifiers: [oneTokenVerifier('plain', 'plain-token'), oneTokenVerifier('own', 'own-token', { resourceMetadataUrl: own })],
      resourceMetadataUrl: METADATA,
    });
    expect((await auth.verify('plain-token')).resourceMetadataUrl).toBe(METADATA);
    expect((await auth.verify('own-token')).resourceMetadataUrl).toBe(own);
    // A cache hit is stamped as well.
    expect((await auth.verify('plain-token')).resourceMetadataUrl).toBe(METADATA);
  });

  it('stamps nothing when the router has no resourceMetadataUrl', async () => {
    const auth = multiAuth({ verifiers: oneTokenVerifier('plain', 'plain-token') });
    expect((await auth.verify('plain-token')).resourceMetadataUrl).toBeUndefined();
  });

  it('refuses a source\'s resourceMetadataUrl that is not a string (the source is counted as errored)', async () => {
    const auth = multiAuth({ verifiers: oneTokenVerifier('odd', 'odd-token', { resourceMetadataUrl: 42 as unknown as string }) });
    await expect(auth.verify('odd-token')).rejects.toMatchObject({ code: 'invalid_token' });
  });
});

describe('getAuth(authInfo): the source from a v2 handler\'s ctx.http.authInfo', () => {
  it('answers the AuthInfo multiAuth made, typed, inside a v2 tool handler', async () => {
    const url = await started(multiAuth({ verifiers: [keys(), machines()] }), () => repoServer());
    const res = await callTool(url, 'machine-key-0123456789', 'search');
    expect(res.body.result.content).toEqual([{ type: 'text', text: 'search by machines' }]);
  });

  it('answers undefined for an AuthInfo no multiAuth made, and for undefined', () => {
    const foreign: V2AuthInfo = { token: 't', clientId: 'c', scopes: [] };
    expect(getAuth(foreign)).toBeUndefined();
    expect(getAuth(undefined)).toBeUndefined();
  });
});

describe('2. lifecycle methods of both eras pass mcpPolicy whatever the rules', () => {
  const rules: McpPolicyRules = { tools: { search: {} }, default: 'deny' };

  it.each(['legacy', 'auto'] as const)('a v2 client in %s mode connects through default: deny and calls an allowed tool', async (mode) => {
    const auth = multiAuth({ verifiers: keys() });
    const url = await started(auth, () => repoServer(), mcpPolicy(rules, { auth }));
    const { client } = await connect(url, 'reader-key-0123456789', mode);
    try {
      expect(client.getProtocolEra()).toBe(mode === 'auto' ? 'modern' : 'legacy');
      expect((await client.callTool({ name: 'search', arguments: {} })).content).toEqual([{ type: 'text', text: 'search by ci' }]);
    } finally {
      await client.close();
    }
  });

  it.each(['initialize', 'ping', 'server/discover', 'subscriptions/listen', 'notifications/initialized'])(
    'mcpPolicy refuses a rule on %s at construction (it would never apply)',
    (method) => {
      expect(() => mcpPolicy({ methods: { [method]: { scopes: ['x'] } } })).toThrow(/always passes/);
    },
  );
});

describe('3. policy.allowedTools(authInfo, names) inside a createMcpHandler factory', () => {
  const rules: McpPolicyRules = { methods: { 'tools/call': { sources: ['ci'] } }, tools: { delete_repo: { scopes: ['repo:admin'] } } };

  async function toolsFor(token: string) {
    const auth = multiAuth({ verifiers: [keys(), machines()] });
    const policy = mcpPolicy(rules, { auth });
    // The factory has no Express request: only ctx.authInfo.
    const url = await started(auth, (ctx) => onlyTools(policy.allowedTools(ctx.authInfo, ['search', 'delete_repo'])), policy);
    const res = await rpc(url, token, 'tools/list');
    return (res.body.result?.tools ?? res.body.error) as { name: string }[] | { code: number };
  }
  function onlyTools(names: string[]) {
    const server = new McpServer({ name: 'repo', version: '1.0.0' });
    for (const name of names) server.registerTool(name, {}, async () => ({ content: [] }));
    return server;
  }

  it('lists both tools for an admin key, search only for a reader key', async () => {
    expect((await toolsFor('admin-key-0123456789ab') as { name: string }[]).map((t) => t.name)).toEqual(['search', 'delete_repo']);
    expect((await toolsFor('reader-key-0123456789') as { name: string }[]).map((t) => t.name)).toEqual(['search']);
  });

  it('judges an AuthInfo from another gate by its scopes alone: no source rule holds for it', () => {
    const policy = mcpPolicy(rules);
    expect(policy.allowedTools({ token: 't', clientId: 'c', scopes: ['repo:admin'] }, ['search', 'delete_repo'])).toEqual([]);
    expect(mcpPolicy({ tools: { delete_repo: { scopes: ['repo:admin'] } } }).allowedTools({ token: 't', clientId: 'c', scopes: ['repo:admin'] }, ['search', 'delete_repo'])).toEqual(['search', 'delete_repo']);
    expect(policy.allowedTools(undefined, ['search'])).toEqual([]);
  });

  it('the example\'s server answers tools/list with [] (not Method not found) when no tool is allowed', async () => {
    const auth = multiAuth({ verifiers: [keys(), machines()] });
    const policy = mcpPolicy({ methods: { 'tools/call': { sources: ['ci'] } } }, { auth });
    const url = await started(auth, (ctx) => buildMcpServer(ctx.authInfo, policy), policy);
    const machine = await rpc(url, 'machine-key-0123456789', 'tools/list');
    expect(machine.body).toMatchObject({ result: { tools: [] } });
    const reader = await rpc(url, 'reader-key-0123456789', 'tools/list');
    expect(reader.body.result.tools.map((t: { name: string }) => t.name)).toEqual([...TOOL_NAMES]);
  });
});

describe('4. policy.scopeChallenge: the rules declared once, the same scope= either way', () => {
  const rules: McpPolicyRules = { tools: { delete_repo: { scopes: ['repo:admin'] }, search: { anyScopes: ['repo:read', 'repo:admin'] } } };

  /** The same rules enforced by the middleware on one server, by v2's scope challenge on another. */
  async function both(requiredScopes: string[]) {
    const auth = multiAuth({ verifiers: keys(), resourceMetadataUrl: METADATA, requiredScopes });
    const policy: McpPolicy = mcpPolicy(rules, { auth });
    const viaMiddleware = await started(auth, () => repoServer(), policy);
    const viaChallenge = await started(auth, () => repoServer(policy.scopeChallenge));
    return { viaMiddleware, viaChallenge, policy };
  }

  it.each([[[]], [['mcp:read']]])('a static key lacking repo:admin gets the same 403 from both (required scopes %j)', async (required) => {
    const { viaMiddleware, viaChallenge } = await both(required);
    const a = await callTool(viaMiddleware, 'reader-key-0123456789', 'delete_repo');
    const b = await callTool(viaChallenge, 'reader-key-0123456789', 'delete_repo');
    expect([a.status, b.status]).toEqual([403, 403]);
    const pa = parseBearerChallenge(a.challenge ?? undefined).params;
    const pb = parseBearerChallenge(b.challenge ?? undefined).params;
    expect(pb.scope).toBe(pa.scope);
    expect(pa.scope).toBe([...required, 'repo:admin'].join(' '));
    expect(pb.resource_metadata).toBe(METADATA);
    expect(pb.error).toBe('insufficient_scope');
  });

  it('answers nothing for a token that may make the call, and for an anonymous request', () => {
    const policy = mcpPolicy(rules);
    const request = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'delete_repo', arguments: {} } };
    expect(policy.scopeChallenge({ request, authInfo: { token: 't', clientId: 'c', scopes: ['repo:admin'] } })).toBeUndefined();
    expect(policy.scopeChallenge({ request })).toBeUndefined();
    expect(policy.scopeChallenge({ request, authInfo: { token: 't', clientId: 'c', scopes: [] } })).toEqual({
      scopes: ['repo:admin'],
      errorDescription: 'The access token lacks a scope this request requires',
    });
  });

  it('throws for what a scope challenge cannot express (a sources rule), so the SDK refuses rather than runs the call', async () => {
    const auth = multiAuth({ verifiers: [keys(), machines()] });
    const policy = mcpPolicy({ tools: { delete_repo: { sources: ['ci'] } } }, { auth });
    expect(() => policy.scopeChallenge({
      request: { method: 'tools/call', params: { name: 'delete_repo' } },
      authInfo: { token: 't', clientId: 'c', scopes: [] },
    })).toThrow(/sources rule/);
    const url = await started(auth, () => repoServer(policy.scopeChallenge));
    const res = await callTool(url, 'machine-key-0123456789', 'delete_repo');
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.body)).not.toContain('deleted');
  });
});

describe('5. middlewareVerifier around v2\'s requireBearerAuth', () => {
  function wrapped(error: OAuthError) {
    return middlewareVerifier({
      name: 'v2-gate',
      middleware: requireBearerAuth({ verifier: { verifyAccessToken: async () => { throw error; } } }),
    });
  }

  it('temporarily_unavailable, which v2 answers with HTTP 400, is a failure: 503', async () => {
    const auth = multiAuth({ verifiers: wrapped(new OAuthError(OAuthErrorCode.TemporarilyUnavailable, 'introspection down')) });
    await expect(auth.verify('any-token')).rejects.toMatchObject({ code: 'temporarily_unavailable', status: 503 });
  });

  it('invalid_token stays a rejection: 401', async () => {
    const auth = multiAuth({ verifiers: wrapped(new OAuthError(OAuthErrorCode.InvalidToken, 'unknown token')) });
    await expect(auth.verify('any-token')).rejects.toMatchObject({ code: 'invalid_token', status: 401 });
  });
});
