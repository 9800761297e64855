import type Database from 'better-sqlite3';
import { AssertionFailed } from '@ledger/domain';
import type { ClientBase } from 'pg';
import { EventOf, ListStaging, postgresBulk, PostgresReadModelBatch, ReadModel, ReadModelBatch } from './read-model';

const HANDLES = ['PointsAccrued', 'PointsRedeemed', 'AccrualReversed', 'RedemptionReversed', 'BonusAwarded'] as const;
type Handled = (typeof HANDLES)[number];

/** Columns of one transaction-index row, in the order the buffer holds and the INSERT binds them. */
const COLUMNS = ['tx_id', 'member_id', 'partner_id', 'kind', 'points', 'original_tx_id', 'occurred_at', 'position'] as const;

/** Every partner transaction by txId: what it did, to whom, and where it is in the log. */
export const transactionIndexReadModel: ReadModel<Handled> = {
  name: 'transaction index',
  handles: HANDLES,
  tables: [
    {
      name: 'transactions',
      key: 'tx_id',
      sqlite: `CREATE TABLE IF NOT EXISTS transactions (
        tx_id          TEXT    PRIMARY KEY,
        member_id      TEXT    NOT NULL,
        partner_id     TEXT    NOT NULL,
        kind           TEXT    NOT NULL,
        points         INTEGER NOT NULL,
        original_tx_id TEXT,
        occurred_at    TEXT    NOT NULL,
        position       INTEGER NOT NULL
      ) WITHOUT ROWID`,
    },
  ],
  sqlite: (db) => new TransactionIndexSqlite(db),
  postgres: () => new TransactionIndexPostgres(),
  staging: () => new TransactionIndexStaging(),
};

/**
 * One INSERT per transaction: the only read model whose rows grow with every event. The batch
 * holds its rows flat, COLUMNS.length values each, in event order.
 */
class TransactionIndexStaging extends ListStaging<string | number | null> {
  stage(event: EventOf<Handled>, position: number): void {
    switch (event.type) {
      case 'PointsAccrued': {
        const d = event.data;
        this.batch.push(d.txId, d.memberId, d.partnerId, 'accrual', d.points, null, d.occurredAt, position);
        return;
      }
      case 'BonusAwarded': {
        const d = event.data;
        this.batch.push(d.txId, d.memberId, d.partnerId, 'bonus', d.points, null, d.occurredAt, position);
        return;
      }
      case 'PointsRedeemed': {
        const d = event.data;
        this.batch.push(d.txId, d.memberId, d.partnerId, 'redemption', d.points, null, d.occurredAt, position);
        return;
      }
      case 'AccrualReversed': {
        const d = event.data;
        this.batch.push(d.txId, d.memberId, d.partnerId, 'accrual_reversal', d.points, d.originalTxId, d.occurredAt, position);
        return;
      }
      case 'RedemptionReversed': {
        const d = event.data;
        this.batch.push(d.txId, d.memberId, d.partnerId, 'redemption_reversal', d.points, d.originalTxId, d.occurredAt, position);
        return;
      }
      default: {
        const unknown: never = event;
        throw new AssertionFailed(`transaction index: unhandled ${JSON.stringify(unknown)}`);
      }
    }
  }
}

class TransactionIndexSqlite extends TransactionIndexStaging implements ReadModelBatch<Handled> {
  private readonly insert: Database.Statement<(string | number | null)[]>;

  constructor(db: Database.Database) {
    super();
    this.insert = db.prepare(`INSERT INTO transactions (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`);
  }

  flush(): void {
    const rows = this.batch;
    const insert = this.insert;
    for (let i = 0; i < rows.length; i += 8) {
      insert.run(rows[i], rows[i + 1], rows[i + 2], rows[i + 3], rows[i + 4], rows[i + 5], rows[i + 6], rows[i + 7]);
    }
  }
}

class TransactionIndexPostgres extends TransactionIndexStaging implements PostgresReadModelBatch<Handled> {
  async flush(client: ClientBase): Promise<void> {
    const columns: (string | number | null)[][] = COLUMNS.map(() => []);
    const rows = this.batch;
    for (let i = 0; i < rows.length; i += 8) for (let c = 0; c < 8; c++) columns[c].push(rows[i + c]);
    await postgresBulk(
      client,
      `INSERT INTO transactions (${COLUMNS.join(', ')})
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::bigint[])`,
      columns,
    );
  }
}
