import { DomainEvent, Unavailable } from '@ledger/domain';
import { chainEvents, chainTip } from '@ledger/integrity';
import { AppendResult, ConflictRetryPolicy, EventStore, EventToAppend, StreamAppend, WrongExpectedVersion } from '@ledger/event-store';
import { CommandMeta } from './command-meta';

/** A stream folded into its state, with what the next append must chain onto. */
export interface LoadedStream<S> {
  state: S;
  /** Revision of the last event, -1 when the stream does not exist. */
  revision: number;
  lastHash: string;
  /**
   * Set on a state decided ahead of its store (pipelined appends): the id of the last event it
   * holds, which the next append names, so that append is refused if these events were not written.
   */
  lastEventId?: string;
}

export type Evolve<S> = (state: S, event: DomainEvent<string, any>, position: number) => S;

export async function loadStream<S>(store: EventStore, streamId: string, initial: () => S, evolve: Evolve<S>): Promise<LoadedStream<S>> {
  // A fold uses no metadata but the last event's hash (its next append chains onto it).
  const events = await store.readStream(streamId, { metadata: 'hash' });
  let state = initial();
  for (const e of events) state = evolve(state, { type: e.type, data: e.data }, e.position);
  const last = events.at(-1);
  return { state, revision: last?.revision ?? -1, lastHash: chainTip(last) };
}

/** Attaches the event metadata (docs/domain.md, "Events") and the per-stream hash chain to decided events. */
export function withMetadata(events: readonly DomainEvent[], meta: CommandMeta, occurredAt: string, prevHash: string): EventToAppend[] {
  return chainEvents(events, { correlationId: meta.correlationId, causationId: meta.causationId, actor: meta.actor, occurredAt }, prevHash);
}

/** Decided events as one stream's part of an append, chained onto the loaded stream, with the hash they end on. */
export function decidedAppend<S>(
  streamId: string,
  loaded: LoadedStream<S>,
  events: readonly DomainEvent[],
  meta: CommandMeta,
  occurredAt: string,
): { append: StreamAppend; lastHash: string } {
  const toAppend = withMetadata(events, meta, occurredAt, loaded.lastHash);
  return {
    append: { streamId, events: toAppend, expectedRevision: loaded.revision === -1 ? 'no_stream' : loaded.revision },
    lastHash: String(toAppend.at(-1)?.metadata.hash ?? loaded.lastHash),
  };
}

export async function appendDecided<S>(
  store: EventStore,
  streamId: string,
  loaded: LoadedStream<S>,
  events: readonly DomainEvent[],
  meta: CommandMeta,
  occurredAt: string,
): Promise<AppendResult & { lastHash: string }> {
  const { append, lastHash } = decidedAppend(streamId, loaded, events, meta, occurredAt);
  const result = await store.appendToStream(streamId, append.events, { expectedRevision: append.expectedRevision });
  return { ...result, lastHash };
}

/** Time as the retry loop sees it; tests pass their own so that nothing waits. */
export interface RetryTime {
  sleep(ms: number): Promise<void>;
  /** Uniform in [0, 1). */
  random(): number;
}

const realTime: RetryTime = { sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)), random: Math.random };

/** The pause after losing attempt `n` (1-based): full jitter, uniform in [0, min(cap, base × 2^(n-1))). */
export function conflictBackoffMs(policy: ConflictRetryPolicy, n: number, random: () => number = Math.random): number {
  return random() * Math.min(policy.capDelayMs, policy.baseDelayMs * 2 ** (n - 1));
}

/**
 * Load → decide → append, again from a fresh load when another writer got there first:
 * its events may change our answer (a retry of the same transaction becomes a replay).
 * Paced by the store's policy (ConflictRetryPolicy): bounded attempts, exponential backoff
 * with full jitter. Still losing after the last attempt: 503 concurrency_exhausted.
 */
export async function retryOnConflict<T>(
  store: Pick<EventStore, 'conflictRetry'>,
  streamId: string,
  attempt: () => Promise<T>,
  time: RetryTime = realTime,
): Promise<T> {
  const policy = store.conflictRetry;
  for (let n = 1; n <= policy.attemptsMax; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof WrongExpectedVersion)) throw err;
      if (n < policy.attemptsMax) await time.sleep(conflictBackoffMs(policy, n, time.random));
    }
  }
  throw new Unavailable('concurrency_exhausted', `too many concurrent writes to ${streamId}; retry the request`);
}
