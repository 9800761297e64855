import type Database from 'better-sqlite3';
import { AssertionFailed } from '@ledger/domain';
import type { ClientBase } from 'pg';
import { EventOf, ListStaging, postgresBulk, PostgresReadModelBatch, ReadModel, ReadModelBatch } from './read-model';

const HANDLES = ['SuspiciousActivityFlagged'] as const;
type Handled = (typeof HANDLES)[number];

/** Accruals refused by a velocity limit (fraud controls), in log order: `GET /v1/reports/flags`. */
export const flagsReadModel: ReadModel<Handled> = {
  name: 'flags',
  handles: HANDLES,
  tables: [
    {
      name: 'flags',
      key: 'position',
      sqlite: `CREATE TABLE IF NOT EXISTS flags (
        position    INTEGER PRIMARY KEY,  -- of the SuspiciousActivityFlagged
        member_id   TEXT    NOT NULL,
        tx_id       TEXT    NOT NULL,     -- the refused accrual's would-be txId
        partner_id  TEXT    NOT NULL,
        rule        TEXT    NOT NULL CHECK (rule IN ('max_accruals_per_hour', 'max_points_per_day')),
        limit_value INTEGER NOT NULL,
        observed    INTEGER NOT NULL,
        time_window TEXT    NOT NULL,  -- the UTC hour or day counted
        amount_minor INTEGER NOT NULL,
        points      INTEGER NOT NULL,
        occurred_at TEXT    NOT NULL
      );
      CREATE INDEX IF NOT EXISTS flags_member ON flags (member_id)`,
    },
  ],
  sqlite: (db) => new FlagsSqlite(db),
  postgres: () => new FlagsPostgres(),
  staging: () => new FlagsStaging(),
};

type FlagRow = [number, string, string, string, string, number, number, string, number, number, string];

/** Flags are rare: kept as rows in event order, each written once. */
class FlagsStaging extends ListStaging<FlagRow> {
  stage(event: EventOf<Handled>, position: number): void {
    if (event.type !== 'SuspiciousActivityFlagged') throw new AssertionFailed(`flags read model: unhandled ${event.type as string}`);
    const d = event.data;
    this.batch.push([
      position,
      d.memberId,
      d.txId,
      d.partnerId,
      d.rule,
      d.limit,
      d.observed,
      d.window,
      d.amountMinor,
      d.points,
      d.occurredAt,
    ]);
  }
}

const COLUMNS = 'position, member_id, tx_id, partner_id, rule, limit_value, observed, time_window, amount_minor, points, occurred_at';

class FlagsSqlite extends FlagsStaging implements ReadModelBatch<Handled> {
  private readonly insert: Database.Statement<FlagRow>;

  constructor(db: Database.Database) {
    super();
    this.insert = db.prepare(`INSERT INTO flags (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  }

  flush(): void {
    for (const row of this.batch) this.insert.run(...row);
  }
}

class FlagsPostgres extends FlagsStaging implements PostgresReadModelBatch<Handled> {
  async flush(client: ClientBase): Promise<void> {
    const columns: unknown[][] = Array.from({ length: 11 }, () => []);
    for (const row of this.batch) row.forEach((v, i) => columns[i].push(v));
    await postgresBulk(
      client,
      `INSERT INTO flags (${COLUMNS})
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::text[],
         $9::bigint[], $10::bigint[], $11::text[])`,
      columns,
    );
  }
}
