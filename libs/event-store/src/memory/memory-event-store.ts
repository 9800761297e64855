import { EventEmitter } from 'node:events';
import { liveFeedSubscription } from '../live-feed';
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
  ReadStreamOptions,
  RecordedEvent,
  assertValidScan,
  passesFilter,
  revisionMatches,
  ScanAllOptions,
  StreamAppend,
  SubscribeToAllOptions,
  WrongExpectedVersion,
} from '../port';

const SCAN_PAGE = 5_000;

/** In-memory adapter for unit tests: the same semantics as the durable ones, no durability. */
export class MemoryEventStore implements EventStore {
  private readonly all: RecordedEvent[] = [];
  private readonly streams = new Map<string, RecordedEvent[]>();
  private readonly appended = new EventEmitter().setMaxListeners(0);
  private readonly subscriptions = new Set<AllSubscription>();

  readonly conflictRetry: ConflictRetryPolicy;
  /** Each append is checked and applied at the call, in call order. */
  readonly pipelinedAppends = true;

  constructor(
    private readonly now: () => Date = () => new Date(),
    options: { conflictRetry?: Partial<ConflictRetryPolicy> } = {},
  ) {
    this.conflictRetry = conflictRetryPolicy(IN_PROCESS_CONFLICT_RETRY, options.conflictRetry);
  }

  async appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    { expectedRevision, expectedLastEventId }: AppendOptions,
  ): Promise<AppendResult> {
    const [result] = await this.appendToStreams([{ streamId, events, expectedRevision, expectedLastEventId }]);
    return result;
  }

  async appendToStreams(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    assertValidStreamAppends(appends);
    // Copied and checked before anything is written: a malformed event or a failed check
    // leaves every stream as it was.
    const parts = appends.map((a) => ({
      ...a,
      copies: a.events.map((e) => ({ ...e, data: jsonCopy(e.data), metadata: jsonCopy(e.metadata) })),
    }));
    for (const { streamId, expectedRevision, expectedLastEventId } of parts) {
      const stream = this.streams.get(streamId);
      const current = (stream?.length ?? 0) - 1;
      const chainBroken = expectedLastEventId !== undefined && stream?.[current]?.eventId !== expectedLastEventId;
      if (!revisionMatches(expectedRevision, current) || chainBroken) {
        throw new WrongExpectedVersion(streamId, expectedRevision, current === -1 ? 'no_stream' : current);
      }
    }
    const recordedAt = this.now().toISOString();
    const results = parts.map(({ streamId, copies }) => this.write(streamId, copies, recordedAt));
    if (parts.some((p) => p.copies.length > 0)) this.appended.emit('append');
    return results;
  }

  private write(streamId: string, copies: EventToAppend[], recordedAt: string): AppendResult {
    const stream = this.streams.get(streamId) ?? [];
    if (copies.length === 0) {
      return { nextExpectedRevision: stream.length - 1, position: this.all.length - 1 };
    }
    for (const e of copies) {
      const recorded: RecordedEvent = {
        streamId,
        revision: stream.length,
        position: this.all.length,
        eventId: e.eventId,
        type: e.type,
        data: e.data,
        metadata: e.metadata,
        recordedAt,
      };
      stream.push(recorded);
      this.all.push(recorded);
    }
    this.streams.set(streamId, stream);
    return { nextExpectedRevision: stream.length - 1, position: this.all.length - 1 };
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    assertCount('fromRevision', options.fromRevision);
    assertCount('maxCount', options.maxCount);
    const stream = this.streams.get(streamId) ?? [];
    const max = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    if (options.direction === 'backwards') {
      const from = Math.min(options.fromRevision ?? stream.length - 1, stream.length - 1);
      return stream
        .slice(Math.max(0, from - max + 1), from + 1)
        .reverse()
        .map(clone);
    }
    const from = options.fromRevision ?? 0;
    return stream.slice(from, from + max).map(clone);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    assertCount('fromPosition', options.fromPosition);
    assertCount('maxCount', options.maxCount);
    const max = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    // Positions here are array indexes, so a position is also where to slice.
    if (options.direction === 'backwards') {
      const from = Math.min(options.fromPosition ?? this.all.length - 1, this.all.length - 1);
      return this.all
        .slice(Math.max(0, from - max + 1), from + 1)
        .reverse()
        .map(clone);
    }
    const from = Math.max(0, options.fromPosition ?? 0);
    return this.all.slice(from, from + max).map(clone);
  }

  async scanAll(options: ScanAllOptions, onEvent: (e: RecordedEvent) => void): Promise<void> {
    assertValidScan(options);
    const { upTo, filter, onProgress } = options;
    // Positions here are array indexes; events appended meanwhile lie beyond `upTo`.
    const end = Math.min(upTo, this.all.length - 1);
    for (let from = 0; from <= end; from += SCAN_PAGE) {
      const last = Math.min(from + SCAN_PAGE - 1, end);
      for (let i = from; i <= last; i++) if (passesFilter(filter, this.all[i])) onEvent(clone(this.all[i]));
      onProgress?.(last);
      // Let other work run between pages, as the durable stores do.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): AllSubscription {
    const subscription = liveFeedSubscription(
      {
        readPage: (fromPosition, maxCount) => this.readAll({ fromPosition, maxCount }),
        onAppend: (listener) => {
          this.appended.on('append', listener);
          return () => {
            this.appended.off('append', listener);
            this.subscriptions.delete(subscription);
          };
        },
        pollIntervalMs: 1000,
      },
      options.fromPosition,
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    // End live subscriptions, or their poll timers would keep the process alive.
    await Promise.all([...this.subscriptions].map((s) => s.unsubscribe()));
    this.appended.removeAllListeners();
  }
}

// Callers may mutate what they read; the store's copy must stay as written.
const clone = (e: RecordedEvent): RecordedEvent => ({
  ...e,
  data: structuredClone(e.data),
  metadata: structuredClone(e.metadata),
});

/**
 * The durable adapters store JSON text, so a Date comes back as a string and an undefined
 * property is dropped; keep the same shape here, or a test passes on memory and fails on sqlite.
 */
function jsonCopy(value: JsonObject): JsonObject {
  const text = JSON.stringify(value);
  if (typeof value !== 'object' || value === null || Array.isArray(value) || text === undefined) {
    throw new TypeError('event data and metadata must be JSON objects');
  }
  return JSON.parse(text) as JsonObject;
}

function assertCount(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
}
