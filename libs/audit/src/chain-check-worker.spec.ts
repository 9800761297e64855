import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { chainsCheckableInWorker, checkChainsInWorker } from './chain-check-worker';
import { verifyLedger } from './verify';
import { writeAuditDataDir } from './testing/audit-fixture';

/**
 * verify checks the hash chains of a SQLite file in a worker thread. Its report must be the
 * one the inline check gives: same divergences, same order, same counts, same cap.
 */
describe('the chain check in a worker thread', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chain-worker-'));
    await writeAuditDataDir(dir);
    // Three member events edited: three hash mismatches, in log order.
    const db = new Database(join(dir, 'ledger.db'));
    db.prepare("UPDATE events SET data = json_set(data, '$.externalId', 'edited') WHERE stream_id LIKE 'member-%' AND revision > 0").run();
    db.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const verifyWith = async (writer: 'inline' | 'worker', maxDivergences?: number) => {
    const store = SqliteEventStore.open(join(dir, 'ledger.db'), { writer });
    try {
      expect(chainsCheckableInWorker(store)).toBe(writer === 'worker');
      return await verifyLedger(store, { statements: false, maxDivergences });
    } finally {
      await store.close();
    }
  };

  it('reports what the inline check reports, capped the same way', async () => {
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
    }
  });

  it('a store it cannot read fails the check with the reason, and a stopped worker answers nothing', async () => {
    writeFileSync(join(dir, 'not-a-database'), 'plain text, not SQLite');
    const unreadable = checkChainsInWorker(join(dir, 'not-a-database'), 10, 5);
    await expect(unreadable.outcome).rejects.toThrow(/the chain check failed: .*not a database/);
    const stopped = checkChainsInWorker(join(dir, 'ledger.db'), 10, 5);
    await stopped.stop();
    await expect(stopped.outcome).rejects.toThrow(/exited/);
  });
});
