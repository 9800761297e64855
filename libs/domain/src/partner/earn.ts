import { InvalidInput, assert } from '../shared/errors';
import { AMOUNT_MINOR_MAX, BPS_PER_UNIT } from '../shared/money';
import { toUtcIso } from '../shared/time';
import { MULTIPLIER_BPS_MAX, PROGRAM_NAME_PATTERN } from '../program/program';

/** A progressive step: receipts of at least `fromMinor` earn ×`multiplierBps` (the highest step reached applies). */
export interface EarnThreshold {
  fromMinor: number;
  multiplierBps: number;
}

/**
 * A promotion by business date, in force on [from, to). With `categories` it multiplies only
 * the items of those categories; without, every item (and a receipt posted without items).
 */
export interface EarnCampaign {
  campaignId: string;
  from: string;
  to: string;
  multiplierBps: number;
  categories?: string[];
}

/** `pointsPerUnit` points for every whole `unitMinor` minor units spent (partial units earn nothing). */
export interface EarnRule {
  pointsPerUnit: number;
  unitMinor: number;
  /**
   * The return window: an accrual's points stay pending (not spendable) for this many days
   * of 24 h (UTC) after its business date. Absent or 0: spendable at once.
   */
  pendingDays?: number;
  /** Multiplier per item category, in basis points. */
  categories?: Record<string, number>;
  /** Progressive scale on the receipt total, `fromMinor` strictly ascending. */
  thresholds?: EarnThreshold[];
  /** No two campaigns of one category overlap in time (a campaign without categories covers all). */
  campaigns?: EarnCampaign[];
}

/** A line of a receipt; the lines add up to the accrual's amount. */
export interface AccrualItem {
  sku: string;
  category: string;
  amountMinor: number;
}

export type MultiplierSource = 'category' | 'campaign' | 'threshold' | 'tier' | 'plan';

/** One multiplier an accrual earned under, and what it multiplied. */
export interface AppliedMultiplier {
  source: MultiplierSource;
  /** The category, campaign, tier or plan id; for a threshold, its `fromMinor`. */
  ref: string;
  multiplierBps: number;
  /** The part of the receipt it multiplied: the items it applied to, or the whole amount. */
  amountMinor: number;
}

export interface EarnBreakdown {
  /** Points before any multiplier: whole units of the receipt total × pointsPerUnit. */
  basePoints: number;
  /** Points credited: rounded down once, after every multiplier. */
  points: number;
  multipliers: AppliedMultiplier[];
}

/** A multiplier that comes from outside the partner's rule: the member's tier, a paid plan. */
export interface MemberMultiplier {
  id: string;
  multiplierBps: number;
}

export interface EarnInput {
  amountMinor: number;
  /** Absent: the receipt is one line with no category. */
  items?: readonly AccrualItem[];
  /** Business date: picks the campaigns in force. */
  occurredAt: string;
  rule: EarnRule;
  tier?: MemberMultiplier;
  plan?: MemberMultiplier;
}

export const ACCRUAL_ITEMS_MAX = 200;
export const SKU_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,63}$/;
const THRESHOLDS_MAX = 20;
const CAMPAIGNS_MAX = 50;

/**
 * The points an accrual earns, and why. Exact integer arithmetic, one rounding:
 *
 *   B = floor(A / unitMinor) × pointsPerUnit                (partial units of the receipt earn nothing)
 *   w_i = a_i × c_i × p_i                                   (item amount × its category and campaign bps, 10000 when none)
 *   points = floor( B × Σ w_i × Π R / (A × 10000² × 10000^r) )
 *
 * where A is the receipt total, a_i the item amounts (Σ a_i = A) and R the r receipt-wide
 * multipliers (threshold, tier, plan) that apply. The base points are shared among the items
 * in proportion to their amounts, so splitting a receipt into items never changes the points
 * unless a multiplier differs between them, and a receipt under no multiplier earns exactly B.
 */
