import fc from 'fast-check';
import { Conflict, DomainError, NotFound, Refused } from '../shared/errors';
import { MemberCommand, TxContext } from './member.commands';
import { decideMember } from './member.decide';
import { MemberEvent } from './member.events';
import { MemberState, evolveMember, initialMember } from './member.state';

/**
 * Issue #13 point 6: random lives of one member under a moving clock — accruals (some under an
 * earn rule with pendingDays), redemptions, whole and partial reversals (of accruals, redemptions
 * and captures), holds, full and partial captures, releases, lapses, pending releases, the expiry
 * job's ExpireDueLots and clock advances that let lots expire and holds lapse — decided by
 * `decideMember` at the clock's `now` and folded by `evolveMember`.
 *
 * A model built here from the decided events alone (never from the state) predicts each
 * command's outcome and is checked against the state after every step:
 *
 * (a) Conservation. Lots belong to an issuer, holds do not (a hold keeps an amount, its lots are
 *     chosen at capture), so conservation is stated in two layers:
 *       per issuer i, at clock time t:
 *         issued_i = redeemed_i + expired_i(t) + reversed_i + pending_i(t) + spendable_i(t)
 *       where issued_i = Σ PointsAccrued.points, reversed_i = Σ AccrualReversed.points,
 *       redeemed_i = Σ PointsRedeemed slices − Σ RedemptionReversed slices (net of cancellations),
 *       expired_i(t) = Σ PointsExpired.points + what the open lots hold past their expiresAt ≤ t
 *       (expired in every read and decision before the expiry is recorded), pending_i(t) = open lots
 *       not expired but still in their return window at t, spendable_i(t) = the rest;
 *       and for the member, Σ_i spendable_i(t) = available(t) + held(t), held(t) being the points
 *       of the holds open and not past their expiresAt at t (a lapsed hold keeps nothing even
 *       before its lapse is recorded).
 * (b) available(t) = spendable(t) − held(t) never goes negative, and it is what the decider
 *     lets the member spend at t: a redemption of available(t) passes, one point more is refused.
 * (c) Every hold ends exactly once: no hold gets a second HoldCaptured/HoldReleased, and after
 *     the clock passes every TTL and the lapse is run for each hold, every hold has ended.
 *
 * Refusals (Refused, Conflict, NotFound) are ordinary outcomes here, but each one must be the
 * one the model predicts; any other error (a failed assert in the domain) is a bug.
 */

const T0 = Date.parse('2026-11-20T12:00:00.000Z');
const MINUTE_MS = 60_000;
const MEMBER = 'm-1';
const PARTNERS = ['grocer', 'cafe', 'cinema'] as const;
const UNIT_MINOR = 10_000; // 1 point per 100.00
const CTX: TxContext = { coalitionCurrency: 'RUB', pointValueMinor: 10, expiryMonths: 12, maxBackdateDays: 90 };
const MAX_TTL_SECONDS = 30 * 24 * 3600;

type Partner = (typeof PARTNERS)[number];
/** Issuers: the partners, and the operator, which sponsors bonuses. */
const ISSUERS = [...PARTNERS, 'operator'] as const;

type Step =
  | { kind: 'accrue'; partnerId: Partner; amountMinor: number; backdateMinutes: number; expiryMonths: number; pendingDays: number }
  | { kind: 'redeem'; partnerId: Partner; points: number; backdateMinutes: number }
  /** `share`: percent of what remains (null: a whole reversal; above 100: more than remains). */
  | { kind: 'reverse'; pick: number; share: number | null; backdateMinutes: number }
  | { kind: 'hold'; partnerId: Partner; points: number; ttlSeconds: number; backdateMinutes: number }
  /** `share`: percent of the hold (null: all of it; above 100: more than held). */
  | { kind: 'capture'; pick: number; share: number | null; backdateMinutes: number; foreign: boolean }
  | { kind: 'release'; pick: number; foreign: boolean }
  | { kind: 'lapse'; pick: number }
  /** The pending-earn job's command for one lot (any accrual's, pending or not). */
  | { kind: 'releasePending'; pick: number }
  /** The expiry job's command: lapse every lot due by `until` (some minutes before now). */
  | { kind: 'expire'; untilMinutesAgo: number }
  | { kind: 'advance'; minutes: number }
  /** A surprise bonus: a lot issued by its sponsor (a partner or the operator), dated by the clock. */
  | { kind: 'bonus'; sponsor: (typeof ISSUERS)[number]; points: number };

const partner = fc.constantFrom(...PARTNERS);
// Mostly "now", some receipts from the last few days (inside the 90-day window).
const backdateMinutes = fc.oneof(
  { arbitrary: fc.constant(0), weight: 3 },
  { arbitrary: fc.integer({ min: 0, max: 5 * 24 * 60 }), weight: 1 },
);

