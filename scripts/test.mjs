#!/usr/bin/env node
// Runs the whole jest suite (extra arguments are passed on) and ends with the plain
// "N passed, N failed" line CI reads, taken from jest's JSON report rather than its prose.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const jestBin = require.resolve('jest/bin/jest');
const dir = mkdtempSync(join(tmpdir(), 'multiauth-jest-'));
const report = join(dir, 'report.json');

const run = spawnSync(process.execPath, [jestBin, '--json', `--outputFile=${report}`, ...process.argv.slice(2)], {
  stdio: 'inherit',
});

let passed = 0;
let skipped = 0;
let failed; // set below from the report, or to 1 when there is no readable report
try {
  const result = JSON.parse(readFileSync(report, 'utf8'));
  passed = result.numPassedTests;
  skipped = result.numPendingTests + result.numTodoTests;
  // A suite that fails to load runs no test; count it, or a broken file would read as green.
  failed = result.numFailedTests + result.numRuntimeErrorTestSuites;
} catch {
  failed = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const code = run.status ?? 1;
if (code !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(code);
