#!/usr/bin/env node
'use strict';
// `npm run soak [-- --rounds 100]`: the long crash soak (test/reliability/crash-soak.ts), compiled.
const fs = require('fs');
const path = require('path');
const { distRoot } = require('./aliases');

const entry = path.join(distRoot, 'test', 'reliability', 'soak-main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('soak: not built yet; run `npm run build`\n');
  process.exit(1);
}
require(entry);
