/**
 * Projection catch-up rate versus a bare `readAll` scan of the same store, in the same run.
 *
 *   npm run build && node -r ./bin/aliases.js dist/bench/projection-catchup.js [--events 1000000] [--reuse]
 *
 * The store is written by direct appends of a synthetic history (libs/projections
 * testing/synthetic-history: decider-made member events with real metadata and hash chain,
 * Pareto-weighted members, ~35% redemptions at random partners, ~2% reversals), not through
 * HTTP or the command handlers: building 1M events that way would dominate the run.
 * `--reuse` keeps the generated store in bench/.data between runs. `--postgres URL` (or
 * LEDGER_BENCH_POSTGRES_URL) also projects the same store into a PostgreSQL read store, in a
 * schema of its own dropped afterwards, after the SQLite run.
 */
import { existsSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { EventStore, RecordedEvent } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import pg from 'pg';
import {
  PROJECTION_BATCH_SIZE_DEFAULT,
  PostgresReadStore,
  ProjectionRunner,
  READ_STORE_CACHE_MIB_PROJECTOR,
  ReadModelFlushThread,
  ReadStore,
  catchUpWriter,
  headPosition,
} from '@ledger/projections';
import { appendSyntheticHistory } from '@ledger/projections/testing/synthetic-history';
import { threadCpuSeconds } from './lib/thread-cpu';

export interface ProjectionCatchupOptions {
  events: number;
  dataDir: string;
  reuse: boolean;
  batchSize?: number;
  /** Also project into a PostgreSQL read store at this server (a fresh schema, dropped afterwards). */
  postgresUrl?: string;
  /** Project only the log up to this position into PostgreSQL (default: all of it). */
  postgresUpTo?: number;
  log?: (line: string) => void;
}

export interface ProjectionCatchupResult {
  config: {
    events: number;
    adapter: 'sqlite';
    source: string;
    batchSize: number;
    cacheMiB: number;
    writer: string;
    node: string;
    cpus: number;
  };
  scan: { events: number; seconds: number; eventsPerSecond: number };
  projection: {
    events: number;
    seconds: number;
    eventsPerSecond: number;
    /** CPU seconds of this thread over the catch-up: reading the log, decoding and staging. */
    stagingCpuSeconds?: number;
    /** Seconds the flush thread spent writing the batches. */
    writingSeconds?: number;
  };
  /** projection events/s ÷ scan events/s. */
  ratio: number;
  /** The same catch-up into PostgreSQL; ratio against the same scan. */
  postgres?: { events: number; seconds: number; eventsPerSecond: number; ratio: number; server: string };
}

/** Projects the whole store into a fresh schema of the PostgreSQL at `url`, then drops the schema. */
async function postgresCatchup(store: EventStore, url: string, batchSize: number | undefined, head: number) {
  const schema = `ledger_bench_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  try {
    const scoped = new URL(url);
    scoped.searchParams.set('options', `-c search_path=${schema}`);
    const readStore = await PostgresReadStore.open(scoped.toString());
    try {
      const runner = new ProjectionRunner(store, readStore, { batchSize });
      const started = process.hrtime.bigint();
      await runner.runUntil(head);
      return { events: runner.eventsApplied(), seconds: seconds(started), server: readStore.where };
    } finally {
      await readStore.close();
    }
  } finally {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

/** Reads all of $all the way the port allows, page by page, touching each event once: the baseline of lines 4 and 6. */
export async function bareScan(store: EventStore): Promise<number> {
  let count = 0;
  let last: number | undefined;
  let checksum = 0;
  for (;;) {
    // fromPosition is inclusive; the last event of the previous page comes back first.
    const page: RecordedEvent[] = await store.readAll({ fromPosition: last, maxCount: 1001 });
    let fresh = 0;
    for (const e of page) {
      if (last !== undefined && e.position <= last) continue;
      last = e.position;
      checksum += e.type.length; // touch the decoded event, as a consumer would
      fresh += 1;
    }
    count += fresh;
    if (fresh === 0) break;
  }
  if (checksum === 0 && count > 0) throw new Error('unreachable');
  return count;
}

const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;

/** The two threads' shares of a catch-up's time, for its line: which of them bounds it. */
export function limitsNote(p: ProjectionCatchupResult['projection']): string {
  const cpu = p.stagingCpuSeconds === undefined ? 'unknown' : `${p.stagingCpuSeconds.toFixed(1)} s`;
  const writing = p.writingSeconds === undefined ? 'unknown' : `${p.writingSeconds.toFixed(1)} s`;
  return `of its ${p.seconds.toFixed(1)} s, reading and staging took ${cpu} of CPU on the calling thread, the flush thread wrote for ${writing}`;
}

export async function runProjectionCatchupBench(options: ProjectionCatchupOptions): Promise<ProjectionCatchupResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const storeFile = join(options.dataDir, 'ledger.db');
  const readFile = join(options.dataDir, 'read.db');
  if (!options.reuse) rmSync(options.dataDir, { recursive: true, force: true });
  let store = SqliteEventStore.open(storeFile);
  let source = 'synthetic history appended directly to the store (decider-made events, real metadata)';
  const present = (await headPosition(store)) ?? 0;
  if (present < options.events) {
    if (present > 0) {
      await store.close();
      rmSync(options.dataDir, { recursive: true, force: true });
      store = SqliteEventStore.open(storeFile);
    }
    log(`generating ${options.events} events in ${storeFile} ...`);
    const started = process.hrtime.bigint();
    let shown = 0;
    await appendSyntheticHistory(store, {
      events: options.events,
      members: Math.max(100, Math.round(options.events / 20)),
      partners: 8,
      seed: 42,
      onProgress: (n) => {
        if (n - shown >= 100_000) {
          shown = n;
          log(`  ${n} events`);
        }
      },
    });
    log(`generated in ${seconds(started).toFixed(1)} s`);
  } else {
    source = `existing store ${storeFile} (reused; how it was written is up to whoever wrote it)`;
  }
  // Reopen so both runs start from the same connection state.
  await store.close();
  store = SqliteEventStore.open(storeFile);

  await bareScan(store); // warm the OS page cache so neither run pays for the first read of the file
  let started = process.hrtime.bigint();
  const scanned = await bareScan(store);
  const scanSeconds = seconds(started);

  for (const suffix of ['', '-wal', '-shm']) if (existsSync(readFile + suffix)) rmSync(readFile + suffix);
  // As `ledger rebuild` and `ledger project` run it: the projector's page cache and batch size,
  // staged on this thread and written by a flush thread.
  const readStore = ReadStore.open(readFile, { cacheMiB: READ_STORE_CACHE_MIB_PROJECTOR });
  const writer = catchUpWriter(readStore);
  const runner = new ProjectionRunner(store, readStore, { batchSize: options.batchSize, writer });
  const head = await headPosition(store);
  const cpuBefore = threadCpuSeconds();
  started = process.hrtime.bigint();
  await runner.runUntil(head!);
  const projectionSeconds = seconds(started);
  const cpuAfter = threadCpuSeconds();
  // What bounds the catch-up: this thread's reading and staging, or the flush thread's writing.
  const stagingCpuSeconds = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
  const writingSeconds = writer instanceof ReadModelFlushThread ? writer.writingSeconds() : undefined;
  const projected = runner.eventsApplied();
  readStore.close();
  let postgres: ProjectionCatchupResult['postgres'];
  if (options.postgresUrl) {
    log('projecting the same store into PostgreSQL ...');
    const r = await postgresCatchup(store, options.postgresUrl, options.batchSize, Math.min(head!, options.postgresUpTo ?? head!));
    const eventsPerSecond = Math.round(r.events / r.seconds);
    postgres = { ...r, eventsPerSecond, ratio: 0 };
  }
  await store.close();

  const scan = { events: scanned, seconds: scanSeconds, eventsPerSecond: Math.round(scanned / scanSeconds) };
  const projection = {
    events: projected,
    seconds: projectionSeconds,
    eventsPerSecond: Math.round(projected / projectionSeconds),
    stagingCpuSeconds,
    writingSeconds,
  };
  if (postgres) postgres.ratio = Math.round((postgres.eventsPerSecond / scan.eventsPerSecond) * 1000) / 1000;
  return {
    postgres,
    config: {
      events: scanned,
      adapter: 'sqlite',
      source,
      batchSize: options.batchSize ?? PROJECTION_BATCH_SIZE_DEFAULT,
      cacheMiB: READ_STORE_CACHE_MIB_PROJECTOR,
      writer: 'staged on the calling thread, written by a flush thread (catchUpWriter)',
      node: process.version,
      cpus: cpus().length,
    },
    scan,
    projection,
    ratio: Math.round((projection.eventsPerSecond / scan.eventsPerSecond) * 1000) / 1000,
  };
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

if (require.main === module) {
  const events = Number(argValue('--events') ?? 1_000_000);
  const batch = argValue('--batch');
  if (!Number.isSafeInteger(events) || events < 1) throw new Error('--events must be a positive integer');
  const dataDir = argValue('--dir') ?? join(process.cwd(), 'bench', '.data', `projection-catchup-${events}`);
  const postgresUrl = argValue('--postgres') ?? process.env.LEDGER_BENCH_POSTGRES_URL;
  runProjectionCatchupBench({
    events,
    dataDir,
    reuse: process.argv.includes('--reuse'),
    batchSize: batch ? Number(batch) : undefined,
    postgresUrl,
  })
    .then((r) => {
      const rate = (x: { eventsPerSecond: number }) => `${x.eventsPerSecond.toLocaleString('en-US')} events/s`;
      process.stdout.write(
        [
          `projection catch-up, ${r.config.events} events, sqlite, batch ${r.config.batchSize}, cache ${r.config.cacheMiB} MiB, node ${r.config.node}, ${r.config.cpus} CPUs`,
          `  store: ${r.config.source}`,
          `  bare readAll scan: ${r.scan.seconds.toFixed(2)} s  ${rate(r.scan)}`,
          `  projection:        ${r.projection.seconds.toFixed(2)} s  ${rate(r.projection)}  (${limitsNote(r.projection)})`,
          `  ratio (projection / scan): ${r.ratio}`,
          ...(r.postgres
            ? [
                `  projection into PostgreSQL: ${r.postgres.seconds.toFixed(2)} s  ${rate(r.postgres)}  ratio ${r.postgres.ratio}  (${r.postgres.server})`,
              ]
            : []),
          JSON.stringify(r),
          '',
        ].join('\n'),
      );
      if (!process.argv.includes('--reuse')) rmSync(dataDir, { recursive: true, force: true });
    })
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    });
}