const accrueStep = fc.record({
  kind: fc.constant('accrue' as const),
  partnerId: partner,
  amountMinor: fc.oneof(
    { arbitrary: fc.integer({ min: UNIT_MINOR, max: 1_500_000 }), weight: 6 },
    { arbitrary: fc.integer({ min: 0, max: UNIT_MINOR - 1 }), weight: 1 },
  ),
  backdateMinutes,
  // Short expiries, so lots lapse while holds are open and the clock moves.
  expiryMonths: fc.constantFrom(1, 1, 2, 12),
  // Most accruals spendable at once; some under an earn rule with a return window, a few longer than the lot lives.
  pendingDays: fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.integer({ min: 1, max: 40 }), weight: 2 }),
});
const redeemStep = fc.record({
  kind: fc.constant('redeem' as const),
  partnerId: partner,
  points: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 60 }), weight: 3 }, { arbitrary: fc.integer({ min: 1, max: 600 }), weight: 1 }),
  backdateMinutes,
});
const share = fc.oneof(
  { arbitrary: fc.constant(null), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: 100 }), weight: 3 },
  { arbitrary: fc.integer({ min: 101, max: 200 }), weight: 1 },
);
const reverseStep = fc.record({ kind: fc.constant('reverse' as const), pick: fc.nat(), share, backdateMinutes });
const holdStep = fc.record({
  kind: fc.constant('hold' as const),
  partnerId: partner,
  points: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 60 }), weight: 3 }, { arbitrary: fc.integer({ min: 1, max: 600 }), weight: 1 }),
  // From a second to the thirty-day maximum, most of them minutes to days.
  ttlSeconds: fc.oneof(
    fc.integer({ min: 1, max: 3600 }),
    fc.integer({ min: 3600, max: 7 * 24 * 3600 }),
    fc.constantFrom(1, MAX_TTL_SECONDS),
  ),
  backdateMinutes,
});
const captureStep = fc.record({
  kind: fc.constant('capture' as const),
  pick: fc.nat(),
  share,
  backdateMinutes,
  // One in ten asked by another partner, which must not learn that the hold exists.
  foreign: fc.nat({ max: 9 }).map((n) => n === 0),
});
const releaseStep = fc.record({ kind: fc.constant('release' as const), pick: fc.nat(), foreign: fc.nat({ max: 9 }).map((n) => n === 0) });
const lapseStep = fc.record({ kind: fc.constant('lapse' as const), pick: fc.nat() });
const releasePendingStep = fc.record({ kind: fc.constant('releasePending' as const), pick: fc.nat() });
const expireStep = fc.record({
  kind: fc.constant('expire' as const),
  untilMinutesAgo: fc.oneof({ arbitrary: fc.constant(0), weight: 2 }, { arbitrary: fc.integer({ min: 0, max: 10 * 24 * 60 }), weight: 1 }),
});
const advanceStep = fc.record({
  kind: fc.constant('advance' as const),
  // Minutes (holds lapse) to weeks (lots expire).
  minutes: fc.oneof(
    fc.integer({ min: 1, max: 120 }),
    fc.integer({ min: 60, max: 3 * 24 * 60 }),
    fc.integer({ min: 24 * 60, max: 20 * 24 * 60 }),
    fc.integer({ min: 20 * 24 * 60, max: 45 * 24 * 60 }),
  ),
});

const bonusStep = fc.record({
  kind: fc.constant('bonus' as const),
  sponsor: fc.constantFrom(...ISSUERS),
  points: fc.integer({ min: 1, max: 300 }),
});

const steps: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof(
    { arbitrary: bonusStep, weight: 2 },
    { arbitrary: accrueStep, weight: 5 },
    { arbitrary: redeemStep, weight: 2 },
    { arbitrary: reverseStep, weight: 3 },
    { arbitrary: holdStep, weight: 4 },
    { arbitrary: captureStep, weight: 3 },
    { arbitrary: releaseStep, weight: 1 },
    { arbitrary: lapseStep, weight: 1 },
    { arbitrary: releasePendingStep, weight: 1 },
    { arbitrary: expireStep, weight: 1 },
    { arbitrary: advanceStep, weight: 3 },
  ),
  { maxLength: 50, size: 'max' },
);

// ---- the model: what the events say, kept apart from the state ----------------------------

interface ModelLot {
  issuer: string;
  remaining: number;
  expiresAt: number;
  order: number;
  /** While pending: when the lot becomes spendable (until its PointsReleased). */
  availableAt?: number;
  issuedPoints: number;
  /** Accrual reversals of this lot so far. */
  reversedPoints: number;
}

interface ModelHold {
  holdId: string;
  partnerId: string;
  externalId: string;
  points: number;
  expiresAt: number;
  /** HoldCaptured / HoldReleased events seen for it. */
  ends: number;
}

