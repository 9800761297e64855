/**
 * The HTTP servers the write-path benchmark loads, each in its own process so the load
 * generator does not share their event loop:
 *
 *   adapter <dir>             bare fastify; POST /insert does one append through the project's
 *                             SqliteEventStore as services open it (synchronous=FULL, group
 *                             commits in a worker thread), nothing else
 *                             (the bare baseline with no project code is bare-server.ts)
 *   existing <dir>            the real Nest app over an existing store <dir>/ledger.db, with the
 *                             projector in process writing <dir>/read.db (admin key: BENCH_ADMIN_KEY)
 *   ledger <dir> <members> <history> [skip|two-step]
 *                             the real Nest app on the store as services open it (read models in <dir>/read.db,
 *                             projected as `ledger serve` projects them), with a coalition, one partner,
 *                             `members` enrolled members and `history` events of prior history; `skip` and
 *                             `two-step` change how member transactions reserve their txId, only to measure
 *                             what the reservation costs (bench/txid-reservation.ts)
 *
 * Prints one JSON line `{"ready":true,"port":…,"key":…}` on stdout when listening.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { CommandBus } from '@nestjs/cqrs';
import Fastify from 'fastify';
import { withLuhnDigit } from '@ledger/domain';
import {
  ConfigureCoalitionCommand,
  EnrolMemberCommand,
  IssueApiKeyCommand,
  MemberTransactionPoster,
  RegisterPartnerCommand,
  defaultLedgerConfig,
  systemClock,
  systemMeta,
} from '@ledger/application';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { createLedgerApp } from '@ledger/api/create-app';
import { createLogger } from '@ledger/api/http/logger';
import { appendSyntheticHistory } from '@ledger/projections/testing/synthetic-history';

export const BENCH_PARTNER = 'benchmart';
export const benchMemberId = (i: number) => `bm-${i}`;

async function adapter(dir: string): Promise<void> {
  const store = SqliteEventStore.open(join(dir, 'adapter.db'), { writer: 'worker' });
  const app = Fastify({ logger: false });
  let n = 0;
  app.post('/insert', async (request, reply) => {
    const body = request.body as Record<string, unknown>;
    const result = await store.appendToStream(`bench-${n++}`, [{ eventId: randomUUID(), type: 'Inserted', data: body, metadata: {} }], {
      expectedRevision: 'any',
    });
    return reply.code(201).send({ position: result.position });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  process.stdout.write(JSON.stringify({ ready: true, port }) + '\n');
}

async function ledger(dir: string, members: number, history: number, reservation?: 'skip' | 'two-step'): Promise<void> {
  const store = SqliteEventStore.open(join(dir, 'ledger.db'), { writer: 'worker' });
  const app = await createLedgerApp({
    store,
    clock: systemClock,
    config: defaultLedgerConfig(),
    logger: createLogger({ level: 'silent' }),
    // The read models as `ledger serve` keeps them: a file, projected beside the requests.
    readModel: { projector: 'in-process', file: join(dir, 'read.db') },
  });
  const bus = app.get(CommandBus);
  const meta = systemMeta('bench');
  await bus.execute(new ConfigureCoalitionCommand({ currency: 'RUB', pointValueMinor: 10, expiryMonths: 24 }, meta));
  await bus.execute(
    new RegisterPartnerCommand(
      {
        partnerId: BENCH_PARTNER,
        name: 'Bench Mart',
        earnRule: { pointsPerUnit: 1, unitMinor: 10_000 },
        issuanceFeeBps: 100,
        breakageShareBps: 5000,
      },
      meta,
    ),
  );
  const key = await bus.execute(new IssueApiKeyCommand({ partnerId: BENCH_PARTNER }, meta));
  if (history > 0) {
    // Prior history of other members, so stream loads are measured against a grown log.
    await appendSyntheticHistory(store, {
      events: history,
      members: Math.max(1000, Math.floor(history / 25)),
      existingPartners: [BENCH_PARTNER],
      seed: 7,
      concurrency: 256,
    });
  }
  const enrolBatch = 256;
  for (let from = 0; from < members; from += enrolBatch) {
    await Promise.all(
      Array.from({ length: Math.min(enrolBatch, members - from) }, (_, k) => {
        const i = from + k;
        return bus.execute(
          new EnrolMemberCommand(
            { memberId: benchMemberId(i), cardNumber: withLuhnDigit(`39${String(i).padStart(13, '0')}`), enrolledBy: BENCH_PARTNER },
            meta,
          ),
        );
      }),
    );
  }
  if (reservation) app.get(MemberTransactionPoster).unsafeBenchOnlyReservationPath = reservation;
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  process.stdout.write(JSON.stringify({ ready: true, port, key: key.key }) + '\n');
}

export const BENCH_ADMIN_KEY = 'bench-admin-key';

async function existing(dir: string): Promise<void> {
  const store = SqliteEventStore.open(join(dir, 'ledger.db'), { writer: 'worker' });
  const app = await createLedgerApp({
    store,
    clock: systemClock,
    config: { ...defaultLedgerConfig(), adminKey: BENCH_ADMIN_KEY },
    logger: createLogger({ level: 'silent' }),
    readModel: { projector: 'in-process', file: join(dir, 'read.db') },
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  process.stdout.write(JSON.stringify({ ready: true, port, key: BENCH_ADMIN_KEY }) + '\n');
}

// Run only as the child process; the benchmark imports the names above.
if (require.main === module) {
  const [mode, dir, a, b, c] = process.argv.slice(2);
  const started =
    mode === 'adapter'
      ? adapter(dir)
      : mode === 'existing'
        ? existing(dir)
        : ledger(dir, Number(a), Number(b), c === 'skip' || c === 'two-step' ? c : undefined);
  started.catch((err) => {
    process.stderr.write(`bench server failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}

// Exit normally on a signal so `node --cpu-prof` can write its profile.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
