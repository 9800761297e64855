import type Database from 'better-sqlite3';
import { AssertionFailed } from '@ledger/domain';
import type { ClientBase } from 'pg';
import { EventOf, ListStaging, PostgresReadModelBatch, ReadModel, ReadModelBatch } from './read-model';

const HANDLES = ['PointsHeld', 'HoldCaptured', 'HoldReleased'] as const;
type Handled = (typeof HANDLES)[number];

/**
 * Every hold and how it ended. A hold past its expiry keeps nothing even while it is still
 * `open` here (its lapse not yet recorded): readers compare `expires_at` with the time they
 * answer for. The lapse job finds due holds by (status, expires_at).
 */
export const holdsReadModel: ReadModel<Handled> = {
  name: 'holds',
  handles: HANDLES,
  tables: [
    {
      name: 'holds',
      key: 'hold_id',
      sqlite: `CREATE TABLE IF NOT EXISTS holds (
        hold_id    TEXT    PRIMARY KEY,
        member_id  TEXT    NOT NULL,
        partner_id TEXT    NOT NULL,
        points     INTEGER NOT NULL CHECK (points > 0),
        expires_at TEXT    NOT NULL,
        status     TEXT    NOT NULL CHECK (status IN ('open', 'captured', 'released', 'expired')),
        position   INTEGER NOT NULL  -- of the PointsHeld
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS holds_due ON holds (status, expires_at);
      CREATE INDEX IF NOT EXISTS holds_member ON holds (member_id, status)`,
    },
  ],
  sqlite: (db) => new HoldsSqlite(db),
  postgres: () => new HoldsPostgres(),
  staging: () => new HoldsStaging(),
};

type Change =
  | { kind: 'open'; holdId: string; memberId: string; partnerId: string; points: number; expiresAt: string; position: number }
  | { kind: 'end'; holdId: string; status: 'captured' | 'released' | 'expired' };

/** Holds are few next to other events: each change is one statement, in event order. */
class HoldsStaging extends ListStaging<Change> {
  stage(event: EventOf<Handled>, position: number): void {
    switch (event.type) {
      case 'PointsHeld': {
        const d = event.data;
        this.batch.push({
          kind: 'open',
          holdId: d.holdId,
          memberId: d.memberId,
          partnerId: d.partnerId,
          points: d.points,
          expiresAt: d.expiresAt,
          position,
        });
        return;
      }
      case 'HoldCaptured':
        this.batch.push({ kind: 'end', holdId: event.data.holdId, status: 'captured' });
        return;
      case 'HoldReleased':
        this.batch.push({ kind: 'end', holdId: event.data.holdId, status: event.data.reason === 'expired' ? 'expired' : 'released' });
        return;
      default: {
        const unknown: never = event;
        throw new AssertionFailed(`holds read model: unhandled ${JSON.stringify(unknown)}`);
      }
    }
  }
}

const INSERT_HOLD = `INSERT INTO holds (hold_id, member_id, partner_id, points, expires_at, status, position)`;
const END_HOLD = `UPDATE holds SET status = $1 WHERE hold_id = $2 AND status = 'open'`;

class HoldsSqlite extends HoldsStaging implements ReadModelBatch<Handled> {
  private readonly insert: Database.Statement<[string, string, string, number, string, number]>;
  private readonly end: Database.Statement<[string, string]>;

  constructor(db: Database.Database) {
    super();
    this.insert = db.prepare(`${INSERT_HOLD} VALUES (?, ?, ?, ?, ?, 'open', ?)`);
    this.end = db.prepare(END_HOLD.replace('$1', '?').replace('$2', '?'));
  }

  flush(): void {
    for (const c of this.batch) {
      if (c.kind === 'open') {
        this.insert.run(c.holdId, c.memberId, c.partnerId, c.points, c.expiresAt, c.position);
      } else if (this.end.run(c.status, c.holdId).changes !== 1) {
        throw new AssertionFailed(`hold ${c.holdId} ends but is not open`);
      }
    }
  }
}

class HoldsPostgres extends HoldsStaging implements PostgresReadModelBatch<Handled> {
  async flush(client: ClientBase): Promise<void> {
    for (const c of this.batch) {
      if (c.kind === 'open') {
        await client.query(`${INSERT_HOLD} VALUES ($1, $2, $3, $4, $5, 'open', $6)`, [
          c.holdId,
          c.memberId,
          c.partnerId,
          c.points,
          c.expiresAt,
          c.position,
        ]);
      } else if ((await client.query(END_HOLD, [c.status, c.holdId])).rowCount !== 1) {
        throw new AssertionFailed(`hold ${c.holdId} ends but is not open`);
      }
    }
  }
}
