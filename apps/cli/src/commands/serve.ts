import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandBus } from '@nestjs/cqrs';
import { systemClock } from '@ledger/application';
import { Conflict, Unavailable } from '@ledger/domain';
import { openEventStore } from '@ledger/event-store';
import { PostgresReadStore, describeReadStoreLocation } from '@ledger/projections';
import { ApiModuleOptions } from '@ledger/api/api.module';
import { CreateAppOptions, createLedgerApp } from '@ledger/api/create-app';
import { ReadModelAccess } from '@ledger/api/projections/read-model';
import { createLogger } from '@ledger/api/http/logger';
import { LedgerMetrics } from '@ledger/api/http/metrics';
import { DemoKeys, seedDemo } from '../demo-seed';
import { readServiceEnv } from '../env-config';
import { installGracefulShutdown } from '../graceful-shutdown';

const BANNER_LEAD_MS = 50;

/**
 * Starts the HTTP API; on an empty store with LEDGER_DEMO on, seeds the demo coalition first.
 * The projector runs in this process and writes the read store ($LEDGER_READ_STORE, default
 * $LEDGER_DATA_DIR/read.db), unless LEDGER_PROJECTOR=off: then `ledger project` writes it and
 * the API only reads it.
 */
export async function serve(): Promise<void> {
  const env = readServiceEnv();
  const logger = createLogger({ level: env.logLevel });
  mkdirSync(env.dataDir, { recursive: true });
  const metrics = new LedgerMetrics({ processMetrics: true });
  // A PostgreSQL read store is opened (and migrated) first: a bad URL or missing rights stop the start here, in one line.
  const postgres = env.readStore.kind === 'postgres' ? await PostgresReadStore.open(env.readStore.url) : undefined;
  const opened = openEventStore(env, { sqlite: { onFlush: metrics.observeFlush } });
  const readModel = {
    projector: env.projector ? 'in-process' : 'external',
    file: env.readStore.kind === 'sqlite' ? env.readStore.file : undefined,
    postgres,
  } as const;
  const options: CreateAppOptions & ApiModuleOptions = {
    store: opened.store,
    clock: systemClock,
    config: env.ledger,
    logger,
    accessLog: true,
    metrics,
    metricsPort: env.metricsPort,
    metricsHost: env.host,
    readyMaxLag: env.readyMaxLag,
    rateLimitPerSecond: env.rateLimitPerSecond,
    readModel,
    holdLapseIntervalMs: env.holdLapseIntervalMs,
    expiryIntervalMs: env.expiryIntervalMs,
    tierReviewIntervalMs: env.tierReviewIntervalMs,
    pendingReleaseIntervalMs: env.pendingReleaseIntervalMs,
    birthdayIntervalMs: env.birthdayIntervalMs,
  };
  const app = await createLedgerApp(options);
  installGracefulShutdown({ app, store: opened.store, logger, graceMs: env.shutdownGraceMs });
  const empty = (await opened.store.readAll({ maxCount: 1 })).length === 0;
  let demoKeys: DemoKeys | undefined;
  if (env.demo && empty) {
    try {
      demoKeys = await seedDemo(app.get(CommandBus), systemClock.now());
    } catch (err) {
      // Another instance started on the same empty store seeded it first.
      if (!(err instanceof Conflict)) throw err;
      logger.info({ reason: err.message }, 'demo coalition seeded by another instance');
    }
  }
  if (demoKeys) {
    const file = join(env.dataDir, 'demo-keys.json');
    writeFileSync(file, JSON.stringify(demoKeys, null, 2) + '\n', { mode: 0o600 });
    logger.info({ keysFile: file }, 'demo coalition seeded');
    // The banner's first curl reads a balance: let the projector have the seed first.
    const head = await opened.store.readAll({ direction: 'backwards', maxCount: 1 });
    if (env.projector && head.length > 0) {
      await app
        .get(ReadModelAccess)
        .atLeast(head[0].position)
        .catch((err: unknown) => {
          // Not there within the wait: the API still starts; reads catch up shortly.
          if (!(err instanceof Unavailable)) throw err;
          logger.warn({ reason: err.message }, 'read models behind the demo seed');
        });
    }
  }
  await app.listen(env.port, env.host);
  const url = `http://localhost:${env.port}`;
  // The banner goes out before the "listening" line, so whoever waits for that line has it.
  if (demoKeys) process.stderr.write(demoBanner(url, demoKeys));
  else if (env.demo) process.stderr.write(`\nDemo keys (from the first start) are in ${join(env.dataDir, 'demo-keys.json')}\n\n`);
  // stderr and stdout are two pipes, read in no particular order: give the banner a moment
  // to be read before the line a supervisor (or a test) waits for.
  if (env.demo) await new Promise((resolve) => setTimeout(resolve, BANNER_LEAD_MS));
  logger.info(
    {
      url,
      store: opened.kind,
      where: opened.where,
      demo: env.demo,
      readStore: describeReadStoreLocation(env.readStore),
      projector: readModel.projector,
    },
    'ledger listening',
  );
}

function demoBanner(url: string, keys: DemoKeys): string {
  const fm = keys.partners.freshmart.key;
  const bistro = keys.partners.bistro.key;
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return `
Demo coalition ready: RUB, 1 point = 10 kopecks; partners freshmart, bistro, skyair; members demo-member-01..10.
  admin key:     ${keys.admin.key}
  finance key:   ${keys.finance.key}
  auditor key:   ${keys.auditor.key}
  freshmart key: ${fm}
  bistro key:    ${bistro}
  skyair key:    ${keys.partners.skyair.key}

Try it:
  curl -s ${url}/v1/members/demo-member-01 -H 'Authorization: Bearer ${keys.auditor.key}'
  curl -s -X POST ${url}/v1/accruals -H 'Authorization: Bearer ${fm}' -H 'Content-Type: application/json' \\
    -d '{"externalId":"till-1-0001","memberId":"demo-member-01","amountMinor":350000,"currency":"RUB","occurredAt":"${now}"}'
  curl -s -X POST ${url}/v1/redemptions -H 'Authorization: Bearer ${bistro}' -H 'Content-Type: application/json' \\
    -d '{"externalId":"bill-77","memberId":"demo-member-01","points":30,"occurredAt":"${now}"}'

`;
}
