import { createHash } from 'node:crypto';
import { CURRENCY_PATTERN, PartnerTerms, applyBps, assert, canonicalJson, pointsToMinor, roundHalfEven } from '@ledger/domain';
import { SettledEvent } from './membership';
import { MoneyEvent } from './money-events';
import { businessPeriodOf, isPeriodId, periodEndsAt, periodStartsAt } from './period';
import {
  AdjustmentEffect,
  BilateralNet,
  Breakage,
  BreakageLine,
  IssuanceFee,
  IssuanceFeeLine,
  LateAdjustment,
  MatrixLine,
  NetPosition,
  STATEMENT_VERSION,
  SettlementStatement,
  StatementBody,
  Transfer,
} from './statement.types';
import { TermsBook } from './terms-book';

export interface StatementInput extends StatementHeader {
  /** The money events this statement settles (see `selectForPeriod`), in any order. */
  events: Iterable<SettledEvent>;
  /** Every partner's terms versions, oldest `effectiveFrom` first (as `PartnerState.terms`). */
  partnerTerms: ReadonlyMap<string, readonly PartnerTerms[]>;
}

const BPS_DIVISOR = 10_000n;

/** Code-unit order: the same on every machine and locale, unlike `localeCompare`. */
export const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/*
 * Integers, exact or loud. Per event (millions per period) the arithmetic stays in doubles,
 * each step checked: a product or sum of safe integers that is itself a safe integer is
 * exact, and one that is not fails `Number.isSafeInteger` (it cannot round back into the
 * safe range), so no result is ever silently rounded. Sums over lines, where terms of
 * either sign meet, are taken in bigint and checked once, as is every fee product
 * (`applyBps`). Every figure of a statement must be a safe integer anyway: it is canonical JSON.
 */

/** a + b for the per-event sums: exact, or an assertion. */
function add(a: number, b: number, what: string): number {
  const sum = a + b;
  // Tested before the message is built: this runs several times per event.
  if (!Number.isSafeInteger(sum)) assert(false, `${what} fits a safe integer`);
  return sum;
}

/** A bigint sum as a statement figure. */
function safe(value: bigint, what: string): number {
  assert(value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER), `${what} fits a safe integer`);
  return Number(value);
}

/** points × pointValueMinor of one event, exact (the domain's checked product). */
function valueOf(points: number, pointValueMinor: number): number {
  assert(Number.isSafeInteger(points) && points >= 0, 'event points are a non-negative integer');
  return pointsToMinor(points, pointValueMinor);
}

interface MatrixAcc {
  redeemedPoints: number;
  redeemedAmount: number;
  reversedPoints: number;
  reversedAmount: number;
}

interface IssuedAcc {
  issuedPoints: number;
  reversedPoints: number;
  /** Issued minus reversed value. */
  value: number;
}

interface ExpiredAcc {
  points: number;
  amount: number;
}

/** Map of maps, created on first touch. */
function cell<V>(outer: Map<string, Map<string | number, V>>, a: string, b: string | number, init: () => V): V {
  let inner = outer.get(a);
  if (inner === undefined) {
    inner = new Map();
    outer.set(a, inner);
  }
  let v = inner.get(b);
  if (v === undefined) {
    v = init();
    inner.set(b, v);
  }
  return v;
}

const sortedKeys = <K extends string | number>(m: Map<K, unknown>): K[] =>
  [...m.keys()].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : byCodeUnit(String(a), String(b))));

/** The header of a statement: what is fixed before any event is read. */
export interface StatementHeader {
  periodId: string;
  currency: string;
  /** The coalition's point value at the close, for the header. */
  pointValueMinor: number;
  cutoffPosition: number;
}

/**
 * The statement of a period from the events it settles and the partners' terms. Pure:
 * the same input, in any order, yields the same statement and the same sha256.
 *
 * Arithmetic (DESIGN.md §1): points and minor units are integers; a slice's money is
 * `points × pointValueMinor` of its own event, exact. Fees and breakage shares are
 * computed per partner per terms version (a "line"), rounded half-to-even once at that
 * line, and each line's residue is reported. The inter-partner net positions sum to zero;
 * fees and breakage shares are separate columns that the transfers also settle.
 */
