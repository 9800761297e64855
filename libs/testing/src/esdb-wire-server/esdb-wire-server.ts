import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { ServerFeaturesService } from '@eventstore/db-client/generated/serverfeatures_grpc_pb';
import { SupportedMethod, SupportedMethods } from '@eventstore/db-client/generated/serverfeatures_pb';
import { Empty, StreamIdentifier, UUID } from '@eventstore/db-client/generated/shared_pb';
import { StreamsService } from '@eventstore/db-client/generated/streams_grpc_pb';
import { AppendReq, AppendResp, ReadReq, ReadResp } from '@eventstore/db-client/generated/streams_pb';
import { EsdbLog, EsdbLogOptions, EXPECTED_ANY, EXPECTED_NO_STREAM, EXPECTED_STREAM_EXISTS, LogRecord, ProposedEvent } from './esdb-log';

export interface EsdbWireServerOptions {
  /** 0 or omitted: any free port. Pass the old port (and `data`) to come back after `stop()`. */
  port?: number;
  host?: string;
  /** The log of a stopped server, to start again on its data. */
  data?: EsdbLog;
  /** Options for a fresh log (ignored when `data` is given). */
  log?: EsdbLogOptions;
}

type ReadCall = grpc.ServerWritableStream<ReadReq, ReadResp>;

/** Version reported by ServerFeatures; clients only log it. */
const SERVER_VERSION = '24.10.0';
const STREAMS_SERVICE = 'event_store.client.streams.streams';
const FEATURES_SERVICE = 'event_store.client.server_features.serverfeatures';
// Reads page through the log in slices this big so a huge read does not block the loop.
const READ_SLICE = 512;
// How long stop() lets open calls end before it resets them.
const STOP_GRACE_MS = 1_000;

/**
 * An in-process, in-memory, single-node EventStoreDB speaking the subset of the gRPC
 * protocol that @eventstore/db-client uses for appends, reads and catch-up subscriptions.
 * Test support, not a product: see README.md for what it leaves out.
 */
export class EsdbWireServer {
  private server: grpc.Server | undefined;
  private readonly calls = new Set<ReadCall>();

  private constructor(
    readonly port: number,
    private readonly host: string,
    readonly data: EsdbLog,
  ) {}

  static async start(options: EsdbWireServerOptions = {}): Promise<EsdbWireServer> {
    const host = options.host ?? '127.0.0.1';
    const data = options.data ?? new EsdbLog(options.log);
    const server = new EsdbWireServer(options.port ?? 0, host, data);
    await server.listen(options.port ?? 0);
    return server;
  }

