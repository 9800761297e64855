import type Database from 'better-sqlite3';
import { assert } from '@ledger/domain';
import type { ReadStore } from './read-store';
import { ReadModelQueries } from './read-store-port';
import { ActiveFigures, EarningFigures, PROGRAM_SQL, ProgramFigures, ProgramReport, ProgramWindow, programReport } from './program-report';

/** An open lot of a member: points still spendable, with the partner that owes them. */
export interface OpenLot {
  lotId: string;
  issuerPartnerId: string;
  points: number;
  expiresAt: string;
}

/** Points of a member's lots that lapse at one moment. */
export interface ExpiringPoints {
  points: number;
  expiresAt: string;
}

/** How far ahead a member is shown the points about to lapse. */
export const EXPIRING_SOON_DAYS = 30;
const DAY_MS = 86_400_000;

/**
 * The lots still spendable at `at`: a lot past its expiry counts no more, whether or not its
 * lapse is recorded yet (the expiry job may not have run). Without `at`, every open lot.
 */
export function lotsLiveAt<L extends { expiresAt: string }>(lots: readonly L[], at: Date | undefined): L[] {
  if (at === undefined) return [...lots];
  const t = at.getTime();
  return lots.filter((lot) => Date.parse(lot.expiresAt) > t);
}

/** Points of `lots` lapsing within EXPIRING_SOON_DAYS after `at`, by expiry, soonest first. */
export function expiringSoonOf(lots: readonly { points: number; expiresAt: string }[], at: Date): ExpiringPoints[] {
  const from = at.getTime();
  const until = from + EXPIRING_SOON_DAYS * DAY_MS;
  const byExpiry = new Map<string, number>();
  for (const lot of lots) {
    const t = Date.parse(lot.expiresAt);
    if (t > from && t <= until) byExpiry.set(lot.expiresAt, (byExpiry.get(lot.expiresAt) ?? 0) + lot.points);
  }
  return [...byExpiry]
    .map(([expiresAt, points]) => ({ points, expiresAt }))
    .sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt));
}

/**
 * A member's balance at `at` from its open lots and the points live holds keep: expired lots
 * drop out, and what is available never goes below 0 (a hold may outlive the lots it was
 * placed against).
 */
export function balanceFromLots(
  lots: readonly OpenLot[],
  held: number,
  at: Date | undefined,
): Pick<MemberBalance, 'available' | 'held' | 'lots' | 'expiringSoon'> {
  const live = lotsLiveAt(lots, at);
  const inLots = live.reduce((sum, lot) => sum + lot.points, 0);
  return { available: Math.max(0, inLots - held), held, lots: live, expiringSoon: at === undefined ? [] : expiringSoonOf(live, at) };
}

/** A lot past its expiry with points left, as the due-lots index lists it for the expiry job. */
export interface DueLot {
  memberId: string;
  lotId: string;
  points: number;
  expiresAt: string;
}

/** Where a page of due lots ended: the next page starts after it (keyset paging). */
export type DueLotKey = Pick<DueLot, 'expiresAt' | 'memberId' | 'lotId'>;

/** Before every due lot ('' sorts first). */
export const DUE_LOTS_FROM_START: DueLotKey = { expiresAt: '', memberId: '', lotId: '' };
/** A lot in its return window at the moment answered: spendable from `availableAt` on. */
export interface PendingLot {
  lotId: string;
  issuerPartnerId: string;
  points: number;
  availableAt: string;
}

export interface MemberBalance {
  memberId: string;
  cardNumber: string;
  /** What the member can spend: the open lots not expired, less what live holds keep. */
  available: number;
  /** Points on live holds (open, not past their expiry) for a checkout. */
  held: number;
  /** Points still in their return window at the moment answered (not in `available`), soonest first. */
  pending: { points: number; lots: PendingLot[] };
  lifetimeAccrued: number;
  lifetimeRedeemed: number;
  lifetimeExpired: number;
  /** The programme tier (null: none), after the member's last TierChanged. */
  tier: string | null;
  /** Open lots not expired, in creation order, less those still pending (listed under `pending`). */
  lots: OpenLot[];
  /** Points lapsing in the next EXPIRING_SOON_DAYS, by expiry (empty for a read not at a moment). */
  expiringSoon: ExpiringPoints[];
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
  /** Points members hold at this partner's checkouts (live holds); still outstanding until captured. */
  pointsHeld: number;
  /** This partner's points still in their return window (issued, part of outstanding, not yet spendable). */
  pointsPending: number;
  asOfPosition: number;
}

