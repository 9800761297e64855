import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { SeededCoalition, TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

/**
 * The README's worked example (Earn rules, campaigns and tiers), posted over HTTP on SQLite: a
 * Gold member buys 6,000 RUB of groceries in the campaign week. The expected number is the
 * README's own, read from it, so the text and the ledger cannot drift apart.
 */
const README_POINTS = /rounded down once: \*\*(\d+) points\*\*/;

describe('README worked example: a Gold member, 6,000 RUB of groceries, campaign week', () => {
  let t: TestApp;
  let c: SeededCoalition;
  beforeAll(async () => {
    const dir = tempDir();
    t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir });
    c = await seedCoalition(t, ['freshmart', 'cafe']);
  });
  afterAll(() => t.close());

  it('earns the points the README states, and explains them multiplier by multiplier', async () => {
    const readmePoints = Number(README_POINTS.exec(readFileSync(join(__dirname, '..', 'README.md'), 'utf8'))?.[1]);
    expect(readmePoints).toBe(247);

    await t
      .http()
      .put('/v1/program')
      .set(t.admin)
      .send({
        effectiveFrom: '2026-11-01T00:00:00Z',
        tiers: [
          { tierId: 'red', qualifyingPoints: 0, multiplierBps: 10_000 },
          { tierId: 'silver', qualifyingPoints: 500, multiplierBps: 15_000 },
          { tierId: 'gold', qualifyingPoints: 2_000, multiplierBps: 20_000 },
        ],
        bonuses: {},
        limits: { maxAccrualsPerMemberPerHour: 10, maxPointsPerMemberPerDay: 100_000 },
      })
      .expect(200);
    // The README's curl, as sent.
    await t
      .http()
      .put('/v1/partners/freshmart/terms')
      .set(t.admin)
      .send({
        issuanceFeeBps: 150,
        breakageShareBps: 5000,
        effectiveFrom: '2026-11-01T00:00:00Z',
        earnRule: {
          pointsPerUnit: 1,
          unitMinor: 10000,
          categories: { grocery: 12500 },
          thresholds: [
            { fromMinor: 100000, multiplierBps: 10500 },
            { fromMinor: 500000, multiplierBps: 11000 },
          ],
          campaigns: [
            {
              campaignId: 'grocery-week',
              from: '2026-11-16T00:00:00Z',
              to: '2026-11-23T00:00:00Z',
              multiplierBps: 15000,
              categories: ['grocery'],
            },
          ],
        },
      })
      .expect(200);
    await t
      .http()
      .post('/v1/members')
      .set(c.partners.freshmart)
      .send({ memberId: 'demo-member-01', cardNumber: cardNumber(1) })
      .expect(201);
    // Gold first: 2,000 points at the cafe in the rolling year (earned at red, ×1) make the member Gold.
    await t
      .http()
      .post('/v1/accruals')
      .set(c.partners.cafe)
      .send({
        externalId: 'gold-run',
        memberId: 'demo-member-01',
        amountMinor: 20_000_000,
        currency: 'RUB',
        occurredAt: '2026-11-10T12:00:00Z',
      })
      .expect(201);

    const res = await t
      .http()
      .post('/v1/accruals')
      .set(c.partners.freshmart)
      .send({
        externalId: 'till-1-0600',
        memberId: 'demo-member-01',
        amountMinor: 600000,
        currency: 'RUB',
        occurredAt: '2026-11-18T12:00:00Z',
        items: [{ sku: 'basket', category: 'grocery', amountMinor: 600000 }],
      })
      .expect(201);
    expect(res.body.points).toBe(readmePoints);
    // The members read model (and an as-of read) show the tier.
    const shown = await t.http().get(`/v1/members/demo-member-01?minPosition=${res.body.position}`).set(t.admin).expect(200);
    expect(shown.body.tier).toBe('gold');
    expect((await t.http().get(`/v1/members/demo-member-01?asOf=${res.body.position}`).set(t.admin).expect(200)).body.tier).toBe('gold');

    const url = '/v1/members/demo-member-01/transactions/freshmart:till-1-0600';
    const explained = await t.http().get(url).set(c.partners.freshmart).expect(200);
    expect(explained.body).toMatchObject({
      txId: 'freshmart:till-1-0600',
      type: 'PointsAccrued',
      points: readmePoints,
      accrual: {
        basePoints: 60,
        multipliers: [
          { source: 'category', ref: 'grocery', multiplierBps: 12500, amountMinor: 600000 },
          { source: 'campaign', ref: 'grocery-week', multiplierBps: 15000, amountMinor: 600000 },
          { source: 'threshold', ref: '500000', multiplierBps: 11000, amountMinor: 600000 },
          { source: 'tier', ref: 'gold', multiplierBps: 20000, amountMinor: 600000 },
        ],
        tierChange: null,
      },
    });
    // The cafe's accrual explains the upgrade it brought; another partner may not read it, staff may.
    const cafe = '/v1/members/demo-member-01/transactions/cafe:gold-run';
    expect((await t.http().get(cafe).set(c.partners.freshmart).expect(404)).body.code).toBe('transaction_not_found');
    const upgrade = await t.http().get(cafe).set(t.admin).expect(200);
    expect(upgrade.body.accrual).toMatchObject({
      basePoints: 2000,
      tierChange: { fromTierId: null, toTierId: 'gold', qualifyingPoints: 2000 },
    });
    expect((await t.http().get('/v1/members/demo-member-01/transactions/freshmart:nope').set(t.admin).expect(404)).body.code).toBe(
      'transaction_not_found',
    );
    expect((await t.http().get('/v1/members/demo-member-01/transactions/not-a-txid').set(t.admin).expect(400)).body.details[0].field).toBe(
      'txId',
    );
  });
});
