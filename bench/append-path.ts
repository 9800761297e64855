/**
 * Benchmarks 2 and 3, without HTTP: the accrual command handler against raw appends of
 * equivalent pre-built events to the same store, and raw appends at 1, 16 and 256 concurrent
 * appenders (group commit: fsyncs shared as concurrency rises).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import { transactionStream, withLuhnDigit } from '@ledger/domain';
import {
  AccruePointsCommand,
  ConfigureCoalitionCommand,
  EnrolMemberCommand,
  LedgerApplicationModule,
  RegisterPartnerCommand,
  defaultLedgerConfig,
  systemClock,
  systemMeta,
} from '@ledger/application';
import { EventToAppend } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { BenchLine, bracket, bracketNote } from './lib/report';

/** Runs `count` tasks with at most `concurrency` in flight. */
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

/** An event shaped like a real PointsAccrued with its metadata, for the raw-append baselines. */
const accrualEvent = (i: number, memberId: string): EventToAppend => ({
  eventId: randomUUID(),
  type: 'PointsAccrued',
  data: {
    txId: `p:${i}`,
    partnerId: 'p',
    externalId: String(i),
    memberId,
    amountMinor: 100_000,
    currency: 'RUB',
    points: 10,
    pointValueMinor: 10,
    lotId: `p:${i}`,
    issuerPartnerId: 'p',
    expiresAt: '2028-11-25T00:00:00.000Z',
    occurredAt: '2026-11-25T00:00:00.000Z',
  },
  metadata: {
    eventId: 'x',
    correlationId: 'bench',
    causationId: null,
    actor: { keyId: 'k', role: 'partner', partnerId: 'p' },
    occurredAt: '2026-11-25T00:00:00.000Z',
    prevHash: '0'.repeat(64),
    hash: 'f'.repeat(64),
  },
});

/** The coalition-wide txId reservation an accrual writes beside its PointsAccrued, pre-built. */
const reservationEvent = (i: number, memberId: string): EventToAppend => {
  const accrual = accrualEvent(i, memberId);
  return { ...accrual, type: 'TransactionReserved', data: { txId: `p:${i}`, memberId } };
};

