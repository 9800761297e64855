import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { LogController } from 'fastify';
import { ApiModule, ApiModuleOptions } from './api.module';
import { LedgerExceptionFilter } from './http/exception.filter';
import { LedgerLogger, NestPinoLogger, createLogger } from './http/logger';
import { requestIdOf } from './http/request-id';
import { StrictValidationPipe } from './http/validation';

export interface CreateAppOptions extends ApiModuleOptions {
  /** A pino logger (default: info to stdout). Request lines are its children, carrying `requestId`. */
  logger?: LedgerLogger;
  /** One access log line per request (off in tests). */
  accessLog?: boolean;
}

const BODY_LIMIT_BYTES = 64 * 1024;

/** Builds the HTTP app around an opened store; the caller listens (or injects, in tests). */
export async function createLedgerApp(options: CreateAppOptions): Promise<NestFastifyApplication> {
  const logger = options.logger ?? createLogger();
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    // Fastify's own two lines per request are replaced by the one access line below.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: requestIdOf,
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot(options), adapter, {
    logger: new NestPinoLogger(logger),
    bufferLogs: false,
  });
  app.useGlobalPipes(new StrictValidationPipe());
  app.useGlobalFilters(new LedgerExceptionFilter());
  const fastify = app.getHttpAdapter().getInstance();
  // Set before the handler runs, so error answers and refusals carry it too.
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('X-Request-Id', request.id);
    done();
  });
  if (options.accessLog) {
    fastify.addHook('onResponse', (request, reply, done) => {
      request.log.info(
        { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100 },
        'request',
      );
      done();
    });
  }
  await app.init();
  await fastify.ready();
  return app;
}
