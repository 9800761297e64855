#!/usr/bin/env node
'use strict';
// `npm run bench [-- --quick]`: runs the compiled benchmark suite (bench/run.ts).
const fs = require('fs');
const path = require('path');
const { distRoot } = require('./aliases');

const entry = path.join(distRoot, 'bench', 'run.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('bench: not built yet; run `npm run build`\n');
  process.exit(1);
}
require(entry);