export async function benchAppendPath({ quick, log }: { quick: boolean; log: (s: string) => void }): Promise<BenchLine[]> {
  const members = quick ? 1_000 : 10_000;
  const count = quick ? 5_000 : 50_000;
  const concurrency = 64;
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-append-'));
  const lines: BenchLine[] = [];
  const config = { events: count, members, concurrency, adapter: 'sqlite', synchronous: 'FULL', node: process.version };
  try {
    // Raw appends run before and after the other two, and the ratios are to the mean of the
    // two runs: the machine's speed drifts over the half minute the handlers take.
    const rawRun = async (name: string): Promise<number> => {
      log(`append path: raw appendToStream of ${count} pre-built events, ${concurrency} in flight (${name})`);
      const raw = SqliteEventStore.open(join(dir, `raw-${name}.db`));
      const seconds = await inFlight(count, concurrency, (i) =>
        raw.appendToStream(`member-r${i % members}`, [accrualEvent(i, `r${i % members}`)], { expectedRevision: 'any' }),
      );
      await raw.close();
      return count / seconds;
    };
    const rawBefore = await rawRun('before');

    // An accrual's storage alone: the two events the handler writes in one transaction (the
    // txId reservation on its own stream, the accrual on the member's), pre-built. Its ratio to
    // the single raw append is the most the handler could reach with no decide, hash or encode.
    log(`append path: raw appendToStreams of ${count} pre-built reservation + accrual pairs, ${concurrency} in flight`);
    const pairs = SqliteEventStore.open(join(dir, 'pairs.db'));
    const pairSeconds = await inFlight(count, concurrency, (i) =>
      pairs.appendToStreams([
        { streamId: transactionStream(`p:${i}`), events: [reservationEvent(i, `q${i % members}`)], expectedRevision: 'no_stream' },
        { streamId: `member-q${i % members}`, events: [accrualEvent(i, `q${i % members}`)], expectedRevision: 'any' },
      ]),
    );
    await pairs.close();

    log(`append path: AccruePoints through the command handlers, ${members} members`);
    const store = SqliteEventStore.open(join(dir, 'handlers.db'));
    const app = await NestFactory.createApplicationContext(
      LedgerApplicationModule.forRoot({ store, clock: systemClock, config: defaultLedgerConfig() }),
      { logger: false },
    );
    const bus = app.get(CommandBus);
    const meta = systemMeta('bench');
    await bus.execute(new ConfigureCoalitionCommand({ currency: 'RUB', pointValueMinor: 10, expiryMonths: 24 }, meta));
    await bus.execute(
      new RegisterPartnerCommand(
        { partnerId: 'p', name: 'P', earnRule: { pointsPerUnit: 1, unitMinor: 10_000 }, issuanceFeeBps: 0, breakageShareBps: 0 },
        meta,
      ),
    );
    await inFlight(members, concurrency, (i) =>
      bus.execute(
        new EnrolMemberCommand(
          { memberId: `h${i}`, cardNumber: withLuhnDigit(`38${String(i).padStart(13, '0')}`), enrolledBy: null },
          meta,
        ),
      ),
    );
    const occurredAt = new Date().toISOString();
    const partnerMeta = { correlationId: 'bench', causationId: null, actor: { keyId: 'k', role: 'partner' as const, partnerId: 'p' } };
    const handlerSeconds = await inFlight(count, concurrency, (i) =>
      bus.execute(
        new AccruePointsCommand(
          { partnerId: 'p', externalId: String(i), memberId: `h${i % members}`, amountMinor: 100_000, currency: 'RUB', occurredAt },
          partnerMeta,
        ),
      ),
    );
    await app.close();
    await store.close();
    const rawAfter = await rawRun('after');
    const raw = bracket(rawBefore, rawAfter);
    const rawRate = raw.mean;
    const rawNote = bracketNote('raw', raw, 'events/s');
    const pairRate = count / pairSeconds;
    const handlerRate = count / handlerSeconds;
    lines.push({
      benchmark: '2 append path (no HTTP)',
      metric: 'raw appendToStream events/s, mean of a run before and one after the others',
      value: Math.round(rawRate),
      unit: 'events/s',
      baseline: { name: 'the run before', value: Math.round(rawBefore) },
      ratio: rawAfter / rawBefore,
      ratioNote: `after / before: the drift the mean evens out; ${rawNote}`,
      config,
    });
    lines.push({
      benchmark: '2 append path (no HTTP)',
      metric: 'raw reservation + accrual pairs/s (the storage of an accrual alone)',
      value: Math.round(pairRate),
      unit: 'appends/s',
      baseline: { name: 'raw appendToStream', value: Math.round(rawRate) },
      ratio: pairRate / rawRate,
      ratioNote: `the handler's ceiling against this baseline; ${rawNote}`,
      config,
    });
    lines.push({
      benchmark: '2 append path (no HTTP)',
      metric: 'AccruePoints handler events/s',
      value: Math.round(handlerRate),
      unit: 'events/s',
      baseline: { name: 'raw appendToStream', value: Math.round(rawRate) },
      ratio: handlerRate / rawRate,
      ratioNote: `${(handlerRate / pairRate).toFixed(3)} of the raw reservation + accrual pair; ${rawNote}`,
      target: '≥ 0.5 of raw',
      met: handlerRate / rawRate >= 0.5,
      config,
    });

    // 3: the same raw appends at three concurrencies; flushes are fsyncs of the WAL.
    const rates: { appenders: number; rate: number; flushesPerSecond: number; eventsPerFlush: number }[] = [];
    for (const appenders of [1, 16, 256]) {
      const n = appenders === 1 ? Math.min(count, quick ? 1_000 : 5_000) : count;
      const s = SqliteEventStore.open(join(dir, `group-${appenders}.db`));
      log(`group commit: ${n} appends, ${appenders} concurrent appenders`);
      const seconds = await inFlight(n, appenders, (i) =>
        s.appendToStream(`member-g${i}`, [accrualEvent(i, `g${i}`)], { expectedRevision: 'no_stream' }),
      );
      const { flushes } = s.stats();
      await s.close();
      rates.push({ appenders, rate: n / seconds, flushesPerSecond: flushes / seconds, eventsPerFlush: n / flushes });
    }
    for (const r of rates) {
      lines.push({
        benchmark: '3 group commit',
        metric: `${r.appenders} concurrent appender${r.appenders > 1 ? 's' : ''}: events/s`,
        value: Math.round(r.rate),
        unit: 'events/s',
        baseline: { name: '1 appender', value: Math.round(rates[0].rate) },
        ratio: r.rate / rates[0].rate,
        ratioNote: `${Math.round(r.flushesPerSecond)} fsyncs/s, ${r.eventsPerFlush.toFixed(1)} events per fsync`,
        target: r.appenders > 1 ? 'rises with concurrency' : undefined,
        met: r.appenders > 1 ? r.rate > rates[rates.findIndex((x) => x === r) - 1].rate : undefined,
        config: { ...config, appenders: r.appenders },
      });
    }
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
