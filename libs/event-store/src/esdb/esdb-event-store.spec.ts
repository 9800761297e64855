import { randomUUID } from 'node:crypto';
import { EsdbWireServer } from '@ledger/testing/esdb-wire-server';
import { describeEventStoreContract } from '../contract/event-store.contract';
import { AllSubscription, EventToAppend, RecordedEvent, WrongExpectedVersion } from '../port';
import { EsdbEventStore } from './esdb-event-store';

describeEventStoreContract('esdb', async () => {
  const server = await EsdbWireServer.start();
  const store = EsdbEventStore.fromConnectionString(server.connectionString);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await server.stop();
    },
  };
});

const event = (type = 'Tested', data: object = {}): EventToAppend => ({
  eventId: randomUUID(),
  type,
  data: { ...data },
  metadata: {},
});

describe('EsdbEventStore against the wire server', () => {
  let server: EsdbWireServer;
  let store: EsdbEventStore;

  const open = async (options: Parameters<typeof EsdbWireServer.start>[0] = {}) => {
    server = await EsdbWireServer.start(options);
    store = EsdbEventStore.fromConnectionString(server.connectionString);
  };

  afterEach(async () => {
    await store.close();
    await server.stop();
  });

  describe('what the node does that the port hides', () => {
    beforeEach(() => open());

    it("skips the node's own $-events in readAll, and maxCount counts only user events", async () => {
      await store.appendToStream('s-1', [event('A')], { expectedRevision: 'no_stream' });
      // More system events than one page of $all, between two user events.
      for (let i = 0; i < 1100; i++) server.data.writeSystemEvent('$stats-127.0.0.1:2113', '$statsCollected');
      await store.appendToStream('s-1', [event('B')], { expectedRevision: 0 });
      server.data.writeSystemEvent('$stats-127.0.0.1:2113', '$statsCollected');

      expect((await store.readAll()).map((e) => e.type)).toEqual(['A', 'B']);
      expect((await store.readAll({ maxCount: 2 })).map((e) => e.type)).toEqual(['A', 'B']);
      expect((await store.readAll({ direction: 'backwards', maxCount: 2 })).map((e) => e.type)).toEqual(['B', 'A']);
    });

    it('hands out positions that are not consecutive, and reads from them in both directions', async () => {
      const { position: a } = await store.appendToStream('s-1', [event('A')], { expectedRevision: 'no_stream' });
      server.data.writeSystemEvent('$stats-127.0.0.1:2113', '$statsCollected');
      const { position: b } = await store.appendToStream('s-2', [event('B')], { expectedRevision: 'no_stream' });
      const { position: c } = await store.appendToStream('s-3', [event('C')], { expectedRevision: 'no_stream' });
      expect(b - a).toBeGreaterThan(1);
      const types = (events: RecordedEvent[]) => events.map((e) => e.type);
      expect(types(await store.readAll({ fromPosition: b }))).toEqual(['B', 'C']);
      expect(types(await store.readAll({ direction: 'backwards', fromPosition: b }))).toEqual(['B', 'A']);
      expect(types(await store.readAll({ direction: 'backwards', fromPosition: c, maxCount: 1 }))).toEqual(['C']);
    });

    it('turns created ticks (100 ns since the Unix epoch) into recordedAt', async () => {
      await store.close();
      await server.stop();
      await open({ log: { clock: () => 17_400_000_000_123_456n } });
      await store.appendToStream('s-1', [event()], { expectedRevision: 'no_stream' });
      const [read] = await store.readStream('s-1');
      expect(read.recordedAt).toBe('2025-02-19T21:20:00.012Z');
    });

    it('accepts a retry of an append with the same event ids without writing twice', async () => {
      const batch = [event('A'), event('B')];
      const first = await store.appendToStream('s-1', batch, { expectedRevision: 'no_stream' });
      const retry = await store.appendToStream('s-1', batch, { expectedRevision: 'no_stream' });
      expect(retry).toEqual(first);
      expect((await store.readStream('s-1')).map((e) => e.type)).toEqual(['A', 'B']);
    });

    it('maps a wrong expected version with the same fields, no_stream for a missing stream', async () => {
      const missing = await store.appendToStream('s-1', [event()], { expectedRevision: 'stream_exists' }).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(WrongExpectedVersion);
      expect(missing).toMatchObject({ streamId: 's-1', expected: 'stream_exists', actual: 'no_stream' });

      await store.appendToStream('s-1', [event(), event()], { expectedRevision: 'any' });
      const behind = await store.appendToStream('s-1', [event()], { expectedRevision: 0 }).catch((e: unknown) => e);
      expect(behind).toMatchObject({ streamId: 's-1', expected: 0, actual: 1 });
    });

    it('checks the expected revision of an empty append without writing', async () => {
      await expect(store.appendToStream('s-1', [], { expectedRevision: 0 })).rejects.toMatchObject({
        actual: 'no_stream',
      });
      const { position } = await store.appendToStream('s-1', [event()], { expectedRevision: 'no_stream' });
      expect(await store.appendToStream('s-1', [], { expectedRevision: 0 })).toEqual({
        nextExpectedRevision: 0,
        position,
      });
    });
  });

  describe('positions beyond Number.MAX_SAFE_INTEGER', () => {
    it('fail loudly instead of rounding', async () => {
      await open({ log: { firstPosition: BigInt(Number.MAX_SAFE_INTEGER) - 2_000n } });
      const safe = await store.appendToStream('s-1', [event()], { expectedRevision: 'no_stream' });
      expect(Number.isSafeInteger(safe.position)).toBe(true);
      // Each record takes a few hundred bytes of log: some of these land past 2^53.
      const beyond = await store
        .appendToStream(
          's-1',
          Array.from({ length: 20 }, () => event()),
          { expectedRevision: 0 },
        )
        .catch((e: unknown) => e);
      expect(beyond).toBeInstanceOf(RangeError);
      expect(String(beyond)).toMatch(/MAX_SAFE_INTEGER/);
      await expect(store.readAll()).rejects.toBeInstanceOf(RangeError);
      await expect(store.readStream('s-1')).rejects.toBeInstanceOf(RangeError);
    });
  });

  describe('scanAll with a filter', () => {
    beforeEach(() => open());

    it('reports a position once when the 5000-events report and a checkpoint of the filter fall on the same event', async () => {
      // The filter checkpoints every 32 records searched from the start of $all. Padded with
      // system events to 24 records, the 5000th matching event is record 5023, the 157th checkpoint.
      while (server.data.all.length < 24) server.data.writeSystemEvent('$stats-127.0.0.1:2113', '$statsCollected');
      for (let i = 0; i < 10; i++)
        await store.appendToStream(
          'big-1',
          Array.from({ length: 500 }, () => event()),
          { expectedRevision: 'any' },
        );
      const [fiveThousandth] = await store.readStream('big-1', { fromRevision: 4_999, maxCount: 1 });
      await store.appendToStream(
        'big-1',
        Array.from({ length: 100 }, () => event()),
        { expectedRevision: 'any' },
      );
      const [{ position: head }] = await store.readAll({ direction: 'backwards', maxCount: 1 });

      const progress: number[] = [];
      let count = 0;
      await store.scanAll({ upTo: head, filter: { streamPrefixes: ['big-'] }, onProgress: (p) => progress.push(p) }, () => count++);
      expect(count).toBe(5_100);
      expect(progress.filter((p) => p === fiveThousandth.position)).toHaveLength(1);
      for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThan(progress[i - 1]);
    });
  });

  describe('subscribeToAll', () => {
    beforeEach(() => open());

    it('catches up from a checkpoint (exclusive), then goes live, skipping system events', async () => {
      await store.appendToStream('s-1', [event('A'), event('B')], { expectedRevision: 'no_stream' });
      const [a] = await store.readStream('s-1');
      const subscription = store.subscribeToAll({ fromPosition: a.position });
      const received = take(subscription, 3);
      await delay(50);
      server.data.writeSystemEvent('$stats-127.0.0.1:2113', '$statsCollected');
      await store.appendToStream('s-1', [event('C'), event('D')], { expectedRevision: 1 });
      expect((await received).map((e) => e.type)).toEqual(['B', 'C', 'D']);
      await subscription.unsubscribe();
    });

    it('unsubscribe ends an iteration that is waiting for events', async () => {
      const subscription = store.subscribeToAll();
      const ended = (async () => {
        for await (const _ of subscription) void _;
        return 'ended';
      })();
      await delay(50);
      await subscription.unsubscribe();
      expect(await ended).toBe('ended');
    });

    it('close() ends the iterations of open subscriptions', async () => {
      const subscription = store.subscribeToAll();
      const ended = (async () => {
        for await (const _ of subscription) void _;
        return 'ended';
      })();
      await delay(50);
      await store.close();
      expect(await withTimeout(ended, 5_000)).toBe('ended');
    });

    it('throws from the iteration when the node stops, and resumes from the checkpoint after a restart', async () => {
      await store.appendToStream('s-1', [event('A')], { expectedRevision: 'no_stream' });
      const first = store.subscribeToAll();
      const seen: RecordedEvent[] = [];
      const failure = (async () => {
        for await (const e of first) {
          seen.push(e);
          if (e.type === 'A') await server.stop();
        }
        return undefined;
      })().catch((err: unknown) => err);
      // Must not hang: the projection runner resubscribes only if the iteration throws.
      expect(await withTimeout(failure, 5_000)).toBeInstanceOf(Error);
      expect(seen.map((e) => e.type)).toEqual(['A']);

      await server.restart();
      // The client reconnects on its own; the first calls may still meet the old channel.
      await eventually(() => store.appendToStream('s-1', [event('B')], { expectedRevision: 0 }));
      const second = store.subscribeToAll({ fromPosition: seen[0].position });
      const after = take(second, 2);
      await store.appendToStream('s-1', [event('C')], { expectedRevision: 1 });
      expect((await after).map((e) => e.type)).toEqual(['B', 'C']);
      await second.unsubscribe();
    });

    it('throws from an idle, caught-up iteration when the node restarts', async () => {
      await store.appendToStream('s-1', [event('A')], { expectedRevision: 'no_stream' });
      const subscription = store.subscribeToAll();
      const seen: string[] = [];
      const failure = (async () => {
        for await (const e of subscription) seen.push(e.type);
      })().catch((err: unknown) => err);
      await delay(100);
      await server.restart();
      expect(await withTimeout(failure, 5_000)).toBeInstanceOf(Error);
      expect(seen).toEqual(['A']);
    });

    it('throws from the iteration when subscribing while the node is down', async () => {
      await server.stop();
      const subscription = store.subscribeToAll();
      const failure = (async () => {
        for await (const _ of subscription) void _;
      })().catch((err: unknown) => err);
      expect(await withTimeout(failure, 5_000)).toBeInstanceOf(Error);
      await server.restart();
    });
  });
});

async function take(subscription: AllSubscription, count: number): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of subscription) {
    out.push(e);
    if (out.length === count) break;
  }
  return out;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no outcome after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function eventually<T>(attempt: () => Promise<T>, attemptsMax = 50): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= attemptsMax || err instanceof WrongExpectedVersion) throw err;
      await delay(100);
    }
  }
}