  get connectionString(): string {
    return `esdb://${this.host}:${this.port}?tls=false`;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /**
   * Ends every open read and subscription with UNAVAILABLE (what a client of a node that
   * goes down sees), then closes the port. The data stays in `data`.
   */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const call of [...this.calls]) {
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'Server is shutting down' });
    }
    this.calls.clear();
    await new Promise<void>((resolve) => {
      // A client that keeps a call or its connection open must not keep a test waiting. Once
      // forced, the node is gone: tryShutdown's callback waits for every connection to close,
      // and after its graceful close Node only half-closes each socket and waits for the peer,
      // so a peer that keeps its side open would hold stop() for ever.
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, STOP_GRACE_MS);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  /** Stop, then listen again on the same port with the same data: a node restart. */
  async restart(): Promise<void> {
    await this.stop();
    await this.listen(this.port);
  }

  private async listen(port: number): Promise<void> {
    if (this.server) throw new Error('already listening');
    const server = new grpc.Server();
    server.addService(ServerFeaturesService, {
      getSupportedMethods: (_call: unknown, callback: grpc.sendUnaryData<SupportedMethods>) => callback(null, supportedMethods()),
    });
    // Methods left out here (Delete, Tombstone, BatchAppend) answer UNIMPLEMENTED, as do
    // whole services never added (persistent subscriptions, projections, users, gossip...).
    server.addService(StreamsService, {
      read: (call: ReadCall) => this.read(call),
      append: (call: grpc.ServerReadableStream<AppendReq, AppendResp>, callback: grpc.sendUnaryData<AppendResp>) =>
        this.append(call, callback),
    });
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${this.host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    (this as { port: number }).port = bound;
    this.server = server;
    // A node writes events of its own whenever it starts.
    this.data.writeSystemEvent('$epoch-information', '$epoch-information', { started: true });
  }

  // Client-streaming: one options message, then the proposed events. The whole append is
  // decided when the client half-closes, so it is atomic.
  private append(call: grpc.ServerReadableStream<AppendReq, AppendResp>, callback: grpc.sendUnaryData<AppendResp>): void {
    const messages: AppendReq[] = [];
    call.on('data', (m: AppendReq) => messages.push(m));
    call.on('error', () => undefined); // the client went away: nothing to write
    call.on('end', () => {
      try {
        callback(null, this.decideAppend(messages));
      } catch (err) {
        callback(asStatus(err));
      }
    });
  }

  private decideAppend(messages: AppendReq[]): AppendResp {
    const options = messages[0]?.getOptions();
    if (!options) throw rpcError(grpc.status.INVALID_ARGUMENT, 'first append message must be options');
    const streamId = streamName(options.getStreamIdentifier());
    const Case = AppendReq.Options.ExpectedStreamRevisionCase;
    const expected = ((): number => {
      switch (options.getExpectedStreamRevisionCase()) {
        case Case.REVISION:
          return toSafeNumber(options.getRevision(), 'expected revision');
        case Case.NO_STREAM:
          return EXPECTED_NO_STREAM;
        case Case.ANY:
          return EXPECTED_ANY;
        case Case.STREAM_EXISTS:
          return EXPECTED_STREAM_EXISTS;
        default:
          throw rpcError(grpc.status.INVALID_ARGUMENT, 'expected revision missing');
      }
    })();
    const events = messages.slice(1).map(toProposedEvent);

    const outcome = this.data.append(streamId, expected, events);
    const resp = new AppendResp();
    if (outcome.kind === 'wrong_expected_version') {
      const wev = new AppendResp.WrongExpectedVersion();
      if (outcome.current >= 0) wev.setCurrentRevision(String(outcome.current));
      else wev.setCurrentNoStream(new Empty());
      if (expected >= 0) wev.setExpectedRevision(String(expected));
      else if (expected === EXPECTED_NO_STREAM) wev.setExpectedNoStream(new Empty());
      else if (expected === EXPECTED_STREAM_EXISTS) wev.setExpectedStreamExists(new Empty());
      else wev.setExpectedAny(new Empty());
      return resp.setWrongExpectedVersion(wev);
    }
    const success = new AppendResp.Success();
    if (outcome.revision >= 0) success.setCurrentRevision(String(outcome.revision));
    else success.setNoStream(new Empty());
    if (outcome.position === undefined) success.setNoPosition(new Empty());
    else {
      const position = new AppendResp.Position();
      position.setCommitPosition(outcome.position.toString());
      position.setPreparePosition(outcome.position.toString());
      success.setPosition(position);
    }
    return resp.setSuccess(success);
  }

  private read(call: ReadCall): void {
    try {
      const options = call.request.getOptions();
      if (!options) throw rpcError(grpc.status.INVALID_ARGUMENT, 'read options missing');
      if (options.hasFilter() && options.hasStream()) throw rpcError(grpc.status.INVALID_ARGUMENT, 'filters apply to $all only');
      const filter = options.hasFilter() ? serverFilter(options.getFilter()!) : undefined;
      const structuredIds = options.getUuidOption()?.hasStructured() ?? false;
      const backwards = options.getReadDirection() === ReadReq.Options.ReadDirection.BACKWARDS;
      const subscription = options.hasSubscription();
      if (subscription && backwards) throw rpcError(grpc.status.INVALID_ARGUMENT, 'subscriptions read forwards');
      const count = subscription ? Infinity : Math.min(Number(BigInt(options.getCount())), Number.MAX_SAFE_INTEGER);

      const selection = options.hasStream()
        ? this.selectStream(options.getStream()!, backwards, subscription)
        : this.selectAll(options.getAll()!, backwards, subscription, filter?.accept);
      if (selection === 'stream_not_found') {
        const notFound = new ReadResp.StreamNotFound();
        notFound.setStreamIdentifier(options.getStream()!.getStreamIdentifier());
        call.write(new ReadResp().setStreamNotFound(notFound));
        call.end();
        return;
      }
      this.calls.add(call);
      const forget = () => this.calls.delete(call);
      call.on('cancelled', forget);
      call.on('finish', forget);
      if ('records' in selection) this.pageOut(call, selection.records, count, structuredIds);
      else this.subscribe(call, selection.from, selection.accept, structuredIds, filter?.checkpointEvery);
    } catch (err) {
      call.emit('error', asStatus(err));
    }
  }

  /** What a stream read sends, or where a stream subscription starts and what it takes. */
  private selectStream(options: ReadReq.Options.StreamOptions, backwards: boolean, subscription: boolean): Selection | 'stream_not_found' {
    const streamId = streamName(options.getStreamIdentifier());
    const stream = this.data.stream(streamId);
    const Case = ReadReq.Options.StreamOptions.RevisionOptionCase;
    const revisionCase = options.getRevisionOptionCase();
    const revision = revisionCase === Case.REVISION ? toSafeNumber(options.getRevision(), 'revision') : undefined;
    if (subscription) {
      // Subscriptions start after the given revision; from end means new events only.
      const from = revisionCase === Case.END ? this.data.all.length : 0;
      const after = revision ?? -1;
      return { from, accept: (r) => r.streamId === streamId && r.revision > after };
    }
    if (!stream) return 'stream_not_found';
    const last = stream.length - 1;
    if (backwards) {
      // Backwards from beyond the end starts at the last event, as on a node.
      const from = revisionCase === Case.START ? 0 : Math.min(revision ?? last, last);
      return { records: reversed(stream, from) };
    }
    const from = revisionCase === Case.END ? stream.length : (revision ?? 0);
    return { records: sliceFrom(stream, from) };
  }

  /**
   * $all positions compare as (commit, prepare) pairs, like the node's TFPos.
   * Forwards reads include the event at the position; backwards reads and subscriptions
   * exclude it (a node reads backwards from a post-position, and subscribes "after").
   */
  private selectAll(
    options: ReadReq.Options.AllOptions,
    backwards: boolean,
    subscription: boolean,
    accept: (r: LogRecord) => boolean = () => true,
  ): Selection {
    const log = this.data.all;
    // A finite read sends only what passes the filter; maxCount counts what is sent.
    const forwardsFrom = (from: number) => filtered(sliceFrom(log, from), accept);
    const backwardsFrom = (from: number) => filtered(reversed(log, from), accept);
    const Case = ReadReq.Options.AllOptions.AllOptionCase;
    const where = options.getAllOptionCase();
    if (where === Case.START) return subscription ? { from: 0, accept } : { records: backwards ? [] : forwardsFrom(0) };
    if (where === Case.END) {
      return subscription ? { from: log.length, accept } : { records: backwards ? backwardsFrom(log.length - 1) : [] };
    }
    const position = options.getPosition();
    if (where !== Case.POSITION || !position) throw rpcError(grpc.status.INVALID_ARGUMENT, 'read position missing');
    const commit = BigInt(position.getCommitPosition());
    const prepare = BigInt(position.getPreparePosition());
    // Records are (p, p) pairs; only the one at `commit` needs the prepare part to decide.
    const first = this.data.indexAtOrAfter(commit);
    const atCommit = log[first]?.position === commit;
    if (subscription) return { from: atCommit && commit <= prepare ? first + 1 : first, accept };
    const atOrAfter = atCommit && commit < prepare ? first + 1 : first;
    return { records: backwards ? backwardsFrom(atOrAfter - 1) : forwardsFrom(atOrAfter) };
  }

  /** A finite read: write at most `count` records, a slice at a time, then end the call. */
  private pageOut(call: ReadCall, records: Iterable<LogRecord>, count: number, structuredIds: boolean): void {
    const it = records[Symbol.iterator]();
    let sent = 0;
    const next = () => {
      for (let i = 0; i < READ_SLICE; i++) {
        if (!this.calls.has(call)) return; // cancelled or server stopping
        const r = sent < count ? it.next() : { done: true as const, value: undefined };
        if (r.done) {
          call.end();
          return;
        }
        sent++;
        if (!call.write(readEvent(r.value, structuredIds))) {
          call.once('drain', next);
          return;
        }
      }
      setImmediate(next);
    };
    next();
  }

  /**
   * Catch-up then live as one cursor over the log: send what is there, then wait for the
   * next write. The cursor is an index in the log, so nothing is skipped or sent twice
   * between catch-up and live. Honours the call's write buffer (waits for 'drain').
   */
  private subscribe(
    call: ReadCall,
    from: number,
    accept: (r: LogRecord) => boolean,
    structuredIds: boolean,
    checkpointEvery?: number,
  ): void {
    let cursor = from;
    let draining = false;
    let caughtUp = false;
    let scanned = 0;
    const pump = () => {
      if (draining || !this.calls.has(call)) return;
      const log = this.data.all;
      while (cursor < log.length) {
        const record = log[cursor++];
        scanned++;
        // A filtered subscription tells how far it has searched, matches or not, every so many records.
        const checkpoint = checkpointEvery !== undefined && scanned % checkpointEvery === 0 ? checkpointAt(record) : undefined;
        const message = accept(record) ? readEvent(record, structuredIds) : undefined;
        if (message === undefined && checkpoint === undefined) continue;
        const written = [message, checkpoint].filter((m) => m !== undefined).map((m) => call.write(m));
        if (written.includes(false)) {
          draining = true;
          call.once('drain', () => {
            draining = false;
            pump();
          });
          return;
        }
      }
      if (!caughtUp) {
        caughtUp = true;
        call.write(new ReadResp().setCaughtUp(new ReadResp.CaughtUp()));
      }
    };
    const unsubscribe = this.data.onWrite(pump);
    call.on('cancelled', unsubscribe);
    call.on('finish', unsubscribe);
    call.on('close', unsubscribe);
    const confirmation = new ReadResp.SubscriptionConfirmation();
    confirmation.setSubscriptionId(randomUUID());
    call.write(new ReadResp().setConfirmation(confirmation));
    pump();
  }
}

type Selection =
  /** A finite read: the records, in the order to send. */
  | { records: Iterable<LogRecord> }
  /** A subscription: the index in the log to start from, and which records to send. */
  | { from: number; accept: (r: LogRecord) => boolean };

function* sliceFrom(records: readonly LogRecord[], from: number): Iterable<LogRecord> {
  for (let i = Math.max(0, from); i < records.length; i++) yield records[i];
}

function* reversed(records: readonly LogRecord[], from: number): Iterable<LogRecord> {
  for (let i = Math.min(from, records.length - 1); i >= 0; i--) yield records[i];
}

function* filtered(records: Iterable<LogRecord>, accept: (r: LogRecord) => boolean): Iterable<LogRecord> {
  for (const r of records) if (accept(r)) yield r;
}

/** The window of a filter when the client asks for none ("count"): the node's default. */
const FILTER_WINDOW_DEFAULT = 32;

/**
 * The node's server-side filter: on the stream name or the event type, by prefixes (any of
 * them) or by a regular expression; a subscription also sends a checkpoint every
 * `checkpointIntervalMultiplier` windows of records searched.
 */
function serverFilter(options: ReadReq.Options.FilterOptions): { accept: (r: LogRecord) => boolean; checkpointEvery: number } {
  const Case = ReadReq.Options.FilterOptions.FilterCase;
  const onStream = options.getFilterCase() === Case.STREAM_IDENTIFIER;
  const expression = onStream ? options.getStreamIdentifier() : options.getEventType();
  if (!expression) throw rpcError(grpc.status.INVALID_ARGUMENT, 'filter expression missing');
  const prefixes = expression.getPrefixList();
  const regex = expression.getRegex();
  const matches =
    prefixes.length > 0
      ? (value: string) => prefixes.some((p) => value.startsWith(p))
      : regex
        ? (
            (pattern: RegExp) => (value: string) =>
              pattern.test(value)
          )(new RegExp(regex))
        : () => true;
  const window = options.hasMax() ? options.getMax() : FILTER_WINDOW_DEFAULT;
  const multiplier = options.getCheckpointintervalmultiplier();
  if (!(window > 0) || !(multiplier > 0))
    throw rpcError(grpc.status.INVALID_ARGUMENT, 'filter window and checkpoint interval must be positive');
  return {
    accept: onStream ? (r) => matches(r.streamId) : (r) => matches(r.type),
    checkpointEvery: window * multiplier,
  };
}

function checkpointAt(r: LogRecord): ReadResp {
  const checkpoint = new ReadResp.Checkpoint();
  checkpoint.setCommitPosition(r.position.toString());
  checkpoint.setPreparePosition(r.position.toString());
  return new ReadResp().setCheckpoint(checkpoint);
}

function supportedMethods(): SupportedMethods {
  const method = (service: string, name: string, features: string[] = []) => {
    const m = new SupportedMethod();
    m.setServiceName(service);
    m.setMethodName(name);
    m.setFeaturesList(features);
    return m;
  };
  // BatchAppend is deliberately absent: the client then appends with Streams.Append.
  const result = new SupportedMethods();
  result.setEventStoreServerVersion(SERVER_VERSION);
  result.setMethodsList([
    method(STREAMS_SERVICE, 'read', ['position', 'events']),
    method(STREAMS_SERVICE, 'append'),
    method(FEATURES_SERVICE, 'getsupportedmethods'),
  ]);
  return result;
}

function toProposedEvent(message: AppendReq): ProposedEvent {
  const proposed = message.getProposedMessage();
  if (!proposed) throw rpcError(grpc.status.INVALID_ARGUMENT, 'expected a proposed message after the options');
  const metadata = proposed.getMetadataMap();
  const type = metadata.get('type');
  const contentType = metadata.get('content-type');
  if (!type || !contentType) {
    throw rpcError(grpc.status.INVALID_ARGUMENT, 'required metadata property type or content-type is missing');
  }
  const eventId = parseUuid(proposed.getId());
  return {
    eventId,
    type,
    contentType,
    data: proposed.getData_asU8(),
    customMetadata: proposed.getCustomMetadata_asU8(),
  };
}

function readEvent(r: LogRecord, structuredIds: boolean): ReadResp {
  const recorded = new ReadResp.ReadEvent.RecordedEvent();
  recorded.setId(toUuid(r.eventId, structuredIds));
  recorded.setStreamIdentifier(new StreamIdentifier().setStreamName(Buffer.from(r.streamId, 'utf8')));
  recorded.setStreamRevision(String(r.revision));
  recorded.setCommitPosition(r.position.toString());
  recorded.setPreparePosition(r.position.toString());
  recorded
    .getMetadataMap()
    .set('type', r.type)
    .set('content-type', r.contentType)
    // Ticks since the Unix epoch (not since year 1), as a decimal string.
    .set('created', r.createdTicks.toString());
  recorded.setData(r.data);
  recorded.setCustomMetadata(r.customMetadata);
  const event = new ReadResp.ReadEvent();
  event.setEvent(recorded);
  event.setCommitPosition(r.position.toString());
  return new ReadResp().setEvent(event);
}

function streamName(identifier: StreamIdentifier | undefined): string {
  const name = identifier?.getStreamName_asU8();
  if (!name || name.length === 0) throw rpcError(grpc.status.INVALID_ARGUMENT, 'stream name missing');
  return Buffer.from(name).toString('utf8');
}

function parseUuid(id: UUID | undefined): string {
  if (id?.hasString()) return id.getString().toLowerCase();
  const structured = id?.getStructured();
  if (!structured) throw rpcError(grpc.status.INVALID_ARGUMENT, 'event id missing');
  const hex = (bits: string) => BigInt.asUintN(64, BigInt(bits)).toString(16).padStart(16, '0');
  const h = hex(structured.getMostSignificantBits()) + hex(structured.getLeastSignificantBits());
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function toUuid(id: string, structured: boolean): UUID {
  const uuid = new UUID();
  if (!structured) return uuid.setString(id);
  const hex = id.replace(/-/g, '');
  const bits = (h: string) => BigInt.asIntN(64, BigInt(`0x${h}`)).toString();
  const s = new UUID.Structured();
  s.setMostSignificantBits(bits(hex.slice(0, 16)));
  s.setLeastSignificantBits(bits(hex.slice(16)));
  return uuid.setStructured(s);
}

function toSafeNumber(decimal: string, what: string): number {
  const n = Number(decimal);
  if (!Number.isSafeInteger(n)) throw rpcError(grpc.status.INVALID_ARGUMENT, `${what} ${decimal} out of range`);
  return n;
}

interface RpcError {
  code: grpc.status;
  details: string;
}

const rpcError = (code: grpc.status, details: string): RpcError => ({ code, details });

function asStatus(err: unknown): RpcError {
  if (typeof err === 'object' && err !== null && 'code' in err && 'details' in err) return err as RpcError;
  return rpcError(grpc.status.INTERNAL, err instanceof Error ? err.message : String(err));
}
