import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { SeededCoalition, TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';
import { TierReviewJob } from '../apps/api/src/tiers/tier-review';

/** Red, silver at 500 and gold at 2,000 qualifying points; limits far above what these tests post. */
const threeTiers = (effectiveFrom: string) => ({
  effectiveFrom,
  tiers: [
    { tierId: 'red', qualifyingPoints: 0, multiplierBps: 10_000 },
    { tierId: 'silver', qualifyingPoints: 500, multiplierBps: 15_000 },
    { tierId: 'gold', qualifyingPoints: 2_000, multiplierBps: 20_000 },
  ],
  bonuses: {},
  limits: { maxAccrualsPerMemberPerHour: 10, maxPointsPerMemberPerDay: 100_000 },
});

/** Issue 14 §1: the tiers' anniversary review as the API's job runs it, on SQLite. */
describe('tier anniversary review on sqlite', () => {
  let t: TestApp;
  let c: SeededCoalition;
  beforeEach(async () => {
    const dir = tempDir();
    t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir });
    c = await seedCoalition(t, ['grocer', 'cafe']);
    await t.http().put('/v1/program').set(t.admin).send(threeTiers('2026-11-01T00:00:00Z')).expect(200);
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

/** The same review as an operator runs it from the shell, on a history a year old (the CLI reviews by the real clock). */
describe('`ledger review-tiers`', () => {
  const LEDGER_JS = join(__dirname, '..', 'bin', 'ledger.js');
  let dir: string;
  beforeEach(async () => {
    dir = tempDir();
    const t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir });
    t.clock.set('2025-11-01T00:00:00Z');
    const c = await seedCoalition(t, ['grocer']);
    await t.http().put('/v1/program').set(t.admin).send(threeTiers('2025-11-01T00:00:00Z')).expect(200);
    await t
      .http()
      .post('/v1/members')
      .set(c.partners.grocer)
      .send({ memberId: 'm-1', cardNumber: cardNumber(1) })
      .expect(201);
    t.clock.set('2025-11-10T13:00:00Z');
    await t
      .http()
      .post('/v1/accruals')
      .set(c.partners.grocer)
      .send({ externalId: 'big', memberId: 'm-1', amountMinor: 20_000_000, currency: 'RUB', occurredAt: '2025-11-10T12:00:00Z' })
      .expect(201);
    // Stop the API but keep its data directory (close() would remove it).
    await t.app.close();
    await t.store.close();
  });
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [LEDGER_JS, 'review-tiers', ...args], {
      env: { ...process.env, LEDGER_DATA_DIR: dir, LEDGER_EVENTSTORE: '', LEDGER_READ_STORE: '' },
      encoding: 'utf8',
    });
  const tiers = async () => {
    const store = SqliteEventStore.open(join(dir, 'ledger.db'));
    try {
      return (await store.readStream('member-m-1'))
        .filter((e) => e.type === 'TierChanged')
        .map((e) => (e.data as { toTierId: string }).toTierId);
    } finally {
      await store.close();
    }
  };

  it('drops the gold member one tier once, with progress and a summary; a second run drops nothing; a bad or future --at exits 2', async () => {
    expect(await tiers()).toEqual(['gold']);
    const first = run('--at', '2026-11-15T00:00:00Z');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^1 members reviewed, 1 dropped a tier/);
    expect(first.stderr).toContain('review-tiers');
    expect(await tiers()).toEqual(['gold', 'silver']);
    const second = run('--at', '2026-11-20T00:00:00Z');
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/0 dropped a tier/);
    expect(await tiers()).toEqual(['gold', 'silver']);
    for (const at of ['tomorrow', '2999-01-01T00:00:00Z']) {
      const bad = run('--at', at);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain('--at');
    }
    expect(await tiers()).toEqual(['gold', 'silver']);
  });
});