export function earnBreakdown(input: EarnInput): EarnBreakdown {
  const { amountMinor, rule, occurredAt } = input;
  const basePoints = pointsEarned(amountMinor, rule);
  const lines: readonly { category?: string; amountMinor: number }[] = input.items ?? [{ amountMinor }];
  const t = Date.parse(occurredAt);
  assert(!Number.isNaN(t), 'business date checked upstream');

  const perLine = new Map<string, AppliedMultiplier>();
  const note = (source: MultiplierSource, ref: string, multiplierBps: number, amount: number) => {
    const key = `${source}\u0000${ref}`;
    const seen = perLine.get(key);
    perLine.set(key, seen ? { ...seen, amountMinor: seen.amountMinor + amount } : { source, ref, multiplierBps, amountMinor: amount });
  };
  const bps = BigInt(BPS_PER_UNIT);
  let weighted = 0n;
  for (const line of lines) {
    const category = line.category === undefined ? undefined : rule.categories?.[line.category];
    const campaign = rule.campaigns?.find((c) => campaignCovers(c, t, line.category));
    if (category !== undefined) note('category', line.category!, category, line.amountMinor);
    if (campaign !== undefined) note('campaign', campaign.campaignId, campaign.multiplierBps, line.amountMinor);
    weighted += BigInt(line.amountMinor) * BigInt(category ?? BPS_PER_UNIT) * BigInt(campaign?.multiplierBps ?? BPS_PER_UNIT);
  }

  const receiptWide: AppliedMultiplier[] = [];
  const threshold = [...(rule.thresholds ?? [])].reverse().find((s) => s.fromMinor <= amountMinor);
  if (threshold !== undefined)
    receiptWide.push({ source: 'threshold', ref: String(threshold.fromMinor), multiplierBps: threshold.multiplierBps, amountMinor });
  if (input.tier !== undefined)
    receiptWide.push({ source: 'tier', ref: input.tier.id, multiplierBps: input.tier.multiplierBps, amountMinor });
  if (input.plan !== undefined)
    receiptWide.push({ source: 'plan', ref: input.plan.id, multiplierBps: input.plan.multiplierBps, amountMinor });

  let points = 0;
  if (amountMinor > 0) {
    let numerator = BigInt(basePoints) * weighted;
    let denominator = BigInt(amountMinor) * bps * bps;
    for (const m of receiptWide) {
      numerator *= BigInt(m.multiplierBps);
      denominator *= bps;
    }
    const exact = numerator / denominator; // BigInt division truncates: the one rounding down
    if (exact > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidInput('amountMinor', 'earns more points than a balance may hold');
    points = Number(exact);
  }
  return { basePoints, points, multipliers: [...perLine.values(), ...receiptWide] };
}

function campaignCovers(c: EarnCampaign, t: number, category: string | undefined): boolean {
  if (t < Date.parse(c.from) || t >= Date.parse(c.to)) return false;
  return c.categories === undefined || (category !== undefined && c.categories.includes(category));
}

/** Points earned on a purchase before multipliers: whole units only, so the partner never issues a fraction. */
export function pointsEarned(amountMinor: number, rule: EarnRule): number {
  assert(Number.isSafeInteger(amountMinor) && amountMinor >= 0 && amountMinor <= AMOUNT_MINOR_MAX, 'amount in range');
  assert(Number.isSafeInteger(rule.unitMinor) && rule.unitMinor > 0, 'unit is a positive integer');
  const units = Math.floor(amountMinor / rule.unitMinor);
  const points = units * rule.pointsPerUnit;
  assert(Number.isSafeInteger(points), 'points fit a safe integer');
  return points;
}

/** A receipt's items: named, categorised, and adding up to its amount (400 naming `items` otherwise). */
export function checkAccrualItems(items: readonly AccrualItem[], amountMinor: number): void {
  if (!Array.isArray(items) || items.length === 0 || items.length > ACCRUAL_ITEMS_MAX) {
    throw new InvalidInput('items', `must be a list of 1 to ${ACCRUAL_ITEMS_MAX} items`);
  }
  let sum = 0;
  items.forEach((item, i) => {
    if (typeof item.sku !== 'string' || !SKU_PATTERN.test(item.sku))
      throw new InvalidInput(`items.${i}.sku`, 'must be 1-64 letters, digits or ._:#/-');
    if (typeof item.category !== 'string' || !PROGRAM_NAME_PATTERN.test(item.category)) {
      throw new InvalidInput(`items.${i}.category`, 'must be 1-32 lowercase letters, digits, dashes or underscores');
    }
    if (!Number.isSafeInteger(item.amountMinor) || item.amountMinor < 0 || item.amountMinor > AMOUNT_MINOR_MAX) {
      throw new InvalidInput(`items.${i}.amountMinor`, `must be an integer from 0 to ${AMOUNT_MINOR_MAX}`);
    }
    sum += item.amountMinor;
  });
  if (sum !== amountMinor) throw new InvalidInput('items', `item amounts add up to ${sum}, not the amountMinor ${amountMinor}`);
}

const isMultiplier = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= MULTIPLIER_BPS_MAX;
const MULTIPLIER_RULE = `must be an integer from 1 to ${MULTIPLIER_BPS_MAX} basis points (10000 = ×1)`;
const NAME_RULE = 'must be 1-32 lowercase letters, digits, dashes or underscores';

function requireMultiplier(field: string, v: unknown): number {
  if (!isMultiplier(v)) throw new InvalidInput(field, MULTIPLIER_RULE);
  return v;
}

function requireDate(field: string, v: unknown): string {
  if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) throw new InvalidInput(field, 'must be an ISO 8601 date-time');
  return toUtcIso(v);
}

/**
 * The multiplier parts of an earn rule checked (first problem named by its path,
 * `earnRule.thresholds.1.fromMinor`) and dates put in UTC. Every accrual under the rule reads
 * them: a bad one recorded would make every later accrual wrong or fail.
 */
