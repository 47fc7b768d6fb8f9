// The official MCP SDK v2 client end to end against the example's v2 server (examples/
// embedded-default.ts on SDK v2), over real HTTP, in `legacy` and `auto` protocol modes: a bearer of
// every source, the full OAuth flow against the example's primary, and step-up after a 403 from
// `mcpPolicy` and from `policy.scopeChallenge`. The client runs in its own process
// (support/v2-mcp-client.mjs): its OAuth code loads jose with a dynamic import(), which Jest's
// CommonJS sandbox cannot run.
import { execFile } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { createMcpExpressApp } from '@modelcontextprotocol/express';
import { startExample, type ExampleServer } from '../../examples/embedded-default';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { EXAMPLE_RULES } from '../../examples/mcp-app-v2';
import { mcpPolicy } from '../../lib/mcp/mcp-policy';
import { parseBearerChallenge } from '../support/app';

type Mode = 'legacy' | 'auto';
type Task = { kind: 'bearer'; url: string; token: string } | { kind: 'oauth' | 'stepup'; url: string };
interface Who {
  source: string;
  clientId: string;
  scopes: string[];
}
interface Report {
  error?: string;
  era?: string;
  connectError?: string;
  seen?: Array<{ status: number; challenge: string | null }>;
  whoami?: Who;
  firstConnect?: string;
  firstStatus?: number;
  authorization?: Record<string, string>;
  registered?: boolean;
  tokenScope?: string;
  firstTokenScope?: string;
  firstCall?: unknown;
  challenge?: string;
  stepUpScope?: string;
  retried?: Array<{ type: string; text: string }>;
}

const CLIENT = join(__dirname, '..', 'support', 'v2-mcp-client.mjs');

function runClient(mode: Mode, tasks: Task[]): Promise<Report[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLIENT, JSON.stringify({ mode, tasks })], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`the MCP client failed: ${error.message}\n${stderr}`));
        return;
      }
      const reports = JSON.parse(stdout.trim().split('\n').pop()!) as Report[];
      const failed = reports.find((r) => r.error);
      if (failed) reject(new Error(`a client task failed: ${failed.error}`));
      else resolve(reports);
    });
  });
}

let example: ExampleServer;
/**
 * `/mcp/direct`: the example's multiAuth and rules, `write_note` guarded only by the rules'
 * `policy.scopeChallenge` (no `mcpPolicy` middleware in front). Not the example's own
 * `buildMcpServer`: it also disables the tools `allowedTools` leaves out, so a caller without
 * mcp:write gets "Tool write_note disabled" there and never the scope challenge.
 */
let directUrl: string;
const reports: Partial<Record<Mode, Report[]>> = {};
const ERA: Record<Mode, string> = { legacy: 'legacy', auto: 'modern' };

beforeAll(async () => {
  example = await startExample({ port: 0, env: {} });
  // Same server, same multiAuth, same policy rules; only the mcpPolicy middleware left out, so that
  // the refusal comes from the tool's scopeChallenge. It lives under /mcp/ so that the example's
  // resource (…/mcp) covers it, as the client checks.
  const direct = createMcpExpressApp({ host: '127.0.0.1' });
  direct.use(example.auth);
  const policy = mcpPolicy(EXAMPLE_RULES, { auth: example.auth });
  const handle = toNodeHandler(createMcpHandler(() => {
    const server = new McpServer({ name: 'multiauth-example-direct', version: '2.0.0' });
    server.registerTool('write_note', { description: 'Needs mcp:write', scopeChallenge: policy.scopeChallenge }, async () => ({
      content: [{ type: 'text', text: 'note written' }],
    }));
    return server;
  }));
  direct.all('/mcp/direct', (req, res, next) => {
    handle(req, res, req.body).catch(next);
  });
  const [exampleApp] = example.server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  example.server.removeAllListeners('request');
  example.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/mcp/direct')) direct(req, res);
    else exampleApp(req, res);
  });
  directUrl = `${example.baseUrl}/mcp/direct`;
  const mcpUrl = `${example.baseUrl}/mcp`;
  const tasks: Task[] = [
    { kind: 'bearer', url: mcpUrl, token: example.tokens.ci },
    { kind: 'bearer', url: mcpUrl, token: example.tokens.machines },
    { kind: 'oauth', url: mcpUrl },
    { kind: 'stepup', url: mcpUrl },
    { kind: 'stepup', url: directUrl },
    { kind: 'bearer', url: mcpUrl, token: example.tokens.partner },
  ];
  const [legacy, auto] = await Promise.all([runClient('legacy', tasks), runClient('auto', tasks)]);
  reports.legacy = legacy;
  reports.auto = auto;
}, 90_000);
afterAll(async () => {
  await example?.close();
});

