#!/usr/bin/env -S node --max-semi-space-size=64
'use strict';
const fs = require('fs');
const path = require('path');
const { distRoot } = require('./aliases');

const entry = path.join(distRoot, 'apps', 'cli', 'src', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('ledger: not built yet; run `npm run build` (npm install does it for you)\n');
  process.exit(1);
}
require(entry);
