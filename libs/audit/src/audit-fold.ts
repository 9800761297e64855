import { LotSlice, MEMBER_EVENT_TYPES, TRANSACTION_STREAM_PREFIX } from '@ledger/domain';
import { RecordedEvent } from '@ledger/event-store';
import { Divergence } from './divergence';

/**
 * The audit's own fold of the whole log: member balances and lots, partner positions, the
 * transaction index and the liability cells, each kept the way the read models keep them
 * (libs/projections), so verify can compare row by row; and along the way every rule an
 * event must obey (docs/domain.md, "Rules"), so a stored history that could never have been
 * decided is caught even when every hash holds.
 *
 * It is written separately from the member decider and the projector on purpose: an
 * auditor's recomputation that shares the code under audit proves little.
 *
 * It never throws on stored data: whatever an event says, the fold reports what is wrong
 * and goes on, so one run finds the first divergence and counts the rest.
 */
export interface FoldedLot {
  lotId: string;
  issuerPartnerId: string;
  /** Points still in the lot (0 once spent, expired or reversed: kept, a cancelled redemption may reopen it). */
  points: number;
  pointsIssued: number;
  expiresAt: string;
  /** Position of the accrual that opened it. */
  position: number;
  /** Set from a pending accrual until its PointsReleased. */
  availableAt?: string;
}

/** A lot in its return window not yet released, the way the pending lots read model keeps it. */
export interface FoldedPendingLot {
  memberId: string;
  lotId: string;
  issuerPartnerId: string;
  /** As issued, less what refunds took back. */
  points: number;
  availableAt: string;
  expiresAt: string;
}

export interface FoldedMember {
  memberId: string;
  cardNumber: string;
  enrolledAt: string;
  available: number;
  lifetimeAccrued: number;
  lifetimeRedeemed: number;
  lifetimeExpired: number;
  /** Points on the member's holds not yet ended by an event. */
  held: number;
  /** Position of the last event applied to the member. */
  position: number;
  lots: Map<string, FoldedLot>;
  /** Σ points of the member's lots: equals `available` after every event. */
  lotPoints: number;
  /** The programme tier after the last TierChanged (null: none). */
  tier: string | null;
}

/** A hold as the fold keeps it, the way the holds read model does. */
export interface FoldedHold {
  holdId: string;
  memberId: string;
  partnerId: string;
  points: number;
  expiresAt: string;
  status: 'open' | 'captured' | 'released' | 'expired';
  /** Position of the PointsHeld. */
  position: number;
}

/** An accrual refused by a velocity limit, as the flags read model keeps it. */
export interface FoldedFlag {
  position: number;
  memberId: string;
  txId: string;
  partnerId: string;
  rule: string;
  limit: number;
  observed: number;
  window: string;
  amountMinor: number;
  points: number;
  occurredAt: string;
}

export interface PartnerCounters {
  partnerId: string;
  name: string | null;
  pointsIssued: number;
  pointsRedeemedAt: number;
  pointsRedeemedElsewhere: number;
  pointsRedeemedFromOthers: number;
  pointsExpired: number;
  pointsReversed: number;
}

export type FoldedTxKind = 'accrual' | 'bonus' | 'redemption' | 'accrual_reversal' | 'redemption_reversal';

/** A row of the transaction index, as the fold derives it. */
export interface FoldedTx {
  txId: string;
  memberId: string;
  partnerId: string;
  kind: FoldedTxKind;
  points: number;
  originalTxId: string | null;
  occurredAt: string;
  position: number;
}

export interface LiabilityCell {
  period: string;
  issuerPartnerId: string;
  redeemerPartnerId: string;
  points: number;
  amountMinor: number;
}

export interface CoalitionSettings {
  currency: string;
  pointValueMinor: number;
  expiryMonths: number;
}

/** What one event did to the fold: the first rule it broke, and the index row it wrote. */
export interface FoldStep {
  divergence?: Divergence;
  tx?: FoldedTx;
}

/** Remembered per transaction: enough to check a later reversal of it. */
interface TxMemo {
  kind: FoldedTxKind;
  memberId: string;
  lotId?: string;
  slices?: LotSlice[];
  /** Points the transaction moved; reversals may take them back in parts, up to this. */
  points?: number;
  /** Points reversed so far, and (of a redemption) the slices given back so far. */
  reversedPoints?: number;
  returned?: Map<string, number>;
}

const MEMBER_PREFIX = 'member-';

const pendingKey = (memberId: string, lotId: string) => `${memberId}\u0000${lotId}`;

