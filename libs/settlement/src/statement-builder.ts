import { CURRENCY_PATTERN, OPERATOR_SPONSOR, PartnerTerms, assert, roundHalfEven } from '@ledger/domain';
import { BPS_DIVISOR, addExact, pointsValueMinor, sumAsFigure, sumBigint, toStatementFigure } from './exact-integers';
import { byStreamAndRevision, lateAdjustmentOf } from './late-adjustments';
import { SettledEvent } from './membership';
import { netPositionsOf, transfersOf } from './net-positions';
import { isPeriodId, periodEndsAt, periodStartsAt } from './period';
import { byCodeUnit, cellOrInit } from './sorted-tables';
import { sealStatement } from './statement-hash';
import {
  ExpiredTable,
  IssuedTable,
  RedemptionTable,
  breakageOf,
  issuanceFeesOf,
  matrixLinesOf,
  noRedemptions,
  noneExpired,
  noneIssued,
} from './statement-lines';
import {
  Breakage,
  IssuanceFee,
  LateAdjustment,
  MatrixLine,
  MembershipFeeLine,
  STATEMENT_VERSION,
  SettlementStatement,
  StatementTotals,
  Transfer,
} from './statement.types';
import { TermsBook } from './terms-book';

/** The header of a statement: what is fixed before any event is read. */
export interface StatementHeader {
  periodId: string;
  currency: string;
  /** The coalition's point value at the close, for the header. */
  pointValueMinor: number;
  cutoffPosition: number;
}

/** A builder's sums, as `StatementBuilder.part` hands them over (plain data: it crosses threads). */
export interface StatementPart {
  redemptions: RedemptionTable;
  issued: IssuedTable;
  expired: ExpiredTable;
  lateAdjustments: LateAdjustment[];
  membershipFees: Map<string, Map<string, { plansSold: number; feeMinor: number }>>;
  interPartnerPointsRead: number;
  eventCount: number;
  lateEventCount: number;
  revisionsByStream: Map<string, number[]>;
}

/**
 * `calculateStatement` one event at a time, so a period close can page through the log
 * instead of holding millions of events: memory grows with partners and terms versions
 * (and late adjustments), not with events. Build once.
 */
export class StatementBuilder {
  private readonly terms: TermsBook;
  private readonly redemptions: RedemptionTable = new Map();
  private readonly issued: IssuedTable = new Map();
  private readonly expired: ExpiredTable = new Map();
  private readonly lateAdjustments: LateAdjustment[] = [];
  private readonly membershipFees = new Map<string, Map<string, { plansSold: number; feeMinor: number }>>();
  // Counted while reading the events, compared with the matrix at the end: two routes, one answer.
  private interPartnerPointsRead = 0;
  private eventCount = 0;
  private lateEventCount = 0;
  private readonly revisionsByStream = new Map<string, number[]>();
  private built = false;

  constructor(
    private readonly header: StatementHeader,
    partnerTerms: ReadonlyMap<string, readonly PartnerTerms[]>,
  ) {
    const { periodId, currency, pointValueMinor, cutoffPosition } = header;
    assert(isPeriodId(periodId), 'period id validated by the caller');
    assert(CURRENCY_PATTERN.test(currency), 'currency is an ISO code');
    assert(Number.isSafeInteger(pointValueMinor) && pointValueMinor > 0, 'point value is a positive integer');
    assert(Number.isSafeInteger(cutoffPosition) && cutoffPosition >= 0, 'cut-off is a store position');
    this.terms = new TermsBook(withOperatorTerms(partnerTerms));
  }