/** A transaction a partner may reverse: an accrual, a redemption or a capture. */
interface Reversible {
  partnerId: string;
  externalId: string;
  txId: string;
  kind: 'accrual' | 'redemption';
  points: number;
  reversed: number;
  /** Redemptions: slices taken and not yet given back, in the order taken. */
  out: { lotId: string; points: number }[];
}

class Model {
  readonly lots = new Map<string, ModelLot>();
  readonly holds = new Map<string, ModelHold>();
  readonly reversibles = new Map<string, Reversible>();
  readonly issued = new Map<string, number>();
  readonly reversed = new Map<string, number>();
  readonly redeemed = new Map<string, number>();
  readonly expiredRecorded = new Map<string, number>();

  apply(e: MemberEvent): void {
    switch (e.type) {
      case 'MemberEnrolled':
        return;
      case 'PointsAccrued': {
        const d = e.data;
        add(this.issued, d.issuerPartnerId, d.points);
        if (d.points > 0) {
          check(d.availableAt === undefined || d.availableAt <= d.expiresAt, 'a lot is pending no longer than it lives');
          this.lots.set(d.lotId, {
            issuer: d.issuerPartnerId,
            remaining: d.points,
            expiresAt: Date.parse(d.expiresAt),
            order: this.lots.size,
            availableAt: d.availableAt === undefined ? undefined : Date.parse(d.availableAt),
            issuedPoints: d.points,
            reversedPoints: 0,
          });
        }
        this.reversibles.set(d.txId, {
          partnerId: d.partnerId,
          externalId: d.externalId,
          txId: d.txId,
          kind: 'accrual',
          points: d.points,
          reversed: 0,
          out: [],
        });
        return;
      }
      case 'BonusAwarded': {
        // A lot like an accrual's, issued by its sponsor; not reversible.
        const d = e.data;
        add(this.issued, d.issuerPartnerId, d.points);
        this.lots.set(d.lotId, {
          issuer: d.issuerPartnerId,
          remaining: d.points,
          expiresAt: Date.parse(d.expiresAt),
          order: this.lots.size,
          issuedPoints: d.points,
          reversedPoints: 0,
        });
        return;
      }
      case 'PointsRedeemed': {
        const d = e.data;
        for (const s of d.slices) {
          const lot = this.lot(s.lotId);
          check(s.points > 0 && s.points <= lot.remaining, 'a slice takes from its lot what the lot holds');
          check(s.issuerPartnerId === lot.issuer, "a slice names its lot's issuer");
          lot.remaining -= s.points;
          add(this.redeemed, s.issuerPartnerId, s.points);
        }
        this.reversibles.set(d.txId, {
          partnerId: d.partnerId,
          externalId: d.externalId,
          txId: d.txId,
          kind: 'redemption',
          points: d.points,
          reversed: 0,
          out: d.slices.map((s) => ({ lotId: s.lotId, points: s.points })),
        });
        return;
      }
      case 'RedemptionReversed': {
        const d = e.data;
        const original = this.reversible(d.originalTxId);
        original.reversed += d.points;
        for (const s of d.slices) {
          const out = original.out.find((o) => o.lotId === s.lotId && o.points >= s.points);
          check(out !== undefined, 'a reversal gives back only slices still out');
          out!.points -= s.points;
          this.lot(s.lotId).remaining += s.points;
          add(this.redeemed, s.issuerPartnerId, -s.points);
        }
        original.out = original.out.filter((o) => o.points > 0);
        return;
      }
      case 'AccrualReversed': {
        const d = e.data;
        this.reversible(d.originalTxId).reversed += d.points;
        add(this.reversed, d.issuerPartnerId, d.points);
        if (d.points > 0) {
          const lot = this.lot(d.lotId);
          check(d.points <= lot.remaining, 'a refund takes only unspent points');
          lot.remaining -= d.points;
          lot.reversedPoints += d.points;
        }
        return;
      }
      case 'PointsExpired': {
        const d = e.data;
        const lot = this.lot(d.lotId);
        check(d.points <= lot.remaining, 'an expiry takes only what the lot holds');
        check(Date.parse(d.occurredAt) === lot.expiresAt, "an expiry is dated at its lot's expiresAt");
        lot.remaining -= d.points;
        add(this.expiredRecorded, d.issuerPartnerId, d.points);
        return;
      }
      case 'PointsReleased': {
        const d = e.data;
        const lot = this.lot(d.lotId);
        check(
          lot.availableAt !== undefined && lot.availableAt === Date.parse(d.occurredAt),
          'a pending lot is released once, dated at its availableAt',
        );
        check(d.points === lot.issuedPoints - lot.reversedPoints, 'a release names the lot as issued less what refunds took');
        // Nothing moves: the lot was spendable from availableAt on.
        lot.availableAt = undefined;
        return;
      }
      case 'PointsHeld': {
        const d = e.data;
        check(!this.holds.has(d.holdId), 'a hold is placed once');
        this.holds.set(d.holdId, {
          holdId: d.holdId,
          partnerId: d.partnerId,
          externalId: d.externalId,
          points: d.points,
          expiresAt: Date.parse(d.expiresAt),
          ends: 0,
        });
        return;
      }
      case 'HoldCaptured':
      case 'HoldReleased': {
        const hold = this.holds.get(e.data.holdId);
        check(hold !== undefined, 'only a placed hold ends');
        hold!.ends += 1;
        check(hold!.ends === 1, `hold ${e.data.holdId} ends exactly once`);
        const total = e.type === 'HoldCaptured' ? e.data.points + e.data.releasedPoints : e.data.points;
        check(total === hold!.points, 'a hold ends with all its points');
        if (e.type === 'HoldCaptured') {
          // The capture is reversible as a redemption under its own txId (recorded by the PointsRedeemed before it).
          check(this.reversibles.get(e.data.txId)?.kind === 'redemption', 'a capture follows its redemption');
        }
        return;
      }
    }
  }

