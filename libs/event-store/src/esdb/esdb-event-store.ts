import {
  ANY,
  AppendExpectedRevision,
  BACKWARDS,
  CancelledError,
  DeadlineExceededError,
  END,
  eventTypeFilter,
  EventStoreDBClient,
  FORWARDS,
  jsonEvent,
  NO_STREAM,
  NotLeaderError,
  Position,
  ReadPosition,
  START,
  STREAM_EXISTS,
  streamNameFilter,
  StreamNotFoundError,
  TimeoutError,
  UnavailableError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import {
  AllFilter,
  AllSubscription,
  AppendOptions,
  AppendResult,
  assertValidExpectedRevision,
  ConflictRetryPolicy,
  conflictRetryPolicy,
  NETWORK_CONFLICT_RETRY,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  JsonObject,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  assertValidScan,
  revisionMatches,
  ScanAllOptions,
  StoreUnavailable,
  SubscribeToAllOptions,
  WrongExpectedVersion,
} from '../port';

/** What the client hands back for one event; only the fields we map. */
interface EsdbRecorded {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  data: unknown;
  metadata?: unknown;
  isJson: boolean;
  created: Date;
  position?: Position;
}

// $all is read in pages; the first event of a forwards page repeats the last one read.
const PAGE_SIZE = 512;
// A scan reports its progress every this many events.
const SCAN_PROGRESS_EVENTS = 5_000;

/**
 * The event store port over EventStoreDB / KurrentDB (`@eventstore/db-client`, gRPC).
 *
 * Positions are the node's commit positions, as numbers (the port's numbers are safe
 * integers; past Number.MAX_SAFE_INTEGER every call fails loudly rather than round).
 * The node's own events (`$`-types, `$`-streams) never reach readAll or subscribeToAll.
 */
export class EsdbEventStore implements EventStore {
  /** Open subscriptions, ended by close(): the client's dispose() alone leaves them hanging. */
  private readonly subscriptions = new Set<AllSubscription>();

  readonly conflictRetry: ConflictRetryPolicy;

  constructor(
    private readonly client: EventStoreDBClient,
    options: { conflictRetry?: Partial<ConflictRetryPolicy> } = {},
  ) {
    this.conflictRetry = conflictRetryPolicy(NETWORK_CONFLICT_RETRY, options.conflictRetry);
  }

  /** e.g. `esdb://localhost:2113?tls=false`, or a cluster string (see the client's docs). */
  static fromConnectionString(connectionString: string, options: { conflictRetry?: Partial<ConflictRetryPolicy> } = {}): EsdbEventStore {
    return new EsdbEventStore(EventStoreDBClient.connectionString(connectionString), options);
  }

  async appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    { expectedRevision, expectedLastEventId }: AppendOptions,
  ): Promise<AppendResult> {
    // No pipelinedAppends here: calls in flight may arrive in any order, so nothing may be chained onto an unacknowledged append.
    if (expectedLastEventId !== undefined) throw new TypeError('EventStoreDB appends do not take expectedLastEventId');
    assertValidExpectedRevision(expectedRevision);
    // The node answers an empty append without a position (and the client then reports
    // revision 0 for a missing stream), so an empty append is only a check, made here.
    if (events.length === 0) return this.checkOnly(streamId, expectedRevision);
    let result;
    try {
      result = await this.client.appendToStream(
        streamId,
        events.map((e) => jsonEvent({ id: e.eventId, type: e.type, data: e.data, metadata: e.metadata })),
        { expectedRevision: toEsdbExpected(expectedRevision) },
      );
    } catch (err) {
      if (err instanceof WrongExpectedVersionError) {
        const actual = err.actualVersion;
        throw new WrongExpectedVersion(streamId, expectedRevision, actual === 'no_stream' ? 'no_stream' : toSafeNumber(actual, 'revision'));
      }
      throw asUnavailable('append', err);
    }
    if (!result.position) throw new Error(`append to ${streamId}: the node returned no position`);
    return {
      nextExpectedRevision: toSafeNumber(result.nextExpectedRevision, 'revision'),
      position: toSafeNumber(result.position.commit, 'position'),
    };
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const maxCount = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    if (maxCount <= 0) return [];
    const fromRevision = options.fromRevision === undefined ? (backwards ? END : START) : toBigInt(options.fromRevision, 'fromRevision');
    const events: RecordedEvent[] = [];
    try {
      const read = this.client.readStream(streamId, {
        fromRevision,
        direction: backwards ? BACKWARDS : FORWARDS,
        maxCount,
      });
      for await (const resolved of reading(read)) events.push(toRecorded(resolved.event as EsdbRecorded | undefined));
    } catch (err) {
      if (err instanceof StreamNotFoundError) return [];
      throw asUnavailable('read', err);
    }
    return events;
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const maxCount = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    if (maxCount <= 0) return [];
    try {
      return options.direction === 'backwards'
        ? await this.readAllBackwards(options.fromPosition, maxCount)
        : await this.readAllForwards(options.fromPosition, maxCount);
    } catch (err) {
      throw asUnavailable('read', err);
    }
  }

  async scanAll(options: ScanAllOptions, onEvent: (e: RecordedEvent) => void): Promise<void> {
    assertValidScan(options);
    if (options.upTo < 0) return;
    if (options.filter !== undefined) return this.scanFiltered(options, options.filter, onEvent);
    const upTo = BigInt(options.upTo);
    let count = 0;
    // One read of $all, streamed under gRPC flow control; leaving the loop cancels it.
    for await (const resolved of reading(
      this.client.readAll({ fromPosition: START, direction: FORWARDS, maxCount: Number.MAX_SAFE_INTEGER }),
    )) {
      const event = resolved.event as EsdbRecorded | undefined;
      const position = event?.position?.commit;
      if (!event || position === undefined) continue;
      if (position > upTo) return;
      if (isSystemEvent(event)) continue;
      onEvent(toRecorded(event));
      if (++count % SCAN_PROGRESS_EVENTS === 0) options.onProgress?.(toSafeNumber(position, 'position'));
    }
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): AllSubscription {
    // The node subscribes *after* the given position: the port's exclusive checkpoint.
    const fromPosition: ReadPosition =
      options.fromPosition === undefined || options.fromPosition < 0 ? START : toEsdbPosition(options.fromPosition);
    const subscription = this.client.subscribeToAll({ fromPosition });
    const source = subscription[Symbol.asyncIterator]();
    let closed = false;
    let wakeClosed: () => void = () => undefined;
    const whenClosed = new Promise<'closed'>((resolve) => (wakeClosed = () => resolve('closed')));

    const close = async () => {
      if (closed) return;
      closed = true;
      this.subscriptions.delete(handle);
      // The client swallows its own cancellation without ending the stream, so it is this
      // wake-up, not the stream, that ends an iteration waiting for the next event.
      wakeClosed();
      await withinMs(CLOSE_WAIT_MS, subscription.unsubscribe());
      subscription.destroy();
    };

    async function* iterate(): AsyncGenerator<RecordedEvent> {
      try {
        while (!closed) {
          const pending = source.next();
          // If unsubscribe wins the race, the read may still fail later; nobody waits for it.
          pending.catch(() => undefined);
          // A dropped connection or a stopped node rejects `pending`: the error leaves this
          // loop, so the consumer (the projection runner) can resubscribe from its checkpoint.
          const next = await Promise.race([pending, whenClosed]);
          if (next === 'closed') return;
          if (next.done) {
            if (closed) return;
            throw new Error('subscription to $all ended by the server');
          }
          const event = (next.value as { event?: EsdbRecorded }).event;
          if (!event || isSystemEvent(event)) continue;
          yield toRecorded(event);
        }
      } finally {
        await close();
      }
    }

    const iterator = iterate();
    const handle: AllSubscription = {
      [Symbol.asyncIterator]: () => iterator,
      unsubscribe: close,
    };
    this.subscriptions.add(handle);
    return handle;
  }

  /**
   * A scan through the node's server-side filter: a client of this version reads $all only
   * unfiltered, so this is a filtered catch-up subscription, ended once it has passed `upTo`:
   * an event beyond it, a checkpoint at or beyond it, or the node's caught-up signal (sent
   * once the subscription has read the whole log, which holds `upTo`).
   */
  private scanFiltered(options: ScanAllOptions, filter: AllFilter, onEvent: (e: RecordedEvent) => void): Promise<void> {
    const upTo = BigInt(options.upTo);
    return new Promise<void>((resolve, reject) => {
      let done = false;
      let count = 0;
      const finish = (error?: unknown) => {
        if (done) return;
        done = true;
        this.subscriptions.delete(handle);
        void subscription
          .unsubscribe()
          .catch(() => undefined)
          .then(() => {
            subscription.destroy();
            if (error === undefined) resolve();
            else reject(error);
          });
      };
      // Events read before a caught-up or checkpoint signal may still sit in the stream's
      // buffer: hand them over before ending.
      const finishWhenDrained = () => {
        if (done) return;
        if (subscription.readableLength > 0) setImmediate(finishWhenDrained);
        else finish();
      };
      // The client calls checkpointReached as the checkpoint arrives, while events read before
      // it may still wait in the stream's buffer; reporting it then would run ahead of onEvent
      // and, with the every-so-many-events report below, go backwards. So a checkpoint is
      // reported once every event before it has been handed over, and reports only increase.
      let reported = -1n;
      let heldCheckpoint: bigint | undefined;
      const report = (position: bigint) => {
        if (position <= reported) return;
        reported = position;
        options.onProgress?.(toSafeNumber(position, 'position'));
      };
      const releaseCheckpoint = (delivered?: bigint) => {
        if (heldCheckpoint === undefined) return;
        if (subscription.readableLength > 0 && (delivered === undefined || delivered < heldCheckpoint)) return;
        const position = heldCheckpoint;
        heldCheckpoint = undefined;
        report(position);
      };
      const checkpointReached = (_: unknown, position: Position) => {
        if (position.commit >= upTo) return finishWhenDrained();
        heldCheckpoint = position.commit;
        releaseCheckpoint();
      };
      const esdbFilter =
        'streamPrefixes' in filter
          ? streamNameFilter({ prefixes: [...filter.streamPrefixes], checkpointReached })
          : eventTypeFilter({ regex: `^(?:${filter.eventTypes.map(escapeRegex).join('|')})$`, checkpointReached });
      const subscription = this.client.subscribeToAll({ fromPosition: START, filter: esdbFilter });
      const handle: AllSubscription = {
        [Symbol.asyncIterator]: () => {
          throw new Error('a scan is not iterable');
        },
        unsubscribe: async () => finish(new Error('the event store was closed during a scan')),
      };
      this.subscriptions.add(handle);
      subscription.on('data', (resolved: { event?: EsdbRecorded }) => {
        if (done) return;
        try {
          const event = resolved.event;
          const position = event?.position?.commit;
          if (!event || position === undefined) return;
          if (position > upTo) return finish();
          // An event past the held checkpoint: all before that checkpoint has been handed over.
          if (heldCheckpoint !== undefined && position > heldCheckpoint) releaseCheckpoint(position);
          if (!isSystemEvent(event)) {
            onEvent(toRecorded(event));
            if (++count % SCAN_PROGRESS_EVENTS === 0) report(position);
          }
          releaseCheckpoint(position);
        } catch (error) {
          finish(error);
        }
      });
      subscription.on('caughtUp', finishWhenDrained);
      subscription.on('error', (error: unknown) => finish(error));
      subscription.on('end', () => finish(new Error('the scan of $all was ended by the server')));
    });
  }

  async close(): Promise<void> {
    // After the node went away a cancellation may never be answered: a shutdown must not
    // wait on it for ever.
    await withinMs(CLOSE_WAIT_MS, Promise.all([...this.subscriptions].map((s) => s.unsubscribe())));
    await withinMs(CLOSE_WAIT_MS, this.client.dispose());
  }

  /** Forwards from `fromPosition` inclusive: pages of $all, system events dropped. */
  private async readAllForwards(fromPosition: number | undefined, maxCount: number): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    let from: ReadPosition = fromPosition === undefined || fromPosition <= 0 ? START : toEsdbPosition(fromPosition);
    let lastRead: bigint | undefined;
    let pageSize = 0;
    for (;;) {
      // One more than still needed, as on later pages the first event is a repeat; and at
      // least twice the last page, as a page short of user events was full of system ones.
      pageSize = Math.min(PAGE_SIZE, Math.max(maxCount - events.length + 1, pageSize * 2));
      let count = 0;
      for await (const resolved of reading(this.client.readAll({ fromPosition: from, direction: FORWARDS, maxCount: pageSize }))) {
        count++;
        const event = resolved.event as EsdbRecorded | undefined;
        const position = event?.position?.commit;
        if (!event || position === undefined) continue;
        if (lastRead !== undefined && position <= lastRead) continue;
        lastRead = position;
        if (!isSystemEvent(event)) events.push(toRecorded(event));
        if (events.length === maxCount) return events;
      }
      if (count < pageSize || lastRead === undefined) return events;
      from = { commit: lastRead, prepare: lastRead };
    }
  }

  /**
   * Backwards from `fromPosition` inclusive. The node reads backwards from a position
   * exclusively, so start at the first event after `fromPosition` (found with a forwards
   * read, never by computing position + 1), or at the end.
   */
  private async readAllBackwards(fromPosition: number | undefined, maxCount: number): Promise<RecordedEvent[]> {
    if (fromPosition !== undefined && fromPosition < 0) return [];
    const limit = fromPosition === undefined ? undefined : toBigInt(fromPosition, 'fromPosition');
    let from: ReadPosition = END;
    if (limit !== undefined) {
      for await (const resolved of reading(
        this.client.readAll({ fromPosition: { commit: limit, prepare: limit }, direction: FORWARDS, maxCount: 2 }),
      )) {
        const position = resolved.event?.position?.commit;
        if (position !== undefined && position > limit) {
          from = { commit: position, prepare: position };
          break;
        }
      }
    }
    const events: RecordedEvent[] = [];
    let pageSize = 0;
    for (;;) {
      pageSize = Math.min(PAGE_SIZE, Math.max(maxCount - events.length, pageSize * 2));
      let count = 0;
      let lastRead: bigint | undefined;
      for await (const resolved of reading(this.client.readAll({ fromPosition: from, direction: BACKWARDS, maxCount: pageSize }))) {
        count++;
        const event = resolved.event as EsdbRecorded | undefined;
        const position = event?.position?.commit;
        if (!event || position === undefined) continue;
        lastRead = position;
        // Appends made since the probe above land after `limit`: not ours to return.
        if (limit !== undefined && position > limit) continue;
        if (!isSystemEvent(event)) events.push(toRecorded(event));
        if (events.length === maxCount) return events;
      }
      if (count < pageSize || lastRead === undefined) return events;
      from = { commit: lastRead, prepare: lastRead };
    }
  }

  private async checkOnly(streamId: string, expectedRevision: ExpectedRevision): Promise<AppendResult> {
    const [last] = await this.readStream(streamId, { direction: 'backwards', maxCount: 1 });
    const current = last?.revision ?? -1;
    if (!revisionMatches(expectedRevision, current)) {
      throw new WrongExpectedVersion(streamId, expectedRevision, current === -1 ? 'no_stream' : current);
    }
    const [lastEvent] = await this.readAll({ direction: 'backwards', maxCount: 1 });
    return { nextExpectedRevision: current, position: lastEvent?.position ?? -1 };
  }
}

