import type Database from 'better-sqlite3';
import { AssertionFailed, LotSlice, assert } from '@ledger/domain';
import type { ClientBase } from 'pg';
import { EventOf, postgresBulk, PostgresReadModelBatch, ReadModel, ReadModelBatch, StagedSums } from './read-model';

const HANDLES = ['PointsRedeemed', 'RedemptionReversed'] as const;
type Handled = (typeof HANDLES)[number];

/** Points of each issuer redeemed at each redeemer per UTC calendar month, and their value. */
export const liabilityReadModel: ReadModel<Handled> = {
  name: 'liability rows',
  handles: HANDLES,
  tables: [
    {
      name: 'liability',
      key: 'period, issuer_partner_id, redeemer_partner_id',
      sqlite: `CREATE TABLE IF NOT EXISTS liability (
        period              TEXT    NOT NULL,
        issuer_partner_id   TEXT    NOT NULL,
        redeemer_partner_id TEXT    NOT NULL,
        points              INTEGER NOT NULL,
        amount_minor        INTEGER NOT NULL,
        PRIMARY KEY (period, issuer_partner_id, redeemer_partner_id)
      ) WITHOUT ROWID`,
    },
  ],
  sqlite: (db) => new LiabilitySqlite(db),
  postgres: () => new LiabilityPostgres(),
  staging: () => new LiabilityStaging(),
};

interface LiabilityDelta {
  period: string;
  issuer: string;
  redeemer: string;
  points: number;
  amountMinor: number;
}

class LiabilityStaging {
  /** By period, issuer and redeemer. */
  protected cells = new Map<string, LiabilityDelta>();

  stage(event: EventOf<Handled>): void {
    switch (event.type) {
      case 'PointsRedeemed': {
        const d = event.data;
        return this.slices(d.partnerId, d.slices, d.pointValueMinor, d.occurredAt, 1);
      }
      // A cancelled redemption lowers the cells in the period of its own business date, as
      // settlement counts it.
      case 'RedemptionReversed': {
        const d = event.data;
        return this.slices(d.partnerId, d.slices, d.pointValueMinor, d.occurredAt, -1);
      }
      default: {
        const unknown: never = event;
        throw new AssertionFailed(`liability read model: unhandled ${JSON.stringify(unknown)}`);
      }
    }
  }

  discard(): void {
    this.cells.clear();
  }

  /** The batch's sums, handed to the thread that writes them; the staging starts an empty batch. */
  take() {
    const staged = {
      cells: this.cells,
    };
    this.cells = new Map();
    return staged;
  }

  restore(sums: StagedSums): void {
    const staged = sums as ReturnType<LiabilityStaging['take']>;
    this.cells = staged.cells;
  }

  private slices(redeemerId: string, slices: readonly LotSlice[], pointValueMinor: number, occurredAt: string, sign: 1 | -1): void {
    const period = periodOfIso(occurredAt);
    for (const s of slices) {
      const key = `${period}\u0000${s.issuerPartnerId}\u0000${redeemerId}`;
      let cell = this.cells.get(key);
      if (cell === undefined) {
        cell = { period, issuer: s.issuerPartnerId, redeemer: redeemerId, points: 0, amountMinor: 0 };
        this.cells.set(key, cell);
      }
      cell.points += sign * s.points;
      cell.amountMinor += sign * s.points * pointValueMinor;
    }
  }
}

// Qualified by the table name, which both SQLite and PostgreSQL accept (PostgreSQL requires it).
const ADD_TO_CELL = `ON CONFLICT (period, issuer_partner_id, redeemer_partner_id) DO UPDATE SET
  points = liability.points + excluded.points, amount_minor = liability.amount_minor + excluded.amount_minor`;

class LiabilitySqlite extends LiabilityStaging implements ReadModelBatch<Handled> {
  private readonly addToLiability: Database.Statement<[string, string, string, number, number]>;

  constructor(db: Database.Database) {
    super();
    this.addToLiability = db.prepare(
      `INSERT INTO liability (period, issuer_partner_id, redeemer_partner_id, points, amount_minor) VALUES (?, ?, ?, ?, ?) ${ADD_TO_CELL}`,
    );
  }

  flush(): void {
    for (const cell of this.cells.values()) {
      assert(Number.isSafeInteger(cell.amountMinor), 'liability amounts stay safe integers');
      this.addToLiability.run(cell.period, cell.issuer, cell.redeemer, cell.points, cell.amountMinor);
    }
  }
}

class LiabilityPostgres extends LiabilityStaging implements PostgresReadModelBatch<Handled> {
  async flush(client: ClientBase): Promise<void> {
    const columns: (string | number)[][] = [[], [], [], [], []];
    for (const cell of this.cells.values()) {
      assert(Number.isSafeInteger(cell.amountMinor), 'liability amounts stay safe integers');
      columns[0].push(cell.period);
      columns[1].push(cell.issuer);
      columns[2].push(cell.redeemer);
      columns[3].push(cell.points);
      columns[4].push(cell.amountMinor);
    }
    await postgresBulk(
      client,
      `INSERT INTO liability (period, issuer_partner_id, redeemer_partner_id, points, amount_minor)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) ${ADD_TO_CELL}`,
      columns,
    );
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
