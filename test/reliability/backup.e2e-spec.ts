import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'undici';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { tempDir } from '@ledger/testing';
import { ADMIN_KEY, CLI, call, freePort, requireBuilt, seedOverHttp, startService } from './child-service';

const WRITERS = 8;

/** Runs the built CLI with LEDGER_DATA_DIR=dataDir; resolves with its exit code and output. */
function ledger(dataDir: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, LEDGER_DATA_DIR: dataDir, LEDGER_EVENTSTORE: '', LEDGER_ADMIN_KEY: ADMIN_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * `ledger backup` copies the SQLite store while the API serves writes: the copy is a
 * consistent prefix of the log (every event up to its head, byte for byte), and a service
 * restored from it verifies green.
 */
describe('ledger backup (built CLI) under concurrent writes', () => {
  let live: string;
  let restored: string;
  beforeAll(requireBuilt);
  beforeEach(() => {
    live = tempDir('ledger-live-');
    restored = tempDir('ledger-restored-');
  });
  afterEach(() => {
    rmSync(live, { recursive: true, force: true });
    rmSync(restored, { recursive: true, force: true });
  });

  it('copies a consistent prefix of the log while 8 clients post, and the restored store verifies', async () => {
    const service = await startService(live, await freePort());
    const agent = new Agent();
    let writing = true;
    let posted = 0;
    try {
      const keys = await seedOverHttp(service.url, ['shop', 'cafe'], WRITERS);
      const occurredAt = new Date(Date.now() - 60_000).toISOString();
      // Accruals at shop, redemptions at cafe: money flows, so verify has invariants to check.
      const writer = async (w: number) => {
        for (let n = 0; writing && n < 5_000; n++) {
          const res =
            n % 4 === 3
              ? await call(agent, service.url, 'POST', '/v1/redemptions', keys.cafe, {
                  externalId: `r${w}-${n}`,
                  memberId: `m-${w}`,
                  points: 5,
                  occurredAt,
                })
              : await call(agent, service.url, 'POST', '/v1/accruals', keys.shop, {
                  externalId: `a${w}-${n}`,
                  memberId: `m-${w}`,
                  amountMinor: 200_000,
                  currency: 'RUB',
                  occurredAt,
                });
          if (res.status !== 201) throw new Error(`write ${w}/${n}: ${res.status} ${JSON.stringify(res.body)}`);
          posted++;
        }
      };
      const writers = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
      while (posted < 200) await new Promise((r) => setTimeout(r, 20));
      const postedBefore = posted;
      const backupFile = join(restored, 'ledger.db');
      const backup = await ledger(live, ['backup', backupFile]);
      const postedDuring = posted - postedBefore;
      // Writes go on after the backup, so the live log runs ahead of the copy.
      const target = posted + 100;
      while (posted < target) await new Promise((r) => setTimeout(r, 20));
      writing = false;
      await writers;

      expect({ code: backup.code, stderr: backup.stderr }).toMatchObject({ code: 0 });
      expect(backup.stderr).toMatch(/backup .*ledger\.db: \d+ events up to position \d+, [\d.]+ MiB in [\d.]+ s; integrity check ok/);
      expect(postedDuring).toBeGreaterThan(0);

      const copy = SqliteEventStore.open(backupFile);
      const original = SqliteEventStore.open(join(live, 'ledger.db'));
      try {
        const copied = await copy.readAll();
        const head = copied.at(-1)!.position;
        const all = await original.readAll();
        expect(all.length).toBeGreaterThan(copied.length);
        // A prefix: every event up to the copy's head, identical, and nothing else.
        expect(copied).toEqual(all.filter((e) => e.position <= head));
      } finally {
        await copy.close();
        await original.close();
      }
    } finally {
      writing = false;
      await agent.close();
      service.child.kill('SIGTERM');
      await service.exited;
    }

    // Restore: the copy is the new data directory's ledger.db; the read models are rebuilt.
    mkdirSync(restored, { recursive: true });
    const rebuild = await ledger(restored, ['rebuild']);
    expect({ code: rebuild.code, stderr: rebuild.stderr }).toMatchObject({ code: 0 });
    const verify = await ledger(restored, ['verify']);
    expect({ code: verify.code, stdout: verify.stdout, stderr: verify.stderr }).toMatchObject({ code: 0 });

    // A backup never overwrites a file.
    const again = await ledger(live, ['backup', join(restored, 'ledger.db')]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
  }, 120_000);
});
