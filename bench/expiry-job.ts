/**
 * Benchmark 18: the expiry job over 100,000 due lots in a 1M-event store (--quick: 5,000 in
 * 50,000 events), beside `ledger rebuild` of the read models of the same store in the same
 * run. The store is the bulk October history (bench/lib/bulk-history.ts); the rebuild is the
 * one the job then reads its due-lots index from: made once per run for that history (by this
 * benchmark, or by an earlier one of the run over the same history) and timed when it was
 * made. `until` is the expiry of the 100,000th lot in due order, and the job runs as the
 * API's does: the index paged, one ExpireDueLots command per member through the real handler,
 * appended to the SQLite store, as many members at once as `ledger expire` takes by default.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import { FixedClock, LedgerApplicationModule, defaultLedgerConfig, systemMeta } from '@ledger/application';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { READ_STORE_CACHE_MIB_PROJECTOR, READ_STORE_FILE, ReadStore } from '@ledger/projections';
import { EXPIRY_CLI_CONCURRENCY_DEFAULT, runExpiry } from '@ledger/api/expiry/expiry-run';
import { copyProjectedBulkHistory } from './lib/bulk-history';
import { BenchLine, machine } from './lib/report';

const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;

export async function benchExpiryJob({ quick, log }: { quick: boolean; log: (s: string) => void }): Promise<BenchLine[]> {
  const events = quick ? 50_000 : 1_000_000;
  const dueLots = quick ? 5_000 : 100_000;
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-expiry-'));
  try {
    const file = join(dir, 'ledger.db');
    log(`expiry: writing ${events} events of October history and its read models`);
    const written = await copyProjectedBulkHistory({
      file,
      events,
      members: Math.round(events / 25),
      startAt: '2026-10-01T00:00:00.000Z',
      endAt: '2026-11-01T00:00:00.000Z',
    });

    // `ledger rebuild` of the same store: what the job's index comes from.
    const rebuild = written.rebuild;
    log(`expiry: the read models of ${rebuild.events} events were rebuilt in ${rebuild.seconds.toFixed(1)} s`);
    const store = SqliteEventStore.open(file);
    const readStore = ReadStore.open(join(dir, READ_STORE_FILE), { cacheMiB: READ_STORE_CACHE_MIB_PROJECTOR });
    let app: Awaited<ReturnType<typeof NestFactory.createApplicationContext>> | undefined;
    try {
      // The moment the `dueLots`-th open lot expires: every lot up to it is due.
      const row = readStore.db
        .prepare('SELECT expires_at AS expiresAt FROM lots WHERE points > 0 ORDER BY expires_at, member_id, lot_id LIMIT 1 OFFSET ?')
        .get(dueLots - 1) as { expiresAt: string } | undefined;
      if (row === undefined) throw new Error(`the generated store has fewer than ${dueLots} open lots`);
      const until = new Date(row.expiresAt);
      const expected = readStore.db.prepare('SELECT count(*) AS n FROM lots WHERE points > 0 AND expires_at <= ?').get(row.expiresAt) as {
        n: number;
      };

      // The job as the API runs it, its clock at `until`.
      app = await NestFactory.createApplicationContext(
        LedgerApplicationModule.forRoot({ store, clock: new FixedClock(until), config: defaultLedgerConfig() }),
        { logger: false },
      );
      log(`expiry: lapsing ${expected.n} due lots (until ${until.toISOString()})`);
      const started = process.hrtime.bigint();
      let shown = 0;
      const result = await runExpiry(readStore.createReader(), app.get(CommandBus), until, systemMeta('bench-expiry'), {
        concurrency: EXPIRY_CLI_CONCURRENCY_DEFAULT,
        onProgress: (done, total) => {
          if (done - shown >= 10_000 || done === total) log(`  ${(shown = done)} of ${total} members`);
        },
      });
      const total = seconds(started);
      if (result.lotsExpired !== expected.n) throw new Error(`the job lapsed ${result.lotsExpired} lots, ${expected.n} were due`);
      const rate = result.lotsExpired / total;
      const config = {
        events: written.events,
        members: written.members,
        dueLots: expected.n,
        dueMembers: result.due.members.length,
        concurrency: EXPIRY_CLI_CONCURRENCY_DEFAULT,
        adapter: 'sqlite',
        readStore: 'sqlite',
        source: 'bulk history written straight into the SQLite file (real event shapes, metadata and hash chain)',
        ...machine(),
      };
      const rebuildRate = rebuild.events / rebuild.seconds;
      return [
        {
          benchmark: '18 expiry job',
          metric: `events/s lapsing ${expected.n.toLocaleString('en-US')} due lots of ${result.due.members.length.toLocaleString('en-US')} members in a ${written.events.toLocaleString('en-US')}-event store`,
          value: Math.round(rate),
          unit: 'events/s',
          baseline: { name: 'ledger rebuild of the same store', value: Math.round(rebuildRate) },
          ratio: rate / rebuildRate,
          ratioNote: `one PointsExpired per lot, one ExpireDueLots command (load + append) per member`,
          config,
        },
        {
          benchmark: '18 expiry job',
          metric: `total time lapsing ${expected.n.toLocaleString('en-US')} due lots (index paged, every member loaded and appended)`,
          value: Math.round(total * 100) / 100,
          unit: 's',
          baseline: { name: 'ledger rebuild of the same store', value: Math.round(rebuild.seconds * 100) / 100 },
          ratio: total / rebuild.seconds,
          config,
        },
      ];
    } finally {
      await app?.close();
      readStore.close();
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
