import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { RecordedEvent } from '@ledger/event-store';
import { PostgresReadStore, READ_MODEL_TABLES, ReadStore } from '@ledger/projections';
import {
  AuditFold,
  CoalitionSettings,
  FoldStep,
  FoldedFlag,
  FoldedHold,
  FoldedLot,
  FoldedMember,
  FoldedPendingLot,
  FoldedTx,
  LiabilityCell,
  PartnerCounters,
} from './audit-fold';
import { Divergence } from './divergence';
import { ActivityCell, EnrolmentCount, IssuerDay, ProgramKpisFold, kpiKey } from './program-kpis-fold';

/**
 * A read model compared with the audit's fold of the events. Verify reads the log once;
 * a check pins a snapshot of its read model first, is shown every event up to the
 * position that snapshot reflects, and is asked to compare when the fold stands exactly
 * there. Other read stores (another database, a remote projection) plug in the same way.
 */
export interface ReadModelCheck {
  readonly name: string;
  /** Pins the snapshot compared; the position it reflects (undefined: nothing applied yet). */
  begin(): { position: number | undefined };
  /**
   * An event at or before that position, after the fold applied it. What it finds may come
   * with a later event's answer or with `compare`'s, in log order either way.
   */
  onEvent(e: RecordedEvent, step: FoldStep): readonly Divergence[];
  /** The fold now stands at the snapshot's position (or at the end of the log, if that is earlier). */
  compare(fold: AuditFold, lastEvent: RecordedEvent | undefined): Divergence[];
  /** Releases the snapshot. Called once, whatever happened. */
  end(): void;
}

/** A read-model row, column by column, as the store returns it. */
type Row = Record<string, unknown>;

/** One consistent snapshot of a read store's tables. */
interface ReadStoreSnapshot {
  checkpoint(): { position: number | undefined; eventId: string | undefined };
  /** Every row of `table` in its key order. */
  rows(table: string): Iterable<Row>;
  /** The row of `table` whose key columns hold `key`'s values. */
  row(table: string, key: Row): Row | undefined;
  /** The transaction-index rows of these txIds (those that exist), by txId: one query for many. */
  transactions(txIds: readonly string[]): Map<string, Row>;
  count(table: string): number;
  close(): void;
}

/**
 * What a read-model table should hold, from the fold: one entry per row, found from a row
 * (to compare it) and listed (to find the rows missing).
 */
interface TableExpectation<E> {
  table: string;
  check: string;
  /** The fold's entry a row stands for; undefined when no event explains the row. */
  entryOf(row: Row): E | undefined;
  entries(): Iterable<E>;
  entryCount(): number;
  /** The entry's key columns and values. */
  keyOf(entry: E): Row;
  /** The entry's other columns, as the row should hold them. */
  columnsOf(entry: E): Row;
  /** How a divergence names the row (from its key columns). */
  label(key: Row): string;
  /** The stream and position a divergence points to. */
  locate(key: Row, entry: E | undefined): { streamId?: string; position?: number };
}

/** Field by field: the first column whose value differs, or undefined. */
function firstColumnDiff(expected: Row, found: Row): { column: string; expected: unknown; found: unknown } | undefined {
  // for…in, not Object.entries: this runs for every row of the read model.
  for (const column in expected) {
    if (found[column] !== expected[column]) return { column, expected: expected[column], found: found[column] };
  }
  return undefined;
}

/**
 * The one table comparison: each row against the fold's entry for it (a row no event
 * explains, a column that differs), then, when fewer rows matched than the fold has
 * entries, each entry whose row is missing. At most `max` divergences per table.
 */
