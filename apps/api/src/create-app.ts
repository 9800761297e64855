import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { LogController } from 'fastify';
import { ApiModule, ApiModuleOptions } from './api.module';
import { LedgerExceptionFilter } from './http/exception.filter';
import { MemberStateCache } from '@ledger/application';
import { useStrictJsonBodies } from './http/json-body';
import { LedgerLogger, NestPinoLogger, createLogger } from './http/logger';
import { LedgerMetrics } from './http/metrics';
import { serveOpenApi } from './http/openapi';
import { ProjectionMonitor } from './projections/projection-monitor';
import { requestIdOf } from './http/request-id';
import { registerRateLimit, registerSecurityHeaders } from './http/security';
import { StrictValidationPipe } from './http/validation';

export interface CreateAppOptions extends ApiModuleOptions {
  /** A pino logger (default: info to stdout). Request lines are its children, carrying `requestId`. */
  logger?: LedgerLogger;
  /** One access log line per request (off in tests). */
  accessLog?: boolean;
  /** Also serve GET /metrics without a key on this port (LEDGER_METRICS_PORT; 0 = any free port). */
  metricsPort?: number;
  metricsHost?: string;
  /** LEDGER_RATE_LIMIT: requests per second per key; 0 or unset: no limit. */
  rateLimitPerSecond?: number;
}

const BODY_LIMIT_BYTES = 64 * 1024;

export interface RegisteredRoute {
  method: string;
  url: string;
}
const routesOf = new WeakMap<NestFastifyApplication, RegisteredRoute[]>();

/** Every route the app's HTTP server registered (what the OpenAPI test compares the description with). */
export const registeredRoutes = (app: NestFastifyApplication): RegisteredRoute[] => routesOf.get(app) ?? [];

/** Builds the HTTP app around an opened store; the caller listens (or injects, in tests). */
export async function createLedgerApp(options: CreateAppOptions): Promise<NestFastifyApplication> {
  const logger = options.logger ?? createLogger();
  const metrics = options.metrics ?? new LedgerMetrics();
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    // Fastify's own two lines per request are replaced by the one access line below.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: requestIdOf,
  });
  // Nest's own parsers (lenient JSON, url-encoded forms) are off: JSON only, parsed strictly.
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot({ ...options, metrics }), adapter, {
    logger: new NestPinoLogger(logger),
    bufferLogs: false,
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  const routes: RegisteredRoute[] = [];
  routesOf.set(app, routes);
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  useStrictJsonBodies(fastify);
  registerSecurityHeaders(app);
  if (options.rateLimitPerSecond) await registerRateLimit(app, options.rateLimitPerSecond);
  app.useGlobalPipes(new StrictValidationPipe());
  app.useGlobalFilters(new LedgerExceptionFilter());
  serveOpenApi(app);
  // Set before the handler runs, so error answers and refusals carry it too.
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('X-Request-Id', request.id);
    done();
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    // The route template, not the URL, so ids do not make a label per member.
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
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
  fastify.addHook('onClose', async () => metrics.close());
  await app.init();
  await fastify.ready();
  const cache = app.get(MemberStateCache, { strict: false });
  const projection = app.get(ProjectionMonitor);
  metrics.setSources({ memberCache: () => cache.stats(), projection: () => projection.status() });
  if (options.metricsPort !== undefined) {
    const port = await metrics.listen(options.metricsPort, options.metricsHost ?? '0.0.0.0');
    logger.info({ port }, 'metrics listening');
  }
  return app;
}
