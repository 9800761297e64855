import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';

/** `$LEDGER_DATA_DIR/read.db`: the read models, separate from the event store so it can be dropped and rebuilt. */
export const READ_STORE_FILE = 'read.db';
export const readStorePath = (dataDir: string) => join(dataDir, READ_STORE_FILE);

/**
 * Bumped whenever a table changes shape. A read store of another version is dropped and
 * rebuilt from the events by the projector: the read models are derived data.
 */
export const READ_STORE_SCHEMA_VERSION = 1;

/** Every read-model table, in the order a rebuild comparison walks them, with its key. */
export const READ_MODEL_TABLES = [
  { name: 'checkpoint', key: 'id' },
  { name: 'coalition', key: 'id' },
  { name: 'members', key: 'member_id' },
  { name: 'lots', key: 'member_id, lot_id' },
  { name: 'partner_positions', key: 'partner_id' },
  { name: 'transactions', key: 'tx_id' },
  { name: 'liability', key: 'period, issuer_partner_id, redeemer_partner_id' },
] as const;

// WITHOUT ROWID: every lookup is by the text key, so the key is the table and nothing else.
// The CHECKs are assertions: a negative balance or lot means the apply code has a bug, and
// the batch's transaction rolls back instead of storing it.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS checkpoint (
    id         INTEGER PRIMARY KEY CHECK (id = 0),
    position   INTEGER,          -- last $all position applied; NULL before the first event
    event_id   TEXT,             -- that event's id: tells whether this store matches the event store
    events     INTEGER NOT NULL  -- events applied so far (for progress and stats)
  );
  CREATE TABLE IF NOT EXISTS coalition (
    id                INTEGER PRIMARY KEY CHECK (id = 0),
    currency          TEXT    NOT NULL,
    point_value_minor INTEGER NOT NULL,
    expiry_months     INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS members (
    member_id         TEXT    PRIMARY KEY,
    card_number       TEXT    NOT NULL,
    enrolled_at       TEXT    NOT NULL,
    available         INTEGER NOT NULL CHECK (available >= 0),
    held              INTEGER NOT NULL CHECK (held >= 0),
    lifetime_accrued  INTEGER NOT NULL,
    lifetime_redeemed INTEGER NOT NULL,
    lifetime_expired  INTEGER NOT NULL,
    position          INTEGER NOT NULL  -- last event of the member applied
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS lots (
    member_id         TEXT    NOT NULL,
    lot_id            TEXT    NOT NULL,
    issuer_partner_id TEXT    NOT NULL,
    points            INTEGER NOT NULL CHECK (points >= 0),  -- still in the lot; 0 = closed (kept: a cancelled redemption may reopen it)
    points_issued     INTEGER NOT NULL,
    expires_at        TEXT    NOT NULL,
    position          INTEGER NOT NULL,  -- of the accrual: creation order, the FIFO tie-break
    PRIMARY KEY (member_id, lot_id)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS partner_positions (
    partner_id                  TEXT    PRIMARY KEY,
    name                        TEXT,
    points_issued               INTEGER NOT NULL,
    points_redeemed_at          INTEGER NOT NULL,
    points_redeemed_elsewhere   INTEGER NOT NULL,
    points_redeemed_from_others INTEGER NOT NULL,
    points_expired              INTEGER NOT NULL,
    points_reversed             INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS transactions (
    tx_id          TEXT    PRIMARY KEY,
    member_id      TEXT    NOT NULL,
    partner_id     TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    points         INTEGER NOT NULL,
    original_tx_id TEXT,
    occurred_at    TEXT    NOT NULL,
    position       INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS liability (
    period              TEXT    NOT NULL,
    issuer_partner_id   TEXT    NOT NULL,
    redeemer_partner_id TEXT    NOT NULL,
    points              INTEGER NOT NULL,
    amount_minor        INTEGER NOT NULL,
    PRIMARY KEY (period, issuer_partner_id, redeemer_partner_id)
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO checkpoint (id, position, event_id, events) VALUES (0, NULL, NULL, 0);
`;

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
export class ReadStore {
  /**
   * Opens (and for a writer, creates or upgrades) the read store. ':memory:' gives a
   * private in-process store (tests, an API on the memory event store).
   */
  static open(file: string, options: ReadStoreOptions = {}): ReadStore {
    return new ReadStore(file, options);
  }

  readonly db: Database.Database;
  readonly readonly: boolean;
  private readonly checkpointStmt: Database.Statement<[], { position: number | null; event_id: string | null; events: number }>;

  private constructor(
    readonly file: string,
    options: ReadStoreOptions,
  ) {
    this.readonly = options.readonly ?? false;
    const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
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
      const cacheMiB = options.cacheMiB ?? READ_STORE_CACHE_MIB_DEFAULT;
      assert(Number.isSafeInteger(cacheMiB) && cacheMiB > 0, 'cacheMiB is a positive integer');
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
