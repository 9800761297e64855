import { PostgresReadStore, isPostgresUrl, redactUrl } from './postgres/postgres-read-store';
import { ReadStore, readStorePath } from './read-store';
import { ReadModelStore } from './read-store-port';

/** Where the read models live: SQLite in the data directory (the default), or a PostgreSQL database. */
export type ReadStoreLocation = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

/**
 * `LEDGER_READ_STORE`: unset or empty for `$LEDGER_DATA_DIR/read.db`; a `postgres://` URL for
 * PostgreSQL; anything else is refused rather than guessed.
 */
export function readStoreLocation(value: string | undefined, dataDir: string): ReadStoreLocation {
  const raw = (value ?? '').trim();
  if (raw === '') return { kind: 'sqlite', file: readStorePath(dataDir) };
  if (isPostgresUrl(raw)) return { kind: 'postgres', url: raw };
  throw new Error(`LEDGER_READ_STORE must be empty (SQLite in the data directory) or a postgres:// URL, got "${redactUrl(raw)}"`);
}

export const describeReadStoreLocation = (location: ReadStoreLocation) =>
  location.kind === 'sqlite' ? location.file : redactUrl(location.url);

/** Opens (creating or migrating) a read store for writing: the projector's or a rebuild's. */
export async function openReadModelStore(location: ReadStoreLocation, options: { cacheMiB?: number } = {}): Promise<ReadModelStore> {
  if (location.kind === 'postgres') return PostgresReadStore.open(location.url);
  return ReadStore.open(location.file, { cacheMiB: options.cacheMiB });
}
