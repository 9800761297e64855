import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { ApiModule, ApiModuleOptions } from './api.module';
import { LedgerExceptionFilter } from './http/exception.filter';
import { JsonLogger } from './http/json-logger';
import { StrictValidationPipe } from './http/validation';

export interface CreateAppOptions extends ApiModuleOptions {
  logger?: JsonLogger;
  /** Per-request access log lines (off in tests). */
  accessLog?: boolean;
}

/** Builds the HTTP app around an opened store; the caller listens (or injects, in tests). */
export async function createLedgerApp(options: CreateAppOptions): Promise<NestFastifyApplication> {
  const logger = options.logger ?? new JsonLogger();
  const adapter = new FastifyAdapter({ logger: false, bodyLimit: 64 * 1024, genReqId: () => crypto.randomUUID() });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot(options), adapter, { logger, bufferLogs: false });
  app.useGlobalPipes(new StrictValidationPipe());
  app.useGlobalFilters(new LedgerExceptionFilter(logger));
  if (options.accessLog) {
    const fastify = app.getHttpAdapter().getInstance();
    fastify.addHook('onResponse', (request, reply, done) => {
      logger.event('info', 'request', {
        requestId: request.id,
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
      });
      done();
    });
  }
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}
