// MCP 2026-07-28 streamable HTTP, "Server Validation": a server that processes the body must
// refuse a request whose Mcp-Method / Mcp-Name headers (Base64 sentinels decoded) contradict it,
// with 400 and the JSON-RPC error -32020 (HeaderMismatch). A gateway in front may have routed or
// decided on the headers; mcpPolicy decides on the body. Hand-made requests for every mismatch,
// then the official SDK v2 client in `auto` mode, which sends the headers.
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import { createMcpExpressApp } from '@modelcontextprotocol/express';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { multiAuth } from '../../lib/chain/multi-auth';
import { mcpPolicy } from '../../lib/mcp/mcp-policy';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import type { Decision } from '../../lib/core/types';

const ADMIN = 'admin-token-000000';
const READER = 'reader-token-00000';

/** express.json() + multiAuth + mcpPolicy in front of `/mcp`, which says it was reached. */
function policyApp(decisions: Decision[] = []) {
  const auth = multiAuth({
    verifiers: staticTokenVerifier({
      name: 'users',
      tokens: {
        [ADMIN]: { clientId: 'alice', scopes: ['repo:read', 'repo:admin'] },
        [READER]: { clientId: 'bob', scopes: ['repo:read'] },
      },
    }),
    onDecision: (d) => decisions.push(d),
  });
  const app = express();
  app.use(express.json(), auth);
  app.post('/mcp', mcpPolicy({ tools: { delete_repo: { scopes: ['repo:admin'] } } }, { auth }), (_req, res) => {
    res.json({ reached: true });
  });
  return app;
}

const call = (method: string, params: Record<string, unknown> = {}, id: number | string = 7) => ({ jsonrpc: '2.0', id, method, params });
const b64 = (text: string) => `=?base64?${Buffer.from(text, 'utf8').toString('base64')}?=`;

function post(body: unknown, headers: Record<string, string>, token = ADMIN) {
  const req = request(policyApp()).post('/mcp').set('Authorization', `Bearer ${token}`);
  for (const [name, value] of Object.entries(headers)) req.set(name, value);
  return req.send(body as object);
}

function expectHeaderMismatch(res: request.Response, id: string | number | null = 7): void {
  expect(res.status).toBe(400);
  expect(res.body).toEqual({ jsonrpc: '2.0', id, error: { code: -32020, message: expect.stringMatching(/^Header mismatch: /) } });
  expect(res.body.reached).toBeUndefined();
}

describe('mcpPolicy refuses a request whose Mcp-Name contradicts the body (a gateway decided on the header)', () => {
  it('answers 400 -32020 when Mcp-Name says "search" and the body calls delete_repo', async () => {
    const res = await post(call('tools/call', { name: 'delete_repo' }), { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'search' });
    expectHeaderMismatch(res);
    expect(res.body.error.message).toContain('"search"');
    expect(res.body.error.message).toContain('"delete_repo"');
  });

  it('answers 400 -32020 when a Base64 sentinel decodes to another name than the body\'s', async () => {
    expectHeaderMismatch(await post(call('tools/call', { name: 'delete_repo' }), { 'Mcp-Method': 'tools/call', 'Mcp-Name': b64('search') }));
  });

  it('compares names case-sensitively: Delete_Repo is not delete_repo', async () => {
    expectHeaderMismatch(await post(call('tools/call', { name: 'delete_repo' }), { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'Delete_Repo' }));
  });

  it('checks Mcp-Name against params.uri for resources/read and params.name for prompts/get', async () => {
    expectHeaderMismatch(await post(call('resources/read', { uri: 'file:///secret' }), { 'Mcp-Method': 'resources/read', 'Mcp-Name': 'file:///public' }));
    expectHeaderMismatch(await post(call('prompts/get', { name: 'admin_prompt' }), { 'Mcp-Method': 'prompts/get', 'Mcp-Name': 'greeting' }));
  });

  it('refuses an Mcp-Name for a call whose body carries no name', async () => {
    expectHeaderMismatch(await post(call('tools/call', { arguments: {} }), { 'Mcp-Name': 'search' }));
  });
});

