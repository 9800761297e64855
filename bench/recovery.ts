/**
 * Benchmark 15: recovery. `ledger serve` on a large store is SIGKILLed under load; the figure is
 * the time from the kill until the restarted service answers /health and its read models have
 * caught up with every acknowledged write. The baseline is a clean restart (SIGTERM, start) of
 * the same service on the same store, measured the same way in the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { copyProjectedBulkHistory } from './lib/bulk-history';
import { ChildServer, SERVE_ADMIN_KEY, freePort, issuePartnerKey, startLedgerServe } from './lib/child-server';
import { runLoad } from './lib/load';
import { BenchLine } from './lib/report';

const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;

async function head(file: string): Promise<number> {
  const store = SqliteEventStore.open(file);
  try {
    return (await store.readAll({ direction: 'backwards', maxCount: 1 }))[0]?.position ?? 0;
  } finally {
    await store.close();
  }
}

/** Until GET answers 200 with the read models at `position` (503 means still catching up). */
async function readableAt(server: ChildServer, position: number): Promise<void> {
  for (;;) {
    const res = await fetch(`${server.url}/v1/partners/p01/position?minPosition=${position}`, {
      headers: { authorization: `Bearer ${SERVE_ADMIN_KEY}` },
    });
    await res.text();
    if (res.status === 200) return;
    if (res.status !== 503) throw new Error(`catch-up check answered ${res.status}`);
  }
}

export async function benchRecovery({ quick, log }: { quick: boolean; log: (s: string) => void }): Promise<BenchLine[]> {
  const events = quick ? 10_000 : 1_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-recovery-'));
  const dataDir = join(dir, 'data');
  const file = join(dataDir, 'ledger.db');
  const env = { LEDGER_DATA_DIR: dataDir, LEDGER_DEMO: 'off', LEDGER_ADMIN_KEY: SERVE_ADMIN_KEY };
  try {
    log(`recovery: writing a ${events}-event store`);
    const members = Math.round(events / 25);
    // With its read models caught up: both restarts below are measured from a projected store.
    await copyProjectedBulkHistory({ file, events, members, startAt: '2026-10-01T00:00:00.000Z', endAt: '2026-11-01T00:00:00.000Z' });
    const port = await freePort();
    let server = await startLedgerServe(port, env);
    await readableAt(server, await head(file));

    log('recovery: clean restart (baseline)');
    await server.stop();
    let t0 = process.hrtime.bigint();
    server = await startLedgerServe(port, env);
    const cleanHealth = seconds(t0);
    await readableAt(server, await head(file));
    const clean = seconds(t0);

    log('recovery: SIGKILL under load, restart');
    const key = await issuePartnerKey(server, 'p01');
    const occurredAt = new Date(Date.now() - 60_000).toISOString();
    const load = runLoad({
      url: server.url,
      connections: 32,
      total: quick ? 1_000 : 20_000,
      request: (i) => ({
        method: 'POST',
        path: '/v1/accruals',
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({
          externalId: `k-${i}`,
          memberId: `b${String(i % members).padStart(7, '0')}`,
          amountMinor: 110_000,
          currency: 'RUB',
          occurredAt,
        }),
      }),
    });
    await new Promise((r) => setTimeout(r, quick ? 300 : 2_000));
    await server.kill();
    t0 = process.hrtime.bigint();
    const interrupted = await load; // the requests in flight at the kill fail; that is the point
    server = await startLedgerServe(port, env);
    const killHealth = seconds(t0);
    await readableAt(server, await head(file));
    const recovered = seconds(t0);
    await server.stop();
    const config = { events, members, acknowledgedBeforeKill: interrupted.statuses[201] ?? 0, node: process.version };
    return [
      {
        benchmark: '15 recovery',
        metric: `SIGKILL under load → /health and read models caught up (${events.toLocaleString('en-US')}-event store)`,
        value: Math.round(recovered * 100) / 100,
        unit: 's',
        config: { ...config, healthSeconds: Math.round(killHealth * 100) / 100 },
        baseline: { name: 'clean restart, same measure', value: Math.round(clean * 100) / 100 },
        ratio: recovered / clean,
        ratioNote: `/health after ${killHealth.toFixed(2)} s (clean: ${cleanHealth.toFixed(2)} s)`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
