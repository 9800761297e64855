import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { SeededCoalition, TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

/** Issue 14 §2: earn rules (categories, progressive thresholds, campaigns) and receipts with items, over HTTP on SQLite. */

type Auth = { Authorization: string };

const EARN_RULE = {
  pointsPerUnit: 1,
  unitMinor: 10_000,
  categories: { grocery: 12_500 },
  thresholds: [
    { fromMinor: 100_000, multiplierBps: 10_500 },
    { fromMinor: 500_000, multiplierBps: 11_000 },
  ],
  campaigns: [
    {
      campaignId: 'grocery-week',
      from: '2026-11-16T00:00:00Z',
      to: '2026-11-23T00:00:00Z',
      multiplierBps: 15_000,
      categories: ['grocery'],
    },
  ],
};
const AT = '2026-11-18T12:00:00Z';

describe('earn rules over HTTP on sqlite', () => {
  let t: TestApp;
  let c: SeededCoalition;
  const eventCount = async () => (await t.store.readAll()).length;
  const post = (path: string, as: Auth, body: object) => t.http().post(path).set(as).send(body);
  const terms = (earnRule: object, partnerId = 'grocer') =>
    t
      .http()
      .put(`/v1/partners/${partnerId}/terms`)
      .set(t.admin)
      .send({ issuanceFeeBps: 0, breakageShareBps: 0, effectiveFrom: '2026-11-01T00:00:00Z', earnRule });
  const accrue = (externalId: string, amountMinor: number, items?: object[]) =>
    post('/v1/accruals', c.partners.grocer, {
      externalId,
      memberId: 'm-1',
      amountMinor,
      currency: 'RUB',
      occurredAt: AT,
      ...(items ? { items } : {}),
    });
  const refusedOn = async (res: Promise<{ status: number; body: { details?: { field: string }[] } }>, field: string) => {
    const before = await eventCount();
    const r = await res;
    expect(r.status).toBe(400);
    expect(r.body.details?.map((d) => d.field)).toContain(field);
    expect(await eventCount()).toBe(before);
  };

  beforeEach(async () => {
    const dir = tempDir();
    t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir });
    c = await seedCoalition(t, ['grocer', 'cafe']);
    await post('/v1/members', c.partners.grocer, { memberId: 'm-1', cardNumber: cardNumber(1) }).expect(201);
  });
  afterEach(() => t.close());

  it('records the rule with its multipliers, and an accrual with items earns under it, recording what applied', async () => {
    await terms(EARN_RULE).expect(200);
    const items = [
      { sku: 'milk-1l', category: 'grocery', amountMinor: 60_000 },
      { sku: 'pan-24', category: 'kitchen', amountMinor: 40_000 },
    ];
    const res = await accrue('r-1', 100_000, items).expect(201);
    // base 10 shared 6 : 4; groceries ×1.25 ×1.5 (campaign week): 6 × 1.875 + 4 = 15.25; × 1.05 (from 1,000 RUB) = 16.0125 → 16
    expect(res.body.points).toBe(16);
    const [accrued] = (await t.store.readStream('member-m-1')).filter((e) => e.type === 'PointsAccrued');
    expect(accrued.data).toMatchObject({
      items,
      basePoints: 10,
      multipliers: [
        { source: 'category', ref: 'grocery', multiplierBps: 12_500, amountMinor: 60_000 },
        { source: 'campaign', ref: 'grocery-week', multiplierBps: 15_000, amountMinor: 60_000 },
        { source: 'threshold', ref: '100000', multiplierBps: 10_500, amountMinor: 100_000 },
      ],
    });
  });

  it('answers a retry with the same items as before, and 409 when the receipt id comes back with other items', async () => {
    await terms(EARN_RULE).expect(200);
    const items = [{ sku: 'milk-1l', category: 'grocery', amountMinor: 100_000 }];
    const first = await accrue('r-1', 100_000, items).expect(201);
    const count = await eventCount();
    const retry = await accrue('r-1', 100_000, items).expect(201);
    expect(retry.headers['idempotent-replay']).toBe('true');
    expect(retry.body).toEqual(first.body);
    const other = await accrue('r-1', 100_000, [{ sku: 'pan-24', category: 'kitchen', amountMinor: 100_000 }]).expect(409);
    expect(other.body.code).toBe('idempotency_conflict');
    expect((await accrue('r-1', 100_000).expect(409)).body.code).toBe('idempotency_conflict');
    expect(await eventCount()).toBe(count);
  });

  it('refuses items that do not add up, naming items, and writes nothing', async () => {
    await refusedOn(accrue('r-1', 100_000, [{ sku: 'a', category: 'grocery', amountMinor: 99_999 }]), 'items');
    await refusedOn(accrue('r-1', 100_000, []), 'items');
    await refusedOn(accrue('r-1', 100_000, [{ sku: 'a', category: 'Grocery!', amountMinor: 100_000 }]), 'items.0.category');
    await refusedOn(accrue('r-1', 100_000, [{ sku: 'a', category: 'grocery', amountMinor: -1 }]), 'items.0.amountMinor');
  });

  it('tiers: the accrual that crosses a threshold is followed in the same append by TierChanged; it earns at the old tier, the next at the new', async () => {
    const program = {
      effectiveFrom: '2026-11-01T00:00:00Z',
      tiers: [
        { tierId: 'red', qualifyingPoints: 0, multiplierBps: 10_000 },
        { tierId: 'silver', qualifyingPoints: 100, multiplierBps: 15_000 },
      ],
      bonuses: {},
      limits: { maxAccrualsPerMemberPerHour: 100, maxPointsPerMemberPerDay: 100_000 },
    };
    await t.http().put('/v1/program').set(t.admin).send(program).expect(200);
    expect((await accrue('r-1', 500_000).expect(201)).body.points).toBe(50);
    expect((await accrue('r-2', 500_000).expect(201)).body.points).toBe(50); // 100 in the year: silver from now on
    expect((await accrue('r-3', 100_000).expect(201)).body.points).toBe(15);
    const events = await t.store.readStream('member-m-1');
    expect(events.map((e) => [e.type, (e.data as { toTierId?: string }).toTierId])).toEqual([
      ['MemberEnrolled', undefined],
      ['PointsAccrued', undefined],
      ['TierChanged', 'red'],
      ['PointsAccrued', undefined],
      ['TierChanged', 'silver'],
      ['PointsAccrued', undefined],
    ]);
    // One append: the upgrade is recorded with the accrual's own write, at the next position.
    expect(events[4].position).toBe(events[3].position + 1);
    expect(events[4].data).toMatchObject({ fromTierId: 'red', reason: 'qualified', qualifyingPoints: 100, txId: 'grocer:r-2' });
  });

  it('refuses bad rules naming the field and writes nothing: thresholds out of order, zero or negative multipliers, overlapping campaigns', async () => {
    await refusedOn(
      terms({
        ...EARN_RULE,
        thresholds: [
          { fromMinor: 500_000, multiplierBps: 11_000 },
          { fromMinor: 100_000, multiplierBps: 10_500 },
        ],
      }),
      'earnRule.thresholds.1.fromMinor',
    );
    await refusedOn(terms({ ...EARN_RULE, categories: { grocery: 0 } }), 'earnRule.categories.grocery');
    await refusedOn(terms({ ...EARN_RULE, categories: { grocery: -10_000 } }), 'earnRule.categories.grocery');
    await refusedOn(terms({ ...EARN_RULE, thresholds: [{ fromMinor: 1, multiplierBps: 0 }] }), 'earnRule.thresholds.0.multiplierBps');
    const overlapping = {
      campaignId: 'dairy-days',
      from: '2026-11-20T00:00:00Z',
      to: '2026-11-25T00:00:00Z',
      multiplierBps: 20_000,
      categories: ['grocery'],
    };
    await refusedOn(terms({ ...EARN_RULE, campaigns: [...EARN_RULE.campaigns, overlapping] }), 'earnRule.campaigns.1');
    await refusedOn(terms({ ...EARN_RULE, campaigns: [{ ...overlapping, multiplierBps: 0 }] }), 'earnRule.campaigns.0.multiplierBps');
    await refusedOn(
      post('/v1/partners', t.admin, { partnerId: 'bakery', name: 'Bakery', earnRule: { ...EARN_RULE, categories: { grocery: 0 } } }),
      'earnRule.categories.grocery',
    );
    // Accepted once the overlap is on another category.
    await terms({ ...EARN_RULE, campaigns: [...EARN_RULE.campaigns, { ...overlapping, categories: ['dairy'] }] }).expect(200);
  });
});
