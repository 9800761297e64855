import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FlushObserved } from '@ledger/event-store';

/** What the metrics read on each scrape rather than count as it happens. */
export interface MetricsSources {
  memberCache?: () => { hits: number; misses: number };
  /** The projector's state; may read the store (bounded), so it is asked once per scrape. */
  projection?: () => Promise<{ position: number | undefined; lagEvents: number; lagSeconds: number }>;
}

const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 10_000];
const JOB_BUCKETS_S = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * The service's Prometheus metrics, in a registry of its own (several apps may share a
 * process in tests). The event-store adapters know nothing of it: the SQLite store reports
 * each group commit through its `onFlush` option, which `observeFlush` is made for.
 */
export class LedgerMetrics {
  readonly registry = new Registry();
  private sources: MetricsSources = {};
  private server: Server | undefined;

  readonly httpRequests = new Counter({
    name: 'ledger_http_requests_total',
    help: 'HTTP requests answered, by route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'ledger_http_request_duration_seconds',
    help: 'Time from request received to response sent, by route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS_S,
    registers: [this.registry],
  });
  readonly appendBatchEvents = new Histogram({
    name: 'ledger_append_batch_events',
    help: 'Events written by one group commit of the SQLite store',
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });
  readonly appendBatchAppends = new Histogram({
    name: 'ledger_append_batch_appends',
    help: 'Appends (requests) acknowledged by one group commit of the SQLite store',
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });
  readonly fsyncs = new Counter({
    name: 'ledger_append_fsyncs_total',
    help: 'Committed write transactions of the SQLite store, each one fsync of the WAL',
    registers: [this.registry],
  });
  readonly flushDuration = new Histogram({
    name: 'ledger_append_flush_duration_seconds',
    help: 'Time to write and commit one group commit of the SQLite store',
    buckets: LATENCY_BUCKETS_S,
    registers: [this.registry],
  });
  readonly settlementDuration = new Histogram({
    name: 'ledger_settlement_duration_seconds',
    help: 'Time to close a settlement period (POST /v1/settlements), by outcome',
    labelNames: ['outcome'] as const,
    buckets: JOB_BUCKETS_S,
    registers: [this.registry],
  });
  readonly verifyDuration = new Histogram({
    name: 'ledger_verify_duration_seconds',
    help: 'Time to verify the ledger (GET /v1/audit/verify), by outcome',
    labelNames: ['outcome'] as const,
    buckets: JOB_BUCKETS_S,
    registers: [this.registry],
  });

  /** `processMetrics`: also the Node process metrics (memory, CPU, event loop), for the service; off in tests. */
  constructor(options: { processMetrics?: boolean } = {}) {
    const sources = () => this.sources;
    new Counter({
      name: 'ledger_member_cache_hits_total',
      help: 'Member transactions that found the member state in the cache',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(sources().memberCache?.().hits ?? 0);
      },
    });
    new Counter({
      name: 'ledger_member_cache_misses_total',
      help: 'Member transactions that had to read the member stream',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(sources().memberCache?.().misses ?? 0);
      },
    });
    // One read of the projector's state per scrape, shared by the three gauges.
    let scrape: Promise<{ position: number | undefined; lagEvents: number; lagSeconds: number } | undefined> | undefined;
    const projection = () => {
      scrape ??= (sources().projection?.() ?? Promise.resolve(undefined))
        // No read store yet, or the store does not answer: the scrape still answers, with position -1
        // (/health/ready says why).
        .catch(() => undefined)
        .finally(() => setImmediate(() => (scrape = undefined)));
      return scrape;
    };
    new Gauge({
      name: 'ledger_projection_position',
      help: 'Last log position applied to the read models (-1: none yet)',
      registers: [this.registry],
      async collect() {
        const p = await projection();
        this.set(p?.position ?? -1);
      },
    });
    new Gauge({
      name: 'ledger_projection_lag_events',
      help: 'Events in the log not yet applied to the read models',
      registers: [this.registry],
      async collect() {
        this.set((await projection())?.lagEvents ?? 0);
      },
    });
    new Gauge({
      name: 'ledger_projection_lag_seconds',
      help: 'Age of the oldest event not yet applied to the read models (0 when caught up)',
      registers: [this.registry],
      async collect() {
        this.set((await projection())?.lagSeconds ?? 0);
      },
    });
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'ledger_' });
  }

  /** Wires the values read at scrape time (the app does this once its parts exist). */
  setSources(sources: MetricsSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** For the SQLite store's `onFlush` option. */
  readonly observeFlush = (flush: FlushObserved): void => {
    this.appendBatchEvents.observe(flush.events);
    this.appendBatchAppends.observe(flush.appends);
    this.flushDuration.observe(flush.durationMs / 1000);
    this.fsyncs.inc();
  };

  /** Times a job into a histogram, labelled ok or failed. */
  async time<T>(histogram: Histogram<'outcome'>, job: () => Promise<T>): Promise<T> {
    const end = histogram.startTimer();
    try {
      const result = await job();
      end({ outcome: 'ok' });
      return result;
    } catch (error) {
      end({ outcome: 'failed' });
      throw error;
    }
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Serves GET /metrics without a key on a port of its own (LEDGER_METRICS_PORT), for a
   * scraper inside the cluster; the API port answers admin keys only.
   */
  async listen(port: number, host: string): Promise<number> {
    const server = createServer((request, response) => {
      if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
        response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
        return;
      }
      this.text().then(
        (body) => response.writeHead(200, { 'Content-Type': this.contentType }).end(body),
        () => response.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics unavailable\n'),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  /** The port `listen` bound, while it serves. */
  get listeningPort(): number | undefined {
    return this.server ? (this.server.address() as AddressInfo).port : undefined;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
