import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { ReadModelReader } from './read-model-reader';
import { ReadModelWriter } from './read-model-writer';
import { READ_MODELS, ReadModelTable } from './read-models';
import { ReadModelStore } from './read-store-port';

/** `$LEDGER_DATA_DIR/read.db`: the read models, separate from the event store so it can be dropped and rebuilt. */
export const READ_STORE_FILE = 'read.db';
export const readStorePath = (dataDir: string) => join(dataDir, READ_STORE_FILE);

/**
 * Bumped whenever a table changes shape. A read store of another version is dropped and
 * rebuilt from the events by the projector: the read models are derived data.
 */
export const READ_STORE_SCHEMA_VERSION = 7;

/** The checkpoint: the last $all position whose batch is in the read models. Owned by the writer. */
const CHECKPOINT_TABLE: ReadModelTable = {
  name: 'checkpoint',
  key: 'id',
  sqlite: `CREATE TABLE IF NOT EXISTS checkpoint (
    id         INTEGER PRIMARY KEY CHECK (id = 0),
    position   INTEGER,          -- last $all position applied; NULL before the first event
    event_id   TEXT,             -- that event's id: tells whether this store matches the event store
    events     INTEGER NOT NULL  -- events applied so far (for progress and stats)
  )`,
};

/** Every read-model table (the checkpoint first, then each read model's), with its key. */
export const READ_MODEL_TABLES: readonly ReadModelTable[] = [CHECKPOINT_TABLE, ...READ_MODELS.flatMap((m) => m.tables)];

const SCHEMA = [
  ...READ_MODEL_TABLES.map((t) => `${t.sqlite};`),
  'INSERT OR IGNORE INTO checkpoint (id, position, event_id, events) VALUES (0, NULL, NULL, 0);',
].join('\n');

export interface Checkpoint {
  /** Last $all position applied, or undefined when nothing has been. */
  position: number | undefined;
  eventId: string | undefined;
  events: number;
}

/** SQLite page cache of a read store inside the API, which shares its memory with everything else. */
export const READ_STORE_CACHE_MIB_DEFAULT = 64;

/**
 * Page cache of a process that only projects (`ledger project`, rebuild). Measured on a
 * 1M-event demo store (161 MB read store): 36 s to catch up with 64 MiB, 29 s with 300 MiB,
 * as the member and lot B-trees stop being re-read from the OS between batches.
 */
export const READ_STORE_CACHE_MIB_PROJECTOR = 256;

export interface ReadStoreOptions {
  /** Open for reading only (an API whose projector runs in another process). */
  readonly?: boolean;
  busyTimeoutMs?: number;
  /** SQLite page cache, MiB (default READ_STORE_CACHE_MIB_DEFAULT). */
  cacheMiB?: number;
}

/** The SQLite file holding the read models and their checkpoint. */
export class ReadStore implements ReadModelStore {
  readonly kind = 'sqlite';
  /**
   * Opens (and for a writer, creates or upgrades) the read store. ':memory:' gives a
   * private in-process store (tests, an API on the memory event store).
   */
  static open(file: string, options: ReadStoreOptions = {}): ReadStore {
    return new ReadStore(file, options);
  }

  readonly db: Database.Database;
  readonly readonly: boolean;
  /** As opened: what another connection to the same file (a flush thread's) opens it with. */
  readonly cacheMiB: number;
  readonly busyTimeoutMs: number;
  private readonly checkpointStmt: Database.Statement<[], { position: number | null; event_id: string | null; events: number }>;

  private constructor(
    readonly file: string,
    options: ReadStoreOptions,
  ) {
    this.readonly = options.readonly ?? false;
    const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
    this.busyTimeoutMs = busyTimeoutMs;
    const cacheMiB = options.cacheMiB ?? READ_STORE_CACHE_MIB_DEFAULT;
    assert(Number.isSafeInteger(cacheMiB) && cacheMiB > 0, 'cacheMiB is a positive integer');
    this.cacheMiB = cacheMiB;
    if (this.readonly) {
      if (file === ':memory:') throw new Error('a read-only read store needs a file');
      // better-sqlite3 would say "unable to open database file"; say which and why.
      if (!existsSync(file)) throw new ReadStoreMissing(file);
      this.db = new Database(file, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
    } else {
      if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
      this.db = new Database(file, { timeout: busyTimeoutMs });
    }
    try {
      this.db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      this.db.pragma(`cache_size = ${-cacheMiB * 1024}`);
      if (!this.readonly) this.prepareForWriting();
      const version = Number(this.db.pragma('user_version', { simple: true }));
      if (version !== READ_STORE_SCHEMA_VERSION)
        throw new ReadStoreMissing(file, `schema version ${version}, expected ${READ_STORE_SCHEMA_VERSION}`);
      this.checkpointStmt = this.db.prepare('SELECT position, event_id, events FROM checkpoint WHERE id = 0');
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  private prepareForWriting(): void {
    if (this.file !== ':memory:') {
      const mode = this.db.pragma('journal_mode = WAL', { simple: true });
      assert.equal(mode, 'wal', `${this.file}: the read store needs WAL so readers never block the projector`);
    }
    // NORMAL in WAL mode survives a killed process (the WAL is in the OS cache); a power cut
    // may lose the last batches, and then checkpoint and rows go back together: the
    // projector re-applies from the older checkpoint. The event store is the durable copy.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('temp_store = MEMORY');
    const version = Number(this.db.pragma('user_version', { simple: true }));
    const hasTables = this.db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
    if (hasTables.n > 0 && version !== READ_STORE_SCHEMA_VERSION) {
      this.dropAll();
    }
    this.db.exec(SCHEMA);
    this.db.pragma(`user_version = ${READ_STORE_SCHEMA_VERSION}`);
  }

  get where(): string {
    return this.file;
  }

  createWriter(): ReadModelWriter {
    return new ReadModelWriter(this);
  }

  createReader(): ReadModelReader {
    return new ReadModelReader(this);
  }

  checkpoint(): Checkpoint {
    const row = this.checkpointStmt.get();
    assert(row !== undefined, 'the checkpoint row is created with the schema');
    return { position: row.position ?? undefined, eventId: row.event_id ?? undefined, events: row.events };
  }

  /** Drops every read model and the checkpoint, in one transaction: the next run replays from position 0. */
  reset(): void {
    assert(!this.readonly, 'a read-only store is never reset');
    this.db
      .transaction(() => {
        this.dropAll();
        this.db.exec(SCHEMA);
      })
      .immediate();
  }

  /**
   * Every row of every read-model table, in key order, to compare two stores table by
   * table (a rebuild against the incrementally built store).
   */
  dump(): Record<string, unknown[]> {
    const tables: Record<string, unknown[]> = {};
    // One read transaction: the tables are one snapshot even while a projector writes.
    this.db
      .transaction(() => {
        for (const { name, key } of READ_MODEL_TABLES) tables[name] = this.db.prepare(`SELECT * FROM ${name} ORDER BY ${key}`).all();
      })
      .deferred();
    return tables;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private dropAll(): void {
    const tables = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as {
      name: string;
    }[];
    for (const { name } of tables) this.db.exec(`DROP TABLE "${name.replace(/"/g, '""')}"`);
  }
}

/** The read store is not there (yet): the projector has not created it, or it is of another version. */
export class ReadStoreMissing extends Error {
  override readonly name = 'ReadStoreMissing';
  constructor(
    readonly file: string,
    why = 'does not exist',
  ) {
    super(`read store ${file} ${why}`);
  }
}
