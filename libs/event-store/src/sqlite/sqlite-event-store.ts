import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { liveFeedSubscription } from '../live-feed';
import { GroupCommitWriter, InlineWriter, WorkerWriter, WriterThreadGone } from './group-commit-writer';
import { AppendToWrite, EncodedEvent, WriteOutcome, sqliteWriterProgram } from './sqlite-batch-writer';
import { ReaderThreadGone, SqliteReadFailed, WorkerStreamReader } from './stream-reader';
import {
  AllSubscription,
  AppendOptions,
  AppendResult,
  assertValidStreamAppends,
  ConflictRetryPolicy,
  conflictRetryPolicy,
  IN_PROCESS_CONFLICT_RETRY,
  EventStore,
  EventToAppend,
  JsonObject,
  ReadAllOptions,
  AllFilter,
  ReadStreamOptions,
  RecordedEvent,
  assertValidScan,
  ScanAllOptions,
  StoreUnavailable,
  StreamAppend,
  SubscribeToAllOptions,
  WrongExpectedVersion,
} from '../port';

export const SQLITE_DEFAULT_PATH = './data/ledger.db';

/**
 * Group commits a worker writer may hold at once: the one it is writing and the next, which
 * it starts as soon as the first is committed. With one at a time, the writer thread waited
 * while the event loop answered the last group and decided the next, and the event loop
 * waited while the writer committed: under 64 concurrent accrual handlers the request
 * thread was idle 38% of the time and the writer 57%. The writer takes them strictly in
 * order, each in its own transaction with its own checks of expected revisions against what
 * is committed, so the second is checked as if it had been sent after the first was
 * answered. An inline writer commits synchronously, so it has one at a time whatever this
 * says.
 */
export const COMMITS_IN_FLIGHT_WORKER = 2;

export interface SqliteEventStoreOptions {
  /**
   * How long a subscription sleeps before re-reading when nothing in this process woke it.
   * Appends made by another process on the same file are only seen this way.
   */
  pollIntervalMs?: number;
  /** How long a flush waits for another connection's write lock before failing its appends. */
  busyTimeoutMs?: number;
  /** Upper bound on the events written by one flush; the rest wait for the next one. */
  flushEventsMax?: number;
  /** Store clock for `recordedAt`. */
  now?: () => Date;
  /** Told of every group commit that wrote events (one fsync each): for metrics, without a dependency on them. */
  onFlush?: (flush: FlushObserved) => void;
  /**
   * Where group commits run: 'inline' on the caller's thread (the default), or 'worker' in a
   * worker thread with its own connection, so the commit and its fsync do not stop the event
   * loop. 'worker' also reads streams (`readStream`) in a second thread. A ':memory:' store is
   * always inline.
   */
  writer?: 'inline' | 'worker';
  /** Overrides of the in-process conflict retry policy. */
  conflictRetry?: Partial<ConflictRetryPolicy>;
}

export interface FlushObserved {
  /** Appends acknowledged by this commit. */
  appends: number;
  /** Events written by this commit. */
  events: number;
  /** Time to write and commit the transaction. */
  durationMs: number;
}

export interface SqliteEventStoreStats {
  /** Committed write transactions: each is one fsync of the WAL. */
  flushes: number;
  /** Appends acknowledged (written). */
  appends: number;
  /** Events written. */
  events: number;
  /** Appends refused with WrongExpectedVersion. */
  rejected: number;
  /** Stream reads answered by the reader thread (writer: 'worker'); the others ran on the caller's thread. */
  streamReadsInThread: number;
  /** The most group commits that were with the writer at once (at most COMMITS_IN_FLIGHT_WORKER; 1 inline). */
  commitsInFlightPeak: number;
}

export interface SqlitePragmas {
  journalMode: string;
  synchronous: number;
  busyTimeoutMs: number;
}

