import { DomainEvent } from '../shared/decider';
import { InvalidInput } from '../shared/errors';
import { AMOUNT_MINOR_MAX } from '../shared/money';
import { toUtcIso } from '../shared/time';

/**
 * The loyalty programme the operator runs on the ledger (issue 14): tiers, bonuses, velocity
 * limits and paid plans. One programme per deployment, on the stream `program-default`; each
 * `ProgramConfigured` is a version in force from its `effectiveFrom` (a business date) until
 * the next version's, so a question about a past date is answered by the rules of that date.
 */
export const PROGRAM_ID = 'default';
export const programStream = (id: string = PROGRAM_ID) => `program-${id}`;

/** The sponsor that is no partner: the coalition operator pays for the bonuses it sponsors. */
export const OPERATOR_SPONSOR = 'operator';

/** 10000 basis points = ×1. A multiplier above ×10 is a typo, and would let a purchase mint too much. */
export const MULTIPLIER_BPS_MAX = 100_000;
/** No single bonus or qualifying threshold beyond this (points are integers, kept far from 2^53). */
export const PROGRAM_POINTS_MAX = 1_000_000_000;
/** Names of tiers, plans and actions: they become keys and path segments. */
export const PROGRAM_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export interface Tier {
  tierId: string;
  /** Points earned in the rolling qualification window that reach this tier. */
  qualifyingPoints: number;
  multiplierBps: number;
}

export interface SponsoredBonus {
  points: number;
  /** A partnerId, or `operator`: the issuer of the bonus lot, who pays for it in settlement. */
  sponsor: string;
}

export interface ActionBonus extends SponsoredBonus {
  capPerMonth: number;
}

export interface ProgramBonuses {
  welcome?: SponsoredBonus;
  birthday?: SponsoredBonus;
  referral?: SponsoredBonus;
  actions?: Record<string, ActionBonus>;
}

/** Velocity limits per member, counted by the business date of accruals (UTC clock hour, UTC calendar day). */
export interface VelocityLimits {
  maxAccrualsPerMemberPerHour: number;
  maxPointsPerMemberPerDay: number;
}

export interface MembershipPlan {
  planId: string;
  feeMinor: number;
  months: number;
  multiplierBps: number;
  tierFloor?: string;
}

export interface ProgramVersion {
  /** Business date from which this version applies (ISO, UTC). */
  effectiveFrom: string;
  tiers: Tier[];
  bonuses: ProgramBonuses;
  limits: VelocityLimits;
  plans: MembershipPlan[];
}

export type ProgramEvent = DomainEvent<'ProgramConfigured', { programId: string } & ProgramVersion>;

export interface ProgramState {
  /** Every version, oldest effective date first; a later version with the same date replaced the earlier. */
  versions: ProgramVersion[];
}

export type ProgramCommand = {
  type: 'ConfigureProgram';
  data: Omit<ProgramVersion, 'plans'> & { plans?: MembershipPlan[] };
  /** Partners that have joined: a sponsor must be one of them, or the operator. */
  context: { partners: ReadonlySet<string> };
};

export const initialProgram = (): ProgramState => ({ versions: [] });

export function decideProgram(command: ProgramCommand, state: ProgramState): ProgramEvent[] {
  const version = checkedVersion(command.data, command.context.partners);
  const same = state.versions.find((v) => v.effectiveFrom === version.effectiveFrom);
  // The same version again (a retried PUT) records nothing; other rules for that date replace it.
  if (same !== undefined && sameVersion(same, version)) return [];
  return [{ type: 'ProgramConfigured', data: { programId: PROGRAM_ID, ...version } }];
}

export function evolveProgram(state: ProgramState, event: ProgramEvent): ProgramState {
  if (event.type !== 'ProgramConfigured') return state;
  const { programId: _id, ...version } = event.data;
  const versions = [...state.versions.filter((v) => v.effectiveFrom !== version.effectiveFrom), version];
  versions.sort((a, b) => Date.parse(a.effectiveFrom) - Date.parse(b.effectiveFrom));
  return { versions };
}

/** The version in force at a business date: the latest effective on or before it; none before the first (or for no date). */
export function programAt(state: ProgramState, at: string): ProgramVersion | undefined {
  const t = Date.parse(at);
  if (Number.isNaN(t)) return undefined;
  let inForce: ProgramVersion | undefined;
  for (const v of state.versions) if (Date.parse(v.effectiveFrom) <= t) inForce = v;
  return inForce;
}

export const programDecider = { decide: decideProgram, evolve: evolveProgram, initialState: initialProgram };

const sameVersion = (a: ProgramVersion, b: ProgramVersion) => JSON.stringify(a) === JSON.stringify(b);

const isInt = (v: unknown, min: number, max: number): v is number =>
  Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

function requireInt(field: string, v: unknown, min: number, max: number): number {
  if (!isInt(v, min, max)) throw new InvalidInput(field, `must be an integer from ${min} to ${max}`);
  return v;
}

function requireName(field: string, v: unknown): string {
  if (typeof v !== 'string' || !PROGRAM_NAME_PATTERN.test(v)) {
    throw new InvalidInput(field, 'must be 1-32 lowercase letters, digits, dashes or underscores');
  }
  return v;
}

const requireMultiplier = (field: string, v: unknown) => requireInt(field, v, 1, MULTIPLIER_BPS_MAX);

/** Refuses keys the rules do not know: a misspelt field silently ignored would be a rule silently missing. */
function requireKnownKeys(field: string, v: unknown, known: readonly string[]): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InvalidInput(field, 'must be an object');
  for (const key of Object.keys(v)) {
    if (!known.includes(key)) throw new InvalidInput(field ? `${field}.${key}` : key, 'is not an accepted field');
  }
  return v as Record<string, unknown>;
}

