import type Database from 'better-sqlite3';
import { CoalitionEvent, MemberEvent, PartnerEvent } from '@ledger/domain';
import { RecordedEvent } from '@ledger/event-store';

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
 * folded in memory as events arrive) and its flush (the SQL that writes those sums). The
 * writer runs every read model's flush in the one transaction that also moves the checkpoint.
 */
// `out`: a list of read models holds each as handling any event; the writer hands a batch only
// the events whose type it declares in `handles`.
export interface ReadModel<out T extends LedgerEventType = LedgerEventType> {
  readonly name: string;
  readonly handles: readonly T[];
  readonly tables: readonly ReadModelTable[];
  /** A staging area for batches written to this SQLite read store (statements prepared once). */
  sqlite(db: Database.Database): ReadModelBatch<T>;
}

export interface ReadModelBatch<out T extends LedgerEventType = LedgerEventType> {
  /** Folds one event (in position order) into the batch's sums; writes nothing. */
  stage(event: EventOf<T>, position: number): void;
  /** Writes the batch's sums; called inside the batch's transaction. */
  flush(): void;
  /** Forgets the batch's sums (after a flush, or a failed batch). */
  discard(): void;
}
