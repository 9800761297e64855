import { EventStore, RecordedEvent } from '@ledger/event-store';

const PAGE = 5_000;

/** The position of the newest event, or undefined on an empty store. */
export async function headPosition(store: EventStore): Promise<number | undefined> {
  const [last] = await store.readAll({ direction: 'backwards', maxCount: 1 });
  return last?.position;
}

/**
 * Every event from the start up to `upTo` (inclusive), page by page, so a long log is never
 * held in memory at once. Positions are compared, never computed with.
 */
export async function scanLog(
  store: EventStore,
  upTo: number,
  onEvent: (e: RecordedEvent) => void,
  onPage?: (lastPosition: number) => void,
): Promise<void> {
  let from: number | undefined;
  for (;;) {
    const page = await store.readAll({ fromPosition: from, maxCount: PAGE + 1 });
    let fresh = 0;
    for (const e of page) {
      if (from !== undefined && e.position <= from) continue; // the page starts at `from` inclusive
      if (e.position > upTo) return;
      onEvent(e);
      from = e.position;
      fresh++;
    }
    if (from !== undefined) onPage?.(from);
    if (fresh === 0 || page.length <= PAGE) return;
  }
}
