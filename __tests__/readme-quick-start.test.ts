/**
 * The README's two quick starts, run exactly as printed: each ```ts block is saved as its own
 * server.ts and started with tsx, as a reader would after `npm install`, with `express-multiauth`
 * resolved to this repository's source. Then they are called over real HTTP: the printed curl
 * itself, no token, a real JWT from a real authorization server (oidc-provider, named by
 * JWT_ISSUER), and a real MCP SDK v2 client.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIssuer, type Issuer } from './support/issuer';

const ROOT = join(__dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** The README's ```ts blocks, in order. */
const blocks = [...README.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);

/** A port free right now (the quick starts take PORT, as printed). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

interface Started {
  child: ChildProcessWithoutNullStreams;
  /** The first line the server printed. */
  firstLine: string;
  output: () => string;
}

/**
 * Saves `code` as server.ts in a fresh directory whose tsconfig maps `express-multiauth` to this
 * repository's source, starts it with tsx and waits for its first line of output.
 */
async function startBlock(dir: string, code: string, env: Record<string, string>): Promise<Started> {
  mkdirSync(dir);
  writeFileSync(join(dir, 'server.ts'), code);
  // As `npm install` leaves a new directory: a package.json without "type", so tsx runs server.ts as CommonJS.
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ dependencies: { 'express-multiauth': '*' } }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, paths: { 'express-multiauth': [join(ROOT, 'lib', 'index.ts')] } } }));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  // API_KEY unset, as on a first run: the server makes a key up and prints how to use it.
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.API_KEY;
  const child = spawn(process.execPath, [TSX, 'server.ts'], { cwd: dir, env: childEnv });
  let out = '';
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const firstLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no output within 60 s:\n${out}`)), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l, i, all) => i < all.length - 1 && l.trim());
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.once('exit', (code) => reject(new Error(`the quick start exited with ${code}:\n${out}`)));
  });
  return { child, firstLine, output: () => out };
}

function stop(started: Started | undefined): Promise<void> {
  if (!started || started.child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    started.child.once('exit', () => resolve());
    started.child.kill('SIGTERM');
  });
}

const work = mkdtempSync(join(tmpdir(), 'multiauth-quick-start-'));
let issuer: Issuer;

beforeAll(async () => {
  issuer = await startIssuer({ scope: 'read write mcp:read mcp:write' });
}, 60_000);

afterAll(async () => {
  await issuer?.stop();
  rmSync(work, { recursive: true, force: true });
});

it('the README has the two quick starts, first of its ts blocks', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(2);
  expect(blocks[0]).toContain('.listen(');
  expect(blocks[1]).toContain('createMcpHandler');
});

describe('README quick start (an API key and a JWT source, a guard, listen)', () => {
  let server: Started | undefined;
  let base = '';
  beforeAll(async () => {
    server = await startBlock(join(work, 'quick-start'), blocks[0], { PORT: String(await freePort()), JWT_ISSUER: issuer.issuer });
    base = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(server.firstLine)?.[1] ?? '';
  }, 90_000);
  afterAll(() => stop(server));

  it('prints a curl that answers with the API key source', async () => {
    expect(server!.firstLine).toMatch(/^try: curl -H "Authorization: Bearer [\w-]{16,}" http:\/\/127\.0\.0\.1:\d+\/whoami$/);
    const command = server!.firstLine.replace(/^try: /, '');
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile('sh', ['-c', `${command} --silent --show-error`], (error, out) => (error ? reject(error) : resolve(out))),
    );
    expect(JSON.parse(stdout)).toEqual({ source: 'ci', clientId: 'ci' });
  });

  it('answers a request without a token with 401 and a Bearer challenge', async () => {
    const res = await fetch(`${base}/whoami`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  it("accepts the issuer's JWT for https://api.example.com as the sso source", async () => {
    const accessToken = await issuer.clientCredentialsToken({ resource: 'https://api.example.com', scope: 'read' });
    const res = await fetch(`${base}/whoami`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ source: 'sso', clientId: expect.any(String) });
  });

  it('refuses the API key on the route that needs write with 403 insufficient_scope, and lets a JWT with write through', async () => {
    const key = /Bearer ([\w-]+)/.exec(server!.firstLine)![1];
    const refused = await fetch(`${base}/notes`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    const accessToken = await issuer.clientCredentialsToken({ resource: 'https://api.example.com', scope: 'read write' });
    const allowed = await fetch(`${base}/notes`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } });
    expect(allowed.status).toBe(201);
  });
});

/** The official MCP SDK v2 client in a process of its own (it loads jose by dynamic import). */
const CLIENT = `
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
const [url, token] = process.argv.slice(2);
const client = new Client({ name: 'quick-start-test', version: '1.0.0' });
await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: 'Bearer ' + token } } }));
const whoami = await client.callTool({ name: 'whoami', arguments: {} });
let write;
try { write = await client.callTool({ name: 'write_note', arguments: {} }); } catch (error) { write = { refused: String(error.message ?? error) }; }
await client.close();
console.log(JSON.stringify({ whoami: whoami.content, write }));
`;

function runClient(dir: string, url: string, token: string): Promise<{ whoami: unknown; write: unknown }> {
  writeFileSync(join(dir, 'client.mjs'), CLIENT);
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [join(dir, 'client.mjs'), url, token], { cwd: dir, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`the MCP client failed: ${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!));
    }),
  );
}

describe('README MCP quick start (SDK v2)', () => {
  let server: Started | undefined;
  let dir = '';
  let url = '';
  beforeAll(async () => {
    dir = join(work, 'mcp-quick-start');
    server = await startBlock(dir, blocks[1], { PORT: String(await freePort()), JWT_ISSUER: issuer.issuer });
    url = /(http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(server.firstLine)?.[1] ?? '';
  }, 90_000);
  afterAll(() => stop(server));

  it('prints the endpoint and the header to use', () => {
    expect(server!.firstLine).toMatch(/^MCP endpoint http:\/\/127\.0\.0\.1:\d+\/mcp, header: Authorization: Bearer [\w-]{16,}$/);
  });

  it('lets an MCP client with the printed key call whoami (source ci) but not write_note', async () => {
    const key = /Bearer ([\w-]+)$/.exec(server!.firstLine)![1];
    const report = await runClient(dir, url, key);
    expect(report.whoami).toEqual([{ type: 'text', text: 'ci' }]);
    expect(JSON.stringify(report.write)).toMatch(/403|insufficient_scope|mcp:write/);
  }, 90_000);

  it("lets an MCP client with the issuer's JWT (scope mcp:write) call both tools, as the sso source", async () => {
    const accessToken = await issuer.clientCredentialsToken({ resource: 'http://127.0.0.1:3000/mcp', scope: 'mcp:read mcp:write' });
    const report = await runClient(dir, url, accessToken);
    expect(report.whoami).toEqual([{ type: 'text', text: 'sso' }]);
    expect(report.write).toMatchObject({ content: [{ type: 'text', text: 'written' }] });
  }, 90_000);
});
