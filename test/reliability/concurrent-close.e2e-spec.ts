import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EsdbEventStore, EventStore } from '@ledger/event-store';
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
