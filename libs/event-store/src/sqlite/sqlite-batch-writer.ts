/**
 * The write half of the SQLite store: one group commit of appends, each with its own expected
 * revision check, in one IMMEDIATE transaction (one fsync). It runs either on the caller's
 * thread or in a worker thread, so the commit and its fsync stay off the event loop that parses
 * and decides requests.
 *
 * `sqliteWriterProgram` is self-contained on purpose: a worker runs it from its source text
 * (`Function.prototype.toString`), which works the same from the compiled tree and under the
 * test runner's on-the-fly compilation. It may therefore use nothing from this module's scope,
 * only `require` inside its body.
 */
import type Database from 'better-sqlite3';

/** An event already turned into column values. */
export interface EncodedEvent {
  eventId: string;
  type: string;
  data: string;
  metadata: string;
}

export type ExpectedRevisionValue = number | 'no_stream' | 'stream_exists' | 'any';

/** One stream's events with the revision it must be at. */
export interface StreamToWrite {
  streamId: string;
  expectedRevision: ExpectedRevisionValue;
  /** The id the event at expectedRevision must have (an append chained onto unacknowledged events). */
  expectedLastEventId?: string;
  events: EncodedEvent[];
}

/**
 * One acknowledged unit of a group commit: one stream (appendToStream) or several written all
 * or nothing (appendToStreams). Each unit keeps its own checks; a refused unit writes nothing
 * and the others of the batch still commit.
 */
export interface AppendToWrite {
  parts: StreamToWrite[];
}

/** Plain data, so it crosses a thread boundary as it is. */
export type WriteOutcome =
  | { ok: true; results: { nextExpectedRevision: number; position: number }[] }
  | { ok: false; streamId: string; expected: ExpectedRevisionValue; actual: number | 'no_stream' };

export interface BatchWriter {
  /** Writes the batch in one transaction; throws (and writes nothing) when the transaction fails. */
  write(batch: AppendToWrite[], recordedAt: string): WriteOutcome[];
}

/** A failed transaction, as a worker reports it: the SQLite error's message and code. */
export interface WriterFailure {
  message: string;
  code?: string;
}

/** What the worker is told at start. */
export interface WriterWorkerData {
  /**
   * `driver`: where better-sqlite3 is, resolved by the thread that starts the worker. Code run
   * from source text resolves bare module names from the working directory, which need not be
   * the installation's (`ledger` started from any directory).
   */
  sqliteWriter: { file: string; busyTimeoutMs: number; driver: string };
}

/**
 * A group commit as it crosses to the writer thread and back: flat arrays of strings and
 * numbers instead of nested objects. In an echo between two threads, nested objects cost the
 * sending thread about 175 µs for a commit of 25 accruals and a round trip of 400 µs; the flat
 * arrays, 57 µs and 140 µs.
 *
 * A batch: its number of appends, then for each its number of parts, then for each part the
 * stream, the expected revision, the expected last event id (null if none) and its number of
 * events, then for each event its id, type, data and metadata. Outcomes: for each append 1,
 * its number of results, then for each result the next expected revision and the position;
 * or 0, the refused stream, the revision it expected and the one it found.
 */
export type FlatBatch = (string | number | null)[];
export type FlatOutcomes = (string | number)[];

export function flattenBatch(batch: readonly AppendToWrite[]): FlatBatch {
  const flat: FlatBatch = [batch.length];
  for (const { parts } of batch) {
    flat.push(parts.length);
    for (const p of parts) {
      flat.push(p.streamId, p.expectedRevision, p.expectedLastEventId ?? null, p.events.length);
      for (const e of p.events) flat.push(e.eventId, e.type, e.data, e.metadata);
    }
  }
  return flat;
}

export function unflattenOutcomes(flat: FlatOutcomes): WriteOutcome[] {
  const outcomes: WriteOutcome[] = [];
  let i = 0;
  while (i < flat.length) {
    if (flat[i++] === 1) {
      const results: { nextExpectedRevision: number; position: number }[] = [];
      for (let n = flat[i++] as number; n > 0; n--)
        results.push({ nextExpectedRevision: flat[i++] as number, position: flat[i++] as number });
      outcomes.push({ ok: true, results });
    } else {
      outcomes.push({
        ok: false,
        streamId: flat[i++] as string,
        expected: flat[i++] as ExpectedRevisionValue,
        actual: flat[i++] as number | 'no_stream',
      });
    }
  }
  return outcomes;
}

