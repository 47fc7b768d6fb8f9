/**
 * The package as users get it: packed by `npm pack` from a copy of this tree without dist/
 * (so `prepack` has to build it, and a stale dist/ can never make this pass), installed from
 * the tarball into a fresh project, then loaded by Node as ESM and as CommonJS and
 * type-checked by strict consumers (__tests__/fixtures/consumers/) under TypeScript 5.9 and 7;
 * @arethetypeswrong/cli and publint lint the tarball itself.
 *
 * The consumer project installs the tarball and its dependencies (cors, jose, lru-cache) from
 * the local npm cache (`--offline`); a cache filled by `npm ci` alone holds their tarballs but
 * not their registry metadata, so then it falls back to `--prefer-offline`, which asks the
 * registry for the metadata only (well under a second). The peers the consumers compile and
 * run against (express, the MCP SDK, express-oauth2-jwt-bearer, typescript, @types/*) are
 * links to this repo's node_modules: the versions the lockfile pins, nothing downloaded.
 */
import { execFile, execFileSync, type ExecFileOptions } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, sep } from 'node:path';
import { anchorsOf, relativeLinks } from './support/markdown';

const ROOT = join(__dirname, '..');
const FIXTURES = join(__dirname, 'fixtures', 'consumers');
const PACKAGE = 'express-multiauth';

/**
 * The documents the tarball ships next to the code: README.md links to the others, and the guides
 * in docs/ ship so that its links resolve wherever the package is read (node_modules, the npm
 * page's file view, unpkg) and match the installed version.
 */
const GUIDES = readdirSync(join(ROOT, 'docs')).filter((file) => file.endsWith('.md')).map((file) => `docs/${file}`);
const DOCUMENTS = ['BENCHMARKS.md', 'CHANGELOG.md', 'README.md', 'SECURITY.md', ...GUIDES].sort();

/** Peers the consumers compile or run against, linked from this repo's node_modules. */
const LINKED_PEERS = [
  'express',
  '@modelcontextprotocol/sdk',
  '@modelcontextprotocol/server',
  '@modelcontextprotocol/core',
  '@modelcontextprotocol/node',
  '@modelcontextprotocol/express',
  'express-oauth2-jwt-bearer',
  'typescript',
  '@types/express',
  '@types/node',
];

/** The consumer programs and what each proves; tsconfig.<name>.json in the fixtures. */
const PROGRAMS = {
  nodenext: "every export, as ESM (.mts) and as CommonJS (.cts), nodenext resolution; jose's own key types as publicKey",
  node16: 'every export, as ESM and as CommonJS, node16 resolution: the CommonJS declarations import no ESM-only module (TS1479)',
  bundler: 'every export, bundler resolution',
  node10: 'every export, node10 resolution (types/main fields, no exports map)',
  'mcp-sdk': 'the MCP SDK Express transport and auth types next to multiAuth',
  'mcp-sdk-v2': 'the MCP SDK v2 (createMcpExpressApp, createMcpHandler, scope challenges) next to multiAuth, as ESM and CommonJS',
  'mcp-sdk-v2-no-v1': 'the same v2 consumer with the v1 SDK unresolvable',
  'jwt-bearer': "express-oauth2-jwt-bearer's auth() and guards next to multiAuth",
  'eojb-mcp': 'express-oauth2-jwt-bearer and both MCP SDKs in one app: mcpRequest(req) feeds either transport',
} as const;
type Program = keyof typeof PROGRAMS;

/**
 * The same programs under TypeScript 7 (the native compiler), installed at test time into a
 * project of its own like the tarball (--offline, then --prefer-offline), never into this
 * repository: a second `typescript` would take over node_modules/.bin/tsc. TypeScript 7 has
 * removed `moduleResolution: node10`, so that program is 5.x only.
 */
const TS7_PROGRAMS = (Object.keys(PROGRAMS) as Program[]).filter((program) => program !== 'node10');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never rejects, so a failure is reported by the test that reads it. */
function run(file: string, args: string[], options: ExecFileOptions): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { ...options, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (error && code === null ? String(error) : '') });
    });
  });
}

