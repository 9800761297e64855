import type Database from 'better-sqlite3';
import { assert } from '@ledger/domain';
import { ReadStore } from './read-store';

/** An open lot of a member: points still spendable, with the partner that owes them. */
export interface OpenLot {
  lotId: string;
  issuerPartnerId: string;
  points: number;
  expiresAt: string;
}

export interface MemberBalance {
  memberId: string;
  cardNumber: string;
  available: number;
  /** Points on hold for a checkout; 0 until holds exist. */
  held: number;
  lifetimeAccrued: number;
  lifetimeRedeemed: number;
  lifetimeExpired: number;
  /** Open lots in creation order. */
  lots: OpenLot[];
  /** The read store's checkpoint this answer reflects. */
  asOfPosition: number;
}

/** A partner's book with the coalition, exactly the fields of issue 5. */
export interface PartnerPosition {
  partnerId: string;
  /** The coalition currency; null until the coalition is configured. */
  currency: string | null;
  pointsIssued: number;
  /** Redeemed at this partner, whoever issued them. */
  pointsRedeemedAt: number;
  /** This partner's points redeemed at other partners. */
  pointsRedeemedElsewhere: number;
  /** Other issuers' points redeemed here. */
  pointsRedeemedFromOthers: number;
  pointsExpired: number;
  /** Issued points taken back by refunds (reversed accruals). */
  pointsReversed: number;
  /** Issued − redeemed anywhere − expired − reversed. */
  pointsOutstanding: number;
  /** pointsOutstanding × the coalition's current point value. */
  liabilityMinor: number;
  asOfPosition: number;
}

export type TransactionKind = 'accrual' | 'redemption' | 'accrual_reversal' | 'redemption_reversal';

export interface TransactionEntry {
  txId: string;
  memberId: string;
  partnerId: string;
  kind: TransactionKind;
  points: number;
  /** For a reversal, the transaction it reverses. */
  originalTxId: string | null;
  occurredAt: string;
  position: number;
}

/** Points of `issuerPartnerId` redeemed at `redeemerPartnerId` in a UTC calendar month, and what they are worth. */
export interface LiabilityRow {
  period: string;
  issuerPartnerId: string;
  redeemerPartnerId: string;
  points: number;
  amountMinor: number;
}

interface PartnerRow {
  partner_id: string;
  points_issued: number;
  points_redeemed_at: number;
  points_redeemed_elsewhere: number;
  points_redeemed_from_others: number;
  points_expired: number;
  points_reversed: number;
}

interface MemberRow {
  member_id: string;
  card_number: string;
  available: number;
  held: number;
  lifetime_accrued: number;
  lifetime_redeemed: number;
  lifetime_expired: number;
}

const PARTNER_COLUMNS =
  'partner_id, points_issued, points_redeemed_at, points_redeemed_elsewhere, points_redeemed_from_others, points_expired, points_reversed';

/**
 * Queries over the read store. Each answer is read in one read transaction, so its rows
 * and its `asOfPosition` are one snapshot even while a projector in another process writes.
 */
export class ReadModelReader {
  private readonly db: Database.Database;
  private readonly stmt: ReturnType<typeof prepare>;
  private readonly snapshot: <T>(read: () => T) => T;

  constructor(readonly store: ReadStore) {
    this.db = store.db;
    this.stmt = prepare(this.db);
    const inTransaction = this.db.transaction((read: () => unknown) => read());
    this.snapshot = <T>(read: () => T) => inTransaction.deferred(read) as T;
  }

  /** The position the read models reflect; undefined before the first event. */
  position(): number | undefined {
    return this.store.checkpoint().position;
  }

  member(memberId: string): MemberBalance | undefined {
    return this.snapshot(() => {
      const row = this.stmt.member.get(memberId);
      if (row === undefined) return undefined;
      return {
        memberId: row.member_id,
        cardNumber: row.card_number,
        available: row.available,
        held: row.held,
        lifetimeAccrued: row.lifetime_accrued,
        lifetimeRedeemed: row.lifetime_redeemed,
        lifetimeExpired: row.lifetime_expired,
        lots: this.stmt.openLots.all(memberId),
        asOfPosition: this.asOf(),
      };
    });
  }