  add(settled: SettledEvent): void {
    assert(!this.built, 'events are added before the statement is built');
    const { event, membership } = settled;
    const data = event.data;
    assert(data.currency === this.header.currency, 'the coalition currency never changes');
    if (event.type !== 'MembershipPurchased') {
      assert(Number.isSafeInteger(event.data.pointValueMinor) && event.data.pointValueMinor > 0, 'events carry a positive point value');
    }
    let revisions = this.revisionsByStream.get(settled.streamId);
    if (revisions === undefined) this.revisionsByStream.set(settled.streamId, (revisions = []));
    revisions.push(settled.revision);
    this.eventCount += 1;
    if (membership === 'late') this.lateEventCount += 1;

    switch (event.type) {
      case 'PointsRedeemed':
      case 'RedemptionReversed': {
        const redeemer = event.data.partnerId;
        const redeeming = event.type === 'PointsRedeemed';
        let slicePoints = 0;
        for (const s of event.data.slices) {
          const totals = cellOrInit(this.redemptions, s.issuerPartnerId, redeemer, noRedemptions);
          const amount = pointsValueMinor(s.points, event.data.pointValueMinor);
          if (redeeming) {
            totals.redeemedPoints = addExact(totals.redeemedPoints, s.points, 'matrix points');
            totals.redeemedAmount = addExact(totals.redeemedAmount, amount, 'matrix amount');
          } else {
            totals.reversedPoints = addExact(totals.reversedPoints, s.points, 'matrix points');
            totals.reversedAmount = addExact(totals.reversedAmount, amount, 'matrix amount');
          }
          if (s.issuerPartnerId !== redeemer) {
            this.interPartnerPointsRead = addExact(this.interPartnerPointsRead, redeeming ? s.points : -s.points, 'inter-partner points');
          }
          slicePoints += s.points;
        }
        assert(slicePoints === event.data.points, 'slices sum to the points redeemed');
        break;
      }
      // A bonus is issued by its sponsor, who pays for it as for any points it issues.
      case 'PointsAccrued':
      case 'BonusAwarded':
      case 'AccrualReversed': {
        const issuer = event.data.issuerPartnerId;
        const totals = cellOrInit(this.issued, issuer, this.terms.versionIndexAt(issuer, data.occurredAt), noneIssued);
        const value = pointsValueMinor(event.data.points, event.data.pointValueMinor);
        // A refund takes back the fee at the terms of the refund's business date: the
        // reversal does not carry the original's date (see README).
        if (event.type !== 'AccrualReversed') {
          totals.issuedPoints = addExact(totals.issuedPoints, event.data.points, 'issued points');
          totals.value = addExact(totals.value, value, 'issued value');
        } else {
          totals.reversedPoints = addExact(totals.reversedPoints, event.data.points, 'reversed points');
          totals.value = addExact(totals.value, -value, 'issued value');
        }
        break;
      }
      case 'MembershipPurchased': {
        const { partnerId, planId, feeMinor } = event.data;
        assert(Number.isSafeInteger(feeMinor) && feeMinor >= 0, 'a plan fee is a whole number of minor units');
        const line = cellOrInit(this.membershipFees, partnerId, planId, () => ({ plansSold: 0, feeMinor: 0 }));
        line.plansSold += 1;
        line.feeMinor = addExact(line.feeMinor, feeMinor, 'membership fees');
        break;
      }
      case 'PointsExpired': {
        const issuer = event.data.issuerPartnerId;
        const totals = cellOrInit(this.expired, issuer, this.terms.versionIndexAt(issuer, data.occurredAt), noneExpired);
        totals.points = addExact(totals.points, event.data.points, 'expired points');
        totals.amount = addExact(totals.amount, pointsValueMinor(event.data.points, event.data.pointValueMinor), 'breakage');
        break;
      }
      default: {
        const unknown: never = event;
        throw new Error(`unknown money event ${JSON.stringify(unknown)}`);
      }
    }

    const adjustment = lateAdjustmentOf(settled, this.header.periodId);
    if (adjustment !== undefined) this.lateAdjustments.push(adjustment);
  }

  /**
   * What this builder has summed so far, for the builder of the whole period to absorb: a
   * close reads the log in two parts on two threads, each with a builder of its own.
   */
  part(): StatementPart {
    assert(!this.built, 'a part is taken before the statement is built');
    const { redemptions, issued, expired, lateAdjustments, membershipFees, interPartnerPointsRead, eventCount, lateEventCount } = this;
    return {
      redemptions,
      issued,
      expired,
      lateAdjustments,
      membershipFees,
      interPartnerPointsRead,
      eventCount,
      lateEventCount,
      revisionsByStream: this.revisionsByStream,
    };
  }

