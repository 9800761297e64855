import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { appendDecided, systemMeta } from '@ledger/application';
import { EsdbEventStore, EventStore } from '@ledger/event-store';
import { CLOSE_SEQUENCE_STREAM, loadCloseSequence } from '@ledger/settlement';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { EsdbWireServer } from '@ledger/testing/esdb-wire-server';
import { TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

const root = join(__dirname, '..', '..');
const cli = join(root, 'bin', 'ledger.js');

/** A coalition with money movements in September and October, and a finance key. */
async function seedTwoMonths(t: TestApp): Promise<{ finance: { Authorization: string } }> {
  const { partners } = await seedCoalition(t, ['grocer', 'cafe']);
  const finance = await t.http().post('/v1/keys').set(t.admin).send({ role: 'finance' }).expect(201);
  await t
    .http()
    .post('/v1/members')
    .set(partners.grocer)
    .send({ memberId: 'm-1', cardNumber: cardNumber(1) })
    .expect(201);
  for (const [i, month] of ['2026-09', '2026-10'].entries()) {
    await t
      .http()
      .post('/v1/accruals')
      .set(partners.grocer)
      .send({ externalId: `g${i}`, memberId: 'm-1', amountMinor: 1_000_000, currency: 'RUB', occurredAt: `${month}-05T10:00:00Z` })
      .expect(201);
    await t
      .http()
      .post('/v1/redemptions')
      .set(partners.cafe)
      .send({ externalId: `c${i}`, memberId: 'm-1', points: 40, occurredAt: `${month}-20T10:00:00Z` })
      .expect(201);
  }
  return { finance: { Authorization: `Bearer ${finance.body.key}` } };
}

/** The grocer's key again, for posting after the seed (seedCoalition issued it). */
async function seedLatePartner(t: TestApp): Promise<{ Authorization: string }> {
  const key = await t.http().post('/v1/partners/grocer/keys').set(t.admin).expect(201);
  return { Authorization: `Bearer ${key.body.key}` };
}

async function settlementEvents(store: EventStore, periodId: string): Promise<string[]> {
  return (await store.readStream(`settlement-${periodId}`)).map((e) => e.type);
}

/**
 * Two API instances on one store close the same period at the same moment: the close's
 * commit point is the append to settlement-{period} with no_stream, so the store decides
 * and exactly one of them files a statement.
 */
async function closeFromTwoInstances(a: TestApp, b: TestApp): Promise<void> {
  const { finance } = await seedTwoMonths(a);
  for (const periodId of ['2026-09', '2026-10']) {
    const answers = await Promise.all([a, b].map((t) => t.http().post('/v1/settlements').set(finance).send({ periodId })));
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
    const loser = answers.find((r) => r.status === 409)!;
    expect(loser.body.code).toBe('period_closed');
    // Both passed the "already closed" check before either filed.
    expect(loser.body.message).toContain('was closed meanwhile');
    expect(await settlementEvents(a.store, periodId)).toEqual(['SettlementPeriodClosed', 'SettlementStatementIssued']);
    const winner = answers.find((r) => r.status === 201)!;
    // Either instance now serves the one statement that was filed.
    for (const t of [a, b]) {
      const filed = await t.http().get(`/v1/settlements/${periodId}`).set(finance).expect(200);
      expect(filed.body.sha256).toBe(winner.body.sha256);
    }
  }
}

/**
 * Two DIFFERENT periods closed at the same moment. A late event (an accrual dated in a period
 * already closed, recorded after its close) is settled by the next close; if two closes each
 * calculated without knowing the other, both would take it. Closes are serialised by the
 * close sequence: one files, the other is refused 409 close_overtaken and, retried, knows the
 * first; the two statements never overlap and verify recomputes both.
 */
async function closeTwoPeriodsAtOnce(a: TestApp, b: TestApp): Promise<void> {
  const { finance } = await seedTwoMonths(a);
  await a.http().post('/v1/settlements').set(finance).send({ periodId: '2026-09' }).expect(201);
  const shop = (await seedLatePartner(a)).Authorization;
  // Dated in September, recorded after September was closed: a late adjustment of the next close.
  await a
    .http()
    .post('/v1/accruals')
    .set({ Authorization: shop })
    .send({ externalId: 'late-1', memberId: 'm-1', amountMinor: 500_000, currency: 'RUB', occurredAt: '2026-09-25T10:00:00Z' })
    .expect(201);
  const periods = ['2026-08', '2026-10'];
  const answers = await Promise.all(periods.map((periodId, i) => [a, b][i].http().post('/v1/settlements').set(finance).send({ periodId })));
  const statuses = answers.map((r) => `${r.status}${r.status === 409 ? ` ${r.body.code}` : ''}`);
  // Retry what was overtaken, as a client would.
  for (const [i, r] of answers.entries()) {
    if (r.status === 409) {
      expect(r.body.code).toBe('close_overtaken');
      await [a, b][i].http().post('/v1/settlements').set(finance).send({ periodId: periods[i] }).expect(201);
    } else {
      expect(r.status).toBe(201);
    }
  }
  // Exactly one statement settles the late accrual.
  const late: string[] = [];
  for (const periodId of periods) {
    const filed = await a.http().get(`/v1/settlements/${periodId}`).set(finance).expect(200);
    if (JSON.stringify(filed.body).includes('late-1')) late.push(periodId);
  }
  expect({ statuses: statuses.length, late: late.length }).toEqual({ statuses: 2, late: 1 });
  // Cut-offs grow in the order the closes were filed, each close knowing the ones before.
  const closes = (await a.store.readAll()).filter((e) => e.type === 'SettlementPeriodClosed');
  const cutoffs = closes.map((e) => Number(e.data.cutoffPosition));
  expect([...cutoffs].sort((x, y) => x - y)).toEqual(cutoffs);
  for (let i = 1; i < closes.length; i++) expect(cutoffs[i]).toBeGreaterThanOrEqual(closes[i - 1].position);
  const auditor = await a.http().post('/v1/keys').set(a.admin).send({ role: 'auditor' }).expect(201);
  const verify = await a
    .http()
    .get('/v1/audit/verify')
    .set({ Authorization: `Bearer ${auditor.body.key}` });
  expect({ status: verify.status, ok: verify.body.ok }).toEqual({ status: 200, ok: true });
}

describe('closing a period from two processes at once', () => {
  let dir: string;
  beforeEach(() => (dir = tempDir('ledger-close-')));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('two API instances on one SQLite file: one 201, one 409', async () => {
    const file = join(dir, 'ledger.db');
    const a = await startTestApp(SqliteEventStore.open(file));
    const b = await startTestApp(SqliteEventStore.open(file));
    try {
      await closeFromTwoInstances(a, b);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('two API instances on one EventStoreDB (wire server): one 201, one 409', async () => {
    const server = await EsdbWireServer.start();
    const a = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString));
    const b = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString));
    try {
      await closeFromTwoInstances(a, b);
    } finally {
      await a.close();
      await b.close();
      await server.stop();
    }
  });

  it('two API instances on one SQLite file close two different periods at once: statements never overlap', async () => {
    const file = join(dir, 'ledger.db');
    const a = await startTestApp(SqliteEventStore.open(file));
    const b = await startTestApp(SqliteEventStore.open(file));
    try {
      await closeTwoPeriodsAtOnce(a, b);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('two API instances on one EventStoreDB (wire server) close two different periods at once: statements never overlap', async () => {
    const server = await EsdbWireServer.start();
    const a = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString));
    const b = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString));
    try {
      await closeTwoPeriodsAtOnce(a, b);
    } finally {
      await a.close();
      await b.close();
      await server.stop();
    }
  });

  it('EventStoreDB: a close cut off between its sequence entry and its filing blocks other closes until it is closed again', async () => {
    const server = await EsdbWireServer.start();
    const t = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString));
    try {
      const { finance } = await seedTwoMonths(t);
      // The process died after sequencing the close of 2026-09 and before filing it.
      const head = (await t.store.readAll({ direction: 'backwards', maxCount: 1 }))[0].position;
      const sequence = await loadCloseSequence(t.store);
      await appendDecided(
        t.store,
        CLOSE_SEQUENCE_STREAM,
        { state: undefined, ...sequence },
        [{ type: 'PeriodCloseSequenced', data: { sequence: 0, periodId: '2026-09', cutoffPosition: head } }],
        systemMeta(),
        new Date().toISOString(),
      );
      const other = await t.http().post('/v1/settlements').set(finance).send({ periodId: '2026-10' }).expect(409);
      expect(other.body).toMatchObject({ code: 'close_overtaken' });
      expect(other.body.message).toContain('close 2026-09 again');
      expect(await settlementEvents(t.store, '2026-10')).toEqual([]);
      // Closing 2026-09 again finishes it at the cut-off it was sequenced with; then 2026-10 closes.
      const finished = await t.http().post('/v1/settlements').set(finance).send({ periodId: '2026-09' }).expect(201);
      expect(finished.body.cutoffPosition).toBe(head);
      await t.http().post('/v1/settlements').set(finance).send({ periodId: '2026-10' }).expect(201);
      expect((await t.store.readStream(CLOSE_SEQUENCE_STREAM)).map((e) => e.data.periodId)).toEqual(['2026-09', '2026-10']);
      const auditor = await t.http().post('/v1/keys').set(t.admin).send({ role: 'auditor' }).expect(201);
      const verify = await t
        .http()
        .get('/v1/audit/verify')
        .set({ Authorization: `Bearer ${auditor.body.key}` });
      expect({ status: verify.status, ok: verify.body.ok }).toEqual({ status: 200, ok: true });
    } finally {
      await t.close();
      await server.stop();
    }
  });

  it('two `ledger settle` processes (built CLI) on one store: one succeeds, the other fails with period_closed', async () => {
    if (!existsSync(join(root, 'dist', 'apps', 'cli', 'src', 'main.js'))) throw new Error('dist/ is missing: run `npm run build`');
    const file = join(dir, 'ledger.db');
    const t = await startTestApp(SqliteEventStore.open(file));
    await seedTwoMonths(t);
    await t.app.close();
    await t.store.close();

    const settle = (n: number) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const p = spawn(process.execPath, [cli, 'settle', '--period', '2026-10', '--out', join(dir, `out-${n}`)], {
          env: { ...process.env, LEDGER_DATA_DIR: dir, LEDGER_EVENTSTORE: '' },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        p.stderr.on('data', (d) => (stderr += d));
        p.once('exit', (code) => resolve({ code, stderr }));
      });
    const runs = await Promise.all([settle(1), settle(2)]);
    expect(runs.map((r) => r.code).sort()).toEqual([0, 1]);
    const loser = runs.find((r) => r.code === 1)!;
    expect(loser.stderr).toMatch(/ledger: period_closed: period 2026-10 (is already closed|was closed meanwhile)/);
    const store = SqliteEventStore.open(file);
    try {
      expect(await settlementEvents(store, '2026-10')).toEqual(['SettlementPeriodClosed', 'SettlementStatementIssued']);
    } finally {
      await store.close();
    }
  });
});
