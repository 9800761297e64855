import fc from 'fast-check';
import { cardNumber } from '@ledger/testing';
import { BUSINESS_NOW, HostileFixture, WRITE_ROUTES, startHostileFixture } from './support/hostile-fixture';

/**
 * Issue 15 §8: fast-check fuzz of every write route. Bodies are built from the route's own
 * fields, each either plausible or hostile, with fields dropped and foreign ones added, and
 * from arbitrary JSON and text. Whatever comes in: never a 5xx; a refusal is a documented
 * error body (a 400, 413 or 415 names the field) and writes nothing.
 */
const RUNS_PER_ROUTE = 500;

/** Anything JSON can carry where a scalar is expected. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 1, -1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e300, Number.MAX_SAFE_INTEGER),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }),
  fc.constantFrom('__proto__', 'constructor', "'; DROP TABLE events;--", '../../etc/passwd', '\u0000', '\u202e', 'm-\u04301', '%2F', ''),
);

const id = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,8}$/);
const dates = fc.constantFrom(
  BUSINESS_NOW,
  '2026-11-01T00:00:00Z',
  '2026-11-20T12:04:00Z',
  '2026-08-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '2026-02-30T00:00:00Z',
  '2026-11-20',
);
const smallInt = fc.integer({ min: -5, max: 1_000_000 });

/** Plausible values per field: valid ones and their near misses. */
const PLAUSIBLE: Record<string, fc.Arbitrary<unknown>> = {
  currency: fc.constantFrom('RUB', 'EUR', 'rub', 'RUBX'),
  pointValueMinor: smallInt,
  expiryMonths: fc.integer({ min: -1, max: 130 }),
  partnerId: fc.oneof(id, fc.constantFrom('grocer', 'cafe', 'staff')),
  name: fc.string({ maxLength: 120 }),
  earnRule: fc.record({ pointsPerUnit: smallInt, unitMinor: smallInt }, { requiredKeys: [] }),
  issuanceFeeBps: fc.integer({ min: -1, max: 10_001 }),
  breakageShareBps: fc.integer({ min: -1, max: 10_001 }),
  effectiveFrom: dates,
  role: fc.constantFrom('finance', 'auditor', 'admin', 'partner', 'root'),
  memberId: fc.oneof(id, fc.constantFrom('m-1', 'm-2')),
  cardNumber: fc.oneof(fc.integer({ min: 1, max: 50 }).map(cardNumber), fc.stringMatching(/^[0-9]{10,20}$/)),
  birthDate: fc.constantFrom('1990-05-01', '2030-01-01', '1899-12-31', '1990-02-30', '1990-5-1'),
  externalId: fc.oneof(id, fc.constantFrom('g-1', 'h-1', 'h-2')),
  originalExternalId: fc.oneof(id, fc.constantFrom('g-1', 'h-1', 'h-2')),
  amountMinor: smallInt,
  points: fc.integer({ min: -2, max: 100 }),
  occurredAt: dates,
  ttlSeconds: fc.integer({ min: -1, max: 2_600_000 }),
  reason: fc.string({ maxLength: 220 }),
  referredBy: fc.oneof(id, fc.constantFrom('m-1', 'm-2')),
  action: fc.constantFrom('review', 'survey', 'Review', '__proto__', 'constructor', ''),
  planId: fc.constantFrom('plus', 'gold-pass', 'Plus', '__proto__', 'constructor', ''),
  tiers: fc.array(
    fc.record(
      {
        tierId: fc.constantFrom('red', 'gold', 'Gold', ''),
        qualifyingPoints: smallInt,
        multiplierBps: fc.integer({ min: -1, max: 100_001 }),
      },
      { requiredKeys: [] },
    ),
    { maxLength: 3 },
  ),
  bonuses: fc.record(
    {
      welcome: fc.record({ points: smallInt, sponsor: fc.constantFrom('grocer', 'operator', 'nobody') }, { requiredKeys: [] }),
      actions: fc.dictionary(
        fc.constantFrom('review', 'survey', '__proto__', 'Bad'),
        fc.record({ points: smallInt, sponsor: fc.constantFrom('cafe', 'operator'), capPerMonth: smallInt }, { requiredKeys: [] }),
        { maxKeys: 2 },
      ),
    },
    { requiredKeys: [] },
  ),
  limits: fc.record({ maxAccrualsPerMemberPerHour: smallInt, maxPointsPerMemberPerDay: smallInt }, { requiredKeys: [] }),
  plans: fc.array(
    fc.record(
      {
        planId: fc.constantFrom('plus', 'plus', 'Pro'),
        feeMinor: smallInt,
        months: fc.integer({ min: -1, max: 121 }),
        multiplierBps: smallInt,
        tierFloor: fc.constantFrom('red', 'platinum'),
      },
      { requiredKeys: [] },
    ),
    { maxLength: 2 },
  ),
  periodId: fc.constantFrom('2026-10', '2026-11', '2026-12', '2026-13', '26-10', '2026-09'),
};

