import Database from 'better-sqlite3';
import { MemoryEventStore } from '@ledger/event-store';
import { ReadStore, rebuildReadStore } from '@ledger/projections';
import { appendSyntheticHistory } from '@ledger/projections/testing/synthetic-history';
import { SqliteReadModelCheck } from './read-model-check';
import { verifyLedger } from './verify';

/**
 * The transaction index is compared with the fold in batches of rows fetched together.
 * Edits on both sides of a batch's edge are each found once, in log order, and a row no
 * event explains is still named.
 */
describe('the transaction index against the fold, looked up in batches', () => {
  it('finds every edited or missing row across batch edges, in log order', async () => {
    const store = new MemoryEventStore();
    await appendSyntheticHistory(store, { events: 4_000, members: 40, seed: 5, concurrency: 1_000 });
    const readStore = ReadStore.open(':memory:');
    await rebuildReadStore(store, readStore);
    const db = readStore.db as Database.Database;
    const txs = db.prepare('SELECT tx_id, position FROM transactions ORDER BY position').all() as { tx_id: string; position: number }[];
    expect(txs.length).toBeGreaterThan(1_200);
    // Around the first and second batch edges (500 and 1,000 transactions in), and one in between.
    const edited = [498, 499, 500, 501, 777, 999, 1_000].map((i) => txs[i]);
    for (const t of edited) db.prepare('UPDATE transactions SET points = points + 1 WHERE tx_id = ?').run(t.tx_id);
    db.prepare('DELETE FROM transactions WHERE tx_id = ?').run(txs[1_001].tx_id);
    db.prepare(
      "INSERT INTO transactions (tx_id, member_id, partner_id, kind, points, original_tx_id, occurred_at, position) VALUES ('ghost:1', 'nobody', 'p01', 'accrual', 1, NULL, '2026-10-01T00:00:00.000Z', 1)",
    ).run();

    const report = await verifyLedger(store, {
      readModel: SqliteReadModelCheck.of(readStore, { maxPerTable: 100 }),
      maxDivergences: 100,
    });
    const found = report.divergences.filter((d) => d.check === 'read_model:transactions');
    expect(found.map((d) => d.position)).toEqual([...edited.map((t) => t.position), txs[1_001].position, 1]);
    expect(found.slice(0, edited.length).every((d) => /: points differs$/.test(d.message))).toBe(true);
    expect(found[edited.length].message).toContain('is missing from the transaction index');
    expect(found[edited.length + 1].message).toContain('ghost:1: a row no event explains');
    expect(report.checks.find((c) => c.name === 'read_model')?.divergences).toBe(edited.length + 2);
    readStore.close();
  });
});
