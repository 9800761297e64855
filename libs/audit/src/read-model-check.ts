import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { RecordedEvent } from '@ledger/event-store';
import { ReadStore } from '@ledger/projections';
import { AuditFold, FoldStep, FoldedTx } from './audit-fold';
import { Divergence } from './divergence';

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
  /** An event at or before that position, after the fold applied it. */
  onEvent(e: RecordedEvent, step: FoldStep): Divergence | undefined;
  /** The fold now stands at the snapshot's position (or at the end of the log, if that is earlier). */
  compare(fold: AuditFold, lastEvent: RecordedEvent | undefined): Divergence[];
  /** Releases the snapshot. Called once, whatever happened. */
  end(): void;
}

interface MemberRow {
  member_id: string;
  card_number: string;
  enrolled_at: string;
  available: number;
  held: number;
  lifetime_accrued: number;
  lifetime_redeemed: number;
  lifetime_expired: number;
  position: number;
}

interface LotRow {
  member_id: string;
  lot_id: string;
  issuer_partner_id: string;
  points: number;
  points_issued: number;
  expires_at: string;
  position: number;
}

interface PartnerRow {
  partner_id: string;
  name: string | null;
  points_issued: number;
  points_redeemed_at: number;
  points_redeemed_elsewhere: number;
  points_redeemed_from_others: number;
  points_expired: number;
  points_reversed: number;
}

interface TxRow {
  tx_id: string;
  member_id: string;
  partner_id: string;
  kind: string;
  points: number;
  original_tx_id: string | null;
  occurred_at: string;
  position: number;
}

interface LiabilityRow {
  period: string;
  issuer_partner_id: string;
  redeemer_partner_id: string;
  points: number;
  amount_minor: number;
}

