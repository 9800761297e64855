import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryEventStore, RecordedEvent, headPosition } from '@ledger/event-store';
import { ReadModelFlushThread, catchUpWriter } from './flush-thread';
import { ProjectionRunner } from './projection-runner';
import { CheckpointMoved } from './read-model-writer';
import { EventDispatch, READ_MODELS, ReadModelBatch, ReadModelStaging } from './read-models';
import { ReadStore } from './read-store';
import { DirectLedger } from './testing/direct-ledger';
import { appendProgramHistory } from './testing/program-history';
import { appendSyntheticHistory } from './testing/synthetic-history';

/** A log with every kind of member change the read models stage: enrolments, cards, holds, tiers, reversals, expiries. */
async function richLog(): Promise<RecordedEvent[]> {
  const store = new MemoryEventStore();
  const ledger = new DirectLedger(store);
  await ledger.configure(10);
  for (const p of ['grocer', 'cafe', 'air']) await ledger.join(p);
  await appendProgramHistory(ledger);
  await appendSyntheticHistory(store, { events: 600, members: 30, seed: 11, existingPartners: ['grocer', 'cafe', 'air'] });
  ledger.now = '2026-11-20T10:00:00.000Z';
  await ledger.enrol('hal');
  await ledger.accrue('grocer', 'hal', 40_000, 'h1');
  await ledger.hold('cafe', 'hal', 30, 'h2');
  await ledger.replaceCard('hal', '7000000000000005');
  await ledger.blockCard('ann');
  const events = await store.readAll();
  // Tier changes to a tier and back to none (undefined, a tier and null are three different sums).
  const last = events[events.length - 1];
  const tier = (position: number, toTierId: string | null): RecordedEvent => ({
    ...last,
    eventId: `tier-${position}`,
    position,
    type: 'TierChanged',
    data: { memberId: 'hal', fromTierId: null, toTierId, occurredAt: '2026-11-21T00:00:00.000Z' },
  });
  return [
    ...events,
    tier(last.position + 1, 'gold'),
    tier(last.position + 2, null),
    {
      ...tier(last.position + 3, 'silver'),
      data: { memberId: 'cat', fromTierId: null, toTierId: 'silver', occurredAt: '2026-11-21T00:00:00.000Z' },
    },
  ];
}

/** What a batch holds, without its prepared statements (by tag: a structured clone's maps may come from another realm). */
function sumsOf(batch: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(batch).filter(([, v]) => Object.prototype.toString.call(v) === '[object Map]' || Array.isArray(v)),
  );
}

/** The smallest log with a transaction: one partner, one member, one accrual. */
async function oneAccrual(): Promise<RecordedEvent[]> {
  const events = new MemoryEventStore();
  const ledger = new DirectLedger(events);
  await ledger.configure(10);
  await ledger.join('grocer');
  await ledger.enrol('ann');
  await ledger.accrue('grocer', 'ann', 10_000, 'g1');
  return events.readAll();
}

