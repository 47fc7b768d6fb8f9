/**
 * Every ```ts block of README.md compiles under --strict, against this package's source (as
 * `express-multiauth`) and the real types of what the blocks import (Express, both MCP SDKs,
 * express-oauth2-jwt-bearer). A block that shows a signature rather than code uses another
 * fence (```text). Each block is its own module; the names below are the only ones a block may
 * use without declaring or importing them: the reader's own app, handlers and data.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..');
const README = join(ROOT, 'README.md');

/** What README snippets take as given: the reader's app and their own pieces, nothing of ours. */
const PRELUDE = `
import type { Express, RequestHandler } from 'express';
import type { AuthServer, StaticTokenEntry, TokenVerifier } from 'express-multiauth';
import type { ProxyOAuthServerProvider } from '@modelcontextprotocol/sdk/server/auth/providers/proxyProvider.js';
declare global {
  /** The reader's Express app. */
  const app: Express;
  /** Route handlers of the reader's app. */
  const handler: RequestHandler;
  const mcpHandler: RequestHandler;
  /** The reader's OAuth provider (an SDK OAuthServerProvider) and its router. */
  const provider: ProxyOAuthServerProvider;
  /** Any primary, any API-key map, any verifier of the reader's. */
  const primary: AuthServer;
  const tokens: Record<string, StaticTokenEntry>;
  const ci: TokenVerifier;
  /** The reader's database. */
  const db: {
    findToken(token: string, options: { signal?: AbortSignal }): Promise<{ client: string; scopes: string[]; exp: number } | undefined>;
  };
}
export {};
`;

interface Block {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
}

/** The ```ts blocks, by the line of their opening fence. */
function tsBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts\s*$/.test(lines[i])) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    blocks.push({ line: start + 1, code: body.join('\n') });
  }
  return blocks;
}

const markdown = readFileSync(README, 'utf8');
const blocks = tsBlocks(markdown);

/**
 * Blocks fenced ```ts pending: code whose typing another change is about to fix, left out of the
 * check until then and listed here so that none slips in unnoticed.
 */
const PENDING: string[] = [];
const fileOf = (block: Block) => join(ROOT, '__readme__', `block-${block.line}.ts`);
const diagnostics = new Map<number, string[]>();

beforeAll(() => {
  const virtual = new Map<string, string>([[join(ROOT, '__readme__', 'prelude.ts'), PRELUDE]]);
  // `export {}` makes each block a module, so two blocks may both declare `const auth`.
  for (const block of blocks) virtual.set(fileOf(block), `${block.code}\nexport {};\n`);
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: ['node'],
    esModuleInterop: true,
    // Conflicts inside libraries' own declarations are not the README's to fix.
    skipLibCheck: true,
    paths: { 'express-multiauth': [join(ROOT, 'lib', 'index.ts')] },
  };
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (name) => virtual.has(name) || fileExists.call(host, name);
  host.readFile = (name) => virtual.get(name) ?? readFile.call(host, name);
  host.getSourceFile = (name, languageVersion, onError, create) => {
    const text = virtual.get(name);
    return text === undefined ? getSourceFile.call(host, name, languageVersion, onError, create) : ts.createSourceFile(name, text, languageVersion, true);
  };
  const program = ts.createProgram([...virtual.keys()], options, host);
  const all = [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics(), ...program.getGlobalDiagnostics()];
  for (const block of blocks) diagnostics.set(block.line, []);
  for (const d of all) {
    const file = d.file?.fileName;
    const block = blocks.find((b) => fileOf(b) === file);
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (block && d.file && d.start !== undefined) {
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      diagnostics.get(block.line)!.push(`README.md:${block.line + 1 + line}: TS${d.code} ${message}`);
    } else {
      // Outside any block (the prelude, the package itself): every block's problem.
      for (const list of diagnostics.values()) list.push(`${file ?? 'global'}: TS${d.code} ${message}`);
    }
  }
}, 120_000);

describe('README.md ```ts blocks', () => {
  it('has blocks to check', () => {
    expect(blocks.length).toBeGreaterThan(5);
  });

  it('leaves out only the listed pending blocks', () => {
    const pending = [...markdown.matchAll(/^```ts pending\n([^\n]*)/gm)].map((m) => m[1]);
    expect(pending.map((first) => PENDING.find((known) => first.startsWith(known)) ?? first)).toEqual(PENDING);
  });

  it.each(blocks.map((b) => [b.line, b] as const))('the block at line %d compiles under --strict', (_line, block) => {
    expect(diagnostics.get(block.line)).toEqual([]);
  });
});
