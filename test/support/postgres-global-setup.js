// Probes the test PostgreSQL once per jest run and tells every worker through the environment.
// Without it, the PostgreSQL tests are skipped (one line says so); under CI=true they run and
// fail with the reason, since CI machines have PostgreSQL.
const { Client } = require('pg');

module.exports = async function postgresGlobalSetup() {
  const url = process.env.LEDGER_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';
  process.env.LEDGER_TEST_POSTGRES_URL = url;
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    process.env.LEDGER_TEST_POSTGRES = 'up';
  } catch (error) {
    const reason = (error && (error.code || error.message)) || String(error);
    process.env.LEDGER_TEST_POSTGRES = 'down';
    process.env.LEDGER_TEST_POSTGRES_REASON = String(reason);
    const ci = (process.env.CI || '').toLowerCase() === 'true';
    process.stderr.write(
      ci
        ? `\nPostgreSQL unreachable at ${url} (${reason}): CI requires it; the PostgreSQL read-store tests will fail.\n`
        : `\nPostgreSQL unreachable at ${url} (${reason}): skipping the PostgreSQL read-store tests.\n`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
};
