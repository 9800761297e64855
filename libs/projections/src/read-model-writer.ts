import type Database from 'better-sqlite3';
import {
  AccrualReversed,
  AssertionFailed,
  assert,
  CoalitionEvent,
  LotSlice,
  MemberEnrolled,
  PartnerEvent,
  PointsAccrued,
  PointsExpired,
  PointsRedeemed,
  RedemptionReversed,
} from '@ledger/domain';
import { RecordedEvent } from '@ledger/event-store';
import { ReadStore } from './read-store';

type Data<E extends { data: unknown }> = E['data'];
type PartnerJoined = Extract<PartnerEvent, { type: 'PartnerJoined' }>;
type CoalitionConfigured = Extract<CoalitionEvent, { type: 'CoalitionConfigured' }>;

const PROJECTED_TYPES: ReadonlySet<string> = new Set([
  'MemberEnrolled',
  'PointsAccrued',
  'PointsRedeemed',
  'AccrualReversed',
  'RedemptionReversed',
  'PointsExpired',
  'PartnerJoined',
  'CoalitionConfigured',
  'PointValueChanged',
  'ExpiryPolicyChanged',
]);

/** Raised when the checkpoint in the store is not the one this writer last wrote or read. */
export class CheckpointMoved extends Error {
  override readonly name = 'CheckpointMoved';
  constructor(
    readonly expected: number | undefined,
    readonly found: number | undefined,
  ) {
    super(`the read store's checkpoint is ${String(found)}, expected ${String(expected)}: another projector or a rebuild is writing it`);
  }
}

/** Per-partner counters added up over a batch, written once per batch. */
interface PartnerDelta {
  name: string | null;
  issued: number;
  redeemedAt: number;
  redeemedElsewhere: number;
  redeemedFromOthers: number;
  expired: number;
  reversed: number;
}

/** A member's changes over a batch; `enrolled` when the batch holds its MemberEnrolled. */
interface MemberDelta {
  memberId: string;
  enrolled: { cardNumber: string; enrolledAt: string } | undefined;
  available: number;
  accrued: number;
  redeemed: number;
  expired: number;
  position: number;
  /** The member's lots changed in the batch, by lot id (created on first use). */
  lots: Map<string, LotDelta> | undefined;
}

/** A lot's change in points over a batch; `opened` when the batch holds its accrual. */
interface LotDelta {
  lotId: string;
  opened: { issuerPartnerId: string; pointsIssued: number; expiresAt: string; position: number } | undefined;
  points: number;
}

interface LiabilityDelta {
  period: string;
  issuer: string;
  redeemer: string;
  points: number;
  amountMinor: number;
}

/**
 * Applies events to the read-model tables. One batch is one IMMEDIATE transaction that also
 * moves the checkpoint, so a crash leaves either the whole batch and its checkpoint or
 * neither: nothing is applied twice and nothing is skipped.
 *
 * Every row's changes are summed in memory over the batch and written once, at the end,
 * through prepared statements: a member buying twice in a batch is one UPDATE, a lot opened
 * and spent in the same batch is one INSERT, and the few partner positions and liability
 * cells that almost every event touches are a handful of upserts per batch. Only the
 * transaction index takes one INSERT per event. What costs is SQLite writing B-tree pages
 * at random keys, so fewer row writes and fewer, larger commits are what make it fast.
 */
export class ReadModelWriter {
  private readonly db: Database.Database;
  private readonly stmt: ReturnType<typeof prepare>;
  private readonly members = new Map<string, MemberDelta>();
  private readonly partners = new Map<string, PartnerDelta>();
  private readonly liability = new Map<string, LiabilityDelta>();
  /** The transaction index rows of the batch, 8 columns each, flat, in event order. */
  private txRows: (string | number | null)[] = [];
  /** Coalition settings changes of the batch, in event order (rare: a handful per history). */
  private coalitionChanges: (() => void)[] = [];
  /** Events staged since the last commit or discard, and the first and last of them. */
  private staged = 0;
  private firstStaged: number | undefined;
  private lastStaged: RecordedEvent | undefined;
  private readonly commitTx: (expected: number | undefined) => void;

  constructor(readonly store: ReadStore) {
    assert(!store.readonly, 'the projector writes the read store');
    this.db = store.db;
    this.stmt = prepare(this.db);
    this.commitTx = this.db.transaction((expected: number | undefined) => {
      this.commitInTransaction(expected);
    }).immediate;
  }

