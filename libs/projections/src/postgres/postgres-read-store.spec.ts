import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describeWithPostgres, freshPostgresSchema, postgresTestUrl } from '@ledger/testing/postgres';
import { POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION } from './migrations';
import { PostgresReadStore, ReadStoreSchemaNewer, ReadStoreUnavailable, redactUrl } from './postgres-read-store';

describe('PostgreSQL read store: start-up refusals that need no server', () => {
  it('a URL that is not postgres:// is refused in one line', async () => {
    await expect(PostgresReadStore.open('mysql://db/x')).rejects.toThrow(/^read store .*: not a postgres:\/\/ URL$/);
  });

  it('nothing listening: one line that says so, and the password is not in it', async () => {
    const error = await PostgresReadStore.open('postgres://ledger:secret@127.0.0.1:1/ledger').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ReadStoreUnavailable);
    expect((error as Error).message).toMatch(/connection refused/);
    expect((error as Error).message).not.toMatch(/secret|\n/);
  });

  it('redacts the password of a URL', () => {
    expect(redactUrl('postgres://u:pw@h:5432/d')).toBe('postgres://u:***@h:5432/d');
  });
});

describeWithPostgres('PostgreSQL read store: migrations', () => {
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  beforeEach(async () => (schema = await freshPostgresSchema('migrations')));
  afterEach(() => schema.drop());

  it('migrates a fresh schema once, even when several processes start together', async () => {
    const stores = await Promise.all([1, 2, 3].map(() => PostgresReadStore.open(schema.url)));
    try {
      const { rows } = await stores[0].pool.query('SELECT version FROM schema_migrations ORDER BY version');
      // Each migration once, in order.
      expect(rows).toEqual(POSTGRES_MIGRATIONS.map((m) => ({ version: m.version })));
      expect(await stores[1].checkpoint()).toEqual({ position: undefined, eventId: undefined, events: 0 });
    } finally {
      for (const s of stores) await s.close();
    }
  });

  it('migration 2 (programme KPIs) empties a store projected under version 1, so the projector replays into the new tables', async () => {
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    try {
      // A store as version 1 left it: migrated, and projected up to some position.
      await client.query(
        'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
      );
      await client.query(POSTGRES_MIGRATIONS[0].sql);
      await client.query("INSERT INTO schema_migrations (version, description) VALUES (1, 'read models and checkpoint')");
      await client.query("UPDATE checkpoint SET position = 41, event_id = 'e-41', events = 42 WHERE id = 0");
      await client.query("INSERT INTO partner_positions VALUES ('grocer', 'grocer', 100, 0, 0, 0, 0, 0)");
    } finally {
      await client.end();
    }
    const store = await PostgresReadStore.open(schema.url);
    try {
      expect(await store.checkpoint()).toEqual({ position: undefined, eventId: undefined, events: 0 });
      const tables = await store.dump();
      expect(tables.partner_positions).toEqual([]);
      expect(tables.program_activity).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('refuses a schema newer than the code, naming both versions', async () => {
    const store = await PostgresReadStore.open(schema.url);
    await store.pool.query("INSERT INTO schema_migrations (version, description) VALUES (99, 'from the future')");
    await store.close();
    const error = await PostgresReadStore.open(schema.url).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ReadStoreSchemaNewer);
    expect((error as Error).message).toMatch(new RegExp(`schema version 99, newer than this code's version ${POSTGRES_SCHEMA_VERSION}`));
  });

  it('a role without rights on the schema stops start-up with one clear line', async () => {
    const role = `ledger_reader_${randomBytes(3).toString('hex')}`;
    const admin = new pg.Client({ connectionString: postgresTestUrl() });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN`);
      // It may look into the schema, not create tables in it.
      await admin.query(`GRANT USAGE ON SCHEMA ${schema.schema} TO ${role}`);
      const url = new URL(schema.url);
      url.username = role;
      const error = await PostgresReadStore.open(url.toString()).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ReadStoreUnavailable);
      expect((error as Error).message).toMatch(/lacks the rights/);
      expect((error as Error).message).not.toMatch(/\n/);
    } finally {
      await admin.query(`DROP OWNED BY ${role}`);
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });
});
