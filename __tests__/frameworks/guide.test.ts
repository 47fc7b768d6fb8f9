/**
 * docs/frameworks.md: every complete program in the guide runs, under the framework it is
 * written for, and serves the primary's metadata, accepts the API key and challenges a request
 * without one, over real HTTP.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import ts from 'typescript';

const GUIDE = readFileSync(join(__dirname, '..', '..', 'docs', 'frameworks.md'), 'utf8');
const CI_KEY = 'guide-ci-key-0123456789abcdef';

/** The guide's ```ts blocks that are programs (they start a server), by the heading above them. */
function programs(): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  let heading = '';
  const lines = GUIDE.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith('## ')) heading = lines[i].slice(3);
    if (!/^```ts\s*$/.test(lines[i])) continue;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    const code = body.join('\n');
    if (/export const (server|listening)\b/.test(code)) found.push([heading, code]);
  }
  return found;
}

interface Started {
  origin: string;
  close(): Promise<unknown>;
}

/** Runs a program as the reader would, with `express-multiauth` resolved to this repository's lib/. */
async function run(code: string): Promise<Started> {
  const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
  const module = { exports: {} as Record<string, unknown> };
  const load = (id: string): unknown => jest.requireActual(id === 'express-multiauth' ? '../../lib/index' : id);
  process.env.PORT = '0';
  process.env.CI_KEY = CI_KEY;
  new Function('require', 'module', 'exports', js)(load, module, module.exports);
  const { server, listening, app } = module.exports as { server?: Server; listening?: Promise<unknown>; app?: { server: Server; close(): Promise<unknown> } };
  if (listening) {
    await listening;
    const { port } = app!.server.address() as AddressInfo;
    return { origin: `http://127.0.0.1:${port}`, close: () => app!.close() };
  }
  if (!server!.listening) await new Promise((resolve) => server!.once('listening', resolve));
  const { port } = server!.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => {
      server!.closeAllConnections();
      return new Promise((resolve) => server!.close(resolve));
    },
  };
}

const examples = programs();

it('docs/frameworks.md has a program for each framework of the matrix', () => {
  expect(examples.map(([heading]) => heading)).toEqual([
    'Express 4 and 5',
    'Connect on `node:http`',
    'Fastify 5 with `@fastify/middie`',
    'Fastify 5 with `@fastify/express`',
    'A bare `node:http` server',
  ]);
});

describe.each(examples)('the guide program under "%s"', (_heading, code) => {
  let started: Started;
  beforeAll(async () => {
    started = await run(code);
  });
  afterAll(() => started.close());

  it("serves the primary's metadata at the root", async () => {
    const response = await fetch(`${started.origin}/.well-known/oauth-protected-resource/mcp`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ resource: 'https://mcp.example.com/mcp', authorization_servers: ['https://login.example.com'] });
  });

  it('accepts the API key and tells the handler which source accepted it', async () => {
    const response = await fetch(`${started.origin}/whoami`, { headers: { Authorization: `Bearer ${CI_KEY}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ source: 'ci' });
  });

  it('challenges a request without a token', async () => {
    const response = await fetch(`${started.origin}/whoami`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"');
  });
});
