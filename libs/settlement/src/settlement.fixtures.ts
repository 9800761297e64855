/**
 * Builders for settlement specs: money events as the member decider writes them, terms,
 * and settled lines. Test support only (not exported from the library's index).
 */
import { AccrualReversed, PartnerTerms, PointsAccrued, PointsExpired, PointsRedeemed, RedemptionReversed } from '@ledger/domain';
import { SettledEvent } from './membership';
import { MoneyEvent } from './money-events';

export const CURRENCY = 'RUB';
export const POINT_VALUE_MINOR = 10;

const at = (date: string) => (date.includes('T') ? date : `${date}T12:00:00.000Z`);

export const terms = (issuanceFeeBps: number, breakageShareBps: number, effectiveFrom = '2020-01-01'): PartnerTerms => ({
  earnRule: { pointsPerUnit: 1, unitMinor: 100 },
  issuanceFeeBps,
  breakageShareBps,
  effectiveFrom: at(effectiveFrom),
});

export const accrued = (o: { partner: string; points: number; date: string; tx: string; member?: string; pv?: number }): PointsAccrued => {
  const txId = `${o.partner}:${o.tx}`;
  return {
    type: 'PointsAccrued',
    data: {
      txId,
      partnerId: o.partner,
      externalId: o.tx,
      memberId: o.member ?? 'm1',
      amountMinor: o.points * 100,
      currency: CURRENCY,
      points: o.points,
      pointValueMinor: o.pv ?? POINT_VALUE_MINOR,
      lotId: txId,
      issuerPartnerId: o.partner,
      expiresAt: '2030-01-01T00:00:00.000Z',
      occurredAt: at(o.date),
    },
  };
};

export const accrualReversed = (o: {
  partner: string;
  points: number;
  date: string;
  tx: string;
  original: string;
  member?: string;
  pv?: number;
}): AccrualReversed => ({
  type: 'AccrualReversed',
  data: {
    txId: `${o.partner}:${o.tx}`,
    partnerId: o.partner,
    externalId: o.tx,
    memberId: o.member ?? 'm1',
    originalTxId: `${o.partner}:${o.original}`,
    lotId: `${o.partner}:${o.original}`,
    issuerPartnerId: o.partner,
    points: o.points,
    pointValueMinor: o.pv ?? POINT_VALUE_MINOR,
    currency: CURRENCY,
    occurredAt: at(o.date),
  },
});

type Slices = Record<string, number>;
const slicesOf = (slices: Slices) =>
  Object.entries(slices).map(([issuerPartnerId, points]) => ({ lotId: `${issuerPartnerId}:lot`, issuerPartnerId, points }));
const sumOf = (slices: Slices) => Object.values(slices).reduce((a, b) => a + b, 0);

/** `slices`: issuer → points taken from its lots. */
export const redeemed = (o: {
  redeemer: string;
  slices: Slices;
  date: string;
  tx: string;
  member?: string;
  pv?: number;
}): PointsRedeemed => ({
  type: 'PointsRedeemed',
  data: {
    txId: `${o.redeemer}:${o.tx}`,
    partnerId: o.redeemer,
    externalId: o.tx,
    memberId: o.member ?? 'm1',
    points: sumOf(o.slices),
    pointValueMinor: o.pv ?? POINT_VALUE_MINOR,
    currency: CURRENCY,
    slices: slicesOf(o.slices),
    occurredAt: at(o.date),
  },
});

export const redemptionReversed = (o: {
  redeemer: string;
  slices: Slices;
  date: string;
  originalDate: string;
  tx: string;
  original: string;
  member?: string;
  pv?: number;
}): RedemptionReversed => ({
  type: 'RedemptionReversed',
  data: {
    txId: `${o.redeemer}:${o.tx}`,
    partnerId: o.redeemer,
    externalId: o.tx,
    memberId: o.member ?? 'm1',
    originalTxId: `${o.redeemer}:${o.original}`,
    originalOccurredAt: at(o.originalDate),
    points: sumOf(o.slices),
    pointValueMinor: o.pv ?? POINT_VALUE_MINOR,
    currency: CURRENCY,
    slices: slicesOf(o.slices),
    occurredAt: at(o.date),
  },
});

export const expired = (o: { issuer: string; points: number; date: string; lot: string; member?: string; pv?: number }): PointsExpired => ({
  type: 'PointsExpired',
  data: {
    memberId: o.member ?? 'm1',
    lotId: `${o.issuer}:${o.lot}`,
    issuerPartnerId: o.issuer,
    points: o.points,
    pointValueMinor: o.pv ?? POINT_VALUE_MINOR,
    currency: CURRENCY,
    occurredAt: at(o.date),
  },
});

/** Settled lines with distinct stream revisions, in the order given. */
export function settledAll(events: readonly (MoneyEvent | [MoneyEvent, 'late'])[]): SettledEvent[] {
  const revisions = new Map<string, number>();
  return events.map((item) => {
    const [event, membership] = Array.isArray(item) ? item : [item, 'regular' as const];
    const streamId = `member-${event.data.memberId}`;
    const revision = revisions.get(streamId) ?? 0;
    revisions.set(streamId, revision + 1);
    return { streamId, revision, membership, event };
  });
}
