import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import express from 'express';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import request from 'supertest';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { multiAuth } from '../../lib/chain/multi-auth';
import { allowedTools, mcpPolicy, type McpPolicyRules } from '../../lib/mcp/mcp-policy';
import { MultiAuthConfigError } from '../../lib/core/errors';
import { getAuth } from '../../lib/http/request-auth';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import { parseBearerChallenge } from '../support/app';
import { statelessMcp } from '../../examples/mcp-app';

const METADATA = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';

/** Two kinds of token: users (OAuth, by scope) and a machine key. */
const sources = () => [
  staticTokenVerifier({
    name: 'user-oauth',
    tokens: {
      'reader-token-00000': { clientId: 'alice', scopes: ['repo:read'] },
      'admin-token-00000': { clientId: 'alice', scopes: ['repo:read', 'repo:admin'] },
      'bare-token-00000': { clientId: 'bob', scopes: [] },
    },
  }),
  staticTokenVerifier({ name: 'machine', tokens: { 'machine-token-00000': { clientId: 'indexer', scopes: ['repo:read', 'repo:admin'] } } }),
];

const authFor = (options: { authRequired?: boolean; requiredScopes?: string[] } = {}) =>
  multiAuth({ verifiers: sources(), resourceMetadataUrl: METADATA, ...options });

const RULES: McpPolicyRules = {
  methods: { 'tools/call': { sources: ['user-oauth'] }, 'resources/read': { scopes: ['repo:read'] } },
  tools: { delete_repo: { scopes: ['repo:admin'] }, search: { anyScopes: ['repo:read', 'repo:admin'] } },
};

