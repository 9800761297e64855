import { addMonthsUtc } from '../shared/time';
import { Tier } from '../program/program';
import { TierChanged } from './member.events';
import { MemberState } from './member.state';

/** Qualification looks back twelve months; reviews come every twelve months from the last tier change. */
export const TIER_WINDOW_MONTHS = 12;

/**
 * Points that count towards a tier at `at`: the points credited by accruals (base and every
 * multiplier) whose business date is in (at − 12 months, at], less what reversals took back
 * from those accruals. Bonuses and redemptions do not count (they are not earned by purchases).
 */
export function qualifyingPointsAt(state: MemberState, at: string): number {
  const end = Date.parse(at);
  const start = Date.parse(addMonthsUtc(at, -TIER_WINDOW_MONTHS));
  let points = 0;
  for (const [txId, tx] of state.transactions) {
    if (tx.kind !== 'accrual') continue;
    const t = Date.parse(tx.occurredAt);
    if (t > start && t <= end) points += tx.points - (state.reversedPoints.get(txId) ?? 0);
  }
  return points;
}

/** Index of the highest tier `points` reach (tiers ascend by qualifyingPoints), -1 for none. */
export function tierRankFor(tiers: readonly Tier[], points: number): number {
  let rank = -1;
  tiers.forEach((t, i) => {
    if (points >= t.qualifyingPoints) rank = i;
  });
  return rank;
}

/** The member's tier among the programme's, -1 when none (or one the programme no longer has). */
export const rankOf = (tiers: readonly Tier[], tierId: string | null): number =>
  tierId === null ? -1 : tiers.findIndex((t) => t.tierId === tierId);

/**
 * The upgrade an accrual brings, if its points take the rolling year past a higher tier's
 * threshold. `state` is before the accrual; its points are added here.
 */
export function upgradeOnAccrual(
  state: MemberState,
  tiers: readonly Tier[] | undefined,
  accrual: { txId: string; points: number; occurredAt: string },
): TierChanged | undefined {
  if (tiers === undefined || tiers.length === 0) return undefined;
  const qualifying = qualifyingPointsAt(state, accrual.occurredAt) + accrual.points;
  const reached = tierRankFor(tiers, qualifying);
  if (reached <= rankOf(tiers, state.tier)) return undefined;
  return {
    type: 'TierChanged',
    data: {
      memberId: state.memberId,
      fromTierId: state.tier,
      toTierId: tiers[reached].tierId,
      reason: 'qualified',
      qualifyingPoints: qualifying,
      txId: accrual.txId,
      occurredAt: accrual.occurredAt,
    },
  };
}

/** The latest anniversary of the last tier change at or before `at`, or undefined before the first. */
export function lastAnniversary(tierSince: string, at: string): string | undefined {
  const t = Date.parse(at);
  let found: string | undefined;
  for (let years = 1; ; years++) {
    const anniversary = addMonthsUtc(tierSince, TIER_WINDOW_MONTHS * years);
    if (Date.parse(anniversary) > t) return found;
    found = anniversary;
  }
}
