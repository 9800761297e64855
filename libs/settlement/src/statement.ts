import { PartnerTerms } from '@ledger/domain';
import { SettledEvent } from './membership';
import { StatementBuilder, StatementHeader } from './statement-builder';
import { SettlementStatement } from './statement.types';

export { StatementBuilder } from './statement-builder';
export type { StatementHeader } from './statement-builder';
export { sealStatement, statementJson, statementSha256, verifyStatement } from './statement-hash';
export { byCodeUnit } from './sorted-tables';

export interface StatementInput extends StatementHeader {
  /** The money events this statement settles (see `selectForPeriod`), in any order. */
  events: Iterable<SettledEvent>;
  /** Every partner's terms versions, oldest `effectiveFrom` first (as `PartnerState.terms`). */
  partnerTerms: ReadonlyMap<string, readonly PartnerTerms[]>;
}

/**
 * The statement of a period from the events it settles and the partners' terms. Pure:
 * the same input, in any order, yields the same statement and the same sha256.
 *
 * Arithmetic (libs/settlement/README.md, "Arithmetic and rounding"): points and minor units
 * are integers; a slice's money is `points × pointValueMinor` of its own event, exact. Fees
 * and breakage shares are computed per partner per terms version (a "line"), rounded
 * half-to-even once at that line, and each line's residue is reported. The inter-partner
 * net positions sum to zero; fees and breakage shares are separate columns that the
 * transfers also settle.
 *
 * The parts: `StatementBuilder` (statement-builder.ts) reads events into running totals;
 * statement-lines.ts turns them into the matrix, fee and breakage lines; net-positions.ts
 * nets the matrix and makes the transfers; late-adjustments.ts lists events settled for an
 * earlier period; statement-hash.ts seals the result.
 */
export function calculateStatement(input: StatementInput): SettlementStatement {
  const builder = new StatementBuilder(input, input.partnerTerms);
  for (const settled of input.events) builder.add(settled);
  return builder.build();
}
