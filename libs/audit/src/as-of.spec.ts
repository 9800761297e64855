import fc from 'fast-check';
import { InvalidInput, NotFound, Refused } from '@ledger/domain';
import { EventStore, MemoryEventStore, RecordedEvent } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { DirectLedger } from '@ledger/projections/testing/direct-ledger';
import { lastRecordedAtOrBefore, memberAsOf, parseAsOf, partnerPositionAsOf, resolveAsOf } from './as-of';

const PARTNERS = ['grocer', 'cafe', 'air'];
const MEMBERS = ['m1', 'm2', 'm3'];

type Op =
  | { kind: 'accrue'; member: number; partner: number; amountMinor: number }
  | { kind: 'redeem'; member: number; partner: number; share: number }
  | { kind: 'reverse'; member: number }
  | { kind: 'expire'; member: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('accrue' as const),
      member: fc.nat(2),
      partner: fc.nat(2),
      amountMinor: fc.integer({ min: 100, max: 90_000 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('redeem' as const),
      member: fc.nat(2),
      partner: fc.nat(2),
      share: fc.double({ min: 0.01, max: 1, noNaN: true }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reverse' as const), member: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), member: fc.nat(2) }) },
);

/** A random valid history on a store whose clock the test moves (sometimes not at all: equal recorded times). */
async function randomHistory(ops: Op[], steps: number[]): Promise<{ store: MemoryEventStore; events: RecordedEvent[] }> {
  let clock = Date.parse('2026-11-20T08:00:00.000Z');
  const store = new MemoryEventStore(() => new Date(clock));
  const l = new DirectLedger(store);
  await l.configure(10);
  for (const p of PARTNERS) await l.join(p);
  for (const m of MEMBERS) await l.enrol(m);
  const last = new Map<string, { partner: string; externalId: string } | undefined>();
  for (const [i, o] of ops.entries()) {
    clock += steps[i % steps.length];
    const memberId = MEMBERS[o.member];
    const state = l.state(memberId);
    const externalId = `x${i}`;
    if (o.kind === 'accrue') {
      await l.accrue(PARTNERS[o.partner], memberId, o.amountMinor, externalId);
      last.set(memberId, { partner: PARTNERS[o.partner], externalId });
    } else if (o.kind === 'redeem' && state.available > 0) {
      await l.redeem(PARTNERS[o.partner], memberId, Math.max(1, Math.floor(state.available * o.share)), externalId);
      last.set(memberId, { partner: PARTNERS[o.partner], externalId });
    } else if (o.kind === 'reverse' && last.get(memberId)) {
      const { partner, externalId: original } = last.get(memberId)!;
      try {
        await l.reverse(partner, memberId, original, externalId);
      } catch (error) {
        // A refund of points already spent is refused (nothing appended): the history goes on.
        if (!(error instanceof Refused)) throw error;
      }
      last.set(memberId, undefined);
    } else if (o.kind === 'expire' && state.lots.length > 0) {
      await l.expire(memberId, state.lots[0].lotId);
    }
  }
  return { store, events: await store.readAll() };
}

/** The dumbest possible fold: sums over the event list, no domain code. */
function bruteMember(events: RecordedEvent[], memberId: string) {
  let available = 0;
  let accrued = 0;
  let redeemed = 0;
  const lots = new Map<string, number>();
  let enrolled = false;
  for (const e of events) {
    if (e.streamId !== `member-${memberId}`) continue;
    const d = e.data as { points: number; lotId: string; slices: { lotId: string; points: number }[] };
    switch (e.type) {
      case 'MemberEnrolled':
        enrolled = true;
        break;
      case 'PointsAccrued':
        available += d.points;
        accrued += d.points;
        if (d.points > 0) lots.set(d.lotId, d.points);
        break;
      case 'PointsRedeemed':
        available -= d.points;
        redeemed += d.points;
        for (const s of d.slices) lots.set(s.lotId, lots.get(s.lotId)! - s.points);
        break;
      case 'AccrualReversed':
        available -= d.points;
        accrued -= d.points;
        lots.set(d.lotId, lots.get(d.lotId)! - d.points);
        break;
      case 'RedemptionReversed':
        available += d.points;
        redeemed -= d.points;
        for (const s of d.slices) lots.set(s.lotId, lots.get(s.lotId)! + s.points);
        break;
      case 'PointsExpired':
        available -= d.points;
        lots.set(d.lotId, lots.get(d.lotId)! - d.points);
        break;
    }
  }
  const open = [...lots]
    .filter(([, p]) => p > 0)
    .map(([lotId, points]) => ({ lotId, points }))
    .sort((a, b) => (a.lotId < b.lotId ? -1 : 1));
  return { enrolled, available, lifetimeAccrued: accrued, lifetimeRedeemed: redeemed, lots: open };
}

function brutePartner(events: RecordedEvent[], partnerId: string) {
  let issued = 0;
  let ownRedeemed = 0;
  let expired = 0;
  let reversed = 0;
  let redeemedAt = 0;
  for (const e of events) {
    const d = e.data as {
      points: number;
      issuerPartnerId: string;
      partnerId: string;
      slices: { issuerPartnerId: string; points: number }[];
    };
    if (e.type === 'PointsAccrued' && d.issuerPartnerId === partnerId) issued += d.points;
    if (e.type === 'PointsExpired' && d.issuerPartnerId === partnerId) expired += d.points;
    if (e.type === 'AccrualReversed' && d.issuerPartnerId === partnerId) reversed += d.points;
    const sign = e.type === 'PointsRedeemed' ? 1 : e.type === 'RedemptionReversed' ? -1 : 0;
    if (sign !== 0) {
      for (const s of d.slices) {
        if (s.issuerPartnerId === partnerId) ownRedeemed += sign * s.points;
        if (d.partnerId === partnerId) redeemedAt += sign * s.points;
      }
    }
  }
  return {
    pointsIssued: issued,
    pointsRedeemedAt: redeemedAt,
    pointsExpired: expired,
    pointsReversed: reversed,
    pointsOutstanding: issued - ownRedeemed - expired - reversed,
  };
}

const upTo = (events: RecordedEvent[], position: number) => events.filter((e) => e.position <= position);

describe('as of a moment, against a brute-force fold of the log', () => {
  it('members and partners as of any position (before the first event, between, past the head)', () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 5, maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 5 }),
        async (ops, steps) => {
          const { store, events } = await randomHistory(ops, steps);
          const head = events[events.length - 1].position;
          for (const position of [0, Math.floor(head / 3), Math.floor(head / 2), head - 1, head, head + 10]) {
            const seen = upTo(events, position);
            for (const memberId of MEMBERS) {
              const brute = bruteMember(seen, memberId);
              if (!brute.enrolled) {
                await expect(memberAsOf(store, memberId, { kind: 'position', position })).rejects.toBeInstanceOf(NotFound);
                continue;
              }
              const m = await memberAsOf(store, memberId, { kind: 'position', position });
              expect({ available: m.available, lifetimeAccrued: m.lifetimeAccrued, lifetimeRedeemed: m.lifetimeRedeemed }).toEqual({
                available: brute.available,
                lifetimeAccrued: brute.lifetimeAccrued,
                lifetimeRedeemed: brute.lifetimeRedeemed,
              });
              expect(m.lots.map(({ lotId, points }) => ({ lotId, points })).sort((a, b) => (a.lotId < b.lotId ? -1 : 1))).toEqual(
                brute.lots,
              );
              expect(m.asOfPosition).toBe(Math.min(position, head));
            }
            for (const partnerId of PARTNERS) {
              if (!seen.some((e) => e.type === 'PartnerJoined' && e.streamId === `partner-${partnerId}`)) {
                await expect(partnerPositionAsOf(store, partnerId, { kind: 'position', position })).rejects.toBeInstanceOf(NotFound);
                continue;
              }
              const p = await partnerPositionAsOf(store, partnerId, { kind: 'position', position });
              expect(p).toMatchObject(brutePartner(seen, partnerId));
              expect(p.liabilityMinor).toBe(p.pointsOutstanding * 10);
            }
          }
        },
      ),
      { numRuns: 25 },
    ));

  it('as of a recorded time = the events recorded at or before it (ties and gaps in the clock included)', () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 5, maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 3_000 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: -2_000, max: 120_000 }), { minLength: 1, maxLength: 6 }),
        async (ops, steps, offsets) => {
          const { store, events } = await randomHistory(ops, steps);
          const start = Date.parse(events[0].recordedAt);
          for (const offset of offsets) {
            const t = start + offset;
            const seen = events.filter((e) => Date.parse(e.recordedAt) <= t);
            const resolved = await resolveAsOf(store, { kind: 'time', at: new Date(t).toISOString() });
            expect(resolved.position).toBe(seen.at(-1)?.position);
            for (const memberId of MEMBERS) {
              const brute = bruteMember(seen, memberId);
              if (!brute.enrolled) continue;
              const m = await memberAsOf(store, memberId, new Date(t).toISOString());
              expect(m.available).toBe(brute.available);
            }
          }
        },
      ),
      { numRuns: 25 },
    ));

  it('finds the time boundary on a store whose positions have gaps (binary search, never position + 1)', async () => {
    let clock = Date.parse('2026-11-20T08:00:00.000Z');
    const sqlite = SqliteEventStore.open(':memory:', { now: () => new Date(clock) });
    // EventStoreDB-like positions: the same log, every position p shown as p × 1000 + 7.
    const spread = (e: RecordedEvent): RecordedEvent => ({ ...e, position: e.position * 1000 + 7 });
    const store: EventStore = {
      conflictRetry: sqlite.conflictRetry,
      appendToStream: (s, ev, o) => sqlite.appendToStream(s, ev, o).then((r) => ({ ...r, position: r.position * 1000 + 7 })),
      readStream: (s, o) => sqlite.readStream(s, o).then((es) => es.map(spread)),
      async readAll(o = {}) {
        const backwards = o.direction === 'backwards';
        if (o.fromPosition === undefined) return (await sqlite.readAll(o)).map(spread);
        const inner = backwards ? Math.floor((o.fromPosition - 7) / 1000) : Math.ceil((o.fromPosition - 7) / 1000);
        if (inner < 0) return backwards ? [] : (await sqlite.readAll({ ...o, fromPosition: 0 })).map(spread);
        return (await sqlite.readAll({ ...o, fromPosition: inner })).map(spread);
      },
      scanAll: (o, onEvent) =>
        sqlite.scanAll(
          { ...o, upTo: Math.floor((o.upTo - 7) / 1000), onProgress: o.onProgress && ((p) => o.onProgress!(p * 1000 + 7)) },
          (e) => onEvent(spread(e)),
        ),
      subscribeToAll: () => {
        throw new Error('not used');
      },
      close: () => sqlite.close(),
    };
    try {
      const l = new DirectLedger(store);
      await l.configure(10);
      await l.join('grocer');
      await l.enrol('m1');
      for (let i = 0; i < 200; i++) {
        clock += i % 7 === 0 ? 0 : 1_000;
        await l.accrue('grocer', 'm1', 10_000, `a${i}`);
      }
      const events = await store.readAll();
      expect(events[1].position - events[0].position).toBe(1000);
      for (const probe of [
        clock - 1_000_000,
        Date.parse(events[0].recordedAt),
        Date.parse(events[57].recordedAt) + 500,
        Date.parse(events[150].recordedAt),
        clock,
        clock + 1,
      ]) {
        const expected = events.filter((e) => Date.parse(e.recordedAt) <= probe).at(-1);
        expect((await lastRecordedAtOrBefore(store, probe))?.position).toBe(expected?.position);
      }
      const m = await memberAsOf(store, 'm1', events[100].position + 500);
      expect(m.asOfPosition).toBe(events[100].position);
    } finally {
      await store.close();
    }
  });

  it('falls back to a scan on a store that refuses to read from a position it did not hand out', async () => {
    let clock = Date.parse('2026-11-20T08:00:00.000Z');
    const memory = new MemoryEventStore(() => new Date((clock += 1_000)));
    const l = new DirectLedger(memory);
    await l.configure(10);
    await l.join('grocer');
    await l.enrol('m1');
    for (let i = 0; i < 20; i++) await l.accrue('grocer', 'm1', 10_000, `a${i}`);
    // Positions handed out are 0, 10, 20, …; a read from any other position is refused.
    const spread = (e: RecordedEvent): RecordedEvent => ({ ...e, position: e.position * 10 });
    const strict: EventStore = {
      conflictRetry: memory.conflictRetry,
      appendToStream: (st, ev, o) => memory.appendToStream(st, ev, o),
      readStream: async (st, o) => (await memory.readStream(st, o)).map(spread),
      readAll: async (o = {}) => {
        if (o.fromPosition !== undefined && o.fromPosition % 10 !== 0) throw new Error(`invalid position ${o.fromPosition}`);
        return (await memory.readAll({ ...o, fromPosition: o.fromPosition === undefined ? undefined : o.fromPosition / 10 })).map(spread);
      },
      scanAll: (o, onEvent) =>
        memory.scanAll({ ...o, upTo: Math.floor(o.upTo / 10), onProgress: o.onProgress && ((p) => o.onProgress!(p * 10)) }, (e) =>
          onEvent(spread(e)),
        ),
      subscribeToAll: (o) => memory.subscribeToAll(o),
      close: () => memory.close(),
    };
    const events = await strict.readAll();
    const target = events[12];
    expect((await resolveAsOf(strict, { kind: 'time', at: new Date(Date.parse(target.recordedAt) + 500).toISOString() })).position).toBe(
      target.position,
    );
    expect((await memberAsOf(strict, 'm1', target.position + 5)).available).toBe(
      (await memberAsOf(memory, 'm1', target.position / 10)).available,
    );
  });

  it('parses a position or a zoned ISO time; anything else is a 400 naming the field', () => {
    expect(parseAsOf('42')).toEqual({ kind: 'position', position: 42 });
    expect(parseAsOf('2026-10-01T12:00:00+03:00')).toEqual({ kind: 'time', at: '2026-10-01T09:00:00.000Z' });
    for (const bad of ['2026-10-01', '2026-10-01T12:00:00', '-1', '1.5', 'now', '99999999999999999']) {
      expect(() => parseAsOf(bad)).toThrow(InvalidInput);
    }
    expect(() => parseAsOf('x', '--as-of')).toThrow('--as-of must be a log position');
  });
});