export type WriterRequest = { id: number; batch: FlatBatch; recordedAt: string };
export type WriterReply =
  | { id: number; outcomes: FlatOutcomes; durationMs: number }
  | { id: number; failure: WriterFailure }
  | { ready: true }
  | { startFailure: WriterFailure };

export function sqliteWriterProgram(): {
  createBatchWriter: (db: Database.Database) => BatchWriter;
  unflattenBatch: (flat: FlatBatch) => AppendToWrite[];
  flattenOutcomes: (outcomes: readonly WriteOutcome[]) => FlatOutcomes;
} {
  /* eslint-disable @typescript-eslint/no-require-imports -- run from its source text in a worker: no module scope */
  const { isMainThread, parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');

  const matches = (expected: ExpectedRevisionValue, current: number): boolean =>
    expected === 'any'
      ? true
      : expected === 'no_stream'
        ? current === -1
        : expected === 'stream_exists'
          ? current >= 0
          : expected === current;

  const fail = (what: string): never => {
    throw new Error(`sqlite writer invariant broken: ${what}`);
  };

  // The writer thread's halves of the flat format (FlatBatch, FlatOutcomes above).
  function unflattenBatch(flat: FlatBatch): AppendToWrite[] {
    let i = 0;
    const next = () => flat[i++];
    const batch: AppendToWrite[] = [];
    for (let appends = next() as number; appends > 0; appends--) {
      const parts: StreamToWrite[] = [];
      for (let n = next() as number; n > 0; n--) {
        const streamId = next() as string;
        const expectedRevision = next() as ExpectedRevisionValue;
        const lastEventId = next() as string | null;
        const events: EncodedEvent[] = [];
        for (let k = next() as number; k > 0; k--) {
          events.push({ eventId: next() as string, type: next() as string, data: next() as string, metadata: next() as string });
        }
        parts.push(
          lastEventId === null
            ? { streamId, expectedRevision, events }
            : { streamId, expectedRevision, expectedLastEventId: lastEventId, events },
        );
      }
      batch.push({ parts });
    }
    if (i !== flat.length) fail('a flat batch is read to its end');
    return batch;
  }

  function flattenOutcomes(outcomes: readonly WriteOutcome[]): FlatOutcomes {
    const flat: FlatOutcomes = [];
    for (const o of outcomes) {
      if (o.ok) {
        flat.push(1, o.results.length);
        for (const r of o.results) flat.push(r.nextExpectedRevision, r.position);
      } else {
        flat.push(0, o.streamId, o.expected, o.actual);
      }
    }
    return flat;
  }

  function createBatchWriter(db: Database.Database): BatchWriter {
    const currentRevision = db.prepare<[string], { revision: number | null }>(
      'SELECT max(revision) AS revision FROM events WHERE stream_id = ?',
    );
    const lastPosition = db.prepare<[], { position: number | null }>('SELECT max(position) AS position FROM events');
    const eventIdAt = db.prepare<[string, number], { event_id: string }>(
      'SELECT event_id FROM events WHERE stream_id = ? AND revision = ?',
    );
    const chainHolds = (p: StreamToWrite): boolean =>
      p.expectedLastEventId === undefined ||
      (typeof p.expectedRevision === 'number' && eventIdAt.get(p.streamId, p.expectedRevision)?.event_id === p.expectedLastEventId);
    const insert = db.prepare<[string, number, string, string, string, string, string]>(
      `INSERT INTO events (stream_id, revision, event_id, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    const writePart = ({ streamId, events }: StreamToWrite, current: number, recordedAt: string) => {
      if (events.length === 0) {
        // Nothing written: report the stream as it is and the log's current end.
        return { nextExpectedRevision: current, position: lastPosition.get()?.position ?? -1 };
      }
      let revision = current;
      let position = -1;
      for (const e of events) {
        revision += 1;
        const info = insert.run(streamId, revision, e.eventId, e.type, e.data, e.metadata, recordedAt);
        if (typeof info.lastInsertRowid !== 'number') fail('positions are read as numbers');
        if ((info.lastInsertRowid as number) <= position) fail('positions grow within a transaction');
        position = info.lastInsertRowid as number;
      }
      if (!Number.isSafeInteger(position)) fail('positions stay safe integers');
      return { nextExpectedRevision: revision, position };
    };
    const apply = (batch: AppendToWrite[], recordedAt: string): WriteOutcome[] =>
      batch.map(({ parts }): WriteOutcome => {
        // Read inside the transaction, never cached: another process may write the file, and
        // an earlier append of this batch to the same stream counts as a committed one does.
        // Every part is checked before any is written, so a refused unit writes nothing (its
        // streams are distinct, so one part's writes cannot change another's check).
        const currents = parts.map((p) => currentRevision.get(p.streamId)?.revision ?? -1);
        // A part chained onto events not yet acknowledged also needs them written (pipelinedAppends).
        const refused = parts.findIndex((p, i) => !matches(p.expectedRevision, currents[i]) || !chainHolds(p));
        if (refused !== -1) {
          const { streamId, expectedRevision } = parts[refused];
          const current = currents[refused];
          return { ok: false, streamId, expected: expectedRevision, actual: current === -1 ? 'no_stream' : current };
        }
        return { ok: true, results: parts.map((p, i) => writePart(p, currents[i], recordedAt)) };
      });
    // IMMEDIATE takes the write lock before the revision reads, so another process cannot
    // commit between our check and our insert, and a lock wait goes through busy_timeout
    // instead of failing on a read-to-write upgrade.
    const transaction = db.transaction(apply).immediate;
    return { write: (batch, recordedAt) => transaction(batch, recordedAt) };
  }

  const data = workerData as WriterWorkerData | undefined;
  if (!isMainThread && parentPort && data?.sqliteWriter) {
    const port = parentPort;
    const failure = (error: unknown): WriterFailure => ({
      message: error instanceof Error ? error.message : String(error),
      code: (error as { code?: unknown }).code === undefined ? undefined : String((error as { code?: unknown }).code),
    });
    try {
      const BetterSqlite = require(data.sqliteWriter.driver) as typeof Database;
      const busyTimeoutMs = data.sqliteWriter.busyTimeoutMs;
      // The lock is waited for here, in JavaScript, not in SQLite's busy handler: a thread asleep
      // inside SQLite cannot be stopped, so a process exiting (a shutdown past its grace) would
      // wait for it, and the error SQLite then raises into the stopped thread aborts the process.
      // Atomics.wait is interrupted when the thread is told to stop.
      const db = new BetterSqlite(data.sqliteWriter.file, { timeout: 0 });
      db.pragma('busy_timeout = 0');
      // The connection that commits is the one whose fsync makes an append durable.
      db.pragma('synchronous = FULL');
      const batchWriter = createBatchWriter(db);
      const pause = new Int32Array(new SharedArrayBuffer(4));
      const writer: BatchWriter = {
        write: (batch, recordedAt) => {
          const deadline = performance.now() + busyTimeoutMs;
          for (let waitMs = 1; ; waitMs = Math.min(waitMs * 2, 20)) {
            try {
              return batchWriter.write(batch, recordedAt);
            } catch (error) {
              // A refused lock writes nothing (the transaction rolled back): try again until the timeout.
              const code = (error as { code?: unknown }).code;
              const left = deadline - performance.now();
              if (!(typeof code === 'string' && code.startsWith('SQLITE_BUSY')) || left <= 0) throw error;
              Atomics.wait(pause, 0, 0, Math.min(waitMs, left));
            }
          }
        },
      };
      port.on('message', (request: WriterRequest | 'close') => {
        if (request === 'close') {
          db.close();
          port.close();
          return;
        }
        const started = performance.now();
        try {
          const outcomes = writer.write(unflattenBatch(request.batch), request.recordedAt);
          port.postMessage({
            id: request.id,
            outcomes: flattenOutcomes(outcomes),
            durationMs: performance.now() - started,
          } satisfies WriterReply);
        } catch (error) {
          port.postMessage({ id: request.id, failure: failure(error) } satisfies WriterReply);
        }
      });
      port.postMessage({ ready: true } satisfies WriterReply);
    } catch (error) {
      port.postMessage({ startFailure: failure(error) } satisfies WriterReply);
    }
  }
  return { createBatchWriter, unflattenBatch, flattenOutcomes };
  /* eslint-enable @typescript-eslint/no-require-imports */
}