function compareTable<E>(snapshot: ReadStoreSnapshot, t: TableExpectation<E>, max: number): Divergence[] {
  const out: Divergence[] = [];
  const at = (key: Row, entry: E | undefined) => ({ kind: 'read_model' as const, check: t.check, ...t.locate(key, entry) });
  let matched = 0;
  for (const row of snapshot.rows(t.table)) {
    if (out.length >= max) return out;
    const entry = t.entryOf(row);
    if (entry === undefined) {
      out.push({ ...at(row, undefined), message: `${t.label(row)}: a row no event explains`, expected: null, found: row });
      continue;
    }
    matched += 1;
    const diff = firstColumnDiff(t.columnsOf(entry), row);
    if (diff)
      out.push({ ...at(row, entry), message: `${t.label(row)}: ${diff.column} differs`, expected: diff.expected, found: diff.found });
  }
  if (matched === t.entryCount()) return out;
  for (const entry of t.entries()) {
    if (out.length >= max) return out;
    const key = t.keyOf(entry);
    if (snapshot.row(t.table, key) === undefined) {
      out.push({ ...at(key, entry), message: `${t.label(key)} is missing from the read model`, expected: t.columnsOf(entry), found: null });
    }
  }
  return out;
}

// What each read model's tables should hold, read model by read model (libs/projections/src/read-models).

function coalitionExpected(fold: AuditFold): TableExpectation<CoalitionSettings> {
  return {
    table: 'coalition',
    check: 'read_model:coalition',
    entryOf: (row) => (row.id === 0 ? fold.coalition : undefined),
    entries: () => (fold.coalition ? [fold.coalition] : []),
    entryCount: () => (fold.coalition ? 1 : 0),
    keyOf: () => ({ id: 0 }),
    columnsOf: (c) => ({ currency: c.currency, point_value_minor: c.pointValueMinor, expiry_months: c.expiryMonths }),
    label: () => 'coalition',
    locate: () => ({ streamId: 'coalition-default' }),
  };
}

function membersExpected(fold: AuditFold): TableExpectation<FoldedMember> {
  return {
    table: 'members',
    check: 'read_model:members',
    entryOf: (row) => fold.members.get(String(row.member_id)),
    entries: () => fold.members.values(),
    entryCount: () => fold.members.size,
    keyOf: (m) => ({ member_id: m.memberId }),
    columnsOf: (m) => ({
      card_number: m.cardNumber,
      enrolled_at: m.enrolledAt,
      available: m.available,
      held: m.held,
      lifetime_accrued: m.lifetimeAccrued,
      lifetime_redeemed: m.lifetimeRedeemed,
      lifetime_expired: m.lifetimeExpired,
      position: m.position,
      tier: m.tier,
    }),
    label: (key) => `member ${String(key.member_id)}`,
    locate: (key, m) => ({ streamId: `member-${String(key.member_id)}`, position: m?.position }),
  };
}

function lotsExpected(fold: AuditFold): TableExpectation<{ memberId: string; lot: FoldedLot }> {
  return {
    table: 'lots',
    check: 'read_model:lots',
    entryOf: (row) => {
      const memberId = String(row.member_id);
      const lot = fold.members.get(memberId)?.lots.get(String(row.lot_id));
      return lot && { memberId, lot };
    },
    *entries() {
      for (const m of fold.members.values()) for (const lot of m.lots.values()) yield { memberId: m.memberId, lot };
    },
    entryCount: () => {
      let n = 0;
      for (const m of fold.members.values()) n += m.lots.size;
      return n;
    },
    keyOf: ({ memberId, lot }) => ({ member_id: memberId, lot_id: lot.lotId }),
    columnsOf: ({ lot }) => ({
      issuer_partner_id: lot.issuerPartnerId,
      points: lot.points,
      points_issued: lot.pointsIssued,
      expires_at: lot.expiresAt,
      position: lot.position,
    }),
    label: (key) => `lot ${String(key.lot_id)}`,
    locate: (key, e) => ({ streamId: `member-${String(key.member_id)}`, position: e?.lot.position }),
  };
}