/** An event that breaks a rule: thrown inside `apply`, turned into a divergence there. */
class Broken extends Error {
  constructor(
    message: string,
    readonly expected?: unknown,
    readonly found?: unknown,
  ) {
    super(message);
  }
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

function need(condition: unknown, message: string, expected?: unknown, found?: unknown): asserts condition {
  if (!condition) throw new Broken(message, expected, found);
}

/** UTC calendar month of a stored business date (the projector's and settlement's rule). */
export function monthOf(iso: string): string {
  if (iso.length === 24 && iso.endsWith('Z') && iso[4] === '-') return iso.slice(0, 7);
  const t = Date.parse(iso);
  need(!Number.isNaN(t), 'a business date is an ISO instant', 'ISO 8601', iso);
  return new Date(t).toISOString().slice(0, 7);
}

export class AuditFold {
  readonly members = new Map<string, FoldedMember>();
  readonly partners = new Map<string, PartnerCounters>();
  readonly liability = new Map<string, LiabilityCell>();
  readonly holds = new Map<string, FoldedHold>();
  /** Velocity flags by position. */
  readonly flags = new Map<number, FoldedFlag>();
  /** Pending lots not yet released, by `memberId \u0000 lotId`. */
  readonly pendingLots = new Map<string, FoldedPendingLot>();
  coalition: CoalitionSettings | undefined;
  /** Events applied, and the last position applied (undefined before the first). */
  events = 0;
  position: number | undefined;
  private readonly txs = new Map<string, TxMemo>();
  /** Hold and release txIds: unique coalition-wide too, but not in the transaction index. */
  private readonly holdTxIds = new Set<string>();
  /** txId → the member its `transaction-{txId}` stream reserved it for. */
  private readonly reservations = new Map<string, string>();
  private invariantBreaks = 0;

  /** Applies one event of the log (in position order). */
  apply(e: RecordedEvent): FoldStep {
    this.events += 1;
    this.position = e.position;
    try {
      if (e.streamId.startsWith(MEMBER_PREFIX) && MEMBER_EVENT_TYPES.has(e.type)) return this.member(e);
      this.other(e);
      return {};
    } catch (error) {
      this.invariantBreaks += 1;
      const at = { kind: 'invariant' as const, check: 'invariants', streamId: e.streamId, revision: e.revision, position: e.position };
      if (error instanceof Broken)
        return { divergence: { ...at, message: `${e.type}: ${error.message}`, expected: error.expected, found: error.found } };
      return { divergence: { ...at, message: `${e.type} cannot be folded: ${error instanceof Error ? error.message : String(error)}` } };
    }
  }

  /** Transactions (accruals, redemptions, reversals) folded so far. */
  txCount(): number {
    return this.txs.size;
  }

  hasTx(txId: string): boolean {
    return this.txs.has(txId);
  }

  /** Events that broke a rule so far. */
  breaks(): number {
    return this.invariantBreaks;
  }

  /**
   * The ledger-wide invariants once the log is folded: per issuer, Σ accrued = Σ redeemed +
   * Σ expired + Σ reversed + Σ outstanding (outstanding counted from the open lots, the other
   * terms from the events), and every member's available balance equals its lots.
   */
  finalChecks(): Divergence[] {
    const found: Divergence[] = [];
    const outstandingByIssuer = new Map<string, number>();
    for (const m of this.members.values()) {
      let lotPoints = 0;
      for (const lot of m.lots.values()) {
        lotPoints += lot.points;
        outstandingByIssuer.set(lot.issuerPartnerId, (outstandingByIssuer.get(lot.issuerPartnerId) ?? 0) + lot.points);
      }
      if (lotPoints !== m.available) {
        found.push({
          kind: 'invariant',
          check: 'invariants',
          streamId: MEMBER_PREFIX + m.memberId,
          message: "the member's available balance is not the sum of its lots",
          expected: lotPoints,
          found: m.available,
        });
      }
    }
    for (const p of [...this.partners.values()].sort((a, b) => (a.partnerId < b.partnerId ? -1 : a.partnerId > b.partnerId ? 1 : 0))) {
      const redeemedOwn = p.pointsRedeemedElsewhere + (p.pointsRedeemedAt - p.pointsRedeemedFromOthers);
      const outstanding = outstandingByIssuer.get(p.partnerId) ?? 0;
      const accounted = redeemedOwn + p.pointsExpired + p.pointsReversed + outstanding;
      if (p.pointsIssued !== accounted) {
        found.push({
          kind: 'invariant',
          check: 'invariants',
          streamId: `partner-${p.partnerId}`,
          message: 'Σ accrued ≠ Σ redeemed + Σ expired + Σ reversed + Σ outstanding for this issuer',
          expected: p.pointsIssued,
          found: { redeemed: redeemedOwn, expired: p.pointsExpired, reversed: p.pointsReversed, outstanding, total: accounted },
        });
      }
    }
    for (const issuer of outstandingByIssuer.keys()) {
      if (!this.partners.has(issuer)) {
        found.push({
          kind: 'invariant',
          check: 'invariants',
          streamId: `partner-${issuer}`,
          message: 'open lots of an issuer that never issued',
          expected: 0,
          found: outstandingByIssuer.get(issuer),
        });
      }
    }
    return found;
  }

  /** A partner's book as the read model and the as-of query show it. */
  partnerPosition(partnerId: string): PartnerCounters | undefined {
    return this.partners.get(partnerId);
  }

