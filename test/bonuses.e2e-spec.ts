import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { SeededCoalition, TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

/** Issue 14 §3, bonuses over HTTP on SQLite: surprise, actions with caps, welcome and referral. */

const AT = '2026-11-20T11:00:00Z';
type Auth = { Authorization: string };

const PROGRAM = {
  effectiveFrom: '2026-11-01T00:00:00Z',
  tiers: [],
  bonuses: {
    welcome: { points: 100, sponsor: 'operator' },
    referral: { points: 200, sponsor: 'cafe' },
    actions: { review: { points: 50, sponsor: 'grocer', capPerMonth: 2 } },
  },
  limits: { maxAccrualsPerMemberPerHour: 100, maxPointsPerMemberPerDay: 1_000_000 },
};

describe('bonuses over HTTP on sqlite', () => {
  let t: TestApp;
  let c: SeededCoalition;
  const eventCount = async () => (await t.store.readAll()).length;
  const post = (path: string, as: Auth, body?: object) => t.http().post(path).set(as).send(body);
  const stream = async (memberId: string) =>
    (await t.store.readStream(`member-${memberId}`)).map((e) => ({ type: e.type, data: e.data as any }));

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
    c = await seedCoalition(t, ['grocer', 'cafe']);
    await t.http().put('/v1/program').set(t.admin).send(PROGRAM).expect(200);
    await post('/v1/members', c.partners.grocer, { memberId: 'm-1', cardNumber: cardNumber(1) }).expect(201);
  });
  afterEach(() => t.close());

  it('enrolment under a welcome bonus writes the bonus in the same append, issued by the operator', async () => {
    const events = await stream('m-1');
    expect(events.map((e) => e.type)).toEqual(['MemberEnrolled', 'BonusAwarded']);
    expect(events[1].data).toMatchObject({ kind: 'welcome', points: 100, issuerPartnerId: 'operator', txId: 'bonus_welcome:m-1' });
    const member = await t.http().get('/v1/members/m-1?minPosition=0').set(t.admin).expect(200);
    expect(member.body.available).toBe(100);
  });

  it('a partner surprise is sponsored by it, an admin surprise by the operator; a retry answers the same, another payload is 409', async () => {
    const body = { externalId: 's-1', memberId: 'm-1', points: 300, reason: 'sorry for the wait' };
    const first = await post('/v1/bonuses', c.partners.cafe, body).expect(201);
    expect(first.body).toEqual({
      txId: 'cafe:s-1',
      memberId: 'm-1',
      kind: 'surprise',
      sponsor: 'cafe',
      points: 300,
      balance: 400,
      position: expect.any(Number),
    });
    const again = await post('/v1/bonuses', c.partners.cafe, body).expect(201);
    expect(again.headers['idempotent-replay']).toBe('true');
    expect(again.body).toEqual(first.body);
    await refused(() => post('/v1/bonuses', c.partners.cafe, { ...body, points: 301 }), 409, 'idempotency_conflict');
    const admin = await post('/v1/bonuses', t.admin, { ...body, externalId: 's-2' }).expect(201);
    expect(admin.body).toMatchObject({ txId: 'operator:s-2', sponsor: 'operator' });
  });

  it('refuses bad surprise input naming the field, and an unknown member, writing nothing', async () => {
    const body = { externalId: 's-1', memberId: 'm-1', points: 300, reason: 'thanks' };
    const bad = await refused(() => post('/v1/bonuses', c.partners.cafe, { ...body, points: 0 }), 400);
    expect(bad.details).toEqual([expect.objectContaining({ field: 'points' })]);
    const noReason = await refused(() => post('/v1/bonuses', c.partners.cafe, { ...body, reason: '' }), 400);
    expect(noReason.details).toEqual([expect.objectContaining({ field: 'reason' })]);
    await refused(() => post('/v1/bonuses', c.partners.cafe, { ...body, memberId: 'nobody' }), 404, 'member_not_found');
  });

  it('actions: rewarded at the programme points under the monthly cap, then 422 cap_reached; unknown action 404 naming it', async () => {
    const act = (externalId: string, action = 'review', occurredAt = AT) =>
      post('/v1/actions', c.partners.grocer, { externalId, memberId: 'm-1', action, occurredAt });
    expect((await act('a-1').expect(201)).body).toMatchObject({ txId: 'grocer:a-1', kind: 'action', sponsor: 'grocer', points: 50 });
    await act('a-2').expect(201);
    const capped = await refused(() => act('a-3'), 422, 'cap_reached');
    expect(capped.message).toContain('review');
    // A retry of one rewarded is answered, not counted.
    await act('a-2').expect(201);
    const unknown = await refused(() => act('a-4', 'selfie'), 404, 'action_not_found');
    expect(unknown.message).toContain('selfie');
    // A name every plain object inherits is no action of the programme.
    await refused(() => act('a-6', 'constructor'), 404, 'action_not_found');
    await refused(() => act('a-5', 'Not An Action'), 400);
  });

  it('referral: referredBy must name a member other than the new one; both get the bonus after the first purchase, once', async () => {
    const bad = await refused(
      () => post('/v1/members', c.partners.grocer, { memberId: 'm-2', cardNumber: cardNumber(2), referredBy: 'ghost' }),
      400,
      'referrer_not_found',
    );
    expect(bad.details).toEqual([{ field: 'referredBy', reason: expect.stringContaining('ghost') }]);
    await refused(
      () => post('/v1/members', c.partners.grocer, { memberId: 'm-2', cardNumber: cardNumber(2), referredBy: 'm-2' }),
      400,
      'self_referral',
    );
    await post('/v1/members', c.partners.grocer, { memberId: 'm-2', cardNumber: cardNumber(2), referredBy: 'm-1' }).expect(201);
    const purchase = { externalId: 'p-1', memberId: 'm-2', amountMinor: 1_000_000, currency: 'RUB', occurredAt: AT };
    const first = await post('/v1/accruals', c.partners.grocer, purchase).expect(201);
    // 100 welcome + 200 referral + 100 earned.
    expect(first.body.balance).toBe(400);
    await post('/v1/accruals', c.partners.grocer, purchase).expect(201);
    await post('/v1/accruals', c.partners.grocer, { ...purchase, externalId: 'p-2' }).expect(201);
    const referred = (await stream('m-2')).filter((e) => e.type === 'BonusAwarded' && e.data.kind === 'referral');
    const referrer = (await stream('m-1')).filter((e) => e.type === 'BonusAwarded' && e.data.kind === 'referral');
    expect(referred.map((e) => [e.data.txId, e.data.issuerPartnerId, e.data.points])).toEqual([['bonus_referral:m-2', 'cafe', 200]]);
    expect(referrer.map((e) => [e.data.txId, e.data.issuerPartnerId, e.data.points])).toEqual([['bonus_referral:m-1:m-2', 'cafe', 200]]);
  });

  it('the referrer’s bonus lost to a crash after the purchase is given by the retry of that purchase', async () => {
    await post('/v1/members', c.partners.grocer, { memberId: 'm-2', cardNumber: cardNumber(2), referredBy: 'm-1' }).expect(201);
    const purchase = { externalId: 'p-1', memberId: 'm-2', amountMinor: 1_000_000, currency: 'RUB', occurredAt: AT };
    // The crash: the referrer's append fails once, after the purchase is written.
    const append = t.store.appendToStream.bind(t.store);
    let failed = false;
    jest.spyOn(t.store, 'appendToStream').mockImplementation(async (streamId, events, options) => {
      if (!failed && streamId === 'member-m-1') {
        failed = true;
        throw new Error('store lost');
      }
      return append(streamId, events, options);
    });
    const spied = t.store.appendToStreams?.bind(t.store);
    if (spied) {
      jest.spyOn(t.store, 'appendToStreams').mockImplementation(async (appends) => {
        if (!failed && appends.some((a) => a.streamId === 'member-m-1')) {
          failed = true;
          throw new Error('store lost');
        }
        return spied(appends);
      });
    }
    await post('/v1/accruals', c.partners.grocer, purchase).expect(500);
    expect((await stream('m-1')).filter((e) => e.data.kind === 'referral')).toHaveLength(0);
    const retry = await post('/v1/accruals', c.partners.grocer, purchase).expect(201);
    expect(retry.headers['idempotent-replay']).toBe('true');
    expect((await stream('m-1')).filter((e) => e.data.kind === 'referral').map((e) => e.data.txId)).toEqual(['bonus_referral:m-1:m-2']);
  });
});