function partnerPositionsExpected(fold: AuditFold): TableExpectation<PartnerCounters> {
  return {
    table: 'partner_positions',
    check: 'read_model:partner_positions',
    entryOf: (row) => fold.partners.get(String(row.partner_id)),
    entries: () => fold.partners.values(),
    entryCount: () => fold.partners.size,
    keyOf: (p) => ({ partner_id: p.partnerId }),
    columnsOf: (p) => ({
      name: p.name,
      points_issued: p.pointsIssued,
      points_redeemed_at: p.pointsRedeemedAt,
      points_redeemed_elsewhere: p.pointsRedeemedElsewhere,
      points_redeemed_from_others: p.pointsRedeemedFromOthers,
      points_expired: p.pointsExpired,
      points_reversed: p.pointsReversed,
    }),
    label: (key) => `partner ${String(key.partner_id)}`,
    locate: (key) => ({ streamId: `partner-${String(key.partner_id)}` }),
  };
}

function liabilityExpected(fold: AuditFold): TableExpectation<LiabilityCell> {
  return {
    table: 'liability',
    check: 'read_model:liability',
    entryOf: (row) =>
      fold.liability.get(`${String(row.period)}\u0000${String(row.issuer_partner_id)}\u0000${String(row.redeemer_partner_id)}`),
    entries: () => fold.liability.values(),
    entryCount: () => fold.liability.size,
    keyOf: (c) => ({ period: c.period, issuer_partner_id: c.issuerPartnerId, redeemer_partner_id: c.redeemerPartnerId }),
    columnsOf: (c) => ({ points: c.points, amount_minor: c.amountMinor }),
    label: (key) => `liability ${String(key.period)} ${String(key.issuer_partner_id)}→${String(key.redeemer_partner_id)}`,
    locate: () => ({}),
  };
}

function holdsExpected(fold: AuditFold): TableExpectation<FoldedHold> {
  return {
    table: 'holds',
    check: 'read_model:holds',
    entryOf: (row) => fold.holds.get(String(row.hold_id)),
    entries: () => fold.holds.values(),
    entryCount: () => fold.holds.size,
    keyOf: (h) => ({ hold_id: h.holdId }),
    columnsOf: (h) => ({
      member_id: h.memberId,
      partner_id: h.partnerId,
      points: h.points,
      expires_at: h.expiresAt,
      status: h.status,
      position: h.position,
    }),
    label: (key) => `hold ${String(key.hold_id)}`,
    locate: (_key, h) => ({ streamId: h ? `member-${h.memberId}` : undefined, position: h?.position }),
  };
}

function enrolmentsExpected(kpis: ProgramKpisFold): TableExpectation<EnrolmentCount> {
  return {
    table: 'program_enrolments',
    check: 'read_model:program_enrolments',
    entryOf: (row) => kpis.enrolments.get(kpiKey(row.day, row.enrolled_by)),
    entries: () => kpis.enrolments.values(),
    entryCount: () => kpis.enrolments.size,
    keyOf: (e) => ({ day: e.day, enrolled_by: e.enrolledBy }),
    columnsOf: (e) => ({ members: e.members }),
    label: (key) => `enrolments ${String(key.day)} by '${String(key.enrolled_by)}'`,
    locate: () => ({}),
  };
}

function activityExpected(kpis: ProgramKpisFold): TableExpectation<ActivityCell> {
  return {
    table: 'program_activity',
    check: 'read_model:program_activity',
    entryOf: (row) => kpis.activity.get(row.day, row.partner_id, row.member_id),
    entries: () => kpis.activity.values(),
    entryCount: () => kpis.activity.size,
    keyOf: (a) => ({ day: a.day, partner_id: a.partnerId, member_id: a.memberId }),
    columnsOf: (a) => ({ transactions: a.transactions, points_earned: a.pointsEarned }),
    label: (key) => `activity ${String(key.day)} ${String(key.member_id)} at ${String(key.partner_id)}`,
    locate: (key) => ({ streamId: `member-${String(key.member_id)}` }),
  };
}

function pendingLotsExpected(fold: AuditFold): TableExpectation<FoldedPendingLot> {
  return {
    table: 'pending_lots',
    check: 'read_model:pending_lots',
    entryOf: (row) => fold.pendingLots.get(`${String(row.member_id)}\u0000${String(row.lot_id)}`),
    entries: () => fold.pendingLots.values(),
    entryCount: () => fold.pendingLots.size,
    keyOf: (p) => ({ member_id: p.memberId, lot_id: p.lotId }),
    columnsOf: (p) => ({ issuer_partner_id: p.issuerPartnerId, points: p.points, available_at: p.availableAt, expires_at: p.expiresAt }),
    label: (key) => `pending lot ${String(key.lot_id)}`,
    locate: (key) => ({ streamId: `member-${String(key.member_id)}` }),
  };
}