  lot(lotId: string): ModelLot {
    const lot = this.lots.get(lotId);
    if (lot === undefined) throw new Error(`no lot ${lotId} in the model`);
    return lot;
  }

  reversible(txId: string): Reversible {
    const r = this.reversibles.get(txId);
    if (r === undefined) throw new Error(`no transaction ${txId} in the model`);
    return r;
  }

  /** Points in open lots spendable at `t`: not expired then, nor still pending. */
  spendableAt(t: number): number {
    let sum = 0;
    for (const lot of this.lots.values()) if (spendable(lot, t)) sum += lot.remaining;
    return sum;
  }

  /** Points open holds keep at `t`: not ended and not past their expiry. */
  heldAt(t: number, exceptHoldId?: string): number {
    let sum = 0;
    for (const h of this.holds.values()) if (h.ends === 0 && h.expiresAt > t && h.holdId !== exceptHoldId) sum += h.points;
    return sum;
  }

  /** What FIFO takes for `points` from the lots live at `t`: earliest expiry first, then oldest lot. */
  fifo(t: number, points: number): Map<string, number> {
    const taken = new Map<string, number>();
    let left = points;
    const ordered = [...this.lots.entries()]
      .filter(([, l]) => l.remaining > 0 && spendable(l, t))
      .sort(([, a], [, b]) => a.expiresAt - b.expiresAt || a.order - b.order);
    for (const [lotId, lot] of ordered) {
      if (left === 0) break;
      const take = Math.min(left, lot.remaining);
      taken.set(lotId, take);
      left -= take;
    }
    return taken;
  }

  /**
   * Whether, with `taken` out of the lots and `extra` held besides the open holds (less `except`),
   * the lots spendable at every moment from `now` on cover the holds live at that moment. Brute
   * force over every lot and hold expiry ahead, independent of the decider's shortcut.
   */
  staysCovered(now: number, taken: Map<string, number>, extra: { points: number; expiresAt: number }[] = [], except?: string): boolean {
    const holds = [...this.holds.values()]
      .filter((h) => h.ends === 0 && h.holdId !== except)
      .concat(extra.map((h) => ({ ...h, ends: 0, holdId: '', partnerId: '', externalId: '' })));
    // Only lots spendable now back a hold: a pending one is not the member's to promise yet.
    const lots = [...this.lots.entries()]
      .filter(([, l]) => spendable(l, now))
      .map(([lotId, l]) => ({ points: l.remaining - (taken.get(lotId) ?? 0), expiresAt: l.expiresAt }));
    const moments = [now, ...lots.map((l) => l.expiresAt), ...holds.map((h) => h.expiresAt)].filter((t) => t >= now);
    return moments.every(
      (t) =>
        lots.reduce((sum, l) => sum + (l.expiresAt > t ? l.points : 0), 0) >=
        holds.reduce((sum, h) => sum + (h.expiresAt > t ? h.points : 0), 0),
    );
  }

  availableAt(t: number): number {
    return this.spendableAt(t) - this.heldAt(t);
  }

  inLots(): number {
    let sum = 0;
    for (const lot of this.lots.values()) sum += lot.remaining;
    return sum;
  }
}

const spendable = (lot: ModelLot, t: number) => lot.expiresAt > t && (lot.availableAt === undefined || lot.availableAt <= t);

function add(m: Map<string, number>, key: string, n: number): void {
  m.set(key, (m.get(key) ?? 0) + n);
}

function check(condition: boolean, why: string): void {
  if (!condition) throw new Error(why);
}

type Outcome = 'accepted' | { kind: typeof Refused | typeof Conflict | typeof NotFound; code: string };

