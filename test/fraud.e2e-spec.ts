import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { SeededCoalition, TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

/** Issue 14 §5, fraud controls over HTTP on SQLite: blocked and replaced cards, velocity limits, suspended partners. */

const AT = '2026-11-20T11:00:00Z';
const CARD = cardNumber(1);
const NEW_CARD = cardNumber(2);
type Auth = { Authorization: string };

describe('fraud controls over HTTP on sqlite', () => {
  let t: TestApp;
  let c: SeededCoalition;
  let keys: Record<'finance' | 'auditor', Auth>;
  const eventCount = async () => (await t.store.readAll()).length;
  const post = (path: string, as: Auth, body?: object) => t.http().post(path).set(as).send(body);
  const accrue = (externalId: string, amountMinor = 1_000_000, as: Auth = c.partners.grocer, occurredAt = AT) =>
    post('/v1/accruals', as, { externalId, memberId: 'm-1', amountMinor, currency: 'RUB', occurredAt });
  const redeem = (externalId: string, points: number, as: Auth = c.partners.cafe) =>
    post('/v1/redemptions', as, { externalId, memberId: 'm-1', points, occurredAt: AT });

  /** A refused request answers `status` with `code` and writes nothing. */
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
    c = await seedCoalition(t, ['grocer', 'cafe', 'shop']);
    const staffKey = async (role: string) => ({
      Authorization: `Bearer ${(await t.http().post('/v1/keys').set(t.admin).send({ role }).expect(201)).body.key}`,
    });
    keys = { finance: await staffKey('finance'), auditor: await staffKey('auditor') };
    await post('/v1/members', c.partners.grocer, { memberId: 'm-1', cardNumber: CARD }).expect(201);
    // 100 points issued by grocer (1 point per 100 RUB).
    await accrue('a-1').expect(201);
  });
  afterEach(() => t.close());

  describe('a blocked card', () => {
    const block = (as: Auth, card = CARD, body: object = { reason: 'card number sold online' }) =>
      post(`/v1/cards/${card}/block`, as, body);

    it('the partner that enrolled the member blocks it: accruals, redemptions and holds are refused, a refund still goes through', async () => {
      const res = await block(c.partners.grocer).expect(200);
      expect(res.body).toEqual({ memberId: 'm-1', cardNumber: CARD, blocked: true, position: expect.any(Number) });
      const last = (await t.store.readStream('member-m-1')).at(-1)!;
      expect({ type: last.type, data: last.data }).toEqual({
        type: 'CardBlocked',
        data: {
          memberId: 'm-1',
          cardNumber: CARD,
          reason: 'card number sold online',
          blockedBy: 'grocer',
          occurredAt: '2026-11-20T12:00:00.000Z',
        },
      });
      await refused(() => accrue('a-2'), 422, 'card_blocked');
      await refused(() => redeem('r-1', 10), 422, 'card_blocked');
      await refused(
        () => post('/v1/holds', c.partners.shop, { externalId: 'h-1', memberId: 'm-1', points: 5, ttlSeconds: 600, occurredAt: AT }),
        422,
        'card_blocked',
      );
      const refund = await post('/v1/reversals', c.partners.grocer, {
        externalId: 'rev-1',
        memberId: 'm-1',
        originalExternalId: 'a-1',
        occurredAt: AT,
      }).expect(201);
      expect(refund.body.points).toBe(100);
    });

    it('refuses the capture of a hold placed before the block', async () => {
      await post('/v1/holds', c.partners.shop, { externalId: 'h-1', memberId: 'm-1', points: 5, ttlSeconds: 600, occurredAt: AT }).expect(
        201,
      );
      await block(t.admin).expect(200);
      await refused(
        () => post('/v1/holds/shop:h-1/capture', c.partners.shop, { externalId: 'cap-1', occurredAt: AT }),
        422,
        'card_blocked',
      );
      await post('/v1/holds/shop:h-1/release', c.partners.shop, { externalId: 'rel-1' }).expect(201);
    });

    it('an admin may block; blocking again records nothing', async () => {
      await block(t.admin).expect(200);
      const before = await eventCount();
      const again = await block(c.partners.grocer).expect(200);
      expect(again.body.position).toBeNull();
      expect(await eventCount()).toBe(before);
    });

    it('is unknown (404) to another partner, and to everyone for a card never issued; closed to finance and auditors', async () => {
      await refused(() => block(c.partners.cafe), 404, 'card_not_found');
      await refused(() => block(t.admin, cardNumber(99)), 404, 'card_not_found');
      await refused(() => block(keys.finance), 403);
      await refused(() => block(keys.auditor), 403);
    });

    it('refuses bad input naming the field: a card number that fails Luhn, a missing or blank reason, an unknown field', async () => {
      const field = async (send: () => PromiseLike<{ status: number; body: any }>, name: string) =>
        expect((await refused(send, 400)).details).toEqual(expect.arrayContaining([expect.objectContaining({ field: name })]));
      await field(() => block(t.admin, '4000000000000001'), 'cardNumber');
      await field(() => block(t.admin, CARD, {}), 'reason');
      await field(() => block(t.admin, CARD, { reason: '' }), 'reason');
      await field(() => block(t.admin, CARD, { reason: 'x', memberId: 'm-1' }), 'memberId');
    });
  });

  describe('a replacement card', () => {
    const replace = (as: Auth, body: object = { cardNumber: NEW_CARD }, memberId = 'm-1') =>
      post(`/v1/members/${memberId}/cards`, as, body);
    const lookup = (card: string) => t.http().get(`/v1/members?cardNumber=${card}`).set(t.admin);

    it('carries the balance, ends the block, and the card lookup finds the member by the new card only', async () => {
      await post(`/v1/cards/${CARD}/block`, c.partners.grocer, { reason: 'stolen' }).expect(200);
      const res = await replace(c.partners.grocer).expect(201);
      expect(res.body).toEqual({ memberId: 'm-1', cardNumber: NEW_CARD, blocked: false, position: expect.any(Number) });
      const member = await t.http().get(`/v1/members/m-1?minPosition=${res.body.position}`).set(t.admin).expect(200);
      expect(member.body.available).toBe(100);
      await accrue('a-2').expect(201);
      expect((await lookup(NEW_CARD).expect(200)).body).toEqual({ memberId: 'm-1', cardNumber: NEW_CARD });
      await lookup(CARD).expect(404);
      // The old number is no longer the member's: it cannot be blocked, nor claimed by anyone.
      await refused(() => post(`/v1/cards/${CARD}/block`, t.admin, { reason: 'x' }), 404, 'card_not_found');
      await refused(() => post('/v1/members', c.partners.cafe, { memberId: 'm-2', cardNumber: CARD }), 409, 'card_in_use');
      expect((await t.store.readStream(`card-${CARD}`)).map((e) => e.type)).toEqual(['CardClaimed', 'CardRetired']);
    });

    it('a retry of the same replacement answers again and records nothing', async () => {
      await replace(t.admin).expect(201);
      const before = await eventCount();
      const again = await replace(t.admin).expect(201);
      expect(again.headers['idempotent-replay']).toBe('true');
      expect(await eventCount()).toBe(before);
    });

    it('refuses a card another member holds (409), and is unknown to another partner (404)', async () => {
      await post('/v1/members', c.partners.cafe, { memberId: 'm-2', cardNumber: cardNumber(3) }).expect(201);
      await refused(() => replace(t.admin, { cardNumber: cardNumber(3) }), 409, 'card_in_use');
      await refused(() => replace(c.partners.cafe), 404, 'member_not_found');
      await refused(() => replace(t.admin, { cardNumber: NEW_CARD }, 'nobody'), 404, 'member_not_found');
      await refused(() => replace(keys.finance), 403);
      const bad = await refused(() => replace(t.admin, { cardNumber: '123' }), 400);
      expect(bad.details).toEqual([expect.objectContaining({ field: 'cardNumber' })]);
    });
  });

  describe('velocity limits', () => {
    const limits = (maxAccrualsPerMemberPerHour: number, maxPointsPerMemberPerDay: number) =>
      t
        .http()
        .put('/v1/program')
        .set(t.admin)
        .send({
          effectiveFrom: '2026-11-01T00:00:00Z',
          tiers: [],
          bonuses: {},
          limits: { maxAccrualsPerMemberPerHour, maxPointsPerMemberPerDay },
        })
        .expect(200);

    it('over the hourly count: 422 velocity_limit, the attempt flagged on the member and listed for auditors and admins', async () => {
      await limits(2, 1_000_000);
      await accrue('a-2').expect(201); // a-1 and a-2 in the 11:00 hour
      const before = await eventCount();
      const res = await accrue('a-3').expect(422);
      expect(res.body.code).toBe('velocity_limit');
      // The deliberate exception to "a refusal writes nothing": the flag, and nothing else.
      expect(await eventCount()).toBe(before + 1);
      const flagged = (await t.store.readStream('member-m-1')).at(-1)!;
      expect(flagged.type).toBe('SuspiciousActivityFlagged');
      const report = await t.http().get(`/v1/reports/flags?minPosition=${flagged.position}`).set(keys.auditor).expect(200);
      expect(report.body).toEqual({
        flags: [
          {
            position: flagged.position,
            memberId: 'm-1',
            txId: 'grocer:a-3',
            partnerId: 'grocer',
            rule: 'max_accruals_per_hour',
            limit: 2,
            observed: 3,
            window: '2026-11-20T11',
            amountMinor: 1_000_000,
            points: 100,
            occurredAt: '2026-11-20T11:00:00.000Z',
          },
        ],
        asOfPosition: expect.any(Number),
      });
      expect((await t.http().get('/v1/reports/flags?memberId=m-1').set(t.admin).expect(200)).body.flags).toHaveLength(1);
      expect((await t.http().get('/v1/reports/flags?memberId=m-9').set(t.admin).expect(200)).body.flags).toEqual([]);
      await t.http().get('/v1/reports/flags').set(keys.finance).expect(403);
      await t.http().get('/v1/reports/flags').set(c.partners.grocer).expect(403);
      // The same attempt again is refused again, and not flagged twice; nothing was reserved for its txId.
      await refused(() => accrue('a-3'), 422, 'velocity_limit');
      expect((await t.store.readStream('transaction-grocer:a-3')).length).toBe(0);
      // The next clock hour is a new window.
      await accrue('a-4', 1_000_000, c.partners.grocer, '2026-11-20T11:59:59Z').expect(422);
      await accrue('a-5', 1_000_000, c.partners.grocer, '2026-11-20T10:00:00Z').expect(201);
    });

    it('over the daily points: 422 velocity_limit naming the rule in the flag', async () => {
      await limits(100, 250);
      await accrue('a-2').expect(201); // 200 points today
      await accrue('a-3', 600_000).expect(422); // 60 more would make 260
      const flags = (await t.http().get('/v1/reports/flags').set(t.admin).expect(200)).body.flags;
      expect(flags).toEqual([expect.objectContaining({ rule: 'max_points_per_day', limit: 250, observed: 260, window: '2026-11-20' })]);
      await accrue('a-4', 500_000).expect(201); // exactly 250
    });

    it('applies the limits in force at the business date: none before the programme starts', async () => {
      await limits(1, 1);
      await accrue('old-1', 1_000_000, c.partners.grocer, '2026-10-15T10:00:00Z').expect(201);
      await accrue('old-2', 1_000_000, c.partners.grocer, '2026-10-15T10:05:00Z').expect(201);
    });
  });

  describe('a suspended partner', () => {
    const suspend = (partnerId: string, as: Auth = t.admin, body: object = { reason: 'unpaid invoices' }) =>
      post(`/v1/partners/${partnerId}/suspend`, as, body);

    it('posts nothing (422 partner_suspended) while its points stay spendable elsewhere; reinstated, it posts again', async () => {
      const res = await suspend('grocer').expect(200);
      expect(res.body).toEqual({ partnerId: 'grocer', status: 'suspended', position: expect.any(Number) });
      await refused(() => accrue('a-2'), 422, 'partner_suspended');
      await refused(() => redeem('r-0', 1, c.partners.grocer), 422, 'partner_suspended');
      await refused(() => post('/v1/members', c.partners.grocer, { memberId: 'm-2', cardNumber: cardNumber(4) }), 422, 'partner_suspended');
      // The member spends grocer's points at the cafe.
      const spent = await redeem('r-1', 60).expect(201);
      expect(spent.body.allocations).toEqual([{ issuerPartnerId: 'grocer', points: 60 }]);
      const again = await suspend('grocer').expect(200);
      expect(again.body.position).toBeNull();
      const back = await post('/v1/partners/grocer/reinstate', t.admin).expect(200);
      expect(back.body).toEqual({ partnerId: 'grocer', status: 'active', position: expect.any(Number) });
      await accrue('a-2').expect(201);
      const types = (await t.store.readStream('partner-grocer')).map((e) => e.type);
      expect(types.filter((x) => x === 'PartnerSuspended' || x === 'PartnerReinstated')).toEqual(['PartnerSuspended', 'PartnerReinstated']);
    });

    it('only the admin suspends or reinstates; an unknown partner is 404; a reason is required', async () => {
      for (const as of [c.partners.grocer, keys.finance, keys.auditor]) {
        await refused(() => suspend('cafe', as), 403);
        await refused(() => post('/v1/partners/cafe/reinstate', as), 403);
      }
      await refused(() => suspend('nobody'), 404, 'partner_not_found');
      await refused(() => post('/v1/partners/nobody/reinstate', t.admin), 404, 'partner_not_found');
      const bad = await refused(() => suspend('cafe', t.admin, {}), 400);
      expect(bad.details).toEqual([expect.objectContaining({ field: 'reason' })]);
    });
  });

  it('verify is green over a history with every fraud event', async () => {
    await t
      .http()
      .put('/v1/program')
      .set(t.admin)
      .send({
        effectiveFrom: '2026-11-01T00:00:00Z',
        tiers: [],
        bonuses: {},
        limits: { maxAccrualsPerMemberPerHour: 2, maxPointsPerMemberPerDay: 1_000 },
      })
      .expect(200);
    await accrue('a-2').expect(201);
    await accrue('a-3').expect(422);
    await post(`/v1/cards/${CARD}/block`, c.partners.grocer, { reason: 'stolen' }).expect(200);
    await post('/v1/members/m-1/cards', c.partners.grocer, { cardNumber: NEW_CARD }).expect(201);
    await post('/v1/partners/shop/suspend', t.admin, { reason: 'audit' }).expect(200);
    const head = (await t.store.readAll({ direction: 'backwards', maxCount: 1 }))[0].position;
    await t.http().get(`/v1/members/m-1?minPosition=${head}`).set(t.admin).expect(200);
    const res = await t.http().get('/v1/audit/verify').set(keys.auditor).expect(200);
    expect({ ok: res.body.ok, first: res.body.firstDivergence }).toEqual({ ok: true, first: null });
    expect(res.body.checks.find((x: { name: string }) => x.name === 'read_model')).toMatchObject({ status: 'passed' });
    const replay = await t.http().get('/v1/audit/streams/member-m-1').set(keys.auditor).expect(200);
    expect(replay.body.events.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['SuspiciousActivityFlagged', 'CardBlocked', 'CardReplaced']),
    );
  });
});