/** express.json() + multiAuth + the policy in front of `/mcp`, which says it was reached. */
function policyApp(rules: McpPolicyRules = RULES, auth: RequestHandler = authFor(), json: RequestHandler = express.json()): express.Express {
  const app = express();
  app.use(json);
  app.use(auth);
  app.all('/mcp', mcpPolicy(rules), (_req, res) => {
    res.json({ reached: true });
  });
  return app;
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
let nextId = 1;
const call = (method: string, params?: Record<string, unknown>) => ({ jsonrpc: '2.0', id: nextId++, method, ...(params ? { params } : {}) });
const callTool = (name: string) => call('tools/call', { name, arguments: {} });
const challenge = (res: request.Response) => parseBearerChallenge(res.headers['www-authenticate']).params;

describe('tool rules', () => {
  const app = policyApp();
  it('pass a tools/call whose token has every scope the tool needs', async () => {
    const res = await request(app).post('/mcp').set(bearer('admin-token-00000')).send(callTool('delete_repo'));
    expect(res.body).toEqual({ reached: true });
  });
  it('answer 403 insufficient_scope naming the scope the tool needs, with the bearer check\'s resource_metadata', async () => {
    const res = await request(app).post('/mcp').set(bearer('reader-token-00000')).send(callTool('delete_repo'));
    expect(res.status).toBe(403);
    expect(challenge(res)).toMatchObject({ error: 'insufficient_scope', scope: 'repo:admin', resource_metadata: METADATA });
    expect(res.body.error).toBe('insufficient_scope');
  });
  it('pass an anyScopes tool for a token with one of the scopes', async () => {
    const res = await request(app).post('/mcp').set(bearer('reader-token-00000')).send(callTool('search'));
    expect(res.status).toBe(200);
  });
  it('refuse an anyScopes tool to a token with none of them, asking for the first alternative', async () => {
    const res = await request(app).post('/mcp').set(bearer('bare-token-00000')).send(callTool('search'));
    expect(res.status).toBe(403);
    expect(challenge(res).scope).toBe('repo:read');
  });
  it('do not apply to other tools', async () => {
    const res = await request(app).post('/mcp').set(bearer('bare-token-00000')).send(callTool('unlisted'));
    expect(res.status).toBe(200);
  });
  it('do not apply to other methods carrying the same params.name', async () => {
    const res = await request(app).post('/mcp').set(bearer('bare-token-00000')).send(call('prompts/get', { name: 'delete_repo' }));
    expect(res.status).toBe(200);
  });
});

describe('method rules', () => {
  const app = policyApp();
  it('apply to any method: resources/read needs repo:read', async () => {
    const denied = await request(app).post('/mcp').set(bearer('bare-token-00000')).send(call('resources/read', { uri: 'repo://x' }));
    expect(denied.status).toBe(403);
    expect(challenge(denied).scope).toBe('repo:read');
    const passed = await request(app).post('/mcp').set(bearer('reader-token-00000')).send(call('resources/read', { uri: 'repo://x' }));
    expect(passed.status).toBe(200);
  });
  it('refuse a token from a source the rule does not list, without naming sources', async () => {
    const res = await request(app).post('/mcp').set(bearer('machine-token-00000')).send(callTool('search'));
    expect(res.status).toBe(403);
    const params = challenge(res);
    expect(params.error).toBe('insufficient_scope');
    expect(params.scope).toBeUndefined();
    expect(params.error_description).toMatch(/kind of access token/);
    expect(JSON.stringify(res.body) + res.headers['www-authenticate']).not.toMatch(/machine|user-oauth/);
  });
  it('and tool rules must both hold for a tools/call: a token that satisfies only the tool rule is refused', async () => {
    // The machine token has repo:admin (the tool rule) but the wrong source (the method rule).
    const res = await request(app).post('/mcp').set(bearer('machine-token-00000')).send(callTool('delete_repo'));
    expect(res.status).toBe(403);
  });
  it('combine scopes, anyScopes and sources in one rule', async () => {
    const combined = policyApp({ methods: { 'tools/list': { scopes: ['repo:read'], anyScopes: ['repo:admin', 'repo:write'], sources: ['user-oauth'] } } });
    expect((await request(combined).post('/mcp').set(bearer('admin-token-00000')).send(call('tools/list'))).status).toBe(200);
    const lacking = await request(combined).post('/mcp').set(bearer('reader-token-00000')).send(call('tools/list'));
    expect(lacking.status).toBe(403);
    expect(challenge(lacking).scope).toBe('repo:read repo:admin');
    expect((await request(combined).post('/mcp').set(bearer('machine-token-00000')).send(call('tools/list'))).status).toBe(403);
  });
  it('name the scopes multiAuth requires of every token alongside the rule\'s, so a step-up token keeps them', async () => {
    const app2 = policyApp({ tools: { delete_repo: { scopes: ['repo:admin'] } } }, authFor({ requiredScopes: ['repo:read'] }));
    const res = await request(app2).post('/mcp').set(bearer('reader-token-00000')).send(callTool('delete_repo'));
    expect(challenge(res).scope).toBe('repo:read repo:admin');
  });
});

describe('default', () => {
  const rules: McpPolicyRules = { methods: { 'tools/list': {} }, tools: { search: { anyScopes: ['repo:read'] } } };
  it('is allow: a request matching no rule passes', async () => {
    const res = await request(policyApp(rules)).post('/mcp').set(bearer('bare-token-00000')).send(call('prompts/list'));
    expect(res.status).toBe(200);
  });
  describe("'deny'", () => {
    const app = policyApp({ ...rules, default: 'deny' });
    it('refuses a request matching no rule with 403 and no scope to ask for', async () => {
      const res = await request(app).post('/mcp').set(bearer('admin-token-00000')).send(call('prompts/list'));
      expect(res.status).toBe(403);
      expect(challenge(res)).toMatchObject({ error: 'insufficient_scope', resource_metadata: METADATA });
      expect(challenge(res).scope).toBeUndefined();
    });
    it('refuses a tools/call of a tool with no rule when tools/call has no method rule', async () => {
      expect((await request(app).post('/mcp').set(bearer('admin-token-00000')).send(callTool('unlisted'))).status).toBe(403);
    });
    it('lets through what a rule allows, including an empty rule (any accepted token)', async () => {
      expect((await request(app).post('/mcp').set(bearer('bare-token-00000')).send(call('tools/list'))).status).toBe(200);
      expect((await request(app).post('/mcp').set(bearer('reader-token-00000')).send(callTool('search'))).status).toBe(200);
    });
    it('never refuses what clients of either protocol era need to connect and stay connected', async () => {
      const messages = [
        call('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } }),
        call('ping'),
        call('server/discover'),
        call('subscriptions/listen', { notifications: { toolsListChanged: true } }),
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } },
      ];
      for (const message of messages) {
        expect((await request(app).post('/mcp').set(bearer('bare-token-00000')).send(message)).status).toBe(200);
      }
    });
  });
});