/** A hold as the read model has it; `open` may be past `expiresAt` until its lapse is recorded. */
export interface HoldEntry {
  holdId: string;
  memberId: string;
  partnerId: string;
  points: number;
  expiresAt: string;
  status: 'open' | 'captured' | 'released' | 'expired';
}

/** A pending lot whose window has ended, as the release job finds it. */
export interface DuePendingLot {
  memberId: string;
  lotId: string;
  availableAt: string;
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

/** An accrual refused by a velocity limit of the programme, and recorded (fraud controls). */
export interface FlagEntry {
  position: number;
  memberId: string;
  txId: string;
  partnerId: string;
  rule: 'max_accruals_per_hour' | 'max_points_per_day';
  limit: number;
  observed: number;
  window: string;
  amountMinor: number;
  points: number;
  occurredAt: string;
}

/** The flags table's columns as a FlagEntry (the same SQL on both stores). */
export const FLAG_SELECT = `SELECT position, member_id AS "memberId", tx_id AS "txId", partner_id AS "partnerId", rule,
  limit_value AS "limit", observed, time_window AS "window", amount_minor AS "amountMinor", points, occurred_at AS "occurredAt" FROM flags`;

export interface PartnerRow {
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
  tier: string | null;
}

const PARTNER_COLUMNS =
  'partner_id, points_issued, points_redeemed_at, points_redeemed_elsewhere, points_redeemed_from_others, points_expired, points_reversed';

/**
 * Queries over the read store. Each answer is read in one read transaction, so its rows
 * and its `asOfPosition` are one snapshot even while a projector in another process writes.
 */
export class ReadModelReader implements ReadModelQueries {
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

  /**
   * A member's balance at `at` (a hold or a lot past its expiry keeps nothing from then on,
   * recorded or not); without `at`, every hold not yet ended by an event and every open lot counts.
   */
  member(memberId: string, at?: Date): MemberBalance | undefined {
    return this.snapshot(() => {
      const row = this.stmt.member.get(memberId);
      if (row === undefined) return undefined;
      // `members.available` is the points in the lots; holds and return windows are in their own tables.
      const held = this.stmt.memberHeld.get(memberId, liveAfter(at))?.held ?? 0;
      // Lots still in their return window are listed apart and count in no balance.
      const pendingLots = this.stmt.memberPending.all(memberId, liveAfter(at));
      const pending = pendingLots.reduce((sum, lot) => sum + lot.points, 0);
      const { available, lots, expiringSoon } = balanceFromLots(this.stmt.openLots.all(memberId, liveAfter(at)), held, at);
      return {
        memberId: row.member_id,
        cardNumber: row.card_number,
        available,
        held,
        pending: { points: pending, lots: pendingLots },
        lifetimeAccrued: row.lifetime_accrued,
        lifetimeRedeemed: row.lifetime_redeemed,
        lifetimeExpired: row.lifetime_expired,
        tier: row.tier,
        lots,
        expiringSoon,
        asOfPosition: this.asOf(),
      };
    });
  }

  /** A partner's position; `pointsHeld` counts holds live at `at` (every open one without it). */
  partnerPosition(partnerId: string, at?: Date): PartnerPosition | undefined {
    return this.snapshot(() => {
      const row = this.stmt.partner.get(partnerId);
      return row === undefined
        ? undefined
        : partnerPositionFromRow(row, this.coalition(), this.asOf(), this.heldAt(at), this.pendingAt(at));
    });
  }

  /** Every partner's position, by partner id. */
  partnerPositions(at?: Date): PartnerPosition[] {
    return this.snapshot(() => {
      const rows = this.stmt.partners.all();
      // An empty ledger has no checkpoint yet, and no partner to report.
      if (rows.length === 0) return [];
      const coalition = this.coalition();
      const asOf = this.asOf();
      const held = this.heldAt(at);
      const pending = this.pendingAt(at);
      return rows.map((row) => partnerPositionFromRow(row, coalition, asOf, held, pending));
    });
  }

