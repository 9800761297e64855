import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { Conflict, DomainError, InvalidInput, NotFound, Refused } from '../shared/errors';
import { AccruePoints, MemberCommand, RedeemPoints, ReverseTransaction, TxContext } from './member.commands';
import { decideMember } from './member.decide';
import { LotSlice, MemberEvent } from './member.events';
import { MemberState, TxRecord, evolveMember, initialMember } from './member.state';

/**
 * Random member histories, decided one command at a time and folded, checked at every step
 * against a small model kept here from the decided events alone.
 */

const NOW = new Date('2026-11-20T12:00:00.000Z');
const MINUTE_MS = 60_000;
const DAY_MINUTES = 24 * 60;
const MEMBER = 'm-1';
const PARTNERS = ['grocer', 'cafe', 'cinema'] as const;
const UNIT_MINOR = 10_000; // 1 point per 100.00
const CTX: TxContext = { coalitionCurrency: 'RUB', pointValueMinor: 10, expiryMonths: 12, maxBackdateDays: 90 };

type Partner = (typeof PARTNERS)[number];

type Step =
  | { kind: 'accrue'; partnerId: Partner; amountMinor: number; minutesAgo: number; expiryMonths: number }
  | { kind: 'redeem'; partnerId: Partner; points: number; minutesAgo: number }
  | { kind: 'reverse'; pick: number; redemptionsOnly: boolean; minutesAgo: number }
  | { kind: 'retry'; pick: number }
  | { kind: 'conflict'; pick: number }
  | { kind: 'badDate'; partnerId: Partner; minutesAgo: number };

// Business dates from 4 minutes ahead (inside the clock skew) to 89 days back.
const minutesAgo = fc.integer({ min: -4, max: 89 * DAY_MINUTES });
const partner = fc.constantFrom(...PARTNERS);

const accrueStep = fc.record({
  kind: fc.constant('accrue' as const),
  partnerId: partner,
  // Mostly real purchases, some below one unit (zero points).
  amountMinor: fc.oneof(
    { arbitrary: fc.integer({ min: UNIT_MINOR, max: 3_000_000 }), weight: 5 },
    { arbitrary: fc.integer({ min: 0, max: UNIT_MINOR - 1 }), weight: 1 },
  ),
  minutesAgo,
  // Short expiries make some lots lapse inside the window, so FIFO by expiry and spendability matter.
  expiryMonths: fc.oneof({ arbitrary: fc.constantFrom(1, 2, 3), weight: 1 }, { arbitrary: fc.constant(12), weight: 2 }),
});
const redeemStep = fc.record({
  kind: fc.constant('redeem' as const),
  partnerId: partner,
  // Mostly within reach, some far beyond the balance.
  points: fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: 120 }), weight: 3 },
    { arbitrary: fc.integer({ min: 1, max: 1_500 }), weight: 1 },
  ),
  minutesAgo,
});
const retryStep = fc.record({ kind: fc.constant('retry' as const), pick: fc.nat() });
const conflictStep = fc.record({ kind: fc.constant('conflict' as const), pick: fc.nat() });
// Half the reversals aim at redemptions, which are fewer than accruals.
const reverseStep = fc.record({ kind: fc.constant('reverse' as const), pick: fc.nat(), redemptionsOnly: fc.boolean(), minutesAgo });
const badDateStep = fc.record({
  kind: fc.constant('badDate' as const),
  partnerId: partner,
  minutesAgo: fc.oneof(fc.integer({ min: 90 * DAY_MINUTES + 1, max: 400 * DAY_MINUTES }), fc.integer({ min: -DAY_MINUTES, max: -6 })),
});

const withoutReversals: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof(
    { arbitrary: accrueStep, weight: 5 },
    { arbitrary: redeemStep, weight: 4 },
    { arbitrary: retryStep, weight: 1 },
    { arbitrary: conflictStep, weight: 1 },
    { arbitrary: badDateStep, weight: 1 },
  ),
  { maxLength: 40, size: 'max' },
);
const withReversals: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof(
    { arbitrary: accrueStep, weight: 5 },
    { arbitrary: redeemStep, weight: 4 },
    { arbitrary: reverseStep, weight: 3 },
    { arbitrary: retryStep, weight: 1 },
    { arbitrary: conflictStep, weight: 1 },
  ),
  { maxLength: 40, size: 'max' },
);

