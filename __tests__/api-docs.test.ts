/**
 * The API reference is built, not written: `npm run docs` (TypeDoc, typedoc.json) turns the
 * declarations and their JSDoc into pages. Here it must finish without a single warning (an
 * undocumented export, a dangling link, a public type that is neither exported nor declared
 * intentionally unexported) and give every export of lib/index.ts a page of its own.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

const ROOT = join(__dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'multiauth-api-docs-'));
let result: { code: number | null; output: string };

/** Every name lib/index.ts exports (values and types), from its export lists. */
function exportedNames(): string[] {
  const index = readFileSync(join(ROOT, 'lib', 'index.ts'), 'utf8');
  const names = new Set<string>();
  for (const [, list] of index.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}\s*from/g)) {
    for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
      names.add(raw.replace(/^type\s+/, '').split(/\s+as\s+/).pop()!.trim());
    }
  }
  return [...names].sort();
}

beforeAll(async () => {
  const typedoc = join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');
  result = await new Promise((resolve) => {
    const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
    execFile(process.execPath, [typedoc, '--out', out, '--logLevel', 'Warn'], { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}`.trim() });
    });
  });
}, 240_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('npm run docs (the API reference from the declarations)', () => {
  it('builds with no warning: every export and every member documented, every link resolved', () => {
    expect(result).toEqual({ code: 0, output: '' });
  });

  it('gives every export of the package a page', () => {
    const pages = new Set(
      ['classes', 'functions', 'interfaces', 'types', 'variables'].flatMap((kind) => {
        try {
          return readdirSync(join(out, kind)).map((file) => basename(file, '.html'));
        } catch {
          return [];
        }
      }),
    );
    expect(exportedNames().filter((name) => !pages.has(name))).toEqual([]);
  });
});
