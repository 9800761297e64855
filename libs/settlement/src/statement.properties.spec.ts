/**
 * Properties of a period close over random coalitions and histories. Histories are made by
 * the member decider itself (refusals skipped), so slices, reversals and lots are the ones
 * the ledger would really write; expiries are added the way the expiry job would.
 */
import fc from 'fast-check';
import {
  DomainError,
  MemberCommand,
  MemberEvent,
  MemberState,
  PartnerTerms,
  TxContext,
  decideMember,
  evolveMember,
  initialMember,
  termsAt,
  withLuhnDigit,
} from '@ledger/domain';
import { SettledEvent, selectForPeriod } from './membership';
import { LedgerEvent } from './money-events';
import { CURRENCY } from './settlement.fixtures';
import { calculateStatement, statementJson, verifyStatement } from './statement';
import { StatementBuilder } from './statement-builder';
import { SettlementStatement } from './statement.types';

const NOW = new Date('2027-06-01T00:00:00.000Z');
const CLOSED_BEFORE = '2026-09';
const PERIOD = '2026-10';

// ---- arbitraries ---------------------------------------------------------------------

const bps = fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom(0, 50, 100, 150, 250, 2500, 5000, 10_000));

const arbTerms: fc.Arbitrary<PartnerTerms[]> = fc
  .array(fc.record({ fee: bps, share: bps, month: fc.integer({ min: 1, max: 12 }), day: fc.integer({ min: 1, max: 28 }) }), {
    minLength: 1,
    maxLength: 3,
  })
  .map((versions) =>
    versions
      .map((v, i) => ({
        earnRule: { pointsPerUnit: 1 + (v.day % 3), unitMinor: 100 },
        issuanceFeeBps: v.fee,
        breakageShareBps: v.share,
        // The first version is in force from the start; later ones change it during 2026.
        effectiveFrom:
          i === 0 ? '2020-01-01T00:00:00.000Z' : `2026-${String(v.month).padStart(2, '0')}-${String(v.day).padStart(2, '0')}T00:00:00.000Z`,
      }))
      .sort((a, b) => Date.parse(a.effectiveFrom) - Date.parse(b.effectiveFrom)),
  );

interface Op {
  member: number;
  kind: 'accrue' | 'redeem' | 'reverse' | 'expire';
  partner: number;
  amountMinor: number;
  points: number;
  pick: number;
  month: '2026-08' | '2026-09' | '2026-10' | '2026-11';
  day: number;
  /** 0: recorded before September was closed; 1: before October's cut-off; 2: after it. */
  phase: 0 | 1 | 2;
  pointValueMinor: number;
}

const arbOp = (partners: number, members: number): fc.Arbitrary<Op> =>
  fc.record({
    member: fc.integer({ min: 0, max: members - 1 }),
    kind: fc.constantFrom('accrue', 'accrue', 'accrue', 'redeem', 'redeem', 'redeem', 'reverse', 'expire'),
    partner: fc.integer({ min: 0, max: partners - 1 }),
    amountMinor: fc.integer({ min: 0, max: 200_000 }),
    points: fc.integer({ min: 1, max: 2000 }),
    pick: fc.nat(),
    month: fc.constantFrom('2026-08', '2026-09', '2026-09', '2026-10', '2026-10', '2026-10', '2026-10', '2026-11'),
    day: fc.integer({ min: 1, max: 28 }),
    phase: fc.constantFrom(0, 0, 1, 1, 1, 2),
    // The coalition may change its point value: events carry theirs.
    pointValueMinor: fc.constantFrom(10, 10, 10, 12, 7),
  });

