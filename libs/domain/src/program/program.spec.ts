import { deciderSpec } from '@ledger/testing/decider-spec';
import { InvalidInput } from '../shared/errors';
import { ProgramCommand, ProgramEvent, ProgramVersion, decideProgram, evolveProgram, initialProgram, programAt } from './program';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const given = deciderSpec({ decide: decideProgram, evolve: evolveProgram, initialState: initialProgram, now: NOW });
const PARTNERS = new Set(['grocer', 'cafe']);

const version = (over: Partial<ProgramVersion> = {}): ProgramVersion => ({
  effectiveFrom: '2026-12-01T00:00:00.000Z',
  tiers: [
    { tierId: 'red', qualifyingPoints: 0, multiplierBps: 10_000 },
    { tierId: 'silver', qualifyingPoints: 5_000, multiplierBps: 13_000 },
    { tierId: 'gold', qualifyingPoints: 20_000, multiplierBps: 20_000 },
  ],
  bonuses: {
    welcome: { points: 100, sponsor: 'operator' },
    referral: { points: 200, sponsor: 'grocer' },
    actions: { review: { points: 20, sponsor: 'cafe', capPerMonth: 2 } },
  },
  limits: { maxAccrualsPerMemberPerHour: 5, maxPointsPerMemberPerDay: 10_000 },
  plans: [{ planId: 'plus', feeMinor: 99_000, months: 12, multiplierBps: 15_000, tierFloor: 'silver' }],
  ...over,
});

const configure = (data: ProgramCommand['data']): ProgramCommand => ({ type: 'ConfigureProgram', data, context: { partners: PARTNERS } });
const configured = (v: ProgramVersion): ProgramEvent => ({ type: 'ProgramConfigured', data: { programId: 'default', ...v } });

/** The refusal's one field problem. */
const refusedOn = (field: string) => (error: unknown) => error instanceof InvalidInput && error.details[0]?.field === field;

describe('programme configuration', () => {
  it('given no programme, when one is configured, then its version is recorded with the date in UTC', () => {
    given([])
      .when(configure({ ...version(), effectiveFrom: '2026-12-01T03:00:00+03:00' }))
      .then([configured(version())]);
  });

  it('given a version, when the same one is configured again, then nothing is recorded (a retried PUT)', () => {
    given([configured(version())])
      .when(configure(version()))
      .thenNothingHappened();
  });

  it('given a version, when other rules are configured for the same date, then they replace it', () => {
    const tighter = version({ limits: { maxAccrualsPerMemberPerHour: 2, maxPointsPerMemberPerDay: 500 } });
    given([configured(version())])
      .when(configure(tighter))
      .thenState((s) => expect(s.versions).toEqual([tighter]));
  });

  it('records plans as an empty list when the request has none', () => {
    const { plans: _none, ...withoutPlans } = version({ tiers: [] });
    given([])
      .when(configure(withoutPlans))
      .then([configured({ ...withoutPlans, plans: [] })]);
  });

  it('answers the version in force at a date: none before the first, then the latest effective on or before it', () => {
    const december = version();
    const march = version({
      effectiveFrom: '2027-03-01T00:00:00.000Z',
      limits: { maxAccrualsPerMemberPerHour: 9, maxPointsPerMemberPerDay: 1 },
    });
    const state = given([configured(march), configured(december)]).when(configure(december)).thenState;
    state((s) => {
      expect(programAt(s, '2026-11-30T23:59:59Z')).toBeUndefined();
      expect(programAt(s, '2026-12-01T00:00:00Z')).toEqual(december);
      expect(programAt(s, '2027-02-28T12:00:00Z')).toEqual(december);
      expect(programAt(s, '2027-03-01T00:00:00Z')).toEqual(march);
    });
  });

  describe('bad input is refused naming the field', () => {
    const cases: [string, ProgramCommand['data'], string][] = [
      ['a date that is none', { ...version(), effectiveFrom: 'soon' }, 'effectiveFrom'],
      [
        'qualifying points not strictly increasing',
        version({ tiers: [version().tiers[0], { ...version().tiers[1], qualifyingPoints: 0 }] }),
        'tiers.1.qualifyingPoints',
      ],
      ['a zero multiplier', version({ tiers: [{ tierId: 'red', qualifyingPoints: 0, multiplierBps: 0 }] }), 'tiers.0.multiplierBps'],
      [
        'a negative multiplier',
        version({ tiers: [{ tierId: 'red', qualifyingPoints: 0, multiplierBps: -10_000 }] }),
        'tiers.0.multiplierBps',
      ],
      [
        'a fractional multiplier',
        version({ tiers: [{ tierId: 'red', qualifyingPoints: 0, multiplierBps: 1.5 }] }),
        'tiers.0.multiplierBps',
      ],
      ['a tier named twice', version({ tiers: [version().tiers[0], { ...version().tiers[1], tierId: 'red' }] }), 'tiers.1.tierId'],
      ['an unknown field on a tier', version({ tiers: [{ ...version().tiers[0], bonus: 1 } as never] }), 'tiers.0.bonus'],
      ['a sponsor that never joined', version({ bonuses: { welcome: { points: 100, sponsor: 'nobody' } } }), 'bonuses.welcome.sponsor'],
      [
        'an action with a cap of zero',
        version({ bonuses: { actions: { survey: { points: 5, sponsor: 'operator', capPerMonth: 0 } } } }),
        'bonuses.actions.survey.capPerMonth',
      ],
      [
        'an action whose name is not a name',
        version({ bonuses: { actions: { 'Bad Name': { points: 5, sponsor: 'operator', capPerMonth: 1 } } } }),
        'bonuses.actions.Bad Name',
      ],
      ['an unknown bonus', version({ bonuses: { anniversary: { points: 1, sponsor: 'operator' } } as never }), 'bonuses.anniversary'],
      [
        'a zero limit',
        version({ limits: { maxAccrualsPerMemberPerHour: 0, maxPointsPerMemberPerDay: 1 } }),
        'limits.maxAccrualsPerMemberPerHour',
      ],
      ['a limit missing', version({ limits: { maxAccrualsPerMemberPerHour: 3 } as never }), 'limits.maxPointsPerMemberPerDay'],
      ['a plan floor that names no tier', version({ plans: [{ ...version().plans[0], tierFloor: 'platinum' }] }), 'plans.0.tierFloor'],
      ['a plan with a negative fee', version({ plans: [{ ...version().plans[0], feeMinor: -1 }] }), 'plans.0.feeMinor'],
    ];
    it.each(cases)('%s', (_name, data, field) => {
      given([configured(version())])
        .when(configure(data))
        .thenThrows(refusedOn(field));
    });
  });

  it('accepts the operator and any partner that joined as sponsors', () => {
    const v = version({
      bonuses: { welcome: { points: 1, sponsor: 'operator' }, birthday: { points: 2, sponsor: 'cafe' } },
    });
    given([])
      .when(configure(v))
      .then([configured(v)]);
  });
});
