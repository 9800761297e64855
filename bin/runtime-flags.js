'use strict';
/**
 * The Node flags the ledger's commands run with: the `ledger` command's shebang, `npm start` and
 * the image's ENTRYPOINT carry them, and test/runtime-flags.spec.ts keeps the three in step.
 *
 * `--max-semi-space-size=64`: each accrual over HTTP leaves tens of kilobytes of short-lived
 * objects. With V8's default young generation the request thread scavenged about 150 times per
 * 20,000 accruals on 100 hot members; with 64 MiB semi-spaces, 40 times, and its GC time per
 * accrual fell by about 40%. The cost is memory: up to about 60 MiB more peak RSS under load.
 * `node bin/ledger.js …` without the flag runs the same, with more time in GC.
 */
const LEDGER_NODE_FLAGS = ['--max-semi-space-size=64'];

module.exports = { LEDGER_NODE_FLAGS };
