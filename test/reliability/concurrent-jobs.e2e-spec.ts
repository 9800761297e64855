import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

const root = join(__dirname, '..', '..');
const cli = join(root, 'bin', 'ledger.js');

const MEMBERS = 4;
const HOLDS_PER_MEMBER = 5;

/** The built CLI on `dir`'s store; resolves with its exit code and output. */
function ledger(dir: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, LEDGER_DATA_DIR: dir, LEDGER_EVENTSTORE: '', LEDGER_READ_STORE: '' },
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
 * Jobs that two replicas may run at once (issue 15, point 2), as two processes of the built
 * CLI on one SQLite file: each effect is written once, whoever gets there first.
 */
describe('two `ledger lapse-holds` processes at once over the same lapsed holds (built CLI)', () => {
  let dir: string;
  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'apps', 'cli', 'src', 'main.js'))) throw new Error('dist/ is missing: run `npm run build`');
  });
  beforeEach(() => (dir = tempDir('ledger-jobs-')));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('each hold lapses exactly once; the event count grows by the number of holds', async () => {
    const file = join(dir, 'ledger.db');
    const t = await startTestApp(SqliteEventStore.open(file), { dataDir: dir });
    try {
      const { partners } = await seedCoalition(t, ['grocer', 'shop']);
      for (let m = 0; m < MEMBERS; m++) {
        const memberId = `m-${m}`;
        await t
          .http()
          .post('/v1/members')
          .set(partners.grocer)
          .send({ memberId, cardNumber: cardNumber(m + 1) })
          .expect(201);
        await t
          .http()
          .post('/v1/accruals')
          .set(partners.grocer)
          .send({ externalId: `r-${m}`, memberId, amountMinor: 1_500_000, currency: 'RUB', occurredAt: '2026-11-20T10:00:00Z' })
          .expect(201);
        // Placed on the test's fixed clock, days before the real clock the CLI runs on: all due.
        for (let h = 0; h < HOLDS_PER_MEMBER; h++) {
          await t
            .http()
            .post('/v1/holds')
            .set(partners.shop)
            .send({ externalId: `h-${m}-${h}`, memberId, points: 10, ttlSeconds: 60, occurredAt: '2026-11-20T11:00:00Z' })
            .expect(201);
        }
      }
    } finally {
      // Stop the API but keep its data directory.
      await t.app.close();
      await t.store.close();
    }
    const count = async () => {
      const store = SqliteEventStore.open(file);
      try {
        const events = await store.readAll();
        return { events: events.length, lapses: events.filter((e) => e.type === 'HoldReleased' && e.data.reason === 'expired') };
      } finally {
        await store.close();
      }
    };
    const before = await count();
    expect(before.lapses).toHaveLength(0);

    const runs = await Promise.all([ledger(dir, 'lapse-holds'), ledger(dir, 'lapse-holds')]);
    const holds = MEMBERS * HOLDS_PER_MEMBER;
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
    // The first to read the log saw every hold due; the other saw those not yet lapsed when it read.
    const due = runs.map((r) => Number(/\((\d+) due/.exec(r.stdout)?.[1]));
    expect(Math.max(...due)).toBe(holds);
    // Between them they lapsed each hold once; each run counts only the lapses it wrote.
    const lapsedBy = runs.map((r) => Number(/^(\d+) holds lapsed/m.exec(r.stdout)?.[1]));
    expect(lapsedBy[0] + lapsedBy[1]).toBe(holds);
    const after = await count();
    expect(after.lapses).toHaveLength(holds);
    expect(new Set(after.lapses.map((e) => e.data.holdId)).size).toBe(holds);
    expect(after.events).toBe(before.events + holds);
    // A third run finds nothing left, and the log verifies.
    const third = await ledger(dir, 'lapse-holds');
    expect(third.stdout).toContain(`0 holds lapsed (0 due, 0 open)`);
    const verify = await ledger(dir, 'verify');
    expect({ code: verify.code, stderr: verify.code === 0 ? '' : verify.stderr }).toEqual({ code: 0, stderr: '' });
    process.stderr.write(
      `two lapse-holds processes: due ${due.join(' / ')}, lapsed ${lapsedBy.join(' + ')} = ${holds}, ${after.lapses.length} lapse events\n`,
    );
  }, 120_000);
});