function issuerDaysExpected(days: Map<string, IssuerDay>): TableExpectation<IssuerDay> {
  return {
    table: 'program_issuer_days',
    check: 'read_model:program_issuer_days',
    entryOf: (row) => days.get(kpiKey(row.day, row.issuer_partner_id)),
    entries: () => days.values(),
    entryCount: () => days.size,
    keyOf: (d) => ({ day: d.day, issuer_partner_id: d.issuerPartnerId }),
    columnsOf: (d) => ({
      points_issued: d.issued,
      points_redeemed: d.redeemed,
      points_reversed: d.reversed,
      points_expired: d.expired,
      points_expiring: d.expiring,
    }),
    label: (key) => `issuer day ${String(key.day)} ${String(key.issuer_partner_id)}`,
    locate: () => ({}),
  };
}

function flagsExpected(fold: AuditFold): TableExpectation<FoldedFlag> {
  return {
    table: 'flags',
    check: 'read_model:flags',
    entryOf: (row) => fold.flags.get(Number(row.position)),
    entries: () => fold.flags.values(),
    entryCount: () => fold.flags.size,
    keyOf: (f) => ({ position: f.position }),
    columnsOf: (f) => ({
      member_id: f.memberId,
      tx_id: f.txId,
      partner_id: f.partnerId,
      rule: f.rule,
      limit_value: f.limit,
      observed: f.observed,
      time_window: f.window,
      amount_minor: f.amountMinor,
      points: f.points,
      occurred_at: f.occurredAt,
    }),
    label: (key) => `flag at position ${String(key.position)}`,
    locate: (key, f) => ({ streamId: f ? `member-${f.memberId}` : undefined, position: Number(key.position) }),
  };
}

/** Transactions looked up in the index together: one query per this many instead of one each. */
const TX_LOOKUP_BATCH = 500;

const NO_DIVERGENCE: readonly Divergence[] = [];

/**
 * Compares a read store's snapshot with the fold: the checkpoint against the log, the
 * transaction index row by row as its events go by (the fold keeps no transaction rows),
 * and every other table through the one table comparison once the fold stands at the
 * checkpoint.
 */
class ReadModelComparison {
  private checkpointEventSeen = false;
  private txsCompared = 0;
  private txsMissing = 0;
  /** Transactions waiting for their rows, in log order. */
  private pendingTxs: { e: RecordedEvent; tx: FoldedTx }[] = [];
  /** The programme KPI tables, folded from the same events up to the snapshot. */
  private readonly kpis = new ProgramKpisFold();

  constructor(
    private readonly snapshot: ReadStoreSnapshot,
    private readonly maxPerTable: number,
  ) {}

  onEvent(e: RecordedEvent, step: FoldStep): readonly Divergence[] {
    const checkpoint = this.snapshot.checkpoint();
    if (e.position === checkpoint.position) {
      this.checkpointEventSeen = true;
      if (e.eventId !== checkpoint.eventId) {
        // The transactions before it first, so the findings stay in log order.
        const earlier = this.comparePendingTxs();
        return [
          ...earlier,
          {
            kind: 'read_model',
            check: 'read_model:checkpoint',
            streamId: e.streamId,
            revision: e.revision,
            position: e.position,
            message: 'the read store was built from another log: its checkpoint names another event at this position',
            expected: e.eventId,
            found: checkpoint.eventId,
          },
        ];
      }
    }
    // An event that broke a rule is reported already; the projector's rows for it are not compared.
    if (step.divergence === undefined) this.kpis.apply(e);
    if (step.tx) {
      this.pendingTxs.push({ e, tx: step.tx });
      if (this.pendingTxs.length >= TX_LOOKUP_BATCH) return this.comparePendingTxs();
    }
    return NO_DIVERGENCE;
  }