const refused = (code: string): Outcome => ({ kind: Refused, code });
const conflict = (code: string): Outcome => ({ kind: Conflict, code });
const notFound = (code: string): Outcome => ({ kind: NotFound, code });

// ---- the harness ----------------------------------------------------------------------

class Life {
  state: MemberState = initialMember();
  now = T0;
  readonly model = new Model();
  readonly log: MemberEvent[] = [];
  private seq = 0;

  constructor() {
    this.run(
      { type: 'EnrolMember', data: { memberId: MEMBER, cardNumber: '4111111111111111', birthDate: null, enrolledBy: null } },
      'accepted',
    );
  }

  step(step: Step): void {
    this.decideStep(step);
  }

  private decideStep(step: Step): unknown {
    switch (step.kind) {
      case 'advance':
        this.now += step.minutes * MINUTE_MS;
        return;
      case 'bonus': {
        const externalId = this.nextId('b');
        return this.run(
          {
            type: 'AwardBonus',
            data: {
              txId: `${step.sponsor}:${externalId}`,
              kind: 'surprise',
              partnerId: step.sponsor,
              externalId,
              memberId: MEMBER,
              points: step.points,
              sponsor: step.sponsor,
              reason: 'surprise',
              occurredAt: new Date(this.now).toISOString(),
            },
            context: CTX,
          },
          'accepted',
        );
      }
      case 'accrue':
        return this.run(
          {
            type: 'AccruePoints',
            data: {
              partnerId: step.partnerId,
              externalId: this.nextId('a'),
              memberId: MEMBER,
              amountMinor: step.amountMinor,
              currency: 'RUB',
              occurredAt: this.dateAgo(step.backdateMinutes),
            },
            context: {
              ...CTX,
              expiryMonths: step.expiryMonths,
              earnRule: { pointsPerUnit: 1, unitMinor: UNIT_MINOR, ...(step.pendingDays > 0 ? { pendingDays: step.pendingDays } : {}) },
            },
          },
          'accepted',
        );
      case 'redeem': {
        const occurredAt = this.dateAgo(step.backdateMinutes);
        const fits =
          this.spendableForTx(occurredAt) >= step.points &&
          this.model.staysCovered(this.now, this.model.fifo(Date.parse(occurredAt), step.points));
        return this.run(
          {
            type: 'RedeemPoints',
            data: { partnerId: step.partnerId, externalId: this.nextId('r'), memberId: MEMBER, points: step.points, occurredAt },
            context: CTX,
          },
          fits ? 'accepted' : refused('insufficient_points'),
        );
      }
      case 'hold': {
        const occurredAt = this.dateAgo(step.backdateMinutes);
        const hold = { points: step.points, expiresAt: this.now + step.ttlSeconds * 1000 };
        const fits = this.spendableForTx(occurredAt) >= step.points && this.model.staysCovered(this.now, new Map(), [hold]);
        return this.run(
          {
            type: 'PlaceHold',
            data: {
              partnerId: step.partnerId,
              externalId: this.nextId('h'),
              memberId: MEMBER,
              points: step.points,
              ttlSeconds: step.ttlSeconds,
              occurredAt,
            },
            context: CTX,
          },
          fits ? 'accepted' : refused('insufficient_points'),
        );
      }
      case 'reverse':
        return this.reverse(step);
      case 'capture':
        return this.capture(step);
      case 'release':
        return this.release(step);
      case 'lapse':
        return this.lapse(step.pick);
      case 'releasePending':
        return this.releasePending(step.pick);
      case 'expire':
        return this.expire(step.untilMinutesAgo);
    }
  }

  /** What a redemption, hold or capture dated `occurredAt` may take: lots live then, less what live holds keep now. */
  private spendableForTx(occurredAt: string, exceptHoldId?: string): number {
    return this.model.spendableAt(Date.parse(occurredAt)) - this.model.heldAt(this.now, exceptHoldId);
  }