  private other(e: RecordedEvent): void {
    const d = e.data as Record<string, unknown>;
    switch (e.type) {
      case 'PartnerJoined':
        if (e.streamId.startsWith('partner-')) {
          need(
            d.partnerId === e.streamId.slice('partner-'.length),
            "the event names its stream's partner",
            e.streamId.slice('partner-'.length),
            d.partnerId,
          );
          this.partner(String(d.partnerId)).name = typeof d.name === 'string' ? d.name : null;
        }
        return;
      case 'TransactionReserved':
        if (e.streamId.startsWith(TRANSACTION_STREAM_PREFIX)) {
          const txId = e.streamId.slice(TRANSACTION_STREAM_PREFIX.length);
          need(d.txId === txId && isText(d.memberId), "the reservation names its stream's txId and a member", txId, d);
          need(e.revision === 0, 'a txId is reserved once', 0, e.revision);
          this.reservations.set(txId, d.memberId);
        }
        return;
      case 'CoalitionConfigured':
        if (e.streamId.startsWith('coalition-')) {
          need(
            isText(d.currency) && isCount(d.pointValueMinor) && isCount(d.expiryMonths),
            'currency, point value and expiry are set',
            'valid settings',
            d,
          );
          this.coalition = { currency: d.currency, pointValueMinor: d.pointValueMinor, expiryMonths: d.expiryMonths };
        }
        return;
      case 'PointValueChanged':
        if (e.streamId.startsWith('coalition-')) {
          need(this.coalition !== undefined, 'the coalition is configured first');
          need(isCount(d.pointValueMinor) && d.pointValueMinor > 0, 'a positive point value', 'positive integer', d.pointValueMinor);
          this.coalition = { ...this.coalition, pointValueMinor: d.pointValueMinor };
        }
        return;
      case 'ExpiryPolicyChanged':
        if (e.streamId.startsWith('coalition-')) {
          need(this.coalition !== undefined, 'the coalition is configured first');
          need(isCount(d.expiryMonths), 'expiry months are a count', 'integer', d.expiryMonths);
          this.coalition = { ...this.coalition, expiryMonths: d.expiryMonths };
        }
        return;
      default:
        return;
    }
  }

  private member(e: RecordedEvent): FoldStep {
    const memberId = e.streamId.slice(MEMBER_PREFIX.length);
    const d = e.data as Record<string, unknown>;
    need(d.memberId === memberId, "the event names its stream's member", memberId, d.memberId);
    if (e.type === 'MemberEnrolled') {
      need(!this.members.has(memberId), 'a member enrols once');
      need(e.revision === 0, "enrolment is the stream's first event", 0, e.revision);
      need(isText(d.cardNumber) && isText(d.occurredAt), 'card number and date are set', 'strings', {
        cardNumber: d.cardNumber,
        occurredAt: d.occurredAt,
      });
      this.members.set(memberId, {
        memberId,
        cardNumber: d.cardNumber,
        enrolledAt: d.occurredAt,
        available: 0,
        lifetimeAccrued: 0,
        lifetimeRedeemed: 0,
        lifetimeExpired: 0,
        held: 0,
        position: e.position,
        lots: new Map(),
        lotPoints: 0,
        tier: null,
      });
      return {};
    }
    const m = this.members.get(memberId);
    need(m !== undefined, 'the member is enrolled before points move', 'MemberEnrolled first', 'no enrolment');
    need(isText(d.occurredAt), 'a business date is set', 'ISO instant', d.occurredAt);
    monthOf(d.occurredAt); // a date that has no month is refused before anything moves
    let tx: FoldedTx | undefined;
    switch (e.type) {
      case 'PointsAccrued':
        tx = this.accrued(m, d, e.position);
        break;
      case 'BonusAwarded':
        tx = this.bonus(m, d, e.position);
        break;
      case 'PointsRedeemed':
        tx = this.redeemed(m, d, e.position);
        break;
      case 'AccrualReversed':
        tx = this.accrualReversed(m, d, e.position);
        break;
      case 'RedemptionReversed':
        tx = this.redemptionReversed(m, d, e.position);
        break;
      case 'PointsExpired':
        this.expired(m, d);
        break;
      case 'PointsHeld':
        this.held(m, d, e.position);
        break;
      case 'HoldCaptured':
        this.holdCaptured(m, d);
        break;
      case 'HoldReleased':
        this.holdReleased(m, d);
        break;
      case 'CardBlocked':
        need(d.cardNumber === m.cardNumber, "the member's own card is blocked", m.cardNumber, d.cardNumber);
        break;
      case 'CardReplaced':
        need(d.previousCardNumber === m.cardNumber, 'the replacement names the card it replaces', m.cardNumber, d.previousCardNumber);
        need(isText(d.cardNumber) && d.cardNumber !== m.cardNumber, 'a new card number', 'another card', d.cardNumber);
        m.cardNumber = d.cardNumber;
        break;
      case 'SuspiciousActivityFlagged':
        this.flagged(m, d, e.position);
        break;
      case 'PointsReleased':
        this.pointsReleased(m, d);
        break;
      case 'TierChanged':
        this.tierChanged(m, d);
        break;
      case 'MembershipPurchased':
        this.membershipPurchased(m, d);
        break;
      default:
        throw new Broken(`unknown member event type ${e.type}`);
    }
    m.position = e.position;
    // The two postconditions of every member event, in a pair.
    need(m.available >= 0, 'the available balance never goes negative', '>= 0', m.available);
    need(m.available === m.lotPoints, 'the available balance equals the points in the lots', m.lotPoints, m.available);
    return tx ? { tx } : {};
  }

