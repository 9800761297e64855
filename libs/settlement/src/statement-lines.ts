import { applyBps } from '@ledger/domain';
import { sumAsFigure } from './exact-integers';
import { Table, sortedKeys } from './sorted-tables';
import { Breakage, BreakageLine, IssuanceFee, IssuanceFeeLine, MatrixLine } from './statement.types';
import { TermsBook } from './terms-book';

/*
 * The running totals a statement builder keeps per event, and the sorted, rounded lines
 * they become: the redemption matrix, the issuance fees and the breakage.
 */

/** Redemptions and their reversals of one issuer's points at one redeemer. */
export interface RedemptionTotals {
  redeemedPoints: number;
  redeemedAmount: number;
  reversedPoints: number;
  reversedAmount: number;
}

/** One partner's accruals and refunds under one terms version. */
export interface IssuedTotals {
  issuedPoints: number;
  reversedPoints: number;
  /** Issued minus reversed value. */
  value: number;
}

/** One issuer's expired points under one terms version. */
export interface ExpiredTotals {
  points: number;
  amount: number;
}

/** issuer → redeemer → totals. */
export type RedemptionTable = Table<string, string, RedemptionTotals>;
/** partner → terms version index → totals. */
export type IssuedTable = Table<string, number, IssuedTotals>;
export type ExpiredTable = Table<string, number, ExpiredTotals>;

export const noRedemptions = (): RedemptionTotals => ({ redeemedPoints: 0, redeemedAmount: 0, reversedPoints: 0, reversedAmount: 0 });
export const noneIssued = (): IssuedTotals => ({ issuedPoints: 0, reversedPoints: 0, value: 0 });
export const noneExpired = (): ExpiredTotals => ({ points: 0, amount: 0 });

export function matrixLinesOf(redemptions: RedemptionTable): MatrixLine[] {
  const lines: MatrixLine[] = [];
  for (const issuer of sortedKeys(redemptions)) {
    const byRedeemer = redemptions.get(issuer)!;
    for (const redeemer of sortedKeys(byRedeemer)) {
      const totals = byRedeemer.get(redeemer)!;
      lines.push({
        issuerPartnerId: issuer,
        redeemerPartnerId: redeemer,
        // Differences of two non-negative safe integers: safe and exact.
        points: totals.redeemedPoints - totals.reversedPoints,
        amountMinor: totals.redeemedAmount - totals.reversedAmount,
        redeemedPoints: totals.redeemedPoints,
        redeemedAmountMinor: totals.redeemedAmount,
        reversedPoints: totals.reversedPoints,
        reversedAmountMinor: totals.reversedAmount,
        selfRedemption: issuer === redeemer,
      });
    }
  }
  return lines;
}

export function issuanceFeesOf(issued: IssuedTable, terms: TermsBook): IssuanceFee[] {
  const fees: IssuanceFee[] = [];
  for (const partnerId of sortedKeys(issued)) {
    const byVersion = issued.get(partnerId)!;
    const lines: IssuanceFeeLine[] = [];
    for (const index of sortedKeys(byVersion)) {
      const totals = byVersion.get(index)!;
      const version = terms.version(partnerId, index);
      // The one rounding of this line.
      const fee = applyBps(totals.value, version.issuanceFeeBps);
      lines.push({
        effectiveFrom: version.effectiveFrom,
        issuanceFeeBps: version.issuanceFeeBps,
        issuedPoints: totals.issuedPoints,
        reversedPoints: totals.reversedPoints,
        issuedValueMinor: totals.value,
        feeMinor: fee.valueMinor,
        residueBpsOfMinor: fee.residueBpsOfMinor,
      });
    }
    fees.push({
      partnerId,
      issuedPoints: sumAsFigure(lines, (l) => l.issuedPoints - l.reversedPoints, 'issued points'),
      issuedValueMinor: sumAsFigure(lines, (l) => l.issuedValueMinor, 'issued value'),
      amountMinor: sumAsFigure(lines, (l) => l.feeMinor, 'issuance fee'),
      residueBpsOfMinor: sumAsFigure(lines, (l) => l.residueBpsOfMinor, 'fee residue'),
      lines,
    });
  }
  return fees;
}

export function breakageOf(expired: ExpiredTable, terms: TermsBook): Breakage[] {
  const breakage: Breakage[] = [];
  for (const issuerPartnerId of sortedKeys(expired)) {
    const byVersion = expired.get(issuerPartnerId)!;
    const lines: BreakageLine[] = [];
    for (const index of sortedKeys(byVersion)) {
      const totals = byVersion.get(index)!;
      const version = terms.version(issuerPartnerId, index);
      // The one rounding of this line.
      const share = applyBps(totals.amount, version.breakageShareBps);
      lines.push({
        effectiveFrom: version.effectiveFrom,
        breakageShareBps: version.breakageShareBps,
        points: totals.points,
        amountMinor: totals.amount,
        operatorShareMinor: share.valueMinor,
        residueBpsOfMinor: share.residueBpsOfMinor,
      });
    }
    breakage.push({
      issuerPartnerId,
      points: sumAsFigure(lines, (l) => l.points, 'expired points'),
      amountMinor: sumAsFigure(lines, (l) => l.amountMinor, 'breakage'),
      operatorShareMinor: sumAsFigure(lines, (l) => l.operatorShareMinor, 'breakage share'),
      residueBpsOfMinor: sumAsFigure(lines, (l) => l.residueBpsOfMinor, 'share residue'),
      lines,
    });
  }
  return breakage;
}
