import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { SeededCoalition, TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';
import { TierReviewJob } from '../apps/api/src/tiers/tier-review';

/** Issue 14 §1: the tiers' anniversary review as the API's job runs it, on SQLite. */
describe('tier anniversary review on sqlite', () => {
  let t: TestApp;
  let c: SeededCoalition;
  beforeEach(async () => {
    const dir = tempDir();
    t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir });
    c = await seedCoalition(t, ['grocer', 'cafe']);
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
    await t
      .http()
      .post('/v1/members')
      .set(c.partners.grocer)
      .send({ memberId: 'm-1', cardNumber: cardNumber(1) })
      .expect(201);
    await t
      .http()
      .post('/v1/members')
      .set(c.partners.grocer)
      .send({ memberId: 'm-2', cardNumber: cardNumber(2) })
      .expect(201);
    // m-1 becomes gold on 2026-11-10 and then earns nothing; m-2 only red.
    await t
      .http()
      .post('/v1/accruals')
      .set(c.partners.grocer)
      .send({ externalId: 'big', memberId: 'm-1', amountMinor: 20_000_000, currency: 'RUB', occurredAt: '2026-11-10T12:00:00Z' })
      .expect(201);
    await t
      .http()
      .post('/v1/accruals')
      .set(c.partners.grocer)
      .send({ externalId: 'small', memberId: 'm-2', amountMinor: 100_000, currency: 'RUB', occurredAt: '2026-11-10T12:00:00Z' })
      .expect(201);
  });
  afterEach(() => t.close());

  const tierEvents = async (memberId: string) =>
    (await t.store.readStream(`member-${memberId}`)).filter((e) => e.type === 'TierChanged').map((e) => e.data as Record<string, unknown>);

  it('before the anniversary, reviews write nothing', async () => {
    const job = t.app.get(TierReviewJob);
    expect(await job.runOnce()).toEqual({ membersReviewed: 0, tiersDropped: 0 });
  });

  it('past the anniversary, two runs racing drop the gold member one tier (to silver) once, dated at the anniversary', async () => {
    t.clock.set('2027-11-15T00:00:00Z');
    const job = t.app.get(TierReviewJob);
    const before = (await t.store.readAll()).length;
    const [a, b] = await Promise.all([job.runOnce(), job.runOnce()]);
    expect(a.tiersDropped + b.tiersDropped).toBe(1);
    expect((await t.store.readAll()).length).toBe(before + 1);
    const changes = await tierEvents('m-1');
    expect(changes.at(-1)).toMatchObject({
      fromTierId: 'gold',
      toTierId: 'silver',
      reason: 'review',
      qualifyingPoints: 0,
      occurredAt: '2027-11-10T12:00:00.000Z',
    });
    // Red is the floor: a member at the lowest tier keeps it. A further run writes nothing.
    expect((await tierEvents('m-2')).map((e) => e.toTierId)).toEqual(['red']);
    expect((await job.runOnce()).tiersDropped).toBe(0);
    expect((await t.store.readAll()).length).toBe(before + 1);
  });
});