const POLL_INTERVAL_MS_DEFAULT = 200;
const BUSY_TIMEOUT_MS_DEFAULT = 5_000;
const FLUSH_EVENTS_MAX_DEFAULT = 10_000;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (
    position    INTEGER PRIMARY KEY,
    stream_id   TEXT    NOT NULL,
    revision    INTEGER NOT NULL,
    event_id    TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    data        TEXT    NOT NULL,
    metadata    TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL,
    UNIQUE (stream_id, revision)
  )
`;
// UNIQUE (stream_id, revision) is also the index readStream and the revision check use.

/** A stream's category: its id up to and including the first dash (`partner-`), '' without one. */
const CATEGORY = `substr(stream_id, 1, instr(stream_id, '-'))`;
// Scans filtered by stream prefix read a category in position order from this index,
// instead of every row of the log.
const INDEXES = `CREATE INDEX IF NOT EXISTS events_by_category ON events (${CATEGORY}, position)`;

/** Events a scan reads per query. */
const SCAN_PAGE = 5_000;

const COLUMNS = 'position, stream_id, revision, event_id, type, data, metadata, recorded_at';
const STREAM_FORWARDS = `SELECT ${COLUMNS} FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision ASC LIMIT ?`;
const STREAM_BACKWARDS = `SELECT ${COLUMNS} FROM events WHERE stream_id = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`;
const COLUMNS_HASH_ONLY = "position, stream_id, revision, event_id, type, data, json_extract(metadata, '$.hash'), recorded_at";
const STREAM_FORWARDS_HASH = `SELECT ${COLUMNS_HASH_ONLY} FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision ASC LIMIT ?`;
const STREAM_BACKWARDS_HASH = `SELECT ${COLUMNS_HASH_ONLY} FROM events WHERE stream_id = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`;
/** A scan whose reader uses no metadata: not even json_extract runs (a quarter of a scan's SQLite time). */
const COLUMNS_NO_METADATA = 'position, stream_id, revision, event_id, type, data, NULL, recorded_at';

/**
 * A row as the statements return it: raw, an array in COLUMNS' order. Building a keyed object
 * per row before the event itself cost a quarter of a full scan (catch-up, verify, a close).
 */
type EventRow = [
  position: number,
  stream_id: string,
  revision: number,
  event_id: string,
  type: string,
  data: string,
  metadata: string,
  recorded_at: string,
];

/** An append waiting for its group commit; its events are already column values, so a flush cannot fail on one caller's input. */
interface PendingAppend extends AppendToWrite {
  /** One result per part. */
  resolve: (results: AppendResult[]) => void;
  reject: (error: unknown) => void;
}

/**
 * The default event store: one SQLite file in WAL mode with synchronous=FULL, so a commit
 * returns only once the WAL is on disk and an append is acknowledged only after that.
 *
 * Group commit: appends arriving while a flush is scheduled wait for it, and the flush
 * writes them all in one transaction (one fsync). Each append keeps its own expected
 * revision check, made inside the transaction against the file (so other processes'
 * writes count) and against earlier appends of the same batch; a refused append rejects
 * alone and the others still commit.
 */
export class SqliteEventStore implements EventStore {
  static open(file: string = SQLITE_DEFAULT_PATH, options: SqliteEventStoreOptions = {}): SqliteEventStore {
    return new SqliteEventStore(file, options);
  }

  readonly conflictRetry: ConflictRetryPolicy;
  /** Group commits write appends in call order, and `expectedLastEventId` is checked in the transaction. */
  readonly pipelinedAppends = true;
  /** The file this store reads and writes (':memory:' for an in-memory one), for readers on other threads. */
  readonly file: string;
  /**
   * Whether long work on this store runs in worker threads, to keep the event loop free: its
   * group commits and stream reads (writer: 'worker'), and readers that follow this choice (a
   * period close's scan).
   */
  readonly workerThreads: boolean;
  private readonly db: Database.Database;
  private readonly pollIntervalMs: number;
  private readonly flushEventsMax: number;
  private readonly now: () => Date;
  private readonly onFlush: ((flush: FlushObserved) => void) | undefined;
  private readonly appended = new EventEmitter().setMaxListeners(0);
  private readonly subscriptions = new Set<AllSubscription>();
  private queue: PendingAppend[] = [];
  private flushScheduled: NodeJS.Immediate | undefined;
  private closed = false;
  private readonly counters: SqliteEventStoreStats = {
    flushes: 0,
    appends: 0,
    events: 0,
    rejected: 0,
    streamReadsInThread: 0,
    commitsInFlightPeak: 0,
  };

  private readonly streamForwardsStmt: Database.Statement<[string, number, number], EventRow>;
  private readonly streamBackwardsStmt: Database.Statement<[string, number, number], EventRow>;
  private readonly streamForwardsHashStmt: Database.Statement<[string, number, number], EventRow>;
  private readonly streamBackwardsHashStmt: Database.Statement<[string, number, number], EventRow>;
  private readonly allForwardsStmt: Database.Statement<[number, number], EventRow>;
  private readonly allBackwardsStmt: Database.Statement<[number, number], EventRow>;
  private readonly allForwardsNoMetadataStmt: Database.Statement<[number, number], EventRow>;
  private readonly scanStatements = new Map<string, Database.Statement<unknown[], EventRow>>();
  private readonly writer: GroupCommitWriter;
  /** With worker threads: stream reads (member loads) off the caller's thread. */
  private readonly streamReader: WorkerStreamReader | undefined;
  /** Group commits handed to the writer and not yet answered. */
  private readonly flushing = new Set<Promise<void>>();
  /** How many group commits may be with the writer at once (see COMMITS_IN_FLIGHT_WORKER). */
  private readonly commitsInFlightMax: number;

  constructor(file: string = SQLITE_DEFAULT_PATH, options: SqliteEventStoreOptions = {}) {
    const busyTimeoutMs = options.busyTimeoutMs ?? BUSY_TIMEOUT_MS_DEFAULT;
    this.file = file;
    this.pollIntervalMs = options.pollIntervalMs ?? POLL_INTERVAL_MS_DEFAULT;
    this.flushEventsMax = options.flushEventsMax ?? FLUSH_EVENTS_MAX_DEFAULT;
    this.now = options.now ?? (() => new Date());
    this.onFlush = options.onFlush;
    this.conflictRetry = conflictRetryPolicy(IN_PROCESS_CONFLICT_RETRY, options.conflictRetry);
    assert(Number.isSafeInteger(busyTimeoutMs) && busyTimeoutMs >= 0, 'busyTimeoutMs is a whole number');
    assert(Number.isSafeInteger(this.pollIntervalMs) && this.pollIntervalMs > 0, 'pollIntervalMs is positive');
    assert(Number.isSafeInteger(this.flushEventsMax) && this.flushEventsMax > 0, 'flushEventsMax is positive');

    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file, { timeout: busyTimeoutMs });
    try {
      this.db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      const journalMode = this.db.pragma('journal_mode = WAL', { simple: true });
      // A file opened read-only or in memory cannot switch; durability would be silently lost.
      if (file !== ':memory:' && journalMode !== 'wal') {
        throw new Error(`${file}: could not switch to WAL (journal_mode is ${String(journalMode)})`);
      }
      this.db.pragma('synchronous = FULL');
      this.db.exec(SCHEMA);
      this.db.exec(INDEXES);
    } catch (error) {
      this.db.close();
      throw error;
    }

    this.streamForwardsStmt = this.eventRows(STREAM_FORWARDS);
    this.streamBackwardsStmt = this.eventRows(STREAM_BACKWARDS);
    this.streamForwardsHashStmt = this.eventRows(STREAM_FORWARDS_HASH);
    this.streamBackwardsHashStmt = this.eventRows(STREAM_BACKWARDS_HASH);
    this.allForwardsStmt = this.eventRows(`SELECT ${COLUMNS} FROM events WHERE position >= ? ORDER BY position ASC LIMIT ?`);
    this.allBackwardsStmt = this.eventRows(`SELECT ${COLUMNS} FROM events WHERE position <= ? ORDER BY position DESC LIMIT ?`);
    this.allForwardsNoMetadataStmt = this.eventRows(
      `SELECT ${COLUMNS_NO_METADATA} FROM events WHERE position >= ? ORDER BY position ASC LIMIT ?`,
    );
    this.workerThreads = options.writer === 'worker' && file !== ':memory:';
    this.writer = this.workerThreads
      ? new WorkerWriter(file, busyTimeoutMs)
      : new InlineWriter(sqliteWriterProgram().createBatchWriter(this.db));
    this.commitsInFlightMax = this.workerThreads ? COMMITS_IN_FLIGHT_WORKER : 1;
    this.streamReader = this.workerThreads
      ? new WorkerStreamReader(file, busyTimeoutMs, {
          forwards: STREAM_FORWARDS,
          backwards: STREAM_BACKWARDS,
          forwardsHash: STREAM_FORWARDS_HASH,
          backwardsHash: STREAM_BACKWARDS_HASH,
        })
      : undefined;
  }

  appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    { expectedRevision, expectedLastEventId }: AppendOptions,
  ): Promise<AppendResult> {
    return this.appendToStreams([{ streamId, events, expectedRevision, expectedLastEventId }]).then(([result]) => result);
  }

  /** All or nothing, in one group commit's transaction with the other appends of its batch. */
  appendToStreams(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    try {
      if (this.closed) throw new Error('SqliteEventStore is closed');
      assertValidStreamAppends(appends);
      // Encoded now: later changes by the caller do not leak in, and bad input fails
      // this call alone rather than the whole batch.
      const parts = appends.map(({ streamId, events, expectedRevision, expectedLastEventId }) => ({
        streamId,
        expectedRevision,
        ...(expectedLastEventId === undefined ? {} : { expectedLastEventId }),
        events: events.map(encodeEvent),
      }));
      return new Promise<AppendResult[]>((resolve, reject) => {
        this.queue.push({ parts, resolve, reject });
        this.scheduleFlush();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    assertCount('fromRevision', options.fromRevision);
    assertCount('maxCount', options.maxCount);
    const limit = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    const backwards = options.direction === 'backwards';
    const from = options.fromRevision ?? (backwards ? Number.MAX_SAFE_INTEGER : 0);
    // Only the hash: SQLite extracts it, and no metadata JSON is decoded here.
    const hashOnly = options.metadata === 'hash';
    const decode = hashOnly ? decodeRowWithHashOnly : decodeRow;
    if (this.streamReader?.available && !this.closed) {
      try {
        const rows = (await this.streamReader.read(streamId, from, limit, backwards, hashOnly)) as EventRow[];
        this.counters.streamReadsInThread += 1;
        return rows.map(decode);
      } catch (error) {
        if (error instanceof SqliteReadFailed) throw new StoreUnavailable('read', `${error.code}: ${error.message}`, { cause: error });
        // A reader thread that is gone leaves the reads to this connection, as without one.
        if (!(error instanceof ReaderThreadGone)) throw error;
      }
    }
    const statement = hashOnly
      ? backwards
        ? this.streamBackwardsHashStmt
        : this.streamForwardsHashStmt
      : backwards
        ? this.streamBackwardsStmt
        : this.streamForwardsStmt;
    const rows = readOrUnavailable(() => statement.all(streamId, from, limit));
    return rows.map(decode);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    assertCount('fromPosition', options.fromPosition);
    assertCount('maxCount', options.maxCount);
    const limit = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    const rows = readOrUnavailable(() =>
      options.direction === 'backwards'
        ? this.allBackwardsStmt.all(options.fromPosition ?? Number.MAX_SAFE_INTEGER, limit)
        : this.allForwardsStmt.all(options.fromPosition ?? 0, limit),
    );
    return rows.map(decodeRow);
  }

  /**
   * The port's scan; here also from a lower bound: `after` (exclusive), so that two threads
   * can each read one part of the log (a period close's statement, libs/settlement).
   */
  async scanAll(options: ScanAllOptions & { after?: number }, onEvent: (e: RecordedEvent) => void): Promise<void> {
    assertValidScan(options);
    const { upTo, onProgress } = options;
    if (options.after !== undefined && !Number.isSafeInteger(options.after))
      throw new RangeError(`after must be a safe integer, got ${options.after}`);
    const metadata = options.metadata ?? 'all';
    const query = this.scanQuery(options.filter, metadata);
    const decode = metadata === 'all' ? decodeRow : decodeRowWithHashOnly;
    let after = Math.max(-1, options.after ?? -1);
    for (;;) {
      if (this.closed) throw new Error('SqliteEventStore is closed');
      const rows = readOrUnavailable(() => query.statement.all(...query.params(after, upTo, SCAN_PAGE)));
      for (const row of rows) onEvent(decode(row));
      if (rows.length < SCAN_PAGE) return;
      after = rows[rows.length - 1][0];
      onProgress?.(after);
      // Let appends and requests through between pages.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Calls `listener` after each group commit of this connection that wrote events, once the
   * appends are acknowledged; returns the unregister function. The API tells its projector
   * thread this way, instead of that thread polling the file.
   */
  onAppended(listener: () => void): () => void {
    this.appended.on('append', listener);
    return () => void this.appended.off('append', listener);
  }

  /**
   * Wakes this connection's subscriptions as if it had appended: another connection to the
   * same file (the API's, seen from the projector thread) says it wrote, so they re-read now
   * rather than at their next poll.
   */
  wakeSubscriptions(): void {
    if (!this.closed) this.appended.emit('append');
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): AllSubscription {
    if (this.closed) throw new Error('SqliteEventStore is closed');
    const subscription = liveFeedSubscription(
      {
        readPage:
          options.metadata === 'none'
            ? // No metadata column read and none decoded: a projector uses none of it.
              async (fromPosition, maxCount) =>
                readOrUnavailable(() => this.allForwardsNoMetadataStmt.all(fromPosition ?? 0, maxCount)).map(decodeRowWithHashOnly)
            : (fromPosition, maxCount) => this.readAll({ fromPosition, maxCount }),
        onAppend: (listener) => {
          this.appended.on('append', listener);
          return () => {
            this.appended.off('append', listener);
            this.subscriptions.delete(subscription);
          };
        },
        pollIntervalMs: this.pollIntervalMs,
      },
      options.fromPosition,
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** Writes what was already accepted, ends subscriptions, then lets go of the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushScheduled !== undefined) clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
    await Promise.all(this.flushing);
    // Bounded: every flush takes at least one append and nothing can join the queue now.
    while (this.queue.length > 0) await this.flush();
    await this.writer.close();
    await this.streamReader?.close();
    await Promise.all([...this.subscriptions].map((s) => s.unsubscribe()));
    this.appended.removeAllListeners();
    this.db.close();
  }

  stats(): SqliteEventStoreStats {
    return { ...this.counters };
  }

  pragmas(): SqlitePragmas {
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.db.pragma('synchronous', { simple: true })),
      busyTimeoutMs: Number(this.db.pragma('busy_timeout', { simple: true })),
    };
  }

  private scheduleFlush(): void {
    // setImmediate runs after the promise jobs of this turn, so every append issued
    // together (Promise.all, concurrent requests) joins the same flush. What arrives while
    // the writer is busy forms the next group.
    if (this.flushScheduled === undefined && this.flushing.size < this.commitsInFlightMax) {
      this.flushScheduled = setImmediate(() => {
        this.flushScheduled = undefined;
        const flushing: Promise<void> = this.flush().finally(() => {
          this.flushing.delete(flushing);
          if (this.queue.length > 0 && !this.closed) this.scheduleFlush();
        });
        this.flushing.add(flushing);
        this.counters.commitsInFlightPeak = Math.max(this.counters.commitsInFlightPeak, this.flushing.size);
        // A group larger than one flush takes: the rest may go to the writer at once too.
        if (this.queue.length > 0) this.scheduleFlush();
      });
    }
  }

  private async flush(): Promise<void> {
    const batch = this.takeBatch();
    assert(batch.length > 0, 'a flush is only scheduled for queued appends');
    let committed: { outcomes: WriteOutcome[]; durationMs: number };
    try {
      committed = await this.writer.write(batch, this.now().toISOString());
    } catch (error) {
      // The transaction rolled back (lock timeout, disk full, I/O error): nothing of this
      // batch is on disk, so none of it may be acknowledged.
      const failure = isSqliteError(error)
        ? new StoreUnavailable('append', `${error.code}: ${error.message}`, { cause: error })
        : error instanceof WriterThreadGone
          ? new StoreUnavailable('append', error.message, { cause: error })
          : error;
      for (const append of batch) append.reject(failure);
      return;
    }
    const { outcomes } = committed;
    assert(outcomes.length === batch.length, 'one outcome per append');

    let eventsWritten = 0;
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome.ok) {
        this.counters.appends += 1;
        eventsWritten += eventsOf(batch[i]);
        batch[i].resolve(outcome.results);
      } else {
        this.counters.rejected += 1;
        batch[i].reject(new WrongExpectedVersion(outcome.streamId, outcome.expected, outcome.actual));
      }
    }
    this.counters.events += eventsWritten;
    // A transaction that wrote nothing commits without touching the WAL, so no fsync.
    if (eventsWritten > 0) {
      this.counters.flushes += 1;
      this.appended.emit('append');
    }
    // Last, so an observer cannot hold up or break the acknowledgements above.
    if (eventsWritten > 0 && this.onFlush) {
      const appends = outcomes.filter((o) => o.ok).length;
      this.onFlush({ appends, events: eventsWritten, durationMs: committed.durationMs });
    }
  }

  /** Takes appends in arrival order up to the event bound, but always at least one. */
  private takeBatch(): PendingAppend[] {
    let count = 0;
    let events = 0;
    while (count < this.queue.length) {
      const size = eventsOf(this.queue[count]);
      if (count > 0 && events + size > this.flushEventsMax) break;
      events += size;
      count += 1;
    }
    return this.queue.splice(0, count);
  }

  /** A statement over COLUMNS that returns raw rows (EventRow). */
  private eventRows<P extends unknown[]>(sql: string): Database.Statement<P, EventRow> {
    return (this.db.prepare(sql) as Database.Statement<P, unknown>).raw(true) as unknown as Database.Statement<P, EventRow>;
  }

  /**
   * One page of a scan: events after a position, up to `upTo`, at most a page of them.
   * Event types: a WHERE clause on the rowid range. Stream prefixes: one arm per prefix,
   * through the category index when the prefix names a category, merged in position order.
   */
  private scanQuery(
    filter: AllFilter | undefined,
    metadata: 'all' | 'hash' | 'none',
  ): {
    statement: Database.Statement<unknown[], EventRow>;
    params: (after: number, upTo: number, limit: number) => unknown[];
  } {
    const range = 'position > ? AND position <= ?';
    // The metadata column: whole, SQLite's own extraction of the hash (no JSON decoded here), or nothing.
    const columns = metadata === 'all' ? COLUMNS : metadata === 'hash' ? COLUMNS_HASH_ONLY : COLUMNS_NO_METADATA;
    let sql: string;
    let params: (after: number, upTo: number, limit: number) => unknown[];
    if (filter === undefined) {
      sql = `SELECT ${columns} FROM events WHERE ${range} ORDER BY position LIMIT ?`;
      params = (after, upTo, limit) => [after, upTo, limit];
    } else if ('eventTypes' in filter) {
      const types = [...new Set(filter.eventTypes)];
      sql = `SELECT ${columns} FROM events WHERE ${range} AND type IN (${types.map(() => '?').join(', ')}) ORDER BY position LIMIT ?`;
      params = (after, upTo, limit) => [after, upTo, ...types, limit];
    } else {
      // A prefix that extends another adds nothing, and would deliver its events twice.
      const prefixes = [...new Set(filter.streamPrefixes)].filter((p, _, all) => !all.some((q) => q !== p && p.startsWith(q)));
      const arms = prefixes.map((prefix) =>
        prefix.includes('-')
          ? `SELECT ${columns} FROM events WHERE ${CATEGORY} = ? AND substr(stream_id, 1, length(?)) = ? AND ${range}`
          : `SELECT ${columns} FROM events WHERE substr(stream_id, 1, length(?)) = ? AND ${range}`,
      );
      sql = `${arms.join(' UNION ALL ')} ORDER BY position LIMIT ?`;
      params = (after, upTo, limit) => [
        ...prefixes.flatMap((prefix) =>
          prefix.includes('-') ? [prefix.slice(0, prefix.indexOf('-') + 1), prefix, prefix, after, upTo] : [prefix, prefix, after, upTo],
        ),
        limit,
      ];
    }
    let statement = this.scanStatements.get(sql);
    if (statement === undefined) {
      statement = this.eventRows<unknown[]>(sql);
      this.scanStatements.set(sql, statement);
    }
    return { statement, params };
  }
}

/**
 * By its code, not its class: the native addon is loaded once per process and keeps the
 * error class of whoever loaded it first, so in a host with several module realms (jest)
 * `instanceof SqliteError` can be false for a real one.
 */
function isSqliteError(error: unknown): error is { code: string; message: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_');
}

/** A read the file could not serve (busy past the timeout, I/O error) is the store's fault, not the caller's. */
function readOrUnavailable<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (isSqliteError(error)) throw new StoreUnavailable('read', `${error.code}: ${error.message}`, { cause: error });
    throw error;
  }
}

const eventsOf = (append: AppendToWrite): number => append.parts.reduce((n, p) => n + p.events.length, 0);

function encodeEvent(e: EventToAppend): EncodedEvent {
  if (typeof e.eventId !== 'string' || e.eventId.length === 0) {
    throw new TypeError('eventId must be a non-empty string');
  }
  if (typeof e.type !== 'string' || e.type.length === 0) {
    throw new TypeError(`event ${e.eventId}: type must be a non-empty string`);
  }
  return { eventId: e.eventId, type: e.type, data: encodeJson(e.data, 'data'), metadata: encodeJson(e.metadata, 'metadata') };
}

function encodeJson(value: JsonObject, field: string): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`event ${field} must be a JSON object`);
  }
  // JSON.stringify throws on bigint and cycles, which is what we want here.
  return JSON.stringify(value);
}

function decodeRow(row: EventRow): RecordedEvent {
  return eventOf(row, JSON.parse(row[6]) as JsonObject);
}

/** A row read with `metadata: 'hash'` or `'none'`: its metadata column holds the hash alone, or null. */
function decodeRowWithHashOnly(row: EventRow): RecordedEvent {
  const hash = row[6] as string | null;
  return eventOf(row, hash === null ? {} : { hash });
}

function eventOf(row: EventRow, metadata: JsonObject): RecordedEvent {
  const [position, streamId, revision, eventId, type, data, , recordedAt] = row;
  assert(Number.isSafeInteger(position), 'stored positions are safe integers');
  assert(Number.isSafeInteger(revision), 'stored revisions are safe integers');
  return { streamId, revision, position, eventId, type, data: JSON.parse(data) as JsonObject, metadata, recordedAt };
}

function assertCount(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
}