const dateAgo = (minutes: number) => new Date(NOW.getTime() - minutes * MINUTE_MS).toISOString();

/** The model's view of a lot: built from PointsAccrued, moved only by the slices in events. */
interface ModelLot {
  lotId: string;
  issuerPartnerId: string;
  remaining: number;
  expiresAt: string;
  order: number;
}

interface Posted {
  command: AccruePoints | RedeemPoints | ReverseTransaction;
  txId: string;
  event: MemberEvent;
  /** The transaction's record right after it was posted: what its first answer was built from. */
  answer: TxRecord;
}

class Model {
  readonly lots = new Map<string, ModelLot>();
  readonly issued = new Map<string, number>();
  /** Net of slices returned by redemption reversals. */
  readonly redeemedFrom = new Map<string, number>();
  readonly accrualReversed = new Map<string, number>();
  readonly reversed = new Set<string>();
  private order = 0;

  apply(event: MemberEvent): void {
    switch (event.type) {
      case 'PointsAccrued': {
        const d = event.data;
        add(this.issued, d.issuerPartnerId, d.points);
        if (d.points > 0) {
          this.lots.set(d.lotId, {
            lotId: d.lotId,
            issuerPartnerId: d.issuerPartnerId,
            remaining: d.points,
            expiresAt: d.expiresAt,
            order: this.order++,
          });
        }
        return;
      }
      case 'PointsRedeemed':
        for (const s of event.data.slices) {
          this.lot(s.lotId).remaining -= s.points;
          add(this.redeemedFrom, s.issuerPartnerId, s.points);
        }
        return;
      case 'RedemptionReversed':
        this.reversed.add(event.data.originalTxId);
        for (const s of event.data.slices) {
          this.lot(s.lotId).remaining += s.points;
          add(this.redeemedFrom, s.issuerPartnerId, -s.points);
        }
        return;
      case 'AccrualReversed':
        this.reversed.add(event.data.originalTxId);
        add(this.accrualReversed, event.data.issuerPartnerId, event.data.points);
        if (event.data.points > 0) this.lot(event.data.lotId).remaining -= event.data.points;
        return;
      default:
        throw new Error(`the model does not expect ${event.type}`);
    }
  }

  lot(lotId: string): ModelLot {
    const lot = this.lots.get(lotId);
    if (!lot) throw new Error(`no lot ${lotId} in the model`);
    return lot;
  }

  /** Spendable lots at a business date, in the order FIFO must take them. */
  spendableInOrder(at: string): ModelLot[] {
    const t = Date.parse(at);
    return [...this.lots.values()]
      .filter((l) => l.remaining > 0 && Date.parse(l.expiresAt) > t)
      .sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt) || a.order - b.order);
  }
}

// Checked thousands of times a run: plain comparisons, with jest's diff only on failure.
function holds(condition: boolean, why: string): void {
  if (!condition) throw new Error(why);
}

function same<T>(actual: T, expected: T, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) expect({ what, value: actual }).toEqual({ what, value: expected });
}

function add(m: Map<string, number>, key: string, n: number): void {
  m.set(key, (m.get(key) ?? 0) + n);
}

/** Everything in a state, maps and sets included, as comparable plain data. */
const snapshot = (s: MemberState) => ({
  ...s,
  lots: s.lots.map((l) => ({ ...l })),
  transactions: [...s.transactions.entries()].map(([k, v]) => [k, { ...v, slices: v.slices.map((x) => ({ ...x })) }]),
  lotIndex: [...s.lotIndex.entries()].map(([k, v]) => [k, { ...v }]),
  reversedTxIds: [...s.reversedTxIds],
});

function refusal(decide: () => unknown): DomainError {
  try {
    decide();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error; // an assertion failure is a bug, not a refusal
  }
  throw new Error('expected a refusal, but decide answered');
}

/** Drives one random history, checking every step. */
class Harness {
  state: MemberState;
  position = 0;
  readonly model = new Model();
  readonly posted: Posted[] = [];
  private seq = 0;

  constructor() {
    const enrolled: MemberEvent = {
      type: 'MemberEnrolled',
      data: { memberId: MEMBER, cardNumber: '4111111111111111', birthDate: null, enrolledBy: null, occurredAt: '2026-08-01T00:00:00.000Z' },
    };
    this.state = evolveMember(initialMember(), enrolled, ++this.position);
  }