  hold(holdId: string): HoldEntry | undefined {
    return this.stmt.hold.get(holdId);
  }

  /** Open holds whose expiry is at or before `at`, oldest expiry first: what the lapse job records. */
  dueHolds(at: Date, limit: number): HoldEntry[] {
    return this.stmt.dueHolds.all(at.toISOString(), limit);
  }

  /**
   * Lots past their expiry at `until` with points left, oldest expiry first, from the due-lots
   * index (`lots_due`): what the expiry job lapses. Never a scan of every member.
   */
  dueLots(until: Date, limit: number, after?: DueLotKey): DueLot[] {
    const a = after ?? DUE_LOTS_FROM_START;
    return this.stmt.dueLots.all(until.toISOString(), a.expiresAt, a.memberId, a.lotId, limit);
  }

  /** Pending lots whose return window has ended at or before `at`, soonest first: what the release job records. */
  duePendingLots(at: Date, limit: number): DuePendingLot[] {
    return this.stmt.duePending.all(at.toISOString(), limit);
  }

  private heldAt(at: Date | undefined): Map<string, number> {
    return new Map(this.stmt.partnersHeld.all(liveAfter(at)).map((r) => [r.partnerId, r.held]));
  }

  private pendingAt(at: Date | undefined): Map<string, number> {
    return new Map(this.stmt.partnersPending.all(liveAfter(at)).map((r) => [r.partnerId, r.pending]));
  }

  transaction(txId: string): TransactionEntry | undefined {
    return this.stmt.transaction.get(txId);
  }

  /** Liability rows of one period, or of all periods, in key order. */
  liability(period?: string): LiabilityRow[] {
    return period === undefined ? this.stmt.liabilityAll.all() : this.stmt.liabilityOf.all(period);
  }

  /** The programme KPIs of `window`, every query in one read transaction. */
  programReport(window: ProgramWindow): ProgramReport {
    const all = <T>(sql: string, ...params: string[]): T[] =>
      this.db.prepare<[Record<string, string>], T>(sqliteParams(sql)).all(Object.fromEntries(params.map((p, i) => [`p${i + 1}`, p])));
    const { previousFrom, from, to } = window;
    const figures = this.snapshot((): ProgramFigures => ({
      partners: all<{ partnerId: string }>(PROGRAM_SQL.partners).map((r) => r.partnerId),
      coalition: this.coalition(),
      asOfPosition: this.store.checkpoint().position,
      enrolled: all(PROGRAM_SQL.enrolled, from, to),
      activeByPartner: all<ActiveFigures>(PROGRAM_SQL.active('partner_id, member_id'), previousFrom, from, to),
      activeTotal: all<ActiveFigures>(PROGRAM_SQL.active('member_id'), previousFrom, from, to)[0],
      earningByPartner: all<EarningFigures>(PROGRAM_SQL.earning(true), from, to),
      earningTotal: all<EarningFigures>(PROGRAM_SQL.earning(false), from, to)[0] ?? NO_EARNING,
      breakage: all(PROGRAM_SQL.breakage, from, to),
      outstanding: all(PROGRAM_SQL.outstanding, to),
    }));
    return programReport(window, figures);
  }

  flags(memberId?: string): FlagEntry[] {
    return memberId === undefined ? this.stmt.flagsAll.all() : this.stmt.flagsOf.all(memberId);
  }

