import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { SeededCoalition, TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

/**
 * Issue 14 §4, paid membership over HTTP on SQLite: a partner sells a plan, accruals inside
 * its window earn at its multiplier, it lapses by date, unknown plans are 404, retries replay.
 * The test clock stands at 2026-11-20T12:00Z; seeded partners earn 1 point per 100 RUB.
 */

type Auth = { Authorization: string };

const PROGRAM = {
  effectiveFrom: '2026-10-01T00:00:00Z',
  tiers: [],
  bonuses: {},
  limits: { maxAccrualsPerMemberPerHour: 100, maxPointsPerMemberPerDay: 1_000_000 },
  plans: [{ planId: 'plus', feeMinor: 99_000, months: 1, multiplierBps: 15_000 }],
};
/** Sold on 19 October: valid to 19 November (exclusive), a day before the clock. */
const SALE = { externalId: 'plan-1', planId: 'plus', occurredAt: '2026-10-19T00:00:00Z' };

describe('paid membership over HTTP on sqlite', () => {
  let t: TestApp;
  let c: SeededCoalition;
  const eventCount = async () => (await t.store.readAll()).length;
  const post = (path: string, as: Auth, body?: object) => t.http().post(path).set(as).send(body);
  const accrue = (externalId: string, occurredAt: string) =>
    post('/v1/accruals', c.partners.cafe, { externalId, memberId: 'm-1', amountMinor: 100_000, currency: 'RUB', occurredAt });

  async function refused(send: () => PromiseLike<{ status: number; body: any }>, status: number, code?: string) {
    const before = await eventCount();
    const res = await send();
    expect({ status: res.status, code: code === undefined ? undefined : res.body.code }).toEqual({ status, code });
    expect(await eventCount()).toBe(before);
    return res.body;
  }

  beforeEach(async () => {
    const dir = tempDir();
    t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir });
    c = await seedCoalition(t, ['grocer', 'cafe']);
    await post('/v1/members', c.partners.grocer, { memberId: 'm-1', cardNumber: cardNumber(1) }).expect(201);
  });
  afterEach(() => t.close());

  it('without a programme a sale is 404 program_not_found, writing nothing', async () => {
    await refused(() => post('/v1/members/m-1/membership', c.partners.grocer, SALE), 404, 'program_not_found');
  });

  describe('under a programme with a plan', () => {
    beforeEach(async () => {
      await t.http().put('/v1/program').set(t.admin).send(PROGRAM).expect(200);
    });

    it('a sale records MembershipPurchased with its fee and window; a retry answers the same; another date under its id is 409', async () => {
      const first = await post('/v1/members/m-1/membership', c.partners.grocer, SALE).expect(201);
      expect(first.body).toEqual({
        txId: 'grocer:plan-1',
        memberId: 'm-1',
        planId: 'plus',
        feeMinor: 99_000,
        currency: 'RUB',
        validFrom: '2026-10-19T00:00:00.000Z',
        validUntil: '2026-11-19T00:00:00.000Z',
        multiplierBps: 15_000,
        tierFloor: null,
        position: expect.any(Number),
      });
      const before = await eventCount();
      const again = await post('/v1/members/m-1/membership', c.partners.grocer, SALE).expect(201);
      expect(again.headers['idempotent-replay']).toBe('true');
      expect(again.body).toEqual(first.body);
      expect(await eventCount()).toBe(before);
      await refused(
        () => post('/v1/members/m-1/membership', c.partners.grocer, { ...SALE, occurredAt: '2026-10-20T00:00:00Z' }),
        409,
        'idempotency_conflict',
      );
      const events = await t.store.readStream('member-m-1');
      expect(events.filter((e) => e.type === 'MembershipPurchased').map((e) => e.data)).toEqual([
        expect.objectContaining({ txId: 'grocer:plan-1', partnerId: 'grocer', planId: 'plus', feeMinor: 99_000, multiplierBps: 15_000 }),
      ]);
    });

    it('accruals dated inside the window earn ×1.5 (plan recorded as the source); from validUntil on the plan has lapsed, with no request', async () => {
      await post('/v1/members/m-1/membership', c.partners.grocer, SALE).expect(201);
      // 1,000 RUB: 10 base points.
      const before = await accrue('a-0', '2026-10-18T23:59:59Z').expect(201);
      expect(before.body.points).toBe(10);
      const inside = await accrue('a-1', '2026-11-18T23:59:59Z').expect(201);
      expect(inside.body.points).toBe(15);
      const lapsed = await accrue('a-2', '2026-11-19T00:00:00Z').expect(201);
      expect(lapsed.body.points).toBe(10);
      const explained = await t.http().get('/v1/members/m-1/transactions/cafe:a-1').set(t.admin).expect(200);
      expect(JSON.stringify(explained.body)).toContain('"source":"plan"');
    });

    it('an unknown plan is 404 plan_not_found naming it, an unknown member 404; bad input 400 naming the field; nothing written', async () => {
      const unknown = await refused(
        () => post('/v1/members/m-1/membership', c.partners.grocer, { ...SALE, planId: 'gold-pass' }),
        404,
        'plan_not_found',
      );
      expect(unknown.message).toContain('gold-pass');
      await refused(() => post('/v1/members/nobody/membership', c.partners.grocer, SALE), 404, 'member_not_found');
      const bad = await refused(() => post('/v1/members/m-1/membership', c.partners.grocer, { ...SALE, planId: 'Not A Plan' }), 400);
      expect(bad.details).toEqual([expect.objectContaining({ field: 'planId' })]);
      const noDate = await refused(() => post('/v1/members/m-1/membership', c.partners.grocer, { externalId: 'x', planId: 'plus' }), 400);
      expect(noDate.details).toEqual([expect.objectContaining({ field: 'occurredAt' })]);
    });

    it('only a partner sells plans: an admin key is 403, writing nothing', async () => {
      await refused(() => post('/v1/members/m-1/membership', t.admin, SALE), 403);
    });
  });
});
