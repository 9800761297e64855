import { Refused, InvalidInput } from '@ledger/domain';
import { EventStore, EventToAppend, JsonObject, RecordedEvent, headPosition } from '@ledger/event-store';
import { ChainChecker } from './chain-check';
import { describeDivergence } from './divergence';

/**
 * The log as JSON Lines: one event per line, in position order (or revision order for one
 * stream), with every field the store holds, so the file alone can be verified (hash
 * chains) and imported into an empty store of any adapter.
 *
 *   {"streamId":…,"revision":…,"position":…,"eventId":…,"type":…,"data":{…},"metadata":{…,"prevHash":…,"hash":…},"recordedAt":…}
 */
export interface ExportedEvent {
  streamId: string;
  revision: number;
  position: number;
  eventId: string;
  type: string;
  data: JsonObject;
  metadata: JsonObject;
  recordedAt: string;
}

/** One line, fields in a fixed order (no trailing newline). */
export const exportLine = (e: RecordedEvent): string =>
  JSON.stringify({
    streamId: e.streamId,
    revision: e.revision,
    position: e.position,
    eventId: e.eventId,
    type: e.type,
    data: e.data,
    metadata: e.metadata,
    recordedAt: e.recordedAt,
  });

const STREAM_PAGE = 5_000;
const LOG_PAGE = 5_000;

/**
 * Writes the whole log (or one stream) through `write`, awaiting it so a slow consumer
 * (a pipe) holds the reading back. Returns the number of events written.
 */
export async function exportEvents(
  store: EventStore,
  write: (line: string) => void | Promise<void>,
  options: { stream?: string; onProgress?: (position: number, head: number) => void } = {},
): Promise<number> {
  let count = 0;
  if (options.stream !== undefined) {
    // Bounded by the stream's length: each page moves fromRevision past what it returned.
    for (let from = 0; ;) {
      const page = await store.readStream(options.stream, { fromRevision: from, maxCount: STREAM_PAGE });
      for (const e of page) {
        await write(exportLine(e));
        count += 1;
      }
      if (page.length < STREAM_PAGE) return count;
      from = page[page.length - 1].revision + 1;
    }
  }
  const head = await headPosition(store);
  if (head === undefined) return 0;
  // Paged like scanAll, but with each line awaited: a pipe that reads slowly holds the reading back.
  let from: number | undefined;
  for (;;) {
    const page = await store.readAll({ fromPosition: from, maxCount: LOG_PAGE + 1 });
    let fresh = 0;
    for (const e of page) {
      if (from !== undefined && e.position <= from) continue; // the page starts at `from` inclusive
      if (e.position > head) return count;
      await write(exportLine(e));
      from = e.position;
      fresh += 1;
      count += 1;
    }
    if (from !== undefined) options.onProgress?.(from, head);
    if (fresh === 0 || page.length <= LOG_PAGE) return count;
  }
}

export interface ImportOptions {
  /**
   * Sets the clock the target store stamps `recordedAt` with, before each group of events
   * recorded together in the source: with it, recorded times are reproduced exactly
   * (SQLite: `SqliteEventStore.open(file, { now })`; memory: its constructor's clock).
   * Without it the target's own clock stamps them (EventStoreDB always does).
   */
  setRecordedAt?: (recordedAt: Date) => void;
  /** Import a file whose hash chains do not verify (to investigate it); refused by default. */
  allowBrokenChain?: boolean;
  onProgress?: (events: number) => void;
}

export interface ImportResult {
  events: number;
  streams: number;
  recordedAtPreserved: boolean;
}

/** Events appended together: one flush of the target store, and one recorded time. */
const GROUP_EVENTS_MAX = 5_000;

/**
 * Reads an export into an EMPTY store (refused otherwise: merging logs would invent an
 * order nobody recorded). Events are appended in the file's order, which must be the log
 * order (positions increasing, each stream's revisions 0, 1, 2, … with no gap), each
 * append at its exact expected revision; metadata, hashes included, is copied verbatim,
 * so every hash chain is identical. Positions get the target's values, in the same order.
 */
