import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { SeededCoalition, TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

/** POST /v1/reversals with `points`: parts of an accrual or of a redemption, up to the original. */
describe('partial reversals over HTTP on sqlite', () => {
  let t: TestApp;
  let c: SeededCoalition;
  const eventCount = async () => (await t.store.readAll()).length;
  const reverse = (as: string, body: Record<string, unknown>) =>
    t
      .http()
      .post('/v1/reversals')
      .set(c.partners[as])
      .send({ memberId: 'm-1', occurredAt: '2026-11-19T10:00:00Z', ...body });

  async function refused(send: () => PromiseLike<{ status: number; body: any }>, status: number, code: string) {
    const before = await eventCount();
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
    expect(await eventCount()).toBe(before);
    return res.body;
  }

  beforeEach(async () => {
    const dir = tempDir();
    t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir });
    c = await seedCoalition(t, ['grocer', 'cafe']);
    await t
      .http()
      .post('/v1/members')
      .set(c.partners.grocer)
      .send({ memberId: 'm-1', cardNumber: cardNumber(1) })
      .expect(201);
  });
  afterEach(() => t.close());

  async function accrueAndSpend(accruedAt = '2026-11-10T10:00:00Z', spentAt = '2026-11-12T10:00:00Z') {
    await t
      .http()
      .post('/v1/accruals')
      .set(c.partners.grocer)
      .send({ externalId: 'r-1', memberId: 'm-1', amountMinor: 2_500_000, currency: 'RUB', occurredAt: accruedAt })
      .expect(201); // 250 points
    await t
      .http()
      .post('/v1/redemptions')
      .set(c.partners.cafe)
      .send({ externalId: 'x-1', memberId: 'm-1', points: 100, occurredAt: spentAt })
      .expect(201);
  }

  it('reverses parts of an accrual and of a redemption up to the original, refusing beyond and writing nothing then', async () => {
    await accrueAndSpend();
    const refund = await reverse('grocer', { externalId: 'refund-1', originalExternalId: 'r-1', points: 100 }).expect(201);
    expect(refund.body).toMatchObject({ kind: 'accrual_reversal', points: 100, balance: 50, expired: [] });
    // 50 of the lot are unspent now: a part larger than that is refused.
    await refused(() => reverse('grocer', { externalId: 'refund-2', originalExternalId: 'r-1', points: 51 }), 422, 'points_already_spent');

    const cancel = await reverse('cafe', { externalId: 'cancel-1', originalExternalId: 'x-1', points: 40 }).expect(201);
    expect(cancel.body).toMatchObject({
      kind: 'redemption_reversal',
      points: 40,
      allocations: [{ issuerPartnerId: 'grocer', points: 40 }],
      expired: [],
      balance: 90,
    });
    const over = await refused(
      () => reverse('cafe', { externalId: 'cancel-2', originalExternalId: 'x-1', points: 61 }),
      422,
      'over_reversal',
    );
    expect(over.details).toEqual([{ field: 'points', reason: 'at most 60 remain to be reversed' }]);
    const rest = await reverse('cafe', { externalId: 'cancel-3', originalExternalId: 'x-1' }).expect(201);
    expect(rest.body).toMatchObject({ points: 60, balance: 150 });
    await refused(() => reverse('cafe', { externalId: 'cancel-4', originalExternalId: 'x-1', points: 1 }), 409, 'already_reversed');

    // A retried part answers as before.
    const again = await reverse('cafe', { externalId: 'cancel-1', originalExternalId: 'x-1', points: 40 }).expect(201);
    expect(again.headers['idempotent-replay']).toBe('true');
    expect(again.body).toEqual(cancel.body);
  });

  it.each([
    ['zero', 0],
    ['negative', -3],
    ['fractional', 2.5],
  ])('400 naming points for a %s part', async (_what, points) => {
    await accrueAndSpend();
    const before = await eventCount();
    const res = await reverse('grocer', { externalId: 'refund-1', originalExternalId: 'r-1', points }).expect(400);
    expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'points' })]));
    expect(await eventCount()).toBe(before);
  });

  it('a part going back to a lot that expired meanwhile lapses at once, reported in the answer; verify stays green', async () => {
    // One-month expiry: the lot accrued on 25 September expires on 25 October.
    await t.http().put('/v1/coalition').set(t.admin).send({ currency: 'RUB', pointValueMinor: 10, expiryMonths: 1 }).expect(200);
    await accrueAndSpend('2026-09-25T10:00:00Z', '2026-10-20T10:00:00Z');
    const res = await reverse('cafe', { externalId: 'cancel-1', originalExternalId: 'x-1', points: 30 }).expect(201);
    expect(res.body).toMatchObject({
      points: 30,
      expired: [{ lotId: 'grocer:r-1', issuerPartnerId: 'grocer', points: 30, expiresAt: '2026-10-25T10:00:00.000Z' }],
      // The member's one lot expired on 25 October: nothing is spendable, lapse recorded or not.
      balance: 0,
    });
    const types = (await t.store.readStream('member-m-1')).map((e) => e.type).slice(-2);
    expect(types).toEqual(['RedemptionReversed', 'PointsExpired']);
    const auditor = await t.http().post('/v1/keys').set(t.admin).send({ role: 'auditor' }).expect(201);
    await t.http().get(`/v1/members/m-1?minPosition=${res.body.position}`).set(t.admin).expect(200);
    const report = await t
      .http()
      .get('/v1/audit/verify')
      .set({ Authorization: `Bearer ${auditor.body.key}` })
      .expect(200);
    expect(report.body.ok).toBe(true);
  });
});
