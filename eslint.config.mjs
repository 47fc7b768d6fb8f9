// `npm run lint`: ESLint's and typescript-eslint's recommended rules, not type-aware (fast,
// no tsconfig needed), over everything in the repo that is source: lib/, __tests__/,
// examples/, benchmarks/, scripts/ and the root config files. No formatting rules.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig([
  globalIgnores(['dist/', 'docs/', 'coverage/', 'benchmarks/.build/', 'benchmarks/.results/', 'benchmarks/.profiles/']),

  {
    files: ['**/*.{ts,mts,cts,js,mjs,cjs}'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: {
      ecmaVersion: 2022,
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Adapters for other packages' middleware and loosely typed test doubles use `any` on
      // purpose; keep each one visible without failing the build.
      '@typescript-eslint/no-explicit-any': 'warn',
      // `_name` marks a parameter or binding kept for its position or for documentation.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },

  // CommonJS files: jest.config.js and .cjs fixtures use require() by nature.
  {
    files: ['**/*.cjs', 'jest.config.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },

  // Tests load some modules lazily with require() (e.g. inside a jest.isolateModules block).
  {
    files: ['__tests__/**/*.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'warn' },
  },
]);