async function runOrThrow(file: string, args: string[], options: ExecFileOptions): Promise<Run> {
  const result = await run(file, args, options);
  if (result.code !== 0) {
    throw new Error(`${file} ${args.join(' ')} exited with ${result.code}\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

/** Names a module's `export { a, type B, c as d }` statements make public, from a .d.ts. */
function declaredExports(dts: string): { values: string[]; types: string[] } {
  const values: string[] = [];
  const types: string[] = [];
  for (const [, list] of dts.matchAll(/^export\s*\{([^}]*)\}\s*;?\s*$/gm)) {
    for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
      const isType = raw.startsWith('type ');
      const name = raw.replace(/^type\s+/, '').split(/\s+as\s+/).pop()!.trim();
      (isType ? types : values).push(name);
    }
  }
  return { values: values.sort(), types: types.sort() };
}

/** Names a fixture imports from the package (the original names, before any `as`). */
function importedNames(source: string): string[] {
  const names = new Set<string>();
  for (const [, list] of source.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*['"]express-multiauth['"]/g)) {
    for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
      names.add(raw.replace(/^type\s+/, '').split(/\s+as\s+/)[0].trim());
    }
  }
  return [...names].sort();
}

/** Every file path package.json points consumers at (main, module, types, exports map). */
function entryPoints(manifest: Record<string, unknown>): string[] {
  const found = new Set<string>();
  const walk = (value: unknown): void => {
    if (typeof value === 'string') {
      if (value.startsWith('./') && !value.includes('*')) found.add(value.slice(2));
    } else if (value && typeof value === 'object') {
      for (const inner of Object.values(value)) walk(inner);
    }
  };
  for (const field of ['main', 'module', 'types', 'typings']) {
    const value = manifest[field];
    if (typeof value === 'string') found.add(value.replace(/^\.\//, ''));
  }
  walk(manifest.exports);
  return [...found].sort();
}

interface RuntimeReport {
  resolved: string;
  requireModule?: boolean;
  exports: string[];
  noToken: { status: number; challenge: string | null };
  apiKey: { status: number; body?: { source: string; clientId: string } };
  jwt: { status: number; body?: { source: string; clientId: string } };
  unknown: { status: number; challenge: string | null };
}

function parseReport(result: Run): RuntimeReport {
  if (result.code !== 0) throw new Error(`consumer exited with ${result.code}\n${result.stdout}\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as RuntimeReport;
}

/**
 * Copies the files git sees (tracked, and untracked but not ignored: work in progress counts)
 * to `target`; without git, everything but node_modules/, .git/ and the build outputs.
 */
function copyWorkingTree(target: string): void {
  let files: string[] | undefined;
  try {
    files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((file) => file && existsSync(join(ROOT, file)));
  } catch {
    files = undefined;
  }
  if (files) {
    for (const file of files) {
      mkdirSync(dirname(join(target, file)), { recursive: true });
      copyFileSync(join(ROOT, file), join(target, file));
    }
    return;
  }
  cpSync(ROOT, target, {
    recursive: true,
    filter: (source) => {
      const parts = relative(ROOT, source).split(sep);
      if (parts.includes('node_modules') || parts.includes('.git')) return false;
      return !(parts.length === 1 && ['dist', 'docs', 'coverage'].includes(parts[0]));
    },
  });
}

const work = mkdtempSync(join(tmpdir(), 'multiauth-packaging-'));
const stage = join(work, 'package');
const consumer = join(work, 'consumer');

let packedFiles: string[] = [];
let tarEntries: string[] = [];
let manifest: Record<string, unknown> = {};
let dts = '';
let installedDist = '';
const pending: Promise<unknown>[] = [];
let esm: Promise<Run>;
let cjs: Promise<Run>;
const checks = {} as Record<Program, Promise<Run>>;
const ts7Checks = {} as Record<Program, Promise<Run>>;
let ts7Version: Promise<string>;
let attw: Promise<Run>;
let publint: Promise<Run>;

function track<T>(promise: Promise<T>): Promise<T> {
  pending.push(promise);
  return promise;
}

beforeAll(async () => {
  // 1. A copy of the working tree as a fresh checkout has it: no dist/, no ignored output.
  copyWorkingTree(stage);
  symlinkSync(join(ROOT, 'node_modules'), join(stage, 'node_modules'), 'dir');

  // 2. npm pack: `prepack` builds dist/. Script output precedes the JSON on stdout.
  const pack = await runOrThrow('npm', ['pack', '--json', '--pack-destination', work], { cwd: stage });
  const json = pack.stdout.slice(pack.stdout.lastIndexOf('\n[') + 1);
  const [packed] = JSON.parse(json) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packedFiles = packed.files.map((f) => f.path).sort();
  const tarball = join(work, packed.filename);
  // The packaging linters, on the tarball exactly as it would be published.
  attw = track(run(join(ROOT, 'node_modules', '.bin', 'attw'), [tarball, '--format', 'ascii', '--no-color', '--no-emoji'], { cwd: work }));
  publint = track(run(join(ROOT, 'node_modules', '.bin', 'publint'), ['run', tarball, '--strict'], { cwd: work }));
  tarEntries = (await runOrThrow('tar', ['-tzf', tarball], { cwd: work })).stdout
    .split('\n')
    .filter((line) => line && !line.endsWith('/'))
    .map((line) => line.replace(/^package\//, ''))
    .sort();

  // 3. A fresh project that installs the tarball: dependencies from the npm cache.
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'multiauth-consumer', version: '0.0.0', private: true }));
  const install = ['install', '--no-audit', '--no-fund', '--no-package-lock', '--legacy-peer-deps', '--ignore-scripts', tarball];
  const offline = await run('npm', ['--offline', ...install], { cwd: consumer });
  if (offline.code !== 0) await runOrThrow('npm', ['--prefer-offline', ...install], { cwd: consumer });
  for (const peer of LINKED_PEERS) {
    mkdirSync(dirname(join(consumer, 'node_modules', peer)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', peer), join(consumer, 'node_modules', peer), 'dir');
  }
  installedDist = join(consumer, 'node_modules', PACKAGE, 'dist');
  manifest = JSON.parse(readFileSync(join(consumer, 'node_modules', PACKAGE, 'package.json'), 'utf8')) as Record<string, unknown>;
  dts = readFileSync(join(installedDist, 'index.d.ts'), 'utf8');

  // 4. The consumers, started together and awaited by the tests that read them.
  cpSync(FIXTURES, consumer, { recursive: true });
  copyFileSync(join(consumer, 'all-exports.ts'), join(consumer, 'all-exports.mts'));
  copyFileSync(join(consumer, 'all-exports.ts'), join(consumer, 'all-exports.cts'));
  copyFileSync(join(consumer, 'mcp-sdk-v2.ts'), join(consumer, 'mcp-sdk-v2.mts'));
  copyFileSync(join(consumer, 'mcp-sdk-v2.ts'), join(consumer, 'mcp-sdk-v2.cts'));
  esm = track(run(process.execPath, [join(consumer, 'runtime', 'esm.mjs')], { cwd: consumer }));
  cjs = track(run(process.execPath, [join(consumer, 'runtime', 'cjs.cjs')], { cwd: consumer }));
  const tsc = join(consumer, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const program of Object.keys(PROGRAMS) as Program[]) {
    checks[program] = track(run(process.execPath, [tsc, '-p', `tsconfig.${program}.json`, '--pretty', 'false'], { cwd: consumer }));
  }

  // 5. TypeScript 7 in a project of its own, run on the consumer's programs.
  const ts7 = join(work, 'ts7');
  mkdirSync(ts7);
  writeFileSync(join(ts7, 'package.json'), JSON.stringify({ name: 'typescript-7', version: '0.0.0', private: true }));
  const installTs7 = ['install', '--no-audit', '--no-fund', '--no-package-lock', 'typescript@7'];
  const ts7Installed = run('npm', ['--offline', ...installTs7], { cwd: ts7 }).then(async (offline) => {
    if (offline.code !== 0) await runOrThrow('npm', ['--prefer-offline', ...installTs7], { cwd: ts7 });
  });
  const tsc7 = join(ts7, 'node_modules', 'typescript', 'bin', 'tsc');
  ts7Version = track(ts7Installed.then(async () => (await runOrThrow(process.execPath, [tsc7, '--version'], { cwd: consumer })).stdout.trim()));
  for (const program of TS7_PROGRAMS) {
    ts7Checks[program] = track(ts7Installed.then(() => run(process.execPath, [tsc7, '-p', `tsconfig.${program}.json`, '--pretty', 'false'], { cwd: consumer })));
  }
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(pending);
  rmSync(work, { recursive: true, force: true });
  // When a filter (-t) skips the type checks, this waits for the compilations they started.
}, 240_000);

describe('the tarball', () => {
  it('holds the four build outputs, LICENSE and package.json, and nothing else besides the documents', () => {
    const others = packedFiles.filter((file) => !DOCUMENTS.includes(file));
    expect(others).toEqual(['LICENSE', 'dist/index.cjs', 'dist/index.d.mts', 'dist/index.d.ts', 'dist/index.mjs', 'package.json']);
  });

  it('ships README.md, CHANGELOG.md, SECURITY.md, BENCHMARKS.md and every guide in docs/', () => {
    expect(GUIDES.length).toBeGreaterThan(5);
    expect(packedFiles).toEqual(expect.arrayContaining(DOCUMENTS));
  });

  it('ships every file (and heading) a relative link in a shipped document points at, so no link is dead in node_modules', () => {
    const installed = join(consumer, 'node_modules', PACKAGE);
    const shipped = packedFiles.filter((file) => file.endsWith('.md'));
    const links = shipped.flatMap((document) =>
      relativeLinks(readFileSync(join(installed, document), 'utf8')).map((link) => ({ document, ...link })),
    );
    expect(links.filter((link) => link.document === 'README.md').length).toBeGreaterThan(5);
    const dead = links.filter(({ document, target }) => {
      const [path, anchor] = target.split('#');
      const file = path === '' ? document : posix.normalize(posix.join(posix.dirname(document), path));
      if (!packedFiles.includes(file)) return true;
      return anchor !== undefined && !anchorsOf(readFileSync(join(installed, file), 'utf8')).has(anchor);
    });
    expect(dead.map(({ document, line, target }) => `${document}:${line}: ${target}`)).toEqual([]);
  });

  it('has a README of at most 15 kB, read in a few minutes on the npm page; the rest is in docs/', () => {
    expect(statSync(join(consumer, 'node_modules', PACKAGE, 'README.md')).size).toBeLessThanOrEqual(15_000);
  });

  it('is what npm pack reported', () => {
    expect(tarEntries).toEqual(packedFiles);
  });

  it('holds every file package.json points at', () => {
    const entries = entryPoints(manifest);
    expect(entries).toEqual(expect.arrayContaining(['dist/index.cjs', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts']));
    expect(entries.filter((entry) => !packedFiles.includes(entry))).toEqual([]);
  });

  it('has no source map comment pointing at a file it lacks', () => {
    const dangling = readdirSync(installedDist).flatMap((file) => {
      const text = readFileSync(join(installedDist, file), 'utf8');
      return [...text.matchAll(/[#@] sourceMappingURL=(\S+)/g)]
        .map(([, target]) => `dist/${target}`)
        .filter((target) => !packedFiles.includes(target))
        .map((target) => `${file} -> ${target}`);
    });
    expect(dangling).toEqual([]);
  });
});

describe('the packaging linters, on the tarball', () => {
  it('@arethetypeswrong/cli finds no problem in any resolution mode (node10, node16 CJS and ESM, bundler)', async () => {
    const result = await attw;
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toContain('No problems found');
  }, 90_000);

  it('publint --strict reports nothing', async () => {
    const result = await publint;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('All good!');
  }, 90_000);
});

describe('peer dependencies', () => {
  it('declares the MCP SDK v1 and v2 as optional peers, so none, either or both may be installed', () => {
    expect(manifest.peerDependencies).toMatchObject({
      '@modelcontextprotocol/sdk': '^1.12',
      '@modelcontextprotocol/server': '^2',
      '@modelcontextprotocol/express': '^2',
    });
    expect(manifest.peerDependenciesMeta).toEqual({
      '@modelcontextprotocol/sdk': { optional: true },
      '@modelcontextprotocol/server': { optional: true },
      '@modelcontextprotocol/express': { optional: true },
    });
  });
});

describe('loaded by Node from the installed tarball', () => {
  it('needs no MCP SDK at run time: the build imports no @modelcontextprotocol package', () => {
    const imports = readdirSync(installedDist).flatMap((file) =>
      [...readFileSync(join(installedDist, file), 'utf8').matchAll(/(?:from|require\(|import\()\s*['"](@modelcontextprotocol\/[^'"]*)['"]/g)].map((m) => `${file}: ${m[1]}`),
    );
    expect(imports).toEqual([]);
  });


  it('import() resolves to the ESM build and gives every value the declarations export', async () => {
    const report = parseReport(await esm);
    expect(report.resolved).toMatch(/\/node_modules\/express-multiauth\/dist\/index\.mjs$/);
    expect(report.exports).toEqual(declaredExports(dts).values);
  }, 90_000);

  it('require() resolves to the CommonJS build and gives the same exports (jose 6 loaded through require(esm))', async () => {
    // Node < 20.19 (and 22.0-22.11) has no require(esm): there the CJS build's require('jose')
    // throws ERR_REQUIRE_ESM, and this test shows it.
    const report = parseReport(await cjs);
    expect(report.requireModule).toBe(true);
    expect(report.resolved).toMatch(/\/node_modules\/express-multiauth\/dist\/index\.cjs$/);
    expect(report.exports).toEqual(declaredExports(dts).values);
  }, 90_000);

  it.each([
    ['ESM', () => esm],
    ['CommonJS', () => cjs],
  ])('as %s, answers HTTP requests through a real Express app, with API-key and JWT sources', async (_format, result) => {
    const report = parseReport(await result());
    expect(report.noToken.status).toBe(401);
    expect(report.noToken.challenge).toMatch(/^Bearer /);
    expect(report.noToken.challenge).not.toContain('error=');
    expect(report.apiKey).toMatchObject({ status: 200, body: { source: 'ci', clientId: 'ci' } });
    expect(report.jwt).toMatchObject({ status: 200, body: { source: 'internal', clientId: 'svc' } });
    expect(report.unknown.status).toBe(401);
    expect(report.unknown.challenge).toContain('error="invalid_token"');
  }, 90_000);

  it.each([
    ['ESM', () => esm],
    ['CommonJS', () => cjs],
  ])('as %s, prints no warning', async (_format, result) => {
    expect((await result()).stderr).toBe('');
  }, 90_000);
});

describe('type-checked by strict consumers (strict, skipLibCheck: false)', () => {
  it('the all-exports consumer imports every name the package exports, types included', async () => {
    const imported = importedNames(readFileSync(join(FIXTURES, 'all-exports.ts'), 'utf8'));
    const { values, types } = declaredExports(dts);
    const runtime = parseReport(await cjs).exports;
    const missing = [...new Set([...values, ...types, ...runtime])].filter((name) => !imported.includes(name)).sort();
    expect(missing).toEqual([]);
  }, 90_000);

  it.each(Object.entries(PROGRAMS) as Array<[Program, string]>)('%s: %s', async (program) => {
    const result = await checks[program];
    expect({ code: result.code, diagnostics: `${result.stdout}${result.stderr}`.trim() }).toEqual({ code: 0, diagnostics: '' });
    // The strict compilations run at once; on a loaded 2-core machine one takes a minute or more.
  }, 240_000);
});

describe('type-checked by TypeScript 7 (strict, skipLibCheck: false)', () => {
  it('is TypeScript 7', async () => {
    expect(await ts7Version).toMatch(/^Version 7\./);
  }, 120_000);

  it.each(TS7_PROGRAMS.map((program) => [program, PROGRAMS[program]] as const))('%s: %s', async (program) => {
    const result = await ts7Checks[program];
    expect({ code: result.code, diagnostics: `${result.stdout}${result.stderr}`.trim() }).toEqual({ code: 0, diagnostics: '' });
  }, 240_000);
});