  step(step: Step): void {
    switch (step.kind) {
      case 'accrue':
        return this.accrue(step);
      case 'redeem':
        return this.redeem(step);
      case 'reverse':
        return this.reverse(step);
      case 'retry':
        return this.retry(step.pick);
      case 'conflict':
        return this.conflict(step.pick);
      case 'badDate':
        return this.badDate(step);
    }
  }

  private accrue(step: Extract<Step, { kind: 'accrue' }>): void {
    const command: AccruePoints = {
      type: 'AccruePoints',
      data: {
        partnerId: step.partnerId,
        externalId: `a-${++this.seq}`,
        memberId: MEMBER,
        amountMinor: step.amountMinor,
        currency: 'RUB',
        occurredAt: dateAgo(step.minutesAgo),
      },
      context: { ...CTX, expiryMonths: step.expiryMonths, earnRule: { pointsPerUnit: 1, unitMinor: UNIT_MINOR } },
    };
    const events = this.decided(command);
    same(events.length, 1, 'an accrual is one event');
    const event = events[0];
    if (event.type !== 'PointsAccrued') throw new Error(`accrual decided ${event.type}`);
    same(event.data.points, Math.floor(step.amountMinor / UNIT_MINOR), 'points are whole units of the earn rule');
    same(event.data.issuerPartnerId, step.partnerId, 'the accruing partner issues the lot');
    holds(Date.parse(event.data.expiresAt) > Date.parse(event.data.occurredAt), 'a lot expires after it is earned');
    this.post(command, event);
  }

  private redeem(step: Extract<Step, { kind: 'redeem' }>): void {
    const occurredAt = dateAgo(step.minutesAgo);
    const command: RedeemPoints = {
      type: 'RedeemPoints',
      data: { partnerId: step.partnerId, externalId: `x-${++this.seq}`, memberId: MEMBER, points: step.points, occurredAt },
      context: CTX,
    };
    const spendable = this.model.spendableInOrder(occurredAt);
    const spendablePoints = spendable.reduce((sum, l) => sum + l.remaining, 0);
    if (step.points > spendablePoints) {
      this.expectRefused(command, Refused, 'insufficient_points');
      return;
    }
    const events = this.decided(command);
    same(events.length, 1, 'a redemption is one event');
    const event = events[0];
    if (event.type !== 'PointsRedeemed') throw new Error(`redemption decided ${event.type}`);
    const { slices } = event.data;
    same(
      slices.reduce((sum, s) => sum + s.points, 0),
      step.points,
      'slices sum to the points redeemed',
    );
    for (const s of slices) {
      const lot = this.model.lot(s.lotId);
      holds(s.points > 0, 'a slice takes something');
      holds(s.points <= lot.remaining, 'a slice never takes more than its lot holds at that time');
      same(s.issuerPartnerId, lot.issuerPartnerId, "a slice names its lot's issuer");
    }
    // FIFO: a prefix of the spendable lots in (expiry, age) order, every lot but the last taken whole.
    same(slices, fifoReference(spendable, step.points), 'slices follow FIFO');
    this.post(command, event);
  }

  private reverse(step: Extract<Step, { kind: 'reverse' }>): void {
    const originals = this.posted.filter(
      (p) => p.event.type === 'PointsRedeemed' || (!step.redemptionsOnly && p.event.type === 'PointsAccrued'),
    );
    if (originals.length === 0) {
      const command = reversal('grocer', `v-${++this.seq}`, 'never-posted', dateAgo(step.minutesAgo));
      this.expectRefused(command, NotFound, 'transaction_not_found');
      return;
    }
    const original = originals[step.pick % originals.length];
    const command = reversal(
      original.command.data.partnerId,
      `v-${++this.seq}`,
      original.command.data.externalId,
      dateAgo(step.minutesAgo),
    );
    if (this.model.reversed.has(original.txId)) {
      this.expectRefused(command, Conflict, 'already_reversed');
      return;
    }
    if (original.event.type === 'PointsAccrued') {
      const lot = this.model.lots.get(original.event.data.lotId);
      if ((lot?.remaining ?? 0) < original.event.data.points) {
        this.expectRefused(command, Refused, 'points_already_spent');
        return;
      }
    }
    const events = this.decided(command);
    same(events.length, 1, 'a reversal is one event');
    const event = events[0];
    const was = original.event;
    if (was.type === 'PointsRedeemed') {
      if (event.type !== 'RedemptionReversed') throw new Error(`redemption reversal decided ${event.type}`);
      same([event.data.originalTxId, event.data.points], [original.txId, was.data.points], 'the reversal names its original');
      same(event.data.slices, was.data.slices, 'the exact slices go back');
    } else if (was.type === 'PointsAccrued') {
      if (event.type !== 'AccrualReversed') throw new Error(`accrual reversal decided ${event.type}`);
      same(
        [event.data.originalTxId, event.data.lotId, event.data.points],
        [original.txId, was.data.lotId, was.data.points],
        'the whole lot comes back out',
      );
    }
    this.post(command, event);
  }

