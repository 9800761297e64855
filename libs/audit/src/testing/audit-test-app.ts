import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { FixedClock, defaultLedgerConfig } from '@ledger/application';
import { EventStore } from '@ledger/event-store';
import { ApiModule } from '@ledger/api/api.module';
import { AUDIT_CONTROLLERS, AUDIT_PROVIDERS, AuditController } from '@ledger/api/audit';
import { LedgerExceptionFilter } from '@ledger/api/http/exception.filter';
import { JsonLogger } from '@ledger/api/http/json-logger';
import { StrictValidationPipe } from '@ledger/api/http/validation';
import { TEST_ADMIN_KEY, TEST_NOW, TestApp, startTestApp } from '@ledger/testing';

/**
 * The test app with the audit routes. Once ApiModule registers them (the lead's one line),
 * this is `startTestApp`; until then it is the same app with AUDIT_CONTROLLERS and
 * AUDIT_PROVIDERS added to ApiModule's own lists, exactly what that line will do.
 */
export async function startAuditTestApp(store: EventStore, opts: { dataDir?: string } = {}): Promise<TestApp> {
  const config = { ...defaultLedgerConfig(), adminKey: TEST_ADMIN_KEY };
  const clock = new FixedClock(new Date(TEST_NOW));
  const module = ApiModule.forRoot({ store, clock, config });
  if ((module.controllers ?? []).includes(AuditController)) return startTestApp(store, opts);
  module.controllers = [...(module.controllers ?? []), ...AUDIT_CONTROLLERS];
  module.providers = [...(module.providers ?? []), ...AUDIT_PROVIDERS];
  const logger = new JsonLogger(true);
  const adapter = new FastifyAdapter({ logger: false, bodyLimit: 64 * 1024, genReqId: () => crypto.randomUUID() });
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, { logger, bufferLogs: false });
  app.useGlobalPipes(new StrictValidationPipe());
  app.useGlobalFilters(new LedgerExceptionFilter(logger));
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  const { rmSync } = await import('node:fs');
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
