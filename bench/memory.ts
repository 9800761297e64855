/**
 * Benchmark 7: resident memory of the API process once the in-process projector has caught
 * up with a large store (members and events as given), as bytes per member and per event.
 * Baseline: the same API process's RSS right after start, before the catch-up.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { copyBulkHistory } from './lib/bulk-history';
import { LEDGER_NODE_FLAGS, startChildServer } from './lib/child-server';
import { BenchLine } from './lib/report';

const GIB = 1024 ** 3;

export async function benchMemory({ events, log }: { events: number; log: (s: string) => void }): Promise<BenchLine[]> {
  const members = Math.round(events / 25); // the 400k members for 10M events
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-mem-'));
  try {
    log(`memory: writing ${events} events for ${members} members`);
    const written = await copyBulkHistory({
      file: join(dir, 'ledger.db'),
      events,
      members,
      startAt: '2026-10-01T00:00:00.000Z',
      endAt: '2026-11-01T00:00:00.000Z',
    });
    // Under the Node flags the service runs with: its young generation is part of the RSS.
    const server = await startChildServer(['existing', dir], undefined, LEDGER_NODE_FLAGS);
    const rssAtStart = currentRss(server.child.pid!);
    const started = Date.now();
    // Wait (in 5 s slices) until the read models have reached the head of the log.
    for (;;) {
      const res = await request(`${server.url}/v1/partners?minPosition=${written.events}`, {
        headers: { authorization: `Bearer ${server.key}` },
      });
      await res.body.dump();
      if (res.statusCode === 200) break;
      if (res.statusCode !== 503) throw new Error(`memory: GET /v1/partners answered ${res.statusCode}`);
      if (Date.now() - started > 30 * 60_000) throw new Error('memory: projection did not catch up in 30 minutes');
      log(`  projecting… (${Math.round((Date.now() - started) / 1000)} s)`);
    }
    const peak = server.rssBytes();
    const rssAfter = currentRss(server.child.pid!);
    await server.stop();
    const config = {
      events: written.events,
      members,
      adapter: 'sqlite',
      projector: 'in-process',
      catchUpSeconds: Math.round((Date.now() - started) / 1000),
      node: process.version,
    };
    return [
      {
        benchmark: '7 memory',
        metric: `API peak RSS after projecting ${written.events.toLocaleString('en-US')} events / ${members.toLocaleString('en-US')} members`,
        value: Math.round(peak / 1024 / 1024),
        unit: 'MiB',
        baseline: { name: 'same process at start', value: Math.round(rssAtStart / 1024 / 1024) },
        ratio: peak / rssAtStart,
        ratioNote: `${Math.round((peak - rssAtStart) / members)} B/member, ${Math.round((peak - rssAtStart) / written.events)} B/event above start; RSS after ${Math.round(rssAfter / 1024 / 1024)} MiB`,
        target: '< 1 GiB',
        met: peak < GIB,
        config,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function currentRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}