const arbScenario = fc
  .record({ partners: fc.integer({ min: 1, max: 5 }), members: fc.integer({ min: 1, max: 4 }) })
  .chain(({ partners, members }) =>
    fc.record({
      terms: fc.array(arbTerms, { minLength: partners, maxLength: partners }),
      ops: fc.array(arbOp(partners, members), { minLength: 5, maxLength: 120, size: 'medium' }),
      members: fc.constant(members),
      interleavingA: fc.array(fc.nat(), { minLength: 1, maxLength: 50 }),
      interleavingB: fc.array(fc.nat(), { minLength: 1, maxLength: 50 }),
      gaps: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }),
      shuffleSeed: fc.nat(),
    }),
  );

// ---- building a log ------------------------------------------------------------------

type Staged = { event: MemberEvent; phase: 0 | 1 | 2 };

/** Runs the ops through the member decider, one stream per member, in recording order. */
function memberStreams(ops: readonly Op[], members: number, partnerTerms: ReadonlyMap<string, PartnerTerms[]>): Map<string, Staged[]> {
  const partnerIds = [...partnerTerms.keys()];
  const streams = new Map<string, Staged[]>();
  for (let m = 0; m < members; m++) {
    const memberId = `m${m}`;
    let state: MemberState = initialMember();
    const staged: Staged[] = [];
    const apply = (events: MemberEvent[], phase: 0 | 1 | 2) => {
      for (const event of events) {
        state = evolveMember(state, event);
        staged.push({ event, phase });
      }
    };
    const cardNumber = withLuhnDigit(`4000000000${String(m).padStart(5, '0')}`);
    apply(
      decideMember(
        { type: 'EnrolMember', data: { memberId, cardNumber, birthDate: null, enrolledBy: null } },
        state,
        new Date('2026-01-01T00:00:00.000Z'),
      ),
      0,
    );
    const posted: { partnerId: string; externalId: string }[] = [];
    // A stream is written in order, so its events' phases never go back.
    const mine = ops.filter((o) => o.member === m).sort((a, b) => a.phase - b.phase);
    mine.forEach((op, i) => {
      const partnerId = partnerIds[op.partner];
      const occurredAt = `${op.month}-${String(op.day).padStart(2, '0')}T10:00:00.000Z`;
      const context: TxContext = {
        coalitionCurrency: CURRENCY,
        pointValueMinor: op.pointValueMinor,
        expiryMonths: 12,
        maxBackdateDays: 3650,
      };
      const externalId = `e${i}`;
      let command: MemberCommand | undefined;
      switch (op.kind) {
        case 'accrue':
          command = {
            type: 'AccruePoints',
            data: { partnerId, externalId, memberId, amountMinor: op.amountMinor, currency: CURRENCY, occurredAt },
            context: { ...context, earnRule: termsAt(partnerTerms.get(partnerId)!, occurredAt).earnRule },
          };
          break;
        case 'redeem':
          if (state.available === 0) return;
          command = {
            type: 'RedeemPoints',
            data: { partnerId, externalId, memberId, points: 1 + (op.points % state.available), occurredAt },
            context,
          };
          break;
        case 'reverse': {
          if (posted.length === 0) return;
          const original = posted[op.pick % posted.length];
          command = {
            type: 'ReverseTransaction',
            data: { partnerId: original.partnerId, externalId, memberId, originalExternalId: original.externalId, occurredAt },
            context,
          };
          break;
        }
        case 'expire': {
          if (state.lots.length === 0) return;
          const lot = state.lots[op.pick % state.lots.length];
          const expiry: MemberEvent = {
            type: 'PointsExpired',
            data: {
              memberId,
              lotId: lot.lotId,
              issuerPartnerId: lot.issuerPartnerId,
              points: lot.points,
              pointValueMinor: op.pointValueMinor,
              currency: CURRENCY,
              occurredAt,
            },
          };
          apply([expiry], op.phase);
          return;
        }
      }
      try {
        apply(decideMember(command, state, NOW), op.phase);
        if (op.kind !== 'reverse') posted.push({ partnerId, externalId });
      } catch (err) {
        // The ledger refused (insufficient points, already reversed, points spent): nothing written.
        if (!(err instanceof DomainError)) throw err;
      }
    });
    streams.set(`member-${memberId}`, staged);
  }
  return streams;
}

