/**
 * Issue #13 point 6 (d): the settlement statements over a member's whole life agree with the
 * member fold. Random lives — accruals (some pending), redemptions, whole and partial reversals
 * of accruals, redemptions and captures, holds captured in full or in part, released or lapsed,
 * pending releases, lots expiring as the expiry job records them, and the clock moving weeks —
 * are decided by the member decider (refusals skipped), appended in order, and every month they
 * touch is closed in turn. Then:
 *  - per issuer, Σ over the statements of net issued − net redeemed (matrix, as issuer) − breakage
 *    equals what the folded state still holds in that issuer's open lots, in points and in money;
 *  - each statement's per-issuer figures are exactly the period's money events summed directly,
 *    so holds, captures' hold events and pending releases add nothing of their own.
 */
import fc from 'fast-check';
import {
  DomainError,
  MemberCommand,
  MemberEvent,
  MemberState,
  PartnerTerms,
  decideMember,
  evolveMember,
  initialMember,
} from '@ledger/domain';
import { selectForPeriod } from './membership';
import { LedgerEvent } from './money-events';
import { businessPeriodOf } from './period';
import { calculateStatement } from './statement';
import { SettlementStatement } from './statement.types';

const T0 = Date.parse('2026-09-10T12:00:00.000Z');
const MINUTE_MS = 60_000;
const MEMBER = 'm-1';
const PARTNERS = ['grocer', 'cafe', 'cinema'] as const;
/** Issuers: the partners, and the operator, which sponsors bonuses (no terms of its own: the statement gives it zeros). */
const ISSUERS = [...PARTNERS, 'operator'] as const;
const POINT_VALUE = 10;
const CTX = { coalitionCurrency: 'RUB', pointValueMinor: POINT_VALUE, expiryMonths: 12, maxBackdateDays: 90 };
const TERMS: ReadonlyMap<string, PartnerTerms[]> = new Map(
  PARTNERS.map((p, i) => [
    p,
    [
      {
        earnRule: { pointsPerUnit: 1, unitMinor: 10_000 },
        issuanceFeeBps: 150 * (i + 1),
        breakageShareBps: 2500,
        effectiveFrom: '2020-01-01T00:00:00.000Z',
      },
    ],
  ]),
);

type Op =
  | { kind: 'accrue'; partner: number; amountMinor: number; expiryMonths: number; pendingDays: number; backdate: number }
  | { kind: 'redeem'; partner: number; points: number; backdate: number }
  | { kind: 'reverse'; pick: number; share: number | null; backdate: number }
  | { kind: 'hold'; partner: number; points: number; ttlSeconds: number }
  | { kind: 'capture'; pick: number; share: number | null }
  | { kind: 'release'; pick: number }
  | { kind: 'lapse'; pick: number }
  | { kind: 'releasePending'; pick: number }
  | { kind: 'expireDue' }
  | { kind: 'advance'; minutes: number }
  | { kind: 'bonus'; sponsor: number; points: number };

