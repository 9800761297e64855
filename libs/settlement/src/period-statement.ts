import { PartnerEvent, PartnerState, PartnerTerms, evolvePartner, initialPartner } from '@ledger/domain';
import { EventStore, RecordedEvent } from '@ledger/event-store';
import { LeafEvent, merkleRoot, periodLeafHashes } from '@ledger/integrity';
import { classifyEvent, closedCutoffsFrom, prepareClose } from './membership';
import { StatementBuilder, sealStatement } from './statement';
import { SettlementStatement } from './statement.types';

/** What, besides the money events, a statement is calculated with: partners' terms and earlier closes. */
export interface SettlementReferences {
  partnerTerms: Map<string, PartnerTerms[]>;
  closedCutoffs: Map<string, number>;
}

/** First pass over the log up to the cut-off: partner terms and the closes made before. */
export async function readSettlementReferences(store: EventStore, cutoffPosition: number): Promise<SettlementReferences> {
  const partners = new Map<string, PartnerState>();
  const closes: RecordedEvent[] = [];
  await store.scanAll({ upTo: cutoffPosition }, (e) => {
    if (e.streamId.startsWith('partner-')) {
      partners.set(e.streamId, evolvePartner(partners.get(e.streamId) ?? initialPartner(), { type: e.type, data: e.data } as PartnerEvent));
    } else if (e.type === 'SettlementPeriodClosed') {
      closes.push(e);
    }
  });
  const partnerTerms = new Map<string, PartnerTerms[]>();
  for (const p of partners.values()) if (p.status !== 'none') partnerTerms.set(p.partnerId, p.terms);
  return { partnerTerms, closedCutoffs: closedCutoffsFrom(closes) };
}

/**
 * Calculates a period's statement at a cut-off from the log alone: the period close files
 * it, and the audit recomputes a filed one with it. Two passes, so memory stays flat
 * however long the log: references first, then each money event is classified and added
 * as it is read.
 */
export async function calculatePeriodStatement(
  store: EventStore,
  periodId: string,
  cutoffPosition: number,
  coalition: { currency: string; pointValueMinor: number },
  onPage?: (position: number) => void,
): Promise<SettlementStatement> {
  const { partnerTerms, closedCutoffs } = await readSettlementReferences(store, cutoffPosition);
  // A statement being re-verified must not count its own close, or later ones, among the earlier.
  closedCutoffs.delete(periodId);
  for (const [q, c] of closedCutoffs) if (c > cutoffPosition) closedCutoffs.delete(q);
  const close = prepareClose({ periodId, cutoffPosition, closedCutoffs });
  const builder = new StatementBuilder(
    { periodId, currency: coalition.currency, pointValueMinor: coalition.pointValueMinor, cutoffPosition },
    partnerTerms,
  );
  const leaves: LeafEvent[] = [];
  await store.scanAll({ upTo: cutoffPosition, onProgress: onPage }, (e) => {
    const settled = classifyEvent(e, close);
    if (typeof settled !== 'object') return;
    builder.add(settled);
    leaves.push({ streamId: e.streamId, revision: e.revision, hash: String(e.metadata.hash) });
  });
  // The statement names the exact events it settles: an auditor can prove any one is in it.
  const { sha256: _unsealed, ...body } = builder.build();
  return sealStatement({ ...body, eventsMerkleRoot: merkleRoot(periodLeafHashes(leaves)) });
}
