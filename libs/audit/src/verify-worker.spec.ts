import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { checkLogInWorker, logCheckableInWorker } from './verify-worker';
import { verifyLedger } from './verify';
import { writeAuditDataDir } from './testing/audit-fixture';

/**
 * verify checks the hash chains of a SQLite file, and recomputes its closed statements, in a
 * worker thread. Its report must be the one the inline checks give: same divergences, same
 * order, same counts, same cap, same statements.
 */
describe("verify's log check in a worker thread", () => {
  let pristine: string;
  let dir: string;
  beforeAll(async () => {
    pristine = mkdtempSync(join(tmpdir(), 'verify-worker-'));
    await writeAuditDataDir(pristine);
  });
  afterAll(() => rmSync(pristine, { recursive: true, force: true }));
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'verify-worker-copy-'));
    cpSync(pristine, dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const edit = (sql: string) => {
    const db = new Database(join(dir, 'ledger.db'));
    db.prepare(sql).run();
    db.close();
  };

  const verifyWith = async (writer: 'inline' | 'worker', maxDivergences?: number) => {
    const store = SqliteEventStore.open(join(dir, 'ledger.db'), { writer });
    try {
      expect(logCheckableInWorker(store)).toBe(writer === 'worker');
      return await verifyLedger(store, { maxDivergences });
    } finally {
      await store.close();
    }
  };

  it('reports what the inline check reports, capped the same way', async () => {
    // Member events edited: a hash mismatch each, in log order.
    edit("UPDATE events SET data = json_set(data, '$.externalId', 'edited') WHERE stream_id LIKE 'member-%' AND revision > 0");
    for (const max of [undefined, 2]) {
      const inline = await verifyWith('inline', max);
      const worker = await verifyWith('worker', max);
      const chainOf = (r: typeof inline) => r.checks.find((c) => c.name === 'hash_chain');
      expect(chainOf(inline)?.divergences).toBeGreaterThan(2);
      expect(chainOf(worker)).toEqual(chainOf(inline));
      expect(worker.divergences).toEqual(inline.divergences);
      expect(worker.divergenceCount).toBe(inline.divergenceCount);
      expect(worker.firstDivergence).toMatchObject({ kind: 'hash_mismatch', check: 'hash_chain' });
      expect([worker.events, worker.streams]).toEqual([inline.events, inline.streams]);
      // October's statement and root, recomputed on either thread from the edited log: the same sha256, root and leaves.
      expect(worker.periods).toEqual(inline.periods);
      expect(worker.periods[0]).toMatchObject({
        periodId: '2026-10',
        recomputedSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        recomputedMerkleRoot: expect.stringMatching(/^[0-9a-f]{64}$/),
        leafCount: expect.any(Number),
      });
      expect(worker.periods[0].leafCount).toBeGreaterThan(0);
      expect(worker.checks).toEqual(inline.checks);
    }
  });

  it('a statement the worker cannot recompute: the roots come from the log after all, as inline', async () => {
    // A money event in another currency: the statement's calculation refuses it.
    edit(
      "UPDATE events SET data = json_set(data, '$.currency', 'USD') WHERE position = (SELECT min(position) FROM events WHERE type = 'PointsAccrued')",
    );
    const inline = await verifyWith('inline');
    const worker = await verifyWith('worker');
    expect(worker.divergences.find((d) => d.check === 'statements')).toMatchObject({
      message: expect.stringContaining('cannot be recomputed from the log'),
    });
    expect(worker.periods).toEqual(inline.periods);
    expect(worker.periods[0]).toMatchObject({ recomputedSha256: null, recomputedMerkleRoot: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(worker.checks).toEqual(inline.checks);
    expect(worker.divergences).toEqual(inline.divergences);
  });

  it('a store it cannot read fails the check with the reason, and a stopped worker answers nothing', async () => {
    writeFileSync(join(dir, 'not-a-database'), 'plain text, not SQLite');
    const unreadable = checkLogInWorker(join(dir, 'not-a-database'), 10, 5);
    await expect(unreadable.outcome).rejects.toThrow(/the log check failed: .*not a database/);
    const stopped = checkLogInWorker(join(dir, 'ledger.db'), 10, 5);
    await stopped.stop();
    await expect(stopped.outcome).rejects.toThrow(/exited/);
  });
});