  compare(fold: AuditFold, lastEvent: RecordedEvent | undefined): Divergence[] {
    const out: Divergence[] = [...this.comparePendingTxs()];
    const cp = this.snapshot.checkpoint();
    if (cp.position !== undefined && !this.checkpointEventSeen) {
      out.push({
        kind: 'read_model',
        check: 'read_model:checkpoint',
        position: cp.position,
        message:
          lastEvent === undefined || cp.position > lastEvent.position
            ? 'the read models reflect an event the log no longer has (events deleted from its end?)'
            : 'the read models reflect a position that holds no event in the log',
        expected: lastEvent ? `an event at position ${cp.position} (the log ends at ${lastEvent.position})` : 'an empty read store',
        found: { position: cp.position, eventId: cp.eventId },
      });
    }
    const max = this.maxPerTable;
    out.push(...compareTable(this.snapshot, coalitionExpected(fold), max));
    out.push(...compareTable(this.snapshot, membersExpected(fold), max));
    out.push(...compareTable(this.snapshot, lotsExpected(fold), max));
    out.push(...compareTable(this.snapshot, partnerPositionsExpected(fold), max));
    out.push(...this.compareTransactionCount(fold));
    out.push(...compareTable(this.snapshot, liabilityExpected(fold), max));
    out.push(...compareTable(this.snapshot, holdsExpected(fold), max));
    out.push(...compareTable(this.snapshot, enrolmentsExpected(this.kpis), max));
    out.push(...compareTable(this.snapshot, activityExpected(this.kpis), max));
    out.push(...compareTable(this.snapshot, issuerDaysExpected(this.kpis.issuerDays(fold)), max));
    out.push(...compareTable(this.snapshot, flagsExpected(fold), max));
    out.push(...compareTable(this.snapshot, pendingLotsExpected(fold), max));
    return out;
  }

  /** The waiting transactions against their rows, fetched in one query. */
  private comparePendingTxs(): Divergence[] {
    if (this.pendingTxs.length === 0) return [];
    const pending = this.pendingTxs;
    this.pendingTxs = [];
    const rows = this.snapshot.transactions(pending.map((p) => p.tx.txId));
    const out: Divergence[] = [];
    for (const { e, tx } of pending) {
      const d = this.compareTx(e, tx, rows.get(tx.txId));
      if (d !== undefined) out.push(d);
    }
    return out;
  }

  private compareTx(e: RecordedEvent, tx: FoldedTx, row: Row | undefined): Divergence | undefined {
    this.txsCompared += 1;
    const at = {
      kind: 'read_model' as const,
      check: 'read_model:transactions',
      streamId: e.streamId,
      revision: e.revision,
      position: e.position,
    };
    if (row === undefined) {
      this.txsMissing += 1;
      return { ...at, message: `transaction ${tx.txId} is missing from the transaction index`, expected: tx, found: null };
    }
    // Column by column without an expected row object: this runs once per transaction of the log.
    const diff =
      row.member_id === tx.memberId &&
      row.partner_id === tx.partnerId &&
      row.kind === tx.kind &&
      row.points === tx.points &&
      row.original_tx_id === tx.originalTxId &&
      row.occurred_at === tx.occurredAt &&
      row.position === tx.position
        ? undefined
        : firstColumnDiff(
            {
              member_id: tx.memberId,
              partner_id: tx.partnerId,
              kind: tx.kind,
              points: tx.points,
              original_tx_id: tx.originalTxId,
              occurred_at: tx.occurredAt,
              position: tx.position,
            },
            row,
          );
    if (diff) return { ...at, message: `transaction ${tx.txId}: ${diff.column} differs`, expected: diff.expected, found: diff.found };
    return undefined;
  }

