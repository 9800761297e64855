import { canonicalJson, sha256Hex } from '@ledger/integrity';
import { SettlementStatement, StatementBody } from './statement.types';

/** Canonical JSON of a statement: the bytes that are hashed, stored and compared. */
export const statementJson = (statement: SettlementStatement | StatementBody): string => canonicalJson(statement);

/** sha256 hex of the canonical JSON of the statement without its `sha256` field. */
export function statementSha256(statement: SettlementStatement | StatementBody): string {
  const { sha256: _ignored, ...body } = statement as SettlementStatement;
  return sha256Hex(canonicalJson(body));
}

export const sealStatement = (body: StatementBody): SettlementStatement => ({ ...body, sha256: statementSha256(body) });

/** Whether a statement (e.g. read back from its stream) still matches its own hash. */
export const verifyStatement = (statement: SettlementStatement): boolean => statementSha256(statement) === statement.sha256;