  private accrued(m: FoldedMember, d: Record<string, unknown>, position: number): FoldedTx {
    const { txId, partnerId, lotId, issuerPartnerId, points, pointValueMinor, expiresAt, availableAt, occurredAt } = d;
    need(
      isText(txId) && isText(partnerId) && isText(lotId) && isText(issuerPartnerId) && isText(expiresAt),
      'ids and expiry are set',
      'strings',
      { txId, partnerId, lotId, issuerPartnerId, expiresAt },
    );
    if (availableAt !== undefined) {
      // A return window starts at the sale and ends by the lot's expiry at the latest.
      need(
        isText(availableAt) && availableAt >= String(occurredAt) && availableAt <= expiresAt,
        'a pending lot becomes available between its business date and its expiry',
        `${String(occurredAt)} .. ${expiresAt}`,
        availableAt,
      );
    }
    need(isCount(points), 'points are a whole number', 'integer >= 0', points);
    need(isCount(pointValueMinor) && pointValueMinor > 0, 'the point value is positive', 'integer > 0', pointValueMinor);
    this.earnBreakdown(d);
    if (points > 0) need(!m.lots.has(lotId), 'a lot is opened once', 'a new lotId', lotId);
    this.newTx(txId, { kind: 'accrual', memberId: m.memberId, lotId, points });
    if (points > 0) {
      const pending = isText(availableAt) ? { availableAt } : {};
      m.lots.set(lotId, { lotId, issuerPartnerId, points, pointsIssued: points, expiresAt, position, ...pending });
      if (isText(availableAt)) {
        this.pendingLots.set(pendingKey(m.memberId, lotId), {
          memberId: m.memberId,
          lotId,
          issuerPartnerId,
          points,
          availableAt,
          expiresAt,
        });
      }
    }
    m.available += points;
    m.lotPoints += points;
    m.lifetimeAccrued += points;
    this.partner(issuerPartnerId).pointsIssued += points;
    return { txId, memberId: m.memberId, partnerId, kind: 'accrual', points, originalTxId: null, occurredAt: String(occurredAt), position };
  }

  /** A bonus opens a lot as an accrual does; its issuer is its sponsor (a partner, or the operator). */
  private bonus(m: FoldedMember, d: Record<string, unknown>, position: number): FoldedTx {
    const { txId, partnerId, lotId, issuerPartnerId, points, pointValueMinor, expiresAt, occurredAt, kind } = d;
    need(
      isText(txId) && isText(partnerId) && isText(lotId) && lotId === txId && isText(issuerPartnerId) && isText(expiresAt),
      'ids and expiry are set, the lot named by the txId',
      'strings',
      { txId, partnerId, lotId, issuerPartnerId, expiresAt },
    );
    need(['welcome', 'birthday', 'referral', 'action', 'surprise'].includes(String(kind)), 'a known bonus kind', 'a kind', kind);
    need(isCount(points) && points > 0, 'a bonus gives points', 'integer > 0', points);
    need(isCount(pointValueMinor) && pointValueMinor > 0, 'the point value is positive', 'integer > 0', pointValueMinor);
    need(!m.lots.has(lotId), 'a lot is opened once', 'a new lotId', lotId);
    this.newTx(txId, { kind: 'bonus', memberId: m.memberId, lotId, points });
    m.lots.set(lotId, { lotId, issuerPartnerId, points, pointsIssued: points, expiresAt, position });
    m.available += points;
    m.lotPoints += points;
    m.lifetimeAccrued += points;
    this.partner(issuerPartnerId).pointsIssued += points;
    return { txId, memberId: m.memberId, partnerId, kind: 'bonus', points, originalTxId: null, occurredAt: String(occurredAt), position };
  }

  private redeemed(m: FoldedMember, d: Record<string, unknown>, position: number): FoldedTx {
    const { txId, partnerId, points, pointValueMinor, slices, occurredAt } = d;
    need(isText(txId) && isText(partnerId), 'ids are set', 'strings', { txId, partnerId });
    need(isCount(points) && points > 0, 'a redemption takes points', 'integer > 0', points);
    need(isCount(pointValueMinor) && pointValueMinor > 0, 'the point value is positive', 'integer > 0', pointValueMinor);
    const taken = this.checkSlices(slices, points);
    // Each slice must come out of a lot the member then held, of that issuer, with enough in
    // it. All are checked before any is taken, so a broken event changes nothing.
    const takenByLot = new Map<string, number>();
    for (const s of taken) {
      const lot = m.lots.get(s.lotId);
      need(lot !== undefined, `slice of lot ${s.lotId}: the member holds no such lot`, 'an existing lot', s.lotId);
      need(
        lot.issuerPartnerId === s.issuerPartnerId,
        `slice of lot ${s.lotId}: issuer differs from the lot's`,
        lot.issuerPartnerId,
        s.issuerPartnerId,
      );
      const wanted = (takenByLot.get(s.lotId) ?? 0) + s.points;
      need(lot.points >= wanted, `slice of lot ${s.lotId}: more points than the lot holds`, `<= ${lot.points}`, wanted);
      need(
        lot.availableAt === undefined || lot.availableAt <= String(occurredAt),
        `slice of lot ${s.lotId}: the lot was still pending at the redemption's date`,
        `available from ${lot.availableAt}`,
        occurredAt,
      );
      takenByLot.set(s.lotId, wanted);
    }
    this.newTx(txId, { kind: 'redemption', memberId: m.memberId, slices: taken, points });
    for (const s of taken) m.lots.get(s.lotId)!.points -= s.points;
    m.available -= points;
    m.lotPoints -= points;
    m.lifetimeRedeemed += points;
    this.slicesToPartners(partnerId, taken, pointValueMinor, String(occurredAt), 1);
    return {
      txId,
      memberId: m.memberId,
      partnerId,
      kind: 'redemption',
      points,
      originalTxId: null,
      occurredAt: String(occurredAt),
      position,
    };
  }

