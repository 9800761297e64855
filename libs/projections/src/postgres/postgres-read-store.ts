import pg from 'pg';
import { AssertionFailed, assert } from '@ledger/domain';
import { RecordedEvent } from '@ledger/event-store';
import {
  DUE_LOTS_FROM_START,
  DueLot,
  DueLotKey,
  HoldEntry,
  LiabilityRow,
  NO_EARNING,
  DuePendingLot,
  MemberBalance,
  PendingLot,
  OpenLot,
  PartnerPosition,
  PartnerRow,
  TransactionEntry,
  balanceFromLots,
  partnerPositionFromRow,
  FLAG_SELECT,
  FlagEntry,
} from '../read-model-reader';
import { PositionWaiters } from '../position-waiters';
import { CheckpointMoved } from '../read-model-writer';
import { EventDispatch, PostgresReadModelBatch, READ_MODELS } from '../read-models';
import { Checkpoint, READ_MODEL_TABLES, ReadStore } from '../read-store';
import { ProjectionWriter, ReadModelQueries, ReadModelStore } from '../read-store-port';
import { POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION } from './migrations';
import { ActiveFigures, EarningFigures, PROGRAM_SQL, ProgramReport, ProgramWindow, programReport } from '../program-report';

/** `LEDGER_READ_STORE` selects PostgreSQL when it is a URL of this scheme. */
export const isPostgresUrl = (value: string) => /^postgres(ql)?:\/\//i.test(value);

/** The URL without its password, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparsable URL)';
  }
}

/** The read store cannot be used: a bad URL, no server, no rights. One line, no stack. */
export class ReadStoreUnavailable extends Error {
  override readonly name = 'ReadStoreUnavailable';
  constructor(
    readonly where: string,
    why: string,
  ) {
    super(`read store ${where}: ${why}`);
  }
}

/** The database holds a schema of a later version than this code knows: it refuses to touch it. */
export class ReadStoreSchemaNewer extends Error {
  override readonly name = 'ReadStoreSchemaNewer';
  constructor(
    readonly where: string,
    readonly found: number,
    readonly known: number,
  ) {
    super(
      `read store ${where} has schema version ${found}, newer than this code's version ${known}: run the newer code, or point LEDGER_READ_STORE at another database`,
    );
  }
}

// BIGINT (oid 20) arrives as text; every value here is a safe integer, so numbers it is.
const BIGINT_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid !== BIGINT_OID) return pg.types.getTypeParser(oid, format);
    return (text: string) => {
      const n = Number(text);
      if (!Number.isSafeInteger(n)) throw new AssertionFailed(`read store integer ${text} is beyond a safe integer`);
      return n;
    };
  }) as typeof pg.types.getTypeParser,
};

export interface PostgresReadStoreOptions {
  /** Connections in the pool (default 4: one projector transaction and a few readers). */
  poolSize?: number;
  connectTimeoutMs?: number;
}

/**
 * The read models in PostgreSQL, shared by one projector and any number of API replicas on
 * any hosts. Same tables and the same read-model modules as the SQLite store; each batch is
 * one transaction that moves the checkpoint (compare-and-set under a row lock) and notifies
 * the checkpoint's channel on commit, which replicas LISTEN to for read-your-writes.
 */
export class PostgresReadStore implements ReadModelStore {
  readonly kind = 'postgres';

  /** Connects, applies the migrations this code has and the database lacks, and checks the version. */
  static async open(url: string, options: PostgresReadStoreOptions = {}): Promise<PostgresReadStore> {
    const where = redactUrl(url);
    if (!isPostgresUrl(url)) throw new ReadStoreUnavailable(where, 'not a postgres:// URL');
    try {
      new URL(url);
    } catch {
      throw new ReadStoreUnavailable(where, 'not a valid URL');
    }
    const config: pg.PoolConfig = {
      connectionString: url,
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      types,
    };
    const pool = new pg.Pool(config);
    // An idle connection dropped by the server: the pool replaces it on the next query.
    pool.on('error', () => undefined);
    try {
      const channel = await migrate(pool, where);
      return new PostgresReadStore(pool, config, where, channel);
    } catch (error) {
      await pool.end().catch(() => undefined);
      if (error instanceof ReadStoreSchemaNewer || error instanceof ReadStoreUnavailable) throw error;
      throw new ReadStoreUnavailable(where, describePgError(error));
    }
  }

