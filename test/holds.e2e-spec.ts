import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { EsdbEventStore, MemoryEventStore } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { EsdbWireServer } from '@ledger/testing/esdb-wire-server';
import { SeededCoalition, TEST_NOW, TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';
import { HoldLapseJob } from '@ledger/api/holds/hold-lapse.job';

/** Holds over HTTP: a web shop's checkout holds points, then captures or releases them; a hold past its expiry lapses. */

const AT = '2026-11-20T11:00:00Z';
const TEN_MINUTES_LATER = new Date(Date.parse(TEST_NOW) + 10 * 60_000 + 1);

async function seedMember(t: TestApp): Promise<SeededCoalition> {
  const c = await seedCoalition(t, ['grocer', 'shop']);
  await t
    .http()
    .post('/v1/members')
    .set(c.partners.grocer)
    .send({ memberId: 'm-1', cardNumber: cardNumber(1) })
    .expect(201);
  // 150 points issued by grocer (1 point per 100 RUB).
  await t
    .http()
    .post('/v1/accruals')
    .set(c.partners.grocer)
    .send({ externalId: 'r-1', memberId: 'm-1', amountMinor: 1_500_000, currency: 'RUB', occurredAt: AT })
    .expect(201);
  return c;
}

const holdPath = (holdId: string, action: 'capture' | 'release') => `/v1/holds/${encodeURIComponent(holdId)}/${action}`;

describe('holds over HTTP on sqlite', () => {
  let t: TestApp;
  let c: SeededCoalition;
  const eventCount = async () => (await t.store.readAll()).length;
  const place = (body: Record<string, unknown> = {}, as = () => c.partners.shop) =>
    t
      .http()
      .post('/v1/holds')
      .set(as())
      .send({ externalId: 'h-1', memberId: 'm-1', points: 120, ttlSeconds: 600, occurredAt: AT, ...body });
  const capture = (body: Record<string, unknown> = {}, holdId = 'shop:h-1', as = () => c.partners.shop) =>
    t
      .http()
      .post(holdPath(holdId, 'capture'))
      .set(as())
      .send({ externalId: 'cap-1', occurredAt: AT, ...body });
  const release = (body: Record<string, unknown> = {}, holdId = 'shop:h-1', as = () => c.partners.shop) =>
    t
      .http()
      .post(holdPath(holdId, 'release'))
      .set(as())
      .send({ externalId: 'rel-1', ...body });
  const member = async (minPosition: number) =>
    (await t.http().get(`/v1/members/m-1?minPosition=${minPosition}`).set(t.admin).expect(200)).body;

  /** A refused request answers `status` with `code` and writes nothing. */
  async function refused(send: () => PromiseLike<{ status: number; body: any }>, status: number, code?: string) {
    const before = await eventCount();
    const res = await send();
    expect(res.status).toBe(status);
    if (code !== undefined) expect(res.body.code).toBe(code);
    expect(await eventCount()).toBe(before);
    return res.body;
  }

  beforeEach(async () => {
    const dir = tempDir();
    t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir });
    c = await seedMember(t);
  });
  afterEach(() => t.close());

  it('places a hold: available drops at once, and the member shows what is held', async () => {
    const res = await place().expect(201);
    expect(res.body).toEqual({
      holdId: 'shop:h-1',
      memberId: 'm-1',
      points: 120,
      expiresAt: '2026-11-20T12:10:00.000Z',
      available: 30,
      position: expect.any(Number),
    });
    expect(await member(res.body.position)).toMatchObject({ available: 30, held: 120 });
    const events = await t.store.readStream('member-m-1');
    expect(events.at(-1)?.type).toBe('PointsHeld');
  });

  it('a redemption or another hold never spends held points', async () => {
    await place().expect(201);
    const redemption = { externalId: 'x-1', memberId: 'm-1', points: 31, occurredAt: AT };
    await refused(() => t.http().post('/v1/redemptions').set(c.partners.grocer).send(redemption), 422, 'insufficient_points');
    await refused(() => place({ externalId: 'h-2', points: 31 }), 422, 'insufficient_points');
    await t
      .http()
      .post('/v1/redemptions')
      .set(c.partners.grocer)
      .send({ ...redemption, points: 30 })
      .expect(201);
  });

  it('captures part of a hold as a redemption at the holding partner and releases the rest', async () => {
    await place().expect(201);
    const res = await capture({ points: 70 }).expect(201);
    expect(res.body).toEqual({
      holdId: 'shop:h-1',
      txId: 'shop:cap-1',
      memberId: 'm-1',
      points: 70,
      releasedPoints: 50,
      allocations: [{ issuerPartnerId: 'grocer', points: 70 }],
      available: 80,
      position: expect.any(Number),
    });
    const types = (await t.store.readStream('member-m-1')).map((e) => e.type);
    expect(types.slice(-2)).toEqual(['PointsRedeemed', 'HoldCaptured']);
    expect(await member(res.body.position)).toMatchObject({ available: 80, held: 0 });
    const shop = await t.http().get(`/v1/partners/shop/position?minPosition=${res.body.position}`).set(t.admin).expect(200);
    expect(shop.body).toMatchObject({ pointsRedeemedAt: 70, pointsRedeemedFromOthers: 70, pointsHeld: 0 });
    const grocer = await t.http().get('/v1/partners/grocer/position').set(t.admin).expect(200);
    expect(grocer.body).toMatchObject({ pointsRedeemedElsewhere: 70, pointsOutstanding: 80 });
  });

  it('counts a live hold in the holding partner position', async () => {
    const held = await place().expect(201);
    const shop = await t.http().get(`/v1/partners/shop/position?minPosition=${held.body.position}`).set(t.admin).expect(200);
    expect(shop.body).toMatchObject({ pointsHeld: 120, pointsRedeemedAt: 0 });
  });

  it('releases a hold: the points are available again', async () => {
    await place().expect(201);
    const res = await release().expect(201);
    expect(res.body).toEqual({
      holdId: 'shop:h-1',
      txId: 'shop:rel-1',
      memberId: 'm-1',
      points: 120,
      available: 150,
      position: expect.any(Number),
    });
    expect(await member(res.body.position)).toMatchObject({ available: 150, held: 0 });
  });

  it('answers a retried hold and capture as first answered, writing nothing', async () => {
    const first = await place().expect(201);
    const again = await place().expect(201);
    expect(again.headers['idempotent-replay']).toBe('true');
    expect(again.body).toEqual(first.body);
    const captured = await capture().expect(201);
    const before = await eventCount();
    const retried = await capture().expect(201);
    expect(retried.body).toEqual(captured.body);
    expect(await eventCount()).toBe(before);
  });

  describe('refusals write nothing', () => {
    beforeEach(async () => {
      await place().expect(201);
    });

    it('409 hold_closed: capture or release after the hold ended', async () => {
      await release().expect(201);
      await refused(() => capture(), 409, 'hold_closed');
      await refused(() => release({ externalId: 'rel-2' }), 409, 'hold_closed');
    });

    it('404 for another partner touching the hold, as for a hold that never was', async () => {
      const foreign = await refused(() => capture({}, 'shop:h-1', () => c.partners.grocer), 404, 'hold_not_found');
      const unknown = await refused(() => capture({}, 'shop:nope'), 404, 'hold_not_found');
      expect(foreign.message.replace('shop:h-1', 'X')).toBe(unknown.message.replace('shop:nope', 'X'));
      await refused(() => release({}, 'shop:h-1', () => c.partners.grocer), 404, 'hold_not_found');
    });

    it('422 exceeds_hold: capturing more than is held', async () => {
      await refused(() => capture({ points: 121 }), 422, 'exceeds_hold');
    });

    it.each([
      ['ttlSeconds', { ttlSeconds: 0 }],
      ['ttlSeconds', { ttlSeconds: 30 * 24 * 3600 + 1 }],
      ['ttlSeconds', { ttlSeconds: 1.5 }],
      ['points', { points: 0 }],
      ['points', { points: -5 }],
      ['memberId', { memberId: 'not a member id' }],
    ])('400 naming %s', async (field, change) => {
      const body = await refused(() => place({ externalId: 'h-9', ...change }), 400);
      expect(body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    });

    it('400 naming points for a capture of zero points', async () => {
      const body = await refused(() => capture({ points: 0 }), 400);
      expect(body.details).toEqual([expect.objectContaining({ field: 'points' })]);
    });
  });

  describe('past its expiry', () => {
    beforeEach(async () => {
      await place().expect(201);
      t.clock.set(TEN_MINUTES_LATER);
    });

    it('is never capturable, and its points count as available before any lapse is recorded', async () => {
      await refused(() => capture(), 409, 'hold_expired');
      const position = (await t.store.readAll()).at(-1)!.position;
      expect(await member(position)).toMatchObject({ available: 150, held: 0 });
      await t
        .http()
        .post('/v1/redemptions')
        .set(c.partners.grocer)
        .send({ externalId: 'x-1', memberId: 'm-1', points: 150, occurredAt: AT })
        .expect(201);
    });

    it('lapses once by the API job: HoldReleased {reason: expired}, dated at the expiry', async () => {
      const job = t.app.get(HoldLapseJob);
      // The job reads due holds from the read model: let it reach the hold first.
      await member((await t.store.readAll()).at(-1)!.position);
      expect(await job.runOnce()).toBe(1);
      const lapse = (await t.store.readStream('member-m-1')).at(-1)!;
      expect(lapse.type).toBe('HoldReleased');
      expect(lapse.data).toMatchObject({ holdId: 'shop:h-1', reason: 'expired', points: 120, occurredAt: '2026-11-20T12:10:00.000Z' });
      await member(lapse.position);
      expect(await job.runOnce()).toBe(0);
      await refused(() => release(), 409, 'hold_closed');
    });
  });

  it('capture, release and more captures racing: exactly one wins, the others get 409 hold_closed', async () => {
    await place().expect(201);
    const results = await Promise.all([
      capture({ externalId: 'cap-a' }),
      release({ externalId: 'rel-a' }),
      capture({ externalId: 'cap-b', points: 10 }),
      release({ externalId: 'rel-b' }),
    ]);
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409).map((r) => r.body.code)).toEqual(['hold_closed', 'hold_closed', 'hold_closed']);
    const ends = (await t.store.readStream('member-m-1')).filter((e) => e.type === 'HoldCaptured' || e.type === 'HoldReleased');
    expect(ends).toHaveLength(1);
  });

  it('verify stays green over holds captured, released and lapsed, and replay shows them', async () => {
    await place().expect(201);
    await capture({ points: 20 }).expect(201);
    await place({ externalId: 'h-2', points: 10 }).expect(201);
    await release({}, 'shop:h-2').expect(201);
    const last = await place({ externalId: 'h-3', points: 5, ttlSeconds: 60 }).expect(201);
    t.clock.set(TEN_MINUTES_LATER);
    await member(last.body.position);
    expect(await t.app.get(HoldLapseJob).runOnce()).toBe(1);
    const auditor = await t.http().post('/v1/keys').set(t.admin).send({ role: 'auditor' }).expect(201);
    const auth = { Authorization: `Bearer ${auditor.body.key}` };
    const position = (await t.store.readAll()).at(-1)!.position;
    await member(position);
    const report = await t.http().get('/v1/audit/verify').set(auth).expect(200);
    expect(report.body).toMatchObject({ ok: true });
    const replay = await t.http().get('/v1/audit/streams/member-m-1').set(auth).expect(200);
    const types = replay.body.events.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['PointsHeld', 'HoldCaptured', 'HoldReleased']));
  });

  it('`ledger lapse-holds` appends the lapse of every due hold, once', async () => {
    await place({ ttlSeconds: 1 }).expect(201);
    const dir = t.dataDir!;
    // Stop the API but keep its data directory (close() would remove it).
    await t.app.close();
    await t.store.close();
    // The hold was placed on the test's fixed clock, days before the real clock the CLI runs on.
    const run = () =>
      spawnSync(process.execPath, [join(__dirname, '..', 'bin', 'ledger.js'), 'lapse-holds'], {
        env: { ...process.env, LEDGER_DATA_DIR: dir, LEDGER_EVENTSTORE: '' },
        encoding: 'utf8',
      });
    const first = run();
    expect(first.stderr).toContain('lapse-holds: lapsing'); // the progress bar
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('1 holds lapsed');
    const second = run();
    expect(second.stdout).toContain('0 holds lapsed');
    const store = SqliteEventStore.open(join(dir, 'ledger.db'));
    try {
      const lapses = (await store.readStream('member-m-1')).filter((e) => e.type === 'HoldReleased');
      expect(lapses.map((e) => e.data)).toEqual([expect.objectContaining({ reason: 'expired', holdId: 'shop:h-1' })]);
    } finally {
      await store.close();
    }
    // Reopen for afterEach.
    t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir });
  });
});

