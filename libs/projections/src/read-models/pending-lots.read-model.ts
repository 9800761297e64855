import type Database from 'better-sqlite3';
import { AssertionFailed } from '@ledger/domain';
import type { ClientBase } from 'pg';
import { EventOf, ListStaging, PostgresReadModelBatch, ReadModel, ReadModelBatch } from './read-model';

const HANDLES = ['PointsAccrued', 'AccrualReversed', 'PointsExpired', 'PointsReleased'] as const;
type Handled = (typeof HANDLES)[number];

/**
 * Lots opened pending (their partner's earn rule had a return window) whose PointsReleased
 * is not yet written: the index the release job finds due lots in, by `available_at`. A row
 * past its `available_at` is no longer pending even before its release: readers compare it
 * with the time they answer for. `points` is the lot as issued less what refunds took back;
 * a lot refunded in full, expired, or released has no row.
 */
export const pendingLotsReadModel: ReadModel<Handled> = {
  name: 'pending lots',
  handles: HANDLES,
  tables: [
    {
      name: 'pending_lots',
      key: 'member_id, lot_id',
      sqlite: `CREATE TABLE IF NOT EXISTS pending_lots (
        member_id         TEXT    NOT NULL,
        lot_id            TEXT    NOT NULL,
        issuer_partner_id TEXT    NOT NULL,
        points            INTEGER NOT NULL CHECK (points > 0),
        available_at      TEXT    NOT NULL,
        expires_at        TEXT    NOT NULL,
        PRIMARY KEY (member_id, lot_id)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS pending_lots_due ON pending_lots (available_at)`,
    },
  ],
  sqlite: (db) => new PendingLotsSqlite(db),
  postgres: () => new PendingLotsPostgres(),
  staging: () => new PendingLotsStaging(),
};

type Change =
  | { kind: 'open'; memberId: string; lotId: string; issuerPartnerId: string; points: number; availableAt: string; expiresAt: string }
  | { kind: 'refund'; memberId: string; lotId: string; points: number }
  | { kind: 'close'; memberId: string; lotId: string };

/** Pending accruals are a part of all accruals: each change is a statement or two, in event order. */
class PendingLotsStaging extends ListStaging<Change> {
  stage(event: EventOf<Handled>): void {
    switch (event.type) {
      case 'PointsAccrued': {
        const d = event.data;
        // Mirrors the member decider: an accrual of 0 points opens no lot.
        if (d.availableAt === undefined || d.points === 0) return;
        this.batch.push({
          kind: 'open',
          memberId: d.memberId,
          lotId: d.lotId,
          issuerPartnerId: d.issuerPartnerId,
          points: d.points,
          availableAt: d.availableAt,
          expiresAt: d.expiresAt,
        });
        return;
      }
      // Most refunds are of lots never pending (or released): those change no row.
      case 'AccrualReversed':
        if (event.data.points > 0)
          this.batch.push({ kind: 'refund', memberId: event.data.memberId, lotId: event.data.lotId, points: event.data.points });
        return;
      // An expired lot is pending no more, whether or not its release was written.
      case 'PointsExpired':
      case 'PointsReleased':
        this.batch.push({ kind: 'close', memberId: event.data.memberId, lotId: event.data.lotId });
        return;
      default: {
        const unknown: never = event;
        throw new AssertionFailed(`pending lots read model: unhandled ${JSON.stringify(unknown)}`);
      }
    }
  }
}

const INSERT = `INSERT INTO pending_lots (member_id, lot_id, issuer_partner_id, points, available_at, expires_at)`;
// A refund in full leaves nothing pending: the row goes rather than hold 0.
const DELETE_EMPTIED = `DELETE FROM pending_lots WHERE member_id = $1 AND lot_id = $2 AND points = $3`;
const REFUND = `UPDATE pending_lots SET points = points - $3 WHERE member_id = $1 AND lot_id = $2 AND points > $3`;
const CLOSE = `DELETE FROM pending_lots WHERE member_id = $1 AND lot_id = $2`;

/** The same statement with SQLite's anonymous parameters, in the order given (better-sqlite3 has no `?1`). */
const sqliteParams = (sql: string) => sql.replace(/\$[0-9]/g, '?');

class PendingLotsSqlite extends PendingLotsStaging implements ReadModelBatch<Handled> {
  private readonly insert: Database.Statement<[string, string, string, number, string, string]>;
  private readonly deleteEmptied: Database.Statement<[string, string, number]>;
  private readonly refund: Database.Statement<[number, string, string, number]>;
  private readonly close: Database.Statement<[string, string]>;

  constructor(db: Database.Database) {
    super();
    this.insert = db.prepare(`${INSERT} VALUES (?, ?, ?, ?, ?, ?)`);
    this.deleteEmptied = db.prepare(sqliteParams(DELETE_EMPTIED));
    this.refund = db.prepare('UPDATE pending_lots SET points = points - ? WHERE member_id = ? AND lot_id = ? AND points > ?');
    this.close = db.prepare(sqliteParams(CLOSE));
  }

  flush(): void {
    for (const c of this.batch) {
      if (c.kind === 'open') this.insert.run(c.memberId, c.lotId, c.issuerPartnerId, c.points, c.availableAt, c.expiresAt);
      else if (c.kind === 'refund') {
        if (this.deleteEmptied.run(c.memberId, c.lotId, c.points).changes === 0) this.refund.run(c.points, c.memberId, c.lotId, c.points);
      } else this.close.run(c.memberId, c.lotId);
    }
  }
}

class PendingLotsPostgres extends PendingLotsStaging implements PostgresReadModelBatch<Handled> {
  async flush(client: ClientBase): Promise<void> {
    for (const c of this.batch) {
      if (c.kind === 'open') {
        await client.query(`${INSERT} VALUES ($1, $2, $3, $4, $5, $6)`, [
          c.memberId,
          c.lotId,
          c.issuerPartnerId,
          c.points,
          c.availableAt,
          c.expiresAt,
        ]);
      } else if (c.kind === 'refund') {
        if ((await client.query(DELETE_EMPTIED, [c.memberId, c.lotId, c.points])).rowCount === 0) {
          await client.query(REFUND, [c.memberId, c.lotId, c.points]);
        }
      } else await client.query(CLOSE, [c.memberId, c.lotId]);
    }
  }
}