  private watch: CheckpointWatch | undefined;

  private constructor(
    readonly pool: pg.Pool,
    private readonly config: pg.PoolConfig,
    readonly where: string,
    /** The NOTIFY channel of this store's checkpoint (per schema: tests share one database). */
    readonly channel: string,
  ) {}

  async checkpoint(): Promise<Checkpoint> {
    const { rows } = await this.pool.query<{ position: number | null; event_id: string | null; events: number }>(
      'SELECT position, event_id, events FROM checkpoint WHERE id = 0',
    );
    assert(rows.length === 1, 'the checkpoint row is created with the schema');
    return { position: rows[0].position ?? undefined, eventId: rows[0].event_id ?? undefined, events: rows[0].events };
  }

  async reset(): Promise<void> {
    await this.inTransaction(async (client) => {
      // The row lock first: a projector mid-batch finishes (or this waits for it), then finds the checkpoint moved.
      await client.query('SELECT position FROM checkpoint WHERE id = 0 FOR UPDATE');
      const tables = READ_MODEL_TABLES.filter((t) => t.name !== 'checkpoint').map((t) => t.name);
      await client.query(`TRUNCATE ${tables.join(', ')}`);
      await client.query('UPDATE checkpoint SET position = NULL, event_id = NULL, events = 0 WHERE id = 0');
    });
  }

  async dump(): Promise<Record<string, unknown[]>> {
    return this.inTransaction(async (client) => {
      const tables: Record<string, unknown[]> = {};
      for (const { name, key } of READ_MODEL_TABLES) tables[name] = (await client.query(`SELECT * FROM ${name} ORDER BY ${key}`)).rows;
      return tables;
    }, 'REPEATABLE READ READ ONLY');
  }

