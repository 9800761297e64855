import { MemoryEventStore } from '@ledger/event-store';
import { TEST_NOW, TestApp, cardNumber, startTestApp } from '@ledger/testing';

/**
 * Issue 15 §6: a partner sees what its till needs of a member and nothing of another
 * partner's business. Member m-1 was enrolled at grocer and holds lots of grocer, cafe
 * and airline; each partner in turn reads it and posts against it, and every JSON body a
 * partner key gets back (answers, replays, errors, as-of reads) is scanned for the other
 * partners' ids, lot ids and receipt ids.
 */
describe('partners see only what is theirs', () => {
  const PARTNERS = ['grocer', 'cafe', 'airline'] as const;
  type PartnerId = (typeof PARTNERS)[number];
  let t: TestApp;
  const keys = {} as Record<PartnerId, { Authorization: string }>;
  const staff = {} as Record<'finance' | 'auditor', { Authorization: string }>;
  /** Receipt ids carry their partner's name so that any echo of one is caught. */
  const receipt = (p: PartnerId, n: number) => `${p}-rcpt-${String(n).padStart(4, '0')}`;
  const eventCount = async () => (await t.store.readAll()).length;

  beforeEach(async () => {
    // Events are recorded at the app's pinned time: an as-of read counts "soon" from the
    // recorded time, so a wall-clock store would move the answer as the calendar moves.
    t = await startTestApp(new MemoryEventStore(() => new Date(TEST_NOW)));
    // Two months' expiry, so a lot of October is expiring soon on 2026-11-20 (TEST_NOW).
    await t.http().put('/v1/coalition').set(t.admin).send({ currency: 'RUB', pointValueMinor: 10, expiryMonths: 2 }).expect(200);
    for (const partnerId of PARTNERS) {
      await t
        .http()
        .post('/v1/partners')
        .set(t.admin)
        .send({ partnerId, name: partnerId, earnRule: { pointsPerUnit: 1, unitMinor: 10_000 } })
        .expect(201);
      const key = await t.http().post(`/v1/partners/${partnerId}/keys`).set(t.admin).expect(201);
      keys[partnerId] = { Authorization: `Bearer ${key.body.key}` };
    }
    for (const role of ['finance', 'auditor'] as const) {
      const key = await t.http().post('/v1/keys').set(t.admin).send({ role }).expect(201);
      staff[role] = { Authorization: `Bearer ${key.body.key}` };
    }
    await t
      .http()
      .post('/v1/members')
      .set(keys.grocer)
      .send({ memberId: 'm-1', cardNumber: cardNumber(1) })
      .expect(201);
    await accrue('grocer', 1, 100_000, '2026-10-01T09:00:00Z'); // 10 points, expire 2026-12-01: soon
    await accrue('cafe', 1, 200_000, '2026-11-19T09:00:00Z'); // 20 points, expire 2027-01-19
    await accrue('airline', 1, 50_000, '2026-11-19T10:00:00Z'); // 5 points, expire 2027-01-19
  });
  afterEach(() => t.close());

  const accrue = (p: PartnerId, n: number, amountMinor: number, occurredAt = '2026-11-20T11:00:00Z') =>
    t
      .http()
      .post('/v1/accruals')
      .set(keys[p])
      .send({ externalId: receipt(p, n), memberId: 'm-1', amountMinor, currency: 'RUB', occurredAt })
      .expect(201);

  it('a partner gets totals, its own lots and its own transactions; staff get the full record', async () => {
    const redeemed = await t
      .http()
      .post('/v1/redemptions')
      .set(keys.airline)
      .send({ externalId: receipt('airline', 2), memberId: 'm-1', points: 12, occurredAt: '2026-11-20T11:00:00Z' })
      .expect(201);
    // Settlement needs the issuers whose points were spent; never their lots or receipts.
    expect(redeemed.body.allocations).toEqual([
      { issuerPartnerId: 'grocer', points: 10 },
      { issuerPartnerId: 'cafe', points: 2 },
    ]);

    const asAirline = await t.http().get(`/v1/members/m-1?minPosition=${redeemed.body.position}`).set(keys.airline).expect(200);
    expect(asAirline.body).toEqual({
      memberId: 'm-1',
      available: 23,
      held: 0,
      // Only grocer's lot expired soon, and it was spent first.
      expiringSoon: { points: 0, until: '2026-12-20T12:00:00.000Z' },
      ownLots: [{ lotId: 'airline:airline-rcpt-0001', points: 5, expiresAt: '2027-01-19T10:00:00.000Z' }],
      otherIssuersPoints: 18,
      pending: { points: 0, ownLots: [], otherIssuersPoints: 0 },
      transactions: [
        expect.objectContaining({ txId: 'airline:airline-rcpt-0001', kind: 'accrual', points: 5, originalTxId: null }),
        {
          txId: 'airline:airline-rcpt-0002',
          kind: 'redemption',
          points: 12,
          originalTxId: null,
          occurredAt: '2026-11-20T11:00:00.000Z',
          position: redeemed.body.position,
        },
      ],
      transactionCount: 2,
    });

    const asGrocer = await t.http().get(`/v1/members/m-1?minPosition=${redeemed.body.position}`).set(keys.grocer).expect(200);
    expect(asGrocer.body).toMatchObject({ available: 23, ownLots: [], otherIssuersPoints: 23, transactionCount: 1 });

    for (const key of [staff.finance, staff.auditor, t.admin]) {
      const full = await t.http().get('/v1/members/m-1').set(key).expect(200);
      expect(full.body).toEqual({
        memberId: 'm-1',
        available: 23,
        held: 0,
        pending: { points: 0, lots: [] },
        lifetimeAccrued: 35,
        lifetimeRedeemed: 12,
        lots: [
          { lotId: 'cafe:cafe-rcpt-0001', issuerPartnerId: 'cafe', points: 18, expiresAt: '2027-01-19T09:00:00.000Z' },
          { lotId: 'airline:airline-rcpt-0001', issuerPartnerId: 'airline', points: 5, expiresAt: '2027-01-19T10:00:00.000Z' },
        ],
        // Both lots lapse later than 30 days from now.
        expiringSoon: [],
        // No programme tiers here.
        tier: null,
      });
    }
  });

  it('expiring soon is a total over every issuer’s lots, own or not', async () => {
    const asCafe = await t.http().get('/v1/members/m-1').set(keys.cafe).expect(200);
    expect(asCafe.body.expiringSoon).toEqual({ points: 10, until: '2026-12-20T12:00:00.000Z' });
    expect(asCafe.body.ownLots).toEqual([{ lotId: 'cafe:cafe-rcpt-0001', points: 20, expiresAt: '2027-01-19T09:00:00.000Z' }]);
    expect(asCafe.body.otherIssuersPoints).toBe(15);
  });

  it('?asOf= gives a partner the same view, folded from the events up to the moment', async () => {
    const before = await accrue('cafe', 2, 100_000);
    await accrue('grocer', 2, 300_000);
    const head = await accrue('cafe', 3, 100_000);
    for (const partnerId of PARTNERS) {
      const live = await t.http().get(`/v1/members/m-1?minPosition=${head.body.position}`).set(keys[partnerId]).expect(200);
      const folded = await t.http().get(`/v1/members/m-1?asOf=${head.body.position}`).set(keys[partnerId]).expect(200);
      // The as-of moment's "soon" counts from that moment's recorded time, the live one from now.
      const { expiringSoon: _live, ...liveRest } = live.body;
      const { expiringSoon, ...foldedRest } = folded.body;
      expect(foldedRest).toEqual(liveRest);
      const staffThen = await t.http().get(`/v1/members/m-1?asOf=${head.body.position}`).set(t.admin).expect(200);
      expect(expiringSoon.points).toBe(soonOf(staffThen.body.lots, expiringSoon.until));
    }
    const earlier = await t.http().get(`/v1/members/m-1?asOf=${before.body.position}`).set(keys.cafe).expect(200);
    expect(earlier.body).toMatchObject({ available: 45, otherIssuersPoints: 15, transactionCount: 2 });
    expect(earlier.body.ownLots.map((l: { lotId: string }) => l.lotId)).toEqual(['cafe:cafe-rcpt-0001', 'cafe:cafe-rcpt-0002']);
  });

  const soonOf = (lots: { points: number; expiresAt: string }[], until: string) => {
    const end = Date.parse(until);
    const start = end - 30 * 86_400_000;
    return lots.filter((l) => Date.parse(l.expiresAt) > start && Date.parse(l.expiresAt) <= end).reduce((s, l) => s + l.points, 0);
  };

  describe('no partner-visible body names another partner', () => {
    interface Seen {
      route: string;
      status: number;
      body: unknown;
    }

    /** Every request a partner can make about m-1, with answers, replays and refusals. */
    async function everythingPartnerSees(viewer: PartnerId): Promise<Seen[]> {
      const seen: Seen[] = [];
      const key = keys[viewer];
      const record = async (route: string, res: { status: number; body: any; headers: Record<string, string> }) => {
        expect(res.status).toBeLessThan(500);
        seen.push({ route, status: res.status, body: res.body });
        return res;
      };
      const post = (path: string, body: object) => t.http().post(path).set(key).send(body);
      const get = (path: string) => t.http().get(path).set(key);
      const at = '2026-11-20T11:30:00Z';

      const redemption = { externalId: `${viewer}-red-1`, memberId: 'm-1', points: 13, occurredAt: at };
      const redeemed = await record('POST /v1/redemptions', await post('/v1/redemptions', redemption));
      expect(redeemed.status).toBe(201);
      const replay = await record('POST /v1/redemptions', await post('/v1/redemptions', redemption));
      expect(replay.headers['idempotent-replay']).toBe('true');
      await record('POST /v1/redemptions', await post('/v1/redemptions', { ...redemption, points: 14 })); // 409
      await record('POST /v1/redemptions', await post('/v1/redemptions', { ...redemption, externalId: `${viewer}-red-2`, points: 10_000 })); // 422
      await record('POST /v1/redemptions', await post('/v1/redemptions', { ...redemption, memberId: 'nobody' })); // 404
      await record('POST /v1/redemptions', await post('/v1/redemptions', { ...redemption, points: 'many' })); // 400

      const cancel = { externalId: `${viewer}-cancel-1`, memberId: 'm-1', originalExternalId: `${viewer}-red-1`, occurredAt: at };
      const cancelled = await record('POST /v1/reversals', await post('/v1/reversals', cancel));
      expect(cancelled.status).toBe(201);
      await record('POST /v1/reversals', await post('/v1/reversals', cancel)); // replay
      await record('POST /v1/reversals', await post('/v1/reversals', { ...cancel, externalId: `${viewer}-cancel-2` })); // 409 already reversed
      await record(
        'POST /v1/reversals',
        await post('/v1/reversals', { ...cancel, externalId: `${viewer}-cancel-3`, originalExternalId: 'no-such' }),
      ); // 404
      // Its own accrual refunded after part of it was spent elsewhere: 422 points_already_spent.
      const accrual = { externalId: `${viewer}-acc-1`, memberId: 'm-1', amountMinor: 100_000, currency: 'RUB', occurredAt: at };
      await record('POST /v1/accruals', await post('/v1/accruals', accrual));
      await record('POST /v1/accruals', await post('/v1/accruals', accrual)); // replay
      await record('POST /v1/accruals', await post('/v1/accruals', { ...accrual, amountMinor: 200_000 })); // 409
      await record('POST /v1/accruals', await post('/v1/accruals', { ...accrual, externalId: `${viewer}-acc-2`, currency: 'EUR' })); // 400
      const refund = { externalId: `${viewer}-refund-1`, memberId: 'm-1', originalExternalId: `${viewer}-acc-1`, occurredAt: at };
      await record('POST /v1/reversals', await post('/v1/reversals', refund));
      await record('POST /v1/reversals', await post('/v1/reversals', refund)); // replay

      // A checkout: a hold, its capture (a redemption: it names the issuers), another hold released.
      const hold = { externalId: `${viewer}-hold-1`, memberId: 'm-1', points: 3, ttlSeconds: 600, occurredAt: at };
      const held = await record('POST /v1/holds', await post('/v1/holds', hold));
      expect(held.status).toBe(201);
      await record('POST /v1/holds', await post('/v1/holds', hold)); // replay
      await record('POST /v1/holds', await post('/v1/holds', { ...hold, points: 4 })); // 409
      await record('POST /v1/holds', await post('/v1/holds', { ...hold, externalId: `${viewer}-hold-2`, points: 10_000 })); // 422
      const capture = { externalId: `${viewer}-cap-1`, occurredAt: at };
      const captured = await record('POST /v1/holds/{id}/capture', await post(`/v1/holds/${held.body.holdId}/capture`, capture));
      expect(captured.status).toBe(201);
      await record('POST /v1/holds/{id}/capture', await post(`/v1/holds/${held.body.holdId}/capture`, capture)); // replay
      await record('POST /v1/holds/{id}/capture', await post(`/v1/holds/${viewer}:no-such-hold/capture`, capture)); // 404
      const other = await record('POST /v1/holds', await post('/v1/holds', { ...hold, externalId: `${viewer}-hold-3`, points: 2 }));
      const release = { externalId: `${viewer}-rel-1` };
      expect((await record('POST /v1/holds/{id}/release', await post(`/v1/holds/${other.body.holdId}/release`, release))).status).toBe(201);
      await record('POST /v1/holds/{id}/release', await post(`/v1/holds/${other.body.holdId}/release`, release)); // replay

      // Enrolment: the member's card is another's, the member id is taken.
      await record('POST /v1/members', await post('/v1/members', { memberId: `${viewer}-new`, cardNumber: cardNumber(1) })); // 409 card_in_use
      await record('POST /v1/members', await post('/v1/members', { memberId: 'm-1', cardNumber: cardNumber(77) })); // 409 member_exists
      await record('POST /v1/members', await post('/v1/members', { memberId: 'm-1', cardNumber: cardNumber(1) })); // replay of grocer's enrolment

      const head = await record('GET /v1/members/{id}', await get('/v1/members/m-1'));
      expect(head.status).toBe(200);
      await record('GET /v1/members/{id}', await get(`/v1/members/m-1?minPosition=${cancelled.body.position}`));
      for (let position = 0; position <= cancelled.body.position; position += 1) {
        await record('GET /v1/members/{id}?asOf', await get(`/v1/members/m-1?asOf=${position}`)); // 200, or 404 before enrolment
      }
      await record('GET /v1/members/{id}?asOf', await get(`/v1/members/m-1?asOf=${encodeURIComponent(new Date().toISOString())}`));
      await record('GET /v1/members/{id}?asOf', await get('/v1/members/m-1?asOf=2000-01-01T00:00:00Z')); // 404
      await record('GET /v1/members/{id}?asOf', await get('/v1/members/m-1?asOf=yesterday')); // 400
      await record('GET /v1/members/{id}', await get('/v1/members/m-1?minPosition=-1')); // 400
      await record('GET /v1/members/{id}', await get('/v1/members/nobody')); // 404
      await record('GET /v1/partners/{id}/position', await get(`/v1/partners/${viewer}/position`));
      await record('GET /v1/partners/{id}/position', await get(`/v1/partners/${viewer}/position?asOf=${cancelled.body.position}`));
      for (const other of PARTNERS.filter((p) => p !== viewer)) {
        await record('GET /v1/partners/{id}/position', await get(`/v1/partners/${other}/position`)); // 403
      }
      await record('GET /v1/partners', await get('/v1/partners')); // 403
      await record('GET /v1/audit/members/{id}', await get('/v1/audit/members/m-1')); // 403
      await record('GET /v1/audit/streams/{stream}', await get('/v1/audit/streams/member-m-1')); // 403
      return seen;
    }

    /** Where another partner's id may stand: the issuers of a redemption or of its cancellation. */
    const mayNameIssuer = (route: string, path: string) =>
      ['POST /v1/redemptions', 'POST /v1/reversals', 'POST /v1/holds/{id}/capture'].includes(route) &&
      /^allocations\.\d+\.issuerPartnerId$/.test(path);

    /** Every key and string in `body` that mentions one of `others`, with its path. */
    function mentions(route: string, body: unknown, others: readonly string[]): string[] {
      const found: string[] = [];
      const token = new RegExp(`(^|[^a-z0-9-])(${others.join('|')})([^a-z0-9]|$)`);
      const walk = (value: unknown, path: string) => {
        if (typeof value === 'string') {
          if (token.test(value) && !(others.includes(value) && mayNameIssuer(route, path))) found.push(`${path}=${value}`);
        } else if (Array.isArray(value)) {
          value.forEach((v, i) => walk(v, path ? `${path}.${i}` : String(i)));
        } else if (value !== null && typeof value === 'object') {
          for (const [k, v] of Object.entries(value)) {
            if (token.test(k)) found.push(`${path}{key ${k}}`);
            walk(v, path ? `${path}.${k}` : k);
          }
        }
      };
      walk(body, '');
      return found;
    }

    it('the scan finds another partner in the staff view (so it can fail)', async () => {
      const full = await t.http().get('/v1/members/m-1').set(t.admin).expect(200);
      expect(mentions('GET /v1/members/{id}', full.body, ['grocer', 'cafe'])).toEqual([
        'lots.0.lotId=grocer:grocer-rcpt-0001',
        'lots.0.issuerPartnerId=grocer',
        'lots.1.lotId=cafe:cafe-rcpt-0001',
        'lots.1.issuerPartnerId=cafe',
      ]);
      // Allowed only as a redemption's issuer, not as a lot id there.
      expect(mentions('POST /v1/redemptions', { allocations: [{ issuerPartnerId: 'cafe', lotId: 'cafe:x' }] }, ['cafe'])).toEqual([
        'allocations.0.lotId=cafe:x',
      ]);
    });

    it.each(PARTNERS)('as %s: answers, replays, errors and as-of reads name no other partner', async (viewer) => {
      const before = await eventCount();
      const seen = await everythingPartnerSees(viewer);
      const others = PARTNERS.filter((p) => p !== viewer);
      const leaks = seen.flatMap(({ route, status, body }) => mentions(route, body, others).map((m) => `${route} ${status}: ${m}`));
      expect(leaks).toEqual([]);
      // The walk covered each kind of answer the issue names.
      const statuses = new Set(seen.map((s) => s.status));
      for (const status of [200, 201, 400, 403, 404, 409, 422]) expect(statuses).toContain(status);
      expect(seen.filter((s) => s.route === 'GET /v1/members/{id}?asOf' && s.status === 200).length).toBeGreaterThan(5);
      // Writes: redemption, its cancellation, an accrual and its refund; two holds, a capture
      // (the capture and the redemption it makes) and a release: 9 events, and each of the 8
      // transactions' txId reservations.
      expect(await eventCount()).toBe(before + 17);
    });

    it('a redemption that spent other partners’ points names them as issuers, and only there', async () => {
      const seen = await everythingPartnerSees('airline');
      const redemption = seen.find((s) => s.route === 'POST /v1/redemptions' && s.status === 201)!;
      expect(redemption.body).toMatchObject({
        allocations: [
          { issuerPartnerId: 'grocer', points: 10 },
          { issuerPartnerId: 'cafe', points: 3 },
        ],
      });
      expect(Object.keys(redemption.body as object).sort()).toEqual(['allocations', 'balance', 'memberId', 'points', 'position', 'txId']);
      // The partner's own checkout steps are among its transactions; nothing is held any more.
      const view = await t.http().get('/v1/members/m-1').set(keys.airline).expect(200);
      expect(view.body.held).toBe(0);
      expect(view.body.transactions.map((x: { kind: string }) => x.kind)).toEqual(
        expect.arrayContaining(['hold', 'hold_capture', 'hold_release', 'redemption', 'redemption_reversal', 'accrual_reversal']),
      );
    });
  });
});