describe.each(['legacy', 'auto'] as const)('the SDK v2 client in %s mode, against the example v2 server', (mode) => {
  const report = (i: number) => reports[mode]![i];

  it('calls whoami with the CI key as Bearer, and the handler sees source "ci"', () => {
    expect(report(0).era).toBe(ERA[mode]);
    expect(report(0).whoami).toEqual({ source: 'ci', clientId: 'ci-pipeline', scopes: ['mcp:read'] });
  });

  it('calls whoami with a machine JWT as Bearer, and the handler sees source "machines"', () => {
    expect(report(1).era).toBe(ERA[mode]);
    expect(report(1).whoami).toEqual({ source: 'machines', clientId: 'build-agent', scopes: ['mcp:read'] });
  });

  it('gets a 503 (not a 401, so no login) for a partner token: that source\'s key server is down', () => {
    expect(report(5).connectError).toMatch(/temporarily_unavailable|HTTP 503/);
    expect(report(5).seen!.map((s) => s.status)).toEqual([503]);
  });

  it('logs in against the example primary (discovery, registration, PKCE), then calls whoami as "oauth"', () => {
    const r = report(2);
    expect(r.firstConnect).toBe('unauthorized');
    expect(r.firstStatus).toBe(401);
    expect(r.registered).toBe(true);
    expect(r.authorization).toMatchObject({
      response_type: 'code',
      code_challenge_method: 'S256',
      redirect_uri: 'http://127.0.0.1:9/callback',
      resource: example.resource,
    });
    expect(r.authorization!.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(r.era).toBe(ERA[mode]);
    expect(r.whoami).toMatchObject({ source: 'oauth' });
  });

  it.each([
    ['mcpPolicy', 3],
    ['policy.scopeChallenge', 4],
  ] as const)('steps up after a 403 insufficient_scope from %s and the retried call succeeds', (_from, i) => {
    const r = report(i);
    expect(r.firstTokenScope).toBe('mcp:read');
    expect(r.firstCall).toBe('unauthorized');
    const challenge = parseBearerChallenge(r.challenge).params;
    expect(challenge.error).toBe('insufficient_scope');
    expect(challenge.scope.split(' ')).toContain('mcp:write');
    expect(r.stepUpScope!.split(' ')).toEqual(expect.arrayContaining(['mcp:read', 'mcp:write']));
    expect(r.tokenScope!.split(' ')).toContain('mcp:write');
    expect(r.era).toBe(ERA[mode]);
    expect(r.retried).toEqual([{ type: 'text', text: 'note written' }]);
  });

  it('names the same scope= (and resource_metadata) whether mcpPolicy or scopeChallenge refused', () => {
    const viaPolicy = parseBearerChallenge(report(3).challenge).params;
    const viaTool = parseBearerChallenge(report(4).challenge).params;
    expect(viaTool.scope).toBe(viaPolicy.scope);
    expect(viaTool.resource_metadata).toBe(viaPolicy.resource_metadata);
    expect(viaPolicy.resource_metadata).toBeDefined();
  });
});
