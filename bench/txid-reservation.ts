/**
 * What the coalition-wide txId reservation (issue 15, point 1: `TransactionReserved` on
 * `transaction-{txId}` at no_stream before the member append) costs on the write path.
 * The same accruals on the same kind of store (SQLite as services open it: synchronous=FULL,
 * group commits in a worker thread), in the same run, three ways: with the reservation as the
 * service makes it on SQLite (one transaction with the member's events), with the two-step
 * reservation EventStoreDB needs (its own group commit first, the way SQLite did it before),
 * and without any reservation (the baseline):
 *
 *   - through the command handlers (no HTTP): 64 in flight (throughput), and one at a time
 *     (the time one accrual takes on an idle store);
 *   - through the real Nest app over HTTP (bench/servers.ts `ledger`), 64 connections.
 *
 * Runs go in the order ORDER (each mode early and late), each on a fresh store, so drift of
 * the machine (other processes, a warming disk cache) weighs on every mode alike. The other
 * ways are measured only here, through a switch of the poster that nothing else sets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import { withLuhnDigit } from '@ledger/domain';
import {
  AccruePointsCommand,
  ConfigureCoalitionCommand,
  EnrolMemberCommand,
  LedgerApplicationModule,
  MemberTransactionPoster,
  RegisterPartnerCommand,
  defaultLedgerConfig,
  systemClock,
  systemMeta,
} from '@ledger/application';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { BenchLine } from './lib/report';
import { startChildServer } from './lib/child-server';
import { runLoad } from './lib/load';
import { benchMemberId } from './servers';

/** 'atomic': as services run on SQLite; 'two-step': the EventStoreDB path; 'skip': no reservation. */
type Mode = 'atomic' | 'two-step' | 'skip';
const ORDER: Mode[] = ['atomic', 'two-step', 'skip', 'skip', 'two-step', 'atomic'];
const described: Record<Mode, string> = {
  atomic: 'reservation in the member append’s transaction',
  'two-step': 'two-step reservation',
  skip: 'no reservation',
};
const CONCURRENCY = 64;

interface HandlerRun {
  /** Seconds for `concurrent` accruals, CONCURRENCY in flight. */
  concurrentSeconds: number;
  /** Mean ms per accrual, one at a time. */
  sequentialMs: number;
  /** Group commits (fsyncs) during the concurrent part. */
  flushes: number;
  /** CPU time of this process (all threads, the writer's too) during the concurrent part, ms. */
  cpuMs: number;
}

