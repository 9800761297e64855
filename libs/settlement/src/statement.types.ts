/**
 * The settlement statement: the same JSON in `SettlementStatementIssued`, the API and the
 * files finance keeps. Every number is an integer (points, or minor units of `currency`);
 * every list is sorted by its ids, so canonical JSON of a statement is reproducible byte
 * for byte and `sha256` identifies it.
 */
export const STATEMENT_VERSION = 1 as const;

/** `L[issuer][redeemer]`: what the issuer owes the redeemer for points spent there. */
export interface MatrixLine {
  issuerPartnerId: string;
  redeemerPartnerId: string;
  /** Net points: redeemed minus reversed (negative when reversals of earlier periods dominate). */
  points: number;
  /** Net money: redeemed minus reversed, each slice valued at its own event's point value. */
  amountMinor: number;
  redeemedPoints: number;
  redeemedAmountMinor: number;
  reversedPoints: number;
  reversedAmountMinor: number;
  /** Issuer = redeemer: reported, but no money moves between partners. */
  selfRedemption: boolean;
}

/** Issued value under one version of a partner's terms: the unit that is rounded once. */
export interface IssuanceFeeLine {
  /** `effectiveFrom` of the terms version in force at the events' business dates. */
  effectiveFrom: string;
  issuanceFeeBps: number;
  issuedPoints: number;
  reversedPoints: number;
  /** Issued minus reversed value, in minor units. */
  issuedValueMinor: number;
  /** issuedValueMinor × issuanceFeeBps / 10 000, rounded half-to-even. */
  feeMinor: number;
  /** exact − rounded, in 1/10 000 of a minor unit. */
  residueBpsOfMinor: number;
}

export interface IssuanceFee {
  partnerId: string;
  /** Net issued points and value (accruals minus accrual reversals). */
  issuedPoints: number;
  issuedValueMinor: number;
  /** Σ of the lines' rounded fees: what the partner owes the operator. */
  amountMinor: number;
  residueBpsOfMinor: number;
  lines: IssuanceFeeLine[];
}

export interface BreakageLine {
  effectiveFrom: string;
  breakageShareBps: number;
  points: number;
  amountMinor: number;
  /** amountMinor × breakageShareBps / 10 000, rounded half-to-even. */
  operatorShareMinor: number;
  residueBpsOfMinor: number;
}

export interface Breakage {
  issuerPartnerId: string;
  /** Points that expired, and their value: liability the issuer no longer carries. */
  points: number;
  amountMinor: number;
  /** Σ of the lines' rounded shares: what the issuer owes the operator. */
  operatorShareMinor: number;
  residueBpsOfMinor: number;
  lines: BreakageLine[];
}

/**
 * One partner against one other, from the matrix. Listed from both sides, so a partner's
 * own rows are complete. A negative matrix line is a flow the other way.
 */
export interface BilateralNet {
  partnerId: string;
  counterpartyPartnerId: string;
  receivableMinor: number;
  payableMinor: number;
  netMinor: number;
}

export interface NetPosition {
  partnerId: string;
  /** Owed to it by other partners (for their points redeemed at it). */
  receivableMinor: number;
  /** Owed by it to other partners (for its points redeemed elsewhere). */
  payableMinor: number;
  /** Multilateral inter-partner net: receivable − payable. Σ over partners = 0. */
  netMinor: number;
  /** Owed to the operator: issuance fees and its share of breakage. */
  issuanceFeeMinor: number;
  breakageShareMinor: number;
  /** What the clearing account settles: netMinor − issuanceFeeMinor − breakageShareMinor. */
  settlementMinor: number;
}

/** One payment per partner through the coalition's clearing account; zero amounts omitted. */
/**
 * Paid plans a partner sold in the period (MembershipPurchased): the fees are its own income,
 * collected from the member at the sale, so no transfer or net position carries them.
 */
export interface MembershipFeeLine {
  partnerId: string;
  planId: string;
  plansSold: number;
  feeMinor: number;
}

export interface Transfer {
  partnerId: string;
  direction: 'pay' | 'receive';
  /** Positive. */
  amountMinor: number;
}

export type AdjustmentEffectKind = 'redeemed' | 'redemption_reversed' | 'issued' | 'accrual_reversed' | 'expired' | 'membership_fee';

/** What an adjusting event adds to this statement (negative for reversals). */
export interface AdjustmentEffect {
  kind: AdjustmentEffectKind;
  issuerPartnerId: string;
  /** For redemptions and their reversals. */
  redeemerPartnerId?: string;
  points: number;
  amountMinor: number;
}

/**
 * An event this statement settles on behalf of an earlier period. Its effects are already
 * in the matrix, fees and breakage above; this list is what lets finance tie the figures
 * back to the earlier statement.
 *  - `recorded_after_cutoff`: business date in a closed period, recorded after its close.
 *  - `reverses_earlier_period`: a redemption reversal in this period whose redemption's
 *    business date lies in an earlier period.
 */
export interface LateAdjustment {
  streamId: string;
  revision: number;
  eventType: string;
  txId?: string;
  lotId?: string;
  occurredAt: string;
  businessPeriodId: string;
  reason: 'recorded_after_cutoff' | 'reverses_earlier_period';
  /** For redemption reversals: the period of the redemption it cancels. */
  originalPeriodId?: string;
  effects: AdjustmentEffect[];
}

export interface StatementTotals {
  redeemedPoints: number;
  reversedPoints: number;
  /** Off the diagonal, net of reversals. */
  interPartnerPoints: number;
  interPartnerAmountMinor: number;
  /** On the diagonal, net of reversals. */
  selfRedeemedPoints: number;
  selfRedeemedAmountMinor: number;
  issuedPoints: number;
  issuedValueMinor: number;
  issuanceFeesMinor: number;
  expiredPoints: number;
  breakageMinor: number;
  operatorBreakageShareMinor: number;
  /** Fees + breakage shares: what stays in the clearing account for the operator. */
  operatorIncomeMinor: number;
  /** Σ `pay` transfers into, and Σ `receive` transfers out of, the clearing account. */
  clearingPayInMinor: number;
  clearingPayOutMinor: number;
}

export interface SettlementStatement {
  statementVersion: typeof STATEMENT_VERSION;
  periodId: string;
  periodStartsAt: string;
  /** Exclusive: the first instant of the next period. */
  periodEndsAt: string;
  currency: string;
  /** The coalition's point value at the close (events carry their own; lines use those). */
  pointValueMinor: number;
  cutoffPosition: number;
  eventCount: number;
  regularEventCount: number;
  lateEventCount: number;
  matrix: MatrixLine[];
  issuanceFees: IssuanceFee[];
  breakage: Breakage[];
  bilateralNets: BilateralNet[];
  netPositions: NetPosition[];
  transfers: Transfer[];
  lateAdjustments: LateAdjustment[];
  /** Present only when some plan was sold in the period: statements without any hash as before. */
  membershipFees?: MembershipFeeLine[];
  totals: StatementTotals;
  /** Σ of every line's residue, in minor units, rounded half-to-even (the exact sum is next). */
  roundingResidueMinor: number;
  /** Σ of every fee and share line's `residueBpsOfMinor`: exact, in 1/10 000 of a minor unit. */
  roundingResidueBpsOfMinor: number;
  /** Filled by the audit work when it lands; omitted from canonical JSON while undefined. */
  eventsMerkleRoot?: string;
  /** sha256 hex of the canonical JSON of every other field. */
  sha256: string;
}

export type StatementBody = Omit<SettlementStatement, 'sha256'>;
