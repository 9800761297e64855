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
}

/**
 * Catch-up, then live, in position order, each event once. Iterate with `for await`;
 * `unsubscribe` ends the iteration.
 */
export interface AllSubscription extends AsyncIterable<RecordedEvent> {
  unsubscribe(): Promise<void>;
}

export interface EventStore {
  appendToStream(streamId: string, events: readonly EventToAppend[], options: AppendOptions): Promise<AppendResult>;
  /** A stream that does not exist reads as empty. Events are in revision order for the direction. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** User events only (adapters hide backend system events such as EventStoreDB's `$`-types). */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
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

export function assertValidExpectedRevision(expected: ExpectedRevision): void {
  if (typeof expected === 'number' && !(Number.isSafeInteger(expected) && expected >= 0)) {
    throw new RangeError(`expectedRevision must be a non-negative safe integer, got ${expected}`);
  }
}
