import { rmSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { FixedClock, defaultLedgerConfig } from '@ledger/application';
import { EventStore, MemoryEventStore } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { ProjectionRunner, ReadStore, rebuildReadStore } from '@ledger/projections';
import { ApiModuleOptions } from '@ledger/api/api.module';
import { CreateAppOptions, createLedgerApp } from '@ledger/api/create-app';
import { createLogger } from '@ledger/api/http/logger';
import { MIN_POSITION_WAIT_MS, ReadModelOptions } from '@ledger/api/projections/read-model';
import { SeededCoalition, TEST_ADMIN_KEY, TEST_NOW, TestApp, cardNumber, seedCoalition, tempDir } from '@ledger/testing/test-app';

/** The real app, as startTestApp builds it, with the read models where the test says. */
async function startApp(store: EventStore, readModel?: ReadModelOptions): Promise<TestApp> {
  const clock = new FixedClock(new Date(TEST_NOW));
  const options: CreateAppOptions & ApiModuleOptions = {
    store,
    clock,
    config: { ...defaultLedgerConfig(), adminKey: TEST_ADMIN_KEY },
    logger: createLogger({ level: 'silent' }),
    readModel,
  };
  const app = await createLedgerApp(options);
  return {
    app,
    store,
    clock,
    http: () => request(app.getHttpServer()),
    admin: { Authorization: `Bearer ${TEST_ADMIN_KEY}` },
    async close() {
      await app.close();
    },
  };
}

const NOW_ISH = '2026-11-20T11:00:00Z';

const stores: [string, (dir: string) => EventStore][] = [
  ['memory', () => new MemoryEventStore()],
  ['sqlite', (dir) => SqliteEventStore.open(join(dir, 'ledger.db'), { pollIntervalMs: 20 })],
];

describe.each(stores)('read models over HTTP on the %s event store', (_name, openStore) => {
  let dir: string;
  let store: EventStore;
  let t: TestApp;
  let c: SeededCoalition;
  let staff: { finance: { Authorization: string }; auditor: { Authorization: string } };

  beforeEach(async () => {
    dir = tempDir();
    store = openStore(dir);
    t = await startApp(store, { projector: 'in-process', file: join(dir, 'read.db'), waitTimeoutMs: 300 });
    c = await seedCoalition(t, ['grocer', 'cafe', 'air']);
    const key = async (role: string) => ({
      Authorization: `Bearer ${(await t.http().post('/v1/keys').set(t.admin).send({ role }).expect(201)).body.key}`,
    });
    staff = { finance: await key('finance'), auditor: await key('auditor') };
    for (const [i, memberId] of ['ann', 'bob'].entries()) {
      await t
        .http()
        .post('/v1/members')
        .set(c.partners.grocer)
        .send({ memberId, cardNumber: cardNumber(i + 1) })
        .expect(201);
    }
  });
  afterEach(async () => {
    await t.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const accrue = (partner: string, memberId: string, externalId: string, amountMinor: number) =>
    t
      .http()
      .post('/v1/accruals')
      .set(c.partners[partner])
      .send({ externalId, memberId, amountMinor, currency: 'RUB', occurredAt: NOW_ISH })
      .expect(201);
  const redeem = (partner: string, memberId: string, externalId: string, points: number) =>
    t.http().post('/v1/redemptions').set(c.partners[partner]).send({ externalId, memberId, points, occurredAt: NOW_ISH }).expect(201);

  it('GET /v1/members/{id} answers from the read model, with lots, and minPosition reads your own write', async () => {
    await accrue('grocer', 'ann', 'g1', 250_000);
    await accrue('cafe', 'ann', 'c1', 100_000);
    const { body: redeemed } = await redeem('air', 'ann', 'a1', 30);
    const res = await t.http().get(`/v1/members/ann?minPosition=${redeemed.position}`).set(t.admin).expect(200);
    expect(res.body).toEqual({
      memberId: 'ann',
      available: 5,
      held: 0,
      pending: { points: 0, lots: [] },
      lifetimeAccrued: 35,
      lifetimeRedeemed: 30,
      lots: [{ lotId: 'cafe:c1', issuerPartnerId: 'cafe', points: 5, expiresAt: '2028-11-20T11:00:00.000Z' }],
      expiringSoon: [],
      tier: null,
    });
    expect(Number(res.headers['ledger-as-of-position'])).toBeGreaterThanOrEqual(redeemed.position);
    await t.http().get('/v1/members/nobody?minPosition=0').set(t.admin).expect(404);
  });

  it('partner positions: a partner sees its own, staff see all, another partner is refused', async () => {
    await accrue('grocer', 'ann', 'g1', 500_000); // 50 points of grocer
    await accrue('air', 'bob', 'a1', 200_000); // 20 points of air
    await redeem('cafe', 'ann', 'c1', 30); // grocer's points at cafe
    await redeem('air', 'bob', 'a2', 5); // air's own
    const { body: last } = await redeem('grocer', 'bob', 'g2', 10); // air's points at grocer
    const q = `?minPosition=${last.position}`;

    const own = await t.http().get(`/v1/partners/grocer/position${q}`).set(c.partners.grocer).expect(200);
    expect(own.body).toEqual({
      partnerId: 'grocer',
      currency: 'RUB',
      pointsIssued: 50,
      pointsRedeemedAt: 10,
      pointsRedeemedElsewhere: 30,
      pointsRedeemedFromOthers: 10,
      pointsExpired: 0,
      pointsReversed: 0,
      pointsOutstanding: 20,
      liabilityMinor: 200,
      pointsHeld: 0,
      pointsPending: 0,
      asOfPosition: expect.any(Number),
    });
    expect(own.body.asOfPosition).toBeGreaterThanOrEqual(last.position);
    for (const who of [staff.finance, staff.auditor, t.admin]) {
      expect((await t.http().get(`/v1/partners/grocer/position${q}`).set(who).expect(200)).body).toEqual(own.body);
    }
    const foreign = await t.http().get('/v1/partners/grocer/position').set(c.partners.cafe).expect(403);
    expect(foreign.body.code).toBe('forbidden');
    await t.http().get('/v1/partners/nobody/position').set(staff.finance).expect(404);
    await t.http().get('/v1/partners/NOT_AN_ID/position').set(staff.finance).expect(400);
    await t.http().get('/v1/partners/grocer/position').expect(401);

    const all = await t.http().get(`/v1/partners${q}`).set(staff.auditor).expect(200);
    expect(all.body.map((p: { partnerId: string }) => p.partnerId)).toEqual(['air', 'cafe', 'grocer']);
    const sum = (field: string) => all.body.reduce((s: number, p: Record<string, number>) => s + p[field], 0);
    expect(sum('pointsIssued')).toBe(sum('pointsRedeemedAt') + sum('pointsOutstanding'));
    expect(sum('pointsRedeemedElsewhere')).toBe(sum('pointsRedeemedFromOthers'));
    await t.http().get('/v1/partners').set(c.partners.grocer).expect(403);
    await t.http().get('/v1/partners').set(staff.finance).expect(200);
    await t.http().get('/v1/partners').set(t.admin).expect(200);
  });

  it.each(['-1', 'abc', '1.5', '1e3', '', '99999999999999999', ' 7'])('minPosition=%p is 400 naming the field', async (raw) => {
    const res = await t
      .http()
      .get(`/v1/members/ann?minPosition=${encodeURIComponent(raw)}`)
      .set(t.admin)
      .expect(400);
    expect(res.body).toMatchObject({
      statusCode: 400,
      code: 'invalid_input',
      details: [{ field: 'minPosition', reason: expect.stringContaining('non-negative integer') }],
    });
    await t
      .http()
      .get(`/v1/partners?minPosition=${encodeURIComponent(raw)}`)
      .set(t.admin)
      .expect(400);
    await t
      .http()
      .get(`/v1/partners/grocer/position?minPosition=${encodeURIComponent(raw)}`)
      .set(t.admin)
      .expect(400);
  });

  it('minPosition given twice is 400', async () => {
    await t.http().get('/v1/members/ann?minPosition=1&minPosition=2').set(t.admin).expect(400);
  });

  it('a position the projection does not reach within the wait is 503 with a clear message', async () => {
    const started = Date.now();
    const res = await t.http().get('/v1/partners?minPosition=999999999').set(t.admin).expect(503);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body).toMatchObject({ statusCode: 503, code: 'projection_behind' });
    expect(res.body.message).toMatch(/did not reach minPosition 999999999 within 0\.3 s; retry/);
    await t.http().get('/v1/members/ann?minPosition=999999999').set(t.admin).expect(503);
  });

  it('waits 5 s by default', () => {
    expect(MIN_POSITION_WAIT_MS).toBe(5_000);
  });
});

describe('read models on files (sqlite)', () => {
  let dir: string;
  beforeEach(() => (dir = tempDir()));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the store built live behind the API equals a rebuild, table by table, and survives a restart', async () => {
    const store = SqliteEventStore.open(join(dir, 'ledger.db'), { pollIntervalMs: 20 });
    const readFile = join(dir, 'read.db');
    let t = await startApp(store, { projector: 'in-process', file: readFile });
    const c = await seedCoalition(t, ['grocer', 'cafe', 'air']);
    const partners = ['grocer', 'cafe', 'air'];
    let last = 0;
    for (let m = 0; m < 12; m++) {
      await t
        .http()
        .post('/v1/members')
        .set(c.partners.grocer)
        .send({ memberId: `m${m}`, cardNumber: cardNumber(100 + m) })
        .expect(201);
    }
    const post = async (path: string, partner: string, body: Record<string, unknown>) => {
      const res = await t
        .http()
        .post(path)
        .set(c.partners[partner])
        .send({ occurredAt: NOW_ISH, ...body })
        .expect(201);
      last = Math.max(last, res.body.position);
    };
    for (let round = 0; round < 6; round++) {
      // Concurrent posts for different members: live batches of varying size.
      await Promise.all(
        Array.from({ length: 12 }, async (_, m) => {
          const p = partners[(m + round) % 3];
          await post('/v1/accruals', p, {
            externalId: `a${round}-${m}`,
            memberId: `m${m}`,
            amountMinor: 100_000 + 10_000 * m,
            currency: 'RUB',
          });
          if (round % 2 === 1)
            await post('/v1/redemptions', partners[(m + round + 1) % 3], {
              externalId: `r${round}-${m}`,
              memberId: `m${m}`,
              points: 7 + m,
            });
          if (round === 3 && m % 4 === 0) {
            await post('/v1/reversals', partners[(m + round + 1) % 3], {
              externalId: `x${round}-${m}`,
              memberId: `m${m}`,
              originalExternalId: `r${round}-${m}`,
            });
          }
        }),
      );
      if (round === 2) {
        // A restart on the same read store: it resumes from its checkpoint.
        await t.close();
        t = await startApp(store, { projector: 'in-process', file: readFile });
      }
    }
    await t.http().get(`/v1/partners?minPosition=${last}`).set(t.admin).expect(200);
    await t.close();

    const live = ReadStore.open(readFile);
    const rebuilt = ReadStore.open(join(dir, 'rebuilt.db'));
    await rebuildReadStore(store, rebuilt);
    const a = live.dump();
    const b = rebuilt.dump();
    for (const table of Object.keys(a)) expect({ table, rows: b[table] }).toEqual({ table, rows: a[table] });
    expect(a.transactions.length).toBe(72 + 36 + 3);
    live.close();
    rebuilt.close();
    await store.close();
  });

  it('with the projector in another process, the API reads read.db read-only and minPosition polls its checkpoint', async () => {
    const apiStore = SqliteEventStore.open(join(dir, 'ledger.db'), { pollIntervalMs: 20 });
    const readFile = join(dir, 'read.db');
    const t = await startApp(apiStore, { projector: 'external', file: readFile, waitTimeoutMs: 2_000 });
    const c = await seedCoalition(t, ['grocer']);
    await t
      .http()
      .post('/v1/members')
      .set(c.partners.grocer)
      .send({ memberId: 'ann', cardNumber: cardNumber(1) })
      .expect(201);
    const { body } = await t
      .http()
      .post('/v1/accruals')
      .set(c.partners.grocer)
      .send({ externalId: 'g1', memberId: 'ann', amountMinor: 100_000, currency: 'RUB', occurredAt: NOW_ISH })
      .expect(201);

    // Nobody has projected yet: there is no read store to read.
    const missing = await t.http().get('/v1/members/ann').set(t.admin).expect(503);
    expect(missing.body.code).toBe('read_model_unavailable');
    expect(missing.body.message).toMatch(/ledger project/);

    // "ledger project": its own connections to both files.
    const projectorStore = SqliteEventStore.open(join(dir, 'ledger.db'), { pollIntervalMs: 20 });
    const readStore = ReadStore.open(readFile);
    const runner = new ProjectionRunner(projectorStore, readStore);
    const running = runner.run();
    try {
      const res = await t.http().get(`/v1/members/ann?minPosition=${body.position}`).set(t.admin).expect(200);
      expect(res.body).toMatchObject({ memberId: 'ann', available: 10 });
      // A write made after that: the read waits for the other process to project it.
      const { body: next } = await t
        .http()
        .post('/v1/redemptions')
        .set(c.partners.grocer)
        .send({ externalId: 'g2', memberId: 'ann', points: 4, occurredAt: NOW_ISH })
        .expect(201);
      const after = await t.http().get(`/v1/partners/grocer/position?minPosition=${next.position}`).set(c.partners.grocer).expect(200);
      expect(after.body).toMatchObject({ pointsIssued: 10, pointsRedeemedAt: 4, pointsOutstanding: 6 });
      expect((await t.http().get(`/v1/members/ann`).set(t.admin).expect(200)).body.available).toBe(6);
    } finally {
      await runner.stop();
      await running;
      readStore.close();
      await projectorStore.close();
    }
    const behind = await t.http().get('/v1/partners?minPosition=999999999').set(t.admin).expect(503);
    expect(behind.body.code).toBe('projection_behind');
    await t.close();
    await apiStore.close();
  });
});
