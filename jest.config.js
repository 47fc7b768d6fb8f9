// Two projects: every test on Express 5 (the dev dependency), and the HTTP tests again on
// Express 4 (the `express4` alias), because the package promises both.
const { readdirSync, readFileSync } = require('node:fs');
const { basename, join } = require('node:path');

const testsDir = join(__dirname, '__tests__');

/** Settings both projects share (Jest does not pass root settings down to projects). */
const base = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  // Transpile only; `npm run typecheck` (in .ci/run) type-checks tests, lib and examples as one
  // program. ts-jest's own type-checker keeps every file it has compiled in a single growing
  // program, so what a file may use depended on which test files ran before it in the same
  // worker: once middleware-verifier.test.ts had loaded express-oauth2-jwt-bearer's global
  // `req.auth` declaration, examples/mcp-app.ts and mcp-policy.test.ts failed to compile, or
  // not, depending on the order Jest chose.
  transform: {
    '^.+\\.[tj]sx?$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', esModuleInterop: true, isolatedModules: true } }],
  },
  // jose 6 ships ESM only: let ts-jest turn it into CommonJS for Jest.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
};

// Tests that exercise no Express app, or whose subject is not this package's HTTP behaviour:
// running them twice would only cost time.
const notForExpress4 = new Set([
  'packaging.test.ts', // packs and installs the built package; Express version is the consumer's
  'issuer-harness.test.ts', // the oidc-provider harness itself (Koa, not Express)
  'docs.test.ts', // type-checks README and docs/ code and links; Express appears only in the text it compiles
]);

/**
 * The HTTP tests: those that load Express or supertest, directly or through the shared app
 * or mTLS helpers, or the examples. Chosen by content so that a new HTTP test runs on Express 4 without
 * anyone remembering to list it here.
 */
const usesExpress = /from ['"](?:express|supertest)['"]|require\(['"](?:express|supertest)['"]\)|\/support\/(?:app|mtls)['"]|\.\.\/examples\//;
const express4Tests = readdirSync(testsDir, { recursive: true })
  .filter((path) => path.endsWith('.test.ts') && !notForExpress4.has(basename(path)) && !/bench/i.test(path))
  .filter((path) => usesExpress.test(readFileSync(join(testsDir, path), 'utf8')))
  .map((path) => `**/__tests__/${path}`);

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30000,
  projects: [
    {
      ...base,
      displayName: { name: 'express5', color: 'blue' },
      testMatch: ['**/*.test.ts'],
      globals: { EXPECTED_EXPRESS_MAJOR: 5 },
    },
    {
      ...base,
      displayName: { name: 'express4', color: 'magenta' },
      testMatch: express4Tests,
      globals: { EXPECTED_EXPRESS_MAJOR: 4 },
      // Applies to every module Jest loads, node_modules included: the library, the tests, the
      // examples and the MCP SDK's routers all get Express 4.
      moduleNameMapper: {
        '^express$': '<rootDir>/node_modules/express4',
        '^express/(.*)$': '<rootDir>/node_modules/express4/$1',
      },
    },
  ],
};
