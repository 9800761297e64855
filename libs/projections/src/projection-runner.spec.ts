import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordedEvent, headPosition } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { ProjectionRunner } from './projection-runner';
import { ReadStore } from './read-store';
import { ProjectionWriter } from './read-store-port';

/** A writer that takes each batch with it (as the flush thread does) and writes it when the test says so. */
class HeldWriter implements ProjectionWriter {
  readonly stagesWhileCommitting = true;
  /** Events staged so far, over every batch. */
  staged = 0;
  private inBatch = 0;
  readonly commits: { events: number; expected: number | undefined; write: () => void }[] = [];

  stage(_event: RecordedEvent): void {
    this.staged += 1;
    this.inBatch += 1;
  }

  commitStaged(expected: number | undefined): Promise<void> {
    const events = this.inBatch;
    this.inBatch = 0;
    return new Promise<void>((write) => this.commits.push({ events, expected, write }));
  }

  discardStaged(): void {
    this.inBatch = 0;
  }
}

/** Lets the event loop turn until `condition` holds; false if it does not within `turns` turns. */
async function turnsUntil(condition: () => boolean, turns = 500): Promise<boolean> {
  for (let i = 0; i < turns; i++) {
    if (condition()) return true;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return condition();
}

/** A few turns of the event loop: whatever waits for a turn (the runner's idle flush) gets to run, as it would before a thread's answer. */
async function someTurns(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('ProjectionRunner with a writer that takes its batches along (a flush thread)', () => {
  it('stages the next batch while one is written, whichever of its flushes handed that one over', async () => {
    // A SQLite file, as a catch-up reads: its pages come back without a turn of the event loop.
    const dir = mkdtempSync(join(tmpdir(), 'ledger-runner-'));
    const store = SqliteEventStore.open(join(dir, 'ledger.db'));
    const events = Array.from({ length: 55 }, (_, i) => ({ eventId: `e${i}`, type: 'Noted', data: { i }, metadata: {} }));
    await store.appendToStream('notes-1', events, { expectedRevision: 'no_stream' });
    const readStore = ReadStore.open(':memory:');
    const writer = new HeldWriter();
    const runner = new ProjectionRunner(store, readStore, { batchSize: 10, writer });
    const done = runner.runUntil((await headPosition(store))!);
    try {
      // Batch 1 is handed over and held; batch 2 is staged meanwhile, then waits for batch 1.
      expect(await turnsUntil(() => writer.commits.length === 1 && writer.staged === 20)).toBe(true);
      await someTurns();
      writer.commits[0].write();
      expect(await turnsUntil(() => writer.commits.length === 2 && writer.staged === 30)).toBe(true);
      // Two flushes now wait on batch 2: the loop's own (batch 3 is full) and the idle one.
      await someTurns();
      writer.commits[1].write();
      expect(await turnsUntil(() => writer.commits.length === 3)).toBe(true);
      // Batch 3 is held: the loop goes on to stage batch 4 rather than wait for it.
      expect(await turnsUntil(() => writer.staged === 40)).toBe(true);
      for (let i = 2; i < 6; i++) {
        expect(await turnsUntil(() => writer.commits.length > i)).toBe(true);
        await someTurns();
        writer.commits[i].write();
      }
      await done;
      // Every event in full batches, each handed over against the checkpoint the one before left.
      expect(writer.commits.map((c) => c.events)).toEqual([10, 10, 10, 10, 10, 5]);
      const positions = (await store.readAll()).map((e) => e.position);
      expect(writer.commits.map((c) => c.expected)).toEqual([undefined, ...[9, 19, 29, 39, 49].map((i) => positions[i])]);
      expect(runner.eventsApplied()).toBe(55);
    } finally {
      // Whatever failed above, let the runner write the rest and end.
      let ended = false;
      void done.then(
        () => (ended = true),
        () => (ended = true),
      );
      while (!ended) {
        for (const c of writer.commits) c.write();
        await someTurns();
      }
      readStore.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
