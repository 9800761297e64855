import { join } from 'node:path';
import { Writable } from 'node:stream';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { SeededCoalition, TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';
import { AuditIo, EXIT_ERROR, EXIT_OK } from '../apps/cli/src/commands/audit';
import { runProgramReport } from '../apps/cli/src/commands/report';
import { ExpiryJob } from '@ledger/api/expiry/expiry.job';

/**
 * GET /v1/reports/program and `ledger report program` on one small history written over HTTP.
 * Partners earn 1 point per 100 RUB (10 000 minor). Window W = [2026-10-01, 2026-11-01), the
 * one before it P = [2026-08-31, 2026-10-01).
 *
 *   09-05 grocer enrols m1; 09-06 m1 earns 100 at grocer (P)
 *   10-02 cafe enrols m2;   10-03 m2 earns 40 at cafe; 10-04 m1 earns 60 at grocer; 10-05 m1 spends 50 at cafe (grocer's points)
 *   11-02 m2 earns 30 at cafe (after W)
 *
 * By hand, for W:
 *   grocer: enrolled 0; active {m1} 1, previously {m1} 1, retained 1 → 10000 bps, churn 0;
 *           earned: m1 60 → 1 earner, top ceil(1/5) = 1 → 10000; outstanding before 11-01: 100 + 60 − 50 = 110 → 1100 minor
 *   cafe:   enrolled 1 (m2); active {m2, m1 (its redemption)} 2, previously none → rates null;
 *           earned: m2 40 → 10000; outstanding 40 (the 30 of 11-02 is after `to`) → 400 minor
 *   total:  enrolled 1; active {m1, m2} 2, previously {m1} 1, retained 1 → 10000, churn 0;
 *           earned m1 60, m2 40: top 1 of 2 → 60 / 100 = 6000; outstanding 150 → 1500 minor
 *   No lot expires in W (lots live 24 months): breakage null, 0 expiring.
 */
describe('programme KPI report over HTTP and the CLI', () => {
  let t: TestApp;
  let c: SeededCoalition;
  let dir: string;
  const eventCount = async () => (await t.store.readAll()).length;
  const at = (iso: string) => t.clock.set(iso);
  const get = (query: string, key: { Authorization: string } = t.admin) => t.http().get(`/v1/reports/program${query}`).set(key);

  beforeAll(async () => {
    dir = tempDir();
    t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir });
    at('2026-08-31T08:00:00Z');
    c = await seedCoalition(t, ['grocer', 'cafe']);
    const enrol = (as: string, memberId: string, seed: number) =>
      t
        .http()
        .post('/v1/members')
        .set(c.partners[as])
        .send({ memberId, cardNumber: cardNumber(seed) })
        .expect(201);
    const accrue = (as: string, memberId: string, externalId: string, rub: number, occurredAt: string) =>
      t
        .http()
        .post('/v1/accruals')
        .set(c.partners[as])
        .send({ externalId, memberId, amountMinor: rub * 100, currency: 'RUB', occurredAt })
        .expect(201);
    at('2026-09-05T10:00:00Z');
    await enrol('grocer', 'm1', 1);
    at('2026-09-06T10:00:00Z');
    await accrue('grocer', 'm1', 'g1', 10_000, '2026-09-06T10:00:00Z');
    at('2026-10-02T10:00:00Z');
    await enrol('cafe', 'm2', 2);
    at('2026-10-05T12:00:00Z');
    await accrue('cafe', 'm2', 'c1', 4_000, '2026-10-03T10:00:00Z');
    await accrue('grocer', 'm1', 'g2', 6_000, '2026-10-04T10:00:00Z');
    await t
      .http()
      .post('/v1/redemptions')
      .set(c.partners.cafe)
      .send({ externalId: 'c2', memberId: 'm1', points: 50, occurredAt: '2026-10-05T10:00:00Z' })
      .expect(201);
    at('2026-11-02T12:00:00Z');
    const last = await accrue('cafe', 'm2', 'c3', 3_000, '2026-11-02T10:00:00Z');
    // Wait for the projection once: every read below reflects the whole history.
    await get(`?from=2026-10-01&to=2026-11-01&minPosition=${last.body.position}`).expect(200);
  });
  afterAll(() => t.close());

  it('answers the figures worked out by hand, per partner and in total', async () => {
    const res = await get('?from=2026-10-01&to=2026-11-01', t.admin).expect(200);
    expect(res.headers['ledger-as-of-position']).toBe(String(res.body.asOfPosition));
    expect(res.body).toMatchObject({ from: '2026-10-01', to: '2026-11-01', previousFrom: '2026-08-31', days: 31, currency: 'RUB' });
    expect(res.body.partners).toEqual([
      {
        partnerId: 'cafe',
        enrolled: 1,
        active: 2,
        previousActive: 0,
        retained: 0,
        retentionBps: null,
        churnBps: null,
        earners: 1,
        topEarners: 1,
        pointsEarned: 40,
        topPointsEarned: 40,
        topShareBps: 10_000,
        pointsExpiring: 0,
        pointsExpired: 0,
        breakageBps: null,
        outstandingPoints: 40,
        liabilityMinor: 400,
      },
      {
        partnerId: 'grocer',
        enrolled: 0,
        active: 1,
        previousActive: 1,
        retained: 1,
        retentionBps: 10_000,
        churnBps: 0,
        earners: 1,
        topEarners: 1,
        pointsEarned: 60,
        topPointsEarned: 60,
        topShareBps: 10_000,
        pointsExpiring: 0,
        pointsExpired: 0,
        breakageBps: null,
        outstandingPoints: 110,
        liabilityMinor: 1_100,
      },
    ]);
    expect(res.body.total).toEqual({
      enrolled: 1,
      active: 2,
      previousActive: 1,
      retained: 1,
      retentionBps: 10_000,
      churnBps: 0,
      earners: 2,
      topEarners: 1,
      pointsEarned: 100,
      topPointsEarned: 60,
      topShareBps: 6_000,
      pointsExpiring: 0,
      pointsExpired: 0,
      breakageBps: null,
      outstandingPoints: 150,
      liabilityMinor: 1_500,
    });
  });

  it('is for finance, auditors and admins: a partner is refused (403), no key is 401', async () => {
    const staff = await t.http().post('/v1/keys').set(t.admin).send({ role: 'finance' });
    const auditor = await t.http().post('/v1/keys').set(t.admin).send({ role: 'auditor' });
    const q = '?from=2026-10-01&to=2026-11-01';
    await get(q, { Authorization: `Bearer ${staff.body.key}` }).expect(200);
    await get(q, { Authorization: `Bearer ${auditor.body.key}` }).expect(200);
    expect((await get(q, c.partners.grocer).expect(403)).body.code).toBe('forbidden');
    await t.http().get(`/v1/reports/program${q}`).expect(401);
  });

  it.each([
    ['', 'from', 'is required: a date YYYY-MM-DD'],
    ['?from=2026-10-01', 'to', 'is required: a date YYYY-MM-DD'],
    ['?from=2026-10-1&to=2026-11-01', 'from', 'must be a date YYYY-MM-DD'],
    ['?from=2026-10-01&to=2026-02-30', 'to', 'is not a calendar date'],
    ['?from=2026-10-01&to=2026-10-01', 'to', 'must be after from'],
    ['?from=2026-11-01&to=2026-10-01', 'to', 'must be after from'],
    ['?from=2025-01-01&to=2026-10-01', 'to', 'must be at most 366 days after from'],
    ['?from=2026-10-01&to=2026-11-01&format=xml', 'format', 'must be json or csv'],
    ['?from=2026-10-01&to=2026-11-01&minPosition=-1', 'minPosition', expect.any(String)],
  ])('%s → 400 naming %s, nothing written', async (query, field, reason) => {
    const before = await eventCount();
    const res = await get(query).expect(400);
    expect(res.body.details).toEqual([{ field, reason }]);
    expect(await eventCount()).toBe(before);
  });

  const CSV = [
    'partnerId,enrolled,active,previousActive,retained,retentionBps,churnBps,earners,topEarners,pointsEarned,topPointsEarned,topShareBps,pointsExpiring,pointsExpired,breakageBps,outstandingPoints,liabilityMinor',
    'cafe,1,2,0,0,,,1,1,40,40,10000,0,0,,40,400',
    'grocer,0,1,1,1,10000,0,1,1,60,60,10000,0,0,,110,1100',
    'total,1,2,1,1,10000,0,2,1,100,60,6000,0,0,,150,1500',
    '',
  ].join('\r\n');

  it('answers CSV with ?format=csv', async () => {
    const res = await get('?from=2026-10-01&to=2026-11-01&format=csv').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.text).toBe(CSV);
  });

  function io() {
    let out = '';
    let err = '';
    const sink = (add: (s: string) => void) =>
      new Writable({
        write(chunk, _enc, done) {
          add(String(chunk));
          done();
        },
      });
    const value: AuditIo = {
      stdout: sink((s) => (out += s)),
      stderr: sink((s) => (err += s)),
      env: { LEDGER_DATA_DIR: dir },
      progress: false,
    };
    return { io: value, out: () => out, err: () => err };
  }

  it('ledger report program --csv builds the read store from the log and prints the same CSV; a bad window exits 2', async () => {
    const csv = io();
    expect(await runProgramReport({ from: '2026-10-01', to: '2026-11-01', csv: true }, csv.io)).toBe(EXIT_OK);
    expect(csv.out()).toBe(CSV);
    const text = io();
    expect(await runProgramReport({ from: '2026-10-01', to: '2026-11-01' }, text.io)).toBe(EXIT_OK);
    expect(text.out()).toMatch(/^topShareBps +10000 +10000 +6000$/m);
    const bad = io();
    expect(await runProgramReport({ from: '2026-10-01', to: '2026-09-01' }, bad.io)).toBe(EXIT_ERROR);
    expect(bad.err()).toBe('ledger: invalid_input: --to must be after from\n');
    expect(bad.out()).toBe('');
  });
});