describe('messages that are not requests', () => {
  const app = policyApp({ default: 'deny' });
  it('let notifications pass, even with a method a rule would refuse', async () => {
    const res = await request(app).post('/mcp').set(bearer('bare-token-00000')).send({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'delete_repo' } });
    expect(res.status).toBe(200);
  });
  it('let responses (to server-initiated requests) pass', async () => {
    const res = await request(app).post('/mcp').set(bearer('bare-token-00000')).send([
      { jsonrpc: '2.0', id: 7, result: {} },
      { jsonrpc: '2.0', id: 8, error: { code: -32601, message: 'nope' } },
    ]);
    expect(res.status).toBe(200);
  });
  it.each([
    ['an object without method', { jsonrpc: '2.0', id: 1 }],
    ['an empty object', {}],
    ['an empty batch', []],
    ['a batch of non-objects', [1, 'x', null]],
    ['a request whose method is not a string', { jsonrpc: '2.0', id: 1, method: 42 }],
  ])('pass %s on to the transport', async (_what, body) => {
    const res = await request(app).post('/mcp').set(bearer('bare-token-00000')).send(body as object);
    expect(res.body).toEqual({ reached: true });
  });
  it('pass JSON scalars on to the transport (express.json({ strict: false }))', async () => {
    const loose = policyApp({ default: 'deny' }, authFor(), express.json({ strict: false }));
    for (const body of ['"tools/call"', '42', 'null']) {
      const res = await request(loose).post('/mcp').set(bearer('bare-token-00000')).set('Content-Type', 'application/json').send(body);
      expect(res.body).toEqual({ reached: true });
    }
  });
  it('do not crash on odd params: a tools/call without a string name falls to the method rule or default', async () => {
    for (const params of [null, [], { name: 42 }, { name: { toString: 'delete_repo' } }]) {
      const res = await request(app).post('/mcp').set(bearer('admin-token-00000')).send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params });
      expect(res.status).toBe(403);
    }
  });
  it('check a request even when it carries extra members or a non-standard id', async () => {
    const res = await request(app).post('/mcp').set(bearer('admin-token-00000')).send({ id: null, method: 'tools/list', result: {} });
    expect(res.status).toBe(403);
  });
});

describe('batches', () => {
  const app = policyApp();
  it('pass when every request in them passes', async () => {
    const res = await request(app).post('/mcp').set(bearer('admin-token-00000')).send([callTool('search'), callTool('delete_repo'), call('tools/list')]);
    expect(res.status).toBe(200);
  });
  it('are refused whole when one request is refused, naming what the whole batch needs', async () => {
    const res = await request(app)
      .post('/mcp')
      .set(bearer('reader-token-00000'))
      .send([call('tools/list'), callTool('search'), callTool('delete_repo'), { jsonrpc: '2.0', method: 'notifications/initialized' }]);
    expect(res.status).toBe(403);
    expect(challenge(res).scope).toBe('repo:read repo:admin');
  });
  it('name the anyScopes alternative the token already holds, not the first one, so the step-up token can do the whole batch', async () => {
    const app2 = policyApp({ tools: { search: { anyScopes: ['repo:write', 'repo:read'] }, delete_repo: { scopes: ['repo:admin'] } } });
    const res = await request(app2).post('/mcp').set(bearer('reader-token-00000')).send([callTool('search'), callTool('delete_repo')]);
    expect(challenge(res).scope).toBe('repo:read repo:admin');
  });
  it('are refused for a non-request element mixed with a refused request (no smuggling)', async () => {
    const res = await request(app).post('/mcp').set(bearer('reader-token-00000')).send(['junk', callTool('delete_repo')]);
    expect(res.status).toBe(403);
  });
});

