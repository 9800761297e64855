/**
 * One hot member: concurrent AccruePoints commands for the same member through the command
 * handlers (no HTTP), on the embedded SQLite store. Every concurrent command races the others
 * to the member's next revision; the losers reload and retry with the store's conflict
 * retry policy. The baseline is the same handler with one writer, in the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import { Unavailable, withLuhnDigit } from '@ledger/domain';
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
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { BenchLine } from './lib/report';

interface HotRun {
  writers: number;
  accruals: number;
  seconds: number;
  /** Mean ms per accrual over the first and the last third of the run. */
  firstThirdMs: number;
  lastThirdMs: number;
  conflicts: number;
  exhausted: number;
}

async function hotRun(dir: string, writers: number, accruals: number): Promise<HotRun> {
  const store = SqliteEventStore.open(join(dir, `hot-${writers}.db`));
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
    await bus.execute(new EnrolMemberCommand({ memberId: 'hot', cardNumber: withLuhnDigit('380000000000001'), enrolledBy: null }, meta));
    const partnerMeta = { correlationId: 'bench', causationId: null, actor: { keyId: 'k', role: 'partner' as const, partnerId: 'p' } };
    const occurredAt = new Date().toISOString();
    const rejectedBefore = store.stats().rejected;
    const finishedAt: number[] = [];
    let exhausted = 0;
    let next = 0;
    const started = process.hrtime.bigint();
    const elapsedMs = () => Number(process.hrtime.bigint() - started) / 1e6;
    await Promise.all(
      Array.from({ length: writers }, async () => {
        for (let i = next++; i < accruals; i = next++) {
          try {
            await bus.execute(
              new AccruePointsCommand(
                { partnerId: 'p', externalId: `r${i}`, memberId: 'hot', amountMinor: 100_000, currency: 'RUB', occurredAt },
                partnerMeta,
              ),
            );
          } catch (error) {
            if (!(error instanceof Unavailable)) throw error;
            exhausted++;
          }
          finishedAt.push(elapsedMs());
        }
      }),
    );
    const seconds = elapsedMs() / 1000;
    const third = Math.floor(accruals / 3);
    const span = (from: number, to: number) => (finishedAt[to - 1] - (from === 0 ? 0 : finishedAt[from - 1])) / (to - from);
    return {
      writers,
      accruals,
      seconds,
      firstThirdMs: span(0, third),
      lastThirdMs: span(accruals - third, accruals),
      conflicts: store.stats().rejected - rejectedBefore,
      exhausted,
    };
  } finally {
    await app.close();
    await store.close();
  }
}

export async function benchHotMember({ quick, log }: { quick: boolean; log: (s: string) => void }): Promise<BenchLine[]> {
  const accruals = quick ? 200 : 600;
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-hot-'));
  try {
    log(`hot member: ${accruals} accruals to one member, 1 writer`);
    const alone = await hotRun(dir, 1, accruals);
    log(`hot member: 1 writer: ${(alone.accruals / alone.seconds).toFixed(1)} accruals/s`);
    const lines: BenchLine[] = [];
    for (const writers of [8, 64]) {
      log(`hot member: ${accruals} accruals to one member, ${writers} concurrent writers`);
      const r = await hotRun(dir, writers, accruals);
      log(
        `hot member: ${writers} writers: ${(r.accruals / r.seconds).toFixed(1)} accruals/s, ${r.conflicts} lost races, ` +
          `${r.exhausted} × 503, ${r.firstThirdMs.toFixed(2)} → ${r.lastThirdMs.toFixed(2)} ms per accrual (first → last third)`,
      );
      lines.push({
        benchmark: '16 hot member (handlers, no HTTP)',
        metric: `${writers} concurrent writers to one member: accruals/s`,
        value: Math.round(r.accruals / r.seconds),
        unit: 'accruals/s',
        baseline: { name: '1 writer to the same member', value: Math.round(alone.accruals / alone.seconds) },
        ratio: r.accruals / r.seconds / (alone.accruals / alone.seconds),
        ratioNote:
          `${r.conflicts} lost races, ${r.exhausted} answered 503 concurrency_exhausted; ` +
          `${r.firstThirdMs.toFixed(2)} ms per accrual over the first third, ${r.lastThirdMs.toFixed(2)} over the last`,
        config: { accruals, writers, adapter: 'sqlite', node: process.version },
      });
    }
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
