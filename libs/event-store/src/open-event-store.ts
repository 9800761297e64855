import { join } from 'node:path';
import { EsdbEventStore } from './esdb/esdb-event-store';
import { ConflictRetryPolicy, EventStore, StoreUnavailable } from './port';
import { SqliteEventStore, SqliteEventStoreOptions } from './sqlite/sqlite-event-store';

export interface EventStoreLocation {
  /** LEDGER_DATA_DIR: where the embedded store keeps its file. */
  dataDir: string;
  /** LEDGER_EVENTSTORE: an esdb:// or esdb+discover:// connection string; unset = embedded SQLite. */
  eventStoreUrl?: string;
  /** Overrides of the adapter's conflict retry policy (LEDGER_RETRY_*). */
  conflictRetry?: Partial<ConflictRetryPolicy>;
}

export interface OpenedEventStore {
  store: EventStore;
  kind: 'sqlite' | 'esdb';
  /** Where it is, for logs: a file path, or the connection string without credentials. */
  where: string;
}

/**
 * `sqlite` options apply only when the embedded store is chosen (e.g. its group-commit observer).
 * A service's embedded store commits in a worker thread unless told otherwise, so fsyncs do not
 * stop its event loop.
 */
export function openEventStore(
  { dataDir, eventStoreUrl, conflictRetry }: EventStoreLocation,
  options: { sqlite?: SqliteEventStoreOptions } = {},
): OpenedEventStore {
  if (eventStoreUrl) {
    if (!/^esdb(\+discover)?:\/\//.test(eventStoreUrl)) {
      throw new Error(`LEDGER_EVENTSTORE must be an esdb:// or esdb+discover:// connection string, got ${eventStoreUrl}`);
    }
    return {
      store: EsdbEventStore.fromConnectionString(eventStoreUrl, { conflictRetry }),
      kind: 'esdb',
      where: eventStoreUrl.replace(/\/\/[^@/]*@/, '//'),
    };
  }
  const file = join(dataDir, 'ledger.db');
  try {
    return {
      store: SqliteEventStore.open(file, {
        writer: 'worker',
        ...options.sqlite,
        conflictRetry: conflictRetry ?? options.sqlite?.conflictRetry,
      }),
      kind: 'sqlite',
      where: file,
    };
  } catch (err) {
    // A read-only or missing data directory: say which file and why, in one line.
    const code = (err as { code?: unknown }).code;
    const reason = `${typeof code === 'string' ? `${code}: ` : ''}${err instanceof Error ? err.message : String(err)}`;
    throw new StoreUnavailable('open', `cannot open ${file} for writing (${reason}); LEDGER_DATA_DIR must be a writable directory`, {
      cause: err,
    });
  }
}
