import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { EsdbEventStore } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { EsdbWireServer } from '@ledger/testing/esdb-wire-server';
import { SeededCoalition, TEST_NOW, TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';
import { PendingReleaseJob } from '@ledger/api/pending/pending-release.job';

/**
 * Pending earn over HTTP: the shop's terms carry a 14-day return window, so its points are
 * pending until the sale's date plus 14 days, spendable from then on whether or not the
 * release job has run, and released once by the job or `ledger release-pending`.
 */

const AT = '2026-11-20T11:00:00.000Z';
const AVAILABLE_AT = '2026-12-04T11:00:00.000Z';
const AFTER_WINDOW = new Date('2026-12-04T11:00:01.000Z');

describe('pending earn over HTTP on sqlite', () => {
  let t: TestApp;
  let c: SeededCoalition;
  const eventCount = async () => (await t.store.readAll()).length;
  const lastPosition = async () => (await t.store.readAll()).at(-1)!.position;
  const member = async (as: { Authorization: string } = t.admin) =>
    (
      await t
        .http()
        .get(`/v1/members/m-1?minPosition=${await lastPosition()}`)
        .set(as)
        .expect(200)
    ).body;
  const accrue = (externalId: string, amountMinor: number, partner = 'shop') =>
    t
      .http()
      .post('/v1/accruals')
      .set(c.partners[partner])
      .send({ externalId, memberId: 'm-1', amountMinor, currency: 'RUB', occurredAt: AT });
  const redeem = (externalId: string, points: number, occurredAt = AT) =>
    t.http().post('/v1/redemptions').set(c.partners.grocer).send({ externalId, memberId: 'm-1', points, occurredAt });
  const setTerms = (earnRule: Record<string, unknown>) =>
    t
      .http()
      .put('/v1/partners/shop/terms')
      .set(t.admin)
      .send({ issuanceFeeBps: 100, breakageShareBps: 5000, effectiveFrom: '2026-11-01T00:00:00Z', earnRule });

  /** A refused request answers `status`, names `field`, and writes nothing. */
  async function refused(send: () => PromiseLike<{ status: number; body: any }>, status: number, field?: string) {
    const before = await eventCount();
    const res = await send();
    expect(res.status).toBe(status);
    if (field !== undefined) expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    expect(await eventCount()).toBe(before);
    return res.body;
  }

  beforeEach(async () => {
    const dir = tempDir();
    t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir, app: { pendingReleaseIntervalMs: 0 } });
    c = await seedCoalition(t, ['grocer', 'shop']);
    await setTerms({ pointsPerUnit: 1, unitMinor: 10000, pendingDays: 14 }).expect(200);
    await t
      .http()
      .post('/v1/members')
      .set(c.partners.grocer)
      .send({ memberId: 'm-1', cardNumber: cardNumber(1) })
      .expect(201);
    await accrue('g-1', 300_000, 'grocer').expect(201); // 30 points, spendable at once
  });
  afterEach(() => t.close());

  it.each([-1, 1.5, 366, '7', null])(
    'refuses pendingDays %p with 400 naming earnRule.pendingDays, writing nothing',
    async (pendingDays) => {
      await refused(() => setTerms({ pointsPerUnit: 1, unitMinor: 10000, pendingDays }), 400, 'earnRule.pendingDays');
      await refused(
        () =>
          t
            .http()
            .post('/v1/partners')
            .set(t.admin)
            .send({ partnerId: 'outlet', name: 'Outlet', earnRule: { pointsPerUnit: 1, unitMinor: 10000, pendingDays } }),
        400,
        'earnRule.pendingDays',
      );
    },
  );

  it('registers a partner with a window, recorded on its terms', async () => {
    await t
      .http()
      .post('/v1/partners')
      .set(t.admin)
      .send({ partnerId: 'outlet', name: 'Outlet', earnRule: { pointsPerUnit: 1, unitMinor: 10000, pendingDays: 30 } })
      .expect(201);
    const joined = (await t.store.readStream('partner-outlet'))[0];
    expect(joined.data).toMatchObject({ earnRule: { pointsPerUnit: 1, unitMinor: 10000, pendingDays: 30 } });
  });

  it('shows the accrual as pending with its date, refuses to spend it, and spends it once the clock passes availableAt', async () => {
    const accrued = await accrue('s-1', 1_000_000).expect(201); // 100 points
    expect(accrued.body).toMatchObject({ points: 100, balance: 30 });
    const event = (await t.store.readStream('member-m-1')).find((e) => e.type === 'PointsAccrued' && e.data.txId === 'shop:s-1')!;
    expect(event.data).toMatchObject({ availableAt: AVAILABLE_AT });

    expect(await member()).toMatchObject({
      available: 30,
      pending: { points: 100, lots: [{ lotId: 'shop:s-1', issuerPartnerId: 'shop', points: 100, availableAt: AVAILABLE_AT }] },
      lots: [expect.objectContaining({ lotId: 'grocer:g-1', points: 30 })],
    });
    const position = await t.http().get('/v1/partners/shop/position').set(t.admin).expect(200);
    expect(position.body).toMatchObject({ pointsIssued: 100, pointsPending: 100, pointsOutstanding: 100 });

    const refusal = await refused(() => redeem('x-1', 31), 422);
    expect(refusal.code).toBe('insufficient_points');

    // No release event yet: the read model and the decider go by the clock.
    t.clock.set(AFTER_WINDOW);
    expect(await member()).toMatchObject({ available: 130, pending: { points: 0, lots: [] } });
    expect((await t.http().get('/v1/partners/shop/position').set(t.admin).expect(200)).body).toMatchObject({ pointsPending: 0 });
    await redeem('x-2', 130, AFTER_WINDOW.toISOString()).expect(201);
    expect((await t.store.readStream('member-m-1')).some((e) => e.type === 'PointsReleased')).toBe(false);
  });

  it("shows a partner its own pending lots, and other partners' pending points only as a total", async () => {
    await accrue('s-1', 1_000_000).expect(201);
    const shop = await member(c.partners.shop);
    expect(shop.pending).toEqual({
      points: 100,
      ownLots: [{ lotId: 'shop:s-1', points: 100, availableAt: AVAILABLE_AT }],
      otherIssuersPoints: 0,
    });
    const grocer = await member(c.partners.grocer);
    expect(grocer.pending).toEqual({ points: 100, ownLots: [], otherIssuersPoints: 100 });
    expect(JSON.stringify(grocer)).not.toContain('shop');
  });

  it('cancels a pending accrual reversed in its window: nothing pending, nothing to release', async () => {
    await accrue('s-1', 1_000_000).expect(201);
    const reversal = await t
      .http()
      .post('/v1/reversals')
      .set(c.partners.shop)
      .send({ externalId: 'refund-1', originalExternalId: 's-1', memberId: 'm-1', occurredAt: TEST_NOW })
      .expect(201);
    expect(reversal.body).toMatchObject({ kind: 'accrual_reversal', points: 100, balance: 30 });
    expect(await member()).toMatchObject({ available: 30, pending: { points: 0, lots: [] } });
    t.clock.set(AFTER_WINDOW);
    await member();
    expect(await t.app.get(PendingReleaseJob).runOnce()).toBe(0);
  });

  it('the API job releases a due lot once (PointsReleased dated at availableAt); verify and replay understand it', async () => {
    await accrue('s-1', 1_000_000).expect(201);
    await accrue('s-2', 200_000).expect(201);
    await t
      .http()
      .post('/v1/reversals')
      .set(c.partners.shop)
      .send({ externalId: 'refund-2', originalExternalId: 's-2', memberId: 'm-1', occurredAt: TEST_NOW, points: 5 })
      .expect(201);
    const job = t.app.get(PendingReleaseJob);
    await member();
    expect(await job.runOnce()).toBe(0); // nothing due yet
    t.clock.set(AFTER_WINDOW);
    expect(await job.runOnce()).toBe(2);
    const released = (await t.store.readStream('member-m-1')).filter((e) => e.type === 'PointsReleased').map((e) => e.data);
    expect(released).toEqual([
      { memberId: 'm-1', lotId: 'shop:s-1', issuerPartnerId: 'shop', points: 100, occurredAt: AVAILABLE_AT },
      { memberId: 'm-1', lotId: 'shop:s-2', issuerPartnerId: 'shop', points: 15, occurredAt: AVAILABLE_AT },
    ]);
    await member();
    expect(await job.runOnce()).toBe(0);
    expect(await member()).toMatchObject({ available: 145, pending: { points: 0 } });

    const auditor = await t.http().post('/v1/keys').set(t.admin).send({ role: 'auditor' }).expect(201);
    const auth = { Authorization: `Bearer ${auditor.body.key}` };
    await member();
    expect((await t.http().get('/v1/audit/verify').set(auth).expect(200)).body).toMatchObject({ ok: true });
    const replay = await t.http().get('/v1/audit/streams/member-m-1').set(auth).expect(200);
    expect(replay.body.events.map((e: { type: string }) => e.type)).toContain('PointsReleased');
  });

  it('`ledger release-pending` releases every due lot once, with progress', async () => {
    // A 2-day window: due before the real clock the CLI runs on, which is days after the test's fixed one.
    await t
      .http()
      .post('/v1/partners')
      .set(t.admin)
      .send({ partnerId: 'outlet', name: 'Outlet', earnRule: { pointsPerUnit: 1, unitMinor: 10000, pendingDays: 2 } })
      .expect(201);
    const key = await t.http().post('/v1/partners/outlet/keys').set(t.admin).expect(201);
    c.partners.outlet = { Authorization: `Bearer ${key.body.key}` };
    await accrue('o-1', 1_000_000, 'outlet').expect(201);
    const dir = t.dataDir!;
    // Stop the API but keep its data directory (close() would remove it).
    await t.app.close();
    await t.store.close();
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [join(__dirname, '..', 'bin', 'ledger.js'), 'release-pending', ...args], {
        env: { ...process.env, LEDGER_DATA_DIR: dir, LEDGER_EVENTSTORE: '', LEDGER_READ_STORE: '' },
        encoding: 'utf8',
      });
    const early = run('--until', '2026-11-22T10:59:59Z');
    expect(early.status).toBe(0);
    expect(early.stdout).toContain('0 pending lots released (0 due');
    const first = run();
    expect(first.stderr).toContain('release-pending: releasing'); // the progress bar
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('1 pending lots released');
    const second = run();
    expect(second.stdout).toContain('0 pending lots released');
    expect(run('--until', '2999-01-01T00:00:00Z').status).not.toBe(0);
    const store = SqliteEventStore.open(join(dir, 'ledger.db'));
    try {
      const releases = (await store.readStream('member-m-1')).filter((e) => e.type === 'PointsReleased');
      expect(releases.map((e) => e.data)).toEqual([
        expect.objectContaining({ lotId: 'outlet:o-1', points: 100, occurredAt: '2026-11-22T11:00:00.000Z' }),
      ]);
    } finally {
      await store.close();
    }
    // Reopen for afterEach.
    t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir });
  });
});

