import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { EsdbEventStore, EventStore } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { EsdbWireServer } from '@ledger/testing/esdb-wire-server';
import { SeededCoalition, TEST_NOW, TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';
import { CommandBus } from '@nestjs/cqrs';
import { systemMeta } from '@ledger/application';
import { ExpiryJob } from '@ledger/api/expiry/expiry.job';
import { runExpiry } from '@ledger/api/expiry/expiry-run';
import { ReadModelAccess } from '@ledger/api/projections/read-model';
import { HoldLapseJob } from '@ledger/api/holds/hold-lapse.job';

/**
 * Expiry over HTTP: a lot past its expiry counts no more at once, and the expiry job (in the
 * API, or `ledger expire`) records each lot's lapse once, found from the due-lots index.
 *
 * The coalition here keeps points one month. At the test clock (2026-11-20 12:00) a lot
 * earned on 1 October expired on 1 November; one earned on 10 November expires on
 * 10 December (within 30 days: "expiring soon").
 */
const OLD = '2026-10-01T10:00:00Z'; // expires 2026-11-01T10:00
const RECENT = '2026-11-10T10:00:00Z'; // expires 2026-12-10T10:00
const LEDGER_JS = join(__dirname, '..', 'bin', 'ledger.js');

async function seed(t: TestApp, members: number): Promise<SeededCoalition> {
  const c = await seedCoalition(t, ['grocer', 'cafe']);
  await t.http().put('/v1/coalition').set(t.admin).send({ currency: 'RUB', pointValueMinor: 10, expiryMonths: 1 }).expect(200);
  for (let i = 1; i <= members; i++) {
    const memberId = `m-${i}`;
    await t
      .http()
      .post('/v1/members')
      .set(c.partners.grocer)
      .send({ memberId, cardNumber: cardNumber(i) })
      .expect(201);
    // grocer 100 (expired), cafe 30 (expired), grocer 50 (live): 1 point per 100 RUB.
    for (const [partner, externalId, amountMinor, occurredAt] of [
      ['grocer', `g-old-${i}`, 1_000_000, OLD],
      ['cafe', `c-old-${i}`, 300_000, OLD],
      ['grocer', `g-new-${i}`, 500_000, RECENT],
    ] as const) {
      await t
        .http()
        .post('/v1/accruals')
        .set(c.partners[partner])
        .send({ externalId, memberId, amountMinor, currency: 'RUB', occurredAt })
        .expect(201);
    }
  }
  return c;
}

const lastPosition = async (store: EventStore) => (await store.readAll({ direction: 'backwards', maxCount: 1 }))[0].position;
const expiries = async (store: EventStore) => (await store.readAll()).filter((e) => e.type === 'PointsExpired');

/** Waits until the app's read models reflect the log's head (the job reads the due lots from them). */
async function caughtUp(t: TestApp): Promise<void> {
  await t
    .http()
    .get(`/v1/members/m-1?minPosition=${await lastPosition(t.store)}`)
    .set(t.admin)
    .expect(200);
}

describe('expiry over HTTP on sqlite', () => {
  let t: TestApp;
  let c: SeededCoalition;

  beforeEach(async () => {
    const dir = tempDir();
    // Recorded at the app's pinned time, so the as-of reads below judge expiry on 20 November
    // whatever the calendar says.
    const store = SqliteEventStore.open(join(dir, 'ledger.db'), { now: () => new Date(TEST_NOW) });
    t = await startTestApp(store, { dataDir: dir, app: { expiryIntervalMs: 0 } });
    c = await seed(t, 1);
  });
  afterEach(() => t.close());

  it('an expired lot counts no more before the job runs: available, lots, expiringSoon, the partner view, a redemption', async () => {
    await caughtUp(t);
    const full = await t.http().get('/v1/members/m-1').set(t.admin).expect(200);
    expect(full.body).toMatchObject({
      available: 50,
      lots: [{ lotId: 'grocer:g-new-1', issuerPartnerId: 'grocer', points: 50, expiresAt: '2026-12-10T10:00:00.000Z' }],
      expiringSoon: [{ points: 50, expiresAt: '2026-12-10T10:00:00.000Z' }],
    });
    const asCafe = await t.http().get('/v1/members/m-1').set(c.partners.cafe).expect(200);
    expect(asCafe.body).toMatchObject({ available: 50, ownLots: [], otherIssuersPoints: 50, expiringSoon: { points: 50 } });
    // Nothing recorded yet: the lapse is the job's to write.
    expect(await expiries(t.store)).toEqual([]);
    // As of the head (judged at its recorded time, 20 November, past 1 November): the same.
    const asOf = await t.http().get('/v1/audit/members/m-1').set(t.admin).expect(200);
    expect(asOf.body).toMatchObject({ available: 50, lots: [{ lotId: 'grocer:g-new-1', points: 50 }] });
    const partnerAsOf = await t
      .http()
      .get(`/v1/members/m-1?asOf=${await lastPosition(t.store)}`)
      .set(c.partners.grocer)
      .expect(200);
    expect(partnerAsOf.body).toMatchObject({ available: 50, ownLots: [{ lotId: 'grocer:g-new-1', points: 50 }], otherIssuersPoints: 0 });
    const before = (await t.store.readAll()).length;
    const refused = await t
      .http()
      .post('/v1/redemptions')
      .set(c.partners.cafe)
      .send({ externalId: 'x-1', memberId: 'm-1', points: 51, occurredAt: '2026-11-20T11:00:00Z' })
      .expect(422);
    expect(refused.body.code).toBe('insufficient_points');
    expect((await t.store.readAll()).length).toBe(before);
    const spent = await t
      .http()
      .post('/v1/redemptions')
      .set(c.partners.cafe)
      .send({ externalId: 'x-2', memberId: 'm-1', points: 20, occurredAt: '2026-11-20T11:00:00Z' })
      .expect(201);
    // The answer counts the live lot only.
    expect(spent.body.balance).toBe(30);
  });

  it('the API job lapses each due lot once, dated at its expiry; positions, verify and replay show it', async () => {
    await caughtUp(t);
    const job = t.app.get(ExpiryJob);
    const first = await job.runOnce();
    expect(first).toMatchObject({ lotsExpired: 2, pointsExpired: 130, due: { lots: 2, points: 130 } });
    const lapses = await expiries(t.store);
    expect(lapses.map((e) => e.data)).toEqual([
      expect.objectContaining({ lotId: 'grocer:g-old-1', issuerPartnerId: 'grocer', points: 100, occurredAt: '2026-11-01T10:00:00.000Z' }),
      expect.objectContaining({ lotId: 'cafe:c-old-1', issuerPartnerId: 'cafe', points: 30, occurredAt: '2026-11-01T10:00:00.000Z' }),
    ]);
    await caughtUp(t);
    expect(await job.runOnce()).toMatchObject({ lotsExpired: 0, due: { lots: 0 } });
    expect(await expiries(t.store)).toHaveLength(2);

    const member = await t.http().get('/v1/members/m-1').set(t.admin).expect(200);
    expect(member.body).toMatchObject({ available: 50 });
    const grocer = await t.http().get('/v1/partners/grocer/position').set(t.admin).expect(200);
    expect(grocer.body).toMatchObject({ pointsIssued: 150, pointsExpired: 100, pointsOutstanding: 50 });
    const cafe = await t.http().get('/v1/partners/cafe/position').set(t.admin).expect(200);
    expect(cafe.body).toMatchObject({ pointsIssued: 30, pointsExpired: 30, pointsOutstanding: 0 });

    const auditor = await t.http().post('/v1/keys').set(t.admin).send({ role: 'auditor' }).expect(201);
    const auth = { Authorization: `Bearer ${auditor.body.key}` };
    const report = await t.http().get('/v1/audit/verify').set(auth).expect(200);
    expect(report.body).toMatchObject({ ok: true });
    const replay = await t.http().get('/v1/audit/streams/member-m-1').set(auth).expect(200);
    expect(replay.body.events.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['PointsExpired']));
  });

  it('a run cut short resumes: what it left is due on the next run, and nothing lapses twice', async () => {
    await t.close();
    const dir = tempDir();
    t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir, app: { expiryIntervalMs: 0 } });
    await seed(t, 4);
    await caughtUp(t);
    const until = t.clock.now();
    let done = 0;
    // A shutdown stops a run between members: here, after the first.
    const cut = await runExpiry(t.app.get(ReadModelAccess).reader(), t.app.get(CommandBus), until, systemMeta('spec'), {
      concurrency: 1,
      onProgress: (n) => (done = n),
      stopped: () => done >= 1,
    });
    expect(cut).toMatchObject({ lotsExpired: 2, due: { lots: 8 } });
    await caughtUp(t);
    const rest = await t.app.get(ExpiryJob).runOnce();
    expect(rest).toMatchObject({ lotsExpired: 6, due: { lots: 6 } });
    expect(await expiries(t.store)).toHaveLength(8);
  });
});