const CLOSE_WAIT_MS = 2_000;

/** Waits for `work`, but not longer than `ms`; a late failure is dropped. */
async function withinMs(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  work.catch(() => undefined);
  await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

// gRPC status codes CANCELLED, DEADLINE_EXCEEDED, UNAVAILABLE.
const GRPC_TRANSIENT_CODES = new Set([1, 4, 14]);

/**
 * The node down, unreachable, past the call's deadline, or not the leader: the port's
 * StoreUnavailable (503 and a retry), not a crash. Anything else is passed on as it is.
 */
function asUnavailable(operation: 'append' | 'read', err: unknown): unknown {
  const transient =
    err instanceof UnavailableError ||
    err instanceof DeadlineExceededError ||
    err instanceof TimeoutError ||
    err instanceof CancelledError ||
    err instanceof NotLeaderError ||
    // Some calls (the server-features probe before an append) reject with the raw gRPC status.
    GRPC_TRANSIENT_CODES.has((err as { code?: unknown } | undefined)?.code as number);
  if (!transient) return err;
  return new StoreUnavailable(operation, (err as Error).message, { cause: err });
}

function toEsdbExpected(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    case 'any':
      return ANY;
    default:
      return toBigInt(expected, 'expectedRevision');
  }
}

const toEsdbPosition = (position: number): Position => {
  const p = toBigInt(position, 'position');
  return { commit: p, prepare: p };
};

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The node's own events: statistics, users, projections, stream metadata, links. */
const isSystemEvent = (e: { type: string; streamId: string }): boolean => e.type.startsWith('$') || e.streamId.startsWith('$');

