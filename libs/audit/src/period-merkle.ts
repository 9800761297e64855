import { RecordedEvent } from '@ledger/event-store';
import { SettlementStatement, asMoneyEvent, businessPeriodOf, classifyMembership, prepareClose, verifyStatement } from '@ledger/settlement';
import {
  BusinessMetadata,
  chainHash,
  LeafEvent,
  MerkleStep,
  byStreamRevision,
  inclusionProof,
  periodMerkleRoot,
  HashColumn,
  verifyInclusionProof,
} from '@ledger/integrity';

/** A period close as read from the log. */
export interface PeriodCloseRecord {
  periodId: string;
  cutoffPosition: number;
  /** Position of the `SettlementPeriodClosed` event itself. */
  closedAtPosition: number;
  streamId: string;
  revision: number;
  statement: SettlementStatement | null;
}

/** Collects closes and statements from `settlement-*` streams while the log goes by. */
export class PeriodCloses {
  private readonly byPeriod = new Map<string, PeriodCloseRecord>();

  add(e: RecordedEvent): void {
    if (!e.streamId.startsWith('settlement-')) return;
    const d = e.data as { periodId?: unknown; cutoffPosition?: unknown; statement?: unknown };
    if (typeof d.periodId !== 'string') return;
    if (e.type === 'SettlementPeriodClosed' && typeof d.cutoffPosition === 'number' && !this.byPeriod.has(d.periodId)) {
      this.byPeriod.set(d.periodId, {
        periodId: d.periodId,
        cutoffPosition: d.cutoffPosition,
        closedAtPosition: e.position,
        streamId: e.streamId,
        revision: e.revision,
        statement: null,
      });
    } else if (e.type === 'SettlementStatementIssued') {
      const close = this.byPeriod.get(d.periodId);
      if (close && close.statement === null) close.statement = d.statement as SettlementStatement;
    }
  }

  get(periodId: string): PeriodCloseRecord | undefined {
    return this.byPeriod.get(periodId);
  }

  /** In the order they were closed. */
  all(): PeriodCloseRecord[] {
    return [...this.byPeriod.values()].sort((a, b) => a.closedAtPosition - b.closedAtPosition);
  }

  /**
   * The periods already closed when `periodId` was, with their cut-offs: those whose close
   * is in the log at or before its cut-off (calculatePeriodStatement's rule).
   */
  closedBefore(periodId: string): Map<string, number> {
    const close = this.byPeriod.get(periodId);
    const closed = new Map<string, number>();
    if (close === undefined) return closed;
    for (const other of this.byPeriod.values()) {
      if (other.periodId === periodId) continue;
      if (other.closedAtPosition <= close.cutoffPosition && other.cutoffPosition <= close.cutoffPosition)
        closed.set(other.periodId, other.cutoffPosition);
    }
    return closed;
  }
}

/**
 * The member money events of the log, kept column-wise with only what a period's leaves
 * need (stream, revision, position, business month, hash): about a hundred bytes each.
 */
export class MoneyEventIndex {
  private readonly streams: string[] = [];
  private readonly revisions: number[] = [];
  private readonly positions: number[] = [];
  private readonly months: string[] = [];
  /** 32 bytes per event; a missing or malformed hash (the chain check reports it) is kept as all zeros. */
  private readonly hashes = new HashColumn();
  private readonly interned = new Map<string, string>();

  /** Adds `e` if it is a member money event; false otherwise. */
  add(e: RecordedEvent): boolean {
    const money = asMoneyEvent(e);
    if (money === undefined) return false;
    const occurredAt = (money.data as { occurredAt?: unknown }).occurredAt;
    let month: string;
    try {
      month = typeof occurredAt === 'string' ? businessPeriodOf(occurredAt) : 'invalid';
    } catch {
      // A date that has no month (tampering): it can be settled by no period. The fold reports it.
      month = 'invalid';
    }
    this.streams.push(this.intern(e.streamId));
    this.revisions.push(e.revision);
    this.positions.push(e.position);
    this.months.push(this.intern(month));
    this.hashes.push((e.metadata as { hash?: unknown }).hash);
    return true;
  }

  get size(): number {
    return this.positions.length;
  }

  /**
   * The events `periodId`'s statement settles (membership.ts: regular and late), as leaves:
   * the selection `calculatePeriodStatement` makes, by the same classification function.
   */
  settledBy(periodId: string, cutoffPosition: number, closedCutoffs: ReadonlyMap<string, number>): (LeafEvent & { position: number })[] {
    const close = prepareClose({ periodId, cutoffPosition, closedCutoffs });
    const out: (LeafEvent & { position: number })[] = [];
    for (let i = 0; i < this.positions.length; i++) {
      if (this.months[i] === 'invalid') continue;
      const membership = classifyMembership(this.months[i], this.positions[i], close);
      if (membership === 'regular' || membership === 'late') {
        out.push({ streamId: this.streams[i], revision: this.revisions[i], hash: this.hashes.hexAt(i), position: this.positions[i] });
      }
    }
    return out;
  }

  private intern(s: string): string {
    const seen = this.interned.get(s);
    if (seen !== undefined) return seen;
    this.interned.set(s, s);
    return s;
  }
}