/** Merges streams into one order, keeping each stream's own order; `choices` pick the next stream. */
function interleave<T>(streams: readonly (readonly T[])[], choices: readonly number[]): T[] {
  const cursors = streams.map(() => 0);
  const out: T[] = [];
  for (let step = 0; ; step++) {
    const open = streams.map((s, i) => i).filter((i) => cursors[i] < streams[i].length);
    if (open.length === 0) return out;
    const i = open[choices[step % choices.length] % open.length];
    out.push(streams[i][cursors[i]++]);
  }
}

interface Log {
  events: LedgerEvent[];
  closedCutoff: number;
  cutoffPosition: number;
}

/**
 * Appends phase by phase in an interleaving of the streams: September is closed after
 * phase 0, October's cut-off falls after phase 1. Positions have gaps (as in EventStoreDB)
 * that depend only on the append count, so both cut-offs are the same for any interleaving.
 */
function appendAll(streams: Map<string, Staged[]>, choices: readonly number[], gaps: readonly number[]): Log {
  const revisions = new Map<string, number>();
  const events: LedgerEvent[] = [];
  let position = 1000;
  const cutoffs: number[] = [];
  for (const phase of [0, 1, 2] as const) {
    const perStream = [...streams].map(([streamId, staged]) =>
      staged.filter((s) => s.phase === phase).map((s) => ({ streamId, event: s.event })),
    );
    for (const { streamId, event } of interleave(perStream, choices)) {
      position += gaps[events.length % gaps.length];
      const revision = revisions.get(streamId) ?? 0;
      revisions.set(streamId, revision + 1);
      events.push({ streamId, revision, position, type: event.type, data: event.data });
    }
    cutoffs.push(position);
  }
  return { events, closedCutoff: cutoffs[0], cutoffPosition: cutoffs[1] };
}

function closeOctober(
  log: Log,
  partnerTerms: ReadonlyMap<string, PartnerTerms[]>,
): { statement: SettlementStatement; settled: SettledEvent[] } {
  const { settled } = selectForPeriod(log.events, {
    periodId: PERIOD,
    cutoffPosition: log.cutoffPosition,
    closedCutoffs: new Map([[CLOSED_BEFORE, log.closedCutoff]]),
  });
  const statement = calculateStatement({
    periodId: PERIOD,
    currency: CURRENCY,
    pointValueMinor: 10,
    cutoffPosition: log.cutoffPosition,
    events: settled,
    partnerTerms,
  });
  return { statement, settled };
}

/** A deterministic shuffle (Fisher–Yates on a linear congruential sequence). */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let r = seed % 2147483647 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    r = (r * 48271) % 2147483647;
    const j = r % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const termsMap = (terms: PartnerTerms[][]) => new Map(terms.map((t, i) => [`p${i}`, t]));

// ---- properties ----------------------------------------------------------------------

