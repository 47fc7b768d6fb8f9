/**
 * The documentation as a reader meets it: README.md and the guides in docs/.
 *
 * Every ```ts block compiles under --strict, against this package's source (as
 * `express-multiauth`) and the real types of what the blocks import (Express, both MCP SDKs,
 * express-oauth2-jwt-bearer). A block that shows a signature rather than code uses another
 * fence (```text). Each block is its own module; the names below are the only ones a block may
 * use without declaring or importing them: the reader's own app, handlers and data.
 *
 * Every relative link resolves: to a file of the repository, and, when it names a heading, to a
 * heading of that file (GitHub's anchors). That the shipped documents' links resolve inside the
 * tarball too is checked by packaging.test.ts.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { anchorsOf, relativeLinks } from './support/markdown';

const ROOT = join(__dirname, '..');
/** The documents whose code and links are checked, relative to the repository root. */
const DOCUMENTS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
/** Documents links may point into besides those (their anchors are checked too). */
const LINKED = [...DOCUMENTS, 'SECURITY.md', 'CHANGELOG.md', 'BENCHMARKS.md'];

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
  /** The document, relative to the repository root. */
  document: string;
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
}

/** The ```ts blocks, by the line of their opening fence. */
function tsBlocks(document: string, markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts\s*$/.test(lines[i])) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    blocks.push({ document, line: start + 1, code: body.join('\n') });
  }
  return blocks;
}

const texts = new Map(LINKED.map((document) => [document, readFileSync(join(ROOT, document), 'utf8')]));
const blocks = DOCUMENTS.flatMap((document) => tsBlocks(document, texts.get(document)!));
const nameOf = (block: Block) => `${block.document}:${block.line}`;

/**
 * Blocks fenced ```ts pending: code whose typing another change is about to fix, left out of the
 * check until then and listed here so that none slips in unnoticed.
 */
const PENDING: string[] = [];
const fileOf = (block: Block) => join(ROOT, '__docs__', block.document.replace(/[/.]/g, '_'), `block-${block.line}.ts`);
const diagnostics = new Map<string, string[]>();

beforeAll(() => {
  const virtual = new Map<string, string>([[join(ROOT, '__docs__', 'prelude.ts'), PRELUDE]]);
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
    // Conflicts inside libraries' own declarations are not the docs' to fix.
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
  for (const block of blocks) diagnostics.set(nameOf(block), []);
  for (const d of all) {
    const file = d.file?.fileName;
    const block = blocks.find((b) => fileOf(b) === file);
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (block && d.file && d.start !== undefined) {
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      diagnostics.get(nameOf(block))!.push(`${block.document}:${block.line + 1 + line}: TS${d.code} ${message}`);
    } else {
      // Outside any block (the prelude, the package itself): every block's problem.
      for (const list of diagnostics.values()) list.push(`${file ?? 'global'}: TS${d.code} ${message}`);
    }
  }
}, 120_000);

describe('```ts blocks of README.md and docs/', () => {
  it('has blocks to check in the README and in the guides', () => {
    expect(blocks.filter((b) => b.document === 'README.md').length).toBeGreaterThan(0);
    expect(blocks.filter((b) => b.document.startsWith('docs/')).length).toBeGreaterThan(5);
  });

  it('leaves out only the listed pending blocks', () => {
    const pending = DOCUMENTS.flatMap((document) => [...texts.get(document)!.matchAll(/^```ts pending\n([^\n]*)/gm)].map((m) => m[1]));
    expect(pending.map((first) => PENDING.find((known) => first.startsWith(known)) ?? first)).toEqual(PENDING);
  });

  it.each(blocks.map((b) => [nameOf(b), b] as const))('the block at %s compiles under --strict', (name) => {
    expect(diagnostics.get(name)).toEqual([]);
  });
});

describe('relative links of README.md, docs/, SECURITY.md, CHANGELOG.md and BENCHMARKS.md', () => {
  const links = LINKED.flatMap((document) => relativeLinks(texts.get(document)!).map((link) => ({ document, ...link })));

  it('has links to check', () => {
    expect(links.filter((l) => l.document === 'README.md' && l.target.startsWith('docs/')).length).toBeGreaterThan(5);
  });

  it('every link names a file of the repository, and a heading of it when it names one', () => {
    const dead = links.filter(({ document, target }) => {
      const [path, anchor] = target.split('#');
      const file = path === '' ? document : relative(ROOT, join(ROOT, dirname(document), path));
      if (file.startsWith('..') || !existsSync(join(ROOT, file))) return true;
      if (anchor === undefined) return false;
      if (statSync(join(ROOT, file)).isDirectory() || !file.endsWith('.md')) return true;
      const text = texts.get(file) ?? readFileSync(join(ROOT, file), 'utf8');
      return !anchorsOf(text).has(anchor);
    });
    expect(dead.map(({ document, line, target }) => `${document}:${line}: ${target}`)).toEqual([]);
  });
});