describe('two expiry jobs at once over the same due lots (two API processes on one sqlite file)', () => {
  it('each lot lapses exactly once', async () => {
    const dir = tempDir();
    const file = join(dir, 'ledger.db');
    const a = await startTestApp(SqliteEventStore.open(file), { app: { expiryIntervalMs: 0 } });
    const b = await startTestApp(SqliteEventStore.open(file), { dataDir: dir, app: { expiryIntervalMs: 0 } });
    try {
      await seed(a, 6);
      await caughtUp(a);
      await caughtUp(b);
      const before = (await a.store.readAll()).length;
      const [ra, rb] = await Promise.all([a.app.get(ExpiryJob).runOnce(), b.app.get(ExpiryJob).runOnce()]);
      // Both saw 12 lots due; between them they wrote each lapse once.
      expect(ra.due.lots).toBe(12);
      expect(rb.due.lots).toBe(12);
      expect(ra.lotsExpired + rb.lotsExpired).toBe(12);
      const lapses = await expiries(a.store);
      expect(lapses).toHaveLength(12);
      expect(new Set(lapses.map((e) => `${e.streamId}/${(e.data as { lotId: string }).lotId}`)).size).toBe(12);
      expect((await a.store.readAll()).length).toBe(before + 12);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('`ledger expire`', () => {
  let t: TestApp;
  let dir: string;
  beforeEach(async () => {
    dir = tempDir();
    t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir, app: { expiryIntervalMs: 0 } });
    await seed(t, 2);
    // Stop the API but keep its data directory (close() would remove it).
    await t.app.close();
    await t.store.close();
  });
  afterEach(async () => {
    t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir });
    await t.close();
  });

  const run = (...args: string[]) =>
    spawnSync(process.execPath, [LEDGER_JS, 'expire', ...args], {
      env: { ...process.env, LEDGER_DATA_DIR: dir, LEDGER_EVENTSTORE: '', LEDGER_READ_STORE: '' },
      encoding: 'utf8',
    });
  const count = async () => {
    const store = SqliteEventStore.open(join(dir, 'ledger.db'));
    try {
      return { events: (await store.readAll()).length, expiries: (await expiries(store)).length };
    } finally {
      await store.close();
    }
  };

  it('lapses every lot due by --until once, with a progress bar and a summary line', async () => {
    const first = run('--until', '2026-11-15T00:00:00Z');
    expect(first.stderr).toContain('expire: expiring'); // the progress bar
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^4 lots expired, 260 points \(4 lots of 2 members due\) in [0-9.]+ s \([0-9]+ events\/s\)\n$/);
    expect(await count()).toMatchObject({ expiries: 4 });
    const second = run('--until', '2026-11-15T00:00:00Z');
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/^0 lots expired, 0 points \(0 lots of 0 members due\)/);
    expect(await count()).toMatchObject({ expiries: 4 });
  });

  it('lapses nothing expiring after --until', async () => {
    const res = run('--until', '2026-10-15T00:00:00+03:00');
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/^0 lots expired/);
  });

  it.each([
    ['no date', 'soon', 'must be an ISO 8601 time with a zone'],
    ['a time without a zone', '2026-11-15T00:00:00', 'must be an ISO 8601 time with a zone'],
    ['a time after now', '2999-01-01T00:00:00Z', 'must not be after the present time'],
  ])('--until %s: a clear error, exit 2, nothing written', async (_what, until, message) => {
    const before = await count();
    const res = run('--until', until);
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('ledger: invalid_input: --until');
    expect(res.stderr).toContain(message);
    expect(await count()).toEqual(before);
  });
});