function bodies(fields: string[]): fc.Arbitrary<{ raw: string } | { body: unknown }> {
  const shaped = fc.record(
    Object.fromEntries(fields.map((f) => [f, fc.oneof({ weight: 3, arbitrary: PLAUSIBLE[f] }, { weight: 1, arbitrary: hostileValue })])),
    {
      requiredKeys: [],
    },
  );
  const withExtra = fc
    .tuple(
      shaped,
      fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'partnerId', 'issuerPartnerId')), hostileValue, {
        maxKeys: 2,
      }),
    )
    .map(([b, extra]) => ({ ...extra, ...b }));
  return fc.oneof(
    { weight: 6, arbitrary: shaped.map((body) => ({ body })) },
    { weight: 2, arbitrary: withExtra.map((body) => ({ body })) },
    { weight: 1, arbitrary: fc.json().map((raw) => ({ raw })) },
    { weight: 1, arbitrary: fc.string().map((raw) => ({ raw })) },
  );
}

const FIELD_OF_ROUTE: Record<string, string[]> = {
  'PUT /v1/coalition': ['currency', 'pointValueMinor', 'expiryMonths'],
  'POST /v1/partners': ['partnerId', 'name', 'earnRule', 'issuanceFeeBps', 'breakageShareBps'],
  'PUT /v1/partners/grocer/terms': ['issuanceFeeBps', 'breakageShareBps', 'effectiveFrom', 'earnRule'],
  'POST /v1/partners/grocer/keys': ['role', 'partnerId'],
  'POST /v1/keys': ['role'],
  'POST /v1/members': ['memberId', 'cardNumber', 'birthDate', 'referredBy'],
  'POST /v1/accruals': ['externalId', 'memberId', 'amountMinor', 'currency', 'occurredAt'],
  'POST /v1/reversals': ['externalId', 'memberId', 'originalExternalId', 'occurredAt'],
  'POST /v1/redemptions': ['externalId', 'memberId', 'points', 'occurredAt'],
  'POST /v1/settlements': ['periodId'],
  'POST /v1/holds': ['externalId', 'memberId', 'points', 'ttlSeconds', 'occurredAt'],
  'POST /v1/holds/grocer:hold-1/capture': ['externalId', 'points', 'occurredAt'],
  'POST /v1/holds/grocer:hold-2/release': ['externalId'],
  'POST /v1/bonuses': ['externalId', 'memberId', 'points', 'reason'],
  'POST /v1/actions': ['externalId', 'memberId', 'action', 'occurredAt'],
  'POST /v1/members/m-1/membership': ['externalId', 'planId', 'occurredAt'],
  'PUT /v1/program': ['effectiveFrom', 'tiers', 'bonuses', 'limits', 'plans'],
  [`POST /v1/cards/${cardNumber(1)}/block`]: ['reason'],
  'POST /v1/members/m-1/cards': ['cardNumber'],
  'POST /v1/partners/cafe/suspend': ['reason'],
  'POST /v1/partners/cafe/reinstate': ['reason'],
};

const FIELD_NAMED = new Set([400, 413, 415]);

describe('fuzzing every write route', () => {
  let f: HostileFixture;
  /** The log's head: unchanged when nothing was appended. */
  const head = async () => (await f.t.store.readAll({ direction: 'backwards', maxCount: 1 }))[0]?.position;
  const tally = { runs: 0, refused: 0, accepted: 0 };

  beforeAll(async () => {
    f = await startHostileFixture();
  });
  afterAll(async () => {
    await f.t.close();
  });

  it('covers every write route', () => {
    expect(Object.keys(FIELD_OF_ROUTE).sort()).toEqual(WRITE_ROUTES.map((r) => `${r.method} ${r.url}`).sort());
  });

  it.each(WRITE_ROUTES.map((r) => [`${r.method} ${r.url}`, r] as const))(
    '%s: never a 5xx, refusals documented and without effect',
    async (name, route) => {
      await fc.assert(
        fc.asyncProperty(bodies(FIELD_OF_ROUTE[name]), async (input) => {
          const before = await head();
          const res = await f.send({ method: route.method, url: route.url, as: route.as, ...input });
          tally.runs += 1;
          // A 5xx shows what the app logged about it, so a failing run explains itself.
          const logged = f.takeErrorLog();
          if (res.status >= 500) throw new Error(`${res.status} ${res.text}\nfor ${JSON.stringify(input)}\napp log:\n${logged.join('')}`);
          expect(res.status).toBeLessThan(500);
          if (res.status < 300) {
            tally.accepted += 1;
            return;
          }
          tally.refused += 1;
          expect(res.body).toMatchObject({ statusCode: res.status, code: expect.stringMatching(/^[a-z_]+$/), message: expect.any(String) });
          if (FIELD_NAMED.has(res.status)) {
            expect(res.body.details.length).toBeGreaterThan(0);
            for (const d of res.body.details)
              expect(d).toEqual({ field: expect.stringMatching(/\S/), reason: expect.stringMatching(/\S/) });
          }
          expect(res.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
          expect(await head()).toBe(before);
        }),
        { numRuns: RUNS_PER_ROUTE },
      );
    },
    120_000,
  );

  it('ran every route the planned number of times, with both refusals and acceptances', () => {
    expect(tally.runs).toBe(RUNS_PER_ROUTE * WRITE_ROUTES.length);
    expect(tally.refused).toBeGreaterThan(0);
    expect(tally.accepted).toBeGreaterThan(0);
  });
});