  /**
   * Adds the sums of a builder that was fed the events after this one's (same header and
   * terms): the statement is then the one a single builder fed all the events would build.
   * Every figure is a sum, and every list is sorted when the statement is built; only the
   * revisions of each stream keep their log order, so parts are absorbed in log order.
   */
  absorb(part: StatementPart): void {
    assert(!this.built, 'parts are absorbed before the statement is built');
    absorbTable(this.redemptions, part.redemptions, noRedemptions, (into, from) => {
      into.redeemedPoints = addExact(into.redeemedPoints, from.redeemedPoints, 'matrix points');
      into.redeemedAmount = addExact(into.redeemedAmount, from.redeemedAmount, 'matrix amount');
      into.reversedPoints = addExact(into.reversedPoints, from.reversedPoints, 'matrix points');
      into.reversedAmount = addExact(into.reversedAmount, from.reversedAmount, 'matrix amount');
    });
    absorbTable(this.issued, part.issued, noneIssued, (into, from) => {
      into.issuedPoints = addExact(into.issuedPoints, from.issuedPoints, 'issued points');
      into.reversedPoints = addExact(into.reversedPoints, from.reversedPoints, 'reversed points');
      into.value = addExact(into.value, from.value, 'issued value');
    });
    absorbTable(this.expired, part.expired, noneExpired, (into, from) => {
      into.points = addExact(into.points, from.points, 'expired points');
      into.amount = addExact(into.amount, from.amount, 'breakage');
    });
    absorbTable(
      this.membershipFees,
      part.membershipFees,
      () => ({ plansSold: 0, feeMinor: 0 }),
      (into, from) => {
        into.plansSold += from.plansSold;
        into.feeMinor = addExact(into.feeMinor, from.feeMinor, 'membership fees');
      },
    );
    this.lateAdjustments.push(...part.lateAdjustments);
    this.interPartnerPointsRead = addExact(this.interPartnerPointsRead, part.interPartnerPointsRead, 'inter-partner points');
    this.eventCount += part.eventCount;
    this.lateEventCount += part.lateEventCount;
    for (const [streamId, revisions] of part.revisionsByStream) {
      const mine = this.revisionsByStream.get(streamId);
      if (mine === undefined) this.revisionsByStream.set(streamId, [...revisions]);
      else for (const r of revisions) mine.push(r);
    }
  }

  build(): SettlementStatement {
    assert(!this.built, 'a builder builds one statement');
    this.built = true;
    const { periodId, currency, pointValueMinor, cutoffPosition } = this.header;
    const { terms, lateAdjustments, eventCount, lateEventCount } = this;

    for (const revisions of this.revisionsByStream.values()) assert(noRevisionTwice(revisions), 'each event is settled once');

    const matrixLines = matrixLinesOf(this.redemptions);
    const issuanceFees = issuanceFeesOf(this.issued, terms);
    const breakage = breakageOf(this.expired, terms);

    const interPartnerPoints = matrixLines.reduce((sum, l) => (l.selfRedemption ? sum : sum + BigInt(l.points)), 0n);
    assert(interPartnerPoints === BigInt(this.interPartnerPointsRead), 'matrix holds every inter-partner slice');

    const { bilateralNets, netPositions } = netPositionsOf(matrixLines, issuanceFees, breakage);
    const transfers = transfersOf(netPositions);
    const totals = totalsOf(matrixLines, interPartnerPoints, issuanceFees, breakage, transfers);

    const residue = sumBigint(issuanceFees, (f) => f.residueBpsOfMinor) + sumBigint(breakage, (b) => b.residueBpsOfMinor);

    lateAdjustments.sort(byStreamAndRevision);

    return sealStatement({
      statementVersion: STATEMENT_VERSION,
      periodId,
      periodStartsAt: periodStartsAt(periodId),
      periodEndsAt: periodEndsAt(periodId),
      currency,
      pointValueMinor,
      cutoffPosition,
      eventCount,
      regularEventCount: eventCount - lateEventCount,
      lateEventCount,
      matrix: matrixLines,
      issuanceFees,
      breakage,
      bilateralNets,
      netPositions,
      transfers,
      lateAdjustments,
      ...membershipFeesOf(this.membershipFees),
      totals,
      roundingResidueMinor: toStatementFigure(roundHalfEven(residue, BPS_DIVISOR), 'rounding residue'),
      roundingResidueBpsOfMinor: toStatementFigure(residue, 'rounding residue'),
    });
  }
}

/** Adds each cell of `theirs` into the same cell of `mine`, made by `init` where `mine` has none. */
function absorbTable<R extends string, C extends string | number, V>(
  mine: Map<R, Map<C, V>>,
  theirs: Map<R, Map<C, V>>,
  init: () => V,
  add: (into: V, from: V) => void,
): void {
  for (const [row, cells] of theirs) for (const [column, from] of cells) add(cellOrInit(mine, row, column, init), from);
}