/** Runs the CLI without blocking this process: the wire server it talks to lives here. */
function runAsync(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LEDGER_JS, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('expiry on the esdb adapter (in-process wire server)', () => {
  let server: EsdbWireServer;
  beforeEach(async () => {
    server = await EsdbWireServer.start();
  });
  afterEach(() => server.stop());

  it('two API instances run the job at once: each due lot lapses exactly once', async () => {
    const a = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString), { app: { expiryIntervalMs: 0 } });
    const b = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString), { app: { expiryIntervalMs: 0 } });
    try {
      await seed(a, 5);
      await caughtUp(a);
      await caughtUp(b);
      const before = (await a.store.readAll()).length;
      const [ra, rb] = await Promise.all([a.app.get(ExpiryJob).runOnce(), b.app.get(ExpiryJob).runOnce()]);
      expect(ra.lotsExpired + rb.lotsExpired).toBe(10);
      const lapses = await expiries(a.store);
      expect(lapses).toHaveLength(10);
      expect(new Set(lapses.map((e) => `${e.streamId}/${(e.data as { lotId: string }).lotId}`)).size).toBe(10);
      expect((await a.store.readAll()).length).toBe(before + 10);
      // A read before and after: the same available, lapse recorded or not.
      await caughtUp(b);
      const member = await b.http().get('/v1/members/m-3').set(b.admin).expect(200);
      expect(member.body).toMatchObject({ available: 50, expiringSoon: [{ points: 50, expiresAt: '2026-12-10T10:00:00.000Z' }] });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('`ledger expire` and `ledger lapse-holds` run against it', async () => {
    const t = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString), { app: { expiryIntervalMs: 0 } });
    const dir = tempDir();
    try {
      const c = await seed(t, 2);
      // A hold placed at the test clock: long past its expiry on the real clock the CLI runs on.
      await t
        .http()
        .post('/v1/holds')
        .set(c.partners.cafe)
        .send({ externalId: 'h-1', memberId: 'm-2', points: 10, ttlSeconds: 60, occurredAt: '2026-11-20T11:00:00Z' })
        .expect(201);
      const env = { LEDGER_DATA_DIR: dir, LEDGER_EVENTSTORE: server.connectionString, LEDGER_READ_STORE: '' };
      const expired = await runAsync(['expire', '--until', '2026-11-15T00:00:00Z'], env);
      expect(expired.stderr).toContain('expire: expiring');
      expect(expired.status).toBe(0);
      expect(expired.stdout).toMatch(/^4 lots expired, 260 points/);
      const again = await runAsync(['expire', '--until', '2026-11-15T00:00:00Z'], env);
      expect(again.stdout).toMatch(/^0 lots expired/);
      expect(await expiries(t.store)).toHaveLength(4);
      const lapsed = await runAsync(['lapse-holds'], env);
      expect(lapsed.status).toBe(0);
      expect(lapsed.stdout).toContain('1 holds lapsed');
      const ends = (await t.store.readStream('member-m-2')).filter((e) => e.type === 'HoldReleased');
      expect(ends.map((e) => e.data)).toEqual([expect.objectContaining({ holdId: 'cafe:h-1', reason: 'expired' })]);
      // The API's own lapse job then has nothing left to do.
      t.clock.set(new Date('2026-11-20T13:00:00Z'));
      await caughtUp(t);
      expect(await t.app.get(HoldLapseJob).runOnce()).toBe(0);
    } finally {
      await t.close();
    }
  });
});
