/**
 * Benchmarks 1 and 8: the accrual write path over HTTP (and redemptions, and idempotent
 * replays) against a bare fastify route doing one durable better-sqlite3 insert per request
 * with no project code, the project's SQLite adapter behind the same bare route, then accrual
 * throughput of `ledger serve` as prior history grows.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchLine, bracket, bracketNote } from './lib/report';
import {
  LEDGER_NODE_FLAGS,
  SERVE_ADMIN_KEY,
  freePort,
  issuePartnerKey,
  startBareServer,
  startChildServer,
  startLedgerServe,
} from './lib/child-server';
import { copyProjectedBulkHistory } from './lib/bulk-history';
import { seededRandom } from '@ledger/projections/testing/synthetic-history';
import { bulkMember, caughtUp, headPosition } from './service-load';
import { LoadResult, runLoad } from './lib/load';
import { benchMemberId } from './servers';

const CONNECTIONS = 64;

export interface WritePathOptions {
  quick: boolean;
  log: (s: string) => void;
}

const accrualBody = (i: number, members: number, occurredAt: string) =>
  JSON.stringify({
    externalId: `a-${i}`,
    memberId: benchMemberId(i % members),
    amountMinor: 100_000 + (i % 7) * 10_000,
    currency: 'RUB',
    occurredAt,
  });

function line(
  benchmark: string,
  metric: string,
  value: number,
  unit: string,
  config: Record<string, unknown>,
  extra: Partial<BenchLine> = {},
): BenchLine {
  return { benchmark, metric, value: Math.round(value * 100) / 100, unit, config, ...extra };
}

function checkClean(name: string, r: LoadResult, okStatus: number): void {
  if (r.errors > 0 || (r.statuses[okStatus] ?? 0) !== r.requests) {
    throw new Error(`${name}: ${r.errors} errors, statuses ${JSON.stringify(r.statuses)}${r.firstError ? `, first: ${r.firstError}` : ''}`);
  }
}

export async function benchWritePath({ quick, log }: WritePathOptions): Promise<BenchLine[]> {
  const members = quick ? 1_000 : 10_000;
  const requests = quick ? 2_000 : 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-'));
  const lines: BenchLine[] = [];
  const config = { connections: CONNECTIONS, requests, members, adapter: 'sqlite', synchronous: 'FULL', node: process.version };
  try {
    const insertLoad = async (name: string, url: string) => {
      await runLoad({
        url,
        connections: CONNECTIONS,
        total: Math.min(2_000, requests),
        request: (i) => ({ method: 'POST', path: '/insert', body: JSON.stringify({ warmup: i }) }),
      });
      const r = await runLoad({
        url,
        connections: CONNECTIONS,
        total: requests,
        request: (i) => ({ method: 'POST', path: '/insert', body: accrualBody(i, members, new Date().toISOString()) }),
      });
      checkClean(name, r, 201);
      return r;
    };
    // The suites before this one write gigabytes: their dirty pages go to the disk now, not during the first baseline.
    spawnSync('sync');
    log(
      `write path: bare baseline (fastify + better-sqlite3 group commit, no project code), ${requests} requests, ${CONNECTIONS} connections`,
    );
    const base = await startBareServer(dir);
    const baseline = await insertLoad('baseline', base.url);
    await base.stop();
    log('write path: the same route appending through the project SqliteEventStore');
    const adapterServer = await startChildServer(['adapter', dir]);
    const adapter = await insertLoad('adapter', adapterServer.url);
    await adapterServer.stop();

    log(`write path: ledger app with ${members} enrolled members`);
    // Under the service's Node flags, as `npm start` runs it; the bare route and the adapter behind it run under Node's defaults.
    const app = await startChildServer(['ledger', dir, String(members), '0'], undefined, LEDGER_NODE_FLAGS);
    const auth = { authorization: `Bearer ${app.key}` };
    const occurredAt = new Date().toISOString();
    await runLoad({
      url: app.url,
      connections: CONNECTIONS,
      total: Math.min(2_000, requests),
      request: (i) => ({ method: 'POST', path: '/v1/accruals', headers: auth, body: accrualBody(1e9 + i, members, occurredAt) }),
    });
    const accruals = await runLoad({
      url: app.url,
      connections: CONNECTIONS,
      total: requests,
      request: (i) => ({ method: 'POST', path: '/v1/accruals', headers: auth, body: accrualBody(i, members, occurredAt) }),
    });
    checkClean('accruals', accruals, 201);
    const redemptions = await runLoad({
      url: app.url,
      connections: CONNECTIONS,
      total: requests,
      request: (i) => ({
        method: 'POST',
        path: '/v1/redemptions',
        headers: auth,
        body: JSON.stringify({ externalId: `r-${i}`, memberId: benchMemberId(i % members), points: 1, occurredAt }),
      }),
    });
    checkClean('redemptions', redemptions, 201);
    const replays = await runLoad({
      url: app.url,
      connections: CONNECTIONS,
      total: requests,
      request: (i) => ({ method: 'POST', path: '/v1/accruals', headers: auth, body: accrualBody(i, members, occurredAt) }),
    });
    checkClean('replays', replays, 201);
    await app.stop();
    // The bare route again after the loads: the ratios are to the mean of the two runs, which
    // bracket them (the machine's speed changes over the half minute between the first and the
    // app's loads).
    log('write path: bare baseline again, after the loads');
    const baseAfter = await startBareServer(mkdtempSync(join(dir, 'bare-after-')));
    const baselineAfter = await insertLoad('baseline after', baseAfter.url);
    await baseAfter.stop();
    const bare = bracket(baseline.requestsPerSecond, baselineAfter.requestsPerSecond);
    const bareRate = bare.mean;
    const bareP99 = bracket(baseline.p99Ms, baselineAfter.p99Ms).mean;
    const bareNote = bracketNote('bare route', bare, 'req/s');

    const vs = { name: 'bare fastify + better-sqlite3, before and after', value: Math.round(bareRate) };
    lines.push(
      line('1 HTTP write path', 'bare route requests/s after the loads', baselineAfter.requestsPerSecond, 'req/s', config, {
        baseline: { name: 'the same before them', value: Math.round(baseline.requestsPerSecond) },
        ratio: baselineAfter.requestsPerSecond / baseline.requestsPerSecond,
        ratioNote: `p99 ${baselineAfter.p99Ms.toFixed(1)} ms after, ${baseline.p99Ms.toFixed(1)} ms before: the drift the mean of the two evens out`,
      }),
    );
    lines.push(
      line('1 HTTP write path', 'SqliteEventStore append behind the bare route requests/s', adapter.requestsPerSecond, 'req/s', config, {
        baseline: vs,
        ratio: adapter.requestsPerSecond / bareRate,
        ratioNote: `p99 ${adapter.p99Ms.toFixed(1)} ms`,
      }),
    );
    for (const [what, r] of [
      ['POST /v1/accruals', accruals],
      ['POST /v1/redemptions', redemptions],
      ['idempotent replay of accruals', replays],
    ] as const) {
      const ratio = r.requestsPerSecond / bareRate;
      lines.push(
        line('1 HTTP write path', `${what} requests/s`, r.requestsPerSecond, 'req/s', config, {
          baseline: vs,
          ratio,
          ratioNote: bareNote,
          target: what === 'POST /v1/accruals' ? '≥ 0.5 of baseline' : undefined,
          met: what === 'POST /v1/accruals' ? ratio >= 0.5 : undefined,
        }),
      );
      lines.push(
        line(
          '1 HTTP write path',
          `${what} p50 / p99 latency`,
          r.p99Ms,
          'ms (p99)',
          { ...config, p50Ms: r.p50Ms },
          {
            baseline: { name: 'bare route p99, mean of before and after', value: Math.round(bareP99 * 100) / 100 },
            ratio: r.p99Ms / bareP99,
            target: what === 'POST /v1/accruals' ? 'p99 ≤ 20 ms' : undefined,
            met: what === 'POST /v1/accruals' ? r.p99Ms <= 20 : undefined,
            ratioNote: `p50 ${r.p50Ms.toFixed(2)} ms`,
          },
        ),
      );
    }

    // 8: the same accrual load on `ledger serve` over more and more prior history: a store
    // written in bulk (seconds, not the minutes that posting a million events takes), its
    // members drawn at random, the read models caught up before the load starts.
    const histories = quick ? [1_000, 10_000] : [10_000, 100_000, 1_000_000];
    const first: LoadResult[] = [];
    for (const history of histories) {
      const hdir = mkdtempSync(join(tmpdir(), 'ledger-bench-h-'));
      try {
        // As the other 1M-event benchmarks: 25 events a member, October (the same file, copied).
        const population = Math.max(1_000, Math.round(history / 25));
        log(`scaling: ledger serve over ${history} prior events of ${population} members`);
        const file = join(hdir, 'data', 'ledger.db');
        // The read models come caught up too: the line measures the load, not the projector's catch-up.
        await copyProjectedBulkHistory({
          file,
          events: history,
          members: population,
          startAt: '2026-10-01T00:00:00.000Z',
          endAt: '2026-11-01T00:00:00.000Z',
        });
        const s = await startLedgerServe(await freePort(), {
          LEDGER_DATA_DIR: join(hdir, 'data'),
          LEDGER_DEMO: 'off',
          LEDGER_ADMIN_KEY: SERVE_ADMIN_KEY,
        });
        let r: LoadResult;
        try {
          await caughtUp(s, SERVE_ADMIN_KEY, await headPosition(file));
          const h = { authorization: `Bearer ${await issuePartnerKey(s, 'p01')}` };
          const random = seededRandom(history);
          r = await runLoad({
            url: s.url,
            connections: CONNECTIONS,
            total: Math.ceil(requests / 2),
            request: (i) => ({
              method: 'POST',
              path: '/v1/accruals',
              headers: h,
              body: JSON.stringify({
                externalId: `h-${i}`,
                memberId: bulkMember(Math.floor(random() * population)),
                amountMinor: 100_000 + (i % 7) * 10_000,
                currency: 'RUB',
                occurredAt,
              }),
            }),
          });
        } finally {
          await s.stop();
        }
        checkClean(`scaling ${history}`, r, 201);
        first.push(r);
        lines.push(
          line(
            '8 scaling with history',
            `ledger serve accruals/s over ${history.toLocaleString('en-US')} prior events (${population.toLocaleString('en-US')} members)`,
            r.requestsPerSecond,
            'req/s',
            { ...config, requests: Math.ceil(requests / 2), priorEvents: history, members: population, p50Ms: r.p50Ms, p99Ms: r.p99Ms },
            {
              baseline: { name: `same over ${histories[0].toLocaleString('en-US')} events`, value: Math.round(first[0].requestsPerSecond) },
              ratio: r.requestsPerSecond / first[0].requestsPerSecond,
              ratioNote: `p99 ${r.p99Ms.toFixed(1)} ms`,
            },
          ),
        );
      } finally {
        rmSync(hdir, { recursive: true, force: true });
      }
    }
    lines.unshift(
      line('1 HTTP write path', 'bare route requests/s before the loads', baseline.requestsPerSecond, 'req/s', {
        ...config,
        p50Ms: baseline.p50Ms,
        p99Ms: baseline.p99Ms,
      }),
    );
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