describe('mcpPolicy refuses a request whose Mcp-Method contradicts the body', () => {
  it('answers 400 -32020 when Mcp-Method says tools/list and the body calls a tool', async () => {
    const res = await post(call('tools/call', { name: 'delete_repo' }), { 'Mcp-Method': 'tools/list' });
    expectHeaderMismatch(res);
    expect(res.body.error.message).toContain('"tools/list"');
  });

  it('compares methods case-sensitively', async () => {
    expectHeaderMismatch(await post(call('tools/list'), { 'Mcp-Method': 'Tools/List' }));
  });

  it('refuses a batch whose messages do not all have the header\'s method, answering with id null', async () => {
    const res = await post([call('tools/list', {}, 1), call('tools/call', { name: 'delete_repo' }, 2)], { 'Mcp-Method': 'tools/list' });
    expectHeaderMismatch(res, null);
  });

  it('refuses an Mcp-Method on a body that carries no method (a JSON-RPC response)', async () => {
    expectHeaderMismatch(await post({ jsonrpc: '2.0', id: 7, result: {} }, { 'Mcp-Method': 'tools/call' }));
  });

  it('answers with the request\'s own id, a string id included', async () => {
    expectHeaderMismatch(await post(call('tools/list', {}, 'req-1'), { 'Mcp-Method': 'ping' }), 'req-1');
  });
});

describe('malformed Base64 sentinels in Mcp-Name', () => {
  it.each([
    ['characters outside Base64', '=?base64?!!!!?='],
    ['Base64 that is not canonical (missing padding)', '=?base64?ZGVsZXRlX3JlcG8?='],
    ['bytes that are not UTF-8', '=?base64?/w==?='],
  ])('answers 400 -32020 for %s', async (_what, value) => {
    const res = await post(call('tools/call', { name: 'delete_repo' }), { 'Mcp-Method': 'tools/call', 'Mcp-Name': value });
    expectHeaderMismatch(res);
    expect(res.body.error.message).toContain('base64');
  });

  it('compares a sentinel with upper-case markers as it is (markers are case-sensitive), so it does not match', async () => {
    const upper = `=?BASE64?${Buffer.from('delete_repo').toString('base64')}?=`;
    expectHeaderMismatch(await post(call('tools/call', { name: 'delete_repo' }), { 'Mcp-Name': upper }));
  });
});

describe('headers that agree with the body', () => {
  it('let the call through when Mcp-Method and a plain Mcp-Name match', async () => {
    const res = await post(call('tools/call', { name: 'delete_repo' }), { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'delete_repo' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ reached: true });
  });

  it('decode a Base64 sentinel before comparing: a non-ASCII name and one with spaces around it pass', async () => {
    for (const name of ['café ☕', ' padded ', '=?base64?literal?=']) {
      const res = await post(call('tools/call', { name }), { 'Mcp-Method': 'tools/call', 'Mcp-Name': b64(name) });
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
    }
  });

  it('leave Mcp-Name alone on a method that has no name (tools/list)', async () => {
    expect((await post(call('tools/list'), { 'Mcp-Method': 'tools/list', 'Mcp-Name': 'anything' })).status).toBe(200);
  });
});

describe('the order of checks', () => {
  it('checks the headers before any rule: a token lacking the scope gets 400 for a mismatch, not 403', async () => {
    const res = await post(call('tools/call', { name: 'delete_repo' }), { 'Mcp-Name': 'search' }, READER);
    expectHeaderMismatch(res);
    expect(res.headers['www-authenticate']).toBeUndefined();
  });

  it('judges a request without the headers (a 2025-era client) on its body alone', async () => {
    expect((await post(call('tools/call', { name: 'delete_repo' }), {})).status).toBe(200);
    const refused = await post(call('tools/call', { name: 'delete_repo' }), {}, READER);
    expect(refused.status).toBe(403);
  });

  it('reports a mismatch through onDecision as an invalid request of mcpPolicy', async () => {
    const decisions: Decision[] = [];
    await request(policyApp(decisions))
      .post('/mcp')
      .set('Authorization', `Bearer ${ADMIN}`)
      .set('Mcp-Method', 'tools/list')
      .send(call('tools/call', { name: 'delete_repo' }));
    expect(decisions.at(-1)).toMatchObject({ outcome: 'invalid_request', status: 400, rule: 'mcpPolicy Mcp-Method/Mcp-Name', source: 'users' });
  });
});

