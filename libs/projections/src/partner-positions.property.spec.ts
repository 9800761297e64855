import fc from 'fast-check';
import { MemoryEventStore } from '@ledger/event-store';
import { ProjectionRunner, ReadModelReader, ReadStore, headPosition } from './index';
import { DirectLedger } from './testing/direct-ledger';

type Op =
  | { kind: 'accrue'; partner: number; member: number; amountMinor: number }
  | { kind: 'redeem'; partner: number; member: number; share: number }
  | { kind: 'reverse'; member: number }
  | { kind: 'expire'; member: number };

const PARTNERS = ['a', 'b', 'c', 'd', 'e'];
const MEMBERS = ['m0', 'm1', 'm2', 'm3'];

const opArb = (withBreakage: boolean): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('accrue' as const),
        partner: fc.nat(4),
        member: fc.nat(3),
        amountMinor: fc.integer({ min: 100, max: 500_000 }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('redeem' as const),
        partner: fc.nat(4),
        member: fc.nat(3),
        share: fc.double({ min: 0.01, max: 1, noNaN: true }),
      }),
    },
    ...(withBreakage
      ? [
          { weight: 1, arbitrary: fc.record({ kind: fc.constant('reverse' as const), member: fc.nat(3) }) },
          { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), member: fc.nat(3) }) },
        ]
      : []),
  );

/** Plays the ops through the member decider (refusals are skipped, as a till would), then projects in small batches. */
async function project(ops: Op[], batchSize: number) {
  const store = new MemoryEventStore();
  const ledger = new DirectLedger(store);
  await ledger.configure(7);
  for (const p of PARTNERS) await ledger.join(p);
  for (const m of MEMBERS) await ledger.enrol(m);
  const last = new Map<string, { partnerId: string; externalId: string }>();
  let n = 0;
  for (const op of ops) {
    const externalId = `t${++n}`;
    if (op.kind === 'accrue') {
      await ledger.accrue(PARTNERS[op.partner], MEMBERS[op.member], op.amountMinor, externalId);
      last.set(MEMBERS[op.member], { partnerId: PARTNERS[op.partner], externalId });
    } else if (op.kind === 'redeem') {
      const available = ledger.state(MEMBERS[op.member]).available;
      const points = Math.floor(available * op.share);
      if (points < 1) continue;
      await ledger.redeem(PARTNERS[op.partner], MEMBERS[op.member], points, externalId);
      last.set(MEMBERS[op.member], { partnerId: PARTNERS[op.partner], externalId });
    } else if (op.kind === 'reverse') {
      const original = last.get(MEMBERS[op.member]);
      if (!original) continue;
      last.delete(MEMBERS[op.member]);
      // A refund of points already spent is refused by the decider: skip it, as a till would.
      const state = ledger.state(MEMBERS[op.member]);
      const tx = state.transactions.get(`${original.partnerId}:${original.externalId}`)!;
      const lot = state.lots.find((l) => l.lotId === `${original.partnerId}:${original.externalId}`);
      if (tx.kind === 'accrual' && (lot?.points ?? 0) < tx.points) continue;
      await ledger.reverse(original.partnerId, MEMBERS[op.member], original.externalId, externalId);
    } else {
      const lot = ledger.state(MEMBERS[op.member]).lots[0];
      if (!lot) continue;
      await ledger.expire(MEMBERS[op.member], lot.lotId);
    }
  }
  const readStore = ReadStore.open(':memory:');
  await new ProjectionRunner(store, readStore, { batchSize }).runUntil((await headPosition(store))!);
  const reader = new ReadModelReader(readStore);
  const result = { positions: reader.partnerPositions(), liability: reader.liability(), ledger, reader };
  return { ...result, close: () => readStore.close() };
}

const sum = (rows: readonly Record<string, any>[], field: string) => rows.reduce((s, r) => s + (r[field] as number), 0);

describe('partner positions (property)', () => {
  it('sum correctly across partners: Σ issued = Σ redeemed + Σ outstanding (no expiry, no reversal)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb(false), { maxLength: 40 }), fc.integer({ min: 1, max: 25 }), async (ops, batchSize) => {
        const { positions, liability, ledger, reader, close } = await project(ops, batchSize);
        try {
          expect(positions.map((p) => p.partnerId)).toEqual(PARTNERS);
          expect(sum(positions, 'pointsIssued')).toBe(sum(positions, 'pointsRedeemedAt') + sum(positions, 'pointsOutstanding'));
          // Every inter-partner point counted once on each side.
          expect(sum(positions, 'pointsRedeemedElsewhere')).toBe(sum(positions, 'pointsRedeemedFromOthers'));
          // The liability rows are the same redemptions, by period.
          expect(sum(liability, 'points')).toBe(sum(positions, 'pointsRedeemedAt'));
          expect(sum(liability, 'amountMinor')).toBe(sum(positions, 'pointsRedeemedAt') * 7);
          // Each partner's outstanding points are exactly what members hold in its lots.
          for (const p of positions) {
            const held = MEMBERS.flatMap((m) => ledger.state(m).lots).filter((l) => l.issuerPartnerId === p.partnerId);
            expect(p.pointsOutstanding).toBe(sum(held, 'points'));
            expect(p.liabilityMinor).toBe(p.pointsOutstanding * 7);
          }
          for (const m of MEMBERS) expect(reader.member(m)!.available).toBe(ledger.state(m).available);
        } finally {
          close();
        }
      }),
      { numRuns: 100 },
    );
  });

  it('conserve points with refunds, cancelled redemptions and breakage: issued = redeemed + expired + reversed + outstanding', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb(true), { maxLength: 40 }), fc.integer({ min: 1, max: 25 }), async (ops, batchSize) => {
        const { positions, ledger, reader, close } = await project(ops, batchSize);
        try {
          for (const p of positions) {
            const redeemedOwn = p.pointsRedeemedAt - p.pointsRedeemedFromOthers + p.pointsRedeemedElsewhere;
            expect(p.pointsIssued).toBe(redeemedOwn + p.pointsExpired + p.pointsReversed + p.pointsOutstanding);
            const held = MEMBERS.flatMap((m) => ledger.state(m).lots).filter((l) => l.issuerPartnerId === p.partnerId);
            expect(p.pointsOutstanding).toBe(sum(held, 'points'));
            expect(p.pointsOutstanding).toBeGreaterThanOrEqual(0);
          }
          expect(sum(positions, 'pointsIssued')).toBe(
            sum(positions, 'pointsRedeemedAt') +
              sum(positions, 'pointsExpired') +
              sum(positions, 'pointsReversed') +
              sum(positions, 'pointsOutstanding'),
          );
          for (const m of MEMBERS) {
            const state = ledger.state(m);
            expect(reader.member(m)).toMatchObject({
              available: state.available,
              lifetimeAccrued: state.lifetimeAccrued,
              lifetimeRedeemed: state.lifetimeRedeemed,
              lifetimeExpired: state.lifetimeExpired,
              lots: state.lots.map(({ lotId, issuerPartnerId, points, expiresAt }) => ({ lotId, issuerPartnerId, points, expiresAt })),
            });
          }
        } finally {
          close();
        }
      }),
      { numRuns: 100 },
    );
  });
});