/**
 * Breakage from real expiries: lots living one month, lapsed by the API's expiry job.
 *
 *   09-10 m1 earns 100 at grocer (g1, expires 10-10); 09-12 40 at cafe (c1, expires 10-12);
 *   09-20 50 at grocer (g2, expires 10-20), refunded in full on 09-21;
 *   09-25 m1 spends 30 at cafe: taken from g1, the lot expiring first (70 left)
 *   the job (clock 11-20) lapses g1's 70 and c1's 40.
 *
 * By hand, for October: grocer's lots expiring 100 (g1) + 50 − 50 (g2 refunded) = 100, expired 70 → 7000 bps;
 * cafe 40 of 40 → 10 000; total 110 / 140 = 7857.1… → 7857. Outstanding at 11-01: grocer 150 − 30 − 50 − 70 = 0,
 * cafe 40 − 40 = 0. September: nothing expires (no breakage), and everything is outstanding at 10-01:
 * grocer 150 − 30 − 50 = 70, cafe 40.
 */
describe('programme KPI report: breakage from the expiry job', () => {
  let t: TestApp;

  beforeAll(async () => {
    const dir = tempDir();
    t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir, app: { expiryIntervalMs: 0 } });
    const c = await seedCoalition(t, ['grocer', 'cafe']);
    await t.http().put('/v1/coalition').set(t.admin).send({ currency: 'RUB', pointValueMinor: 10, expiryMonths: 1 }).expect(200);
    await t
      .http()
      .post('/v1/members')
      .set(c.partners.grocer)
      .send({ memberId: 'm1', cardNumber: cardNumber(1) })
      .expect(201);
    const post = (as: string, path: string, body: Record<string, unknown>) =>
      t
        .http()
        .post(path)
        .set(c.partners[as])
        .send({ memberId: 'm1', ...body })
        .expect(201);
    const accrue = (as: string, externalId: string, rub: number, occurredAt: string) =>
      post(as, '/v1/accruals', { externalId, amountMinor: rub * 100, currency: 'RUB', occurredAt });
    await accrue('grocer', 'g1', 10_000, '2026-09-10T10:00:00Z');
    await accrue('cafe', 'c1', 4_000, '2026-09-12T10:00:00Z');
    await accrue('grocer', 'g2', 5_000, '2026-09-20T10:00:00Z');
    await post('grocer', '/v1/reversals', { externalId: 'g2-refund', originalExternalId: 'g2', occurredAt: '2026-09-21T10:00:00Z' });
    const spent = await post('cafe', '/v1/redemptions', { externalId: 'c2', points: 30, occurredAt: '2026-09-25T10:00:00Z' });
    await t.http().get(`/v1/members/m1?minPosition=${spent.body.position}`).set(t.admin).expect(200);
    expect(await t.app.get(ExpiryJob).runOnce()).toMatchObject({ lotsExpired: 2, pointsExpired: 110 });
    const head = (await t.store.readAll({ direction: 'backwards', maxCount: 1 }))[0].position;
    await t.http().get(`/v1/members/m1?minPosition=${head}`).set(t.admin).expect(200);
  });
  afterAll(() => t.close());

  const breakage = (body: {
    partners: { partnerId: string; pointsExpiring: number; pointsExpired: number; breakageBps: number | null }[];
  }) => body.partners.map((p) => [p.partnerId, p.pointsExpiring, p.pointsExpired, p.breakageBps]);

  it('counts the expired points of the lots expiring in the window against what those lots issued', async () => {
    const october = await t.http().get('/v1/reports/program?from=2026-10-01&to=2026-11-01').set(t.admin).expect(200);
    expect(breakage(october.body)).toEqual([
      ['cafe', 40, 40, 10_000],
      ['grocer', 100, 70, 7_000],
    ]);
    expect(october.body.total).toMatchObject({ pointsExpiring: 140, pointsExpired: 110, breakageBps: 7_857, outstandingPoints: 0 });
    const september = await t.http().get('/v1/reports/program?from=2026-09-01&to=2026-10-01').set(t.admin).expect(200);
    expect(breakage(september.body)).toEqual([
      ['cafe', 0, 0, null],
      ['grocer', 0, 0, null],
    ]);
    expect(september.body.partners.map((p: { outstandingPoints: number }) => p.outstandingPoints)).toEqual([40, 70]);
  });
});