  private accrualReversed(m: FoldedMember, d: Record<string, unknown>, position: number): FoldedTx {
    const { txId, partnerId, originalTxId, lotId, issuerPartnerId, points, occurredAt } = d;
    need(isText(txId) && isText(partnerId) && isText(originalTxId) && isText(lotId) && isText(issuerPartnerId), 'ids are set', 'strings', {
      txId,
      originalTxId,
      lotId,
    });
    need(isCount(points), 'points are a whole number', 'integer >= 0', points);
    const original = this.txs.get(originalTxId);
    need(
      original?.kind === 'accrual' && original.memberId === m.memberId,
      "it reverses an accrual of the member's",
      'accrual',
      original?.kind ?? 'no such transaction',
    );
    const reversedBefore = original.reversedPoints ?? 0;
    need(
      original.reversedPoints === undefined || reversedBefore < (original.points ?? 0),
      'a transaction is reversed once: in full, or in parts up to its points',
      'not reversed in full yet',
      'reversed in full',
    );
    need(
      reversedBefore + points <= (original.points ?? 0),
      'no more is reversed than was accrued',
      `<= ${(original.points ?? 0) - reversedBefore}`,
      points,
    );
    need(original.lotId === lotId, "it takes from the accrual's own lot", original.lotId, lotId);
    const lot = m.lots.get(lotId);
    if (points > 0) {
      need(lot !== undefined, 'the reversed lot exists', 'an existing lot', lotId);
      need(lot.issuerPartnerId === issuerPartnerId, "issuer is the lot's", lot.issuerPartnerId, issuerPartnerId);
      need(lot.points >= points, 'no more points than the lot still holds', `<= ${lot.points}`, points);
    }
    this.newTx(txId, { kind: 'accrual_reversal', memberId: m.memberId });
    original.reversedPoints = reversedBefore + points;
    if (lot !== undefined) lot.points -= points;
    const pendingLot = this.pendingLots.get(pendingKey(m.memberId, lotId));
    if (pendingLot !== undefined && points > 0) {
      pendingLot.points -= points;
      if (pendingLot.points === 0) this.pendingLots.delete(pendingKey(m.memberId, lotId));
    }
    m.available -= points;
    m.lotPoints -= points;
    m.lifetimeAccrued -= points;
    this.partner(issuerPartnerId).pointsReversed += points;
    return {
      txId,
      memberId: m.memberId,
      partnerId,
      kind: 'accrual_reversal',
      points,
      originalTxId,
      occurredAt: String(occurredAt),
      position,
    };
  }

