// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/**
 * The layers (docs/architecture.md): what each library's own code may import from the
 * other libraries. Each may import only libraries listed before it, so no two import each
 * other, directly or through a third. Specs may also use libs/testing, which may use anything.
 */
const MAY_IMPORT = {
  domain: [],
  integrity: [],
  'event-store': ['integrity'],
  settlement: ['domain', 'integrity', 'event-store'],
  application: ['domain', 'integrity', 'event-store', 'settlement'],
  projections: ['domain', 'integrity', 'event-store', 'settlement'],
  audit: ['domain', 'integrity', 'event-store', 'settlement', 'projections'],
};
// Everything a library might reach: the other libraries and the apps.
const ALL = [...Object.keys(MAY_IMPORT), 'testing'];
const SPECS = ['**/*.spec.ts', '**/*.e2e-spec.ts'];

/** One zone per library `lib` may not import, and none for the apps either. */
const zonesFor = (lib, allowed) => [
  ...ALL.filter((other) => other !== lib && !allowed.includes(other)).map((other) => ({
    target: `./libs/${lib}/src`,
    from: `./libs/${other}`,
    message: `${lib} may import ${allowed.length ? allowed.join(', ') : 'no other library'} (the layers in eslint.config.mjs).`,
  })),
  { target: `./libs/${lib}/src`, from: './apps', message: 'a library never imports an app.' },
];

const layerRule = (lib, allowed) => ['error', { zones: zonesFor(lib, allowed) }];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'data/**', 'bench/.data/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      // Unused names are allowed when they say so with a leading underscore (destructuring to drop a field).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      // Event payloads are JSON of many shapes; `any` is allowed where a shape is checked at runtime.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // Follow imports into .ts files, parsed as TypeScript, with tsconfig's @ledger/* paths.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      // A module that imports itself through others is half-initialised while the loop runs.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  ...Object.entries(MAY_IMPORT).map(([lib, allowed]) => ({
    files: [`libs/${lib}/src/**/*.ts`],
    ignores: [...SPECS, ...(lib === 'projections' ? ['libs/projections/src/testing/**'] : [])],
    rules: { 'import-x/no-restricted-paths': layerRule(lib, allowed) },
  })),
  {
    // Projections' test support writes histories through the command side, as a client would.
    files: ['libs/projections/src/testing/**/*.ts'],
    ignores: SPECS,
    rules: { 'import-x/no-restricted-paths': layerRule('projections', [...MAY_IMPORT.projections, 'application']) },
  },
  {
    files: ['apps/**/*.ts'],
    ignores: SPECS,
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: [{ target: './apps', from: './libs/testing', message: 'test support stays out of the apps.' }] }],
    },
  },
);
