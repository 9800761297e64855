import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { SeededCoalition, TestApp, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

/** Issue 14: the programme's configuration over HTTP on SQLite, versioned by effectiveFrom. */

const PROGRAM = {
  effectiveFrom: '2026-11-01T00:00:00Z',
  tiers: [
    { tierId: 'red', qualifyingPoints: 0, multiplierBps: 10_000 },
    { tierId: 'silver', qualifyingPoints: 5_000, multiplierBps: 13_000 },
    { tierId: 'gold', qualifyingPoints: 20_000, multiplierBps: 20_000 },
  ],
  bonuses: {
    welcome: { points: 100, sponsor: 'operator' },
    birthday: { points: 300, sponsor: 'grocer' },
    referral: { points: 200, sponsor: 'operator' },
    actions: { review: { points: 20, sponsor: 'cafe', capPerMonth: 2 } },
  },
  limits: { maxAccrualsPerMemberPerHour: 5, maxPointsPerMemberPerDay: 10_000 },
  plans: [{ planId: 'plus', feeMinor: 99_000, months: 12, multiplierBps: 15_000, tierFloor: 'silver' }],
};

describe('programme configuration over HTTP on sqlite', () => {
  let t: TestApp;
  let c: SeededCoalition;
  let keys: Record<'finance' | 'auditor', { Authorization: string }>;
  const eventCount = async () => (await t.store.readAll()).length;
  const put = (body: unknown, as: { Authorization: string } = t.admin) =>
    t
      .http()
      .put('/v1/program')
      .set(as)
      .send(body as object);
  const get = (query = '', as: { Authorization: string } = t.admin) => t.http().get(`/v1/program${query}`).set(as);

  beforeEach(async () => {
    const dir = tempDir();
    t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir });
    c = await seedCoalition(t, ['grocer', 'cafe']);
    const staffKey = async (role: string) => ({
      Authorization: `Bearer ${(await t.http().post('/v1/keys').set(t.admin).send({ role }).expect(201)).body.key}`,
    });
    keys = { finance: await staffKey('finance'), auditor: await staffKey('auditor') };
  });
  afterEach(() => t.close());

  it('answers 404 program_not_found before any version is configured', async () => {
    const res = await get().expect(404);
    expect(res.body.code).toBe('program_not_found');
  });

  it('configures a version, and reads it back as the one in force, by every role with a key', async () => {
    const res = await put(PROGRAM).expect(200);
    const recorded = { ...PROGRAM, effectiveFrom: '2026-11-01T00:00:00.000Z' };
    expect(res.body).toEqual({ ...recorded, position: expect.any(Number) });
    const events = await t.store.readStream('program-default');
    expect(events.map((e) => e.type)).toEqual(['ProgramConfigured']);
    for (const as of [t.admin, keys.finance, keys.auditor, c.partners.grocer]) {
      expect((await get('', as).expect(200)).body).toEqual(recorded);
    }
  });

  it('keeps versions by effectiveFrom: now answers the one in force, ?at= the one in force then', async () => {
    await put(PROGRAM).expect(200);
    const december = {
      ...PROGRAM,
      effectiveFrom: '2026-12-01T00:00:00Z',
      limits: { maxAccrualsPerMemberPerHour: 2, maxPointsPerMemberPerDay: 500 },
    };
    await put(december).expect(200);
    expect((await get().expect(200)).body.limits).toEqual(PROGRAM.limits);
    expect((await get('?at=2026-12-05T00:00:00Z').expect(200)).body.limits).toEqual(december.limits);
    expect((await get('?at=2026-11-30T23:59:59Z').expect(200)).body.effectiveFrom).toBe('2026-11-01T00:00:00.000Z');
    expect((await get('?at=2026-10-31T23:59:59Z').expect(404)).body.code).toBe('program_not_found');
    expect((await t.store.readStream('program-default')).length).toBe(2);
  });

  it('records nothing when the same version is configured again (a retried PUT)', async () => {
    await put(PROGRAM).expect(200);
    const before = await eventCount();
    const again = await put(PROGRAM).expect(200);
    expect(again.body.position).toBeNull();
    expect(await eventCount()).toBe(before);
  });

  it('lets only the admin configure', async () => {
    const before = await eventCount();
    for (const as of [keys.finance, keys.auditor, c.partners.grocer]) await put(PROGRAM, as).expect(403);
    await t.http().put('/v1/program').send(PROGRAM).expect(401);
    expect(await eventCount()).toBe(before);
  });

  const tiers = PROGRAM.tiers;
  const bad: [string, unknown, string][] = [
    [
      'qualifying points not strictly increasing',
      { ...PROGRAM, tiers: [tiers[0], { ...tiers[1], qualifyingPoints: 0 }] },
      'tiers.1.qualifyingPoints',
    ],
    [
      'equal qualifying points',
      { ...PROGRAM, tiers: [tiers[0], tiers[1], { ...tiers[2], qualifyingPoints: 5_000 }] },
      'tiers.2.qualifyingPoints',
    ],
    ['a zero multiplier', { ...PROGRAM, tiers: [{ ...tiers[0], multiplierBps: 0 }] }, 'tiers.0.multiplierBps'],
    ['a negative multiplier', { ...PROGRAM, tiers: [{ ...tiers[0], multiplierBps: -5 }] }, 'tiers.0.multiplierBps'],
    ['a fractional multiplier', { ...PROGRAM, plans: [{ ...PROGRAM.plans[0], multiplierBps: 1.5 }] }, 'plans.0.multiplierBps'],
    ['an unknown top-level field', { ...PROGRAM, currency: 'RUB' }, 'currency'],
    ['an unknown field on a tier', { ...PROGRAM, tiers: [{ ...tiers[0], colour: 'red' }] }, 'tiers.0.colour'],
    ['an unknown bonus', { ...PROGRAM, bonuses: { anniversary: { points: 1, sponsor: 'operator' } } }, 'bonuses.anniversary'],
    ['a sponsor that never joined', { ...PROGRAM, bonuses: { welcome: { points: 100, sponsor: 'nobody' } } }, 'bonuses.welcome.sponsor'],
    [
      'an action sponsored by a partner that never joined',
      { ...PROGRAM, bonuses: { actions: { review: { points: 5, sponsor: 'ghost', capPerMonth: 1 } } } },
      'bonuses.actions.review.sponsor',
    ],
    [
      'an action without a cap',
      { ...PROGRAM, bonuses: { actions: { review: { points: 5, sponsor: 'operator' } } } },
      'bonuses.actions.review.capPerMonth',
    ],
    ['limits missing', { ...PROGRAM, limits: undefined }, 'limits'],
    ['a zero limit', { ...PROGRAM, limits: { ...PROGRAM.limits, maxPointsPerMemberPerDay: 0 } }, 'limits.maxPointsPerMemberPerDay'],
    ['a plan floor naming no tier', { ...PROGRAM, plans: [{ ...PROGRAM.plans[0], tierFloor: 'platinum' }] }, 'plans.0.tierFloor'],
    ['tiers that are no list', { ...PROGRAM, tiers: { red: 1 } }, 'tiers'],
    ['an effective date without a zone', { ...PROGRAM, effectiveFrom: '2026-11-01T00:00:00' }, 'effectiveFrom'],
    ['an effective date too far back', { ...PROGRAM, effectiveFrom: '2025-01-01T00:00:00Z' }, 'effectiveFrom'],
  ];
  it.each(bad)('refuses %s with 400 naming the field, writing nothing', async (_name, body, field) => {
    await put(PROGRAM).expect(200);
    const before = await eventCount();
    const res = await put(body).expect(400);
    expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    expect(await eventCount()).toBe(before);
    expect((await get().expect(200)).body.limits).toEqual(PROGRAM.limits);
  });

  it('refuses ?at= that is no date-time, naming at', async () => {
    const res = await get('?at=yesterday').expect(400);
    expect(res.body.details).toEqual([expect.objectContaining({ field: 'at' })]);
  });
});