describe('holds as of a moment (audit), on a store recording by the test clock', () => {
  it('counts a hold while live, and nothing once past its expiry, whether or not a lapse is recorded', async () => {
    // The store records by the app's clock, once the app (and its clock) exists.
    const app: { t?: TestApp } = {};
    const store = new MemoryEventStore(() => (app.t ? app.t.clock.now() : new Date(TEST_NOW)));
    const t = await startTestApp(store);
    app.t = t;
    try {
      const c = await seedMember(t);
      const held = await t
        .http()
        .post('/v1/holds')
        .set(c.partners.shop)
        .send({ externalId: 'h-1', memberId: 'm-1', points: 120, ttlSeconds: 600, occurredAt: AT })
        .expect(201);
      const atHold = await t.http().get(`/v1/audit/members/m-1?asOf=${held.body.position}`).set(t.admin).expect(200);
      expect(atHold.body).toMatchObject({ available: 30, held: 120 });
      const shop = await t.http().get(`/v1/audit/partners/shop/position?asOf=${held.body.position}`).set(t.admin).expect(200);
      expect(shop.body).toMatchObject({ pointsHeld: 120 });
      const later = await t.http().get(`/v1/audit/members/m-1?asOf=${TEN_MINUTES_LATER.toISOString()}`).set(t.admin).expect(200);
      expect(later.body).toMatchObject({ available: 150, held: 0 });
    } finally {
      await t.close();
    }
  });
});

