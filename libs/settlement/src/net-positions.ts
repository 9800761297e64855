import { assert } from '@ledger/domain';
import { toStatementFigure } from './exact-integers';
import { Table, byCodeUnit, cellOrInit, sortedKeys } from './sorted-tables';
import { BilateralNet, Breakage, IssuanceFee, MatrixLine, NetPosition, Transfer } from './statement.types';

/** What one partner is owed by, and owes to, one counterparty. */
interface PairBalance {
  receivable: bigint;
  payable: bigint;
}

const zeroPairBalance = (): PairBalance => ({ receivable: 0n, payable: 0n });

/**
 * Bilateral and multilateral positions from the off-diagonal matrix lines. A line of amount
 * X is a flow issuer → redeemer when X > 0 and redeemer → issuer when X < 0, so receivable
 * and payable are never negative. Fees and breakage shares are owed to the operator, not to
 * a partner: they stay out of `netMinor` (which sums to zero) and enter `settlementMinor`.
 */
export function netPositionsOf(
  lines: readonly MatrixLine[],
  fees: readonly IssuanceFee[],
  breakage: readonly Breakage[],
): { bilateralNets: BilateralNet[]; netPositions: NetPosition[] } {
  const pairs: Table<string, string, PairBalance> = new Map();
  const partners = new Set<string>();
  const recordFlow = (payer: string, payee: string, amount: bigint) => {
    cellOrInit(pairs, payer, payee, zeroPairBalance).payable += amount;
    cellOrInit(pairs, payee, payer, zeroPairBalance).receivable += amount;
  };
  for (const l of lines) {
    partners.add(l.issuerPartnerId).add(l.redeemerPartnerId);
    if (l.selfRedemption || l.amountMinor === 0) continue;
    const amount = BigInt(l.amountMinor);
    if (amount > 0n) recordFlow(l.issuerPartnerId, l.redeemerPartnerId, amount);
    else recordFlow(l.redeemerPartnerId, l.issuerPartnerId, -amount);
  }
  const feeOf = new Map(fees.map((f) => [f.partnerId, BigInt(f.amountMinor)]));
  const breakageShareOf = new Map(breakage.map((b) => [b.issuerPartnerId, BigInt(b.operatorShareMinor)]));
  for (const p of feeOf.keys()) partners.add(p);
  for (const p of breakageShareOf.keys()) partners.add(p);

  const bilateralNets: BilateralNet[] = [];
  const netPositions: NetPosition[] = [];
  let netSum = 0n;
  let receivableSum = 0n;
  let payableSum = 0n;
  for (const partnerId of [...partners].sort(byCodeUnit)) {
    const counterparties = pairs.get(partnerId) ?? new Map<string, PairBalance>();
    let receivable = 0n;
    let payable = 0n;
    for (const counterpartyPartnerId of sortedKeys(counterparties)) {
      const pair = counterparties.get(counterpartyPartnerId)!;
      receivable += pair.receivable;
      payable += pair.payable;
      bilateralNets.push({
        partnerId,
        counterpartyPartnerId,
        receivableMinor: toStatementFigure(pair.receivable, 'bilateral receivable'),
        payableMinor: toStatementFigure(pair.payable, 'bilateral payable'),
        netMinor: toStatementFigure(pair.receivable - pair.payable, 'bilateral net'),
      });
    }
    const fee = feeOf.get(partnerId) ?? 0n;
    const breakageShare = breakageShareOf.get(partnerId) ?? 0n;
    netPositions.push({
      partnerId,
      receivableMinor: toStatementFigure(receivable, 'receivable'),
      payableMinor: toStatementFigure(payable, 'payable'),
      netMinor: toStatementFigure(receivable - payable, 'net position'),
      issuanceFeeMinor: toStatementFigure(fee, 'issuance fee'),
      breakageShareMinor: toStatementFigure(breakageShare, 'breakage share'),
      settlementMinor: toStatementFigure(receivable - payable - fee - breakageShare, 'settlement amount'),
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

/** One payment per partner; a zero settlement moves nothing and is omitted. */
export function transfersOf(netPositions: readonly NetPosition[]): Transfer[] {
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