  private redemptionReversed(m: FoldedMember, d: Record<string, unknown>, position: number): FoldedTx {
    const { txId, partnerId, originalTxId, points, pointValueMinor, slices, occurredAt } = d;
    need(isText(txId) && isText(partnerId) && isText(originalTxId), 'ids are set', 'strings', { txId, originalTxId });
    need(isCount(points), 'points are a whole number', 'integer >= 0', points);
    need(isCount(pointValueMinor) && pointValueMinor > 0, 'the point value is positive', 'integer > 0', pointValueMinor);
    const returned = this.checkSlices(slices, points);
    const original = this.txs.get(originalTxId);
    need(
      original?.kind === 'redemption' && original.memberId === m.memberId,
      "it cancels a redemption of the member's",
      'redemption',
      original?.kind ?? 'no such transaction',
    );
    need(
      (original.reversedPoints ?? 0) < (original.points ?? 0),
      'a transaction is reversed once: in full, or in parts up to its points',
      'not reversed in full yet',
      'reversed in full',
    );
    // Reversals give back parts of the redemption's slices, never more of a lot than it took.
    const returnedBefore = original.returned ?? new Map<string, number>();
    const takenOf = new Map<string, number>();
    for (const s of original.slices ?? []) takenOf.set(s.lotId, (takenOf.get(s.lotId) ?? 0) + s.points);
    const returnedAfter = new Map(returnedBefore);
    for (const s of returned) {
      const issuer = (original.slices ?? []).find((t) => t.lotId === s.lotId)?.issuerPartnerId;
      need(issuer === s.issuerPartnerId, "a slice goes back to a lot the redemption took from, of that lot's issuer", issuer, s);
      returnedAfter.set(s.lotId, (returnedAfter.get(s.lotId) ?? 0) + s.points);
      need(
        returnedAfter.get(s.lotId)! <= takenOf.get(s.lotId)!,
        'no more goes back to a lot than the redemption took from it',
        takenOf.get(s.lotId),
        returnedAfter.get(s.lotId),
      );
    }
    const back = new Map<string, number>();
    for (const s of returned) {
      const lot = m.lots.get(s.lotId);
      need(lot !== undefined, 'the slice goes back to a lot that existed', 'an existing lot', s.lotId);
      const after = lot.points + (back.get(s.lotId) ?? 0) + s.points;
      need(after <= lot.pointsIssued, 'a lot never holds more than it was issued', `<= ${lot.pointsIssued}`, after);
      back.set(s.lotId, after - lot.points);
    }
    this.newTx(txId, { kind: 'redemption_reversal', memberId: m.memberId });
    original.returned = returnedAfter;
    original.reversedPoints = (original.reversedPoints ?? 0) + points;
    for (const s of returned) m.lots.get(s.lotId)!.points += s.points;
    m.available += points;
    m.lotPoints += points;
    m.lifetimeRedeemed -= points;
    this.slicesToPartners(partnerId, returned, pointValueMinor, String(occurredAt), -1);
    return {
      txId,
      memberId: m.memberId,
      partnerId,
      kind: 'redemption_reversal',
      points,
      originalTxId,
      occurredAt: String(occurredAt),
      position,
    };
  }

  private expired(m: FoldedMember, d: Record<string, unknown>): void {
    const { lotId, issuerPartnerId, points } = d;
    need(isText(lotId) && isText(issuerPartnerId), 'ids are set', 'strings', { lotId, issuerPartnerId });
    need(isCount(points), 'points are a whole number', 'integer >= 0', points);
    const lot = m.lots.get(lotId);
    need(lot !== undefined, 'the expiring lot exists', 'an existing lot', lotId);
    need(lot.issuerPartnerId === issuerPartnerId, "issuer is the lot's", lot.issuerPartnerId, issuerPartnerId);
    need(lot.points >= points, 'no more points expire than the lot holds', `<= ${lot.points}`, points);
    lot.points -= points;
    // An expired lot is pending no more, its release written or not.
    this.pendingLots.delete(pendingKey(m.memberId, lotId));
    m.available -= points;
    m.lotPoints -= points;
    m.lifetimeExpired += points;
    this.partner(issuerPartnerId).pointsExpired += points;
  }

  /** Slices are well formed and sum to the points. */
  private checkSlices(slices: unknown, points: number): LotSlice[] {
    need(Array.isArray(slices), 'slices are listed', 'array', slices);
    let sum = 0;
    for (const s of slices as LotSlice[]) {
      need(
        s !== null && typeof s === 'object' && isText(s.lotId) && isText(s.issuerPartnerId) && isCount(s.points),
        'a slice names a lot, its issuer and points',
        'slice',
        s,
      );
      sum += s.points;
    }
    need(sum === points, 'slices sum to the points', points, sum);
    return slices as LotSlice[];
  }

  /** Redemption slices (sign 1) or their return (sign -1): both partners' counters and the liability cells. */
  private slicesToPartners(
    redeemerId: string,
    slices: readonly LotSlice[],
    pointValueMinor: number,
    occurredAt: string,
    sign: 1 | -1,
  ): void {
    const redeemer = this.partner(redeemerId);
    const period = monthOf(occurredAt);
    for (const s of slices) {
      redeemer.pointsRedeemedAt += sign * s.points;
      if (s.issuerPartnerId !== redeemerId) {
        this.partner(s.issuerPartnerId).pointsRedeemedElsewhere += sign * s.points;
        redeemer.pointsRedeemedFromOthers += sign * s.points;
      }
      const key = `${period}\u0000${s.issuerPartnerId}\u0000${redeemerId}`;
      let cell = this.liability.get(key);
      if (cell === undefined) {
        cell = { period, issuerPartnerId: s.issuerPartnerId, redeemerPartnerId: redeemerId, points: 0, amountMinor: 0 };
        this.liability.set(key, cell);
      }
      cell.points += sign * s.points;
      cell.amountMinor += sign * s.points * pointValueMinor;
    }
  }

  private newTx(txId: string, memo: TxMemo): void {
    need(!this.txs.has(txId) && !this.holdTxIds.has(txId), 'a txId is unique coalition-wide', 'a new txId', txId);
    // Logs older than the reservations have none; where there is one, it names this member.
    const reservedFor = this.reservations.get(txId);
    need(
      reservedFor === undefined || reservedFor === memo.memberId,
      "the txId's reservation names this member",
      reservedFor,
      memo.memberId,
    );
    this.txs.set(txId, memo);
  }