  partnerPosition(partnerId: string): PartnerPosition | undefined {
    return this.snapshot(() => {
      const row = this.stmt.partner.get(partnerId);
      return row === undefined ? undefined : this.toPosition(row, this.coalition(), this.asOf());
    });
  }

  /** Every partner's position, by partner id. */
  partnerPositions(): PartnerPosition[] {
    return this.snapshot(() => {
      const coalition = this.coalition();
      const asOf = this.asOf();
      return this.stmt.partners.all().map((row) => this.toPosition(row, coalition, asOf));
    });
  }

  transaction(txId: string): TransactionEntry | undefined {
    return this.stmt.transaction.get(txId);
  }

  /** Liability rows of one period, or of all periods, in key order. */
  liability(period?: string): LiabilityRow[] {
    return period === undefined ? this.stmt.liabilityAll.all() : this.stmt.liabilityOf.all(period);
  }

  private asOf(): number {
    const position = this.store.checkpoint().position;
    // A row exists only once an event was applied, and that moved the checkpoint.
    assert(position !== undefined, 'rows imply a checkpoint');
    return position;
  }

  private coalition(): { currency: string; pointValueMinor: number } | undefined {
    return this.stmt.coalition.get();
  }

  private toPosition(
    row: PartnerRow,
    coalition: { currency: string; pointValueMinor: number } | undefined,
    asOfPosition: number,
  ): PartnerPosition {
    const ownRedeemed = row.points_redeemed_at - row.points_redeemed_from_others + row.points_redeemed_elsewhere;
    const outstanding = row.points_issued - ownRedeemed - row.points_expired - row.points_reversed;
    const liabilityMinor = outstanding * (coalition?.pointValueMinor ?? 0);
    assert(Number.isSafeInteger(liabilityMinor), 'liability fits a safe integer');
    return {
      partnerId: row.partner_id,
      currency: coalition?.currency ?? null,
      pointsIssued: row.points_issued,
      pointsRedeemedAt: row.points_redeemed_at,
      pointsRedeemedElsewhere: row.points_redeemed_elsewhere,
      pointsRedeemedFromOthers: row.points_redeemed_from_others,
      pointsExpired: row.points_expired,
      pointsReversed: row.points_reversed,
      pointsOutstanding: outstanding,
      liabilityMinor,
      asOfPosition,
    };
  }
}

function prepare(db: Database.Database) {
  return {
    member: db.prepare<[string], MemberRow>(
      'SELECT member_id, card_number, available, held, lifetime_accrued, lifetime_redeemed, lifetime_expired FROM members WHERE member_id = ?',
    ),
    openLots: db.prepare<[string], OpenLot>(
      `SELECT lot_id AS lotId, issuer_partner_id AS issuerPartnerId, points, expires_at AS expiresAt
       FROM lots WHERE member_id = ? AND points > 0 ORDER BY position`,
    ),
    partner: db.prepare<[string], PartnerRow>(`SELECT ${PARTNER_COLUMNS} FROM partner_positions WHERE partner_id = ?`),
    partners: db.prepare<[], PartnerRow>(`SELECT ${PARTNER_COLUMNS} FROM partner_positions ORDER BY partner_id`),
    coalition: db.prepare<[], { currency: string; pointValueMinor: number }>(
      'SELECT currency, point_value_minor AS pointValueMinor FROM coalition WHERE id = 0',
    ),
    transaction: db.prepare<[string], TransactionEntry>(
      `SELECT tx_id AS txId, member_id AS memberId, partner_id AS partnerId, kind, points, original_tx_id AS originalTxId,
         occurred_at AS occurredAt, position FROM transactions WHERE tx_id = ?`,
    ),
    liabilityAll: db.prepare<[], LiabilityRow>(
      `SELECT period, issuer_partner_id AS issuerPartnerId, redeemer_partner_id AS redeemerPartnerId, points, amount_minor AS amountMinor
       FROM liability ORDER BY period, issuer_partner_id, redeemer_partner_id`,
    ),
    liabilityOf: db.prepare<[string], LiabilityRow>(
      `SELECT period, issuer_partner_id AS issuerPartnerId, redeemer_partner_id AS redeemerPartnerId, points, amount_minor AS amountMinor
       FROM liability WHERE period = ? ORDER BY issuer_partner_id, redeemer_partner_id`,
    ),
  };
}
