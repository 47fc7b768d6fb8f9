// The folders of lib/ are layers: each may import only the folders named for it below, so a
// reader can trust the tree for what depends on what. A new folder must be added here, with
// what it may import, before any file in it can pass.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const LIB = join(__dirname, '..', 'lib');

/** Each folder and the folders it may import from (its own included). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  core: ['core'],
  transport: ['core', 'transport'],
  http: ['core', 'transport', 'http'],
  sources: ['core', 'transport', 'http', 'sources'],
  primaries: ['core', 'transport', 'http', 'sources', 'primaries'],
  chain: ['core', 'transport', 'http', 'dpop', 'mtls', 'chain'],
  dpop: ['core', 'transport', 'http', 'dpop'],
  mtls: ['core', 'transport', 'http', 'mtls'],
  mcp: ['core', 'transport', 'http', 'chain', 'mcp'],
};

const files = (readdirSync(LIB, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => join(LIB, f));

/** The lib-relative paths (without extension) a file imports or re-exports. */
function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const specs = [...source.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
  return specs.map((spec) => relative(LIB, resolve(dirname(file), spec)));
}

const folderOf = (libPath: string): string => libPath.split(/[\\/]/)[0];

describe('lib/ layout', () => {
  it('has no file outside a known folder except index.ts', () => {
    const stray = files.map((f) => relative(LIB, f)).filter((f) => f !== 'index.ts' && !(folderOf(f) in MAY_IMPORT));
    expect(stray).toEqual([]);
  });

  it('imports only go down: each folder imports only what it may', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = relative(LIB, file);
      if (from === 'index.ts') continue;
      for (const target of importsOf(file)) {
        if (!MAY_IMPORT[folderOf(from)]?.includes(folderOf(target))) wrong.push(`${from} -> ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has no import cycle', () => {
    const graph = new Map(files.map((f) => [relative(LIB, f).replace(/\.ts$/, ''), importsOf(f)]));
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (node: string, path: string[]): void => {
      if (state.get(node) === 'done') return;
      if (state.get(node) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(node)), node].join(' -> '));
        return;
      }
      state.set(node, 'visiting');
      for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
      state.set(node, 'done');
    };
    for (const node of graph.keys()) visit(node, []);
    expect(cycles).toEqual([]);
  });

  it('index.ts only re-exports', () => {
    const statements = readFileSync(join(LIB, 'index.ts'), 'utf8')
      .replace(/\/\/.*$/gm, '')
      .split(';')
      .map((s) => s.trim())
      .filter(Boolean);
    expect(statements.filter((s) => !/^export\s+(type\s+)?(\*|\{[^}]*\})\s+from\s+'\.\/[^']+'$/s.test(s))).toEqual([]);
  });
});