function toRecorded(e: EsdbRecorded | undefined): RecordedEvent {
  if (!e) throw new Error('the node sent a read result without an event');
  if (!e.position) throw new Error(`event ${e.id} in ${e.streamId} has no position (node older than 22.6?)`);
  if (!e.isJson || !isJsonObject(e.data)) throw new Error(`event ${e.id} in ${e.streamId} is not a JSON object`);
  const metadata = e.metadata ?? {};
  if (!isJsonObject(metadata)) throw new Error(`event ${e.id} in ${e.streamId} has metadata that is not a JSON object`);
  return {
    streamId: e.streamId,
    revision: toSafeNumber(e.revision, 'revision'),
    position: toSafeNumber(e.position.commit, 'position'),
    eventId: e.id,
    type: e.type,
    data: e.data,
    metadata,
    // The client turns the node's ticks (100 ns since the Unix epoch) into a Date.
    recordedAt: e.created.toISOString(),
  };
}

/**
 * Iterates a read and, when the caller stops early, cancels the gRPC call. Leaving the
 * read to the client would leave the call open, paused, and `dispose()` waiting on it.
 */
async function* reading<T>(read: AsyncIterable<T> & { cancel(): Promise<void> }): AsyncGenerator<T> {
  let complete = false;
  try {
    yield* read;
    complete = true;
  } finally {
    if (!complete) await read.cancel();
  }
}

const isJsonObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** bigint from the node → the port's number, refusing to round. */
function toSafeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`${what} ${value} from EventStoreDB is beyond Number.MAX_SAFE_INTEGER`);
  }
  return Number(value);
}

function toBigInt(value: number, what: string): bigint {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative safe integer, got ${value}`);
  }
  return BigInt(value);
}
