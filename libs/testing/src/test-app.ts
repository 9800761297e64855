import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { withLuhnDigit } from '@ledger/domain';
import { FixedClock, defaultLedgerConfig } from '@ledger/application';
import { EventStore } from '@ledger/event-store';
import { CreateAppOptions, createLedgerApp } from '@ledger/api/create-app';
import { LedgerLogger, createLogger } from '@ledger/api/http/logger';

export const TEST_ADMIN_KEY = 'test-admin-key-not-for-production';
export const TEST_NOW = '2026-11-20T12:00:00.000Z';

export interface TestApp {
  app: NestFastifyApplication;
  store: EventStore;
  clock: FixedClock;
  http: () => ReturnType<typeof request>;
  admin: { Authorization: string };
  dataDir?: string;
  close(): Promise<void>;
}

/** A temp directory that the caller removes. */
export const tempDir = (prefix = 'ledger-test-') => mkdtempSync(join(tmpdir(), prefix));

/** The real Nest app on the given store, with a pinned clock and an admin key from config. */
export async function startTestApp(
  store: EventStore,
  opts: { dataDir?: string; logger?: LedgerLogger; accessLog?: boolean; app?: Partial<CreateAppOptions> } = {},
): Promise<TestApp> {
  const clock = new FixedClock(new Date(TEST_NOW));
  const app = await createLedgerApp({
    store,
    clock,
    config: { ...defaultLedgerConfig(), adminKey: TEST_ADMIN_KEY },
    logger: opts.logger ?? createLogger({ level: 'silent' }),
    accessLog: opts.accessLog,
    ...opts.app,
  });
  return {
    app,
    store,
    clock,
    http: () => request(app.getHttpServer()),
    admin: { Authorization: `Bearer ${TEST_ADMIN_KEY}` },
    dataDir: opts.dataDir,
    async close() {
      await app.close();
      await store.close();
      if (opts.dataDir) rmSync(opts.dataDir, { recursive: true, force: true });
    },
  };
}

/** Card numbers that pass Luhn, distinct per seed. */
export const cardNumber = (seed: number) => withLuhnDigit(`7${String(seed).padStart(14, '0')}`);

export interface SeededCoalition {
  partners: Record<string, { Authorization: string }>;
}

/** Coalition in RUB at 10 kopecks a point, partners earning 1 point per 100 RUB, with a key each. */
export async function seedCoalition(t: TestApp, partnerIds: string[] = ['grocer', 'cafe']): Promise<SeededCoalition> {
  await t.http().put('/v1/coalition').set(t.admin).send({ currency: 'RUB', pointValueMinor: 10, expiryMonths: 24 }).expect(200);
  const partners: SeededCoalition['partners'] = {};
  for (const partnerId of partnerIds) {
    await t
      .http()
      .post('/v1/partners')
      .set(t.admin)
      .send({ partnerId, name: partnerId, earnRule: { pointsPerUnit: 1, unitMinor: 10000 } })
      .expect(201);
    const key = await t.http().post(`/v1/partners/${partnerId}/keys`).set(t.admin).expect(201);
    partners[partnerId] = { Authorization: `Bearer ${key.body.key}` };
  }
  return { partners };
}
