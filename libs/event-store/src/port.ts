/**
 * The event store port. Every adapter (memory, sqlite, esdb) implements it and passes
 * the one contract suite in ./contract. Semantics follow EventStoreDB's where it has them.
 *
 * - Revisions are per stream and start at 0.
 * - Positions are one global order across all streams: strictly increasing, not
 *   necessarily consecutive (EventStoreDB uses log commit positions). Never compute
 *   `position + 1`; use the positions the store hands back.
 * - All numbers are safe integers; an adapter whose backend uses bigint converts and
 *   fails loudly beyond Number.MAX_SAFE_INTEGER.
 */
export const EVENT_STORE = Symbol('EVENT_STORE');

export type JsonObject = { [key: string]: unknown };

/** EventStoreDB's meaning: an exact revision, or one of three conditions. */
export type ExpectedRevision = number | 'no_stream' | 'stream_exists' | 'any';

export interface EventToAppend {
  /** uuid; chosen by the writer so that a retry is recognisable. */
  eventId: string;
  type: string;
  data: JsonObject;
  metadata: JsonObject;
}

export interface RecordedEvent {
  streamId: string;
  revision: number;
  position: number;
  eventId: string;
  type: string;
  data: JsonObject;
  metadata: JsonObject;
  /** Store time, ISO 8601 UTC with milliseconds. */
  recordedAt: string;
}

export interface AppendOptions {
  expectedRevision: ExpectedRevision;
  /**
   * Only on stores with `pipelinedAppends`, with a numeric expectedRevision: the id the
   * stream's event at that revision must have. An append chained onto events not yet
   * acknowledged names the last of them, so it is refused if they were not written, whatever
   * revision the stream reached meanwhile.
   */
  expectedLastEventId?: string;
}

/** One stream's part of an atomic multi-stream append (`EventStore.appendToStreams`). */
export interface StreamAppend {
  streamId: string;
  events: readonly EventToAppend[];
  expectedRevision: ExpectedRevision;
  /** As in AppendOptions. */
  expectedLastEventId?: string;
}

export interface AppendResult {
  /** Revision of the last event now in the stream (the next append's expected revision). */
  nextExpectedRevision: number;
  /** Global position of the last event appended by this call. */
  position: number;
}

export interface ReadStreamOptions {
  /** First revision to read (inclusive). Default: 0 forwards, the last event backwards. */
  fromRevision?: number;
  direction?: 'forwards' | 'backwards';
  maxCount?: number;
  /**
   * `hash`: the reader uses no metadata but `metadata.hash` (a fold that chains its next append
   * onto the last event), and an adapter may leave the rest out rather than decode it (SQLite
   * does; the others give it whole). Default `all`.
   */
  metadata?: 'all' | 'hash';
}

export interface ReadAllOptions {
  /**
   * Forwards: the first event read has position >= fromPosition (default: the start).
   * Backwards: the first event read has position <= fromPosition (default: the end).
   */
  fromPosition?: number;
  direction?: 'forwards' | 'backwards';
  maxCount?: number;
}

export interface SubscribeToAllOptions {
  /**
   * A checkpoint: delivery starts with the first event whose position is strictly
   * greater than this. Omitted: from the very first event.
   */
  fromPosition?: number;
  /**
   * `none`: the subscriber uses no metadata (the read models), and an adapter may give `{}`
   * rather than decode it (SQLite does; the others give it whole). Default `all`.
   */
  metadata?: 'all' | 'none';
}

/**
 * Which events a scan delivers: those of streams whose id starts with one of the prefixes
 * (e.g. `partner-`), or those of one of the event types (exact names). Adapters apply it
 * where the data is (an index, a WHERE clause, EventStoreDB's server-side filter), so the
 * events left out are neither sent nor decoded.
 */
export type AllFilter = { streamPrefixes: readonly string[] } | { eventTypes: readonly string[] };

