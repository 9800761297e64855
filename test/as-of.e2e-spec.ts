import { MemoryEventStore } from '@ledger/event-store';
import { SeededCoalition, TEST_NOW, TestApp, cardNumber, seedCoalition, startTestApp } from '@ledger/testing';

/** `?asOf=` on the balance and position endpoints: the past, folded from the events. */
describe('GET … ?asOf=', () => {
  let t: TestApp;
  let c: SeededCoalition;
  beforeEach(async () => {
    // Recorded at the pinned test time: an as-of read judges expiry at the recorded time, and
    // the lots here expire in 2028.
    t = await startTestApp(new MemoryEventStore(() => new Date(TEST_NOW)));
    c = await seedCoalition(t, ['grocer', 'cafe']);
    await t
      .http()
      .post('/v1/members')
      .set(c.partners.grocer)
      .send({ memberId: 'm', cardNumber: cardNumber(5) })
      .expect(201);
  });
  afterEach(() => t.close());

  it('answers a member balance and a partner position as they were at a position, whatever happened since', async () => {
    const first = await t
      .http()
      .post('/v1/accruals')
      .set(c.partners.grocer)
      .send({ externalId: 'a', memberId: 'm', amountMinor: 300_000, currency: 'RUB', occurredAt: '2026-11-20T10:00:00Z' })
      .expect(201);
    const redeemed = await t
      .http()
      .post('/v1/redemptions')
      .set(c.partners.cafe)
      .send({ externalId: 'r', memberId: 'm', points: 20, occurredAt: '2026-11-20T11:00:00Z' })
      .expect(201);
    const now = await t.http().get(`/v1/members/m?minPosition=${redeemed.body.position}`).set(t.admin).expect(200);
    expect(now.body.available).toBe(10);
    const then = await t.http().get(`/v1/members/m?asOf=${first.body.position}`).set(t.admin).expect(200);
    expect(then.body).toMatchObject({ memberId: 'm', available: 30, lifetimeAccrued: 30, lifetimeRedeemed: 0 });
    const pos = await t.http().get(`/v1/partners/grocer/position?asOf=${first.body.position}`).set(c.partners.grocer).expect(200);
    expect(pos.body).toMatchObject({ partnerId: 'grocer', pointsIssued: 30, pointsRedeemedElsewhere: 0, pointsOutstanding: 30 });
    const nowPos = await t
      .http()
      .get(`/v1/partners/grocer/position?minPosition=${redeemed.body.position}`)
      .set(c.partners.grocer)
      .expect(200);
    expect(nowPos.body).toMatchObject({ pointsRedeemedElsewhere: 20, pointsOutstanding: 10 });
  });

  it("refuses a malformed asOf with 400 and another partner's position with 403", async () => {
    const bad = await t.http().get('/v1/members/m?asOf=yesterday').set(t.admin).expect(400);
    expect(bad.body.details).toEqual([expect.objectContaining({ field: 'asOf' })]);
    await t.http().get('/v1/partners/grocer/position?asOf=0').set(c.partners.cafe).expect(403);
  });
});
