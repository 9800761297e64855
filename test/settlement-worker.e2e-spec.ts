import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { GENESIS_HASH, chainEvents } from '@ledger/integrity';
import { appendSyntheticHistory } from '@ledger/projections/testing/synthetic-history';
import {
  SettlementStatement,
  calculateCloseStatement,
  calculatePeriodStatement,
  calculatePeriodStatementInWorker,
  decideSettlement,
  initialSettlement,
  statementJson,
  verifyStatement,
} from '@ledger/settlement';
import { TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

const COALITION = { currency: 'RUB', pointValueMinor: 10 };
const SYSTEM = { correlationId: 'worker-spec', causationId: null, actor: { keyId: 'system', role: 'finance' } };

/** Files a close as the handler would (cut-off and statement in settlement-{period}), so later statements see it. */
async function fileClose(store: SqliteEventStore, statement: SettlementStatement, now: Date): Promise<void> {
  const events = decideSettlement(
    { type: 'ClosePeriod', data: { periodId: statement.periodId, cutoffPosition: statement.cutoffPosition, statement } },
    initialSettlement(),
    now,
  );
  const toAppend = chainEvents(events, { ...SYSTEM, occurredAt: now.toISOString() }, GENESIS_HASH);
  await store.appendToStream(`settlement-${statement.periodId}`, toAppend, { expectedRevision: 'no_stream' });
}

/**
 * The statement a close files is calculated in a worker thread for a SQLite store, from its
 * own connection. It must be the very statement the request thread calculates from the same
 * store at the same cut-off: the same bytes, the same sha256, the same Merkle root.
 */
describe('the period statement calculated in a worker thread', () => {
  let dir: string;
  let store: SqliteEventStore;
  let offThread: SqliteEventStore;

  beforeAll(async () => {
    dir = tempDir('ledger-statement-worker-');
    store = SqliteEventStore.open(join(dir, 'ledger.db'));
    offThread = SqliteEventStore.open(join(dir, 'ledger.db'), { writer: 'worker' });
    // Four months of history with refunds, cancelled redemptions and expiries, across 5 partners.
    await appendSyntheticHistory(store, {
      events: 6_000,
      members: 150,
      partners: 5,
      seed: 7,
      endAt: '2026-10-28T12:00:00.000Z',
      months: 4,
    });
  });
  afterAll(async () => {
    await offThread.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives byte for byte the statement of the request thread, for a first close and for one after earlier closes', async () => {
    const now = new Date('2026-11-20T00:00:00.000Z');
    const compared: string[] = [];
    for (const periodId of ['2026-08', '2026-09', '2026-10']) {
      const [head] = await store.readAll({ direction: 'backwards', maxCount: 1 });
      const progress: number[] = [];
      const inline = await calculatePeriodStatement(store, periodId, head.position, COALITION);
      const inWorker = await calculatePeriodStatementInWorker(store.file, periodId, head.position, COALITION, (p) => progress.push(p));
      expect(statementJson(inWorker)).toBe(statementJson(inline));
      // What the close appends is JSON.stringify of the object: its key order must survive the thread boundary too.
      expect(JSON.stringify(inWorker)).toBe(JSON.stringify(inline));
      expect(inWorker.sha256).toBe(inline.sha256);
      expect(inWorker.eventsMerkleRoot).toBe(inline.eventsMerkleRoot);
      expect(verifyStatement(inWorker)).toBe(true);
      expect(inWorker.eventCount).toBeGreaterThan(0);
      // The worker reports the positions it has read, in order, for a progress bar.
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      // The store's own choice (calculateCloseStatement): the worker for a file written from a worker thread, the same statement again.
      expect((await calculateCloseStatement(offThread, periodId, head.position, COALITION)).sha256).toBe(inline.sha256);
      compared.push(inline.sha256);
      await fileClose(store, inline, now);
    }
    // Three periods, three different statements (the comparison was not of empty ones).
    expect(new Set(compared).size).toBe(3);
  });

  it('a cut-off below the head leaves the later events out, in the worker as on the request thread', async () => {
    const [head] = await store.readAll({ direction: 'backwards', maxCount: 1 });
    const cutoff = Math.floor(head.position / 2);
    const inline = await calculatePeriodStatement(store, '2026-07', cutoff, COALITION);
    const inWorker = await calculatePeriodStatementInWorker(store.file, '2026-07', cutoff, COALITION);
    expect(statementJson(inWorker)).toBe(statementJson(inline));
    expect(inWorker.cutoffPosition).toBe(cutoff);
  });

  it('a failure in the worker rejects the close with its message', async () => {
    await expect(
      calculatePeriodStatementInWorker(join(dir, 'missing', 'nothing-here.db'), '2026-10', 10, { currency: 'RUB', pointValueMinor: 0 }),
    ).rejects.toThrow(/point value|positive/);
  });
});

describe('a close over HTTP on a SQLite store written from a worker thread (as `ledger serve` opens it)', () => {
  let t: TestApp;
  let dir: string;
  beforeEach(async () => {
    dir = tempDir('ledger-close-worker-');
    t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db'), { writer: 'worker' }), { dataDir: dir });
  });
  afterEach(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('files the statement the request thread calculates from the same store and cut-off', async () => {
    const { partners } = await seedCoalition(t, ['grocer', 'cafe']);
    const finance = await t.http().post('/v1/keys').set(t.admin).send({ role: 'finance' }).expect(201);
    await t
      .http()
      .post('/v1/members')
      .set(partners.grocer)
      .send({ memberId: 'm-1', cardNumber: cardNumber(1) })
      .expect(201);
    await t
      .http()
      .post('/v1/accruals')
      .set(partners.grocer)
      .send({ externalId: 'g1', memberId: 'm-1', amountMinor: 1_000_000, currency: 'RUB', occurredAt: '2026-10-05T10:00:00Z' })
      .expect(201);
    await t
      .http()
      .post('/v1/redemptions')
      .set(partners.cafe)
      .send({ externalId: 'c1', memberId: 'm-1', points: 40, occurredAt: '2026-10-20T10:00:00Z' })
      .expect(201);
    const closed = await t
      .http()
      .post('/v1/settlements')
      .set({ Authorization: `Bearer ${finance.body.key}` })
      .send({ periodId: '2026-10' })
      .expect(201);
    const [issued] = (await t.store.readStream('settlement-2026-10')).filter((e) => e.type === 'SettlementStatementIssued');
    const filed = (issued.data as { statement: SettlementStatement }).statement;
    const inline = await calculatePeriodStatement(t.store, '2026-10', filed.cutoffPosition, COALITION);
    expect(JSON.stringify(filed)).toBe(JSON.stringify(inline));
    expect(closed.body.sha256).toBe(inline.sha256);
    expect(inline.matrix).toEqual([expect.objectContaining({ issuerPartnerId: 'grocer', redeemerPartnerId: 'cafe', points: 40 })]);
  });
});