export function calculateStatement(input: StatementInput): SettlementStatement {
  const builder = new StatementBuilder(input, input.partnerTerms);
  for (const settled of input.events) builder.add(settled);
  return builder.build();
}

/**
 * `calculateStatement` one event at a time, so a period close can page through the log
 * instead of holding millions of events: memory grows with partners and terms versions
 * (and late adjustments), not with events. Build once.
 */
export class StatementBuilder {
  private readonly terms: TermsBook;
  private readonly matrix = new Map<string, Map<string, MatrixAcc>>();
  private readonly issued = new Map<string, Map<number, IssuedAcc>>();
  private readonly expired = new Map<string, Map<number, ExpiredAcc>>();
  private readonly lateAdjustments: LateAdjustment[] = [];
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
    this.terms = new TermsBook(partnerTerms);
  }

  add(settled: SettledEvent): void {
    assert(!this.built, 'events are added before the statement is built');
    const { event, membership } = settled;
    const d = event.data;
    assert(d.currency === this.header.currency, 'the coalition currency never changes');
    assert(Number.isSafeInteger(d.pointValueMinor) && d.pointValueMinor > 0, 'events carry a positive point value');
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
          const acc = cell(this.matrix, s.issuerPartnerId, redeemer, zeroMatrix);
          const amount = valueOf(s.points, d.pointValueMinor);
          if (redeeming) {
            acc.redeemedPoints = add(acc.redeemedPoints, s.points, 'matrix points');
            acc.redeemedAmount = add(acc.redeemedAmount, amount, 'matrix amount');
          } else {
            acc.reversedPoints = add(acc.reversedPoints, s.points, 'matrix points');
            acc.reversedAmount = add(acc.reversedAmount, amount, 'matrix amount');
          }
          if (s.issuerPartnerId !== redeemer) {
            this.interPartnerPointsRead = add(this.interPartnerPointsRead, redeeming ? s.points : -s.points, 'inter-partner points');
          }
          slicePoints += s.points;
        }
        assert(slicePoints === event.data.points, 'slices sum to the points redeemed');
        break;
      }
      case 'PointsAccrued':
      case 'AccrualReversed': {
        const issuer = event.data.issuerPartnerId;
        const acc = cell(this.issued, issuer, this.terms.versionIndexAt(issuer, d.occurredAt), zeroIssued);
        const value = valueOf(event.data.points, d.pointValueMinor);
        // A refund takes back the fee at the terms of the refund's business date: the
        // reversal does not carry the original's date (see README).
        if (event.type === 'PointsAccrued') {
          acc.issuedPoints = add(acc.issuedPoints, event.data.points, 'issued points');
          acc.value = add(acc.value, value, 'issued value');
        } else {
          acc.reversedPoints = add(acc.reversedPoints, event.data.points, 'reversed points');
          acc.value = add(acc.value, -value, 'issued value');
        }
        break;
      }
      case 'PointsExpired': {
        const issuer = event.data.issuerPartnerId;
        const acc = cell(this.expired, issuer, this.terms.versionIndexAt(issuer, d.occurredAt), zeroExpired);
        acc.points = add(acc.points, event.data.points, 'expired points');
        acc.amount = add(acc.amount, valueOf(event.data.points, d.pointValueMinor), 'breakage');
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

  build(): SettlementStatement {
    assert(!this.built, 'a builder builds one statement');
    this.built = true;
    const { periodId, currency, pointValueMinor, cutoffPosition } = this.header;
    const { terms, lateAdjustments, eventCount, lateEventCount } = this;

    for (const revisions of this.revisionsByStream.values()) assert(distinct(revisions), 'each event is settled once');

    const matrixLines = matrixLinesOf(this.matrix);
    const issuanceFees = issuanceFeesOf(this.issued, terms);
    const breakage = breakageOf(this.expired, terms);

    const interPartnerPoints = matrixLines.reduce((sum, l) => (l.selfRedemption ? sum : sum + BigInt(l.points)), 0n);
    assert(interPartnerPoints === BigInt(this.interPartnerPointsRead), 'matrix holds every inter-partner slice');

    const { bilateralNets, netPositions } = netPositionsOf(matrixLines, issuanceFees, breakage);
    const transfers = transfersOf(netPositions);

    const sum = <T>(xs: readonly T[], f: (x: T) => number | bigint): bigint => xs.reduce((s, x) => s + BigInt(f(x)), 0n);
    const issuanceFeesMinor = sum(issuanceFees, (f) => f.amountMinor);
    const operatorBreakageShareMinor = sum(breakage, (b) => b.operatorShareMinor);
    const operatorIncome = issuanceFeesMinor + operatorBreakageShareMinor;
    const payIn = sum(transfers, (t) => (t.direction === 'pay' ? t.amountMinor : 0));
    const payOut = sum(transfers, (t) => (t.direction === 'receive' ? t.amountMinor : 0));
    // Partners pay in what they owe each other plus the operator's income; the account pays out the rest.
    assert(payIn - payOut === operatorIncome, 'the clearing account keeps exactly the operator income');

    const residue = sum(issuanceFees, (f) => f.residueBpsOfMinor) + sum(breakage, (b) => b.residueBpsOfMinor);

    lateAdjustments.sort((a, b) => byCodeUnit(a.streamId, b.streamId) || a.revision - b.revision);

    const body: StatementBody = {
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
      totals: {
        redeemedPoints: safe(
          sum(matrixLines, (l) => l.redeemedPoints),
          'redeemed points',
        ),
        reversedPoints: safe(
          sum(matrixLines, (l) => l.reversedPoints),
          'reversed points',
        ),
        interPartnerPoints: safe(interPartnerPoints, 'inter-partner points'),
        interPartnerAmountMinor: safe(
          sum(matrixLines, (l) => (l.selfRedemption ? 0 : l.amountMinor)),
          'inter-partner amount',
        ),
        selfRedeemedPoints: safe(
          sum(matrixLines, (l) => (l.selfRedemption ? l.points : 0)),
          'self-redeemed points',
        ),
        selfRedeemedAmountMinor: safe(
          sum(matrixLines, (l) => (l.selfRedemption ? l.amountMinor : 0)),
          'self-redeemed amount',
        ),
        issuedPoints: safe(
          sum(issuanceFees, (f) => f.issuedPoints),
          'issued points',
        ),
        issuedValueMinor: safe(
          sum(issuanceFees, (f) => f.issuedValueMinor),
          'issued value',
        ),
        issuanceFeesMinor: safe(issuanceFeesMinor, 'issuance fees'),
        expiredPoints: safe(
          sum(breakage, (b) => b.points),
          'expired points',
        ),
        breakageMinor: safe(
          sum(breakage, (b) => b.amountMinor),
          'breakage',
        ),
        operatorBreakageShareMinor: safe(operatorBreakageShareMinor, 'breakage share'),
        operatorIncomeMinor: safe(operatorIncome, 'operator income'),
        clearingPayInMinor: safe(payIn, 'pay-in'),
        clearingPayOutMinor: safe(payOut, 'pay-out'),
      },
      roundingResidueMinor: safe(roundHalfEven(residue, BPS_DIVISOR), 'rounding residue'),
      roundingResidueBpsOfMinor: safe(residue, 'rounding residue'),
    };
    return sealStatement(body);
  }
}

