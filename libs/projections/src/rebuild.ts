import { EventStore } from '@ledger/event-store';
import { catchUpWriter } from './flush-thread';
import { BatchApplied, ProjectionRunner, headPosition } from './projection-runner';
import { CheckpointMoved } from './read-model-writer';
import { ReadModelStore } from './read-store-port';

/** Bounds the retries against another projector: each round at least one batch lands. */
const CONTENDED_ATTEMPTS_MAX = 1_000;

export interface RebuildProgress extends BatchApplied {
  /** The store's last position when the rebuild started: where it stops. */
  headPosition: number;
}

export interface RebuildResult {
  events: number;
  /** The checkpoint reached; undefined for an empty event store. */
  position: number | undefined;
  seconds: number;
}

/**
 * Drops every read model and replays $all from position 0 up to the store's head at the
 * start. Events appended meanwhile are left to the projector, which continues from the
 * checkpoint this leaves. A projector running on the same file meanwhile is harmless: the
 * checkpoint compare-and-set makes each batch land once, whoever applies it.
 */
export async function rebuildReadStore(
  events: EventStore,
  readStore: ReadModelStore,
  options: { batchSize?: number; onProgress?: (progress: RebuildProgress) => void } = {},
): Promise<RebuildResult> {
  await readStore.reset();
  return catchUpReadStore(events, readStore, options);
}

/**
 * Brings a read store up to the event store's head at the start (from its checkpoint; from 0
 * for a new one): what a one-off reader of the read models (`ledger report`) runs first.
 */
export async function catchUpReadStore(
  events: EventStore,
  readStore: ReadModelStore,
  options: { batchSize?: number; onProgress?: (progress: RebuildProgress) => void } = {},
): Promise<RebuildResult> {
  const started = process.hrtime.bigint();
  const head = await headPosition(events);
  let runner: ProjectionRunner | undefined;
  if (head !== undefined) {
    runner = new ProjectionRunner(events, readStore, {
      batchSize: options.batchSize,
      // Read and staged here, written on a thread of its own (a SQLite file).
      writer: catchUpWriter(readStore),
      onBatch: (batch) => options.onProgress?.({ ...batch, headPosition: head }),
    });
    for (let attempt = 1; ; attempt++) {
      try {
        await runner.runUntil(head);
        break;
      } catch (error) {
        // A projector still running on this file (an API with its own projector) applied
        // a batch first. What it applied is applied exactly once all the same: carry on
        // from the checkpoint it left.
        if (!(error instanceof CheckpointMoved) || attempt >= CONTENDED_ATTEMPTS_MAX) throw error;
      }
    }
  }
  // From the store: with a second projector at work, this runner applied only part of it.
  const reached = await readStore.checkpoint();
  return {
    events: reached.events,
    position: reached.position,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}