  /**
   * Applies `events` (in position order, all after `expectedCheckpoint`) and moves the
   * checkpoint to the last one, atomically. Throws CheckpointMoved, having written nothing,
   * if someone else moved the checkpoint since.
   */
  applyBatch(events: readonly RecordedEvent[], expectedCheckpoint: number | undefined): void {
    assert(events.length > 0, 'a batch holds at least one event');
    assert(this.staged === 0, 'applyBatch is not mixed with staged events');
    try {
      for (const event of events) this.stage(event);
    } catch (error) {
      this.discardStaged();
      throw error;
    }
    this.commitStaged(expectedCheckpoint);
  }

  /** Events staged and not yet committed. */
  stagedEvents(): number {
    return this.staged;
  }

  /**
   * Folds one event (in position order) into the pending batch, in memory: nothing is
   * written until commitStaged. The runner stages events as they arrive, so a batch holds
   * its sums, not its decoded events. On a throw the batch is unusable: discard it.
   */
  stage(event: RecordedEvent): void {
    const previous = this.lastStaged?.position;
    assert(previous === undefined || event.position > previous, 'events arrive in increasing position order');
    this.apply(event);
    if (this.staged === 0) this.firstStaged = event.position;
    this.lastStaged = event;
    this.staged += 1;
  }

  /**
   * Writes the staged batch and moves the checkpoint to its last event, in one IMMEDIATE
   * transaction. Throws CheckpointMoved, having written nothing, if the checkpoint is not
   * `expectedCheckpoint`. The staged batch is gone afterwards, written or not.
   */
  commitStaged(expectedCheckpoint: number | undefined): void {
    assert(this.staged > 0, 'a batch holds at least one event');
    try {
      this.commitTx(expectedCheckpoint);
    } finally {
      // On a rollback the sums belong to nothing that was written.
      this.discardStaged();
    }
  }

  /** Forgets the staged events. */
  discardStaged(): void {
    this.members.clear();
    this.partners.clear();
    this.liability.clear();
    this.txRows = [];
    this.coalitionChanges = [];
    this.staged = 0;
    this.firstStaged = undefined;
    this.lastStaged = undefined;
  }

  private commitInTransaction(expected: number | undefined): void {
    // Compare-and-set on the checkpoint: two writers on one file (a projector left running
    // during a rebuild, two `ledger project`) cannot both apply the same events.
    const found = this.stmt.checkpoint.get()!.position ?? undefined;
    if (found !== expected) throw new CheckpointMoved(expected, found);
    assert(expected === undefined || this.firstStaged! > expected, 'events arrive in increasing position order');
    for (const change of this.coalitionChanges) change();
    this.flushMembers();
    this.flushTransactions();
    this.flushPartners();
    this.flushLiability();
    const last = this.lastStaged!;
    const moved = this.stmt.moveCheckpoint.run(last.position, last.eventId, this.staged);
    assert(moved.changes === 1, 'the checkpoint row exists');
  }

  private apply(event: RecordedEvent): void {
    const { position } = event;
    switch (event.type) {
      case 'MemberEnrolled':
        return this.memberEnrolled(event.data as unknown as Data<MemberEnrolled>, position);
      case 'PointsAccrued':
        return this.pointsAccrued(event.data as unknown as Data<PointsAccrued>, position);
      case 'PointsRedeemed':
        return this.pointsRedeemed(event.data as unknown as Data<PointsRedeemed>, position);
      case 'AccrualReversed':
        return this.accrualReversed(event.data as unknown as Data<AccrualReversed>, position);
      case 'RedemptionReversed':
        return this.redemptionReversed(event.data as unknown as Data<RedemptionReversed>, position);
      case 'PointsExpired':
        return this.pointsExpired(event.data as unknown as Data<PointsExpired>, position);
      case 'PartnerJoined': {
        const d = event.data as unknown as Data<PartnerJoined>;
        this.partner(d.partnerId).name = d.name;
        return;
      }
      case 'CoalitionConfigured': {
        const d = event.data as unknown as Data<CoalitionConfigured>;
        const { currency, pointValueMinor, expiryMonths } = d;
        this.coalitionChanges.push(() => this.stmt.configureCoalition.run(currency, pointValueMinor, expiryMonths));
        return;
      }
      case 'PointValueChanged': {
        const { pointValueMinor } = event.data as { pointValueMinor: number };
        this.coalitionChanges.push(() => this.stmt.changePointValue.run(pointValueMinor));
        return;
      }
      case 'ExpiryPolicyChanged': {
        const { expiryMonths } = event.data as { expiryMonths: number };
        this.coalitionChanges.push(() => this.stmt.changeExpiry.run(expiryMonths));
        return;
      }
      default:
        // A new version of an event projected here (`PointsAccrued.v2`) must be upcast
        // first: skipping it would quietly leave every balance wrong.
        if (PROJECTED_TYPES.has(event.type.split('.')[0])) throw new AssertionFailed(`${event.type}: no upcaster to the projected shape`);
        // Keys, cards, settlement and anything else: not in these read models. The
        // checkpoint still moves past them.
        return;
    }
  }

