import { MemoryEventStore, RecordedEvent } from '@ledger/event-store';
import { ChainChecker } from './chain-check';
import { writeAuditHistory } from './testing/audit-fixture';

const checkAll = (events: RecordedEvent[]) => {
  const chain = new ChainChecker();
  return events.map((e) => chain.check(e)).filter((d) => d !== undefined);
};

describe('ChainChecker', () => {
  let log: RecordedEvent[];
  beforeAll(async () => {
    const store = new MemoryEventStore();
    await writeAuditHistory(store);
    log = await store.readAll();
  });
  const copy = () => log.map((e) => ({ ...e, data: structuredClone(e.data), metadata: structuredClone(e.metadata) }));
  const at = (events: RecordedEvent[], stream: string, revision: number) =>
    events.findIndex((e) => e.streamId === stream && e.revision === revision);

  it('passes a log the ledger wrote, and counts it', () => {
    const chain = new ChainChecker();
    for (const e of log) expect(chain.check(e)).toBeUndefined();
    expect(chain.counts()).toEqual({ streams: new Set(log.map((e) => e.streamId)).size, events: log.length });
  });

  it('an edit is reported once, at the edited event', () => {
    const events = copy();
    (events[at(events, 'member-m1', 1)].data as { points: number }).points += 1;
    expect(checkAll(events)).toEqual([expect.objectContaining({ kind: 'hash_mismatch', streamId: 'member-m1', revision: 1 })]);
  });

  it('a deletion is a revision gap; a swap breaks prevHash; a foreign eventId and a missing hash are named', () => {
    const deleted = copy();
    deleted.splice(at(deleted, 'member-m1', 2), 1);
    expect(checkAll(deleted)[0]).toMatchObject({ kind: 'revision_gap', streamId: 'member-m1', revision: 3, expected: 2, found: 3 });

    const swapped = copy();
    const i = at(swapped, 'member-m1', 1);
    const j = at(swapped, 'member-m1', 2);
    const [a, b] = [swapped[i], swapped[j]];
    swapped[i] = { ...b, revision: a.revision, position: a.position };
    swapped[j] = { ...a, revision: b.revision, position: b.position };
    expect(checkAll(swapped)[0]).toMatchObject({ kind: 'prev_hash_mismatch', streamId: 'member-m1', revision: 1 });

    const foreign = copy();
    foreign[3].eventId = 'another-id';
    expect(checkAll(foreign)).toEqual([expect.objectContaining({ kind: 'event_id_mismatch', expected: 'another-id' })]);

    const bare = copy();
    delete bare[2].metadata.hash;
    expect(checkAll(bare)[0]).toMatchObject({ kind: 'hash_missing', revision: bare[2].revision });
  });

  it('positions going backwards, and content canonical JSON refuses, are divergences, not exceptions', () => {
    const reordered = copy();
    [reordered[4], reordered[5]] = [reordered[5], reordered[4]];
    expect(checkAll(reordered).map((d) => d!.kind)).toContain('position_order');
    const fraction = copy();
    (fraction[at(fraction, 'member-m2', 1)].data as { points: number }).points = 1.5;
    expect(checkAll(fraction)).toEqual([
      expect.objectContaining({ kind: 'hash_mismatch', message: expect.stringContaining('cannot be hashed') }),
    ]);
  });
});