  birthdays(keys: readonly string[]): string[] {
    return keys.flatMap((key) => this.stmt.birthdays.all(key).map((r) => r.memberId));
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
}

/** A partner position from its row, valued at the coalition's current point value. */
export function partnerPositionFromRow(
  row: PartnerRow,
  coalition: { currency: string; pointValueMinor: number } | undefined,
  asOfPosition: number,
  held: Map<string, number>,
  pending: ReadonlyMap<string, number> = new Map(),
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
    pointsHeld: held.get(row.partner_id) ?? 0,
    pointsPending: pending.get(row.partner_id) ?? 0,
    asOfPosition,
  };
}

/** `$1` → `@p1`: named parameters on SQLite (better-sqlite3 binds no numbered ones), so both stores run one SQL text. */
const sqliteParams = (sql: string) => sql.replace(/\$([0-9]+)/g, '@p$1');

/** The earning figures of a window in which nobody earned. */
export const NO_EARNING = { earners: 0, points: 0, topPoints: 0 };

/**
 * Holds expiring (lots becoming available) after this ISO time are live (pending); '' (before
 * every time) counts every open hold and every lot not yet released.
 */
const liveAfter = (at: Date | undefined): string => (at === undefined ? '' : at.toISOString());

function prepare(db: Database.Database) {
  return {
    member: db.prepare<[string], MemberRow>(
      'SELECT member_id, card_number, available, held, lifetime_accrued, lifetime_redeemed, lifetime_expired, tier FROM members WHERE member_id = ?',
    ),
    memberHeld: db.prepare<[string, string], { held: number }>(
      `SELECT coalesce(sum(points), 0) AS held FROM holds WHERE member_id = ? AND status = 'open' AND expires_at > ?`,
    ),
    partnersHeld: db.prepare<[string], { partnerId: string; held: number }>(
      `SELECT partner_id AS partnerId, sum(points) AS held FROM holds WHERE status = 'open' AND expires_at > ? GROUP BY partner_id`,
    ),
    hold: db.prepare<[string], HoldEntry>(
      `SELECT hold_id AS holdId, member_id AS memberId, partner_id AS partnerId, points, expires_at AS expiresAt, status
       FROM holds WHERE hold_id = ?`,
    ),
    dueHolds: db.prepare<[string, number], HoldEntry>(
      `SELECT hold_id AS holdId, member_id AS memberId, partner_id AS partnerId, points, expires_at AS expiresAt, status
       FROM holds WHERE status = 'open' AND expires_at <= ? ORDER BY expires_at, hold_id LIMIT ?`,
    ),
    dueLots: db.prepare<[string, string, string, string, number], DueLot>(
      `SELECT member_id AS memberId, lot_id AS lotId, points, expires_at AS expiresAt
       FROM lots WHERE points > 0 AND expires_at <= ? AND (expires_at, member_id, lot_id) > (?, ?, ?)
       ORDER BY expires_at, member_id, lot_id LIMIT ?`,
    ),
    openLots: db.prepare<[string, string], OpenLot>(
      `SELECT lot_id AS lotId, issuer_partner_id AS issuerPartnerId, points, expires_at AS expiresAt
       FROM lots l WHERE member_id = ? AND points > 0
         AND NOT EXISTS (SELECT 1 FROM pending_lots p WHERE p.member_id = l.member_id AND p.lot_id = l.lot_id AND p.available_at > ?)
       ORDER BY position`,
    ),
    memberPending: db.prepare<[string, string], PendingLot>(
      `SELECT lot_id AS lotId, issuer_partner_id AS issuerPartnerId, points, available_at AS availableAt
       FROM pending_lots WHERE member_id = ? AND available_at > ? ORDER BY available_at, lot_id`,
    ),
    partnersPending: db.prepare<[string], { partnerId: string; pending: number }>(
      `SELECT issuer_partner_id AS partnerId, sum(points) AS pending FROM pending_lots WHERE available_at > ? GROUP BY issuer_partner_id`,
    ),
    duePending: db.prepare<[string, number], DuePendingLot>(
      `SELECT member_id AS memberId, lot_id AS lotId, available_at AS availableAt FROM pending_lots
       WHERE available_at <= ? AND available_at < expires_at ORDER BY available_at, member_id, lot_id LIMIT ?`,
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
    flagsAll: db.prepare<[], FlagEntry>(`${FLAG_SELECT} ORDER BY position`),
    birthdays: db.prepare<[string], { memberId: string }>(
      'SELECT member_id AS memberId FROM birthdays WHERE birth_md = ? ORDER BY member_id',
    ),
    flagsOf: db.prepare<[string], FlagEntry>(`${FLAG_SELECT} WHERE member_id = ? ORDER BY position`),
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
