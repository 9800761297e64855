import { DomainEvent, Unavailable } from '@ledger/domain';
import { chainEvents, chainTip } from '@ledger/integrity';
import { AppendResult, EventStore, EventToAppend, WrongExpectedVersion } from '@ledger/event-store';
import { CommandMeta } from './command-meta';

/** A stream folded into its state, with what the next append must chain onto. */
export interface LoadedStream<S> {
  state: S;
  /** Revision of the last event, -1 when the stream does not exist. */
  revision: number;
  lastHash: string;
}

export type Evolve<S> = (state: S, event: DomainEvent<string, any>, position: number) => S;

export async function loadStream<S>(store: EventStore, streamId: string, initial: () => S, evolve: Evolve<S>): Promise<LoadedStream<S>> {
  const events = await store.readStream(streamId);
  let state = initial();
  for (const e of events) state = evolve(state, { type: e.type, data: e.data }, e.position);
  const last = events.at(-1);
  return { state, revision: last?.revision ?? -1, lastHash: chainTip(last) };
}

/** Attaches the event metadata (docs/domain.md, "Events") and the per-stream hash chain to decided events. */
export function withMetadata(events: readonly DomainEvent[], meta: CommandMeta, occurredAt: string, prevHash: string): EventToAppend[] {
  return chainEvents(events, { correlationId: meta.correlationId, causationId: meta.causationId, actor: meta.actor, occurredAt }, prevHash);
}

export async function appendDecided<S>(
  store: EventStore,
  streamId: string,
  loaded: LoadedStream<S>,
  events: readonly DomainEvent[],
  meta: CommandMeta,
  occurredAt: string,
): Promise<AppendResult & { lastHash: string }> {
  const toAppend = withMetadata(events, meta, occurredAt, loaded.lastHash);
  const result = await store.appendToStream(streamId, toAppend, {
    expectedRevision: loaded.revision === -1 ? 'no_stream' : loaded.revision,
  });
  return { ...result, lastHash: String(toAppend.at(-1)?.metadata.hash ?? loaded.lastHash) };
}

/** Enough for a burst of writers on one member; each round lets at least one of them win. */
export const APPEND_ATTEMPTS_MAX = 50;

/**
 * Load → decide → append, again from a fresh load when another writer got there first:
 * its events may change our answer (a retry of the same transaction becomes a replay).
 */
export async function retryOnConflict<T>(streamId: string, attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; n <= APPEND_ATTEMPTS_MAX; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof WrongExpectedVersion)) throw err;
      // Spread the contenders out a little once it is clearly a crowd.
      if (n > 3) await new Promise((r) => setTimeout(r, Math.floor(Math.random() * n)));
    }
  }
  throw new Unavailable('concurrency_exhausted', `too many concurrent writes to ${streamId}; retry the request`);
}