describe('requests without req.auth (authRequired: false)', () => {
  const app = policyApp(RULES, authFor({ authRequired: false }));
  it('get the 401 challenge, naming the needed scope, when a rule applies', async () => {
    const res = await request(app).post('/mcp').send(callTool('delete_repo'));
    expect(res.status).toBe(401);
    const params = challenge(res);
    expect(params.error).toBeUndefined();
    expect(params).toMatchObject({ scope: 'repo:admin', resource_metadata: METADATA });
  });
  it('pass when no rule applies and default is allow', async () => {
    expect((await request(app).post('/mcp').send(call('tools/list'))).status).toBe(200);
  });
  it('get 403 under default deny: no token would help', async () => {
    const res = await request(policyApp({ default: 'deny' }, authFor({ authRequired: false }))).post('/mcp').send(call('tools/list'));
    expect(res.status).toBe(403);
  });
});

describe('bodies the policy cannot read', () => {
  it('fail loudly when express.json() is missing: 500 through next() with a MultiAuthConfigError', async () => {
    const seen: unknown[] = [];
    const app = express();
    app.use(authFor());
    app.post('/mcp', mcpPolicy(RULES), (_req, res) => {
      res.json({ reached: true });
    });
    const onError: ErrorRequestHandler = (error, _req, res, _next) => {
      seen.push(error);
      res.status(500).json({ message: (error as Error).message });
    };
    app.use(onError);
    const res = await request(app).post('/mcp').set(bearer('admin-token-00000')).send(call('tools/list'));
    expect(res.status).toBe(500);
    expect(seen[0]).toBeInstanceOf(MultiAuthConfigError);
    expect(res.body.message).toMatch(/express\.json\(\)/);
  });
  it('refuse a body that is not JSON with 400 invalid_request (a transport could parse what the policy never saw)', async () => {
    const res = await request(policyApp())
      .post('/mcp')
      .set(bearer('reader-token-00000'))
      .set('Content-Type', 'text/plain; x=application/json')
      .send(JSON.stringify(callTool('delete_repo')));
    expect(res.status).toBe(400);
    expect(challenge(res).error).toBe('invalid_request');
  });
  it('let requests without a body through (GET streams, DELETE)', async () => {
    const app = policyApp({ default: 'deny' });
    expect((await request(app).get('/mcp').set(bearer('bare-token-00000'))).status).toBe(200);
    expect((await request(app).delete('/mcp').set(bearer('bare-token-00000'))).status).toBe(200);
  });
});

describe('mcpPolicy configuration', () => {
  const auth = authFor();
  it.each<[string, unknown]>([
    ['rules that are not an object', null],
    ['an unknown top-level key', { method: {} }],
    ['an unknown rule key', { tools: { search: { scope: ['repo:read'] } } }],
    ['an empty scope list', { tools: { search: { scopes: [] } } }],
    ['an empty anyScopes list', { methods: { 'tools/list': { anyScopes: [] } } }],
    ['a non-string scope', { tools: { search: { scopes: ['repo:read', 7] } } }],
    ['a scope with a space', { tools: { search: { scopes: ['repo:read repo:admin'] } } }],
    ['a non-array sources', { methods: { 'tools/call': { sources: 'user-oauth' } } }],
    ['a rule that is not an object', { tools: { search: ['repo:read'] } }],
    ['an unknown default', { default: 'allowed' }],
    ['a rule on initialize', { methods: { initialize: {} } }],
    ['a rule on a notification', { methods: { 'notifications/initialized': {} } }],
    ['an empty tool name', { tools: { '': {} } }],
  ])('refuses %s', (_what, rules) => {
    expect(() => mcpPolicy(rules as McpPolicyRules)).toThrow(MultiAuthConfigError);
  });
  it('refuses a source the multiAuth instance does not have, naming the known ones', () => {
    expect(() => mcpPolicy({ methods: { 'tools/call': { sources: ['user-oath'] } } }, { auth })).toThrow(
      /"user-oath".*user-oauth, machine/,
    );
  });
  it('accepts sources the multiAuth instance has', () => {
    expect(() => mcpPolicy(RULES, { auth })).not.toThrow();
  });
  it('refuses unknown options and an auth without sourceNames', () => {
    expect(() => mcpPolicy(RULES, { authh: auth } as never)).toThrow(MultiAuthConfigError);
    expect(() => mcpPolicy(RULES, { auth: {} as never })).toThrow(MultiAuthConfigError);
  });
  it('keeps its own copy of the rules', async () => {
    const scopes = ['repo:admin'];
    const app = policyApp({ tools: { delete_repo: { scopes } } });
    scopes.pop();
    expect((await request(app).post('/mcp').set(bearer('reader-token-00000')).send(callTool('delete_repo'))).status).toBe(403);
  });
});

