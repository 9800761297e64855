import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The test PostgreSQL (`LEDGER_TEST_POSTGRES_URL`, default the machine's 127.0.0.1:5432/test
 * with trust authentication), as probed once by jest's global setup.
 */
export const postgresTestUrl = (): string => process.env.LEDGER_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';

const ci = () => (process.env.CI ?? '').toLowerCase() === 'true';

/**
 * `describe` for the tests that need PostgreSQL: skipped where it is unreachable (the global
 * setup said so in one line), except under CI=true, where they run and fail with the reason.
 */
export const describeWithPostgres: jest.Describe = process.env.LEDGER_TEST_POSTGRES === 'down' && !ci() ? describe.skip : describe;

/** Throws the reason PostgreSQL is unreachable, if the global setup found it so. */
export function requirePostgres(): void {
  if (process.env.LEDGER_TEST_POSTGRES === 'down') {
    throw new Error(
      `PostgreSQL unreachable at ${postgresTestUrl()} (${process.env.LEDGER_TEST_POSTGRES_REASON ?? 'unknown'}); ` +
        'start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    );
  }
}

/**
 * A schema of its own in the test database, so parallel test files never share tables or
 * checkpoint channels. `url` selects it through search_path; `drop` removes it and all in it.
 */
export async function freshPostgresSchema(prefix: string): Promise<{ url: string; schema: string; drop: () => Promise<void> }> {
  requirePostgres();
  const schema = `${prefix}_${randomBytes(4).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const base = postgresTestUrl();
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    schema,
    drop: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}
