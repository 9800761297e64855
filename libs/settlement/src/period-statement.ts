import { PartnerEvent, PartnerState, PartnerTerms, evolvePartner, initialPartner } from '@ledger/domain';
import { EventStore, RecordedEvent, ScanAllOptions } from '@ledger/event-store';
import { PeriodLeaves, PeriodLeavesPart, merkleRootOfHalves, merkleSplitPoint, merkleTopOf } from '@ledger/integrity';
import { PreparedClose, classifyEvent, closedCutoffsFrom, prepareClose } from './membership';
import { MONEY_EVENT_TYPES } from './money-events';
import { StatementBuilder, sealStatement } from './statement';
import { StatementPart } from './statement-builder';
import { SettlementStatement } from './statement.types';

/** What, besides the money events, a statement is calculated with: partners' terms and earlier closes. */
export interface SettlementReferences {
  partnerTerms: Map<string, PartnerTerms[]>;
  closedCutoffs: Map<string, number>;
}

/** The streams the references come from: a few events in a long log, read through the store's filter. */
export const REFERENCE_STREAM_PREFIXES: readonly string[] = ['partner-', 'settlement-'];

/** Partner terms and the closes made before, from the partner and settlement streams up to the cut-off. */
export async function readSettlementReferences(store: EventStore, cutoffPosition: number): Promise<SettlementReferences> {
  const partners = new Map<string, PartnerState>();
  const closes: RecordedEvent[] = [];
  await store.scanAll({ upTo: cutoffPosition, filter: { streamPrefixes: REFERENCE_STREAM_PREFIXES } }, (e) => {
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

/** A calculation's sums and leaves over one part of the log (plain data: it crosses threads). */
export interface PeriodStatementPart {
  statement: StatementPart;
  leaves: PeriodLeavesPart;
}

/**
 * One period's statement, calculated as the log goes by: made with the references, fed the
 * events of the log up to the cut-off in log order (any others are ignored, so one read of
 * the log can feed several), then sealed. The close files what it gives; `verify` recomputes
 * a filed statement with it; so the two agree byte for byte by construction.
 */
export class PeriodStatementCalculation {
  private readonly close: PreparedClose;
  private readonly builder: StatementBuilder;
  private readonly leaves = new PeriodLeaves();

  constructor(
    readonly periodId: string,
    readonly cutoffPosition: number,
    coalition: { currency: string; pointValueMinor: number },
    references: SettlementReferences,
  ) {
    const closedCutoffs = new Map(references.closedCutoffs);
    // A statement being re-verified must not count its own close, or later ones, among the earlier.
    closedCutoffs.delete(periodId);
    for (const [q, c] of closedCutoffs) if (c > cutoffPosition) closedCutoffs.delete(q);
    this.close = prepareClose({ periodId, cutoffPosition, closedCutoffs });
    this.builder = new StatementBuilder(
      { periodId, currency: coalition.currency, pointValueMinor: coalition.pointValueMinor, cutoffPosition },
      references.partnerTerms,
    );
  }

  add(e: RecordedEvent): void {
    if (e.position > this.cutoffPosition) return;
    const settled = classifyEvent(e, this.close);
    if (typeof settled !== 'object') return;
    this.builder.add(settled);
    this.leaves.add({ streamId: e.streamId, revision: e.revision, hash: String(e.metadata.hash) });
  }

  /** What this calculation has read so far, for the calculation of the whole period to absorb. */
  part(): PeriodStatementPart {
    return { statement: this.builder.part(), leaves: this.leaves.part() };
  }

  /** Sorts the Merkle leaves read so far: what a close's first thread does while the second still reads its part. */
  sortLeaves(): void {
    this.leaves.sortCollected();
  }

  /** Adds a part calculated over the events after this one's (see StatementBuilder.absorb). */
  absorb(part: PeriodStatementPart): void {
    this.builder.absorb(part.statement);
    this.leaves.absorb(part.leaves);
  }

  /** How many events it settles so far: the leaves of its Merkle root. */
  get settledCount(): number {
    return this.leaves.size;
  }

  /** The sealed statement; it names the exact events it settles, so an auditor can prove any one is in it. */
  finish(): SettlementStatement {
    const { sha256: _unsealed, ...body } = this.builder.build();
    return sealStatement({ ...body, eventsMerkleRoot: this.leaves.root() });
  }

  /**
   * `finish()`, with the second half of the Merkle tree (merkleSplitPoint) hashed by
   * `hashElsewhere` (another thread: it gets the nodes first) while this thread hashes the
   * first. The same root, so the same statement.
   */
  async finishSplit(hashElsewhere: (nodes: Uint8Array, count: number) => Promise<Uint8Array>): Promise<SettlementStatement> {
    const count = this.leaves.size;
    const split = merkleSplitPoint(count);
    if (split === undefined) return this.finish();
    const { sha256: _unsealed, ...body } = this.builder.build();
    const nodes = this.leaves.sortedNodes();
    const right = hashElsewhere(nodes.subarray(split * 32, count * 32), count - split);
    const left = merkleTopOf(nodes, split);
    return sealStatement({ ...body, eventsMerkleRoot: merkleRootOfHalves(left, await right) });
  }
}

/**
 * Calculates a period's statement at a cut-off from the log alone: the references through
 * the store's stream filter, then the money events through its event-type filter, so what
 * settlement does not use is neither read nor decoded. Memory stays flat however long the log.
 */
export async function calculatePeriodStatement(
  store: EventStore,
  periodId: string,
  cutoffPosition: number,
  coalition: { currency: string; pointValueMinor: number },
  onPage?: (position: number) => void,
): Promise<SettlementStatement> {
  const calculation = new PeriodStatementCalculation(
    periodId,
    cutoffPosition,
    coalition,
    await readSettlementReferences(store, cutoffPosition),
  );
  await store.scanAll(moneyScan(cutoffPosition, onPage), (e) => calculation.add(e));
  return calculation.finish();
}

/**
 * The scan of the events a statement uses, up to `upTo`: what settlement does not use is
 * neither read nor decoded. Money-typed events of other streams pass the filter too; the
 * classification leaves them out. Of the metadata, the statement uses the hash alone (its Merkle leaf).
 */
export function moneyScan(upTo: number, onProgress?: (position: number) => void): ScanAllOptions {
  return { upTo, filter: { eventTypes: [...MONEY_EVENT_TYPES] }, metadata: 'hash', onProgress };
}