/** Lines by partner then plan (code-unit order); no field at all when nothing was sold. */
function membershipFeesOf(table: Map<string, Map<string, { plansSold: number; feeMinor: number }>>): {
  membershipFees?: MembershipFeeLine[];
} {
  const lines: MembershipFeeLine[] = [];
  for (const partnerId of [...table.keys()].sort(byCodeUnit)) {
    const plans = table.get(partnerId)!;
    for (const planId of [...plans.keys()].sort(byCodeUnit)) lines.push({ partnerId, planId, ...plans.get(planId)! });
  }
  return lines.length === 0 ? {} : { membershipFees: lines };
}

/**
 * The operator issues the bonuses it sponsors and is a settlement party like a partner: its
 * points redeemed at a partner are owed to that partner. It pays no issuance fee and no
 * breakage share (both would be owed to itself), so its terms are all zeros.
 */
export const OPERATOR_TERMS: PartnerTerms = {
  earnRule: { pointsPerUnit: 0, unitMinor: 1 },
  issuanceFeeBps: 0,
  breakageShareBps: 0,
  effectiveFrom: '1970-01-01T00:00:00.000Z',
};

function withOperatorTerms(partnerTerms: ReadonlyMap<string, readonly PartnerTerms[]>): ReadonlyMap<string, readonly PartnerTerms[]> {
  if (partnerTerms.has(OPERATOR_SPONSOR)) return partnerTerms;
  return new Map([...partnerTerms, [OPERATOR_SPONSOR, [OPERATOR_TERMS]]]);
}

/** The statement's totals, after checking that the clearing account keeps exactly the operator income. */
function totalsOf(
  matrixLines: readonly MatrixLine[],
  interPartnerPoints: bigint,
  issuanceFees: readonly IssuanceFee[],
  breakage: readonly Breakage[],
  transfers: readonly Transfer[],
): StatementTotals {
  const issuanceFeesMinor = sumBigint(issuanceFees, (f) => f.amountMinor);
  const operatorBreakageShareMinor = sumBigint(breakage, (b) => b.operatorShareMinor);
  const operatorIncome = issuanceFeesMinor + operatorBreakageShareMinor;
  const payIn = sumBigint(transfers, (t) => (t.direction === 'pay' ? t.amountMinor : 0));
  const payOut = sumBigint(transfers, (t) => (t.direction === 'receive' ? t.amountMinor : 0));
  // Partners pay in what they owe each other plus the operator's income; the account pays out the rest.
  assert(payIn - payOut === operatorIncome, 'the clearing account keeps exactly the operator income');
  return {
    redeemedPoints: sumAsFigure(matrixLines, (l) => l.redeemedPoints, 'redeemed points'),
    reversedPoints: sumAsFigure(matrixLines, (l) => l.reversedPoints, 'reversed points'),
    interPartnerPoints: toStatementFigure(interPartnerPoints, 'inter-partner points'),
    interPartnerAmountMinor: sumAsFigure(matrixLines, (l) => (l.selfRedemption ? 0 : l.amountMinor), 'inter-partner amount'),
    selfRedeemedPoints: sumAsFigure(matrixLines, (l) => (l.selfRedemption ? l.points : 0), 'self-redeemed points'),
    selfRedeemedAmountMinor: sumAsFigure(matrixLines, (l) => (l.selfRedemption ? l.amountMinor : 0), 'self-redeemed amount'),
    issuedPoints: sumAsFigure(issuanceFees, (f) => f.issuedPoints, 'issued points'),
    issuedValueMinor: sumAsFigure(issuanceFees, (f) => f.issuedValueMinor, 'issued value'),
    issuanceFeesMinor: toStatementFigure(issuanceFeesMinor, 'issuance fees'),
    expiredPoints: sumAsFigure(breakage, (b) => b.points, 'expired points'),
    breakageMinor: sumAsFigure(breakage, (b) => b.amountMinor, 'breakage'),
    operatorBreakageShareMinor: toStatementFigure(operatorBreakageShareMinor, 'breakage share'),
    operatorIncomeMinor: toStatementFigure(operatorIncome, 'operator income'),
    clearingPayInMinor: toStatementFigure(payIn, 'pay-in'),
    clearingPayOutMinor: toStatementFigure(payOut, 'pay-out'),
  };
}

/** No revision twice in a stream; events usually come in stream order, which needs no sort. */
function noRevisionTwice(revisions: number[]): boolean {
  let ascending = true;
  for (let i = 1; i < revisions.length && ascending; i++) ascending = revisions[i - 1] < revisions[i];
  if (ascending) return true;
  const sorted = [...revisions].sort((a, b) => a - b);
  return sorted.every((r, i) => i === 0 || sorted[i - 1] !== r);
}