describe('pending release on the esdb adapter (in-process wire server)', () => {
  let server: EsdbWireServer;
  beforeEach(async () => {
    server = await EsdbWireServer.start();
  });
  afterEach(() => server.stop());

  it('two API instances run the release job at once: each due lot is released exactly once', async () => {
    const open = () =>
      startTestApp(EsdbEventStore.fromConnectionString(server.connectionString), {
        app: { pendingReleaseIntervalMs: 0, expiryIntervalMs: 0 },
      });
    const a = await open();
    const b = await open();
    try {
      const c = await seedCoalition(a, ['shop']);
      await a
        .http()
        .put('/v1/partners/shop/terms')
        .set(a.admin)
        .send({
          issuanceFeeBps: 0,
          breakageShareBps: 0,
          effectiveFrom: '2026-11-01T00:00:00Z',
          earnRule: { pointsPerUnit: 1, unitMinor: 10000, pendingDays: 14 },
        })
        .expect(200);
      for (let i = 1; i <= 4; i++) {
        await a
          .http()
          .post('/v1/members')
          .set(c.partners.shop)
          .send({ memberId: `m-${i}`, cardNumber: cardNumber(i) })
          .expect(201);
        await a
          .http()
          .post('/v1/accruals')
          .set(c.partners.shop)
          .send({ externalId: `s-${i}`, memberId: `m-${i}`, amountMinor: 1_000_000, currency: 'RUB', occurredAt: AT })
          .expect(201);
      }
      const head = (await a.store.readAll()).at(-1)!.position;
      // Both read models reach the log's head before the jobs look for due lots.
      for (const t of [a, b]) await t.http().get(`/v1/members/m-4?minPosition=${head}`).set(t.admin).expect(200);
      for (const t of [a, b]) t.clock.set(AFTER_WINDOW);
      const [ra, rb] = await Promise.all([a.app.get(PendingReleaseJob).runOnce(), b.app.get(PendingReleaseJob).runOnce()]);
      expect(ra + rb).toBe(4);
      const releases = (await a.store.readAll()).filter((e) => e.type === 'PointsReleased');
      expect(releases.map((e) => e.streamId).sort()).toEqual(['member-m-1', 'member-m-2', 'member-m-3', 'member-m-4']);
      const member = await b
        .http()
        .get(`/v1/members/m-2?minPosition=${releases.at(-1)!.position}`)
        .set(b.admin)
        .expect(200);
      expect(member.body).toMatchObject({ available: 100, pending: { points: 0, lots: [] } });
    } finally {
      await a.close();
      await b.close();
    }
  });
});
