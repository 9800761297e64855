import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { EventToAppend, ReadStreamOptions, RecordedEvent } from '../port';
import { SqliteEventStore } from './sqlite-event-store';
import { ReaderThreadGone, SqliteReadFailed, WorkerStreamReader } from './stream-reader';

const event = (i: number): EventToAppend => ({
  eventId: randomUUID(),
  type: 'PointsAccrued',
  data: { i, note: `event ${i}` },
  metadata: { hash: String(i).padStart(64, '0') },
});

/** Stream reads in a thread of their own, for a store opened with writer: 'worker' (the API and the CLI). */
describe('SqliteEventStore stream reads in the reader thread', () => {
  let dir: string;
  let file: string;
  const opened: SqliteEventStore[] = [];
  const open = (writer: 'inline' | 'worker') => {
    const store = SqliteEventStore.open(file, { writer });
    opened.push(store);
    return store;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-stream-reader-'));
    file = join(dir, 'ledger.db');
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers what a read on the caller’s connection answers, forwards and backwards, from any revision, to any count', async () => {
    const threaded = open('worker');
    const inline = open('inline');
    for (let i = 0; i < 12; i++) await threaded.appendToStream('member-a', [event(i), event(100 + i)], { expectedRevision: 'any' });
    await threaded.appendToStream('member-b', [event(999)], { expectedRevision: 'no_stream' });
    const asks: ReadStreamOptions[] = [
      {},
      { fromRevision: 5 },
      { fromRevision: 5, maxCount: 3 },
      { maxCount: 0 },
      { direction: 'backwards' },
      { direction: 'backwards', fromRevision: 7, maxCount: 4 },
      { fromRevision: 500 },
      { metadata: 'hash' },
      { direction: 'backwards', maxCount: 1, metadata: 'hash' },
    ];
    for (const ask of asks) {
      const seen: RecordedEvent[] = await threaded.readStream('member-a', ask);
      expect({ ask, seen }).toEqual({ ask, seen: await inline.readStream('member-a', ask) });
    }
    expect(await threaded.readStream('member-none')).toEqual([]);
    expect(threaded.stats().streamReadsInThread).toBe(asks.length + 1);
    expect(inline.stats().streamReadsInThread).toBe(0);
  });

  it('reads asked together go to the thread together, and each gets its own stream’s answer', async () => {
    const store = open('worker');
    for (let i = 1; i <= 30; i++) {
      await store.appendToStream(
        `member-${i}`,
        Array.from({ length: i }, (_, j) => event(i * 100 + j)),
        { expectedRevision: 'no_stream' },
      );
    }
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => store.readStream(`member-${i + 1}`, { fromRevision: 1 })));
    answers.forEach((events, i) => {
      expect(events.map((e) => e.streamId)).toEqual(Array.from({ length: i }, () => `member-${i + 1}`));
      expect(events.map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: i }, (_, j) => (i + 1) * 100 + j + 1));
    });
    expect(store.stats().streamReadsInThread).toBe(30);
  });

  it('sees every append acknowledged before the read was asked', async () => {
    const store = open('worker');
    for (let i = 0; i < 100; i++) {
      const { nextExpectedRevision } = await store.appendToStream('member-a', [event(i)], {
        expectedRevision: i - 1 === -1 ? 'no_stream' : i - 1,
      });
      const [last] = await store.readStream('member-a', { direction: 'backwards', maxCount: 1 });
      expect(last.revision).toBe(nextExpectedRevision);
    }
    // Reads and appends in flight together: each read sees at least what was acknowledged before it.
    const acknowledged: number[] = [];
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        await store.appendToStream(`member-${i}`, [event(i)], { expectedRevision: 'no_stream' });
        acknowledged.push(i);
        const seen = acknowledged.slice();
        for (const j of seen) expect(await store.readStream(`member-${j}`)).toHaveLength(1);
      }),
    );
  });

  it('when the thread has ended, reads go on, on the caller’s connection', async () => {
    const store = open('worker');
    await store.appendToStream('member-a', [event(1), event(2)], { expectedRevision: 'no_stream' });
    expect(await store.readStream('member-a')).toHaveLength(2);
    const reader = (store as unknown as { streamReader: WorkerStreamReader }).streamReader;
    await (reader as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    expect(reader.available).toBe(false);
    const before = store.stats().streamReadsInThread;
    expect((await store.readStream('member-a')).map((e) => e.data)).toEqual([event(1).data, event(2).data]);
    expect(store.stats().streamReadsInThread).toBe(before);
  });
});

describe('WorkerStreamReader', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-stream-reader-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const sql = {
    forwards: 'SELECT stream_id, n FROM t WHERE stream_id = ? AND n >= ? ORDER BY n LIMIT ?',
    backwards: 'SELECT stream_id, n FROM t WHERE stream_id = ? AND n <= ? ORDER BY n DESC LIMIT ?',
    forwardsHash: "SELECT stream_id, n, 'h' FROM t WHERE stream_id = ? AND n >= ? ORDER BY n LIMIT ?",
    backwardsHash: "SELECT stream_id, n, 'h' FROM t WHERE stream_id = ? AND n <= ? ORDER BY n DESC LIMIT ?",
  };

  it('a read SQLite refuses in the thread comes back as SqliteReadFailed with SQLite’s code; the thread goes on', async () => {
    const file = join(dir, 'x.db');
    const db = new Database(file);
    db.exec("CREATE TABLE t (stream_id TEXT, n INTEGER); INSERT INTO t VALUES ('s', 1), ('s', 2)");
    const reader = new WorkerStreamReader(file, 1_000, sql);
    try {
      expect(await reader.read('s', 0, 10, false)).toEqual([
        ['s', 1],
        ['s', 2],
      ]);
      db.exec('DROP TABLE t');
      const error = await reader.read('s', 0, 10, false).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SqliteReadFailed);
      expect((error as SqliteReadFailed).code).toMatch(/^SQLITE_/);
      db.exec("CREATE TABLE t (stream_id TEXT, n INTEGER); INSERT INTO t VALUES ('s', 3)");
      expect(await reader.read('s', 9, 10, true)).toEqual([['s', 3]]);
      expect(await reader.read('s', 0, 10, false, true)).toEqual([['s', 3, 'h']]);
      expect(reader.available).toBe(true);
    } finally {
      await reader.close();
      db.close();
    }
  });

  it('a file it cannot open leaves it gone, with the driver’s reason, and every read refused', async () => {
    const reader = new WorkerStreamReader(join(dir, 'missing', 'x.db'), 1_000, sql);
    const error = await reader.read('s', 0, 1, false).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReaderThreadGone);
    expect((error as Error).message).toMatch(/could not open the file/);
    expect(reader.available).toBe(false);
    await expect(reader.read('s', 0, 1, false)).rejects.toBeInstanceOf(ReaderThreadGone);
    await reader.close();
  });
});
