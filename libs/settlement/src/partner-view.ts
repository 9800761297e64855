import { SettlementStatement } from './statement.types';

/**
 * What a partner may read of a statement (the roles in README.md, "HTTP API"): its own matrix
 * rows and columns, its fees, breakage, nets, transfer and the adjustments that touch it. Coalition totals and
 * other partners' positions are left out. `sha256` still names the full statement, so the
 * partner can quote it to finance.
 */
export type PartnerStatementView = Omit<SettlementStatement, 'totals' | 'roundingResidueMinor' | 'roundingResidueBpsOfMinor'> & {
  partnerId: string;
};

export function statementForPartner(s: SettlementStatement, partnerId: string): PartnerStatementView {
  const { totals: _t, roundingResidueMinor: _r, roundingResidueBpsOfMinor: _rb, ...rest } = s;
  const involves = (e: { issuerPartnerId: string; redeemerPartnerId?: string }) =>
    e.issuerPartnerId === partnerId || e.redeemerPartnerId === partnerId;
  return {
    ...rest,
    partnerId,
    matrix: s.matrix.filter(involves),
    issuanceFees: s.issuanceFees.filter((f) => f.partnerId === partnerId),
    breakage: s.breakage.filter((b) => b.issuerPartnerId === partnerId),
    bilateralNets: s.bilateralNets.filter((b) => b.partnerId === partnerId),
    netPositions: s.netPositions.filter((p) => p.partnerId === partnerId),
    transfers: s.transfers.filter((t) => t.partnerId === partnerId),
    ...(s.membershipFees === undefined ? {} : { membershipFees: s.membershipFees.filter((f) => f.partnerId === partnerId) }),
    lateAdjustments: s.lateAdjustments.map((a) => ({ ...a, effects: a.effects.filter(involves) })).filter((a) => a.effects.length > 0),
  };
}