  /** Rows were compared one by one as their events went by; here only rows no event explains. */
  private compareTransactionCount(fold: AuditFold): Divergence[] {
    const n = this.snapshot.count('transactions');
    // Rows reported missing one by one already explain a shortfall.
    if (n === this.txsCompared - this.txsMissing) return [];
    const out: Divergence[] = [];
    const check = 'read_model:transactions';
    for (const row of this.snapshot.rows('transactions')) {
      if (out.length >= this.maxPerTable) break;
      if (!fold.hasTx(String(row.tx_id))) {
        out.push({
          kind: 'read_model',
          check,
          streamId: `member-${String(row.member_id)}`,
          position: typeof row.position === 'number' ? row.position : undefined,
          message: `transaction ${String(row.tx_id)}: a row no event explains`,
          expected: null,
          found: row,
        });
      }
    }
    if (out.length === 0) {
      out.push({
        kind: 'read_model',
        check,
        message: 'the transaction index does not have one row per transaction',
        expected: fold.txCount(),
        found: n,
      });
    }
    return out;
  }
}

/**
 * A statement's rows as plain objects, built from better-sqlite3's raw arrays by an object
 * literal made once per statement from its column names: the same keys and values as the
 * driver's own row objects, a quarter to a third faster to make over the million rows
 * verify reads, and all of one shape.
 */
class RowReader {
  private readonly build: (values: unknown[]) => Row;

  constructor(private readonly stmt: Database.Statement<unknown[], unknown[]>) {
    stmt.raw(true);
    const names = stmt.columns().map((c) => c.name);
    // Column names come from the read store's own schema; each is quoted as a JSON string.
    this.build = new Function('v', `return { ${names.map((n, i) => `${JSON.stringify(n)}: v[${i}]`).join(', ')} };`) as (
      values: unknown[],
    ) => Row;
  }

  *iterate(...params: unknown[]): IterableIterator<Row> {
    for (const values of this.stmt.iterate(...params)) yield this.build(values);
  }

  get(...params: unknown[]): Row | undefined {
    const values = this.stmt.get(...params);
    return values === undefined ? undefined : this.build(values);
  }

  all(...params: unknown[]): Row[] {
    return this.stmt.all(...params).map(this.build);
  }
}

/** A snapshot of a SQLite read store: one read transaction held until close, so every table is read at one checkpoint. */
class SqliteSnapshot implements ReadStoreSnapshot {
  private readonly keys = new Map(READ_MODEL_TABLES.map((t) => [t.name, t.key.split(',').map((c) => c.trim())]));
  private readonly rowStmts = new Map<string, RowReader>();
  /** The batched transaction lookup, by the number of txIds it takes. */
  private readonly txStmts = new Map<number, RowReader>();
  private readonly cp: { position: number | undefined; eventId: string | undefined };

  constructor(
    private readonly db: Database.Database,
    private readonly release: () => void,
  ) {
    db.prepare('BEGIN DEFERRED').run();
    // The first read fixes the snapshot for the whole transaction (WAL).
    const row = db
      .prepare<[], { position: number | null; event_id: string | null }>('SELECT position, event_id FROM checkpoint WHERE id = 0')
      .get();
    this.cp = { position: row?.position ?? undefined, eventId: row?.event_id ?? undefined };
  }

  checkpoint() {
    return this.cp;
  }

  rows(table: string): Iterable<Row> {
    return new RowReader(this.db.prepare(`SELECT * FROM ${table} ORDER BY ${this.keyOf(table).join(', ')}`)).iterate();
  }

  row(table: string, key: Row): Row | undefined {
    const columns = this.keyOf(table);
    let stmt = this.rowStmts.get(table);
    if (stmt === undefined) {
      stmt = new RowReader(this.db.prepare(`SELECT * FROM ${table} WHERE ${columns.map((c) => `${c} = ?`).join(' AND ')}`));
      this.rowStmts.set(table, stmt);
    }
    // One key column (most tables, and the transaction index, looked up once per transaction): no array.
    return columns.length === 1 ? stmt.get(key[columns[0]]) : stmt.get(...columns.map((c) => key[c]));
  }