/**
 * Every rule of a version checked, first problem named by its path (`tiers.1.qualifyingPoints`):
 * the decider is the last line, so it checks what the HTTP layer also checks.
 */
function checkedVersion(data: ProgramCommand['data'], partners: ReadonlySet<string>): ProgramVersion {
  if (typeof data.effectiveFrom !== 'string' || Number.isNaN(Date.parse(data.effectiveFrom))) {
    throw new InvalidInput('effectiveFrom', 'must be an ISO 8601 date-time');
  }
  const sponsor = (field: string, v: unknown): string => {
    if (typeof v !== 'string' || (v !== OPERATOR_SPONSOR && !partners.has(v))) {
      throw new InvalidInput(field, `must be a partner that has joined, or "${OPERATOR_SPONSOR}"`, 'unknown_sponsor');
    }
    return v;
  };
  const bonus = (field: string, v: unknown): SponsoredBonus => {
    const b = requireKnownKeys(field, v, ['points', 'sponsor']);
    return { points: requireInt(`${field}.points`, b.points, 1, PROGRAM_POINTS_MAX), sponsor: sponsor(`${field}.sponsor`, b.sponsor) };
  };

  if (!Array.isArray(data.tiers)) throw new InvalidInput('tiers', 'must be an array');
  const tiers: Tier[] = [];
  data.tiers.forEach((raw, i) => {
    const t = requireKnownKeys(`tiers.${i}`, raw, ['tierId', 'qualifyingPoints', 'multiplierBps']);
    const tierId = requireName(`tiers.${i}.tierId`, t.tierId);
    if (tiers.some((x) => x.tierId === tierId)) throw new InvalidInput(`tiers.${i}.tierId`, `names tier ${tierId} twice`);
    const qualifyingPoints = requireInt(`tiers.${i}.qualifyingPoints`, t.qualifyingPoints, 0, PROGRAM_POINTS_MAX);
    const previous = tiers.at(-1);
    if (previous !== undefined && qualifyingPoints <= previous.qualifyingPoints) {
      throw new InvalidInput(`tiers.${i}.qualifyingPoints`, `must be greater than the previous tier's ${previous.qualifyingPoints}`);
    }
    tiers.push({ tierId, qualifyingPoints, multiplierBps: requireMultiplier(`tiers.${i}.multiplierBps`, t.multiplierBps) });
  });

  const b = requireKnownKeys('bonuses', data.bonuses, ['welcome', 'birthday', 'referral', 'actions']);
  const bonuses: ProgramBonuses = {};
  for (const kind of ['welcome', 'birthday', 'referral'] as const) {
    if (b[kind] !== undefined) bonuses[kind] = bonus(`bonuses.${kind}`, b[kind]);
  }
  if (b.actions !== undefined) {
    const actions = requireKnownKeys('bonuses.actions', b.actions, Object.keys(b.actions as object));
    bonuses.actions = {};
    for (const [action, raw] of Object.entries(actions)) {
      const field = `bonuses.actions.${action}`;
      requireName(field, action);
      const a = requireKnownKeys(field, raw, ['points', 'sponsor', 'capPerMonth']);
      bonuses.actions[action] = {
        ...bonus(field, { points: a.points, sponsor: a.sponsor }),
        capPerMonth: requireInt(`${field}.capPerMonth`, a.capPerMonth, 1, 10_000),
      };
    }
  }

  const l = requireKnownKeys('limits', data.limits, ['maxAccrualsPerMemberPerHour', 'maxPointsPerMemberPerDay']);
  const limits: VelocityLimits = {
    maxAccrualsPerMemberPerHour: requireInt('limits.maxAccrualsPerMemberPerHour', l.maxAccrualsPerMemberPerHour, 1, 1_000_000),
    maxPointsPerMemberPerDay: requireInt('limits.maxPointsPerMemberPerDay', l.maxPointsPerMemberPerDay, 1, PROGRAM_POINTS_MAX),
  };

  const plans: MembershipPlan[] = [];
  if (data.plans !== undefined) {
    if (!Array.isArray(data.plans)) throw new InvalidInput('plans', 'must be an array');
    data.plans.forEach((raw, i) => {
      const p = requireKnownKeys(`plans.${i}`, raw, ['planId', 'feeMinor', 'months', 'multiplierBps', 'tierFloor']);
      const planId = requireName(`plans.${i}.planId`, p.planId);
      if (plans.some((x) => x.planId === planId)) throw new InvalidInput(`plans.${i}.planId`, `names plan ${planId} twice`);
      const plan: MembershipPlan = {
        planId,
        feeMinor: requireInt(`plans.${i}.feeMinor`, p.feeMinor, 0, AMOUNT_MINOR_MAX),
        months: requireInt(`plans.${i}.months`, p.months, 1, 120),
        multiplierBps: requireMultiplier(`plans.${i}.multiplierBps`, p.multiplierBps),
      };
      if (p.tierFloor !== undefined) {
        if (typeof p.tierFloor !== 'string' || !tiers.some((t) => t.tierId === p.tierFloor)) {
          throw new InvalidInput(`plans.${i}.tierFloor`, 'must name one of the tiers', 'unknown_tier');
        }
        plan.tierFloor = p.tierFloor;
      }
      plans.push(plan);
    });
  }
  return { effectiveFrom: toUtcIso(data.effectiveFrom), tiers, bonuses, limits, plans };
}