  private memberEnrolled(d: Data<MemberEnrolled>, position: number): void {
    const member = this.member(d.memberId, position);
    assert(member.enrolled === undefined, 'a member is enrolled once');
    member.enrolled = { cardNumber: d.cardNumber, enrolledAt: d.occurredAt };
  }

  private pointsAccrued(d: Data<PointsAccrued>, position: number): void {
    const member = this.memberChange(d.memberId, d.points, d.points, 0, 0, position);
    // Mirrors the member decider: an accrual of 0 points opens no lot.
    if (d.points > 0) {
      const lot = this.lot(member, d.lotId);
      assert(lot.opened === undefined, 'a lot is opened once');
      lot.opened = { issuerPartnerId: d.issuerPartnerId, pointsIssued: d.points, expiresAt: d.expiresAt, position };
      lot.points += d.points;
    }
    this.transaction(d.txId, d.memberId, d.partnerId, 'accrual', d.points, null, d.occurredAt, position);
    const issuer = this.partner(d.issuerPartnerId);
    issuer.issued += d.points;
  }

  private pointsRedeemed(d: Data<PointsRedeemed>, position: number): void {
    const member = this.memberChange(d.memberId, -d.points, 0, d.points, 0, position);
    this.slices(member, d.partnerId, d.slices, d.points, d.pointValueMinor, d.occurredAt, 1);
    this.transaction(d.txId, d.memberId, d.partnerId, 'redemption', d.points, null, d.occurredAt, position);
  }

  /** A refund: the lot's points come back out of the member and off the issuer's books. */
  private accrualReversed(d: Data<AccrualReversed>, position: number): void {
    const member = this.memberChange(d.memberId, -d.points, -d.points, 0, 0, position);
    this.lot(member, d.lotId).points -= d.points;
    this.transaction(d.txId, d.memberId, d.partnerId, 'accrual_reversal', d.points, d.originalTxId, d.occurredAt, position);
    this.partner(d.issuerPartnerId).reversed += d.points;
  }

  /**
   * A cancelled redemption un-redeems: the exact slices go back to their lots, and every
   * redeemed counter and liability cell the redemption raised goes down by them, in the
   * period of the cancellation's own business date (as settlement counts it). It is not a
   * `pointsReversed`: that counts issued points taken back by refunds.
   */
  private redemptionReversed(d: Data<RedemptionReversed>, position: number): void {
    const member = this.memberChange(d.memberId, d.points, 0, -d.points, 0, position);
    this.slices(member, d.partnerId, d.slices, d.points, d.pointValueMinor, d.occurredAt, -1);
    this.transaction(d.txId, d.memberId, d.partnerId, 'redemption_reversal', d.points, d.originalTxId, d.occurredAt, position);
  }

  private pointsExpired(d: Data<PointsExpired>, position: number): void {
    const member = this.memberChange(d.memberId, -d.points, 0, 0, d.points, position);
    this.lot(member, d.lotId).points -= d.points;
    this.partner(d.issuerPartnerId).expired += d.points;
  }

