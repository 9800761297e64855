import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The ledger's Node flags (bin/runtime-flags.js) are given in three places that cannot import
 * them: the `ledger` command's shebang, `npm start` and the image's ENTRYPOINT (checked with the
 * rest of the image in docker-compose.spec.ts). They stay in step here.
 */
const root = join(__dirname, '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain CommonJS beside the CLI's entry, read as the CLI reads it
const { LEDGER_NODE_FLAGS } = require(join(root, 'bin', 'runtime-flags.js')) as { LEDGER_NODE_FLAGS: string[] };
const cli = join(root, 'bin', 'ledger.js');

describe("the ledger's Node flags", () => {
  it('are Node options that Node accepts', () => {
    expect(LEDGER_NODE_FLAGS.length).toBeGreaterThan(0);
    const run = spawnSync(process.execPath, [...LEDGER_NODE_FLAGS, '-e', 'process.stdout.write(JSON.stringify(process.execArgv))'], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    // Node refuses an option it does not know ("bad option") with a non-zero exit.
    expect((JSON.parse(run.stdout) as string[]).slice(0, LEDGER_NODE_FLAGS.length)).toEqual(LEDGER_NODE_FLAGS);
  });

  it('are on the `ledger` command’s shebang, which runs the CLI when the file is executed', () => {
    expect(readFileSync(cli, 'utf8').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${LEDGER_NODE_FLAGS.join(' ')}`);
    // As an npm bin link runs it: the file itself, through env -S.
    const run = spawnSync(cli, ['--help'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH}` },
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('serve');
  });

  it('are on `npm start`', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(`node ${LEDGER_NODE_FLAGS.join(' ')} bin/ledger.js serve`);
  });
});