describe('ReadModelFlushThread: batches staged on one thread, written on another', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-flush-thread-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("each read model's sums arrive, through a structured clone, exactly as they were staged", async () => {
    const events = await richLog();
    const types = new Set(events.map((e) => e.type));
    for (const type of [
      'MemberEnrolled',
      'PointsAccrued',
      'PointsRedeemed',
      'AccrualReversed',
      'PointsExpired',
      'PointsHeld',
      'CardReplaced',
      'CardBlocked',
      'TierChanged',
    ])
      expect(types).toContain(type);

    const store = ReadStore.open(':memory:');
    try {
      const direct = new EventDispatch<ReadModelBatch>(READ_MODELS.map((model) => ({ model, batch: model.sqlite(store.db) })));
      const staging = new EventDispatch<ReadModelStaging>(READ_MODELS.map((model) => ({ model, batch: model.staging() })));
      const restored = new EventDispatch<ReadModelBatch>(READ_MODELS.map((model) => ({ model, batch: model.sqlite(store.db) })));
      for (const e of events) {
        direct.stage(e);
        staging.stage(e);
      }
      const taken = structuredClone(staging.take());
      expect(staging.staged).toBe(0);
      restored.restore(taken);
      expect({ staged: restored.staged, first: restored.first, last: restored.last }).toEqual({
        staged: events.length,
        first: events[0].position,
        last: { position: events[events.length - 1].position, eventId: events[events.length - 1].eventId },
      });
      READ_MODELS.forEach((model, i) => {
        expect({ model: model.name, sums: sumsOf(restored.batches[i]) }).toEqual({ model: model.name, sums: sumsOf(direct.batches[i]) });
      });
      // The members and the programme KPIs cross flat: what arrived has the tiers, cards and lots staged.
      const members = sumsOf(restored.batches[READ_MODELS.findIndex((m) => m.name === 'members and lots')]).members as Map<
        string,
        { tier?: string | null; replacedCard?: string; lots?: Map<string, unknown> }
      >;
      expect(members.get('hal')).toMatchObject({ tier: null, replacedCard: '7000000000000005' });
      expect(members.get('cat')).toMatchObject({ tier: 'silver' });
      expect(members.get('ann')!.tier).toBeUndefined();
      expect(members.get('ann')!.lots!.size).toBeGreaterThan(0);
      // The staging starts afresh: a second batch does not carry the first.
      staging.stage({ ...events[events.length - 1], position: events[events.length - 1].position + 10 });
      expect(structuredClone(staging.take()).events).toBe(1);
    } finally {
      store.close();
    }
  });

  it('a catch-up through the thread, in batches staged while the one before is written, equals one on this thread', async () => {
    const events = new MemoryEventStore();
    const ledger = new DirectLedger(events);
    await ledger.configure(10);
    for (const p of ['grocer', 'cafe', 'air']) await ledger.join(p);
    await appendProgramHistory(ledger);
    await appendSyntheticHistory(events, { events: 3_000, members: 120, seed: 5, existingPartners: ['grocer', 'cafe', 'air'] });
    const head = (await headPosition(events))!;

    const here = ReadStore.open(join(dir, 'here.db'));
    const there = ReadStore.open(join(dir, 'there.db'));
    try {
      await new ProjectionRunner(events, here, { batchSize: 97 }).runUntil(head);
      const writer = catchUpWriter(there);
      expect(writer).toBeInstanceOf(ReadModelFlushThread);
      const batches: number[] = [];
      const runner = new ProjectionRunner(events, there, { batchSize: 97, writer, onBatch: (b) => batches.push(b.position) });
      await runner.runUntil(head);
      expect(runner.position()).toBe(head);
      expect(batches.length).toBeGreaterThan(30);
      expect(batches).toEqual([...batches].sort((a, b) => a - b));
      const expected = here.dump();
      const actual = there.dump();
      for (const table of Object.keys(expected)) expect({ table, rows: actual[table] }).toEqual({ table, rows: expected[table] });
      expect(there.checkpoint()).toEqual(here.checkpoint());
    } finally {
      here.close();
      there.close();
    }
  });

  it("a batch the thread cannot write fails the runner with the thread's reason, and nothing of it is kept", async () => {
    const good = await oneAccrual();
    const store = ReadStore.open(join(dir, 'read.db'));
    const thread = new ReadModelFlushThread(store);
    try {
      for (const e of good) thread.stage(e);
      await thread.commitStaged(undefined);
      const before = store.dump();
      const last = good[good.length - 1];
      // Points taken from a lot that was never opened.
      thread.stage({
        ...last,
        position: last.position + 1,
        type: 'PointsRedeemed',
        data: {
          txId: 'grocer:bad',
          partnerId: 'grocer',
          memberId: 'ann',
          points: 5,
          pointValueMinor: 10,
          slices: [{ lotId: 'grocer:none', issuerPartnerId: 'grocer', points: 5 }],
          occurredAt: '2026-11-20T12:00:00.000Z',
        },
      });
      await expect(thread.commitStaged(last.position)).rejects.toThrow(/does not exist|available/);
      expect(store.dump()).toEqual(before);
      expect(store.checkpoint().position).toBe(last.position);
      // A stale checkpoint comes back as the CheckpointMoved a rebuild retries on.
      thread.stage({ ...last, position: last.position + 2 });
      await expect(thread.commitStaged(undefined)).rejects.toBeInstanceOf(CheckpointMoved);
    } finally {
      await thread.release();
      store.close();
    }
  });

  it('release ends the thread once its batches are written; the next commit starts another', async () => {
    const all = await oneAccrual();
    const store = ReadStore.open(join(dir, 'read.db'));
    const thread = new ReadModelFlushThread(store);
    try {
      thread.stage(all[0]);
      const first = thread.commitStaged(undefined);
      await thread.release();
      await first;
      expect(store.checkpoint().position).toBe(all[0].position);
      for (const e of all.slice(1)) thread.stage(e);
      await thread.commitStaged(all[0].position);
      expect(store.checkpoint().position).toBe(all[all.length - 1].position);
      expect(store.createReader().member('ann')).toMatchObject({ available: 100 });
    } finally {
      await thread.release();
      store.close();
    }
  });

  it('counts the time the thread spends writing: nothing before a batch, more after each one', async () => {
    const all = await oneAccrual();
    const store = ReadStore.open(join(dir, 'read.db'));
    const thread = new ReadModelFlushThread(store);
    try {
      expect(thread.writingSeconds()).toBe(0);
      thread.stage(all[0]);
      await thread.commitStaged(undefined);
      const afterFirst = thread.writingSeconds();
      expect(afterFirst).toBeGreaterThan(0);
      for (const e of all.slice(1)) thread.stage(e);
      await thread.commitStaged(all[0].position);
      expect(thread.writingSeconds()).toBeGreaterThan(afterFirst);
    } finally {
      await thread.release();
      store.close();
    }
  });

  it('following live appends, each is written without waiting for another to arrive (as `ledger project` follows)', async () => {
    const events = new MemoryEventStore();
    const ledger = new DirectLedger(events);
    await ledger.configure(10);
    await ledger.join('grocer');
    const store = ReadStore.open(join(dir, 'read.db'));
    const runner = new ProjectionRunner(events, store, { writer: new ReadModelFlushThread(store) });
    const running = runner.run();
    try {
      // A burst: the last events are staged while the batch before them is still being written,
      // and nothing comes after them to wake the runner again.
      const tick = () => new Promise((resolve) => setImmediate(resolve));
      for (let i = 0; i < 20; i++) {
        await ledger.enrol(`m${i}`);
        await tick(); // the runner hands what it has to the thread...
        await ledger.accrue('grocer', `m${i}`, 1_000 + i * 100, `x${i}`);
        await tick(); // ...and this arrives while that is written
      }
      const head = (await headPosition(events))!;
      expect(await runner.waitForPosition(head, 5_000)).toBe(true);
      expect(store.checkpoint().position).toBe(head);
      expect(store.createReader().member('m19')).toMatchObject({ available: 29 });
    } finally {
      await runner.stop();
      await running;
      store.close();
    }
  });

  it('a read store in memory or read-only keeps its own writer', () => {
    const memory = ReadStore.open(':memory:');
    try {
      expect(catchUpWriter(memory)).not.toBeInstanceOf(ReadModelFlushThread);
    } finally {
      memory.close();
    }
  });
});
