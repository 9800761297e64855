import { mkdirSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { LedgerApplicationModule, systemClock } from '@ledger/application';
import { EventStore, openEventStore } from '@ledger/event-store';
import { readServiceEnv } from './env-config';

export interface LedgerContext {
  store: EventStore;
  commands: CommandBus;
  queries: QueryBus;
  close(): Promise<void>;
}

/** The use cases without HTTP, on the store the environment names: for CLI commands. */
export async function openLedgerContext(): Promise<LedgerContext> {
  const env = readServiceEnv();
  mkdirSync(env.dataDir, { recursive: true });
  const { store } = openEventStore(env);
  const app = await NestFactory.createApplicationContext(
    LedgerApplicationModule.forRoot({ store, clock: systemClock, config: env.ledger }),
    { logger: false },
  );
  await app.init();
  return {
    store,
    commands: app.get(CommandBus),
    queries: app.get(QueryBus),
    async close() {
      await app.close();
      await store.close();
    },
  };
}