  transactions(txIds: readonly string[]): Map<string, Row> {
    const found = new Map<string, Row>();
    for (let from = 0; from < txIds.length; from += TX_LOOKUP_BATCH) {
      const ids = txIds.slice(from, from + TX_LOOKUP_BATCH);
      let stmt = this.txStmts.get(ids.length);
      if (stmt === undefined) {
        stmt = new RowReader(this.db.prepare(`SELECT * FROM transactions WHERE tx_id IN (${ids.map(() => '?').join(', ')})`));
        this.txStmts.set(ids.length, stmt);
      }
      for (const row of stmt.all(...ids)) found.set(String(row.tx_id), row);
    }
    return found;
  }

  count(table: string): number {
    return this.db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()!.n;
  }

  close(): void {
    if (this.db.open && this.db.inTransaction) this.db.prepare('ROLLBACK').run();
    this.release();
  }

  private keyOf(table: string): string[] {
    const key = this.keys.get(table);
    if (key === undefined) throw new Error(`${table} is not a read-model table`);
    return key;
  }
}

/** Opens the database compared and says how to let go of it. */
type Opener = () => { db: Database.Database; close: () => void };

/**
 * The projections' SQLite read store (libs/projections: `$LEDGER_DATA_DIR/read.db`), opened
 * read-only on its own connection. One read transaction is held from `begin` to `end`, so
 * every table is read at the same checkpoint even while a projector keeps writing. A store
 * in memory (an API's in-process projector in tests) is copied whole at `begin` instead:
 * its only connection belongs to the projector.
 */
export class SqliteReadModelCheck implements ReadModelCheck {
  readonly name = 'read_model';
  private comparison: ReadModelComparison | undefined;
  private snapshot: SqliteSnapshot | undefined;
  private readonly maxPerTable: number;

  /** Where the file is missing, there is nothing to compare: `open` returns undefined. */
  static open(file: string, options: { maxPerTable?: number } = {}): SqliteReadModelCheck | undefined {
    if (!existsSync(file)) return undefined;
    return new SqliteReadModelCheck(() => {
      const store = ReadStore.open(file, { readonly: true });
      return { db: store.db, close: () => store.close() };
    }, options.maxPerTable);
  }

  /** The read store another part of this process has open (the API's projector). */
  static of(readStore: ReadStore, options: { maxPerTable?: number } = {}): SqliteReadModelCheck {
    if (readStore.file !== ':memory:') return SqliteReadModelCheck.open(readStore.file, options)!;
    return new SqliteReadModelCheck(() => {
      // serialize() runs synchronously between the projector's batches: a consistent copy.
      const db = new Database(readStore.db.serialize());
      return { db, close: () => db.close() };
    }, options.maxPerTable);
  }

  /**
   * A PostgreSQL read store, compared through an in-memory copy of one snapshot of it (taken
   * now, in one REPEATABLE READ transaction): the same check, table for table.
   */
  static async ofPostgres(store: PostgresReadStore, options: { maxPerTable?: number } = {}): Promise<SqliteReadModelCheck> {
    const copy = ReadStore.open(':memory:');
    try {
      await store.copyInto(copy);
    } catch (error) {
      copy.close();
      throw error;
    }
    return new SqliteReadModelCheck(() => ({ db: copy.db, close: () => copy.close() }), options.maxPerTable);
  }

  private constructor(
    private readonly opener: Opener,
    maxPerTable = 20,
  ) {
    this.maxPerTable = maxPerTable;
  }

  begin(): { position: number | undefined } {
    const { db, close } = this.opener();
    try {
      this.snapshot = new SqliteSnapshot(db, close);
    } catch (error) {
      close();
      throw error;
    }
    this.comparison = new ReadModelComparison(this.snapshot, this.maxPerTable);
    return { position: this.snapshot.checkpoint().position };
  }

  onEvent(e: RecordedEvent, step: FoldStep): readonly Divergence[] {
    return this.comparison!.onEvent(e, step);
  }

  compare(fold: AuditFold, lastEvent: RecordedEvent | undefined): Divergence[] {
    return this.comparison!.compare(fold, lastEvent);
  }

  end(): void {
    this.snapshot?.close();
    this.snapshot = undefined;
    this.comparison = undefined;
  }
}
