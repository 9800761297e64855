'use strict';
// Maps the TypeScript path aliases (@ledger/<lib>) onto the compiled tree in dist/,
// so the built CLI runs with plain `node` and no extra loader.
const Module = require('module');
const path = require('path');

const distRoot = path.join(__dirname, '..', 'dist');
const targets = {
  api: path.join(distRoot, 'apps', 'api', 'src'),
};
for (const lib of ['domain', 'integrity', 'event-store', 'application', 'projections', 'settlement', 'audit', 'testing']) {
  targets[lib] = path.join(distRoot, 'libs', lib, 'src');
}

const resolve = Module._resolveFilename;
Module._resolveFilename = function resolveLedgerAlias(request, parent, ...rest) {
  if (request.startsWith('@ledger/')) {
    const [, lib, ...sub] = request.split('/');
    const base = targets[lib];
    if (base) request = path.join(base, ...sub);
  }
  return resolve.call(this, request, parent, ...rest);
};
module.exports = { distRoot };
