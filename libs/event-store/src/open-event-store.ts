import { join } from 'node:path';
import { EsdbEventStore } from './esdb/esdb-event-store';
import { EventStore } from './port';
import { SqliteEventStore } from './sqlite/sqlite-event-store';

export interface EventStoreLocation {
  /** LEDGER_DATA_DIR: where the embedded store keeps its file. */
  dataDir: string;
  /** LEDGER_EVENTSTORE: an esdb:// or esdb+discover:// connection string; unset = embedded SQLite. */
  eventStoreUrl?: string;
}

export interface OpenedEventStore {
  store: EventStore;
  kind: 'sqlite' | 'esdb';
  /** Where it is, for logs: a file path, or the connection string without credentials. */
  where: string;
}

export function openEventStore({ dataDir, eventStoreUrl }: EventStoreLocation): OpenedEventStore {
  if (eventStoreUrl) {
    if (!/^esdb(\+discover)?:\/\//.test(eventStoreUrl)) {
      throw new Error(`LEDGER_EVENTSTORE must be an esdb:// or esdb+discover:// connection string, got ${eventStoreUrl}`);
    }
    return { store: EsdbEventStore.fromConnectionString(eventStoreUrl), kind: 'esdb', where: eventStoreUrl.replace(/\/\/[^@/]*@/, '//') };
  }
  const file = join(dataDir, 'ledger.db');
  return { store: SqliteEventStore.open(file), kind: 'sqlite', where: file };
}