  /**
   * A paid plan moves no points: its fee is money between the member and the selling partner.
   * Its txId is unique coalition-wide and reserved for this member, but not in the transaction index.
   */
  private membershipPurchased(m: FoldedMember, d: Record<string, unknown>): void {
    const { txId, partnerId, planId, feeMinor, validFrom, validUntil, multiplierBps, occurredAt } = d;
    need(isText(txId) && isText(partnerId) && isText(planId), 'ids and plan are set', 'strings', { txId, partnerId, planId });
    need(isCount(feeMinor), 'the fee is a whole number of minor units', 'integer >= 0', feeMinor);
    need(isCount(multiplierBps) && multiplierBps > 0, 'the plan multiplier is positive', 'integer > 0', multiplierBps);
    need(
      isText(validFrom) && isText(validUntil) && validFrom === occurredAt && validUntil > validFrom,
      'a plan is valid from its purchase, for a while',
      'validFrom = occurredAt < validUntil',
      { validFrom, validUntil, occurredAt },
    );
    const reservedFor = this.reservations.get(txId);
    need(reservedFor === undefined || reservedFor === m.memberId, "the txId's reservation names this member", reservedFor, m.memberId);
    this.newHoldTx(txId);
  }

  private newHoldTx(txId: string): void {
    need(!this.txs.has(txId) && !this.holdTxIds.has(txId), 'a txId is unique coalition-wide', 'a new txId', txId);
    this.holdTxIds.add(txId);
  }

  private held(m: FoldedMember, d: Record<string, unknown>, position: number): void {
    const { txId, holdId, partnerId, points, expiresAt } = d;
    need(isText(txId) && txId === holdId && isText(partnerId) && isText(expiresAt), 'a hold is named by its txId', 'holdId = txId', {
      txId,
      holdId,
    });
    need(isCount(points) && points > 0, 'a hold keeps a positive whole number of points', 'integer > 0', points);
    need(!Number.isNaN(Date.parse(expiresAt)), 'a hold expires at an ISO instant', 'ISO 8601', expiresAt);
    // Lapsed holds still count here until their HoldReleased; the decider never lets live ones exceed the lots.
    this.newHoldTx(txId);
    this.holds.set(txId, { holdId: txId, memberId: m.memberId, partnerId, points, expiresAt, status: 'open', position });
    m.held += points;
  }

  private openHold(m: FoldedMember, holdId: unknown): FoldedHold {
    need(isText(holdId), 'the hold is named', 'a holdId', holdId);
    const hold = this.holds.get(holdId);
    need(hold !== undefined && hold.memberId === m.memberId, "it ends a hold of the member's", 'a hold of the member', holdId);
    need(hold.status === 'open', 'a hold ends once', 'open', hold.status);
    return hold;
  }

  private holdCaptured(m: FoldedMember, d: Record<string, unknown>): void {
    const { txId, holdId, partnerId, points, releasedPoints } = d;
    const hold = this.openHold(m, holdId);
    need(partnerId === hold.partnerId, 'the holding partner captures', hold.partnerId, partnerId);
    need(isCount(points) && isCount(releasedPoints), 'captured and released points are whole numbers', 'integers', {
      points,
      releasedPoints,
    });
    need(points + releasedPoints === hold.points, 'a capture ends the whole hold', hold.points, points + releasedPoints);
    // The redemption appended just before it, under the same txId, took the captured points.
    const redeemed = isText(txId) ? this.txs.get(txId) : undefined;
    need(redeemed?.kind === 'redemption' && redeemed.memberId === m.memberId, 'a capture follows its redemption', 'redemption', txId);
    need(
      (redeemed.slices ?? []).reduce((sum, s) => sum + s.points, 0) === points,
      'the redemption took the captured points',
      points,
      redeemed.slices,
    );
    hold.status = 'captured';
    m.held -= hold.points;
  }

  private holdReleased(m: FoldedMember, d: Record<string, unknown>): void {
    const { txId, holdId, partnerId, points, reason, occurredAt } = d;
    const hold = this.openHold(m, holdId);
    need(partnerId === hold.partnerId, "the release names the hold's partner", hold.partnerId, partnerId);
    need(points === hold.points, 'a release ends the whole hold', hold.points, points);
    need(reason === 'released' || reason === 'expired', 'a release says why', "'released' or 'expired'", reason);
    if (reason === 'expired') {
      need(txId === null, 'a lapse is no partner transaction', null, txId);
      need(occurredAt === hold.expiresAt, 'a lapse is dated at the expiry', hold.expiresAt, occurredAt);
    } else {
      need(isText(txId), 'a release is a partner transaction', 'a txId', txId);
      this.newHoldTx(txId);
    }
    hold.status = reason;
    m.held -= hold.points;
  }

