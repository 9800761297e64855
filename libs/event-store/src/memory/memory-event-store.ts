import { EventEmitter } from 'node:events';
import { liveFeedSubscription } from '../live-feed';
import {
  AllSubscription,
  AppendOptions,
  AppendResult,
  assertValidExpectedRevision,
  EventStore,
  EventToAppend,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  revisionMatches,
  SubscribeToAllOptions,
  WrongExpectedVersion,
} from '../port';

/** In-memory adapter for unit tests: the same semantics as the durable ones, no durability. */
export class MemoryEventStore implements EventStore {
  private readonly all: RecordedEvent[] = [];
  private readonly streams = new Map<string, RecordedEvent[]>();
  private readonly appended = new EventEmitter().setMaxListeners(0);

  constructor(private readonly now: () => Date = () => new Date()) {}

  async appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    { expectedRevision }: AppendOptions,
  ): Promise<AppendResult> {
    assertValidExpectedRevision(expectedRevision);
    const stream = this.streams.get(streamId) ?? [];
    const current = stream.length - 1;
    if (!revisionMatches(expectedRevision, current)) {
      throw new WrongExpectedVersion(streamId, expectedRevision, current === -1 ? 'no_stream' : current);
    }
    if (events.length === 0) {
      return { nextExpectedRevision: current, position: this.all.length - 1 };
    }
    const recordedAt = this.now().toISOString();
    for (const e of events) {
      const recorded: RecordedEvent = {
        streamId,
        revision: stream.length,
        position: this.all.length,
        eventId: e.eventId,
        type: e.type,
        data: structuredClone(e.data),
        metadata: structuredClone(e.metadata),
        recordedAt,
      };
      stream.push(recorded);
      this.all.push(recorded);
    }
    this.streams.set(streamId, stream);
    this.appended.emit('append');
    return { nextExpectedRevision: stream.length - 1, position: this.all.length - 1 };
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const stream = this.streams.get(streamId) ?? [];
    const max = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    if (options.direction === 'backwards') {
      const from = Math.min(options.fromRevision ?? stream.length - 1, stream.length - 1);
      return stream.slice(Math.max(0, from - max + 1), from + 1).reverse().map(clone);
    }
    const from = options.fromRevision ?? 0;
    return stream.slice(from, from + max).map(clone);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const max = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    // Positions here are array indexes, so a position is also where to slice.
    if (options.direction === 'backwards') {
      const from = Math.min(options.fromPosition ?? this.all.length - 1, this.all.length - 1);
      return this.all.slice(Math.max(0, from - max + 1), from + 1).reverse().map(clone);
    }
    const from = Math.max(0, options.fromPosition ?? 0);
    return this.all.slice(from, from + max).map(clone);
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): AllSubscription {
    return liveFeedSubscription(
      {
        readPage: (fromPosition, maxCount) => this.readAll({ fromPosition, maxCount }),
        onAppend: (listener) => {
          this.appended.on('append', listener);
          return () => this.appended.off('append', listener);
        },
        pollIntervalMs: 1000,
      },
      options.fromPosition,
    );
  }

  async close(): Promise<void> {
    this.appended.removeAllListeners();
  }
}

// Callers may mutate what they read; the store's copy must stay as written.
const clone = (e: RecordedEvent): RecordedEvent => ({
  ...e,
  data: structuredClone(e.data),
  metadata: structuredClone(e.metadata),
});