export function checkedEarnMultipliers(rule: EarnRule): Pick<EarnRule, 'categories' | 'thresholds' | 'campaigns'> {
  const out: Pick<EarnRule, 'categories' | 'thresholds' | 'campaigns'> = {};
  if (rule.categories !== undefined) {
    if (rule.categories === null || typeof rule.categories !== 'object' || Array.isArray(rule.categories)) {
      throw new InvalidInput('earnRule.categories', 'must be an object of category: multiplierBps');
    }
    const categories: Record<string, number> = {};
    for (const [category, m] of Object.entries(rule.categories)) {
      if (!PROGRAM_NAME_PATTERN.test(category))
        throw new InvalidInput(`earnRule.categories.${category}`, `names a category that ${NAME_RULE}`);
      categories[category] = requireMultiplier(`earnRule.categories.${category}`, m);
    }
    out.categories = categories;
  }
  if (rule.thresholds !== undefined) {
    if (!Array.isArray(rule.thresholds) || rule.thresholds.length > THRESHOLDS_MAX) {
      throw new InvalidInput('earnRule.thresholds', `must be a list of at most ${THRESHOLDS_MAX} steps`);
    }
    out.thresholds = rule.thresholds.map((s, i) => {
      const field = `earnRule.thresholds.${i}`;
      if (!Number.isSafeInteger(s?.fromMinor) || s.fromMinor < 0 || s.fromMinor > AMOUNT_MINOR_MAX) {
        throw new InvalidInput(`${field}.fromMinor`, `must be an integer from 0 to ${AMOUNT_MINOR_MAX}`);
      }
      const previous = i > 0 ? rule.thresholds![i - 1] : undefined;
      if (previous !== undefined && s.fromMinor <= previous.fromMinor) {
        throw new InvalidInput(
          `${field}.fromMinor`,
          `must be greater than the previous step's ${previous.fromMinor} (steps in ascending order)`,
        );
      }
      return { fromMinor: s.fromMinor, multiplierBps: requireMultiplier(`${field}.multiplierBps`, s.multiplierBps) };
    });
  }
  if (rule.campaigns !== undefined) {
    if (!Array.isArray(rule.campaigns) || rule.campaigns.length > CAMPAIGNS_MAX) {
      throw new InvalidInput('earnRule.campaigns', `must be a list of at most ${CAMPAIGNS_MAX} campaigns`);
    }
    const campaigns: EarnCampaign[] = [];
    rule.campaigns.forEach((c, i) => {
      const field = `earnRule.campaigns.${i}`;
      if (typeof c?.campaignId !== 'string' || !PROGRAM_NAME_PATTERN.test(c.campaignId))
        throw new InvalidInput(`${field}.campaignId`, NAME_RULE);
      if (campaigns.some((x) => x.campaignId === c.campaignId))
        throw new InvalidInput(`${field}.campaignId`, `names campaign ${c.campaignId} twice`);
      const from = requireDate(`${field}.from`, c.from);
      const to = requireDate(`${field}.to`, c.to);
      if (Date.parse(to) <= Date.parse(from)) throw new InvalidInput(`${field}.to`, 'must be after from');
      const campaign: EarnCampaign = {
        campaignId: c.campaignId,
        from,
        to,
        multiplierBps: requireMultiplier(`${field}.multiplierBps`, c.multiplierBps),
      };
      if (c.categories !== undefined) {
        if (!Array.isArray(c.categories) || c.categories.length === 0)
          throw new InvalidInput(`${field}.categories`, 'must be a non-empty list (omit it for every category)');
        c.categories.forEach((cat, j) => {
          if (typeof cat !== 'string' || !PROGRAM_NAME_PATTERN.test(cat)) throw new InvalidInput(`${field}.categories.${j}`, NAME_RULE);
          if (c.categories!.indexOf(cat) !== j) throw new InvalidInput(`${field}.categories.${j}`, `names ${cat} twice`);
        });
        campaign.categories = [...c.categories];
      }
      // Two campaigns on one category at one moment: which multiplier the till meant is not knowable.
      for (const other of campaigns) {
        const overlapInTime = Date.parse(from) < Date.parse(other.to) && Date.parse(other.from) < Date.parse(to);
        const shared = sharedCategory(campaign, other);
        if (overlapInTime && shared !== undefined) {
          throw new InvalidInput(
            field,
            `overlaps campaign ${other.campaignId} for ${shared} (${other.from} to ${other.to})`,
            'overlapping_campaigns',
          );
        }
      }
      campaigns.push(campaign);
    });
    out.campaigns = campaigns;
  }
  return out;
}

/** A category both campaigns cover ("every category" when neither lists any), or undefined. */
function sharedCategory(a: EarnCampaign, b: EarnCampaign): string | undefined {
  if (a.categories === undefined && b.categories === undefined) return 'every category';
  if (a.categories === undefined) return b.categories![0];
  if (b.categories === undefined) return a.categories[0];
  return a.categories.find((c) => b.categories!.includes(c));
}
