import { NotFound } from '@ledger/domain';
import { MemoryEventStore } from '@ledger/event-store';
import { chainEvents } from '@ledger/integrity';
import { describeEvent, formatReplayTable, parseReplayBound, replayStream } from './replay';
import { writeAuditHistory } from './testing/audit-fixture';

describe('replayStream', () => {
  it("lists a member's events with the balance after each, windowed without losing the running balance", async () => {
    let clock = Date.parse('2026-11-20T09:00:00.000Z');
    const store = new MemoryEventStore(() => new Date((clock += 1000)));
    await writeAuditHistory(store);
    const all = await replayStream(store, 'member-m1');
    expect(all.events.map((e) => [e.type, e.balanceAfter?.available])).toEqual([
      ['MemberEnrolled', 0],
      ['PointsAccrued', 500],
      ['PointsAccrued', 800],
      ['PointsRedeemed', 200],
      ['PointsExpired', 0],
    ]);
    expect(all.events.every((e) => e.chainOk)).toBe(true);
    const times = all.events.map((e) => e.recordedAt);
    const window = await replayStream(store, 'member-m1', { from: { time: times[2] }, to: { revision: 3 } });
    expect(window.events.map((e) => [e.revision, e.balanceAfter?.available])).toEqual([
      [2, 800],
      [3, 200],
    ]);
    expect(formatReplayTable(window)).toContain('member-m1: 2 of 5 events');
    await expect(replayStream(store, 'member-none')).rejects.toBeInstanceOf(NotFound);
  });

  it('keeps listing past a broken link and past a fold the domain refuses, and says where', async () => {
    const store = new MemoryEventStore();
    await writeAuditHistory(store);
    const [last] = await store.readStream('member-m2', { direction: 'backwards', maxCount: 1 });
    // Spends from a lot the member never had, then an event with a wrong hash.
    const impossible = chainEvents(
      [
        {
          type: 'PointsRedeemed',
          data: {
            txId: 'cafe:z',
            partnerId: 'cafe',
            externalId: 'z',
            memberId: 'm2',
            points: 5,
            pointValueMinor: 10,
            currency: 'RUB',
            slices: [{ lotId: 'nope', issuerPartnerId: 'cafe', points: 5 }],
            occurredAt: '2026-11-03T00:00:00.000Z',
          },
        },
      ],
      {
        correlationId: 'c',
        causationId: null,
        actor: { keyId: 'k', role: 'partner', partnerId: 'cafe' },
        occurredAt: '2026-11-03T00:00:00.000Z',
      },
      String(last.metadata.hash),
    );
    impossible[0].metadata.hash = 'f'.repeat(64);
    await store.appendToStream('member-m2', impossible, { expectedRevision: last.revision });
    const replay = await replayStream(store, 'member-m2');
    const bad = replay.events.at(-1)!;
    expect(bad).toMatchObject({ chainOk: false, balanceAfter: null });
    expect(replay.chainBreak).toMatchObject({ kind: 'hash_mismatch', revision: bad.revision });
    expect(replay.foldError).toMatchObject({ revision: bad.revision });
    const table = formatReplayTable(replay);
    expect(table).toContain('BROKEN');
    expect(table).toContain(`hash chain BROKEN at revision ${bad.revision}`);
  });

  it('parses a window bound as a revision or a zoned time', () => {
    expect(parseReplayBound('7', 'from')).toEqual({ revision: 7 });
    expect(parseReplayBound('2026-10-01T00:00:00Z', 'from')).toEqual({ time: '2026-10-01T00:00:00.000Z' });
    expect(() => parseReplayBound('last week', 'to')).toThrow('to must be a stream revision');
    expect(describeEvent('PointsExpired', { points: 3, lotId: 'l1' })).toBe('-3 pts expired from lot l1');
  });
});