  private reverse(step: Extract<Step, { kind: 'reverse' }>): void {
    const occurredAt = this.dateAgo(step.backdateMinutes);
    const all = [...this.model.reversibles.values()];
    if (all.length === 0) {
      this.run(
        {
          type: 'ReverseTransaction',
          data: { partnerId: 'grocer', externalId: this.nextId('v'), memberId: MEMBER, originalExternalId: 'never-posted', occurredAt },
          context: CTX,
        },
        notFound('transaction_not_found'),
      );
      return;
    }
    const original = all[step.pick % all.length];
    const remaining = original.points - original.reversed;
    const points = step.share === null ? undefined : Math.max(1, Math.ceil((remaining * step.share) / 100));
    const asked = points ?? remaining;
    let expected: Outcome;
    if (remaining === 0 && (original.points > 0 || original.reversed > 0 || this.zeroReversed.has(original.txId))) {
      expected = conflict('already_reversed');
    } else if (asked > remaining) {
      expected = refused('over_reversal');
    } else if (original.kind === 'redemption') {
      expected = 'accepted';
    } else if ((this.model.lots.get(original.txId)?.remaining ?? 0) < asked) {
      expected = refused('points_already_spent');
    } else if (!this.model.staysCovered(this.now, new Map([[original.txId, asked]]))) {
      expected = refused('points_held');
    } else {
      expected = 'accepted';
    }
    const events = this.run(
      {
        type: 'ReverseTransaction',
        data: {
          partnerId: original.partnerId,
          externalId: this.nextId('v'),
          memberId: MEMBER,
          originalExternalId: original.externalId,
          occurredAt,
          ...(points === undefined ? {} : { points }),
        },
        context: CTX,
      },
      expected,
    );
    if (events.length > 0 && original.points === 0) this.zeroReversed.add(original.txId);
    if (original.kind === 'redemption' && events.length > 0) {
      // A part gives back into a lot expired at its business date and lapses there at once; a whole reversal does not.
      const lapsed = events.filter((e) => e.type === 'PointsExpired');
      if (points === undefined) check(lapsed.length === 0, 'a whole reversal writes no expiry');
      for (const e of lapsed) {
        if (e.type !== 'PointsExpired') continue;
        check(Date.parse(e.data.occurredAt) <= Date.parse(occurredAt), 'only a lot expired at the reversal lapses with it');
      }
    }
  }

  /** Zero-point accruals reversed once (for zero): a second reversal is already_reversed. */
  private readonly zeroReversed = new Set<string>();

  private pickHold(pick: number): ModelHold | undefined {
    const all = [...this.model.holds.values()];
    return all.length === 0 ? undefined : all[pick % all.length];
  }

  private holdOutcome(hold: ModelHold, asPartner: string): Outcome | undefined {
    if (asPartner !== hold.partnerId) return notFound('hold_not_found');
    if (hold.ends > 0) return conflict('hold_closed');
    if (hold.expiresAt <= this.now) return conflict('hold_expired');
    return undefined;
  }

  private capture(step: Extract<Step, { kind: 'capture' }>): void {
    const hold = this.pickHold(step.pick);
    if (hold === undefined) return;
    const asPartner = step.foreign ? otherPartner(hold.partnerId) : hold.partnerId;
    const points = step.share === null ? null : Math.max(1, Math.ceil((hold.points * step.share) / 100));
    const occurredAt = this.dateAgo(step.backdateMinutes);
    const expected =
      this.holdOutcome(hold, asPartner) ??
      ((points ?? hold.points) > hold.points
        ? refused('exceeds_hold')
        : this.spendableForTx(occurredAt, hold.holdId) < (points ?? hold.points) ||
            !this.model.staysCovered(this.now, this.model.fifo(Date.parse(occurredAt), points ?? hold.points), [], hold.holdId)
          ? refused('insufficient_points')
          : 'accepted');
    const events = this.run(
      {
        type: 'CaptureHold',
        data: { partnerId: asPartner, externalId: this.nextId('c'), memberId: MEMBER, holdId: hold.holdId, points, occurredAt },
        context: CTX,
      },
      expected,
    );
    if (events.length > 0) {
      check(events.map((e) => e.type).join() === 'PointsRedeemed,HoldCaptured', 'a capture is a redemption, then the hold captured');
    }
  }

  private release(step: Extract<Step, { kind: 'release' }>): void {
    const hold = this.pickHold(step.pick);
    if (hold === undefined) return;
    const asPartner = step.foreign ? otherPartner(hold.partnerId) : hold.partnerId;
    this.run(
      {
        type: 'ReleaseHold',
        data: { partnerId: asPartner, externalId: this.nextId('l'), memberId: MEMBER, holdId: hold.holdId, occurredAt: this.dateAgo(0) },
        context: CTX,
      },
      this.holdOutcome(hold, asPartner) ?? 'accepted',
    );
  }

  lapse(pick: number): void {
    const hold = this.pickHold(pick);
    if (hold === undefined) return;
    const expected = hold.ends > 0 ? 'accepted' : hold.expiresAt > this.now ? conflict('hold_not_expired') : 'accepted';
    const wasOpen = hold.ends === 0;
    const events = this.run({ type: 'LapseHold', data: { memberId: MEMBER, holdId: hold.holdId } }, expected);
    // An ended hold lapses to nothing (two jobs racing write one event).
    check(events.length === (wasOpen && expected === 'accepted' ? 1 : 0), 'a lapse writes one event for an open due hold, none else');
  }