  /** Redemption slices (sign 1) or their return (sign -1): lots, both partners' counters, liability cells. */
  private slices(
    member: MemberDelta,
    redeemerId: string,
    slices: readonly LotSlice[],
    points: number,
    pointValueMinor: number,
    occurredAt: string,
    sign: 1 | -1,
  ): void {
    const redeemer = this.partner(redeemerId);
    const period = periodOfIso(occurredAt);
    let sliced = 0;
    for (const s of slices) {
      sliced += s.points;
      this.lot(member, s.lotId).points -= sign * s.points;
      redeemer.redeemedAt += sign * s.points;
      if (s.issuerPartnerId !== redeemerId) {
        this.partner(s.issuerPartnerId).redeemedElsewhere += sign * s.points;
        redeemer.redeemedFromOthers += sign * s.points;
      }
      const key = `${period}\u0000${s.issuerPartnerId}\u0000${redeemerId}`;
      let cell = this.liability.get(key);
      if (cell === undefined) {
        cell = { period, issuer: s.issuerPartnerId, redeemer: redeemerId, points: 0, amountMinor: 0 };
        this.liability.set(key, cell);
      }
      cell.points += sign * s.points;
      cell.amountMinor += sign * s.points * pointValueMinor;
    }
    assert(sliced === points, 'slices sum to the points redeemed');
  }

  private memberChange(
    memberId: string,
    available: number,
    accrued: number,
    redeemed: number,
    expired: number,
    position: number,
  ): MemberDelta {
    const member = this.member(memberId, position);
    member.available += available;
    member.accrued += accrued;
    member.redeemed += redeemed;
    member.expired += expired;
    member.position = position;
    return member;
  }

  private member(memberId: string, position: number): MemberDelta {
    let member = this.members.get(memberId);
    if (member === undefined) {
      member = { memberId, enrolled: undefined, available: 0, accrued: 0, redeemed: 0, expired: 0, position, lots: undefined };
      this.members.set(memberId, member);
    }
    return member;
  }

  private lot(member: MemberDelta, lotId: string): LotDelta {
    let lots = member.lots;
    if (lots === undefined) {
      lots = new Map();
      member.lots = lots;
    }
    let lot = lots.get(lotId);
    if (lot === undefined) {
      lot = { lotId, opened: undefined, points: 0 };
      lots.set(lotId, lot);
    }
    return lot;
  }

  /** Each member row, then that member's lot rows (its lots are neighbours in the lots key order). */
  private flushMembers(): void {
    for (const m of this.members.values()) {
      if (m.enrolled !== undefined) {
        const { cardNumber, enrolledAt } = m.enrolled;
        this.stmt.enrolMember.run(m.memberId, cardNumber, enrolledAt, m.available, m.accrued, m.redeemed, m.expired, m.position);
      } else {
        const info = this.stmt.changeMember.run(m.available, m.accrued, m.redeemed, m.expired, m.position, m.memberId);
        if (info.changes !== 1) throw new AssertionFailed(`member ${m.memberId} moved points before it was enrolled`);
      }
      if (m.lots !== undefined) this.flushLots(m.memberId, m.lots);
    }
  }

  private flushLots(memberId: string, lots: Map<string, LotDelta>): void {
    for (const lot of lots.values()) {
      if (lot.opened !== undefined) {
        const { issuerPartnerId, pointsIssued, expiresAt, position } = lot.opened;
        this.stmt.openLot.run(memberId, lot.lotId, issuerPartnerId, lot.points, pointsIssued, expiresAt, position);
        continue;
      }
      if (lot.points === 0) continue; // taken and given back within the batch
      const info = this.stmt.changeLot.run(lot.points, memberId, lot.lotId);
      if (info.changes !== 1) throw new AssertionFailed(`lot ${lot.lotId} of member ${memberId} does not exist`);
    }
  }

  private transaction(
    txId: string,
    memberId: string,
    partnerId: string,
    kind: string,
    points: number,
    originalTxId: string | null,
    occurredAt: string,
    position: number,
  ): void {
    this.txRows.push(txId, memberId, partnerId, kind, points, originalTxId, occurredAt, position);
  }

  private flushTransactions(): void {
    const rows = this.txRows;
    const insert = this.stmt.indexTransaction;
    for (let i = 0; i < rows.length; i += 8) {
      insert.run(rows[i], rows[i + 1], rows[i + 2], rows[i + 3], rows[i + 4], rows[i + 5], rows[i + 6], rows[i + 7]);
    }
  }

  private partner(partnerId: string): PartnerDelta {
    let delta = this.partners.get(partnerId);
    if (delta === undefined) {
      delta = { name: null, issued: 0, redeemedAt: 0, redeemedElsewhere: 0, redeemedFromOthers: 0, expired: 0, reversed: 0 };
      this.partners.set(partnerId, delta);
    }
    return delta;
  }