export async function importEvents(store: EventStore, lines: AsyncIterable<string>, options: ImportOptions = {}): Promise<ImportResult> {
  if ((await store.readAll({ maxCount: 1 })).length > 0) {
    throw new Refused('store_not_empty', 'the target event store is not empty: import only into a new store');
  }
  const chain = new ChainChecker();
  const nextRevision = new Map<string, number>();
  let group: ExportedEvent[] = [];
  let lineNo = 0;
  let imported = 0;
  let lastPosition = -1;

  const flush = async () => {
    if (group.length === 0) return;
    const events = group;
    group = [];
    if (options.setRecordedAt) options.setRecordedAt(new Date(events[0].recordedAt));
    // Consecutive events of one stream form one append; all appends of the group are issued
    // together so the store commits them in this order, in one transaction where it can.
    const appends: Promise<{ position: number }>[] = [];
    for (let i = 0; i < events.length;) {
      let j = i + 1;
      while (j < events.length && events[j].streamId === events[i].streamId) j += 1;
      const run = events.slice(i, j);
      const toAppend: EventToAppend[] = run.map((e) => ({ eventId: e.eventId, type: e.type, data: e.data, metadata: e.metadata }));
      appends.push(
        store.appendToStream(run[0].streamId, toAppend, { expectedRevision: run[0].revision === 0 ? 'no_stream' : run[0].revision - 1 }),
      );
      i = j;
    }
    const results = await Promise.all(appends);
    for (let k = 1; k < results.length; k++) {
      // The store kept the file's order.
      if (!(results[k].position > results[k - 1].position)) throw new Error('the target store did not keep the order of the appends');
    }
    imported += events.length;
    options.onProgress?.(imported);
  };

  for await (const raw of lines) {
    lineNo += 1;
    const text = raw.trim();
    if (text === '') continue;
    const e = parseExportLine(text, lineNo);
    if (!(e.position > lastPosition))
      throw new InvalidInput(
        `line ${lineNo}`,
        `position ${e.position} is not after the previous line's ${lastPosition}: the file is not in log order`,
      );
    lastPosition = e.position;
    const expected = nextRevision.get(e.streamId) ?? 0;
    if (e.revision !== expected)
      throw new InvalidInput(
        `line ${lineNo}`,
        `${e.streamId} revision ${e.revision} where ${expected} was due: events are missing or out of order`,
      );
    nextRevision.set(e.streamId, expected + 1);
    const broken = chain.check({ ...e });
    if (broken && !options.allowBrokenChain) throw new InvalidInput(`line ${lineNo}`, `hash chain broken: ${describeDivergence(broken)}`);
    const sameTime = group.length === 0 || !options.setRecordedAt || group[0].recordedAt === e.recordedAt;
    if (!sameTime || group.length >= GROUP_EVENTS_MAX) await flush();
    group.push(e);
  }
  await flush();
  return { events: imported, streams: nextRevision.size, recordedAtPreserved: options.setRecordedAt !== undefined };
}

function parseExportLine(text: string, lineNo: number): ExportedEvent {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new InvalidInput(`line ${lineNo}`, 'is not JSON');
  }
  const e = v as Partial<ExportedEvent>;
  const isObject = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);
  const bad = (field: string, reason: string) => new InvalidInput(`line ${lineNo}.${field}`, reason);
  if (!isObject(e)) throw new InvalidInput(`line ${lineNo}`, 'must be a JSON object');
  if (typeof e.streamId !== 'string' || e.streamId === '') throw bad('streamId', 'must be a non-empty string');
  if (!Number.isSafeInteger(e.revision) || e.revision! < 0) throw bad('revision', 'must be a whole number');
  if (!Number.isSafeInteger(e.position) || e.position! < 0) throw bad('position', 'must be a whole number');
  if (typeof e.eventId !== 'string' || e.eventId === '') throw bad('eventId', 'must be a non-empty string');
  if (typeof e.type !== 'string' || e.type === '') throw bad('type', 'must be a non-empty string');
  if (!isObject(e.data)) throw bad('data', 'must be a JSON object');
  if (!isObject(e.metadata)) throw bad('metadata', 'must be a JSON object');
  if (typeof e.recordedAt !== 'string' || Number.isNaN(Date.parse(e.recordedAt))) throw bad('recordedAt', 'must be an ISO 8601 time');
  return e as ExportedEvent;
}