const zeroMatrix = (): MatrixAcc => ({ redeemedPoints: 0, redeemedAmount: 0, reversedPoints: 0, reversedAmount: 0 });
const zeroIssued = (): IssuedAcc => ({ issuedPoints: 0, reversedPoints: 0, value: 0 });
const zeroExpired = (): ExpiredAcc => ({ points: 0, amount: 0 });

/** No revision twice in a stream; events usually come in stream order, which needs no sort. */
function distinct(revisions: number[]): boolean {
  let ascending = true;
  for (let i = 1; i < revisions.length && ascending; i++) ascending = revisions[i - 1] < revisions[i];
  if (ascending) return true;
  const sorted = [...revisions].sort((a, b) => a - b);
  return sorted.every((r, i) => i === 0 || sorted[i - 1] !== r);
}

function matrixLinesOf(matrix: Map<string, Map<string, MatrixAcc>>): MatrixLine[] {
  const lines: MatrixLine[] = [];
  for (const issuer of sortedKeys(matrix)) {
    const row = matrix.get(issuer)!;
    for (const redeemer of sortedKeys(row)) {
      const a = row.get(redeemer)!;
      lines.push({
        issuerPartnerId: issuer,
        redeemerPartnerId: redeemer,
        // Differences of two non-negative safe integers: safe and exact.
        points: a.redeemedPoints - a.reversedPoints,
        amountMinor: a.redeemedAmount - a.reversedAmount,
        redeemedPoints: a.redeemedPoints,
        redeemedAmountMinor: a.redeemedAmount,
        reversedPoints: a.reversedPoints,
        reversedAmountMinor: a.reversedAmount,
        selfRedemption: issuer === redeemer,
      });
    }
  }
  return lines;
}

