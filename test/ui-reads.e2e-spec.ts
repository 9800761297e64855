import { MemoryEventStore } from '@ledger/event-store/memory/memory-event-store';
import { SeededCoalition, TestApp, cardNumber, seedCoalition, startTestApp } from '@ledger/testing';

/** The reads and the verification jobs the web console uses (issue 18), over HTTP. */
describe('console support routes', () => {
  let t: TestApp;
  let c: SeededCoalition;
  let finance: { Authorization: string };
  let auditor: { Authorization: string };

  const post = (path: string, who: Record<string, string>, body: object) => t.http().post(path).set(who).send(body);
  const get = (path: string, who: Record<string, string>) => t.http().get(path).set(who);
  const eventCount = async () => (await t.store.readAll({ maxCount: 100_000 })).length;

  beforeEach(async () => {
    t = await startTestApp(new MemoryEventStore());
    c = await seedCoalition(t, ['grocer', 'cafe']);
    finance = { Authorization: `Bearer ${(await post('/v1/keys', t.admin, { role: 'finance' })).body.key}` };
    auditor = { Authorization: `Bearer ${(await post('/v1/keys', t.admin, { role: 'auditor' })).body.key}` };
    await post('/v1/members', c.partners.grocer, { memberId: 'm-1', cardNumber: cardNumber(1) }).expect(201);
    await post('/v1/accruals', c.partners.grocer, {
      externalId: 'g1',
      memberId: 'm-1',
      amountMinor: 1_000_000,
      currency: 'RUB',
      occurredAt: '2026-10-05T10:00:00Z',
    }).expect(201);
    await post('/v1/accruals', c.partners.cafe, {
      externalId: 'c1',
      memberId: 'm-1',
      amountMinor: 200_000,
      currency: 'RUB',
      occurredAt: '2026-11-06T10:00:00Z',
    }).expect(201);
    const last = await post('/v1/redemptions', c.partners.cafe, {
      externalId: 'x1',
      memberId: 'm-1',
      points: 70,
      occurredAt: '2026-11-10T19:00:00Z',
    });
    expect(last.status).toBe(201);
    // The monthly sums come from the read models: wait until they hold the last write.
    await get(`/v1/members/m-1?minPosition=${last.body.position}`, finance).expect(200);
  });
  afterEach(() => t.close());

  it('GET /v1/session names the key’s role and partner; a bad key is 401', async () => {
    expect((await get('/v1/session', c.partners.cafe).expect(200)).body).toEqual({
      keyId: expect.any(String),
      role: 'partner',
      partnerId: 'cafe',
    });
    expect((await get('/v1/session', auditor).expect(200)).body).toMatchObject({ role: 'auditor', partnerId: null });
    const bad = await get('/v1/session', { Authorization: 'Bearer nope' }).expect(401);
    expect(bad.body.message).toContain('unknown or revoked');
  });

  it('GET /v1/activity/monthly sums points by business month; a partner sees its own only', async () => {
    const all = (await get('/v1/activity/monthly', finance).expect(200)).body;
    expect(all.months).toEqual([
      { month: '2026-10', pointsIssued: 100, pointsRedeemed: 0, pointsAccrualReversed: 0, pointsRedemptionReversed: 0 },
      { month: '2026-11', pointsIssued: 20, pointsRedeemed: 70, pointsAccrualReversed: 0, pointsRedemptionReversed: 0 },
    ]);
    const grocer = (await get('/v1/activity/monthly', c.partners.grocer).expect(200)).body;
    expect(grocer).toEqual({
      partnerId: 'grocer',
      months: [{ month: '2026-10', pointsIssued: 100, pointsRedeemed: 0, pointsAccrualReversed: 0, pointsRedemptionReversed: 0 }],
    });
  });

  it('GET /v1/settlements lists the months with their state; close-preview shows the cut-off a close would use', async () => {
    const periods = (await get('/v1/settlements', auditor).expect(200)).body;
    expect(periods.map((p: { periodId: string }) => p.periodId)).toEqual(['2026-10', '2026-11']);
    expect(periods[0]).toMatchObject({ status: 'open', ended: true, cutoffPosition: null });
    expect(periods[1]).toMatchObject({ status: 'open', ended: false });

    const head = (await t.store.readAll({ direction: 'backwards', maxCount: 1 }))[0];
    const preview = (await get('/v1/settlements/2026-10/close-preview', finance).expect(200)).body;
    expect(preview).toMatchObject({
      periodId: '2026-10',
      closable: true,
      reason: null,
      cutoffPositionNow: head.position,
      headRecordedAt: head.recordedAt,
    });
    const notEnded = (await get('/v1/settlements/2026-11/close-preview', finance).expect(200)).body;
    expect(notEnded).toMatchObject({ closable: false, reason: expect.stringContaining('has not ended') });
    await get('/v1/settlements/2026-10/close-preview', auditor).expect(403);
    await get('/v1/settlements/2026-13/close-preview', finance).expect(400);

    const before = await eventCount();
    const closed = (await post('/v1/settlements', finance, { periodId: '2026-10' }).expect(201)).body;
    expect(closed.cutoffPosition).toBe(preview.cutoffPositionNow);
    // The close's place in the close sequence, then the close and its statement.
    expect(await eventCount()).toBe(before + 3);
    const after = (await get('/v1/settlements/2026-10/close-preview', finance).expect(200)).body;
    expect(after).toMatchObject({ status: 'closed', closable: false, cutoffPosition: closed.cutoffPosition });
    expect((await get('/v1/settlements', finance).expect(200)).body[0]).toMatchObject({ periodId: '2026-10', status: 'closed' });
  });

  it('GET /v1/members?cardNumber= finds the member; unknown card 404, bad Luhn 400', async () => {
    expect((await get(`/v1/members?cardNumber=${cardNumber(1)}`, auditor).expect(200)).body).toEqual({
      memberId: 'm-1',
      cardNumber: cardNumber(1),
    });
    await get(`/v1/members?cardNumber=${cardNumber(2)}`, auditor).expect(404);
    const bad = await get('/v1/members?cardNumber=4111111111111112', auditor).expect(400);
    expect(bad.body.details).toEqual([{ field: 'cardNumber', reason: expect.stringContaining('Luhn') }]);
  });

  it('GET /v1/members/{id}/history: staff see every event with the balance after it; partners use their own member view', async () => {
    const staff = (await get('/v1/members/m-1/history', finance).expect(200)).body;
    expect(staff.events.map((e: { type: string }) => e.type)).toEqual([
      'MemberEnrolled',
      'PointsAccrued',
      'PointsAccrued',
      'PointsRedeemed',
    ]);
    expect(staff.events[3].balanceAfter.available).toBe(50);
    await get('/v1/members/m-1/history', c.partners.cafe).expect(403);
    await get('/v1/members/nobody/history', finance).expect(404);
  });

  it('POST /v1/audit/verifications runs verify in the background: 202, then progress and a green report', async () => {
    const before = await eventCount();
    const started = await post('/v1/audit/verifications', auditor, {}).expect(202);
    expect(started.headers.location).toBe(`/v1/audit/verifications/${started.body.jobId}`);
    let job = (await get(`/v1/audit/verifications/${started.body.jobId}`, auditor).expect(200)).body;
    for (let polls = 0; job.status === 'running' && polls < 200; polls++) {
      await new Promise((r) => setTimeout(r, 25));
      job = (await get(`/v1/audit/verifications/${started.body.jobId}`, auditor).expect(200)).body;
    }
    expect(job).toMatchObject({ status: 'done', error: null, report: { ok: true, firstDivergence: null } });
    expect(job.progress).toMatchObject({ phase: expect.any(String), done: expect.any(Number), total: expect.any(Number) });
    expect(await eventCount()).toBe(before);
    await post('/v1/audit/verifications', finance, {}).expect(403);
    await post('/v1/audit/verifications', auditor, { period: 'October' }).expect(400);
    await get('/v1/audit/verifications/6f1d2c3b-1a2b-4c3d-8e9f-0a1b2c3d4e5f', auditor).expect(404);
    await get('/v1/audit/verifications/not-a-job', auditor).expect(400);
  });
});