  /**
   * Copies one snapshot of every table into a SQLite read store (verify compares that copy
   * with the events through the same check as a SQLite store). Pages by key, so a large
   * table never sits whole in this process twice.
   */
  async copyInto(target: ReadStore, pageRows = 20_000): Promise<void> {
    await this.inTransaction(async (client) => {
      for (const { name, key } of READ_MODEL_TABLES) {
        const keys = key.split(',').map((k) => k.trim());
        const insert = (columns: string[]) =>
          target.db.prepare(`INSERT OR REPLACE INTO ${name} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
        let after: unknown[] | undefined;
        for (;;) {
          const where = after === undefined ? '' : `WHERE (${keys.join(', ')}) > (${keys.map((_, i) => `$${i + 1}`).join(', ')})`;
          const page = await client.query(`SELECT * FROM ${name} ${where} ORDER BY ${key} LIMIT ${pageRows}`, after ?? []);
          if (page.rows.length === 0) break;
          const columns = page.fields.map((f) => f.name);
          const stmt = insert(columns);
          target.db.transaction(() => {
            for (const row of page.rows as Record<string, unknown>[]) stmt.run(...columns.map((c) => row[c] as string | number | null));
          })();
          const last = page.rows[page.rows.length - 1] as Record<string, unknown>;
          after = keys.map((k) => last[k]);
          if (page.rows.length < pageRows) break;
        }
      }
    }, 'REPEATABLE READ READ ONLY');
  }

  createWriter(): PostgresReadModelWriter {
    return new PostgresReadModelWriter(this);
  }

  createReader(): PostgresReadModelReader {
    return new PostgresReadModelReader(this);
  }

  /** Resolves true once the shared checkpoint reaches `position` (whoever wrote it), false after `timeoutMs`. */
  async waitForPosition(position: number, timeoutMs: number): Promise<boolean> {
    const now = (await this.checkpoint()).position;
    if (now !== undefined && now >= position) return true;
    this.watch ??= new CheckpointWatch(this, this.config);
    return this.watch.wait(position, timeoutMs);
  }

  async close(): Promise<void> {
    await this.watch?.close();
    this.watch = undefined;
    await this.pool.end();
  }

  /** Runs `work` in one transaction on one connection; rolls back on a throw. */
  async inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>, mode = 'READ COMMITTED'): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(`BEGIN ISOLATION LEVEL ${mode}`);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        // The connection is gone: the server rolled back; do not hand the client out again.
        broken = rollbackError;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }
}

/** Creates the migrations table, applies what is missing, under an advisory lock so starters do not race. */
async function migrate(pool: pg.Pool, where: string): Promise<string> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
    const schema = rows[0].schema;
    if (schema === null)
      throw new ReadStoreUnavailable(where, 'no schema to create tables in: search_path names none that exists, or none this role may use');
    await client.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.ledger_read_store'))");
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
    );
    const found = (await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations')).rows[0].v ?? 0;
    if (found > POSTGRES_SCHEMA_VERSION) throw new ReadStoreSchemaNewer(where, found, POSTGRES_SCHEMA_VERSION);
    for (const m of POSTGRES_MIGRATIONS) {
      if (m.version <= found) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, description) VALUES ($1, $2)', [m.version, m.description]);
    }
    await client.query('COMMIT');
    return `ledger_checkpoint_${schema}`.slice(0, 63);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** What went wrong, in words an operator acts on; the driver's message and code otherwise. */
export function describePgError(error: unknown): string {
  // Node's own errors may come from another realm (test runners): read the fields, not the class.
  const { message, code: ownCode } = (typeof error === 'object' && error !== null ? error : {}) as { message?: unknown; code?: unknown };
  if (typeof message !== 'string') return String(error);
  // A refused connection arrives as an AggregateError (one per address tried) without a code of its own.
  const code = (typeof ownCode === 'string' ? ownCode : undefined) ?? /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT)\b/.exec(message)?.[1];
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'connection refused: is PostgreSQL running there?',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host not found (DNS)',
    ETIMEDOUT: 'connection timed out',
    '28P01': 'password authentication failed',
    '28000': 'this role may not connect',
    '3D000': 'the database does not exist',
    '42501': 'the role lacks the rights to create or change the read-model tables',
  };
  const reason = code !== undefined ? reasons[code] : undefined;
  const detail = message.split('\n')[0] || 'error';
  return reason ? `${reason} (${detail})` : `${detail}${code ? ` (code ${code})` : ''}`;
}

/**
 * The projector's side: every read model's PostgreSQL batch, flushed in bulk statements in
 * one transaction that also moves the checkpoint and notifies its channel.
 */
export class PostgresReadModelWriter implements ProjectionWriter {
  private readonly dispatch = new EventDispatch<PostgresReadModelBatch>(READ_MODELS.map((m) => ({ model: m, batch: m.postgres() })));

  constructor(private readonly store: PostgresReadStore) {}

  stage(event: RecordedEvent): void {
    this.dispatch.stage(event);
  }

  stagedEvents(): number {
    return this.dispatch.staged;
  }

  async commitStaged(expectedCheckpoint: number | undefined): Promise<void> {
    assert(this.dispatch.staged > 0, 'a batch holds at least one event');
    try {
      await this.store.inTransaction(async (client) => {
        // Compare-and-set under the row lock: a second projector or a rebuild waits here, then finds it moved.
        const { rows } = await client.query<{ position: number | null }>('SELECT position FROM checkpoint WHERE id = 0 FOR UPDATE');
        const found = rows[0].position ?? undefined;
        if (found !== expectedCheckpoint) throw new CheckpointMoved(expectedCheckpoint, found);
        assert(expectedCheckpoint === undefined || this.dispatch.first! > expectedCheckpoint, 'events arrive in increasing position order');
        for (const batch of this.dispatch.batches) await batch.flush(client);
        const last = this.dispatch.last!;
        await client.query('UPDATE checkpoint SET position = $1, event_id = $2, events = events + $3 WHERE id = 0', [
          last.position,
          last.eventId,
          this.dispatch.staged,
        ]);
        // Delivered on commit only, so a replica woken by it reads the batch.
        await client.query('SELECT pg_notify($1, $2)', [this.store.channel, String(last.position)]);
      });
    } finally {
      this.discardStaged();
    }
  }

  discardStaged(): void {
    this.dispatch.discard();
  }
}

interface MemberQueryRow {
  member_id: string;
  card_number: string;
  available: number;
  held: number;
  lifetime_accrued: number;
  lifetime_redeemed: number;
  lifetime_expired: number;
  tier: string | null;
  as_of: number | null;
  lots: OpenLot[];
  pending_lots: PendingLot[];
}

type PartnerQueryRow = PartnerRow & {
  currency: string | null;
  point_value_minor: number | null;
  as_of: number | null;
  held: number;
  pending: number;
};

const SELECT_HOLD = `SELECT hold_id AS "holdId", member_id AS "memberId", partner_id AS "partnerId", points, expires_at AS "expiresAt", status FROM holds`;

/** Holds expiring after this ISO time are live; '' (before every time) counts every open hold. */
const liveAfter = (at: Date | undefined): string => (at === undefined ? '' : at.toISOString());

/** The API's side. Each answer is one statement, so its rows and `asOfPosition` are one snapshot. */
export class PostgresReadModelReader implements ReadModelQueries {
  constructor(private readonly store: PostgresReadStore) {}

  async position(): Promise<number | undefined> {
    return (await this.store.checkpoint()).position;
  }

  async member(memberId: string, at?: Date): Promise<MemberBalance | undefined> {
    // `members.available` is the points in the lots; live holds and return windows are in their own tables.
    const { rows } = await this.store.pool.query<MemberQueryRow>(
      `SELECT m.member_id, m.card_number, m.available, m.lifetime_accrued, m.lifetime_redeemed, m.lifetime_expired, m.tier,
         (SELECT coalesce(sum(h.points), 0) FROM holds h WHERE h.member_id = m.member_id AND h.status = 'open' AND h.expires_at > $2)::bigint AS held,
         (SELECT position FROM checkpoint WHERE id = 0) AS as_of,
         coalesce((SELECT json_agg(json_build_object('lotId', l.lot_id, 'issuerPartnerId', l.issuer_partner_id,
                     'points', l.points, 'expiresAt', l.expires_at) ORDER BY l.position)
                   FROM lots l WHERE l.member_id = m.member_id AND l.points > 0
                     AND NOT EXISTS (SELECT 1 FROM pending_lots p WHERE p.member_id = l.member_id AND p.lot_id = l.lot_id AND p.available_at > $2)),
                  '[]'::json) AS lots,
         coalesce((SELECT json_agg(json_build_object('lotId', p.lot_id, 'issuerPartnerId', p.issuer_partner_id,
                     'points', p.points, 'availableAt', p.available_at) ORDER BY p.available_at, p.lot_id)
                   FROM pending_lots p WHERE p.member_id = m.member_id AND p.available_at > $2), '[]'::json) AS pending_lots
       FROM members m WHERE m.member_id = $1`,
      [memberId, liveAfter(at)],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    assert(row.as_of !== null, 'rows imply a checkpoint');
    const { available, lots, expiringSoon } = balanceFromLots(row.lots, row.held, at);
    return {
      memberId: row.member_id,
      cardNumber: row.card_number,
      available,
      held: row.held,
      pending: { points: row.pending_lots.reduce((sum, lot) => sum + lot.points, 0), lots: row.pending_lots },
      lifetimeAccrued: row.lifetime_accrued,
      lifetimeRedeemed: row.lifetime_redeemed,
      lifetimeExpired: row.lifetime_expired,
      tier: row.tier,
      lots,
      expiringSoon,
      asOfPosition: row.as_of,
    };
  }

  async partnerPosition(partnerId: string, at?: Date): Promise<PartnerPosition | undefined> {
    const [position] = await this.partners(at, 'WHERE p.partner_id = $2', [partnerId]);
    return position;
  }

  partnerPositions(at?: Date): Promise<PartnerPosition[]> {
    return this.partners(at, '', []);
  }

  async hold(holdId: string): Promise<HoldEntry | undefined> {
    const { rows } = await this.store.pool.query<HoldEntry>(`${SELECT_HOLD} WHERE hold_id = $1`, [holdId]);
    return rows[0];
  }

  async dueHolds(at: Date, limit: number): Promise<HoldEntry[]> {
    const { rows } = await this.store.pool.query<HoldEntry>(
      `${SELECT_HOLD} WHERE status = 'open' AND expires_at <= $1 ORDER BY expires_at, hold_id LIMIT $2`,
      [at.toISOString(), limit],
    );
    return rows;
  }

  async dueLots(until: Date, limit: number, after: DueLotKey = DUE_LOTS_FROM_START): Promise<DueLot[]> {
    const { rows } = await this.store.pool.query<DueLot>(
      `SELECT member_id AS "memberId", lot_id AS "lotId", points, expires_at AS "expiresAt"
       FROM lots WHERE points > 0 AND expires_at <= $1 AND (expires_at, member_id, lot_id) > ($2, $3, $4)
       ORDER BY expires_at, member_id, lot_id LIMIT $5`,
      [until.toISOString(), after.expiresAt, after.memberId, after.lotId, limit],
    );
    return rows;
  }

  async duePendingLots(at: Date, limit: number): Promise<DuePendingLot[]> {
    const { rows } = await this.store.pool.query<DuePendingLot>(
      `SELECT member_id AS "memberId", lot_id AS "lotId", available_at AS "availableAt" FROM pending_lots
       WHERE available_at <= $1 AND available_at < expires_at ORDER BY available_at, member_id, lot_id LIMIT $2`,
      [at.toISOString(), limit],
    );
    return rows;
  }

  async transaction(txId: string): Promise<TransactionEntry | undefined> {
    const { rows } = await this.store.pool.query<TransactionEntry>(
      `SELECT tx_id AS "txId", member_id AS "memberId", partner_id AS "partnerId", kind, points, original_tx_id AS "originalTxId",
         occurred_at AS "occurredAt", position FROM transactions WHERE tx_id = $1`,
      [txId],
    );
    return rows[0];
  }

  async liability(period?: string): Promise<LiabilityRow[]> {
    const { rows } = await this.store.pool.query<LiabilityRow>(
      `SELECT period, issuer_partner_id AS "issuerPartnerId", redeemer_partner_id AS "redeemerPartnerId", points, amount_minor AS "amountMinor"
       FROM liability ${period === undefined ? '' : 'WHERE period = $1'} ORDER BY period, issuer_partner_id, redeemer_partner_id`,
      period === undefined ? [] : [period],
    );
    return rows;
  }

  /** The programme KPIs of `window`: every query in one REPEATABLE READ snapshot. */
  async programReport(window: ProgramWindow): Promise<ProgramReport> {
    const { previousFrom, from, to } = window;
    const figures = await this.store.inTransaction(async (client) => {
      const all = async <T extends pg.QueryResultRow>(sql: string, ...params: string[]) => (await client.query<T>(sql, params)).rows;
      const coalition = (await all<{ currency: string; pointValueMinor: number }>(PROGRAM_SQL.coalition))[0];
      return {
        partners: (await all<{ partnerId: string }>(PROGRAM_SQL.partners)).map((r) => r.partnerId),
        coalition,
        asOfPosition: (await all<{ position: number | null }>('SELECT position FROM checkpoint WHERE id = 0'))[0].position ?? undefined,
        enrolled: await all<{ partnerId: string; members: number }>(PROGRAM_SQL.enrolled, from, to),
        activeByPartner: await all<ActiveFigures>(PROGRAM_SQL.active('partner_id, member_id'), previousFrom, from, to),
        activeTotal: (await all<ActiveFigures>(PROGRAM_SQL.active('member_id'), previousFrom, from, to))[0],
        earningByPartner: await all<EarningFigures>(PROGRAM_SQL.earning(true), from, to),
        earningTotal: (await all<EarningFigures>(PROGRAM_SQL.earning(false), from, to))[0] ?? NO_EARNING,
        breakage: await all<{ partnerId: string; expiring: number; expired: number }>(PROGRAM_SQL.breakage, from, to),
        outstanding: await all<{ partnerId: string; points: number }>(PROGRAM_SQL.outstanding, to),
      };
    }, 'REPEATABLE READ READ ONLY');
    return programReport(window, figures);
  }

  async birthdays(keys: readonly string[]): Promise<string[]> {
    const { rows } = await this.store.pool.query<{ memberId: string }>(
      'SELECT member_id AS "memberId" FROM birthdays WHERE birth_md = ANY($1::text[]) ORDER BY birth_md, member_id',
      [keys],
    );
    return rows.map((r) => r.memberId);
  }

  async flags(memberId?: string): Promise<FlagEntry[]> {
    const { rows } = await this.store.pool.query<FlagEntry>(
      `${FLAG_SELECT} ${memberId === undefined ? '' : 'WHERE member_id = $1'} ORDER BY position`,
      memberId === undefined ? [] : [memberId],
    );
    return rows;
  }

  private async partners(at: Date | undefined, where: string, params: unknown[]): Promise<PartnerPosition[]> {
    const { rows } = await this.store.pool.query<PartnerQueryRow>(
      `SELECT p.*, c.currency, c.point_value_minor, cp.position AS as_of,
         (SELECT coalesce(sum(h.points), 0) FROM holds h WHERE h.partner_id = p.partner_id AND h.status = 'open' AND h.expires_at > $1)::bigint AS held,
         (SELECT coalesce(sum(l.points), 0) FROM pending_lots l WHERE l.issuer_partner_id = p.partner_id AND l.available_at > $1)::bigint AS pending
       FROM partner_positions p CROSS JOIN checkpoint cp LEFT JOIN coalition c ON c.id = 0
       ${where} ORDER BY p.partner_id`,
      [liveAfter(at), ...params],
    );
    return rows.map((row) => {
      assert(row.as_of !== null, 'rows imply a checkpoint');
      const coalition = row.currency === null ? undefined : { currency: row.currency, pointValueMinor: row.point_value_minor! };
      return partnerPositionFromRow(
        row,
        coalition,
        row.as_of,
        new Map([[row.partner_id, row.held]]),
        new Map([[row.partner_id, row.pending]]),
      );
    });
  }
}

/** Re-reads the checkpoint this often while someone waits, in case a notification was lost with its connection. */
const WATCH_POLL_MS = 250;

/**
 * Waiters for the shared checkpoint: one connection LISTENs to the checkpoint's channel, and
 * each notification (sent by the projector's commit) releases the waiters it satisfies.
 */
class CheckpointWatch {
  // The poll runs only while someone waits.
  private readonly waiters = new PositionWaiters(() => {
    if (this.poll !== undefined) clearInterval(this.poll);
    this.poll = undefined;
  });
  private listener: Promise<pg.Client> | undefined;
  private poll: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: PostgresReadStore,
    private readonly config: pg.PoolConfig,
  ) {}

  wait(position: number, timeoutMs: number): Promise<boolean> {
    const reached = this.waiters.wait(position, timeoutMs);
    this.poll ??= setInterval(() => void this.recheck(), WATCH_POLL_MS);
    // The listener may have missed a commit made before it listened: read once more after it is up.
    void this.listen().then(
      () => this.recheck(),
      () => undefined,
    );
    return reached;
  }

  async close(): Promise<void> {
    this.waiters.giveUp();
    const listener = this.listener;
    this.listener = undefined;
    if (listener) await (await listener.catch(() => undefined))?.end().catch(() => undefined);
  }

  private listen(): Promise<pg.Client> {
    this.listener ??= (async () => {
      const client = new pg.Client(this.config);
      client.on('error', () => {
        // Lost: the poll carries on; the next wait listens again.
        this.listener = undefined;
      });
      client.on('notification', (n) => {
        const position = Number(n.payload);
        if (Number.isSafeInteger(position)) this.waiters.reached(position);
      });
      await client.connect();
      await client.query(`LISTEN "${this.store.channel.replace(/"/g, '""')}"`);
      return client;
    })().catch((error: unknown) => {
      this.listener = undefined;
      throw error;
    });
    return this.listener;
  }

  private async recheck(): Promise<void> {
    if (this.waiters.size === 0) return;
    const position = await this.store.checkpoint().then(
      (cp) => cp.position,
      () => undefined,
    );
    if (position !== undefined) this.waiters.reached(position);
  }
}