function issuanceFeesOf(issued: Map<string, Map<number, IssuedAcc>>, terms: TermsBook): IssuanceFee[] {
  const fees: IssuanceFee[] = [];
  for (const partnerId of sortedKeys(issued)) {
    const versions = issued.get(partnerId)!;
    const lines: IssuanceFeeLine[] = [];
    for (const index of sortedKeys(versions)) {
      const a = versions.get(index)!;
      const version = terms.version(partnerId, index);
      // The one rounding of this line.
      const fee = applyBps(a.value, version.issuanceFeeBps);
      lines.push({
        effectiveFrom: version.effectiveFrom,
        issuanceFeeBps: version.issuanceFeeBps,
        issuedPoints: a.issuedPoints,
        reversedPoints: a.reversedPoints,
        issuedValueMinor: a.value,
        feeMinor: fee.valueMinor,
        residueBpsOfMinor: fee.residueBpsOfMinor,
      });
    }
    const total = (f: (l: IssuanceFeeLine) => number) => lines.reduce((s, l) => s + BigInt(f(l)), 0n);
    fees.push({
      partnerId,
      issuedPoints: safe(
        total((l) => l.issuedPoints - l.reversedPoints),
        'issued points',
      ),
      issuedValueMinor: safe(
        total((l) => l.issuedValueMinor),
        'issued value',
      ),
      amountMinor: safe(
        total((l) => l.feeMinor),
        'issuance fee',
      ),
      residueBpsOfMinor: safe(
        total((l) => l.residueBpsOfMinor),
        'fee residue',
      ),
      lines,
    });
  }
  return fees;
}

function breakageOf(expired: Map<string, Map<number, ExpiredAcc>>, terms: TermsBook): Breakage[] {
  const result: Breakage[] = [];
  for (const issuerPartnerId of sortedKeys(expired)) {
    const versions = expired.get(issuerPartnerId)!;
    const lines: BreakageLine[] = [];
    for (const index of sortedKeys(versions)) {
      const a = versions.get(index)!;
      const version = terms.version(issuerPartnerId, index);
      // The one rounding of this line.
      const share = applyBps(a.amount, version.breakageShareBps);
      lines.push({
        effectiveFrom: version.effectiveFrom,
        breakageShareBps: version.breakageShareBps,
        points: a.points,
        amountMinor: a.amount,
        operatorShareMinor: share.valueMinor,
        residueBpsOfMinor: share.residueBpsOfMinor,
      });
    }
    const total = (f: (l: BreakageLine) => number) => lines.reduce((s, l) => s + BigInt(f(l)), 0n);
    result.push({
      issuerPartnerId,
      points: safe(
        total((l) => l.points),
        'expired points',
      ),
      amountMinor: safe(
        total((l) => l.amountMinor),
        'breakage',
      ),
      operatorShareMinor: safe(
        total((l) => l.operatorShareMinor),
        'breakage share',
      ),
      residueBpsOfMinor: safe(
        total((l) => l.residueBpsOfMinor),
        'share residue',
      ),
      lines,
    });
  }
  return result;
}

