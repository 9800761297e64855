import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { join } from 'node:path';
import { SeededCoalition, TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

/** The HTTP surface of the walking skeleton, on the real app over the SQLite adapter. */
describe('HTTP API on sqlite', () => {
  let t: TestApp;
  let c: SeededCoalition;
  const NOW_ISH = '2026-11-20T11:00:00Z';

  const eventCount = async () => (await t.store.readAll()).length;
  const accrual = (over: Record<string, unknown> = {}) => ({
    externalId: 'r-1',
    memberId: 'm-1',
    amountMinor: 250_000,
    currency: 'RUB',
    occurredAt: NOW_ISH,
    ...over,
  });

  beforeEach(async () => {
    const dir = tempDir();
    t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir });
    c = await seedCoalition(t, ['grocer', 'cafe', 'air']);
    await t
      .http()
      .post('/v1/members')
      .set(c.partners.grocer)
      .send({ memberId: 'm-1', cardNumber: cardNumber(1) })
      .expect(201);
  });
  afterEach(() => t.close());

  /** Sends a request that must be refused, and proves nothing was appended. */
  async function refused(send: () => Promise<{ status: number; body: any }>, status: number) {
    const before = await eventCount();
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({
      statusCode: status,
      error: expect.any(String),
      message: expect.any(String),
      details: expect.any(Array),
    });
    expect(JSON.stringify(res.body)).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack traces
    expect(await eventCount()).toBe(before);
    return res.body;
  }

  it('GET /health needs no key', async () => {
    await t.http().get('/health').expect(200, { status: 'ok' });
  });

  describe('accruals', () => {
    it('earns whole units of the earn rule and answers with txId, points, balance, position', async () => {
      const res = await t
        .http()
        .post('/v1/accruals')
        .set(c.partners.grocer)
        .send(accrual({ amountMinor: 259_999 }))
        .expect(201);
      expect(res.body).toEqual({ txId: 'grocer:r-1', memberId: 'm-1', points: 25, balance: 25, position: expect.any(Number) });
      const [event] = await t.store.readStream('member-m-1', { fromRevision: 1 });
      expect(event.type).toBe('PointsAccrued');
      expect(event.position).toBe(res.body.position);
      expect(event.data).toMatchObject({
        lotId: 'grocer:r-1',
        issuerPartnerId: 'grocer',
        points: 25,
        expiresAt: '2028-11-20T11:00:00.000Z',
      });
      expect(event.metadata).toMatchObject({
        eventId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        correlationId: expect.any(String),
        actor: { role: 'partner', partnerId: 'grocer', keyId: expect.any(String) },
        occurredAt: '2026-11-20T11:00:00.000Z',
        prevHash: expect.stringMatching(/^[0-9a-f]{64}$/),
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
    });

    it('a retry returns the same status and body, marked Idempotent-Replay, and appends nothing', async () => {
      const first = await t.http().post('/v1/accruals').set(c.partners.grocer).send(accrual()).expect(201);
      expect(first.headers['idempotent-replay']).toBeUndefined();
      const before = await eventCount();
      // Even after another transaction moved the balance on, the retry answers as the first time.
      await t
        .http()
        .post('/v1/accruals')
        .set(c.partners.grocer)
        .send(accrual({ externalId: 'r-2' }))
        .expect(201);
      const again = await t.http().post('/v1/accruals').set(c.partners.grocer).send(accrual()).expect(201);
      expect(again.headers['idempotent-replay']).toBe('true');
      expect(again.body).toEqual(first.body);
      // r-2 wrote its reservation and its accrual; the retry of r-1 wrote nothing.
      expect(await eventCount()).toBe(before + 2);
    });

    it('the same externalId with another payload is 409 and writes nothing', async () => {
      await t.http().post('/v1/accruals').set(c.partners.grocer).send(accrual()).expect(201);
      const body = await refused(
        () =>
          t
            .http()
            .post('/v1/accruals')
            .set(c.partners.grocer)
            .send(accrual({ amountMinor: 999_900 })),
        409,
      );
      expect(body.code).toBe('idempotency_conflict');
    });

    it('the same externalId from another partner is another transaction', async () => {
      await t.http().post('/v1/accruals').set(c.partners.grocer).send(accrual()).expect(201);
      const res = await t.http().post('/v1/accruals').set(c.partners.cafe).send(accrual()).expect(201);
      expect(res.body.txId).toBe('cafe:r-1');
    });

    it('100 concurrent identical posts give exactly one PointsAccrued and 100 equal answers', async () => {
      const responses = await Promise.all(
        Array.from({ length: 100 }, () =>
          t
            .http()
            .post('/v1/accruals')
            .set(c.partners.grocer)
            .send(accrual({ externalId: 'burst' })),
        ),
      );
      const events = (await t.store.readStream('member-m-1')).filter((e) => e.type === 'PointsAccrued');
      expect(events).toHaveLength(1);
      expect(new Set(responses.map((r) => r.status))).toEqual(new Set([201]));
      expect(new Set(responses.map((r) => JSON.stringify(r.body))).size).toBe(1);
      expect(responses.filter((r) => r.headers['idempotent-replay'] !== 'true')).toHaveLength(1);
    });

    it.each([
      ['a missing field', { amountMinor: undefined }, 'amountMinor'],
      ['an unknown field', { bonus: 5 }, 'bonus'],
      ['the partner in the body', { partnerId: 'cafe' }, 'partnerId'],
      ['a string amount', { amountMinor: '2500' }, 'amountMinor'],
      ['a negative amount', { amountMinor: -100 }, 'amountMinor'],
      ['a fractional amount', { amountMinor: 100.5 }, 'amountMinor'],
      ['an amount beyond the maximum', { amountMinor: 1e13 }, 'amountMinor'],
      ['a lowercase currency', { currency: 'rub' }, 'currency'],
      ['another currency than the coalition', { currency: 'EUR' }, 'currency'],
      ['an unparseable date', { occurredAt: 'yesterday' }, 'occurredAt'],
      ['an impossible date', { occurredAt: '2026-02-30T10:00:00Z' }, 'occurredAt'],
      ['a date without a zone', { occurredAt: '2026-11-20T10:00:00' }, 'occurredAt'],
      ['a date more than 5 minutes ahead', { occurredAt: '2026-11-20T12:05:01Z' }, 'occurredAt'],
      ['a date older than 90 days', { occurredAt: '2026-08-21T11:59:59Z' }, 'occurredAt'],
      ['an empty externalId', { externalId: '' }, 'externalId'],
      ['an externalId with spaces', { externalId: 'a b' }, 'externalId'],
      ['a bad memberId', { memberId: '../x' }, 'memberId'],
    ])('refuses %s with 400 naming the field', async (_case, over, field) => {
      const body = await refused(() => t.http().post('/v1/accruals').set(c.partners.grocer).send(accrual(over)), 400);
      expect(body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field, reason: expect.any(String) })]));
    });

    it('accepts a date 4 minutes ahead and one 89 days back (clock skew and backdating windows)', async () => {
      await t
        .http()
        .post('/v1/accruals')
        .set(c.partners.grocer)
        .send(accrual({ externalId: 'a', occurredAt: '2026-11-20T12:04:00Z' }))
        .expect(201);
      await t
        .http()
        .post('/v1/accruals')
        .set(c.partners.grocer)
        .send(accrual({ externalId: 'b', occurredAt: '2026-08-23T12:00:00Z' }))
        .expect(201);
    });

    it('refuses malformed JSON and a non-object body with 400', async () => {
      const bad = await refused(
        () => t.http().post('/v1/accruals').set(c.partners.grocer).set('Content-Type', 'application/json').send('{"externalId":'),
        400,
      );
      expect(bad.details).toEqual([{ field: 'body', reason: 'is not valid JSON' }]);
      const arr = await refused(
        () => t.http().post('/v1/accruals').set(c.partners.grocer).set('Content-Type', 'application/json').send('[1,2]'),
        400,
      );
      expect(arr.details).toEqual([{ field: 'body', reason: 'must be a JSON object' }]);
    });

    it('an unknown member is 404', async () => {
      const body = await refused(
        () =>
          t
            .http()
            .post('/v1/accruals')
            .set(c.partners.grocer)
            .send(accrual({ memberId: 'nobody' })),
        404,
      );
      expect(body.code).toBe('member_not_found');
    });
  });

  describe('redemptions', () => {
    beforeEach(async () => {
      await t
        .http()
        .post('/v1/accruals')
        .set(c.partners.grocer)
        .send(accrual({ externalId: 'g1', occurredAt: '2026-11-01T10:00:00Z' }))
        .expect(201); // 25, older
      await t
        .http()
        .post('/v1/accruals')
        .set(c.partners.cafe)
        .send(accrual({ externalId: 'c1', amountMinor: 100_000 }))
        .expect(201); // 10, newer
    });

    it('takes points first-in-first-out across issuers and reports the allocation', async () => {
      const res = await t
        .http()
        .post('/v1/redemptions')
        .set(c.partners.air)
        .send({ externalId: 'x1', memberId: 'm-1', points: 30, occurredAt: NOW_ISH })
        .expect(201);
      expect(res.body).toEqual({
        txId: 'air:x1',
        memberId: 'm-1',
        points: 30,
        allocations: [
          { issuerPartnerId: 'grocer', points: 25 },
          { issuerPartnerId: 'cafe', points: 5 },
        ],
        balance: 5,
        position: expect.any(Number),
      });
      const member = await t.http().get('/v1/members/m-1').set(t.admin).expect(200);
      expect(member.body).toMatchObject({ memberId: 'm-1', available: 5, lifetimeAccrued: 35, lifetimeRedeemed: 30 });
    });

    it('insufficient points is 422 and writes nothing', async () => {
      const body = await refused(
        () =>
          t.http().post('/v1/redemptions').set(c.partners.air).send({ externalId: 'x2', memberId: 'm-1', points: 36, occurredAt: NOW_ISH }),
        422,
      );
      expect(body.code).toBe('insufficient_points');
    });

    it('a retried redemption burns once', async () => {
      const send = () =>
        t.http().post('/v1/redemptions').set(c.partners.air).send({ externalId: 'x3', memberId: 'm-1', points: 20, occurredAt: NOW_ISH });
      const [a, b] = await Promise.all([send(), send()]);
      expect(a.body).toEqual(b.body);
      const member = await t.http().get('/v1/members/m-1').set(c.partners.air).expect(200);
      expect(member.body.available).toBe(15);
    });

    it.each([
      ['zero points', { points: 0 }, 'points'],
      ['fractional points', { points: 1.5 }, 'points'],
      ['points as a string', { points: '3' }, 'points'],
    ])('refuses %s with 400', async (_c, over, field) => {
      const body = await refused(
        () =>
          t
            .http()
            .post('/v1/redemptions')
            .set(c.partners.air)
            .send({ externalId: 'x4', memberId: 'm-1', occurredAt: NOW_ISH, ...over }),
        400,
      );
      expect(body.details[0].field).toBe(field);
    });
  });

  describe('reversals', () => {
    it('a cancelled redemption returns the exact points to their lots', async () => {
      await t
        .http()
        .post('/v1/accruals')
        .set(c.partners.grocer)
        .send(accrual({ externalId: 'g1' }))
        .expect(201);
      await t
        .http()
        .post('/v1/redemptions')
        .set(c.partners.air)
        .send({ externalId: 'x1', memberId: 'm-1', points: 25, occurredAt: NOW_ISH })
        .expect(201);
      const res = await t
        .http()
        .post('/v1/reversals')
        .set(c.partners.air)
        .send({ externalId: 'x1-cancel', memberId: 'm-1', originalExternalId: 'x1', occurredAt: NOW_ISH })
        .expect(201);
      expect(res.body).toMatchObject({ kind: 'redemption_reversal', originalTxId: 'air:x1', points: 25, balance: 25 });
      const member = await t.http().get('/v1/members/m-1').set(t.admin).expect(200);
      expect(member.body.lots).toEqual([expect.objectContaining({ lotId: 'grocer:g1', points: 25 })]);
      const again = await refused(
        () =>
          t
            .http()
            .post('/v1/reversals')
            .set(c.partners.air)
            .send({ externalId: 'x1-cancel-2', memberId: 'm-1', originalExternalId: 'x1', occurredAt: NOW_ISH }),
        409,
      );
      expect(again.code).toBe('already_reversed');
    });

    it('a refund of points already spent is 422 (the balance never goes negative)', async () => {
      await t
        .http()
        .post('/v1/accruals')
        .set(c.partners.grocer)
        .send(accrual({ externalId: 'g1' }))
        .expect(201);
      await t
        .http()
        .post('/v1/redemptions')
        .set(c.partners.air)
        .send({ externalId: 'x1', memberId: 'm-1', points: 10, occurredAt: NOW_ISH })
        .expect(201);
      const body = await refused(
        () =>
          t
            .http()
            .post('/v1/reversals')
            .set(c.partners.grocer)
            .send({ externalId: 'refund-1', memberId: 'm-1', originalExternalId: 'g1', occurredAt: NOW_ISH }),
        422,
      );
      expect(body.code).toBe('points_already_spent');
    });

    it("a partner cannot reverse another partner's transaction", async () => {
      await t
        .http()
        .post('/v1/accruals')
        .set(c.partners.grocer)
        .send(accrual({ externalId: 'g1' }))
        .expect(201);
      await refused(
        () =>
          t
            .http()
            .post('/v1/reversals')
            .set(c.partners.cafe)
            .send({ externalId: 'r', memberId: 'm-1', originalExternalId: 'g1', occurredAt: NOW_ISH }),
        404,
      );
    });
  });

  describe('members', () => {
    it('enrols with a Luhn-valid card and replays a retried enrolment', async () => {
      const first = await t
        .http()
        .post('/v1/members')
        .set(c.partners.cafe)
        .send({ memberId: 'm-2', cardNumber: cardNumber(2), birthDate: '1990-05-17' })
        .expect(201);
      expect(first.body).toEqual({ memberId: 'm-2', cardNumber: cardNumber(2) });
      const again = await t
        .http()
        .post('/v1/members')
        .set(c.partners.cafe)
        .send({ memberId: 'm-2', cardNumber: cardNumber(2), birthDate: '1990-05-17' })
        .expect(201);
      expect(again.headers['idempotent-replay']).toBe('true');
    });

    it('generates a member id when none is given', async () => {
      const res = await t
        .http()
        .post('/v1/members')
        .set(t.admin)
        .send({ cardNumber: cardNumber(3) })
        .expect(201);
      expect(res.body.memberId).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('refuses a bad Luhn digit, a taken member id and a card of another member', async () => {
      const luhn = await refused(
        () => t.http().post('/v1/members').set(c.partners.cafe).send({ memberId: 'm-3', cardNumber: '7000000000000014' }),
        400,
      );
      expect(luhn.details).toEqual([{ field: 'cardNumber', reason: expect.stringContaining('Luhn') }]);
      const taken = await refused(
        () =>
          t
            .http()
            .post('/v1/members')
            .set(c.partners.cafe)
            .send({ memberId: 'm-1', cardNumber: cardNumber(4) }),
        409,
      );
      expect(taken.code).toBe('member_exists');
      const card = await refused(
        () =>
          t
            .http()
            .post('/v1/members')
            .set(c.partners.cafe)
            .send({ memberId: 'm-5', cardNumber: cardNumber(1) }),
        409,
      );
      expect(card.code).toBe('card_in_use');
    });

    it('refuses an impossible birth date', async () => {
      await refused(
        () =>
          t
            .http()
            .post('/v1/members')
            .set(c.partners.cafe)
            .send({ memberId: 'm-6', cardNumber: cardNumber(6), birthDate: '1990-02-31' }),
        400,
      );
    });

    it('GET an unknown member is 404', async () => {
      const res = await t.http().get('/v1/members/nobody').set(t.admin).expect(404);
      expect(res.body.code).toBe('member_not_found');
    });
  });

  describe('keys and roles', () => {
    it('401 without a key or with an unknown one', async () => {
      await refused(() => t.http().post('/v1/accruals').send(accrual()), 401);
      await refused(
        () =>
          t
            .http()
            .post('/v1/accruals')
            .set('Authorization', 'Bearer clk_grocer_000000000000_' + '0'.repeat(64))
            .send(accrual()),
        401,
      );
      await refused(() => t.http().post('/v1/accruals').set('Authorization', 'Basic abc').send(accrual()), 401);
    });

    it('403 for a role that may not', async () => {
      const finance = await t.http().post('/v1/keys').set(t.admin).send({ role: 'finance' }).expect(201);
      const auditor = await t.http().post('/v1/keys').set(t.admin).send({ role: 'auditor' }).expect(201);
      const asFinance = { Authorization: `Bearer ${finance.body.key}` };
      const asAuditor = { Authorization: `Bearer ${auditor.body.key}` };
      await t.http().get('/v1/members/m-1').set(asFinance).expect(200);
      await t.http().get('/v1/members/m-1').set(asAuditor).expect(200);
      await refused(() => t.http().post('/v1/accruals').set(asFinance).send(accrual()), 403);
      await refused(() => t.http().post('/v1/accruals').set(asAuditor).send(accrual()), 403);
      await refused(
        () =>
          t
            .http()
            .post('/v1/members')
            .set(asAuditor)
            .send({ cardNumber: cardNumber(9) }),
        403,
      );
      await refused(
        () => t.http().put('/v1/coalition').set(c.partners.grocer).send({ currency: 'RUB', pointValueMinor: 10, expiryMonths: 24 }),
        403,
      );
      await refused(
        () =>
          t
            .http()
            .post('/v1/partners')
            .set(asFinance)
            .send({ partnerId: 'x', name: 'x', earnRule: { pointsPerUnit: 1, unitMinor: 100 } }),
        403,
      );
      await refused(() => t.http().post('/v1/accruals').set(t.admin).send(accrual()), 403);
    });

    it('issues partner keys shown once and stored only as a hash', async () => {
      const res = await t.http().post('/v1/partners/cafe/keys').set(t.admin).expect(201);
      expect(res.body).toEqual({ keyId: expect.any(String), key: expect.stringMatching(/^clk_cafe_/), role: 'partner', partnerId: 'cafe' });
      const stored = JSON.stringify(await t.store.readAll());
      expect(stored).not.toContain(res.body.key);
      await refused(() => t.http().post('/v1/partners/nobody/keys').set(t.admin), 404);
      await refused(() => t.http().post('/v1/keys').set(t.admin).send({ role: 'partner' }), 400);
    });
  });

  describe('partners and coalition', () => {
    it('a duplicate partner id is 409', async () => {
      const body = await refused(
        () =>
          t
            .http()
            .post('/v1/partners')
            .set(t.admin)
            .send({ partnerId: 'cafe', name: 'Again', earnRule: { pointsPerUnit: 1, unitMinor: 100 } }),
        409,
      );
      expect(body.code).toBe('partner_exists');
    });

    it('validates nested earn rules and names the nested field', async () => {
      const body = await refused(
        () =>
          t
            .http()
            .post('/v1/partners')
            .set(t.admin)
            .send({ partnerId: 'new', name: 'New', earnRule: { pointsPerUnit: 1, unitMinor: 0 } }),
        400,
      );
      expect(body.details).toEqual([{ field: 'earnRule.unitMinor', reason: expect.any(String) }]);
      await refused(
        () =>
          t
            .http()
            .post('/v1/partners')
            .set(t.admin)
            .send({ partnerId: 'Bad Id', name: 'x', earnRule: { pointsPerUnit: 1, unitMinor: 1 } }),
        400,
      );
      await refused(
        () =>
          t
            .http()
            .post('/v1/partners')
            .set(t.admin)
            .send({ partnerId: 'staff', name: 'x', earnRule: { pointsPerUnit: 1, unitMinor: 1 } }),
        400,
      );
    });

    it('the coalition currency cannot change once set; the point value can', async () => {
      const body = await refused(
        () => t.http().put('/v1/coalition').set(t.admin).send({ currency: 'EUR', pointValueMinor: 10, expiryMonths: 24 }),
        409,
      );
      expect(body.code).toBe('currency_fixed');
      await t.http().put('/v1/coalition').set(t.admin).send({ currency: 'RUB', pointValueMinor: 12, expiryMonths: 24 }).expect(200);
      const events = await t.store.readStream('coalition-default');
      expect(events.at(-1)?.type).toBe('PointValueChanged');
    });
  });
});

describe('before the coalition is configured', () => {
  it('refuses transactions with 422', async () => {
    const dir = tempDir();
    const t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir });
    try {
      await t
        .http()
        .post('/v1/partners')
        .set(t.admin)
        .send({ partnerId: 'p', name: 'P', earnRule: { pointsPerUnit: 1, unitMinor: 100 } })
        .expect(201);
      const key = await t.http().post('/v1/partners/p/keys').set(t.admin).expect(201);
      await t
        .http()
        .post('/v1/members')
        .set(t.admin)
        .send({ memberId: 'm', cardNumber: cardNumber(1) })
        .expect(201);
      const res = await t
        .http()
        .post('/v1/accruals')
        .set('Authorization', `Bearer ${key.body.key}`)
        .send({ externalId: 'e', memberId: 'm', amountMinor: 100, currency: 'RUB', occurredAt: '2026-11-20T11:00:00Z' })
        .expect(422);
      expect(res.body.code).toBe('coalition_not_configured');
    } finally {
      await t.close();
    }
  });
});
