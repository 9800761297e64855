import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Refused } from '@ledger/domain';
import { MemoryEventStore } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { appendSyntheticHistory } from '@ledger/projections/testing/synthetic-history';
import { exportEvents, importEvents } from './export-import';
import { verifyLedger } from './verify';

async function* linesOf(lines: string[]) {
  yield* lines;
}

describe('export and import', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'audit-export-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips a group-committed SQLite log byte for byte: hashes, order, positions, recorded times', async () => {
    let clock = Date.parse('2026-11-20T09:00:00.000Z');
    const source = SqliteEventStore.open(join(dir, 'a.db'), { now: () => new Date((clock += 7)) });
    await appendSyntheticHistory(source, { events: 12_000, members: 300, seed: 7, concurrency: 8_000 });
    const lines: string[] = [];
    expect(await exportEvents(source, (l) => void lines.push(l))).toBe(12_000);
    await source.close();
    // Many events share a commit, hence a recorded time: groups larger than one flush included.
    const times = new Map<string, number>();
    for (const l of lines) times.set(JSON.parse(l).recordedAt, (times.get(JSON.parse(l).recordedAt) ?? 0) + 1);
    expect(Math.max(...times.values())).toBeGreaterThan(5_000);

    let targetClock = new Date();
    const target = SqliteEventStore.open(join(dir, 'b.db'), { now: () => targetClock });
    const result = await importEvents(target, linesOf(lines), { setRecordedAt: (at) => (targetClock = at) });
    expect(result).toMatchObject({ events: 12_000, recordedAtPreserved: true });
    expect(target.stats().flushes).toBeLessThan(12_000 / 10);
    const again: string[] = [];
    await exportEvents(target, (l) => void again.push(l));
    expect(again).toEqual(lines);
    expect((await verifyLedger(target)).ok).toBe(true);
    await expect(importEvents(target, linesOf(lines))).rejects.toBeInstanceOf(Refused);
    await target.close();
  });

  it('into another adapter: positions take its values in the same order, every hash identical', async () => {
    const source = SqliteEventStore.open(join(dir, 'a.db'));
    await appendSyntheticHistory(source, { events: 2_000, members: 50, seed: 3 });
    const lines: string[] = [];
    await exportEvents(source, (l) => void lines.push(l));
    const memory = new MemoryEventStore();
    await importEvents(memory, linesOf(lines));
    const imported = await memory.readAll();
    const original = lines.map((l) => JSON.parse(l));
    expect(imported.map((e) => [e.streamId, e.revision, e.eventId, e.metadata.hash])).toEqual(
      original.map((e) => [e.streamId, e.revision, e.eventId, e.metadata.hash]),
    );
    expect(imported[0].position).toBe(0);
    expect(original[0].position).toBe(1);
    // One stream alone, in revision order.
    const one: string[] = [];
    await exportEvents(source, (l) => void one.push(l), { stream: 'member-m0000001' });
    expect(one.map((l) => JSON.parse(l).revision)).toEqual(one.map((_, i) => i));
    await source.close();
  });
});