describe('holds on the esdb adapter (in-process wire server)', () => {
  let server: EsdbWireServer;
  beforeEach(async () => {
    server = await EsdbWireServer.start();
  });
  afterEach(() => server.stop());

  it('capture and release racing from two API instances: exactly one wins; the lapse job then has nothing to do', async () => {
    const a = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString));
    const b = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString));
    try {
      const c = await seedMember(a);
      const held = await a
        .http()
        .post('/v1/holds')
        .set(c.partners.shop)
        .send({ externalId: 'h-1', memberId: 'm-1', points: 100, ttlSeconds: 600, occurredAt: AT })
        .expect(201);
      // Both instances can find the hold once their read models reach it.
      await b.http().get(`/v1/members/m-1?minPosition=${held.body.position}`).set(b.admin).expect(200);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? a : b)
            .http()
            .post(holdPath('shop:h-1', i % 3 === 0 ? 'release' : 'capture'))
            .set(c.partners.shop)
            .send(i % 3 === 0 ? { externalId: `rel-${i}` } : { externalId: `cap-${i}`, occurredAt: AT }),
        ),
      );
      expect(results.filter((r) => r.status === 201)).toHaveLength(1);
      expect(new Set(results.filter((r) => r.status !== 201).map((r) => `${r.status} ${r.body.code}`))).toEqual(
        new Set(['409 hold_closed']),
      );
      const ends = (await a.store.readStream('member-m-1')).filter((e) => e.type === 'HoldCaptured' || e.type === 'HoldReleased');
      expect(ends).toHaveLength(1);
      a.clock.set(TEN_MINUTES_LATER);
      expect(await a.app.get(HoldLapseJob).runOnce()).toBe(0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a due hold lapses once though two API instances run the job at once', async () => {
    const a = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString));
    const b = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString));
    try {
      const c = await seedMember(a);
      const held = await a
        .http()
        .post('/v1/holds')
        .set(c.partners.shop)
        .send({ externalId: 'h-1', memberId: 'm-1', points: 100, ttlSeconds: 60, occurredAt: AT })
        .expect(201);
      for (const x of [a, b]) {
        await x.http().get(`/v1/members/m-1?minPosition=${held.body.position}`).set(x.admin).expect(200);
        x.clock.set(TEN_MINUTES_LATER);
      }
      const lapsed = await Promise.all([a.app.get(HoldLapseJob).runOnce(), b.app.get(HoldLapseJob).runOnce()]);
      expect(lapsed[0] + lapsed[1]).toBe(1);
      const lapses = (await a.store.readStream('member-m-1')).filter((e) => e.type === 'HoldReleased');
      expect(lapses).toHaveLength(1);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