  /** Any posted command, sent again as is: nothing is written and the original is answered. */
  private retry(pick: number): void {
    if (this.posted.length === 0) return;
    const p = this.posted[pick % this.posted.length];
    this.expectReplay(p);
  }

  expectReplay(p: Posted, compareState = true): void {
    const before = compareState ? snapshot(this.state) : undefined;
    same(decideMember(p.command, this.state, NOW), [], `a retry of ${p.txId} writes nothing`);
    // The handler answers a retry from the transaction's record in the state.
    same(this.state.transactions.get(p.txId), p.answer, `a retry of ${p.txId} answers the original`);
    if (before) same(snapshot(this.state), before, 'a retry leaves the state as it was');
  }

  /** A posted receipt id with another payload: a conflict, nothing written. */
  private conflict(pick: number): void {
    if (this.posted.length === 0) return;
    const { command } = this.posted[pick % this.posted.length];
    const changed: MemberCommand =
      command.type === 'AccruePoints'
        ? { ...command, data: { ...command.data, amountMinor: command.data.amountMinor + 1 } }
        : command.type === 'RedeemPoints'
          ? { ...command, data: { ...command.data, points: command.data.points + 1 } }
          : { ...command, data: { ...command.data, originalExternalId: `${command.data.originalExternalId}-other` } };
    this.expectRefused(changed, Conflict, 'idempotency_conflict');
  }

  private badDate(step: Extract<Step, { kind: 'badDate' }>): void {
    const command: RedeemPoints = {
      type: 'RedeemPoints',
      data: {
        partnerId: step.partnerId,
        externalId: `bad-${++this.seq}`,
        memberId: MEMBER,
        points: 1,
        occurredAt: dateAgo(step.minutesAgo),
      },
      context: CTX,
    };
    this.expectRefused(command, InvalidInput, 'invalid_input');
  }

  private decided(command: MemberCommand): MemberEvent[] {
    const events = decideMember(command, this.state, NOW);
    same(events.length, 1, 'a new transaction is one fact, not a replay');
    return events;
  }

  private expectRefused(
    command: MemberCommand,
    kind: typeof Conflict | typeof Refused | typeof InvalidInput | typeof NotFound,
    code: string,
  ): void {
    const before = snapshot(this.state);
    const error = refusal(() => decideMember(command, this.state, NOW));
    holds(error instanceof kind, `expected ${kind.name} ${code}, got ${error.name} ${error.code}`);
    same(error.code, code, 'refusal code');
    same(snapshot(this.state), before, `a refusal (${code}) leaves the state as it was`);
  }

  private post(command: Posted['command'], event: MemberEvent): void {
    const txId = (event.data as { txId: string }).txId;
    this.state = evolveMember(this.state, event, ++this.position);
    this.model.apply(event);
    const record = this.state.transactions.get(txId);
    if (record === undefined) throw new Error(`${txId} is not recorded`);
    this.posted.push({ command, txId, event, answer: { ...record, slices: record.slices.map((x) => ({ ...x })) } });
    // A lot already expired at the transaction's business date is not counted, lapse recorded or not.
    const unexpired = this.state.lots.filter((l) => Date.parse(l.expiresAt) > Date.parse(record.occurredAt));
    same(
      [record.balanceAfter, record.position],
      [unexpired.reduce((sum, l) => sum + l.points, 0) - this.state.held, this.position],
      'the record answers the balance and position written',
    );
  }