describe('allowedTools', () => {
  const TOOLS = ['search', 'delete_repo', 'unlisted'];
  function toolsApp(...policies: RequestHandler[]): express.Express {
    const app = express();
    app.use(express.json());
    app.use(authFor({ authRequired: false }));
    app.post('/tools', ...policies, (req, res) => {
      res.json({ tools: allowedTools(req, TOOLS) });
    });
    return app;
  }
  const app = toolsApp(mcpPolicy(RULES));
  const listTools = (token?: string) => {
    const req = request(app).post('/tools');
    return (token ? req.set(bearer(token)) : req).send(call('tools/list'));
  };
  it('lists the tools the token may call, in the order given', async () => {
    expect((await listTools('reader-token-00000')).body.tools).toEqual(['search', 'unlisted']);
    expect((await listTools('admin-token-00000')).body.tools).toEqual(TOOLS);
  });
  it('leaves out every ruled tool for a token whose kind may not call tools', async () => {
    expect((await listTools('machine-token-00000')).body.tools).toEqual([]);
  });
  it('gives an anonymous request only the tools no rule covers', async () => {
    const open = toolsApp(mcpPolicy({ tools: { delete_repo: { scopes: ['repo:admin'] } } }));
    expect((await request(open).post('/tools').send(call('tools/list'))).body.tools).toEqual(['search', 'unlisted']);
  });
  it('honours every policy the request went through', async () => {
    const twice = toolsApp(mcpPolicy({ tools: { search: { scopes: ['repo:admin'] } } }), mcpPolicy({ tools: { unlisted: { scopes: ['repo:admin'] } } }));
    expect((await request(twice).post('/tools').set(bearer('reader-token-00000')).send(call('tools/list'))).body.tools).toEqual(['delete_repo']);
  });
  it('throws when no mcpPolicy ran on the request', async () => {
    const bare = express();
    bare.get('/tools', (req, res) => {
      try {
        allowedTools(req, TOOLS);
        res.json({ threw: false });
      } catch (error) {
        res.json({ threw: error instanceof MultiAuthConfigError });
      }
    });
    expect((await request(bare).get('/tools')).body).toEqual({ threw: true });
  });
});