export interface ScanAllOptions {
  /** The last position to read, inclusive: a head read beforehand, or a period's cut-off. */
  upTo: number;
  /** Only the events that pass it; omitted: every user event. */
  filter?: AllFilter;
  /**
   * Called now and then, in increasing order, with a position the scan has read up to (for
   * a progress bar); with a filter it may lag behind the events left out.
   */
  onProgress?: (position: number) => void;
  /**
   * `hash`: the reader uses no metadata but `metadata.hash`, and an adapter may leave the
   * rest of the metadata out rather than decode it (SQLite does; the others give it whole).
   * `none`: the reader uses no metadata at all, and an adapter may give `{}`.
   * Default `all`.
   */
  metadata?: 'all' | 'hash' | 'none';
}

/**
 * Catch-up, then live, in position order, each event once. Iterate with `for await`;
 * `unsubscribe` ends the iteration.
 */
export interface AllSubscription extends AsyncIterable<RecordedEvent> {
  unsubscribe(): Promise<void>;
}

/**
 * How a writer that lost the race for a stream's next revision tries again: at most
 * `attemptsMax` attempts in all, and before attempt n + 1 a pause drawn uniformly from
 * [0, min(capDelayMs, baseDelayMs × 2^(n-1))) ms: exponential backoff with full jitter,
 * so contenders spread out instead of colliding again in step.
 */
export interface ConflictRetryPolicy {
  attemptsMax: number;
  baseDelayMs: number;
  capDelayMs: number;
}

/** In-process stores (memory, SQLite): a lost race costs microseconds, so retry soon. */
export const IN_PROCESS_CONFLICT_RETRY: ConflictRetryPolicy = { attemptsMax: 40, baseDelayMs: 1, capDelayMs: 200 };

/** A store across the network (EventStoreDB): each attempt is round trips, so back off further. */
export const NETWORK_CONFLICT_RETRY: ConflictRetryPolicy = { attemptsMax: 10, baseDelayMs: 10, capDelayMs: 1_000 };

/** `defaults` with the fields `overrides` sets (configuration, environment), checked. */
export function conflictRetryPolicy(defaults: ConflictRetryPolicy, overrides: Partial<ConflictRetryPolicy> = {}): ConflictRetryPolicy {
  const policy = {
    attemptsMax: overrides.attemptsMax ?? defaults.attemptsMax,
    baseDelayMs: overrides.baseDelayMs ?? defaults.baseDelayMs,
    capDelayMs: overrides.capDelayMs ?? defaults.capDelayMs,
  };
  if (!(Number.isSafeInteger(policy.attemptsMax) && policy.attemptsMax >= 1)) {
    throw new RangeError(`conflict retry: attemptsMax must be a whole number of at least 1, got ${policy.attemptsMax}`);
  }
  if (!(Number.isFinite(policy.baseDelayMs) && policy.baseDelayMs >= 0)) {
    throw new RangeError(`conflict retry: baseDelayMs must be a number of at least 0, got ${policy.baseDelayMs}`);
  }
  if (!(Number.isFinite(policy.capDelayMs) && policy.capDelayMs >= policy.baseDelayMs)) {
    throw new RangeError(`conflict retry: capDelayMs must be at least baseDelayMs, got ${policy.capDelayMs}`);
  }
  return policy;
}

export interface EventStore {
  /** How writers should retry after WrongExpectedVersion on this store (an adapter's suggestion, overridable). */
  readonly conflictRetry: ConflictRetryPolicy;
  appendToStream(streamId: string, events: readonly EventToAppend[], options: AppendOptions): Promise<AppendResult>;
  /**
   * Optional: only adapters whose backend has multi-stream transactions (SQLite, memory) offer
   * it; EventStoreDB has none, and callers fall back to one append per stream. Appends to
   * several distinct streams all or nothing, in the order given (positions increase along
   * it), each with its own expected revision: if one check fails, nothing is written and the
   * call rejects with WrongExpectedVersion naming the first stream that failed. One result
   * per part, in order.
   */
  appendToStreams?(appends: readonly StreamAppend[]): Promise<AppendResult[]>;
  /**
   * Optional, true where appends may be pipelined: they are applied in call order, and
   * `expectedLastEventId` is checked. A writer may then make the next append to a stream,
   * chained onto the previous one's events, before that one is acknowledged. SQLite (ordered
   * group commits) and memory (appends applied at the call) offer it; EventStoreDB does not.
   */
  readonly pipelinedAppends?: boolean;
  /** A stream that does not exist reads as empty. Events are in revision order for the direction. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** User events only (adapters hide backend system events such as EventStoreDB's `$`-types). */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /**
   * Every user event with position <= `upTo` (that passes the filter), in position order,
   * each once, handed to `onEvent` as it is read: page by page, so a long log is never held
   * in memory. Resolves when the scan has passed `upTo`. An exception from `onEvent` ends
   * the scan and rejects it.
   */
  scanAll(options: ScanAllOptions, onEvent: (e: RecordedEvent) => void): Promise<void>;
  subscribeToAll(options?: SubscribeToAllOptions): AllSubscription;
  close(): Promise<void>;
}