/**
 * Bilateral and multilateral positions from the off-diagonal matrix lines. A line of amount
 * X is a flow issuer → redeemer when X > 0 and redeemer → issuer when X < 0, so receivable
 * and payable are never negative. Fees and breakage shares are owed to the operator, not to
 * a partner: they stay out of `netMinor` (which sums to zero) and enter `settlementMinor`.
 */
function netPositionsOf(
  lines: readonly MatrixLine[],
  fees: readonly IssuanceFee[],
  breakage: readonly Breakage[],
): { bilateralNets: BilateralNet[]; netPositions: NetPosition[] } {
  type Side = { receivable: bigint; payable: bigint };
  const pairs = new Map<string, Map<string, Side>>();
  const partners = new Set<string>();
  const flow = (payer: string, payee: string, amount: bigint) => {
    cell(pairs, payer, payee, zeroSide).payable += amount;
    cell(pairs, payee, payer, zeroSide).receivable += amount;
  };
  for (const l of lines) {
    partners.add(l.issuerPartnerId).add(l.redeemerPartnerId);
    if (l.selfRedemption || l.amountMinor === 0) continue;
    const amount = BigInt(l.amountMinor);
    if (amount > 0n) flow(l.issuerPartnerId, l.redeemerPartnerId, amount);
    else flow(l.redeemerPartnerId, l.issuerPartnerId, -amount);
  }
  const feeOf = new Map(fees.map((f) => [f.partnerId, BigInt(f.amountMinor)]));
  const shareOf = new Map(breakage.map((b) => [b.issuerPartnerId, BigInt(b.operatorShareMinor)]));
  for (const p of feeOf.keys()) partners.add(p);
  for (const p of shareOf.keys()) partners.add(p);

  const bilateralNets: BilateralNet[] = [];
  const netPositions: NetPosition[] = [];
  let netSum = 0n;
  let receivableSum = 0n;
  let payableSum = 0n;
  for (const partnerId of [...partners].sort(byCodeUnit)) {
    const row = pairs.get(partnerId) ?? new Map<string, Side>();
    let receivable = 0n;
    let payable = 0n;
    for (const counterpartyPartnerId of sortedKeys(row)) {
      const side = row.get(counterpartyPartnerId)!;
      receivable += side.receivable;
      payable += side.payable;
      bilateralNets.push({
        partnerId,
        counterpartyPartnerId,
        receivableMinor: safe(side.receivable, 'bilateral receivable'),
        payableMinor: safe(side.payable, 'bilateral payable'),
        netMinor: safe(side.receivable - side.payable, 'bilateral net'),
      });
    }
    const fee = feeOf.get(partnerId) ?? 0n;
    const share = shareOf.get(partnerId) ?? 0n;
    netPositions.push({
      partnerId,
      receivableMinor: safe(receivable, 'receivable'),
      payableMinor: safe(payable, 'payable'),
      netMinor: safe(receivable - payable, 'net position'),
      issuanceFeeMinor: safe(fee, 'issuance fee'),
      breakageShareMinor: safe(share, 'breakage share'),
      settlementMinor: safe(receivable - payable - fee - share, 'settlement amount'),
    });
    netSum += receivable - payable;
    receivableSum += receivable;
    payableSum += payable;
  }
  // What one partner is owed, another owes: the inter-partner nets cancel out.
  assert(receivableSum === payableSum, 'receivables equal payables');
  assert(netSum === 0n, 'net positions sum to zero');
  return { bilateralNets, netPositions };
}

const zeroSide = () => ({ receivable: 0n, payable: 0n });