describe('end to end with the MCP SDK client and server', () => {
  let server: Server;
  let url: string;
  const auth = authFor();
  const policy = mcpPolicy(
    {
      methods: { 'tools/call': { sources: ['user-oauth'] } },
      tools: { delete_repo: { scopes: ['repo:admin'] }, search: { anyScopes: ['repo:read', 'repo:admin'] } },
    },
    { auth },
  );

  const TOOLS: Record<string, (server: McpServer) => void> = {
    search: (s) =>
      s.registerTool('search', { description: 'Search repositories' }, async (extra) => ({
        content: [{ type: 'text', text: `results for ${extra.authInfo?.clientId}` }],
      })),
    delete_repo: (s) =>
      s.registerTool('delete_repo', { description: 'Delete a repository' }, async () => ({
        content: [{ type: 'text', text: 'deleted' }],
      })),
  };

  /** The repo server with the tools `pickTools` chooses for this request. */
  const mcpHandler = (pickTools: (req: express.Request) => string[]): RequestHandler =>
    statelessMcp((req) => {
      const mcp = new McpServer({ name: 'repo-server', version: '1.0.0' });
      for (const name of pickTools(req)) TOOLS[name](mcp);
      return mcp;
    });

  beforeAll(async () => {
    const app = express();
    app.use(express.json());
    app.use(auth);
    app.post('/mcp', policy, mcpHandler(() => Object.keys(TOOLS)));
    // The same server, listing only what the caller may call.
    app.post('/mcp-filtered', policy, mcpHandler((req) => allowedTools(req, Object.keys(TOOLS))));
    app.all(['/mcp', '/mcp-filtered'], (_req, res) => {
      res.status(405).set('Allow', 'POST').json({ error: 'method_not_allowed' });
    });
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  });

  /** A connected SDK client sending `token`, and the last POST response it saw (the SDK error does not carry headers). */
  async function connect(token: string, path = '/mcp') {
    const seen: { last?: Response } = {};
    const transport = new StreamableHTTPClientTransport(new URL(path, url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (init?.method === 'POST') seen.last = response;
        return response;
      },
    });
    const client = new Client({ name: 'policy-test', version: '1.0.0' });
    await client.connect(transport);
    return { client, seen };
  }

  it('a repo:read user lists tools, calls search, is challenged for repo:admin on delete_repo; a repo:admin token then succeeds', async () => {
    const reader = await connect('reader-token-00000');
    try {
      const { tools } = await reader.client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['delete_repo', 'search']);

      const found = await reader.client.callTool({ name: 'search', arguments: {} });
      expect(found.content).toEqual([{ type: 'text', text: 'results for alice' }]);

      const refused = reader.client.callTool({ name: 'delete_repo', arguments: {} });
      await expect(refused).rejects.toBeInstanceOf(StreamableHTTPError);
      await expect(refused).rejects.toMatchObject({ code: 403 });
      expect(reader.seen.last?.status).toBe(403);
      expect(parseBearerChallenge(reader.seen.last?.headers.get('www-authenticate') ?? undefined).params).toMatchObject({
        error: 'insufficient_scope',
        scope: 'repo:admin',
        resource_metadata: METADATA,
      });
    } finally {
      await reader.client.close();
    }

    const admin = await connect('admin-token-00000');
    try {
      const deleted = await admin.client.callTool({ name: 'delete_repo', arguments: {} });
      expect(deleted.content).toEqual([{ type: 'text', text: 'deleted' }]);
    } finally {
      await admin.client.close();
    }
  });

  it('a machine token lists tools but cannot call one', async () => {
    const machine = await connect('machine-token-00000');
    try {
      const { tools } = await machine.client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['delete_repo', 'search']);
      await expect(machine.client.callTool({ name: 'search', arguments: {} })).rejects.toMatchObject({ code: 403 });
      const params = parseBearerChallenge(machine.seen.last?.headers.get('www-authenticate') ?? undefined).params;
      expect(params.error).toBe('insufficient_scope');
      expect(params.scope).toBeUndefined();
    } finally {
      await machine.client.close();
    }
  });

  it('a server can list only the tools the caller may call (allowedTools)', async () => {
    const reader = await connect('reader-token-00000', '/mcp-filtered');
    const admin = await connect('admin-token-00000', '/mcp-filtered');
    try {
      expect((await reader.client.listTools()).tools.map((t) => t.name)).toEqual(['search']);
      expect((await admin.client.listTools()).tools.map((t) => t.name)).toEqual(['search', 'delete_repo']);
    } finally {
      await reader.client.close();
      await admin.client.close();
    }
  });

  it('a request with a valid token but no policy match still reaches the transport (initialize and ping pass)', async () => {
    const reader = await connect('bare-token-00000');
    try {
      await expect(reader.client.ping()).resolves.toEqual({});
    } finally {
      await reader.client.close();
    }
  });
});

describe('the request as handlers see it', () => {
  it('keeps req.auth from multiAuth for handlers after the policy', async () => {
    const app = express();
    app.use(express.json(), authFor());
    app.post('/mcp', mcpPolicy(RULES), (req, res) => {
      res.json({ source: getAuth(req)?.source });
    });
    const res = await request(app).post('/mcp').set(bearer('reader-token-00000')).send(callTool('search'));
    expect(res.body).toEqual({ source: 'user-oauth' });
  });
});
