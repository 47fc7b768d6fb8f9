import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm install` on a fresh clone must leave package-lock.json as committed. npm keeps a copy of
 * package.json's own fields in the lockfile's root entry (`packages[""]`) and rewrites it when
 * they differ: once `engines.node` changed in package.json alone, every clone's install showed a
 * modified lockfile (issue 15, point 7). `npm ci` does not catch that (it compares dependencies
 * only), so this test compares every field npm copies.
 */
const ROOT = join(__dirname, '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  name: string;
  version: string;
  lockfileVersion: number;
  packages: Record<string, Record<string, unknown>>;
};

/** The package.json fields npm (v7+, lockfile v2/v3) mirrors into `packages[""]`. */
const MIRRORED = [
  'name',
  'version',
  'license',
  'bin',
  'dependencies',
  'devDependencies',
  'optionalDependencies',
  'peerDependencies',
  'peerDependenciesMeta',
  'engines',
  'os',
  'cpu',
  'workspaces',
  'funding',
] as const;

describe('package-lock.json', () => {
  it('is a lockfile v3 for this package and version', () => {
    expect({ name: lock.name, version: lock.version, lockfileVersion: lock.lockfileVersion }).toEqual({
      name: manifest.name,
      version: manifest.version,
      lockfileVersion: 3,
    });
  });

  it.each(MIRRORED)('says what package.json says about %s, so npm install does not rewrite it', (field) => {
    expect(lock.packages[''][field]).toEqual(manifest[field]);
  });

  it('has a locked version for every dependency package.json names', () => {
    const named = ['dependencies', 'devDependencies', 'optionalDependencies'].flatMap((field) =>
      Object.keys((manifest[field] as Record<string, string> | undefined) ?? {}),
    );
    expect(named.filter((name) => lock.packages[`node_modules/${name}`] === undefined)).toEqual([]);
  });
});