type Answer = { name: string; text?: string; isError?: boolean; error?: string };
interface CallsReport {
  error?: string;
  era?: string;
  answers?: Answer[];
  sent?: Array<{ method: string | null; name: string | null }>;
}

function runClient(mode: 'legacy' | 'auto', task: { kind: 'calls'; url: string; token: string; tools: string[] }): Promise<CallsReport> {
  const client = join(__dirname, '..', 'support', 'v2-mcp-client.mjs');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [client, JSON.stringify({ mode, tasks: [task] })], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`the MCP client failed: ${error.message}\n${stderr}`));
        return;
      }
      const [report] = JSON.parse(stdout.trim().split('\n').pop()!) as CallsReport[];
      if (report.error) reject(new Error(`the client task failed: ${report.error}`));
      else resolve(report);
    });
  });
}

describe('the official MCP SDK v2 client through mcpPolicy, with a scope hierarchy', () => {
  const ODD_NAME = 'café ☕';
  let server: Server;
  let url: string;
  const reports: Partial<Record<'legacy' | 'auto', CallsReport>> = {};

  beforeAll(async () => {
    // mcp:admin implies mcp:write (and that mcp:read): the client's token carries mcp:admin only.
    const auth = multiAuth({
      verifiers: staticTokenVerifier({ name: 'users', tokens: { [ADMIN]: { clientId: 'alice', scopes: ['mcp:admin'] } } }),
      scopeHierarchy: { 'mcp:admin': ['mcp:write'], 'mcp:write': ['mcp:read'] },
    });
    const policy = mcpPolicy({ tools: { write_note: { scopes: ['mcp:write'] }, [ODD_NAME]: { scopes: ['mcp:read'] } } }, { auth });
    const app = createMcpExpressApp({ host: '127.0.0.1' });
    app.use(auth);
    const handle = toNodeHandler(createMcpHandler(() => {
      const mcp = new McpServer({ name: 'headers', version: '1.0.0' });
      // The v2 per-tool scopeChallenge judges the same rules on the AuthInfo the SDK hands it:
      // with the hierarchy, mcp:admin passes write_note there too.
      for (const name of ['whoami', 'write_note', ODD_NAME]) {
        mcp.registerTool(name, { description: name, scopeChallenge: policy.scopeChallenge }, async () => ({ content: [{ type: 'text', text: `${name} done` }] }));
      }
      return mcp;
    }));
    app.all('/mcp', policy, (req, res, next) => {
      handle(req, res, req.body).catch(next);
    });
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    const task = { kind: 'calls' as const, url, token: ADMIN, tools: ['whoami', ODD_NAME, 'write_note'] };
    [reports.auto, reports.legacy] = await Promise.all([runClient('auto', task), runClient('legacy', task)]);
  }, 90_000);
  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it('in auto mode sends Mcp-Method and Mcp-Name (a Base64 sentinel for a non-ASCII name), and every call passes', () => {
    const report = reports.auto!;
    expect(report.era).toBe('modern');
    expect(report.sent).toEqual(expect.arrayContaining([
      { method: 'tools/call', name: 'whoami' },
      { method: 'tools/call', name: b64(ODD_NAME) },
      { method: 'tools/call', name: 'write_note' },
    ]));
    expect(report.answers).toEqual([
      { name: 'whoami', text: 'whoami done', isError: false },
      { name: ODD_NAME, text: `${ODD_NAME} done`, isError: false },
      { name: 'write_note', text: 'write_note done', isError: false },
    ]);
  });

  it('in legacy mode sends no standard headers and is judged on the body, with the same answers', () => {
    const report = reports.legacy!;
    expect(report.era).toBe('legacy');
    expect(report.sent!.every((s) => s.method === null && s.name === null)).toBe(true);
    expect(report.answers).toEqual(reports.auto!.answers);
  });
});
