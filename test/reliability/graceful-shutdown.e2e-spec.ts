import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'undici';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { tempDir } from '@ledger/testing';
import { Answer, call, freePort, requireBuilt, seedOverHttp, startService } from './child-service';

const CLIENTS = 32;

interface Posted {
  externalId: string;
  memberId: string;
  answer?: Answer;
  sentAfterSigterm: boolean;
  answeredAfterSigterm?: boolean;
  error?: string;
}

/**
 * SIGTERM while 32 keep-alive clients post accruals to the built service: it stops
 * accepting, answers what it read (with Connection: close), flushes and exits 0 within the
 * grace. Every request is answered or never reached it; after a restart the unanswered
 * ones, retried, are written exactly once and none of them turns out to have been written.
 */
describe('graceful shutdown under load (built CLI)', () => {
  let dir: string;
  beforeAll(requireBuilt);
  beforeEach(() => (dir = tempDir('ledger-shutdown-')));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('SIGTERM with 32 clients posting: every request answered or never read, exit 0, retries land exactly once', async () => {
    const port = await freePort();
    let service = await startService(dir, port, { LEDGER_SHUTDOWN_GRACE_MS: '10000' });
    const keys = await seedOverHttp(service.url, ['shop'], CLIENTS);
    const occurredAt = new Date(Date.now() - 60_000).toISOString();
    const body = (p: Posted) => ({ externalId: p.externalId, memberId: p.memberId, amountMinor: 100_000, currency: 'RUB', occurredAt });

    const posted: Posted[] = [];
    let sigtermAt = 0;
    const agents = Array.from({ length: CLIENTS }, () => new Agent({ connections: 1, pipelining: 1 }));
    const client = async (c: number) => {
      // Bounded: stops at the first request that got no answer (the service is gone).
      for (let n = 0; n < 2_000; n++) {
        const p: Posted = { externalId: `c${c}-${n}`, memberId: `m-${c}`, sentAfterSigterm: sigtermAt > 0 };
        posted.push(p);
        try {
          p.answer = await call(agents[c], service.url, 'POST', '/v1/accruals', keys.shop, body(p));
          p.answeredAfterSigterm = sigtermAt > 0;
        } catch (err) {
          p.error = (err as { code?: string }).code ?? String(err);
          return;
        }
      }
    };
    const load = Promise.all(agents.map((_, c) => client(c)));
    // Let every client get going on its keep-alive connection first.
    while (posted.filter((p) => p.answer).length < CLIENTS * 5) await new Promise((r) => setTimeout(r, 20));
    sigtermAt = Date.now();
    service.child.kill('SIGTERM');
    const code = await service.exited;
    const exitMs = Date.now() - sigtermAt;
    await load;
    await Promise.all(agents.map((a) => a.close()));

    expect(code).toBe(0);
    expect(exitMs).toBeLessThan(10_000);
    expect(service.stdout()).toContain('"shutdown complete"');
    const answered = posted.filter((p) => p.answer);
    const unanswered = posted.filter((p) => !p.answer);
    // Every answer is the real one: no 503 from a service going away, no 5xx at all.
    expect(new Set(answered.map((p) => p.answer!.status))).toEqual(new Set([201]));
    // Requests read after the SIGTERM were answered too, and told the client to close.
    for (const p of answered.filter((x) => x.sentAfterSigterm)) expect(p.answer!.headers.connection).toBe('close');
    // Requests in flight when the signal landed were answered, with Connection: close.
    const lateAnswers = answered.filter((p) => p.answeredAfterSigterm);
    expect(lateAnswers.filter((p) => p.answer!.headers.connection === 'close').length).toBeGreaterThan(0);
    // Each client stopped at its first unanswered request, with a connection-level failure.
    expect(unanswered.length).toBeLessThanOrEqual(CLIENTS);
    for (const p of unanswered) expect(p.error).toMatch(/ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET|UND_ERR_CLOSED/);

    // Restart on the same data; retry the unanswered ones.
    service = await startService(dir, port);
    const agent = new Agent();
    try {
      for (const p of unanswered) {
        const retry = await call(agent, service.url, 'POST', '/v1/accruals', keys.shop, body(p));
        expect(retry.status).toBe(201);
        // Never a replay: the first attempt never reached the service.
        expect(retry.headers['idempotent-replay']).toBeUndefined();
      }
    } finally {
      await agent.close();
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
    }
    const store = SqliteEventStore.open(join(dir, 'ledger.db'));
    try {
      const counts = new Map<string, number>();
      for (const e of await store.readAll()) {
        if (e.type === 'PointsAccrued') counts.set(String(e.data.txId), (counts.get(String(e.data.txId)) ?? 0) + 1);
      }
      for (const p of posted)
        expect({ txId: p.externalId, count: counts.get(`shop:${p.externalId}`) }).toEqual({ txId: p.externalId, count: 1 });
      expect(counts.size).toBe(posted.length);
    } finally {
      await store.close();
    }
    // For the report: how the SIGTERM met the load.
    process.stderr.write(
      `graceful shutdown: ${answered.length} answered (${lateAnswers.length} after SIGTERM), ${unanswered.length} never reached the service, exit in ${exitMs} ms\n`,
    );
  }, 120_000);
});
