// Compiles lib/ the way `npm run build` does (tsup, CommonJS, target node20) into
// benchmarks/.build/, so the benchmark measures compiled code without rewriting dist/,
// which other people's tests may be reading while the benchmark runs. The entry re-exports
// the public index plus jwtVerifier, in case lib/index.ts does not export it yet.
// BENCH_LIB=/path/to/a/copy/of/lib compiles that copy instead (to A/B a proposed change).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '.build');

export async function buildLib(libDir = process.env.BENCH_LIB || join(here, '..', 'lib'), name = 'express-multiauth') {
  const lib = resolve(libDir).replace(/\\/g, '/');
  if (!existsSync(join(lib, 'sources', 'jwt-verifier.ts'))) {
    throw new Error(`${lib}/sources/jwt-verifier.ts does not exist (yet): configurations 4 to 7 need jwtVerifier`);
  }
  mkdirSync(outDir, { recursive: true });
  const entry = join(outDir, `${name}.entry.ts`);
  writeFileSync(entry, `export * from '${lib}/index';\nexport { jwtVerifier } from '${lib}/sources/jwt-verifier';\n`);
  await build({
    config: false, // never tsup.config.ts: its `clean` would empty dist/
    entry: { [name]: entry },
    outDir,
    format: ['cjs'],
    target: 'node20',
    platform: 'node',
    dts: false,
    sourcemap: false,
    clean: false,
    // Dependencies stay require()s resolved from node_modules, as they are for users of dist/.
    skipNodeModulesBundle: true,
    silent: true,
    outExtension: () => ({ js: '.cjs' }),
  });
  return { bundle: join(outDir, `${name}.cjs`), lib };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log((await buildLib()).bundle);
}