/** Field by field: the first column whose value differs, or undefined. */
function firstColumnDiff(
  expected: Record<string, unknown>,
  found: Record<string, unknown>,
): { column: string; expected: unknown; found: unknown } | undefined {
  for (const [column, value] of Object.entries(expected)) {
    if (found[column] !== value) return { column, expected: value, found: found[column] };
  }
  return undefined;
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
  private opened: { db: Database.Database; close: () => void } | undefined;
  private db: Database.Database | undefined;
  private checkpoint: { position: number | undefined; eventId: string | undefined; events: number } | undefined;
  private txStmt: Database.Statement<[string], TxRow> | undefined;
  private checkpointEventSeen = false;
  private txsCompared = 0;
  private txsMissing = 0;
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

  private constructor(
    private readonly opener: Opener,
    maxPerTable = 20,
  ) {
    this.maxPerTable = maxPerTable;
  }

  begin(): { position: number | undefined } {
    this.opened = this.opener();
    this.db = this.opened.db;
    this.db.prepare('BEGIN DEFERRED').run();
    // The first read fixes the snapshot for the whole transaction (WAL).
    const row = this.db.prepare('SELECT position, event_id, events FROM checkpoint WHERE id = 0').get() as
      { position: number | null; event_id: string | null; events: number } | undefined;
    this.checkpoint = { position: row?.position ?? undefined, eventId: row?.event_id ?? undefined, events: row?.events ?? 0 };
    this.txStmt = this.db.prepare('SELECT * FROM transactions WHERE tx_id = ?');
    return { position: this.checkpoint.position };
  }

  onEvent(e: RecordedEvent, step: FoldStep): Divergence | undefined {
    if (e.position === this.checkpoint?.position) {
      this.checkpointEventSeen = true;
      if (e.eventId !== this.checkpoint.eventId) {
        return {
          kind: 'read_model',
          check: 'read_model:checkpoint',
          streamId: e.streamId,
          revision: e.revision,
          position: e.position,
          message: 'the read store was built from another log: its checkpoint names another event at this position',
          expected: e.eventId,
          found: this.checkpoint.eventId,
        };
      }
    }
    if (step.tx) return this.compareTx(e, step.tx);
    return undefined;
  }

  private compareTx(e: RecordedEvent, tx: FoldedTx): Divergence | undefined {
    this.txsCompared += 1;
    const at = {
      kind: 'read_model' as const,
      check: 'read_model:transactions',
      streamId: e.streamId,
      revision: e.revision,
      position: e.position,
    };
    const row = this.txStmt!.get(tx.txId);
    if (row === undefined) {
      this.txsMissing += 1;
      return { ...at, message: `transaction ${tx.txId} is missing from the transaction index`, expected: tx, found: null };
    }
    const diff = firstColumnDiff(
      {
        member_id: tx.memberId,
        partner_id: tx.partnerId,
        kind: tx.kind,
        points: tx.points,
        original_tx_id: tx.originalTxId,
        occurred_at: tx.occurredAt,
        position: tx.position,
      },
      row as unknown as Record<string, unknown>,
    );
    if (diff) return { ...at, message: `transaction ${tx.txId}: ${diff.column} differs`, expected: diff.expected, found: diff.found };
    return undefined;
  }

  compare(fold: AuditFold, lastEvent: RecordedEvent | undefined): Divergence[] {
    const db = this.db!;
    const cp = this.checkpoint!;
    const out: Divergence[] = [];
    const base = { kind: 'read_model' as const };
    if (cp.position !== undefined && !this.checkpointEventSeen) {
      out.push({
        ...base,
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
    out.push(...this.compareCoalition(db, fold));
    out.push(...this.compareMembers(db, fold));
    out.push(...this.compareLots(db, fold));
    out.push(...this.comparePartners(db, fold));
    out.push(...this.compareTransactionCount(db, fold));
    out.push(...this.compareLiability(db, fold));
    return out;
  }

  end(): void {
    if (this.db?.open && this.db.inTransaction) this.db.prepare('ROLLBACK').run();
    this.opened?.close();
    this.opened = undefined;
    this.db = undefined;
  }

  private compareCoalition(db: Database.Database, fold: AuditFold): Divergence[] {
    const row = db.prepare('SELECT currency, point_value_minor, expiry_months FROM coalition WHERE id = 0').get() as
      { currency: string; point_value_minor: number; expiry_months: number } | undefined;
    const expected = fold.coalition;
    const check = 'read_model:coalition';
    if (!expected && !row) return [];
    if (!expected || !row) {
      return [
        {
          kind: 'read_model',
          check,
          streamId: 'coalition-default',
          message: expected ? 'the coalition row is missing' : 'a coalition row no event explains',
          expected: expected ?? null,
          found: row ?? null,
        },
      ];
    }
    const diff = firstColumnDiff(
      { currency: expected.currency, point_value_minor: expected.pointValueMinor, expiry_months: expected.expiryMonths },
      row,
    );
    return diff
      ? [
          {
            kind: 'read_model',
            check,
            streamId: 'coalition-default',
            message: `coalition ${diff.column} differs`,
            expected: diff.expected,
            found: diff.found,
          },
        ]
      : [];
  }

  private compareMembers(db: Database.Database, fold: AuditFold): Divergence[] {
    const out: Divergence[] = [];
    const check = 'read_model:members';
    let seen = 0;
    for (const row of db.prepare('SELECT * FROM members ORDER BY member_id').iterate() as IterableIterator<MemberRow>) {
      if (out.length >= this.maxPerTable) break;
      const m = fold.members.get(row.member_id);
      const streamId = `member-${row.member_id}`;
      if (m === undefined) {
        out.push({ kind: 'read_model', check, streamId, message: 'a member row no event explains', expected: null, found: row });
        continue;
      }
      seen += 1;
      const diff = firstColumnDiff(
        {
          card_number: m.cardNumber,
          enrolled_at: m.enrolledAt,
          available: m.available,
          held: 0,
          lifetime_accrued: m.lifetimeAccrued,
          lifetime_redeemed: m.lifetimeRedeemed,
          lifetime_expired: m.lifetimeExpired,
          position: m.position,
        },
        row as unknown as Record<string, unknown>,
      );
      if (diff)
        out.push({
          kind: 'read_model',
          check,
          streamId,
          position: m.position,
          message: `member ${row.member_id}: ${diff.column} differs`,
          expected: diff.expected,
          found: diff.found,
        });
    }
    if (out.length < this.maxPerTable && seen !== fold.members.size) {
      const present = db.prepare('SELECT 1 FROM members WHERE member_id = ?');
      for (const m of fold.members.values()) {
        if (out.length >= this.maxPerTable) break;
        if (present.get(m.memberId) === undefined) {
          out.push({
            kind: 'read_model',
            check,
            streamId: `member-${m.memberId}`,
            position: m.position,
            message: `member ${m.memberId} is missing from the read model`,
            expected: { available: m.available },
            found: null,
          });
        }
      }
    }
    return out;
  }

  private compareLots(db: Database.Database, fold: AuditFold): Divergence[] {
    const out: Divergence[] = [];
    const check = 'read_model:lots';
    let seen = 0;
    let expectedCount = 0;
    for (const m of fold.members.values()) expectedCount += m.lots.size;
    for (const row of db.prepare('SELECT * FROM lots ORDER BY member_id, lot_id').iterate() as IterableIterator<LotRow>) {
      if (out.length >= this.maxPerTable) break;
      const lot = fold.members.get(row.member_id)?.lots.get(row.lot_id);
      const streamId = `member-${row.member_id}`;
      if (lot === undefined) {
        out.push({
          kind: 'read_model',
          check,
          streamId,
          message: `lot ${row.lot_id}: a row no event explains`,
          expected: null,
          found: row,
        });
        continue;
      }
      seen += 1;
      const diff = firstColumnDiff(
        {
          issuer_partner_id: lot.issuerPartnerId,
          points: lot.points,
          points_issued: lot.pointsIssued,
          expires_at: lot.expiresAt,
          position: lot.position,
        },
        row as unknown as Record<string, unknown>,
      );
      if (diff)
        out.push({
          kind: 'read_model',
          check,
          streamId,
          position: lot.position,
          message: `lot ${row.lot_id}: ${diff.column} differs`,
          expected: diff.expected,
          found: diff.found,
        });
    }
    if (out.length < this.maxPerTable && seen !== expectedCount) {
      const present = db.prepare('SELECT 1 FROM lots WHERE member_id = ? AND lot_id = ?');
      for (const m of fold.members.values()) {
        for (const lot of m.lots.values()) {
          if (out.length >= this.maxPerTable) return out;
          if (present.get(m.memberId, lot.lotId) === undefined) {
            out.push({
              kind: 'read_model',
              check,
              streamId: `member-${m.memberId}`,
              position: lot.position,
              message: `lot ${lot.lotId} is missing from the read model`,
              expected: { points: lot.points },
              found: null,
            });
          }
        }
      }
    }
    return out;
  }

  private comparePartners(db: Database.Database, fold: AuditFold): Divergence[] {
    const out: Divergence[] = [];
    const check = 'read_model:partner_positions';
    const seen = new Set<string>();
    for (const row of db.prepare('SELECT * FROM partner_positions ORDER BY partner_id').iterate() as IterableIterator<PartnerRow>) {
      if (out.length >= this.maxPerTable) break;
      const p = fold.partners.get(row.partner_id);
      const streamId = `partner-${row.partner_id}`;
      if (p === undefined) {
        out.push({ kind: 'read_model', check, streamId, message: 'a partner position no event explains', expected: null, found: row });
        continue;
      }
      seen.add(p.partnerId);
      const diff = firstColumnDiff(
        {
          name: p.name,
          points_issued: p.pointsIssued,
          points_redeemed_at: p.pointsRedeemedAt,
          points_redeemed_elsewhere: p.pointsRedeemedElsewhere,
          points_redeemed_from_others: p.pointsRedeemedFromOthers,
          points_expired: p.pointsExpired,
          points_reversed: p.pointsReversed,
        },
        row as unknown as Record<string, unknown>,
      );
      if (diff)
        out.push({
          kind: 'read_model',
          check,
          streamId,
          message: `partner ${row.partner_id}: ${diff.column} differs`,
          expected: diff.expected,
          found: diff.found,
        });
    }
    for (const p of fold.partners.values()) {
      if (out.length >= this.maxPerTable) break;
      if (!seen.has(p.partnerId))
        out.push({
          kind: 'read_model',
          check,
          streamId: `partner-${p.partnerId}`,
          message: `partner ${p.partnerId} has no position row`,
          expected: { pointsIssued: p.pointsIssued },
          found: null,
        });
    }
    return out;
  }

  /** Rows were compared one by one as their events went by; here only rows no event explains. */
  private compareTransactionCount(db: Database.Database, fold: AuditFold): Divergence[] {
    const { n } = db.prepare('SELECT count(*) AS n FROM transactions').get() as { n: number };
    // Rows reported missing one by one already explain a shortfall.
    if (n === this.txsCompared - this.txsMissing) return [];
    const out: Divergence[] = [];
    const check = 'read_model:transactions';
    for (const row of db.prepare('SELECT * FROM transactions ORDER BY tx_id').iterate() as IterableIterator<TxRow>) {
      if (out.length >= this.maxPerTable) break;
      if (!fold.hasTx(row.tx_id)) {
        out.push({
          kind: 'read_model',
          check,
          streamId: `member-${row.member_id}`,
          position: row.position,
          message: `transaction ${row.tx_id}: a row no event explains`,
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

  private compareLiability(db: Database.Database, fold: AuditFold): Divergence[] {
    const out: Divergence[] = [];
    const check = 'read_model:liability';
    const seen = new Set<string>();
    for (const row of db
      .prepare('SELECT * FROM liability ORDER BY period, issuer_partner_id, redeemer_partner_id')
      .iterate() as IterableIterator<LiabilityRow>) {
      if (out.length >= this.maxPerTable) break;
      const key = `${row.period}\u0000${row.issuer_partner_id}\u0000${row.redeemer_partner_id}`;
      const cell = fold.liability.get(key);
      const what = `liability ${row.period} ${row.issuer_partner_id}→${row.redeemer_partner_id}`;
      if (cell === undefined) {
        out.push({ kind: 'read_model', check, message: `${what}: a row no event explains`, expected: null, found: row });
        continue;
      }
      seen.add(key);
      const diff = firstColumnDiff({ points: cell.points, amount_minor: cell.amountMinor }, row as unknown as Record<string, unknown>);
      if (diff)
        out.push({ kind: 'read_model', check, message: `${what}: ${diff.column} differs`, expected: diff.expected, found: diff.found });
    }
    for (const [key, cell] of fold.liability) {
      if (out.length >= this.maxPerTable) break;
      if (!seen.has(key)) {
        out.push({
          kind: 'read_model',
          check,
          message: `liability ${cell.period} ${cell.issuerPartnerId}→${cell.redeemerPartnerId} is missing`,
          expected: { points: cell.points, amountMinor: cell.amountMinor },
          found: null,
        });
      }
    }
    return out;
  }
}
