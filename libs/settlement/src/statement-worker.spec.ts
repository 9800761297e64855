import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { appendSyntheticHistory } from '@ledger/projections/testing/synthetic-history';
import { calculatePeriodStatement } from './period-statement';
import { statementJson } from './statement';
import { calculatePeriodStatementInWorker } from './statement-worker';

const COALITION = { currency: 'RUB', pointValueMinor: 10 };

describe('a close calculated in worker threads', () => {
  let dir: string;
  let file: string;
  let head: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-statement-worker-'));
    file = join(dir, 'ledger.db');
    const store = SqliteEventStore.open(file);
    await appendSyntheticHistory(store, {
      events: 3_000,
      members: 120,
      partners: 4,
      seed: 7,
      months: 3,
      endAt: '2026-11-20T12:00:00.000Z',
    });
    const [last] = await store.readAll({ direction: 'backwards', maxCount: 1 });
    head = last.position;
    await store.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives, read in two parts on two threads, the statement one thread gives, byte for byte, and progress up to the cut-off', async () => {
    const store = SqliteEventStore.open(file);
    const inline = await calculatePeriodStatement(store, '2026-10', head, COALITION);
    await store.close();
    expect(inline.eventCount).toBeGreaterThan(500);

    const seen: number[] = [];
    const split = await calculatePeriodStatementInWorker(file, '2026-10', head, COALITION, (p) => seen.push(p), { splitMinPositions: 1 });
    const whole = await calculatePeriodStatementInWorker(file, '2026-10', head, COALITION, undefined, { splitMinPositions: head + 1 });
    expect(statementJson(split)).toBe(statementJson(inline));
    expect(split.sha256).toBe(inline.sha256);
    expect(statementJson(whole)).toBe(statementJson(inline));
    // Positions read in both parts, never beyond the cut-off, never going back.
    expect(seen.every((p, i) => p <= head && (i === 0 || p >= seen[i - 1]))).toBe(true);
  });

  it('with a cut-off inside the log, split in two, gives the same bytes', async () => {
    const store = SqliteEventStore.open(file);
    const cutoff = Math.floor(head * 0.7);
    const inline = await calculatePeriodStatement(store, '2026-10', cutoff, COALITION);
    await store.close();
    const split = await calculatePeriodStatementInWorker(file, '2026-10', cutoff, COALITION, undefined, { splitMinPositions: 1 });
    expect(statementJson(split)).toBe(statementJson(inline));
  });
});
