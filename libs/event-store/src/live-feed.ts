import { AllSubscription, RecordedEvent } from './port';

export interface LiveFeedSource {
  /** Forwards read of $all from `fromPosition` inclusive (undefined: the start). */
  readPage(fromPosition: number | undefined, maxCount: number): Promise<RecordedEvent[]>;
  /** Registers a wake-up call for appends made in this process; returns the unregister function. */
  onAppend(listener: () => void): () => void;
  /**
   * How long to sleep between re-reads when nothing woke us. Appends by another process
   * (a separate API or projector over the same SQLite file) are only seen by re-reading.
   */
  pollIntervalMs: number;
}

const PAGE_SIZE = 1000;

/**
 * A catch-up-then-live subscription over any store that can page through $all.
 * Catch-up and live are the same loop: read after the last delivered position until a
 * page comes back empty, then sleep until woken or polled. So no event falls between
 * "caught up" and "live", and none is delivered twice.
 */
export function liveFeedSubscription(source: LiveFeedSource, fromPosition: number | undefined): AllSubscription {
  let closed = false;
  let wake: (() => void) | undefined;
  let pendingWake = false;
  const unregister = source.onAppend(() => {
    pendingWake = true;
    wake?.();
  });

  const sleep = () =>
    new Promise<void>((resolve) => {
      if (closed || pendingWake) return resolve();
      const timer = setTimeout(done, source.pollIntervalMs);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function* iterate(): AsyncGenerator<RecordedEvent> {
    let last = fromPosition;
    try {
      while (!closed) {
        pendingWake = false;
        const page = await source.readPage(last, PAGE_SIZE + 1);
        // The read is inclusive of `last`; drop what was already delivered.
        const fresh = last === undefined ? page : page.filter((e) => e.position > last!);
        for (const event of fresh) {
          if (closed) return;
          last = event.position;
          yield event;
        }
        if (fresh.length < PAGE_SIZE) await sleep();
      }
    } finally {
      closed = true;
      unregister();
    }
  }

  const iterator = iterate();
  return {
    [Symbol.asyncIterator]: () => iterator,
    async unsubscribe() {
      closed = true;
      unregister();
      wake?.();
    },
  };
}