  /** A refused accrual on record: no points move, so nothing but the flag itself is kept. */
  private flagged(m: FoldedMember, d: Record<string, unknown>, position: number): void {
    const { txId, partnerId, rule, limit, observed, window, amountMinor, points, occurredAt } = d;
    need(isText(txId) && isText(partnerId) && isText(window), 'ids and window are set', 'strings', { txId, partnerId, window });
    need(rule === 'max_accruals_per_hour' || rule === 'max_points_per_day', 'a known velocity rule', 'a rule', rule);
    need(isCount(limit) && isCount(observed) && observed > limit, 'what was observed exceeds the limit', `> ${String(limit)}`, observed);
    need(isCount(amountMinor) && isCount(points), 'amount and points are whole numbers', 'integers', { amountMinor, points });
    this.flags.set(position, {
      position,
      memberId: m.memberId,
      txId,
      partnerId,
      rule,
      limit,
      observed,
      window,
      amountMinor,
      points,
      occurredAt: String(occurredAt),
    });
  }

  /** A return window ended: nothing moves; the lot was pending, and is released once, at its availableAt. */
  /** A tier moves from the one held; an upgrade names an accrual of the member's (appended with it). */
  private tierChanged(m: FoldedMember, d: Record<string, unknown>): void {
    const { fromTierId, toTierId, reason, qualifyingPoints, txId } = d;
    need(fromTierId === m.tier, 'a tier change starts from the tier held', m.tier, fromTierId);
    need(toTierId === null || isText(toTierId), 'the new tier is a name or none', 'string or null', toTierId);
    need(toTierId !== fromTierId, 'a tier change changes the tier', `not ${String(fromTierId)}`, toTierId);
    need(reason === 'qualified' || reason === 'review', 'a known reason', 'qualified | review', reason);
    need(isCount(qualifyingPoints), 'qualifying points are a whole number', 'integer >= 0', qualifyingPoints);
    if (reason === 'qualified') {
      const accrual = isText(txId) ? this.txs.get(txId) : undefined;
      need(accrual?.kind === 'accrual' && accrual.memberId === m.memberId, "an upgrade names the member's accrual", 'accrual', txId);
    }
    m.tier = toTierId as string | null;
  }

  /** The earn breakdown, when recorded: items add up to the amount, multipliers are in range and name their source. */
  private earnBreakdown(d: Record<string, unknown>): void {
    const { amountMinor, items, basePoints, multipliers } = d;
    if (items !== undefined) {
      need(Array.isArray(items) && items.length > 0, 'items are a non-empty list', 'array', items);
      const sum = (items as Record<string, unknown>[]).reduce((acc, i) => acc + (isCount(i.amountMinor) ? i.amountMinor : NaN), 0);
      need(sum === amountMinor, 'item amounts add up to the accrual amount', amountMinor, sum);
    }
    if (basePoints === undefined && multipliers === undefined) return;
    need(isCount(basePoints), 'base points are a whole number', 'integer >= 0', basePoints);
    need(Array.isArray(multipliers), 'multipliers are a list', 'array', multipliers);
    for (const m of multipliers as Record<string, unknown>[]) {
      need(
        ['category', 'campaign', 'threshold', 'tier', 'plan'].includes(String(m.source)),
        'a known multiplier source',
        'source',
        m.source,
      );
      need(isText(m.ref), 'a multiplier names what set it', 'string', m.ref);
      need(isCount(m.multiplierBps) && m.multiplierBps >= 1, 'a multiplier is a positive integer of bps', 'integer >= 1', m.multiplierBps);
      need(
        isCount(m.amountMinor) && m.amountMinor <= Number(amountMinor),
        'a multiplier covers part of the receipt',
        `<= ${String(amountMinor)}`,
        m.amountMinor,
      );
    }
  }

  private pointsReleased(m: FoldedMember, d: Record<string, unknown>): void {
    const { lotId, issuerPartnerId, points, occurredAt } = d;
    need(isText(lotId) && isText(issuerPartnerId), 'ids are set', 'strings', { lotId, issuerPartnerId });
    const lot = m.lots.get(lotId);
    need(lot !== undefined, 'the released lot exists', 'an existing lot', lotId);
    need(lot.issuerPartnerId === issuerPartnerId, "issuer is the lot's", lot.issuerPartnerId, issuerPartnerId);
    need(lot.availableAt !== undefined, 'a lot is released once, and only a pending one', 'a pending lot', 'not pending');
    need(occurredAt === lot.availableAt, 'a release is dated at the end of the window', lot.availableAt, occurredAt);
    need(lot.availableAt < lot.expiresAt, 'a lot whose window reaches its expiry is never released', `< ${lot.expiresAt}`, lot.availableAt);
    const refunded = this.txs.get(lotId)?.reversedPoints ?? 0;
    need(points === lot.pointsIssued - refunded, 'a release names the lot as issued less refunds', lot.pointsIssued - refunded, points);
    need(isCount(points) && points > 0, 'a release frees points', 'integer > 0', points);
    delete lot.availableAt;
    this.pendingLots.delete(pendingKey(m.memberId, lotId));
  }

  private partner(partnerId: string): PartnerCounters {
    let p = this.partners.get(partnerId);
    if (p === undefined) {
      p = {
        partnerId,
        name: null,
        pointsIssued: 0,
        pointsRedeemedAt: 0,
        pointsRedeemedElsewhere: 0,
        pointsRedeemedFromOthers: 0,
        pointsExpired: 0,
        pointsReversed: 0,
      };
      this.partners.set(partnerId, p);
    }
    return p;
  }
}