  checkInvariants(): void {
    const s = this.state;
    holds(s.available >= 0, 'available is never negative');
    same(s.available, s.lifetimeAccrued - s.lifetimeRedeemed - s.lifetimeExpired, 'available = accrued − redeemed − expired');
    same(s.lifetimeExpired, 0, 'nothing expires without a PointsExpired event');
    same(
      s.lots.reduce((sum, l) => sum + l.points, 0),
      s.available,
      'open lots sum to available',
    );
    holds(
      s.lots.every((lot) => lot.points > 0),
      'open lots hold points',
    );
    // The state's open lots are the model's, in creation order.
    const modelOpen = [...this.model.lots.values()].filter((l) => l.remaining > 0).sort((a, b) => a.order - b.order);
    same(
      s.lots.map((l) => [l.lotId, l.issuerPartnerId, l.points, l.expiresAt]),
      modelOpen.map((l) => [l.lotId, l.issuerPartnerId, l.remaining, l.expiresAt]),
      'open lots match the events',
    );
    // Conservation per issuer: issued − reversed = redeemed from it + still outstanding in its lots.
    const outstanding = new Map<string, number>();
    for (const lot of s.lots) add(outstanding, lot.issuerPartnerId, lot.points);
    for (const issuer of PARTNERS) {
      const issued = (this.model.issued.get(issuer) ?? 0) - (this.model.accrualReversed.get(issuer) ?? 0);
      const redeemedFrom = this.model.redeemedFrom.get(issuer) ?? 0;
      same(issued, redeemedFrom + (outstanding.get(issuer) ?? 0), `${issuer}: issued = redeemed from it + outstanding`);
      holds(redeemedFrom >= 0, `${issuer}: more returned than redeemed`);
    }
  }
}

function reversal(partnerId: string, externalId: string, originalExternalId: string, occurredAt: string): ReverseTransaction {
  return { type: 'ReverseTransaction', data: { partnerId, externalId, memberId: MEMBER, originalExternalId, occurredAt }, context: CTX };
}

/** FIFO as docs/domain.md states it: oldest expiry first, then oldest lot; whole lots until the last. */
function fifoReference(ordered: readonly ModelLot[], points: number): LotSlice[] {
  const slices: LotSlice[] = [];
  let left = points;
  for (const lot of ordered) {
    if (left === 0) break;
    const take = Math.min(left, lot.remaining);
    slices.push({ lotId: lot.lotId, issuerPartnerId: lot.issuerPartnerId, points: take });
    left -= take;
  }
  return slices;
}

function runHistory(steps: Step[]): Harness {
  const h = new Harness();
  for (const step of steps) {
    h.step(step);
    h.checkInvariants();
  }
  // Every command ever posted, retried at the end: all replays, nothing written.
  const before = snapshot(h.state);
  for (const p of h.posted) h.expectReplay(p, false);
  same(snapshot(h.state), before, 'retries leave the state as it was');
  return h;
}

describe('member ledger properties', () => {
  it('accruals and redemptions keep balances, lots and issuers consistent at every step', () => {
    fc.assert(
      fc.property(withoutReversals, (steps) => {
        runHistory(steps);
      }),
      { numRuns: 500 },
    );
  });

  it('reversals keep the same invariants and return exactly what was taken', () => {
    fc.assert(
      fc.property(withReversals, (steps) => {
        runHistory(steps);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses every redemption beyond the spendable balance and leaves the state as it was', () => {
    fc.assert(
      fc.property(
        fc.array(accrueStep, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 500 }),
        minutesAgo,
        (accruals, excess, at) => {
          const h = runHistory(accruals);
          const occurredAt = dateAgo(at);
          const spendable = h.model.spendableInOrder(occurredAt).reduce((sum, l) => sum + l.remaining, 0);
          const before = snapshot(h.state);
          const error = refusal(() =>
            decideMember(
              {
                type: 'RedeemPoints',
                data: { partnerId: 'cafe', externalId: 'too-much', memberId: MEMBER, points: spendable + excess, occurredAt },
                context: CTX,
              },
              h.state,
              NOW,
            ),
          );
          expect(error).toBeInstanceOf(Refused);
          expect(error.code).toBe('insufficient_points');
          expect(snapshot(h.state)).toEqual(before);
        },
      ),
      { numRuns: 200 },
    );
  });
});