const partner = fc.nat({ max: PARTNERS.length - 1 });
const backdate = fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: 3 * 24 * 60 }), weight: 1 });
const share = fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 100 }));
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('accrue' as const),
      partner,
      amountMinor: fc.integer({ min: 0, max: 1_500_000 }),
      expiryMonths: fc.constantFrom(1, 2, 12),
      pendingDays: fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.integer({ min: 1, max: 40 }), weight: 1 }),
      backdate,
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ kind: fc.constant('redeem' as const), partner, points: fc.integer({ min: 1, max: 80 }), backdate }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('reverse' as const), pick: fc.nat(), share, backdate }), weight: 3 },
  {
    arbitrary: fc.record({
      kind: fc.constant('hold' as const),
      partner,
      points: fc.integer({ min: 1, max: 80 }),
      ttlSeconds: fc.integer({ min: 1, max: 3 * 24 * 3600 }),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant('capture' as const), pick: fc.nat(), share }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('lapse' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('releasePending' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('expireDue' as const) }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('bonus' as const),
      sponsor: fc.nat({ max: ISSUERS.length - 1 }),
      points: fc.integer({ min: 1, max: 200 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      minutes: fc.oneof(fc.integer({ min: 1, max: 3 * 24 * 60 }), fc.integer({ min: 24 * 60, max: 45 * 24 * 60 })),
    }),
    weight: 3,
  },
);

interface Life {
  state: MemberState;
  log: LedgerEvent[];
}

/** Runs the ops through the decider at a moving clock; a refusal writes nothing and the life goes on. */
function live(ops: readonly Op[]): Life {
  let state = initialMember();
  let now = T0;
  const log: LedgerEvent[] = [];
  const append = (events: MemberEvent[]) => {
    for (const event of events) {
      state = evolveMember(state, event, log.length + 1);
      // Positions with gaps, as EventStoreDB's: only compared, never computed with.
      log.push({ streamId: `member-${MEMBER}`, revision: log.length, position: 100 + 7 * log.length, type: event.type, data: event.data });
    }
  };
  const posted: { partnerId: string; externalId: string; kind: 'accrual' | 'spend' }[] = [];
  const holds: { partnerId: string; holdId: string; points: number }[] = [];
  let seq = 0;
  const at = (minutesAgo: number) => new Date(now - minutesAgo * MINUTE_MS).toISOString();
  const decide = (command: MemberCommand): MemberEvent[] => {
    try {
      const events = decideMember(command, state, new Date(now));
      append(events);
      return events;
    } catch (error) {
      if (error instanceof DomainError) return [];
      throw error;
    }
  };
  decide({ type: 'EnrolMember', data: { memberId: MEMBER, cardNumber: '4111111111111111', birthDate: null, enrolledBy: null } });
  for (const o of ops) {
    const externalId = `e-${++seq}`;
    switch (o.kind) {
      case 'advance':
        now += o.minutes * MINUTE_MS;
        break;
      case 'accrue': {
        const partnerId = PARTNERS[o.partner];
        const rule = { pointsPerUnit: 1, unitMinor: 10_000, ...(o.pendingDays > 0 ? { pendingDays: o.pendingDays } : {}) };
        const data = { partnerId, externalId, memberId: MEMBER, amountMinor: o.amountMinor, currency: 'RUB', occurredAt: at(o.backdate) };
        if (decide({ type: 'AccruePoints', data, context: { ...CTX, expiryMonths: o.expiryMonths, earnRule: rule } }).length > 0) {
          posted.push({ partnerId, externalId, kind: 'accrual' });
        }
        break;
      }
      case 'redeem': {
        const partnerId = PARTNERS[o.partner];
        const data = { partnerId, externalId, memberId: MEMBER, points: o.points, occurredAt: at(o.backdate) };
        if (decide({ type: 'RedeemPoints', data, context: CTX }).length > 0) posted.push({ partnerId, externalId, kind: 'spend' });
        break;
      }
      case 'reverse': {
        if (posted.length === 0) break;
        const original = posted[o.pick % posted.length];
        const remaining = state.transactions.get(`${original.partnerId}:${original.externalId}`);
        const left = (remaining?.points ?? 0) - (state.reversedPoints.get(`${original.partnerId}:${original.externalId}`) ?? 0);
        const points = o.share === null ? undefined : Math.max(1, Math.ceil((left * o.share) / 100));
        decide({
          type: 'ReverseTransaction',
          data: {
            partnerId: original.partnerId,
            externalId,
            memberId: MEMBER,
            originalExternalId: original.externalId,
            occurredAt: at(o.backdate),
            ...(points === undefined ? {} : { points }),
          },
          context: CTX,
        });
        break;
      }
      case 'hold': {
        const partnerId = PARTNERS[o.partner];
        const data = { partnerId, externalId, memberId: MEMBER, points: o.points, ttlSeconds: o.ttlSeconds, occurredAt: at(0) };
        const events = decide({ type: 'PlaceHold', data, context: CTX });
        if (events.length > 0) holds.push({ partnerId, holdId: `${partnerId}:${externalId}`, points: o.points });
        break;
      }
      case 'capture': {
        if (holds.length === 0) break;
        const h = holds[o.pick % holds.length];
        const points = o.share === null ? null : Math.max(1, Math.ceil((h.points * o.share) / 100));
        const data = { partnerId: h.partnerId, externalId, memberId: MEMBER, holdId: h.holdId, points, occurredAt: at(0) };
        // A capture is a redemption at the holding partner, reversible as one.
        if (decide({ type: 'CaptureHold', data, context: CTX }).length > 0)
          posted.push({ partnerId: h.partnerId, externalId, kind: 'spend' });
        break;
      }
      case 'release': {
        if (holds.length === 0) break;
        const h = holds[o.pick % holds.length];
        decide({
          type: 'ReleaseHold',
          data: { partnerId: h.partnerId, externalId, memberId: MEMBER, holdId: h.holdId, occurredAt: at(0) },
          context: CTX,
        });
        break;
      }
      case 'lapse': {
        if (holds.length === 0) break;
        decide({ type: 'LapseHold', data: { memberId: MEMBER, holdId: holds[o.pick % holds.length].holdId } });
        break;
      }
      case 'releasePending': {
        const accruals = posted.filter((p) => p.kind === 'accrual');
        if (accruals.length === 0) break;
        const a = accruals[o.pick % accruals.length];
        decide({ type: 'ReleasePendingPoints', data: { memberId: MEMBER, lotId: `${a.partnerId}:${a.externalId}` } });
        break;
      }
      case 'bonus': {
        // A surprise bonus: a lot issued by its sponsor, dated by the clock.
        const sponsor = ISSUERS[o.sponsor];
        decide({
          type: 'AwardBonus',
          data: {
            txId: `${sponsor}:${externalId}`,
            kind: 'surprise',
            partnerId: sponsor,
            externalId,
            memberId: MEMBER,
            points: o.points,
            sponsor,
            reason: 'surprise',
            occurredAt: at(0),
          },
          context: CTX,
        });
        break;
      }
      case 'expireDue':
        // The expiry job: each due lot's rest lapses, dated at its expiry.
        decide({ type: 'ExpireDueLots', data: { memberId: MEMBER, until: at(0) }, context: { coalitionCurrency: 'RUB' } });
        break;
    }
  }
  return { state, log };
}

/** Closes every month the log touches, oldest first, each at the head: every event is a regular line of its own month. */
function closeAll(log: readonly LedgerEvent[]): Map<string, SettlementStatement> {
  const head = log[log.length - 1].position;
  const months = [...new Set(log.map((e) => businessPeriodOf((e.data as { occurredAt: string }).occurredAt)))].sort();
  const closed = new Map<string, number>();
  const statements = new Map<string, SettlementStatement>();
  for (const periodId of months) {
    const { settled } = selectForPeriod(log, { periodId, cutoffPosition: head, closedCutoffs: new Map(closed) });
    statements.set(
      periodId,
      calculateStatement({
        periodId,
        currency: 'RUB',
        pointValueMinor: POINT_VALUE,
        cutoffPosition: head,
        events: settled,
        partnerTerms: TERMS,
      }),
    );
    closed.set(periodId, head);
  }
  return statements;
}

interface Figures {
  issued: number;
  redeemedFrom: number;
  expired: number;
}

/** A period's money events summed per issuer, straight from the events. */
function figuresOf(events: readonly LedgerEvent[]): Map<string, Figures> {
  const out = new Map<string, Figures>(ISSUERS.map((p) => [p, { issued: 0, redeemedFrom: 0, expired: 0 }]));
  const f = (issuer: string) => out.get(issuer)!;
  for (const e of events) {
    const event = { type: e.type, data: e.data } as MemberEvent;
    switch (event.type) {
      case 'PointsAccrued':
      case 'BonusAwarded':
        f(event.data.issuerPartnerId).issued += event.data.points;
        break;
      case 'AccrualReversed':
        f(event.data.issuerPartnerId).issued -= event.data.points;
        break;
      case 'PointsRedeemed':
        for (const s of event.data.slices) f(s.issuerPartnerId).redeemedFrom += s.points;
        break;
      case 'RedemptionReversed':
        for (const s of event.data.slices) f(s.issuerPartnerId).redeemedFrom -= s.points;
        break;
      case 'PointsExpired':
        f(event.data.issuerPartnerId).expired += event.data.points;
        break;
      default:
        break;
    }
  }
  return out;
}

function statementFigures(s: SettlementStatement): Map<string, Figures> {
  const out = new Map<string, Figures>(ISSUERS.map((p) => [p, { issued: 0, redeemedFrom: 0, expired: 0 }]));
  for (const fee of s.issuanceFees) out.get(fee.partnerId)!.issued += fee.issuedPoints;
  for (const line of s.matrix) out.get(line.issuerPartnerId)!.redeemedFrom += line.points;
  for (const b of s.breakage) out.get(b.issuerPartnerId)!.expired += b.points;
  return out;
}

describe('settlement over random member lives agrees with the member fold', () => {
  it('(d) per issuer, the statements account for every point issued: redeemed, expired, or still in the lots', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40, size: 'max' }), (ops) => {
        const { state, log } = live(ops);
        const statements = closeAll(log);

        const total = new Map<string, Figures>(ISSUERS.map((p) => [p, { issued: 0, redeemedFrom: 0, expired: 0 }]));
        const issuedValue = new Map<string, number>();
        const owedValue = new Map<string, number>();
        for (const [periodId, s] of statements) {
          const inPeriod = log.filter((e) => businessPeriodOf((e.data as { occurredAt: string }).occurredAt) === periodId);
          expect(statementFigures(s)).toEqual(figuresOf(inPeriod));
          for (const [issuer, f] of statementFigures(s)) {
            const t = total.get(issuer)!;
            t.issued += f.issued;
            t.redeemedFrom += f.redeemedFrom;
            t.expired += f.expired;
          }
          for (const fee of s.issuanceFees) issuedValue.set(fee.partnerId, (issuedValue.get(fee.partnerId) ?? 0) + fee.issuedValueMinor);
          for (const line of s.matrix) owedValue.set(line.issuerPartnerId, (owedValue.get(line.issuerPartnerId) ?? 0) + line.amountMinor);
          for (const b of s.breakage) owedValue.set(b.issuerPartnerId, (owedValue.get(b.issuerPartnerId) ?? 0) + b.amountMinor);
        }
        for (const issuer of ISSUERS) {
          const inLots = state.lots.filter((l) => l.issuerPartnerId === issuer).reduce((sum, l) => sum + l.points, 0);
          const t = total.get(issuer)!;
          expect({ issuer, outstanding: t.issued - t.redeemedFrom - t.expired }).toEqual({ issuer, outstanding: inLots });
          // One point value throughout: the money is the points at that value, no more, no less.
          expect((issuedValue.get(issuer) ?? 0) - (owedValue.get(issuer) ?? 0)).toBe(inLots * POINT_VALUE);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