async function inFlight(count: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      for (let i = next++; i < count; i = next++) await task(i);
    }),
  );
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function handlerRun(file: string, mode: Mode, members: number, concurrent: number, sequential: number): Promise<HandlerRun> {
  const store = SqliteEventStore.open(file, { writer: 'worker' });
  const app = await NestFactory.createApplicationContext(
    LedgerApplicationModule.forRoot({ store, clock: systemClock, config: defaultLedgerConfig() }),
    { logger: false },
  );
  try {
    const bus = app.get(CommandBus);
    const meta = systemMeta('bench');
    await bus.execute(new ConfigureCoalitionCommand({ currency: 'RUB', pointValueMinor: 10, expiryMonths: 24 }, meta));
    await bus.execute(
      new RegisterPartnerCommand(
        { partnerId: 'p', name: 'P', earnRule: { pointsPerUnit: 1, unitMinor: 10_000 }, issuanceFeeBps: 0, breakageShareBps: 0 },
        meta,
      ),
    );
    await inFlight(members, CONCURRENCY, (i) =>
      bus.execute(
        new EnrolMemberCommand(
          { memberId: `m${i}`, cardNumber: withLuhnDigit(`37${String(i).padStart(13, '0')}`), enrolledBy: null },
          meta,
        ),
      ),
    );
    if (mode !== 'atomic') app.get(MemberTransactionPoster).unsafeBenchOnlyReservationPath = mode;
    const occurredAt = new Date().toISOString();
    const partnerMeta = { correlationId: 'bench', causationId: null, actor: { keyId: 'k', role: 'partner' as const, partnerId: 'p' } };
    const accrue = (externalId: string, memberId: string) =>
      bus.execute(
        new AccruePointsCommand({ partnerId: 'p', externalId, memberId, amountMinor: 100_000, currency: 'RUB', occurredAt }, partnerMeta),
      );
    const flushesBefore = store.stats().flushes;
    const cpuBefore = process.cpuUsage();
    const concurrentSeconds = await inFlight(concurrent, CONCURRENCY, (i) => accrue(`c${i}`, `m${i % members}`));
    const cpu = process.cpuUsage(cpuBefore);
    const flushes = store.stats().flushes - flushesBefore;
    const sequentialSeconds = await inFlight(sequential, 1, (i) => accrue(`s${i}`, `m${i % members}`));
    return { concurrentSeconds, sequentialMs: (sequentialSeconds * 1000) / sequential, flushes, cpuMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    await app.close();
    await store.close();
  }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

export async function benchTxIdReservation({ quick, log }: { quick: boolean; log: (s: string) => void }): Promise<BenchLine[]> {
  const members = quick ? 200 : 2_000;
  const concurrent = quick ? 1_000 : 10_000;
  const sequential = quick ? 50 : 500;
  // Six HTTP runs of this size: enough for a stable rate at ~1,000 req/s, and the suite stays within its share of the bench's time.
  const requests = quick ? 500 : 5_000;
  // The smoke run only checks that every way still runs: once each.
  const order: Mode[] = quick ? ['atomic', 'two-step', 'skip'] : ORDER;
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-txid-'));
  const config = { members, concurrency: CONCURRENCY, adapter: 'sqlite', writer: 'worker', order: order.join(','), node: process.version };
  try {
    const handler: Record<Mode, HandlerRun[]> = { atomic: [], 'two-step': [], skip: [] };
    // Discarded: the first run in this process also pays for compiling the code paths, which
    // would weigh on whichever mode came first.
    log('txid reservation: handlers, warm-up run (discarded)');
    await handlerRun(join(dir, 'handlers-warm-up.db'), 'atomic', members, Math.min(concurrent, 2_000), Math.min(sequential, 100));
    for (const [n, mode] of order.entries()) {
      log(`txid reservation: handlers, ${described[mode]}: ${concurrent} accruals ${CONCURRENCY} in flight, ${sequential} one at a time`);
      const r = await handlerRun(join(dir, `handlers-${n}.db`), mode, members, concurrent, sequential);
      log(
        `txid reservation: handlers ${mode}: ${Math.round(concurrent / r.concurrentSeconds)} accruals/s, ` +
          `${r.sequentialMs.toFixed(2)} ms per accrual alone, ${r.flushes} fsyncs, ${(r.cpuMs / concurrent).toFixed(3)} CPU ms per accrual`,
      );
      handler[mode].push(r);
    }
    const rate = (mode: Mode) => (concurrent * handler[mode].length) / sum(handler[mode].map((r) => r.concurrentSeconds));
    const aloneMs = (mode: Mode) => sum(handler[mode].map((r) => r.sequentialMs)) / handler[mode].length;
    const perAccrualMs = (mode: Mode) => 1000 / rate(mode);
    const fsyncsPerAccrual = (mode: Mode) => sum(handler[mode].map((r) => r.flushes)) / (concurrent * handler[mode].length);
    // Less sensitive than wall time to other work on the machine.
    const cpuPerAccrualMs = (mode: Mode) => sum(handler[mode].map((r) => r.cpuMs)) / (concurrent * handler[mode].length);

    const serve: Record<Mode, { rps: number; p50: number; p99: number; errors: number }[]> = { atomic: [], 'two-step': [], skip: [] };
    for (const [n, mode] of order.entries()) {
      log(`txid reservation: ledger app over HTTP, ${described[mode]}: ${requests} accruals, ${CONCURRENCY} connections`);
      const runDir = join(dir, `serve-${n}`);
      const server = await startChildServer(['ledger', runDir, String(members), '0', ...(mode === 'atomic' ? [] : [mode])]);
      try {
        const occurredAt = new Date(Date.now() - 60_000).toISOString();
        const r = await runLoad({
          url: server.url,
          connections: CONCURRENCY,
          total: requests,
          request: (i) => ({
            method: 'POST',
            path: '/v1/accruals',
            headers: { authorization: `Bearer ${server.key}` },
            body: JSON.stringify({
              externalId: `h${i}`,
              memberId: benchMemberId(i % members),
              amountMinor: 150_000,
              currency: 'RUB',
              occurredAt,
            }),
          }),
        });
        if (r.errors > 0)
          throw new Error(`txid reservation bench: ${r.errors} failed requests (${r.firstError ?? JSON.stringify(r.statuses)})`);
        log(
          `txid reservation: HTTP ${mode}: ${Math.round(r.requestsPerSecond)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms`,
        );
        serve[mode].push({ rps: r.requestsPerSecond, p50: r.p50Ms, p99: r.p99Ms, errors: r.errors });
      } finally {
        await server.stop();
      }
    }
    const serveRate = (mode: Mode) => (requests * serve[mode].length) / sum(serve[mode].map((r) => requests / r.rps));
    const serveP50 = (mode: Mode) => sum(serve[mode].map((r) => r.p50)) / serve[mode].length;
    const serveP99 = (mode: Mode) => sum(serve[mode].map((r) => r.p99)) / serve[mode].length;

    const benchmark = '19 txId reservation cost';
    const lines: BenchLine[] = [];
    // The cost of each way of reserving, against the same handlers and app without any.
    for (const mode of ['atomic', 'two-step'] as const) {
      lines.push(
        {
          benchmark,
          metric: `handlers, ${CONCURRENCY} in flight, ${described[mode]}: accruals/s`,
          value: Math.round(rate(mode)),
          unit: 'accruals/s',
          baseline: { name: 'same handlers, no reservation', value: Math.round(rate('skip')) },
          ratio: rate(mode) / rate('skip'),
          ratioNote:
            `${perAccrualMs(mode).toFixed(3)} vs ${perAccrualMs('skip').toFixed(3)} ms of throughput per accrual; ` +
            `${fsyncsPerAccrual(mode).toFixed(3)} vs ${fsyncsPerAccrual('skip').toFixed(3)} fsyncs per accrual; ` +
            `${cpuPerAccrualMs(mode).toFixed(3)} vs ${cpuPerAccrualMs('skip').toFixed(3)} CPU ms per accrual`,
          config: { ...config, accruals: concurrent, runsPerMode: handler[mode].length },
        },
        {
          benchmark,
          metric: `handlers, one at a time, ${described[mode]}: ms per accrual`,
          value: Math.round(aloneMs(mode) * 1000) / 1000,
          unit: 'ms',
          baseline: { name: 'same handlers, no reservation', value: Math.round(aloneMs('skip') * 1000) / 1000 },
          ratio: aloneMs(mode) / aloneMs('skip'),
          ratioNote: `${aloneMs(mode) >= aloneMs('skip') ? '+' : ''}${(aloneMs(mode) - aloneMs('skip')).toFixed(3)} ms per accrual`,
          config: { ...config, accruals: sequential, concurrency: 1, runsPerMode: handler[mode].length },
        },
        {
          benchmark,
          metric: `HTTP (Nest app), ${CONCURRENCY} connections, ${described[mode]}: accruals/s`,
          value: Math.round(serveRate(mode)),
          unit: 'req/s',
          baseline: { name: 'same app, no reservation', value: Math.round(serveRate('skip')) },
          ratio: serveRate(mode) / serveRate('skip'),
          ratioNote:
            `p50 ${serveP50(mode).toFixed(2)} vs ${serveP50('skip').toFixed(2)} ms, ` +
            `p99 ${serveP99(mode).toFixed(2)} vs ${serveP99('skip').toFixed(2)} ms`,
          config: { ...config, requests, runsPerMode: serve[mode].length, server: 'bench/servers.ts ledger' },
        },
      );
    }
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
