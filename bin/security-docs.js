#!/usr/bin/env node
'use strict';
// `npm run docs:security`: writes the README's role matrix from the test's table (test/security/role-matrix.ts).
const fs = require('fs');
const path = require('path');
const { distRoot } = require('./aliases');

const entry = path.join(distRoot, 'test', 'security', 'security-docs.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('docs:security: not built yet; run `npm run build`\n');
  process.exit(1);
}
require(entry).writeRoleMatrix(path.join(__dirname, '..', 'README.md'));
