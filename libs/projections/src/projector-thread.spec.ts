import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { headPosition } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { ProjectorThread } from './projector-thread';
import { ReadStore } from './read-store';
import { rebuildReadStore } from './rebuild';
import { DirectLedger } from './testing/direct-ledger';
import { appendSyntheticHistory } from './testing/synthetic-history';

const PARTNERS = ['grocer', 'cafe', 'air'];
const WAIT_MS = 20_000;

describe('ProjectorThread: the API projector on a thread of its own', () => {
  let dir: string;
  let store: SqliteEventStore;
  let ledger: DirectLedger;
  const started: ProjectorThread[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-projector-thread-'));
    store = SqliteEventStore.open(join(dir, 'ledger.db'), { writer: 'worker' });
    ledger = new DirectLedger(store);
  });

  /** A configured coalition and `events` of synthetic history. */
  const history = async (events: number, seed: number) => {
    await ledger.configure(10);
    for (const p of PARTNERS) await ledger.join(p);
    await appendSyntheticHistory(store, { events, members: Math.ceil(events / 25), seed, existingPartners: PARTNERS });
  };

  /** `members` new members, each enrolled, earning and spending: appends made while a thread runs. */
  const moreActivity = async (tag: string, members: number) => {
    for (let i = 0; i < members; i++) {
      const memberId = `${tag}-${i}`;
      await ledger.enrol(memberId);
      await ledger.accrue('grocer', memberId, 10_000 + i * 100, `${tag}-g${i}`);
      await ledger.redeem('cafe', memberId, 7, `${tag}-c${i}`);
    }
  };

  afterEach(async () => {
    for (const thread of started.splice(0)) await thread.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // The thread re-reads the log by itself only every 10 minutes here: new events reach it by the wakes alone.
  const startThread = async (onFailure?: (why: string) => void, wakeIntervalMs?: number) => {
    const thread = new ProjectorThread(store, { readStoreFile: join(dir, 'read.db'), onFailure, pollIntervalMs: 600_000, wakeIntervalMs });
    started.push(thread);
    await thread.start();
    return thread;
  };

  /** The read models a rebuild on this thread makes from the same log, to compare table by table. */
  const rebuiltHere = async () => {
    const other = ReadStore.open(join(dir, 'rebuilt.db'));
    try {
      await rebuildReadStore(store, other, { batchSize: 5_000 });
      return other.dump();
    } finally {
      other.close();
    }
  };

  it('catches up, then follows live appends (woken after group commits), and its read store equals a rebuild', async () => {
    await history(3_000, 5);
    const thread = await startThread();
    expect(await thread.waitForPosition((await headPosition(store))!, WAIT_MS)).toBe(true);

    // Live: more activity while the thread runs, each step read back before the next.
    for (let round = 0; round < 5; round++) {
      await moreActivity(`live${round}`, 8);
      expect(await thread.waitForPosition((await headPosition(store))!, WAIT_MS)).toBe(true);
    }
    const head = (await headPosition(store))!;
    expect(thread.position()).toBe(head);

    const reading = ReadStore.open(join(dir, 'read.db'), { readonly: true });
    try {
      expect(reading.checkpoint().position).toBe(head);
      expect(reading.dump()).toEqual(await rebuiltHere());
    } finally {
      reading.close();
    }
  });

  it('stop() commits what was delivered; a new thread resumes from the checkpoint and neither skips nor repeats', async () => {
    await history(1_500, 8);
    const first = await startThread();
    expect(await first.waitForPosition((await headPosition(store))!, WAIT_MS)).toBe(true);
    await first.stop();
    started.splice(started.indexOf(first), 1);

    await moreActivity('after-stop', 30);
    const second = await startThread();
    const head = (await headPosition(store))!;
    expect(await second.waitForPosition(head, WAIT_MS)).toBe(true);
    const reading = ReadStore.open(join(dir, 'read.db'), { readonly: true });
    try {
      const all = await store.readAll();
      expect(reading.checkpoint()).toMatchObject({ position: head, events: all.length });
      expect(reading.dump()).toEqual(await rebuiltHere());
    } finally {
      reading.close();
    }
  });

  it('a thread that dies is started again and goes on from the checkpoint', async () => {
    await history(800, 10);
    const failures: string[] = [];
    const thread = await startThread((why) => failures.push(why));
    expect(await thread.waitForPosition((await headPosition(store))!, WAIT_MS)).toBe(true);

    // Killed from outside, as a crash of its own would end it.
    const worker = (thread as unknown as { worker: Worker }).worker;
    await worker.terminate();

    // Appends while no thread runs are caught up at the restart; those after it arrive by wakes.
    await moreActivity('after-crash', 20);
    let head = (await headPosition(store))!;
    expect(await thread.waitForPosition(head, WAIT_MS)).toBe(true);
    expect((thread as unknown as { worker: Worker | undefined }).worker).not.toBe(worker);
    await moreActivity('after-restart', 5);
    head = (await headPosition(store))!;
    expect(await thread.waitForPosition(head, WAIT_MS)).toBe(true);
    const reading = ReadStore.open(join(dir, 'read.db'), { readonly: true });
    try {
      expect(reading.dump()).toEqual(await rebuiltHere());
    } finally {
      reading.close();
    }
  });

  it('group commits within the wake interval share one wake, and the last of them is not left unread', async () => {
    await history(300, 12);
    const thread = await startThread(undefined, 400);
    expect(await thread.waitForPosition((await headPosition(store))!, WAIT_MS)).toBe(true);
    const worker = (thread as unknown as { worker: Worker }).worker;
    const wakes: unknown[] = [];
    const postMessage = worker.postMessage.bind(worker);
    worker.postMessage = (message: unknown) => {
      wakes.push(message);
      postMessage(message);
    };
    // 10 members' enrolments, accruals and redemptions one after another: at least 30 group commits,
    // far quicker than 400 ms apart. The first wakes the thread at once; the rest share one
    // held-back wake, which must still come: the thread re-reads the log by itself only every
    // 10 minutes here.
    await moreActivity('burst', 10);
    const head = (await headPosition(store))!;
    expect(await thread.waitForPosition(head, WAIT_MS)).toBe(true);
    expect(wakes.length).toBeGreaterThanOrEqual(1);
    expect(wakes.length).toBeLessThan(30);
    expect(wakes.every((m) => JSON.stringify(m) === '{"wake":true}')).toBe(true);
  });

  it("a read store it cannot open fails the start with the driver's reason", async () => {
    // A directory where the read store file should be.
    mkdirSync(join(dir, 'read.db'));
    const thread = new ProjectorThread(store, { readStoreFile: join(dir, 'read.db') });
    await expect(thread.start()).rejects.toThrow(/the projector thread did not start: SQLITE_CANTOPEN: unable to open database file/);
  });
});
