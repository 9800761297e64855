import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describeEventStoreContract } from '../contract/event-store.contract';
import { EventToAppend, RecordedEvent, StoreUnavailable, WrongExpectedVersion } from '../port';
import { SqliteEventStore } from './sqlite-event-store';
import { SqliteReadFailed, WorkerStreamReader } from './stream-reader';

const WRITERS = ['inline', 'worker'] as const;

for (const writer of WRITERS) {
  describeEventStoreContract(`sqlite (${writer} writer)`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-sqlite-contract-'));
    const store = SqliteEventStore.open(join(dir, 'nested', 'ledger.db'), { pollIntervalMs: 50, writer });
    return {
      store,
      cleanup: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}

describe.each(WRITERS)('SqliteEventStore (%s writer)', (writer) => {
  let dir: string;
  let file: string;
  const opened: SqliteEventStore[] = [];

  const open = (options?: Parameters<typeof SqliteEventStore.open>[1]) => {
    const store = SqliteEventStore.open(file, { writer, ...options });
    opened.push(store);
    return store;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-sqlite-'));
    file = join(dir, 'ledger.db');
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a read the file cannot serve (I/O error, lock) is StoreUnavailable from readStream, readAll and scanAll', async () => {
    // SQLite's read failures cannot be provoked on demand in WAL mode; the statements the
    // store prepares are made to throw SQLite's own error while `failing` is set.
    let failing = false;
    const prepare = Database.prototype.prepare;
    const spy = jest.spyOn(Database.prototype, 'prepare').mockImplementation(function (this: Database.Database, sql: string) {
      const statement = prepare.call(this, sql);
      const proxy: Database.Statement = new Proxy(statement, {
        get(target, prop) {
          if (prop === 'all' && failing) {
            return () => {
              throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_READ' });
            };
          }
          const value = Reflect.get(target, prop, target) as unknown;
          if (typeof value !== 'function') return value;
          // Chained settings (`raw(true)`) return the statement: hand back the proxy instead.
          return (...args: unknown[]) => {
            const result = (value as (...a: unknown[]) => unknown).apply(target, args);
            return result === target ? proxy : result;
          };
        },
      });
      return proxy;
    } as typeof prepare);
    // The worker writer's stream reads run in the reader thread, on statements of its own: its
    // answer is made SQLite's same error there.
    const read = WorkerStreamReader.prototype.read;
    const threadSpy = jest.spyOn(WorkerStreamReader.prototype, 'read').mockImplementation(function (
      this: WorkerStreamReader,
      ...args: Parameters<typeof read>
    ) {
      return failing ? Promise.reject(new SqliteReadFailed('disk I/O error', 'SQLITE_IOERR_READ')) : read.apply(this, args);
    });
    try {
      const store = open();
      await store.appendToStream('member-1', events(2), { expectedRevision: 'no_stream' });
      failing = true;
      const reads: Array<[string, Promise<unknown>]> = [
        ['readStream', store.readStream('member-1')],
        ['readAll', store.readAll()],
        ['scanAll', store.scanAll({ upTo: Number.MAX_SAFE_INTEGER }, () => {})],
        ['scanAll (filtered)', store.scanAll({ upTo: Number.MAX_SAFE_INTEGER, filter: { streamPrefixes: ['member-'] } }, () => {})],
      ];
      for (const [name, read] of reads) {
        const error = await read.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect({ name, error: error instanceof StoreUnavailable, operation: (error as StoreUnavailable).operation }).toEqual({
          name,
          error: true,
          operation: 'read',
        });
        expect(((error as StoreUnavailable).cause as { code?: string }).code).toBe('SQLITE_IOERR_READ');
      }
      failing = false;
      const seen: string[] = [];
      await store.scanAll({ upTo: Number.MAX_SAFE_INTEGER }, (e) => seen.push(e.streamId));
      expect(seen).toEqual(['member-1', 'member-1']);
    } finally {
      spy.mockRestore();
      threadSpy.mockRestore();
    }
  });

  it('scans from a lower bound (after, exclusive), filtered or not, and refuses one that is not an integer', async () => {
    const store = open();
    await store.appendToStream('member-1', events(3), { expectedRevision: 'no_stream' });
    await store.appendToStream('partner-1', events(2), { expectedRevision: 'no_stream' });
    const all = await store.readAll();
    const scan = async (options: Parameters<SqliteEventStore['scanAll']>[0]) => {
      const seen: number[] = [];
      await store.scanAll(options, (e) => seen.push(e.position));
      return seen;
    };
    const positions = all.map((e) => e.position);
    expect(await scan({ upTo: positions[4], after: positions[1] })).toEqual(positions.slice(2));
    expect(await scan({ upTo: positions[3], after: positions[1] })).toEqual(positions.slice(2, 4));
    expect(await scan({ upTo: positions[4], after: positions[1], filter: { streamPrefixes: ['member-'] } })).toEqual([positions[2]]);
    expect(await scan({ upTo: positions[4], after: positions[4] })).toEqual([]);
    expect(await scan({ upTo: positions[4], after: -5 })).toEqual(positions);
    await expect(scan({ upTo: positions[4], after: 1.5 })).rejects.toThrow('after must be a safe integer');
  });

  it('runs in WAL mode with synchronous=FULL and a busy timeout', () => {
    expect(open().pragmas()).toEqual({ journalMode: 'wal', synchronous: 2, busyTimeoutMs: 5_000 });
    expect(open({ busyTimeoutMs: 250 }).pragmas().busyTimeoutMs).toBe(250);
  });

  it('keeps everything across a reopen, and carries on after it', async () => {
    const first = open();
    await first.appendToStream('member-1', events(3), { expectedRevision: 'no_stream' });
    await first.appendToStream('partner-1', events(2), { expectedRevision: 'no_stream' });
    const before = await first.readAll();
    await first.close();

    const second = open();
    expect(await second.readAll()).toEqual(before);
    const result = await second.appendToStream('member-1', events(1), { expectedRevision: 2 });
    expect(result.nextExpectedRevision).toBe(3);
    expect(result.position).toBeGreaterThan(before[before.length - 1].position);
    await expect(second.appendToStream('partner-1', events(1), { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(
      WrongExpectedVersion,
    );
  });

  it('close() writes the appends it had already accepted', async () => {
    const store = open();
    const pending = store.appendToStream('member-2', events(2), { expectedRevision: 'no_stream' });
    await store.close();
    await expect(pending).resolves.toMatchObject({ nextExpectedRevision: 1 });
    await expect(store.appendToStream('member-2', events(1), { expectedRevision: 1 })).rejects.toThrow(/closed/);

    const reopened = open();
    expect((await reopened.readStream('member-2')).map((e) => e.revision)).toEqual([0, 1]);
  });

  it('close() ends live subscriptions', async () => {
    const store = open();
    const subscription = store.subscribeToAll();
    const seen: RecordedEvent[] = [];
    const drained = (async () => {
      for await (const e of subscription) seen.push(e);
    })();
    await store.appendToStream('member-3', events(1), { expectedRevision: 'no_stream' });
    await waitFor(() => seen.length === 1);
    await store.close();
    await drained;
    expect(seen.map((e) => e.streamId)).toEqual(['member-3']);
  });

  describe('group commit', () => {
    it('writes appends issued together in fewer flushes than appends', async () => {
      const store = open();
      const appends = 200;
      const before = store.stats();
      const results = await Promise.all(
        Array.from({ length: appends }, (_, i) => store.appendToStream(`member-g${i}`, events(2), { expectedRevision: 'no_stream' })),
      );
      const after = store.stats();
      expect(after.appends - before.appends).toBe(appends);
      expect(after.events - before.events).toBe(2 * appends);
      // All were queued in one turn of the event loop, so one transaction took them all.
      expect(after.flushes - before.flushes).toBe(1);
      expect(after.commitsInFlightPeak).toBe(1);
      expect(new Set(results.map((r) => r.position)).size).toBe(appends);
    });

    it('checks each append against the earlier ones in its batch; a refused one fails alone', async () => {
      const store = open();
      await store.appendToStream('member-seed', events(1), { expectedRevision: 'no_stream' });
      const flushesBefore = store.stats().flushes;
      const outcomes = await Promise.allSettled([
        store.appendToStream('member-b', events(2), { expectedRevision: 'no_stream' }), // lands: 0..1
        store.appendToStream('member-b', events(1), { expectedRevision: 'no_stream' }), // refused: now at 1
        store.appendToStream('member-c', events(1), { expectedRevision: 'any' }), // lands: 0
        store.appendToStream('member-b', events(1), { expectedRevision: 1 }), // lands after the first: 2
        store.appendToStream('member-b', events(1), { expectedRevision: 1 }), // refused: now at 2
        store.appendToStream('member-seed', events(1), { expectedRevision: 'stream_exists' }), // lands: 1
        store.appendToStream('member-d', events(1), { expectedRevision: 'stream_exists' }), // refused: missing
      ]);
      expect(store.stats().flushes - flushesBefore).toBe(1);
      expect(outcomes.map((o) => o.status)).toEqual([
        'fulfilled',
        'rejected',
        'fulfilled',
        'fulfilled',
        'rejected',
        'fulfilled',
        'rejected',
      ]);
      const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as WrongExpectedVersion] : []));
      expect(refused.map((e) => [e.streamId, e.expected, e.actual])).toEqual([
        ['member-b', 'no_stream', 1],
        ['member-b', 1, 2],
        ['member-d', 'stream_exists', 'no_stream'],
      ]);
      const landed = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.nextExpectedRevision] : []));
      expect(landed).toEqual([1, 0, 2, 1]);
      expect((await store.readStream('member-b')).map((e) => e.revision)).toEqual([0, 1, 2]);
      expect(await store.readStream('member-d')).toEqual([]);
    });

    it('bounds the events of one flush, and the rest follow in the next', async () => {
      const store = open({ flushEventsMax: 10 });
      const before = store.stats().flushes;
      await Promise.all(Array.from({ length: 25 }, (_, i) => store.appendToStream(`member-m${i}`, events(2), { expectedRevision: 'any' })));
      expect(store.stats().flushes - before).toBe(5);
      expect(store.stats().events).toBe(50);
    });

    it('rejects a whole batch it could not commit, and writes none of it', async () => {
      const store = open({ busyTimeoutMs: 50 });
      const blocker = new Database(file);
      blocker.exec('BEGIN IMMEDIATE');
      try {
        const outcomes = await Promise.allSettled([
          store.appendToStream('member-x', events(1), { expectedRevision: 'no_stream' }),
          store.appendToStream('member-y', events(1), { expectedRevision: 'no_stream' }),
        ]);
        expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
        for (const o of outcomes) {
          // The port's store fault, carrying SQLite's own error as its cause.
          if (o.status === 'rejected') {
            expect(o.reason).toBeInstanceOf(StoreUnavailable);
            expect(((o.reason as StoreUnavailable).cause as { code?: string }).code).toBe('SQLITE_BUSY');
          }
        }
      } finally {
        blocker.exec('ROLLBACK');
        blocker.close();
      }
      expect(await store.readAll()).toEqual([]);
      expect(store.stats()).toMatchObject({ flushes: 0, appends: 0 });
      await store.appendToStream('member-x', events(1), { expectedRevision: 'no_stream' });
      expect((await store.readAll()).map((e) => e.streamId)).toEqual(['member-x']);
    });

    it('rejects an append with malformed events on its own, before it joins a batch', async () => {
      const store = open();
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const outcomes = await Promise.allSettled([
        store.appendToStream('member-ok', events(1), { expectedRevision: 'no_stream' }),
        store.appendToStream('member-bad', [{ ...event(), data: cyclic }], { expectedRevision: 'no_stream' }),
        store.appendToStream('member-bad', [{ ...event(), data: { n: 1n } }], { expectedRevision: 'no_stream' }),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
      expect(await store.readStream('member-bad')).toEqual([]);
    });
  });

  describe('two stores on one file (another process, in effect)', () => {
    it('each sees what the other wrote', async () => {
      const a = open();
      const b = open();
      await a.appendToStream('member-1', events(2), { expectedRevision: 'no_stream' });
      expect((await b.readStream('member-1')).map((e) => e.revision)).toEqual([0, 1]);
      const result = await b.appendToStream('member-1', events(1), { expectedRevision: 1 });
      expect(await a.readAll()).toEqual(await b.readAll());
      expect((await a.readAll()).at(-1)?.position).toBe(result.position);
    });

    it("delivers the other store's appends to a subscription by polling", async () => {
      const a = open();
      const b = open({ pollIntervalMs: 20 });
      await a.appendToStream('member-1', events(1), { expectedRevision: 'no_stream' });
      const subscription = b.subscribeToAll();
      const seen: RecordedEvent[] = [];
      const drained = (async () => {
        for await (const e of subscription) seen.push(e);
      })();
      try {
        await waitFor(() => seen.length === 1);
        // No in-process wake-up reaches b from a: only b's polling can find these.
        await a.appendToStream('member-1', events(2), { expectedRevision: 0 });
        await a.appendToStream('member-2', events(1), { expectedRevision: 'no_stream' });
        await waitFor(() => seen.length === 4);
        expect(seen.map((e) => [e.streamId, e.revision])).toEqual([
          ['member-1', 0],
          ['member-1', 1],
          ['member-1', 2],
          ['member-2', 0],
        ]);
      } finally {
        await subscription.unsubscribe();
        await drained;
      }
    });

    it('still refuses a stale expected revision written through the other store', async () => {
      const a = open();
      const b = open();
      await a.appendToStream('member-1', events(1), { expectedRevision: 'no_stream' });
      await b.appendToStream('member-1', events(1), { expectedRevision: 0 });
      await expect(a.appendToStream('member-1', events(1), { expectedRevision: 0 })).rejects.toMatchObject({
        name: 'WrongExpectedVersion',
        expected: 0,
        actual: 1,
      });
      await expect(a.appendToStream('member-new', events(1), { expectedRevision: 'no_stream' })).resolves.toBeDefined();
      await expect(b.appendToStream('member-new', events(1), { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(
        WrongExpectedVersion,
      );
    });

    it('racing at one expected revision from both stores: exactly one append lands', async () => {
      const a = open();
      const b = open();
      await a.appendToStream('member-1', events(1), { expectedRevision: 'no_stream' });
      const outcomes = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).appendToStream('member-1', events(1), { expectedRevision: 0 })),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const o of outcomes) {
        if (o.status === 'rejected') {
          expect(o.reason).toBeInstanceOf(WrongExpectedVersion);
          expect((o.reason as WrongExpectedVersion).actual).toBe(1);
        }
      }
      expect((await b.readStream('member-1')).map((e) => e.revision)).toEqual([0, 1]);
    });

    // Whatever the writer knows of a stream from its own appends, a commit by another
    // connection (a process, a tool, a tamperer) is what its checks must see.
    it('checks a revision against the file once another connection has written the stream', async () => {
      const store = open();
      await store.appendToStream('member-1', events(1), { expectedRevision: 'no_stream' });
      const other = new Database(file);
      try {
        other
          .prepare(
            "INSERT INTO events (stream_id, revision, event_id, type, data, metadata, recorded_at) VALUES (?, 1, ?, 'Test', '{}', '{}', ?)",
          )
          .run('member-1', randomUUID(), new Date().toISOString());
      } finally {
        other.close();
      }
      await expect(store.appendToStream('member-1', events(1), { expectedRevision: 0 })).rejects.toMatchObject({
        name: 'WrongExpectedVersion',
        expected: 0,
        actual: 1,
      });
      await expect(store.appendToStream('member-1', events(1), { expectedRevision: 1 })).resolves.toMatchObject({
        nextExpectedRevision: 2,
      });
    });

    it('checks the chained-onto event against the file once another connection has changed it', async () => {
      const store = open();
      const [first] = events(1);
      await store.appendToStream('member-1', [first], { expectedRevision: 'no_stream' });
      const other = new Database(file);
      try {
        other.prepare("UPDATE events SET event_id = 'another' WHERE stream_id = 'member-1' AND revision = 0").run();
      } finally {
        other.close();
      }
      await expect(
        store.appendToStream('member-1', events(1), { expectedRevision: 0, expectedLastEventId: first.eventId }),
      ).rejects.toBeInstanceOf(WrongExpectedVersion);
      expect(await store.readStream('member-1')).toHaveLength(1);
    });
  });

  it('a group commit that fails after some of its inserts writes none of them, and the next append sees the file as it is', async () => {
    const store = open();
    await store.appendToStream('member-seed', events(1), { expectedRevision: 'no_stream' });
    const other = new Database(file);
    try {
      other.exec(
        `CREATE TRIGGER refuse_w BEFORE INSERT ON events WHEN NEW.stream_id = 'member-w' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
      );
    } finally {
      other.close();
    }
    // One group commit: member-z is written, then member-w's insert fails and rolls both back.
    const outcomes = await Promise.allSettled([
      store.appendToStream('member-z', events(1), { expectedRevision: 'no_stream' }),
      store.appendToStream('member-w', events(1), { expectedRevision: 'no_stream' }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(await store.readStream('member-z')).toEqual([]);
    await expect(store.appendToStream('member-z', events(1), { expectedRevision: 'no_stream' })).resolves.toMatchObject({
      nextExpectedRevision: 0,
    });
  });
});

describe('SqliteEventStore with a worker writer: two group commits in flight', () => {
  let dir: string;
  let file: string;
  let store: SqliteEventStore;
  let blocker: Database.Database;
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-sqlite-pipelined-'));
    file = join(dir, 'ledger.db');
    store = SqliteEventStore.open(file, { writer: 'worker', busyTimeoutMs: 2_000 });
    await store.appendToStream('member-seed', events(1), { expectedRevision: 'no_stream' });
    // Another connection holds the write lock, so the first group waits in the writer.
    blocker = new Database(file);
    blocker.exec('BEGIN IMMEDIATE');
  });

  afterEach(async () => {
    if (blocker.inTransaction) blocker.exec('ROLLBACK');
    blocker.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the next group while the first is unanswered; the writer commits them in order', async () => {
    const first = store.appendToStream('member-p', events(1), { expectedRevision: 'no_stream' });
    await turn();
    await turn();
    // Chained onto the first, which is not committed yet: checked once the first is.
    const second = store.appendToStream('member-p', events(2), { expectedRevision: 0 });
    const other = store.appendToStream('member-q', events(1), { expectedRevision: 'no_stream' });
    await waitFor(() => store.stats().commitsInFlightPeak === 2);
    // A third group waits here until one of the two is answered.
    const third = store.appendToStream('member-p', events(1), { expectedRevision: 2 });
    await turn();
    await turn();
    expect(store.stats().commitsInFlightPeak).toBe(2);
    expect(store.stats().flushes).toBe(1);
    blocker.exec('ROLLBACK');
    const [a, b, c, d] = await Promise.all([first, second, other, third]);
    expect([a.nextExpectedRevision, b.nextExpectedRevision, c.nextExpectedRevision, d.nextExpectedRevision]).toEqual([0, 2, 0, 3]);
    expect(a.position).toBeLessThan(b.position);
    expect(b.position).toBeLessThan(d.position);
    expect(store.stats()).toMatchObject({ flushes: 4, appends: 5, events: 6, commitsInFlightPeak: 2 });
    expect((await store.readStream('member-p')).map((e) => e.revision)).toEqual([0, 1, 2, 3]);
  });

  it('a first group that fails writes nothing, and what was chained onto it is refused, not written', async () => {
    const failing = SqliteEventStore.open(file, { writer: 'worker', busyTimeoutMs: 300 });
    try {
      const first = failing.appendToStream('member-p', events(1), { expectedRevision: 'no_stream' });
      await turn();
      await turn();
      const chained = failing.appendToStream('member-p', events(1), { expectedRevision: 0 });
      const other = failing.appendToStream('member-q', events(1), { expectedRevision: 'no_stream' });
      await expect(first).rejects.toBeInstanceOf(StoreUnavailable);
      // The second group is already with the writer, waiting for the lock in its turn.
      expect(failing.stats().commitsInFlightPeak).toBe(2);
      blocker.exec('ROLLBACK');
      await expect(chained).rejects.toMatchObject({ streamId: 'member-p', expected: 0, actual: 'no_stream' });
      await expect(chained).rejects.toBeInstanceOf(WrongExpectedVersion);
      expect((await other).nextExpectedRevision).toBe(0);
      expect(await failing.readStream('member-p')).toEqual([]);
      expect((await failing.readAll()).map((e) => e.streamId)).toEqual(['member-seed', 'member-q']);
    } finally {
      await failing.close();
    }
  });
});

function event(): EventToAppend {
  return { eventId: randomUUID(), type: 'Tested', data: {}, metadata: {} };
}

function events(count: number): EventToAppend[] {
  return Array.from({ length: count }, () => event());
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