/** The root a period's statement should carry, from the index, and its leaves in order. */
export function periodMerkle(
  index: MoneyEventIndex,
  closes: PeriodCloses,
  periodId: string,
): { root: string; leaves: (LeafEvent & { position: number })[] } | undefined {
  const close = closes.get(periodId);
  if (close === undefined) return undefined;
  const settled = index.settledBy(periodId, close.cutoffPosition, closes.closedBefore(periodId));
  // Sorted here too, so a proof can find its leaf's index; periodLeafHashes fixes the order.
  const sorted = [...settled].sort(byStreamRevision);
  return { root: periodMerkleRoot(sorted), leaves: sorted };
}

export const PROOF_FORMAT = 'coalition-ledger.period-inclusion-proof.v1';

/**
 * What `ledger prove` prints: the event itself (so its hash can be recomputed), the leaf,
 * the siblings up to the root, and the statement the root belongs to. Checking it needs
 * nothing but this document (and, to tie the root to finance's copy, the statement).
 */
export interface InclusionProofDocument {
  format: typeof PROOF_FORMAT;
  periodId: string;
  /** The statement's sha256, and whether it carries the root (statements closed before roots existed do not). */
  statementSha256: string | null;
  statementHasRoot: boolean;
  root: string;
  event: {
    streamId: string;
    revision: number;
    eventId: string;
    type: string;
    data: unknown;
    metadata: Record<string, unknown>;
  };
  leaf: string;
  leafIndex: number;
  leafCount: number;
  steps: MerkleStep[];
}

export function buildProofDocument(
  periodId: string,
  statement: SettlementStatement | null,
  root: string,
  sortedLeaves: readonly LeafEvent[],
  event: RecordedEvent,
): InclusionProofDocument | undefined {
  const index = sortedLeaves.findIndex((l) => l.streamId === event.streamId && l.revision === event.revision);
  if (index < 0) return undefined;
  const proof = inclusionProof(
    sortedLeaves.map((l) => l.hash),
    index,
  );
  return {
    format: PROOF_FORMAT,
    periodId,
    statementSha256: statement?.sha256 ?? null,
    statementHasRoot: typeof statement?.eventsMerkleRoot === 'string',
    root,
    event: {
      streamId: event.streamId,
      revision: event.revision,
      eventId: event.eventId,
      type: event.type,
      data: event.data,
      metadata: event.metadata,
    },
    leaf: sortedLeaves[index].hash,
    leafIndex: proof.leafIndex,
    leafCount: proof.leafCount,
    steps: proof.steps,
  };
}

export interface ProofCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ProofVerdict {
  ok: boolean;
  checks: ProofCheck[];
}

/**
 * Checks a proof document with no store: the event hashes to the leaf, the leaf and the
 * steps hash to the root, and, given finance's statement, the statement is intact and
 * carries that root. Never throws on a malformed document: it fails the check.
 */
export function checkProofDocument(doc: unknown, statement?: unknown): ProofVerdict {
  const checks: ProofCheck[] = [];
  const d = doc as Partial<InclusionProofDocument> | null;
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  if (d === null || typeof d !== 'object' || d.format !== PROOF_FORMAT) {
    add('format', false, `not a ${PROOF_FORMAT} document`);
    return { ok: false, checks };
  }
  const e = d.event;
  const m = (e?.metadata ?? {}) as Record<string, unknown>;
  if (!e || typeof e.type !== 'string' || typeof m.prevHash !== 'string' || typeof m.hash !== 'string') {
    add('event', false, 'the document carries no event with type, prevHash and hash');
    return { ok: false, checks };
  }
  const recomputed = chainHash(m.prevHash, e.type, e.data, m as unknown as BusinessMetadata);
  add(
    'event hash',
    recomputed === m.hash,
    recomputed === m.hash
      ? `the event's content hashes to ${recomputed}`
      : `the event's content hashes to ${recomputed}, not to its stated hash ${String(m.hash)}`,
  );
  add('leaf', d.leaf === m.hash, d.leaf === m.hash ? 'the leaf is the event hash' : 'the leaf is not the event hash');
  const included =
    typeof d.leaf === 'string' && typeof d.root === 'string' && verifyInclusionProof(d.leaf, { steps: d.steps ?? [] }, d.root);
  add(
    'inclusion',
    included,
    included
      ? `the leaf and ${d.steps?.length ?? 0} siblings hash to the root ${d.root}`
      : 'the leaf and the siblings do not hash to the root',
  );
  if (statement !== undefined) {
    const s = statement as SettlementStatement;
    const intact = typeof s === 'object' && s !== null && typeof s.sha256 === 'string' && verifyStatement(s);
    add('statement', intact, intact ? `the statement matches its sha256 ${s.sha256}` : 'the statement does not match its sha256');
    add('statement period', s?.periodId === d.periodId, `statement of ${String(s?.periodId)}, proof for ${String(d.periodId)}`);
    const anchored = s?.eventsMerkleRoot === d.root;
    add(
      'statement root',
      anchored,
      anchored
        ? 'the statement carries this root as eventsMerkleRoot'
        : `the statement's eventsMerkleRoot is ${String(s?.eventsMerkleRoot)}, the proof's root ${String(d.root)}`,
    );
  } else if (!d.statementHasRoot) {
    add(
      'statement root',
      true,
      'note: the statement of this period carries no eventsMerkleRoot; the root is the one recomputed from the log',
    );
  }
  return { ok: checks.every((c) => c.ok), checks };
}
