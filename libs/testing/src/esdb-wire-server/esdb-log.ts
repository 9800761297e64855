/**
 * The in-memory transaction log behind the wire server. It lives apart from the gRPC
 * server so that a test can stop the server and start a new one on the same data
 * (a node restart, as far as a client can tell).
 *
 * It keeps the facts of a real EventStoreDB node that adapters get wrong most easily:
 * - positions are byte offsets in the log: increasing, never consecutive;
 * - `created` is 100-ns ticks since the Unix epoch;
 * - the node writes `$`-typed events of its own, at start and later;
 * - a re-append of already written event ids is accepted without a second write, with
 *   the node's rules (ids are looked up in the stream, not globally enforced).
 */

/** ESDB's numeric encoding of the expected-version conditions (ExpectedVersion in the node). */
export const EXPECTED_ANY = -2;
export const EXPECTED_NO_STREAM = -1;
export const EXPECTED_STREAM_EXISTS = -4;

export interface LogRecord {
  readonly streamId: string;
  readonly revision: number;
  /** Commit position; equals the prepare position, as for an implicit transaction on a v2 log. */
  readonly position: bigint;
  readonly eventId: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
  /** 100-ns ticks since the Unix epoch. */
  readonly createdTicks: bigint;
}

export interface ProposedEvent {
  eventId: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  customMetadata: Uint8Array;
}

export type AppendOutcome =
  { kind: 'written' | 'idempotent'; revision: number; position: bigint | undefined } | { kind: 'wrong_expected_version'; current: number };

export interface EsdbLogOptions {
  /** Where the first record starts; set it near 2^53 to exercise bigint conversions. */
  firstPosition?: bigint;
  /** Ticks since the Unix epoch; pin it to test the `created` conversion. */
  clock?: () => bigint;
}

const TICKS_PER_MS = 10_000n;
// A log record carries a header (sizes, flags, ids, timestamps) besides its payload.
const RECORD_HEADER_BYTES = 90;

export class EsdbLog {
  private readonly records: LogRecord[] = [];
  private readonly streams = new Map<string, LogRecord[]>();
  /** Last record written with each event id: the node's committed-events cache, unbounded here. */
  private readonly byEventId = new Map<string, LogRecord>();
  private readonly listeners = new Set<() => void>();
  private nextPosition: bigint;
  private readonly clock: () => bigint;
  private systemEventCount = 0;

  constructor(options: EsdbLogOptions = {}) {
    this.nextPosition = options.firstPosition ?? 0n;
    this.clock = options.clock ?? defaultClock;
    // What a fresh node writes before any client connects.
    this.writeSystemEvent('$$$scavenges', '$metadata', { $maxAge: 2592000 });
    this.writeSystemEvent('$users', '$UserCreated', { LoginName: 'admin' });
    this.writeSystemEvent('$projections-$all', '$ProjectionsInitialized', {});
  }

  get all(): readonly LogRecord[] {
    return this.records;
  }

  get lastPosition(): bigint | undefined {
    return this.records.at(-1)?.position;
  }

  stream(streamId: string): readonly LogRecord[] | undefined {
    return this.streams.get(streamId);
  }

  /** The node's idempotency and expected-version rules (IndexWriter.CheckCommit), then the write. */
  append(streamId: string, expected: number, events: readonly ProposedEvent[]): AppendOutcome {
    const stream = this.streams.get(streamId) ?? [];
    const current = stream.length - 1;
    const wrong = { kind: 'wrong_expected_version', current } as const;

    if (expected === EXPECTED_STREAM_EXISTS && current < 0) return wrong;
    if (expected === EXPECTED_ANY || expected === EXPECTED_STREAM_EXISTS) {
      // Ids seen before in this stream mean a retry; an unknown first id means new events.
      const seen = events.map((e) => this.byEventId.get(e.eventId));
      if (seen.length > 0 && seen[0]?.streamId === streamId) {
        // Part of the batch written and part not: the node calls it a conflict.
        if (seen.some((r) => r?.streamId !== streamId)) return wrong;
        return idempotent(seen.at(-1)!);
      }
      return this.write(streamId, stream, events);
    }
    if (expected < current) {
      // A retry of the append that moved the stream from `expected`: same ids, same places.
      for (let i = 0; i < events.length; i++) {
        if (stream[expected + 1 + i]?.eventId !== events[i].eventId) return wrong;
      }
      if (events.length === 0) return wrong;
      return idempotent(stream[expected + events.length]);
    }
    if (expected > current) return wrong;
    return this.write(streamId, stream, events);
  }

  /** An event the node writes on its own, e.g. statistics; readers of $all must skip these. */
  writeSystemEvent(streamId: string, type: string, data: object = {}): LogRecord {
    if (!streamId.startsWith('$') || !type.startsWith('$')) {
      throw new Error(`system events live in $-streams with $-types, got ${streamId}/${type}`);
    }
    this.systemEventCount++;
    const stream = this.streams.get(streamId) ?? [];
    this.write(streamId, stream, [
      {
        eventId: systemEventId(this.systemEventCount),
        type,
        contentType: 'application/json',
        data: Buffer.from(JSON.stringify(data)),
        customMetadata: new Uint8Array(),
      },
    ]);
    return stream.at(-1)!;
  }

  /** Registers a wake-up for every write; returns the unregister function. */
  onWrite(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Index in `all` of the first record whose position is >= `position`. */
  indexAtOrAfter(position: bigint): number {
    let lo = 0;
    let hi = this.records.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.records[mid].position < position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private write(streamId: string, stream: LogRecord[], events: readonly ProposedEvent[]): AppendOutcome {
    if (events.length === 0) {
      // Nothing written: the node answers with the current revision and no position.
      return { kind: 'written', revision: stream.length - 1, position: undefined };
    }
    const createdTicks = this.clock();
    for (const e of events) {
      const record: LogRecord = {
        streamId,
        revision: stream.length,
        position: this.nextPosition,
        eventId: e.eventId,
        type: e.type,
        contentType: e.contentType,
        data: e.data,
        customMetadata: e.customMetadata,
        createdTicks,
      };
      this.nextPosition += recordSize(record);
      stream.push(record);
      this.records.push(record);
      this.byEventId.set(e.eventId, record);
    }
    this.streams.set(streamId, stream);
    const last = stream.at(-1)!;
    for (const listener of [...this.listeners]) listener();
    return { kind: 'written', revision: last.revision, position: last.position };
  }
}

const idempotent = (last: LogRecord): AppendOutcome => ({
  kind: 'idempotent',
  revision: last.revision,
  position: last.position,
});

function recordSize(r: LogRecord): bigint {
  const bytes =
    RECORD_HEADER_BYTES + Buffer.byteLength(r.streamId) + Buffer.byteLength(r.type) + r.data.byteLength + r.customMetadata.byteLength;
  // Records are padded, so positions do not even follow payload sizes exactly.
  return BigInt(Math.ceil(bytes / 8) * 8);
}

// Millisecond wall time plus sub-millisecond ticks, as a real node reports them.
const defaultClock = (): bigint => BigInt(Date.now()) * TICKS_PER_MS + BigInt(process.hrtime()[1] % Number(TICKS_PER_MS));

const systemEventId = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