  releasePending(pick: number): void {
    const accruals = [...this.model.reversibles.values()].filter((r) => r.kind === 'accrual');
    if (accruals.length === 0) return;
    const lotId = accruals[pick % accruals.length].txId;
    const lot = this.model.lots.get(lotId);
    const expected =
      lot === undefined
        ? notFound('lot_not_found')
        : lot.availableAt !== undefined && lot.availableAt > this.now
          ? conflict('lot_not_due')
          : 'accepted';
    // Once per due pending lot that became spendable with points left to release; nothing for any other.
    const due =
      lot !== undefined &&
      lot.availableAt !== undefined &&
      lot.availableAt <= this.now &&
      lot.availableAt < lot.expiresAt &&
      lot.issuedPoints - lot.reversedPoints > 0;
    const events = this.run({ type: 'ReleasePendingPoints', data: { memberId: MEMBER, lotId } }, expected);
    check(events.length === (due ? 1 : 0), 'a release writes one event for a due pending lot, none else');
  }

  expire(untilMinutesAgo: number): void {
    const until = this.dateAgo(untilMinutesAgo);
    // Every lot with points left whose expiry has come by `until`, its whole rest, once.
    const due = [...this.model.lots.entries()]
      .filter(([, l]) => l.remaining > 0 && l.expiresAt <= Date.parse(until))
      .map(([lotId, l]) => [lotId, l.remaining] as const)
      .sort(([a], [b]) => a.localeCompare(b));
    const events = this.run(
      { type: 'ExpireDueLots', data: { memberId: MEMBER, until }, context: { coalitionCurrency: 'RUB' } },
      'accepted',
    );
    const written = events.map((e) => (e.type === 'PointsExpired' ? ([e.data.lotId, e.data.points] as const) : ([e.type, -1] as const)));
    check(
      JSON.stringify(written.sort(([a], [b]) => a.localeCompare(b))) === JSON.stringify(due),
      `the expiry lapses exactly the due lots' rests: ${JSON.stringify(written)} vs ${JSON.stringify(due)}`,
    );
  }

  /** Decides at the clock's now; the outcome must be the predicted one. Returns the events written. */
  private run(command: MemberCommand, expected: Outcome): MemberEvent[] {
    let events: MemberEvent[];
    try {
      events = decideMember(command, this.state, new Date(this.now));
    } catch (error) {
      // An assertion failure (or any non-domain error) is a bug, never a refusal.
      if (!(error instanceof DomainError)) throw error;
      if (expected === 'accepted' || !(error instanceof expected.kind) || error.code !== expected.code) {
        throw new Error(`${command.type}: expected ${outcomeName(expected)}, got ${error.name} ${error.code}: ${error.message}`, {
          cause: error,
        });
      }
      return [];
    }
    if (expected !== 'accepted') throw new Error(`${command.type}: expected ${outcomeName(expected)}, but it was accepted`);
    for (const event of events) {
      this.state = evolveMember(this.state, event, this.log.length + 1);
      this.model.apply(event);
      this.log.push(event);
    }
    return events;
  }

  private nextId(prefix: string): string {
    return `${prefix}-${++this.seq}`;
  }

  private dateAgo(minutes: number): string {
    return new Date(this.now - minutes * MINUTE_MS).toISOString();
  }

  /** (a) and (b) at the clock's now. */
  checkInvariants(): void {
    const t = this.now;
    const s = this.state;
    const m = this.model;

    // The state's open lots are the model's, per issuer.
    const stateInLots = new Map<string, number>();
    for (const lot of s.lots) add(stateInLots, lot.issuerPartnerId, lot.points);
    const inLots = new Map<string, number>();
    const expiredUnrecorded = new Map<string, number>();
    const pendingNow = new Map<string, number>();
    const spendableNow = new Map<string, number>();
    for (const lot of m.lots.values()) {
      add(inLots, lot.issuer, lot.remaining);
      // Expired first: a lot pending to its very expiry is never spendable, and then expired.
      const term = lot.expiresAt <= t ? expiredUnrecorded : spendable(lot, t) ? spendableNow : pendingNow;
      add(term, lot.issuer, lot.remaining);
    }
    for (const issuer of ISSUERS) {
      const get = (map: Map<string, number>) => map.get(issuer) ?? 0;
      check(get(stateInLots) === get(inLots), `${issuer}: the state's open lots hold what the events left in them`);
      const issued = get(m.issued);
      const redeemed = get(m.redeemed);
      const expired = get(m.expiredRecorded) + get(expiredUnrecorded);
      const reversed = get(m.reversed);
      const pending = get(pendingNow);
      check(redeemed >= 0 && reversed >= 0 && expired >= 0, `${issuer}: no term of the conservation is negative`);
      check(
        issued === redeemed + expired + reversed + pending + get(spendableNow),
        `${issuer}: issued ${issued} = redeemed ${redeemed} + expired ${expired} + reversed ${reversed} + pending ${pending} + spendable ${get(spendableNow)}`,
      );
    }
    const spendableAll = [...spendableNow.values()].reduce((a, b) => a + b, 0);
    const held = m.heldAt(t);
    const available = m.availableAt(t);
    check(spendableAll === available + held, 'spendable = available + held');
    check(available >= 0, `available never goes negative: ${spendableAll} spendable, ${held} held at ${new Date(t).toISOString()}`);

    // The velocity windows the state keeps are the sums over every accrual of the log.
    const byHour = new Map<string, number>();
    const byDay = new Map<string, number>();
    for (const e of this.log) {
      if (e.type !== 'PointsAccrued') continue;
      add(byHour, e.data.occurredAt.slice(0, 13), 1);
      add(byDay, e.data.occurredAt.slice(0, 10), e.data.points);
    }
    check(
      JSON.stringify([...s.accrualsByHour].sort()) === JSON.stringify([...byHour].sort()) &&
        JSON.stringify([...s.accruedPointsByDay].sort()) === JSON.stringify([...byDay].sort()),
      "the state's velocity windows are its accruals by hour and their points by day",
    );

    // The state's own tallies agree: open lots sum to `available`, open holds (lapsed or not) to `held`.
    check(s.available === m.inLots(), "the state's available is its open lots");
    let openHeld = 0;
    for (const h of m.holds.values()) if (h.ends === 0) openHeld += h.points;
    check(s.held === openHeld, "the state's held is its holds not yet ended by an event");
    for (const h of m.holds.values()) {
      const status = s.holds.get(h.holdId)?.status;
      check((status === 'open') === (h.ends === 0), `hold ${h.holdId} is open in the state exactly while no event ended it`);
    }
  }

