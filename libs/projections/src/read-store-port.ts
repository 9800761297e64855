import { RecordedEvent } from '@ledger/event-store';
import type { Checkpoint } from './read-store';
import type { ProgramReport, ProgramWindow } from './program-report';
import type {
  DueLot,
  DueLotKey,
  DuePendingLot,
  FlagEntry,
  HoldEntry,
  LiabilityRow,
  MemberBalance,
  PartnerPosition,
  TransactionEntry,
} from './read-model-reader';

/** SQLite answers at once (better-sqlite3 is synchronous); PostgreSQL answers later. Callers await either. */
export type Awaitable<T> = T | Promise<T>;

/** Applies batches of events to a read store's read models and moves its checkpoint with them. */
export interface ProjectionWriter {
  /** Folds one event (in position order) into the pending batch, in memory. */
  stage(event: RecordedEvent): void;
  /**
   * Writes the staged batch and moves the checkpoint to its last event, in one transaction;
   * CheckpointMoved, having written nothing, if the checkpoint is not `expectedCheckpoint`.
   */
  commitStaged(expectedCheckpoint: number | undefined): Awaitable<void>;
  discardStaged(): void;
  /**
   * True when a commit no longer needs what was staged (it took the batch's sums with it), so
   * the next batch may be staged while it is written. Otherwise nothing is staged until it lands.
   */
  readonly stagesWhileCommitting?: boolean;
  /** Frees what the writer holds between runs (a thread); the next commit takes it again. */
  release?(): Promise<void>;
}

/** The queries the API answers from the read models. */
export interface ReadModelQueries {
  /** The position the read models reflect; undefined before the first event. */
  position(): Awaitable<number | undefined>;
  /** Holds past their expiry at `at` keep nothing (without `at`, every hold not ended by an event counts). */
  member(memberId: string, at?: Date): Awaitable<MemberBalance | undefined>;
  partnerPosition(partnerId: string, at?: Date): Awaitable<PartnerPosition | undefined>;
  partnerPositions(at?: Date): Awaitable<PartnerPosition[]>;
  hold(holdId: string): Awaitable<HoldEntry | undefined>;
  /** Open holds whose expiry is at or before `at`, oldest expiry first. */
  dueHolds(at: Date, limit: number): Awaitable<HoldEntry[]>;
  /**
   * Lots with points left whose expiry is at or before `until`, by (expiresAt, memberId, lotId),
   * from the due-lots index; `after` pages on from the last lot of the previous page.
   */
  dueLots(until: Date, limit: number, after?: DueLotKey): Awaitable<DueLot[]>;
  /** Pending lots whose window ended at or before `at` (a window reaching the expiry excepted: never released), soonest first. */
  duePendingLots(at: Date, limit: number): Awaitable<DuePendingLot[]>;
  transaction(txId: string): Awaitable<TransactionEntry | undefined>;
  liability(period?: string): Awaitable<LiabilityRow[]>;
  /** The programme KPIs of a window, from the program-kpis read model (one snapshot). */
  programReport(window: ProgramWindow): Awaitable<ProgramReport>;
  /** Accruals flagged by a velocity limit, in log order (one member's when `memberId` is given). */
  flags(memberId?: string): Awaitable<FlagEntry[]>;
  /** Members whose birth date's `MM-DD` is one of `keys`, by member id, from the birthdays index. */
  birthdays(keys: readonly string[]): Awaitable<string[]>;
}

/** A read store as the projector, a rebuild and the API see it, whatever holds it (SQLite, PostgreSQL). */
export interface ReadModelStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Where it is, for logs (a file, or a URL without its password). */
  readonly where: string;
  checkpoint(): Awaitable<Checkpoint>;
  /** Drops every read model and the checkpoint: the next run replays from position 0. */
  reset(): Awaitable<void>;
  /** Every row of every table in key order, to compare two stores. */
  dump(): Awaitable<Record<string, unknown[]>>;
  createWriter(): ProjectionWriter;
  createReader(): ReadModelQueries;
  close(): Awaitable<void>;
}