/** Raised by appendToStream when the stream is not at the expected revision. Nothing is written. */
export class WrongExpectedVersion extends Error {
  override readonly name = 'WrongExpectedVersion';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** The stream's current revision, or 'no_stream' when it does not exist. */
    readonly actual: number | 'no_stream',
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, actual ${String(actual)}`);
  }
}

/** Checks an expected revision against a stream's current one (-1 = no stream). */
export function revisionMatches(expected: ExpectedRevision, current: number): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return current === -1;
    case 'stream_exists':
      return current >= 0;
    default:
      return expected === current;
  }
}

/** Whether `e` passes `filter` (no filter: every event). The one rule, for adapters that filter in process. */
export function passesFilter(filter: AllFilter | undefined, e: Pick<RecordedEvent, 'streamId' | 'type'>): boolean {
  if (filter === undefined) return true;
  if ('streamPrefixes' in filter) return filter.streamPrefixes.some((prefix) => e.streamId.startsWith(prefix));
  return filter.eventTypes.includes(e.type);
}

/** Refuses a malformed scan before anything is read. */
export function assertValidScan(options: ScanAllOptions): void {
  if (!Number.isSafeInteger(options.upTo)) throw new RangeError(`upTo must be a safe integer, got ${options.upTo}`);
  const filter = options.filter;
  if (filter === undefined) return;
  const values = 'streamPrefixes' in filter ? filter.streamPrefixes : 'eventTypes' in filter ? filter.eventTypes : undefined;
  if (!Array.isArray(values) || values.length === 0 || values.some((v) => typeof v !== 'string' || v.length === 0)) {
    throw new TypeError('a scan filter names at least one non-empty stream prefix or event type');
  }
}

/** Refuses a malformed multi-stream append before anything is written. */
export function assertValidStreamAppends(appends: readonly StreamAppend[]): void {
  if (!Array.isArray(appends) || appends.length === 0) throw new TypeError('appendToStreams takes at least one stream');
  const seen = new Set<string>();
  for (const a of appends) {
    if (typeof a.streamId !== 'string' || a.streamId.length === 0) throw new TypeError('streamId must be a non-empty string');
    // One part per stream: a second part's expected revision would have to count the first's events.
    if (seen.has(a.streamId)) throw new TypeError(`appendToStreams: stream ${a.streamId} appears twice`);
    seen.add(a.streamId);
    assertValidExpectedRevision(a.expectedRevision);
    if (a.expectedLastEventId !== undefined && (typeof a.expectedRevision !== 'number' || typeof a.expectedLastEventId !== 'string')) {
      throw new TypeError('expectedLastEventId goes with a numeric expectedRevision');
    }
  }
}

export function assertValidExpectedRevision(expected: ExpectedRevision): void {
  if (typeof expected === 'number' && !(Number.isSafeInteger(expected) && expected >= 0)) {
    throw new RangeError(`expectedRevision must be a non-negative safe integer, got ${expected}`);
  }
}

/**
 * The store could not be reached or could not write (node down, deadline passed, disk or
 * lock failure). For an append, nothing is acknowledged; whether it was written is not
 * known, so the caller retries with the same event ids (idempotent in every adapter's use).
 */
export class StoreUnavailable extends Error {
  override readonly name = 'StoreUnavailable';
  constructor(
    readonly operation: 'append' | 'read' | 'open',
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`event store unavailable (${operation}): ${reason}`, options);
  }
}