  /** (b) against the decider: at the clock's now it lets the member spend available(now), not one point more. */
  probeAvailable(): void {
    const available = this.model.availableAt(this.now);
    const probe = (points: number) =>
      decideMember(
        {
          type: 'RedeemPoints',
          data: { partnerId: 'cafe', externalId: `probe-${++this.seq}`, memberId: MEMBER, points, occurredAt: this.dateAgo(0) },
          context: CTX,
        },
        this.state,
        new Date(this.now),
      );
    try {
      probe(Math.max(available, 0) + 1);
      throw new Error(`a redemption of ${Math.max(available, 0) + 1} passed with ${available} available`);
    } catch (error) {
      if (!(error instanceof Refused) || error.code !== 'insufficient_points') throw error;
    }
    if (available > 0) check(probe(available).length === 1, `a redemption of the ${available} available passes`);
  }
}

function otherPartner(p: string): Partner {
  return PARTNERS[(PARTNERS.indexOf(p as Partner) + 1) % PARTNERS.length];
}

function outcomeName(o: Outcome): string {
  return o === 'accepted' ? 'acceptance' : `${o.kind.name} ${o.code}`;
}

function live(steps: Step[]): Life {
  const life = new Life();
  for (const step of steps) {
    life.step(step);
    life.checkInvariants();
  }
  return life;
}

describe('member lifecycle properties (holds, partial reversals and expiry under a moving clock)', () => {
  const RUNS = { numRuns: 1000 };

  it('(a) conserves points per issuer and for the member at every step', () => {
    fc.assert(
      fc.property(steps, (s) => {
        live(s);
      }),
      RUNS,
    );
  });

  it('(b) available never goes negative, and the decider lets the member spend exactly it', () => {
    fc.assert(
      fc.property(steps, (s) => {
        const life = new Life();
        for (const step of s) {
          life.step(step);
          life.checkInvariants();
          life.probeAvailable();
        }
      }),
      RUNS,
    );
  });

  it('(c) every hold ends exactly once: captured, released or lapsed', () => {
    fc.assert(
      fc.property(steps, fc.array(fc.nat(), { maxLength: 10 }), (s, racers) => {
        const life = live(s);
        // Past every TTL (and so past every hold's expiry), the lapse job runs for each hold, some twice.
        life.step({ kind: 'advance', minutes: MAX_TTL_SECONDS / 60 + 1 });
        const holds = [...life.model.holds.keys()];
        for (let i = 0; i < holds.length; i++) life.lapse(i);
        for (const r of racers) life.lapse(r);
        life.checkInvariants();
        for (const h of life.model.holds.values()) check(h.ends === 1, `hold ${h.holdId} ended once`);
        const ends = new Map<string, number>();
        for (const e of life.log) if (e.type === 'HoldCaptured' || e.type === 'HoldReleased') add(ends, e.data.holdId, 1);
        const placed = life.log.filter((e) => e.type === 'PointsHeld').length;
        check(ends.size === placed && [...ends.values()].every((n) => n === 1), 'one end event per hold placed');
        check(life.model.heldAt(life.now) === 0 && life.state.held === 0, 'nothing is held once every hold has ended');
      }),
      RUNS,
    );
  });
});
