import {
  AccrualReversed,
  BonusAwarded,
  MembershipPurchased,
  PointsAccrued,
  PointsExpired,
  PointsRedeemed,
  RedemptionReversed,
} from '@ledger/domain';

/**
 * The member events that move value between partners. Everything settlement needs is in
 * them (point value, currency, issuer per slice), so a statement depends on nothing else
 * but the partners' terms.
 */
export type MoneyEvent =
  | PointsAccrued
  | BonusAwarded
  | PointsRedeemed
  | AccrualReversed
  | RedemptionReversed
  | PointsExpired
  // No points move: the fee is the selling partner's income, a line of its own (README).
  | MembershipPurchased;
export type MoneyEventType = MoneyEvent['type'];

export const MONEY_EVENT_TYPES: ReadonlySet<string> = new Set<MoneyEventType>([
  'PointsAccrued',
  'BonusAwarded',
  'PointsRedeemed',
  'AccrualReversed',
  'RedemptionReversed',
  'PointsExpired',
  'MembershipPurchased',
]);

export const MEMBER_STREAM_PREFIX = 'member-';

/**
 * The part of a stored event settlement reads. The event store's `RecordedEvent` fits it
 * structurally, so this library needs no dependency on the store.
 */
export interface LedgerEvent {
  streamId: string;
  /** Position within the stream: stable whatever other streams were doing meanwhile. */
  revision: number;
  /** Global position: increasing, not consecutive. Compared, never computed with. */
  position: number;
  type: string;
  data: unknown;
}

/** A member-stream money event, typed (upcasting to the current shape is the loader's job). */
export function asMoneyEvent(e: LedgerEvent): MoneyEvent | undefined {
  if (!e.streamId.startsWith(MEMBER_STREAM_PREFIX) || !MONEY_EVENT_TYPES.has(e.type)) return undefined;
  return { type: e.type, data: e.data } as MoneyEvent;
}