  private flushPartners(): void {
    for (const [partnerId, d] of this.partners) {
      this.stmt.addToPartner.run(
        partnerId,
        d.name,
        d.issued,
        d.redeemedAt,
        d.redeemedElsewhere,
        d.redeemedFromOthers,
        d.expired,
        d.reversed,
      );
    }
  }

  private flushLiability(): void {
    for (const cell of this.liability.values()) {
      assert(Number.isSafeInteger(cell.amountMinor), 'liability amounts stay safe integers');
      this.stmt.addToLiability.run(cell.period, cell.issuer, cell.redeemer, cell.points, cell.amountMinor);
    }
  }
}

/**
 * The UTC calendar month of a business date. Stored dates are `toISOString()` output (the
 * domain normalises them), so it is the first seven characters; anything else goes through Date.
 */
export function periodOfIso(iso: string): string {
  if (iso.length === 24 && iso.charCodeAt(23) === 90 /* Z */ && iso.charCodeAt(4) === 45 /* - */) return iso.slice(0, 7);
  const t = Date.parse(iso);
  assert(!Number.isNaN(t), 'stored business dates are valid instants');
  return new Date(t).toISOString().slice(0, 7);
}

function prepare(db: Database.Database) {
  return {
    checkpoint: db.prepare<[], { position: number | null }>('SELECT position FROM checkpoint WHERE id = 0'),
    moveCheckpoint: db.prepare<[number, string, number]>(
      'UPDATE checkpoint SET position = ?, event_id = ?, events = events + ? WHERE id = 0',
    ),
    configureCoalition: db.prepare<[string, number, number]>(
      'INSERT OR REPLACE INTO coalition (id, currency, point_value_minor, expiry_months) VALUES (0, ?, ?, ?)',
    ),
    changePointValue: db.prepare<[number]>('UPDATE coalition SET point_value_minor = ? WHERE id = 0'),
    changeExpiry: db.prepare<[number]>('UPDATE coalition SET expiry_months = ? WHERE id = 0'),
    enrolMember: db.prepare<[string, string, string, number, number, number, number, number]>(
      `INSERT INTO members (member_id, card_number, enrolled_at, available, held, lifetime_accrued, lifetime_redeemed, lifetime_expired, position)
       VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?)`,
    ),
    changeMember: db.prepare<[number, number, number, number, number, string]>(
      `UPDATE members SET available = available + ?, lifetime_accrued = lifetime_accrued + ?,
         lifetime_redeemed = lifetime_redeemed + ?, lifetime_expired = lifetime_expired + ?, position = ?
       WHERE member_id = ?`,
    ),
    openLot: db.prepare<[string, string, string, number, number, string, number]>(
      `INSERT INTO lots (member_id, lot_id, issuer_partner_id, points, points_issued, expires_at, position)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    changeLot: db.prepare<[number, string, string]>('UPDATE lots SET points = points + ? WHERE member_id = ? AND lot_id = ?'),
    // Bound from the flat row buffer: tx_id, member_id, partner_id, kind, points, original_tx_id, occurred_at, position.
    indexTransaction: db.prepare<(string | number | null)[]>(
      `INSERT INTO transactions (tx_id, member_id, partner_id, kind, points, original_tx_id, occurred_at, position)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    addToPartner: db.prepare<[string, string | null, number, number, number, number, number, number]>(
      `INSERT INTO partner_positions (partner_id, name, points_issued, points_redeemed_at, points_redeemed_elsewhere,
         points_redeemed_from_others, points_expired, points_reversed)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (partner_id) DO UPDATE SET
         name = coalesce(excluded.name, name),
         points_issued = points_issued + excluded.points_issued,
         points_redeemed_at = points_redeemed_at + excluded.points_redeemed_at,
         points_redeemed_elsewhere = points_redeemed_elsewhere + excluded.points_redeemed_elsewhere,
         points_redeemed_from_others = points_redeemed_from_others + excluded.points_redeemed_from_others,
         points_expired = points_expired + excluded.points_expired,
         points_reversed = points_reversed + excluded.points_reversed`,
    ),
    addToLiability: db.prepare<[string, string, string, number, number]>(
      `INSERT INTO liability (period, issuer_partner_id, redeemer_partner_id, points, amount_minor) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (period, issuer_partner_id, redeemer_partner_id) DO UPDATE SET
         points = points + excluded.points, amount_minor = amount_minor + excluded.amount_minor`,
    ),
  };
}
