import { RecordedEvent } from '@ledger/event-store';
import { BusinessMetadata, GENESIS_HASH } from '@ledger/integrity';
import { chainHashFast } from './fast-hash';
import { Divergence } from './divergence';

/** Where a divergence is: built only when there is one. */
const at = (e: RecordedEvent) => ({ check: 'hash_chain', streamId: e.streamId, revision: e.revision, position: e.position });

interface StreamHead {
  /** The revision the next event of the stream must have. */
  nextRevision: number;
  /** The stored hash of the last event seen: what the next one chains onto. */
  hash: string;
}

/**
 * Checks the per-stream hash chains while the log is read once in position order: the state
 * kept is one (revision, hash) pair per stream, not the events.
 *
 * For each event: its revision is the stream's next (a gap or a repeat means an event was
 * deleted, inserted or moved), its `prevHash` is the stored hash of the stream's previous
 * event, its `hash` is sha256(prevHash + canonical JSON of type, data and business
 * metadata), and its metadata names the same eventId as the row. The chain then continues
 * from the *stored* hash, so one edited event is reported once, where it is, and not again
 * for every event after it.
 *
 * What a chain cannot show on its own: the removal of a stream's newest events (the rest
 * still chains). The read models, the statements and their Merkle roots, which were
 * derived from those events, catch that (see verify).
 */
export class ChainChecker {
  private readonly heads = new Map<string, StreamHead>();
  private lastPosition: number | undefined;
  private checked = 0;

  /** The first thing wrong with `e`, or undefined when it chains. */
  check(e: RecordedEvent): Divergence | undefined {
    const previousPosition = this.lastPosition;
    this.lastPosition = e.position;
    this.checked += 1;
    if (previousPosition !== undefined && !(e.position > previousPosition)) {
      return {
        ...at(e),
        kind: 'position_order',
        message: 'positions must strictly increase along the log',
        expected: `> ${previousPosition}`,
        found: e.position,
      };
    }
    const m = e.metadata as Partial<BusinessMetadata> & { prevHash?: unknown; hash?: unknown };
    const storedHash = typeof m.hash === 'string' ? m.hash : undefined;
    // What this event should continue from; then, whatever is wrong here, the stream goes on
    // from this event as stored (one head object per stream, updated in place: nothing is
    // allocated per event that chains).
    const head = this.heads.get(e.streamId);
    const expectedRevision = head?.nextRevision ?? 0;
    const expectedPrevHash = head?.hash ?? GENESIS_HASH;
    const continuesFrom = storedHash ?? expectedPrevHash;
    if (head === undefined) this.heads.set(e.streamId, { nextRevision: e.revision + 1, hash: continuesFrom });
    else {
      head.nextRevision = e.revision + 1;
      head.hash = continuesFrom;
    }

    if (e.revision !== expectedRevision) {
      const message =
        e.revision > expectedRevision
          ? `revisions ${expectedRevision}..${e.revision - 1} are missing (deleted or moved events)`
          : 'revision repeated or out of order';
      return { ...at(e), kind: 'revision_gap', message, expected: expectedRevision, found: e.revision };
    }
    if (storedHash === undefined || typeof m.prevHash !== 'string') {
      return {
        ...at(e),
        kind: 'hash_missing',
        message: 'the event carries no prevHash/hash metadata',
        expected: 'prevHash and hash',
        found: { prevHash: m.prevHash, hash: m.hash },
      };
    }
    if (m.prevHash !== expectedPrevHash) {
      return {
        ...at(e),
        kind: 'prev_hash_mismatch',
        message:
          e.revision === 0
            ? 'the first event of a stream chains from the genesis hash'
            : 'prevHash is not the hash of the previous event of the stream (events deleted, inserted or swapped)',
        expected: expectedPrevHash,
        found: m.prevHash,
      };
    }
    if (m.eventId !== e.eventId) {
      return {
        ...at(e),
        kind: 'event_id_mismatch',
        message: "the metadata's eventId is not the event's id",
        expected: e.eventId,
        found: m.eventId,
      };
    }
    let computed: string;
    try {
      computed = chainHashFast(m.prevHash, e.type, e.data, m as BusinessMetadata);
    } catch (error) {
      // Canonical JSON refuses what the ledger never writes (fractions, non-JSON values).
      return {
        ...at(e),
        kind: 'hash_mismatch',
        message: `the stored event cannot be hashed: ${error instanceof Error ? error.message : String(error)}`,
        expected: 'canonical JSON content',
        found: storedHash,
      };
    }
    if (computed !== storedHash) {
      return {
        ...at(e),
        kind: 'hash_mismatch',
        message: 'the stored hash is not the hash of the stored event (type, data or metadata edited)',
        expected: computed,
        found: storedHash,
      };
    }
    return undefined;
  }

  /** Streams seen, events checked. */
  counts(): { streams: number; events: number } {
    return { streams: this.heads.size, events: this.checked };
  }
}
