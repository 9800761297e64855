import { Pool } from 'undici';

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
}

export interface LoadResult extends LatencySummary {
  requests: number;
  errors: number;
  statuses: Record<number, number>;
  firstError?: string;
  /** The first answer of 400 or above, with the start of its body (bodies are read only when `onAnswer` is set). */
  firstRefusal?: string;
  seconds: number;
  requestsPerSecond: number;
  /** Latencies and statuses per request tag, where the requests carry one. */
  byTag: Record<string, TagSummary>;
}

export interface TagSummary extends LatencySummary {
  statuses: Record<number, number>;
}

export interface LoadRequest {
  method: 'POST' | 'GET';
  path: string;
  body?: string;
  headers?: Record<string, string>;
  /** Groups latencies in `byTag` (e.g. accrual, redemption). */
  tag?: string;
}

export const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

export function summarise(latencies: number[]): LatencySummary {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { count: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), p999Ms: percentile(sorted, 99.9) };
}

/**
 * Closed-loop load over loopback: `connections` workers, each sending its next request as soon
 * as the previous answer is in, until `total` requests were sent. Latency is per request.
 * `onAnswer` receives each answer's status, parsed body and timing (bodies are only read when it
 * is set).
 */
export async function runLoad(opts: {
  url: string;
  connections: number;
  total: number;
  request: (i: number) => LoadRequest;
  onAnswer?: (i: number, status: number, body: unknown, timing: { startNs: bigint; latencyMs: number }) => void;
}): Promise<LoadResult> {
  const pool = new Pool(opts.url, { connections: opts.connections, pipelining: 1 });
  const latencies: number[] = [];
  const tagged: Record<string, number[]> = {};
  const taggedStatuses: Record<string, Record<number, number>> = {};
  const statuses: Record<number, number> = {};
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  let firstRefusal: string | undefined;
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
        if (opts.onAnswer) {
          const text = await res.body.text();
          const latencyMs = Number(process.hrtime.bigint() - t0) / 1e6;
          if (res.statusCode >= 400) firstRefusal ??= `${r.tag ?? r.path} answered ${res.statusCode}: ${text.slice(0, 300)}`;
          opts.onAnswer(i, res.statusCode, text ? JSON.parse(text) : undefined, { startNs: t0, latencyMs });
        } else {
          await res.body.dump();
        }
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (r.tag) {
          const byStatus = (taggedStatuses[r.tag] ??= {});
          byStatus[res.statusCode] = (byStatus[res.statusCode] ?? 0) + 1;
        }
        if (res.statusCode >= 400) errors++;
      } catch (err) {
        // A refused connection or reset is a failed request of the run, counted and named.
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      latencies.push(ms);
      if (r.tag) (tagged[r.tag] ??= []).push(ms);
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await pool.close();
  const byTag: Record<string, TagSummary> = {};
  for (const [tag, values] of Object.entries(tagged)) byTag[tag] = { ...summarise(values), statuses: taggedStatuses[tag] ?? {} };
  return {
    requests: opts.total,
    errors,
    statuses,
    firstError,
    firstRefusal,
    seconds,
    requestsPerSecond: opts.total / seconds,
    byTag,
    ...summarise(latencies),
  };
}
