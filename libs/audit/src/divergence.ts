/**
 * What an audit found that does not hold. `expected` is what the events (or the rule) say,
 * `found` what is stored; both are small JSON values so a report prints them as they are.
 */
export type DivergenceKind =
  // The per-stream hash chain (docs/domain.md, "Events").
  | 'revision_gap'
  | 'prev_hash_mismatch'
  | 'hash_mismatch'
  | 'hash_missing'
  | 'event_id_mismatch'
  | 'position_order'
  // The member fold and the ledger's invariants.
  | 'invariant'
  // A read model against the fold of the events.
  | 'read_model'
  // A closed period's statement recomputed from the log.
  | 'statement'
  | 'merkle_root';

export interface Divergence {
  kind: DivergenceKind;
  /** Which check found it: `hash_chain`, `invariants`, `read_model:members`, `statement`, … */
  check: string;
  streamId?: string;
  revision?: number;
  position?: number;
  /** One line a person can act on. */
  message: string;
  expected?: unknown;
  found?: unknown;
}

export const describeDivergence = (d: Divergence): string => {
  const where = [
    d.streamId,
    d.revision !== undefined ? `revision ${d.revision}` : undefined,
    d.position !== undefined ? `position ${d.position}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  const values =
    d.expected !== undefined || d.found !== undefined ? ` (expected ${JSON.stringify(d.expected)}, found ${JSON.stringify(d.found)})` : '';
  return `${d.check}${where ? ` at ${where}` : ''}: ${d.message}${values}`;
};
