import type Database from 'better-sqlite3';
import { AssertionFailed } from '@ledger/domain';
import type { ClientBase } from 'pg';
import { EventOf, ListStaging, PostgresReadModelBatch, ReadModel, ReadModelBatch } from './read-model';

const HANDLES = ['CoalitionConfigured', 'PointValueChanged', 'ExpiryPolicyChanged'] as const;
type Handled = (typeof HANDLES)[number];

/** The coalition's settings (currency, point value, expiry): one row, read by the partner positions' liability. */
export const coalitionReadModel: ReadModel<Handled> = {
  name: 'coalition',
  handles: HANDLES,
  tables: [
    {
      name: 'coalition',
      key: 'id',
      sqlite: `CREATE TABLE IF NOT EXISTS coalition (
        id                INTEGER PRIMARY KEY CHECK (id = 0),
        currency          TEXT    NOT NULL,
        point_value_minor INTEGER NOT NULL,
        expiry_months     INTEGER NOT NULL
      )`,
    },
  ],
  sqlite: (db) => new CoalitionSqlite(db),
  postgres: () => new CoalitionPostgres(),
  staging: () => new CoalitionStaging(),
};

/** The batch is the settings changes, in event order (rare: a handful per history). */
class CoalitionStaging extends ListStaging<EventOf<Handled>> {
  stage(event: EventOf<Handled>): void {
    this.batch.push(event);
  }
}

class CoalitionSqlite extends CoalitionStaging implements ReadModelBatch<Handled> {
  private readonly configure: Database.Statement<[string, number, number]>;
  private readonly changePointValue: Database.Statement<[number]>;
  private readonly changeExpiry: Database.Statement<[number]>;

  constructor(db: Database.Database) {
    super();
    this.configure = db.prepare('INSERT OR REPLACE INTO coalition (id, currency, point_value_minor, expiry_months) VALUES (0, ?, ?, ?)');
    this.changePointValue = db.prepare('UPDATE coalition SET point_value_minor = ? WHERE id = 0');
    this.changeExpiry = db.prepare('UPDATE coalition SET expiry_months = ? WHERE id = 0');
  }

  flush(): void {
    for (const e of this.batch) {
      switch (e.type) {
        case 'CoalitionConfigured':
          this.configure.run(e.data.currency, e.data.pointValueMinor, e.data.expiryMonths);
          break;
        case 'PointValueChanged':
          this.changePointValue.run(e.data.pointValueMinor);
          break;
        case 'ExpiryPolicyChanged':
          this.changeExpiry.run(e.data.expiryMonths);
          break;
        default: {
          const unknown: never = e;
          throw new AssertionFailed(`coalition read model: unhandled ${JSON.stringify(unknown)}`);
        }
      }
    }
  }
}

class CoalitionPostgres extends CoalitionStaging implements PostgresReadModelBatch<Handled> {
  async flush(client: ClientBase): Promise<void> {
    for (const e of this.batch) {
      switch (e.type) {
        case 'CoalitionConfigured':
          await client.query(
            `INSERT INTO coalition (id, currency, point_value_minor, expiry_months) VALUES (0, $1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET currency = excluded.currency, point_value_minor = excluded.point_value_minor,
               expiry_months = excluded.expiry_months`,
            [e.data.currency, e.data.pointValueMinor, e.data.expiryMonths],
          );
          break;
        case 'PointValueChanged':
          await client.query('UPDATE coalition SET point_value_minor = $1 WHERE id = 0', [e.data.pointValueMinor]);
          break;
        case 'ExpiryPolicyChanged':
          await client.query('UPDATE coalition SET expiry_months = $1 WHERE id = 0', [e.data.expiryMonths]);
          break;
        default: {
          const unknown: never = e;
          throw new AssertionFailed(`coalition read model: unhandled ${JSON.stringify(unknown)}`);
        }
      }
    }
  }
}
