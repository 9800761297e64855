import type Database from 'better-sqlite3';
import { CoalitionEvent, MemberEvent, PartnerEvent } from '@ledger/domain';
import { RecordedEvent } from '@ledger/event-store';
import type { ClientBase } from 'pg';

/** Every event the domain writes. */
export type LedgerEvent = MemberEvent | PartnerEvent | CoalitionEvent;
export type LedgerEventType = LedgerEvent['type'];
export type EventOf<T extends LedgerEventType> = Extract<LedgerEvent, { type: T }>;

/**
 * A recorded event as the domain event its type names. The projector decodes an event only
 * after matching its type against the read models' handled types, so the type is one of
 * them; the data is what the domain wrote for it (a changed shape gets a new type name).
 */
export function decodeLedgerEvent(event: RecordedEvent): LedgerEvent {
  return { type: event.type, data: event.data } as LedgerEvent;
}

/** A read-model table: its name, its key (the order a dump or a check walks it in) and its DDL. */
export interface ReadModelTable {
  readonly name: string;
  readonly key: string;
  /** SQLite CREATE TABLE IF NOT EXISTS statement. */
  readonly sqlite: string;
}

/**
 * One read model: the events it handles, its tables, and for each batch its staging (sums
 * folded in memory as events arrive) and its flush (the SQL that writes those sums), for each
 * kind of read store. The writer runs every read model's flush in the one transaction that
 * also moves the checkpoint.
 */
// `out`: a list of read models holds each as handling any event; the writer hands a batch only
// the events whose type it declares in `handles`.
export interface ReadModel<out T extends LedgerEventType = LedgerEventType> {
  readonly name: string;
  readonly handles: readonly T[];
  readonly tables: readonly ReadModelTable[];
  /** A batch written to this SQLite read store (statements prepared once). */
  sqlite(db: Database.Database): ReadModelBatch<T>;
  /** A batch written to a PostgreSQL read store, in bulk statements. */
  postgres(): PostgresReadModelBatch<T>;
  /** Staging alone, on a thread that hands its sums to the thread that writes them (see ReadModelFlushThread). */
  staging(): ReadModelStaging<T>;
}

/**
 * A batch's sums as they cross from the thread that staged them to the thread that writes
 * them: what the read model's staging holds (maps, arrays and plain objects), structured-cloned.
 * Opaque to everything but the read model that made them.
 */
export type StagedSums = unknown;

export interface ReadModelStaging<out T extends LedgerEventType = LedgerEventType> {
  /** Folds one event (in position order) into the batch's sums; writes nothing. */
  stage(event: EventOf<T>, position: number): void;
  /** Forgets the batch's sums (a failed batch). */
  discard(): void;
  /** Hands over the batch's sums and starts an empty batch. */
  take(): StagedSums;
}

/**
 * The staging of a read model whose batch is one list in event order (rows to insert, or
 * changes to apply): forgotten, handed over and taken back whole.
 */
export abstract class ListStaging<Item> {
  protected batch: Item[] = [];

  discard(): void {
    this.batch = [];
  }

  take(): StagedSums {
    const staged = this.batch;
    this.batch = [];
    return staged;
  }

  restore(sums: StagedSums): void {
    this.batch = sums as Item[];
  }
}

export interface ReadModelBatch<out T extends LedgerEventType = LedgerEventType> {
  /** Folds one event (in position order) into the batch's sums; writes nothing. */
  stage(event: EventOf<T>, position: number): void;
  /** Writes the batch's sums; called inside the batch's transaction. */
  flush(): void;
  /** Forgets the batch's sums (after a flush, or a failed batch). */
  discard(): void;
  /** Takes sums staged elsewhere (another thread's `take()`) as this batch's, to flush them. */
  restore(sums: StagedSums): void;
}

export interface PostgresReadModelBatch<out T extends LedgerEventType = LedgerEventType> {
  stage(event: EventOf<T>, position: number): void;
  /** Writes the batch's sums on `client`, inside the batch's transaction. */
  flush(client: ClientBase): Promise<void>;
  discard(): void;
}

/** Rows in one bulk statement: large enough that round trips do not count, small enough for one message. */
export const POSTGRES_ROWS_PER_STATEMENT = 20_000;

/**
 * Runs `sql` over `rows` in slices, each column passed as one array parameter (the SQL
 * reads them with unnest), and returns the rows the statements affected.
 */
export async function postgresBulk(client: ClientBase, sql: string, columns: unknown[][]): Promise<number> {
  const n = columns[0]?.length ?? 0;
  let affected = 0;
  for (let from = 0; from < n; from += POSTGRES_ROWS_PER_STATEMENT) {
    const to = Math.min(n, from + POSTGRES_ROWS_PER_STATEMENT);
    const result = await client.query(sql, from === 0 && to === n ? columns : columns.map((c) => c.slice(from, to)));
    affected += result.rowCount ?? 0;
  }
  return affected;
}
