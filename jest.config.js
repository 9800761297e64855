/** @type {import('jest').Config} */
const aliases = {};
for (const lib of ['domain', 'integrity', 'event-store', 'application', 'projections', 'settlement', 'audit', 'testing']) {
  aliases[`^@ledger/${lib}$`] = `<rootDir>/libs/${lib}/src`;
  aliases[`^@ledger/${lib}/(.*)$`] = `<rootDir>/libs/${lib}/src/$1`;
}
aliases['^@ledger/api$'] = '<rootDir>/apps/api/src';
aliases['^@ledger/api/(.*)$'] = '<rootDir>/apps/api/src/$1';

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  // The web console's sources are browser code, built by Vite; its tests drive a real browser (test/console-browser).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/apps/console/'],
  // Type checking is done once by `npm run build` (tsc); tests only transpile.
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
    // ESM-only dependencies (of @fastify/static): compiled to CommonJS for jest, as Node 20 loads them natively.
    '^.+/node_modules/(content-disposition)/.+\\.js$': ['ts-jest', { diagnostics: false, tsconfig: { allowJs: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition)/)'],
  moduleNameMapper: aliases,
  setupFiles: ['reflect-metadata'],
  globalSetup: '<rootDir>/test/support/postgres-global-setup.js',
  testTimeout: 60000,
  // One worker per core, not jest's default of one fewer: the suites spend much of their time
  // waiting on fsyncs, child processes and sockets, so on a 2-core machine two workers took the
  // run from about 630 s to 410 s, every test passing.
  maxWorkers: '100%',
};