/** One payment per partner; a zero settlement moves nothing and is omitted. */
function transfersOf(netPositions: readonly NetPosition[]): Transfer[] {
  const transfers: Transfer[] = [];
  for (const p of netPositions) {
    if (p.settlementMinor === 0) continue;
    const direction = p.settlementMinor > 0 ? 'receive' : 'pay';
    transfers.push({ partnerId: p.partnerId, direction, amountMinor: Math.abs(p.settlementMinor) });
  }
  const owed = new Map(netPositions.map((p) => [p.partnerId, p.settlementMinor]));
  for (const t of transfers) {
    assert(
      (t.direction === 'receive' ? t.amountMinor : -t.amountMinor) === owed.get(t.partnerId),
      'a transfer settles its partner exactly',
    );
  }
  assert(transfers.length === netPositions.filter((p) => p.settlementMinor !== 0).length, 'every non-zero position has its transfer');
  return transfers;
}

/**
 * The listing entry of an event settled on behalf of an earlier period, or undefined.
 * Its effects mirror what the event added to the matrix, fees and breakage.
 */
function lateAdjustmentOf(settled: SettledEvent, periodId: string): LateAdjustment | undefined {
  const { event } = settled;
  const originalPeriodId = event.type === 'RedemptionReversed' ? businessPeriodOf(event.data.originalOccurredAt) : undefined;
  let reason: LateAdjustment['reason'];
  if (settled.membership === 'late') reason = 'recorded_after_cutoff';
  else if (originalPeriodId !== undefined && originalPeriodId < periodId) reason = 'reverses_earlier_period';
  else return undefined;
  return {
    streamId: settled.streamId,
    revision: settled.revision,
    eventType: event.type,
    txId: 'txId' in event.data ? event.data.txId : undefined,
    lotId: event.type === 'PointsExpired' ? event.data.lotId : undefined,
    occurredAt: event.data.occurredAt,
    businessPeriodId: businessPeriodOf(event.data.occurredAt),
    reason,
    originalPeriodId,
    effects: effectsOf(event),
  };
}

function effectsOf(event: MoneyEvent): AdjustmentEffect[] {
  const pv = event.data.pointValueMinor;
  const single = (kind: AdjustmentEffect['kind'], issuerPartnerId: string, points: number, sign: number): AdjustmentEffect[] => [
    { kind, issuerPartnerId, points: sign * points, amountMinor: sign * valueOf(points, pv) },
  ];
  switch (event.type) {
    case 'PointsAccrued':
      return single('issued', event.data.issuerPartnerId, event.data.points, 1);
    case 'AccrualReversed':
      return single('accrual_reversed', event.data.issuerPartnerId, event.data.points, -1);
    case 'PointsExpired':
      return single('expired', event.data.issuerPartnerId, event.data.points, 1);
    case 'PointsRedeemed':
    case 'RedemptionReversed': {
      const kind = event.type === 'PointsRedeemed' ? 'redeemed' : 'redemption_reversed';
      const sign = event.type === 'PointsRedeemed' ? 1 : -1;
      const byIssuer = new Map<string, number>();
      for (const s of event.data.slices)
        byIssuer.set(s.issuerPartnerId, add(byIssuer.get(s.issuerPartnerId) ?? 0, s.points, 'slice points'));
      return [...byIssuer.keys()].sort(byCodeUnit).map((issuerPartnerId) => {
        const points = byIssuer.get(issuerPartnerId)!;
        return {
          kind,
          issuerPartnerId,
          redeemerPartnerId: event.data.partnerId,
          points: sign * points,
          amountMinor: sign * valueOf(points, pv),
        };
      });
    }
    default: {
      const unknown: never = event;
      throw new Error(`unknown money event ${JSON.stringify(unknown)}`);
    }
  }
}

/** Canonical JSON of a statement: the bytes that are hashed, stored and compared. */
export const statementJson = (statement: SettlementStatement | StatementBody): string => canonicalJson(statement);

/** sha256 hex of the canonical JSON of the statement without its `sha256` field. */
export function statementSha256(statement: SettlementStatement | StatementBody): string {
  const { sha256: _ignored, ...body } = statement as SettlementStatement;
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

export const sealStatement = (body: StatementBody): SettlementStatement => ({ ...body, sha256: statementSha256(body) });

/** Whether a statement (e.g. read back from its stream) still matches its own hash. */
export const verifyStatement = (statement: SettlementStatement): boolean => statementSha256(statement) === statement.sha256;