describe('a period close over random coalitions and histories', () => {
  const RUNS = { numRuns: 150 };

  it('is unchanged by how the streams were interleaved, and by recomputation', () => {
    fc.assert(
      fc.property(arbScenario, (sc) => {
        const partnerTerms = termsMap(sc.terms);
        const streams = memberStreams(sc.ops, sc.members, partnerTerms);
        const a = closeOctober(appendAll(streams, sc.interleavingA, sc.gaps), partnerTerms);
        const b = closeOctober(appendAll(streams, sc.interleavingB, sc.gaps), partnerTerms);
        expect(statementJson(b.statement)).toBe(statementJson(a.statement));
        expect(b.statement.sha256).toBe(a.statement.sha256);
        expect(verifyStatement(a.statement)).toBe(true);
        // Recomputing, from the settled events in any order at all, gives the same bytes.
        const again = calculateStatement({
          periodId: PERIOD,
          currency: CURRENCY,
          pointValueMinor: 10,
          cutoffPosition: a.statement.cutoffPosition,
          events: shuffled(a.settled, sc.shuffleSeed),
          partnerTerms,
        });
        expect(statementJson(again)).toBe(statementJson(a.statement));
      }),
      RUNS,
    );
  });

  it('is the same when two builders each read a part of the log and one absorbs the other (a close on two threads)', () => {
    fc.assert(
      fc.property(arbScenario, fc.double({ min: 0, max: 1, noNaN: true }), (sc, at) => {
        const partnerTerms = termsMap(sc.terms);
        const { statement, settled } = closeOctober(
          appendAll(memberStreams(sc.ops, sc.members, partnerTerms), sc.interleavingA, sc.gaps),
          partnerTerms,
        );
        const header = { periodId: PERIOD, currency: CURRENCY, pointValueMinor: 10, cutoffPosition: statement.cutoffPosition };
        const split = Math.floor(at * settled.length);
        const first = new StatementBuilder(header, partnerTerms);
        const second = new StatementBuilder(header, partnerTerms);
        settled.slice(0, split).forEach((e) => first.add(e));
        settled.slice(split).forEach((e) => second.add(e));
        // As it crosses threads: a structured clone of the second builder's sums.
        first.absorb(structuredClone(second.part()));
        expect(statementJson(first.build())).toBe(statementJson(statement));
      }),
      RUNS,
    );
  });

  it('nets to zero, and its transfers settle every position exactly', () => {
    fc.assert(
      fc.property(arbScenario, (sc) => {
        const partnerTerms = termsMap(sc.terms);
        const { statement: s } = closeOctober(
          appendAll(memberStreams(sc.ops, sc.members, partnerTerms), sc.interleavingA, sc.gaps),
          partnerTerms,
        );

        expect(s.netPositions.reduce((sum, p) => sum + p.netMinor, 0)).toBe(0);
        for (const p of s.netPositions) {
          expect(p.netMinor).toBe(p.receivableMinor - p.payableMinor);
          expect(p.settlementMinor).toBe(p.netMinor - p.issuanceFeeMinor - p.breakageShareMinor);
          const transfers = s.transfers.filter((t) => t.partnerId === p.partnerId);
          // At most one payment per partner, none for a zero position, and exactly the amount.
          expect(transfers.length).toBe(p.settlementMinor === 0 ? 0 : 1);
          const signed = transfers.reduce((sum, t) => sum + (t.direction === 'receive' ? t.amountMinor : -t.amountMinor), 0);
          expect(signed).toBe(p.settlementMinor);
        }
        for (const t of s.transfers) expect(t.amountMinor).toBeGreaterThan(0);
        // The clearing account ends with exactly the operator's income.
        const flow = s.transfers.reduce((sum, t) => sum + (t.direction === 'pay' ? t.amountMinor : -t.amountMinor), 0);
        expect(flow).toBe(s.totals.operatorIncomeMinor);
        // Bilateral nets mirror each other and add up to the multilateral one.
        for (const b of s.bilateralNets) {
          const mirror = s.bilateralNets.find((m) => m.partnerId === b.counterpartyPartnerId && m.counterpartyPartnerId === b.partnerId);
          // A sum, not toBe(-x): a zero net would fail as +0 against -0.
          expect((mirror?.netMinor ?? NaN) + b.netMinor).toBe(0);
        }
        for (const p of s.netPositions) {
          expect(s.bilateralNets.filter((b) => b.partnerId === p.partnerId).reduce((sum, b) => sum + b.netMinor, 0)).toBe(p.netMinor);
        }
      }),
      RUNS,
    );
  });

  it('holds every inter-partner point redeemed, and rounds each fee line once', () => {
    fc.assert(
      fc.property(arbScenario, (sc) => {
        const partnerTerms = termsMap(sc.terms);
        const { statement: s, settled } = closeOctober(
          appendAll(memberStreams(sc.ops, sc.members, partnerTerms), sc.interleavingA, sc.gaps),
          partnerTerms,
        );

        let interPartnerPoints = 0;
        let interPartnerMinor = 0;
        for (const { event } of settled) {
          if (event.type !== 'PointsRedeemed' && event.type !== 'RedemptionReversed') continue;
          const sign = event.type === 'PointsRedeemed' ? 1 : -1;
          for (const slice of event.data.slices) {
            if (slice.issuerPartnerId === event.data.partnerId) continue;
            interPartnerPoints += sign * slice.points;
            interPartnerMinor += sign * slice.points * event.data.pointValueMinor;
          }
        }
        const offDiagonal = s.matrix.filter((l) => l.issuerPartnerId !== l.redeemerPartnerId);
        expect(offDiagonal.reduce((sum, l) => sum + l.points, 0)).toBe(interPartnerPoints);
        expect(offDiagonal.reduce((sum, l) => sum + l.amountMinor, 0)).toBe(interPartnerMinor);

        const lines = [
          ...s.issuanceFees.flatMap((f) =>
            f.lines.map((l) => ({ value: l.issuedValueMinor, bps: l.issuanceFeeBps, rounded: l.feeMinor, residue: l.residueBpsOfMinor })),
          ),
          ...s.breakage.flatMap((b) =>
            b.lines.map((l) => ({
              value: l.amountMinor,
              bps: l.breakageShareBps,
              rounded: l.operatorShareMinor,
              residue: l.residueBpsOfMinor,
            })),
          ),
        ];
        let residue = 0;
        for (const l of lines) {
          // rounded + residue is the exact product; the residue is at most half a minor unit,
          // and a tie went to the even neighbour.
          expect(BigInt(l.rounded) * 10_000n + BigInt(l.residue)).toBe(BigInt(l.value) * BigInt(l.bps));
          expect(Math.abs(l.residue)).toBeLessThanOrEqual(5000);
          if (Math.abs(l.residue) === 5000) expect(Math.abs(l.rounded) % 2).toBe(0);
          residue += l.residue;
        }
        expect(s.roundingResidueBpsOfMinor).toBe(residue);
      }),
      RUNS,
    );
  });

  it('settles each money event of September and October once, over the two closes', () => {
    fc.assert(
      fc.property(arbScenario, (sc) => {
        const partnerTerms = termsMap(sc.terms);
        const log = appendAll(memberStreams(sc.ops, sc.members, partnerTerms), sc.interleavingA, sc.gaps);
        const september = selectForPeriod(log.events, {
          periodId: CLOSED_BEFORE,
          cutoffPosition: log.closedCutoff,
          closedCutoffs: new Map(),
        });
        const october = selectForPeriod(log.events, {
          periodId: PERIOD,
          cutoffPosition: log.cutoffPosition,
          closedCutoffs: new Map([[CLOSED_BEFORE, log.closedCutoff]]),
        });
        const key = (e: { streamId: string; revision: number }) => `${e.streamId}@${e.revision}`;
        const settledKeys = [...september.settled, ...october.settled].map(key);
        expect(new Set(settledKeys).size).toBe(settledKeys.length);
        const expected = log.events
          .filter((e) => e.type !== 'MemberEnrolled' && e.position <= log.cutoffPosition)
          .filter((e) => ['2026-09', '2026-10'].includes((e.data as { occurredAt: string }).occurredAt.slice(0, 7)))
          .map(key);
        expect(settledKeys.sort()).toEqual(expected.sort());
        // September's late events (recorded after its close) are October's late adjustments.
        for (const s of october.settled) {
          expect(s.membership).toBe(s.event.data.occurredAt.startsWith(CLOSED_BEFORE) ? 'late' : 'regular');
        }
      }),
      RUNS,
    );
  });
});
