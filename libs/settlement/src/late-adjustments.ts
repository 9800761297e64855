import { addExact, pointsValueMinor } from './exact-integers';
import { SettledEvent } from './membership';
import { MoneyEvent } from './money-events';
import { businessPeriodOf } from './period';
import { byCodeUnit } from './sorted-tables';
import { AdjustmentEffect, LateAdjustment } from './statement.types';

/**
 * The listing entry of an event settled on behalf of an earlier period, or undefined.
 * Its effects mirror what the event added to the matrix, fees and breakage.
 */
export function lateAdjustmentOf(settled: SettledEvent, periodId: string): LateAdjustment | undefined {
  const { event } = settled;
  const originalPeriodId = event.type === 'RedemptionReversed' ? businessPeriodOf(event.data.originalOccurredAt) : undefined;
  let reason: LateAdjustment['reason'];
  if (settled.membership === 'late') reason = 'recorded_after_cutoff';
  else if (originalPeriodId !== undefined && originalPeriodId < periodId) reason = 'reverses_earlier_period';
  else return undefined;
  return {
    streamId: settled.streamId,
    revision: settled.revision,
    eventType: event.type,
    txId: 'txId' in event.data ? event.data.txId : undefined,
    lotId: event.type === 'PointsExpired' ? event.data.lotId : undefined,
    occurredAt: event.data.occurredAt,
    businessPeriodId: businessPeriodOf(event.data.occurredAt),
    reason,
    originalPeriodId,
    effects: adjustmentEffectsOf(event),
  };
}

/** Stream then revision: never position, which depends on how other streams interleaved. */
export const byStreamAndRevision = (a: LateAdjustment, b: LateAdjustment): number =>
  byCodeUnit(a.streamId, b.streamId) || a.revision - b.revision;

/** What one money event adds to the statement, per issuer (negative for reversals). */
function adjustmentEffectsOf(event: MoneyEvent): AdjustmentEffect[] {
  const pointValueMinor = 'pointValueMinor' in event.data ? event.data.pointValueMinor : 0;
  const oneIssuerEffect = (kind: AdjustmentEffect['kind'], issuerPartnerId: string, points: number, sign: number): AdjustmentEffect[] => [
    { kind, issuerPartnerId, points: sign * points, amountMinor: sign * pointsValueMinor(points, pointValueMinor) },
  ];
  switch (event.type) {
    // The selling partner's fee income: no points, no issuer but the seller.
    case 'MembershipPurchased':
      return [{ kind: 'membership_fee', issuerPartnerId: event.data.partnerId, points: 0, amountMinor: event.data.feeMinor }];
    case 'PointsAccrued':
    case 'BonusAwarded':
      return oneIssuerEffect('issued', event.data.issuerPartnerId, event.data.points, 1);
    case 'AccrualReversed':
      return oneIssuerEffect('accrual_reversed', event.data.issuerPartnerId, event.data.points, -1);
    case 'PointsExpired':
      return oneIssuerEffect('expired', event.data.issuerPartnerId, event.data.points, 1);
    case 'PointsRedeemed':
    case 'RedemptionReversed': {
      const kind = event.type === 'PointsRedeemed' ? 'redeemed' : 'redemption_reversed';
      const sign = event.type === 'PointsRedeemed' ? 1 : -1;
      const pointsByIssuer = new Map<string, number>();
      for (const s of event.data.slices)
        pointsByIssuer.set(s.issuerPartnerId, addExact(pointsByIssuer.get(s.issuerPartnerId) ?? 0, s.points, 'slice points'));
      return [...pointsByIssuer.keys()].sort(byCodeUnit).map((issuerPartnerId) => {
        const points = pointsByIssuer.get(issuerPartnerId)!;
        return {
          kind,
          issuerPartnerId,
          redeemerPartnerId: event.data.partnerId,
          points: sign * points,
          amountMinor: sign * pointsValueMinor(points, pointValueMinor),
        };
      });
    }
    default: {
      const unknown: never = event;
      throw new Error(`unknown money event ${JSON.stringify(unknown)}`);
    }
  }
}
