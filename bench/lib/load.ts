import { Pool } from 'undici';

export interface LoadResult {
  requests: number;
  errors: number;
  statuses: Record<number, number>;
  firstError?: string;
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/**
 * Closed-loop load over loopback: `connections` workers, each sending its next request as soon
 * as the previous answer is in, until `total` requests were sent. Latency is per request.
 */
export async function runLoad(opts: {
  url: string;
  connections: number;
  total: number;
  request: (i: number) => { method: 'POST' | 'GET'; path: string; body?: string; headers?: Record<string, string> };
}): Promise<LoadResult> {
  const pool = new Pool(opts.url, { connections: opts.connections, pipelining: 1 });
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = process.hrtime.bigint();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= opts.total) return;
      const r = opts.request(i);
      const t0 = process.hrtime.bigint();
      try {
        const res = await pool.request({
          method: r.method,
          path: r.path,
          body: r.body,
          headers: { 'content-type': 'application/json', ...r.headers },
        });
        await res.body.dump();
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode >= 400) errors++;
      } catch (err) {
        // A refused connection or reset is a failed request of the run, counted and named.
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return {
    requests: opts.total,
    errors,
    statuses,
    firstError,
    seconds,
    requestsPerSecond: opts.total / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}
