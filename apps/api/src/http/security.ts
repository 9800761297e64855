import { createHmac, randomBytes } from 'node:crypto';
import { HttpException } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import helmet from 'helmet';
import rateLimit from '@fastify/rate-limit';
import { errorBody } from './error-body';

/**
 * Content-Security-Policy for everything the service answers: JSON, the OpenAPI UI at /docs
 * and the console's static pages at /console. Scripts only from this origin; the UI's
 * stylesheet sets a few inline styles, hence 'unsafe-inline' for styles and nothing else.
 */
export const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  frameAncestors: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
};

/**
 * Security headers (helmet) on every answer. The middleware is made once: made per request
 * (as the fastify plugin does, to allow per-route options and nonces, which this service does
 * not use) it parsed the policy again for every request, about 5% of the write path's CPU.
 */
export function registerSecurityHeaders(app: NestFastifyApplication): void {
  const setHeaders = helmet({ contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY } });
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) =>
      setHeaders(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined)),
    );
}

// Probes and scrapes come from the platform, not from clients; they are never limited.
const UNLIMITED_PATHS = ['/health', '/metrics'];

/**
 * Per-key rate limit (@fastify/rate-limit): `perSecond` requests in each second for each
 * presented key; requests without a key count per client address. It runs before the key
 * is checked, so it is keyed by a keyed hash of the whole bearer value: the id part alone
 * could be forged to spend another partner's allowance, and the key's own sha256 is what
 * the store keeps, which must not sit in a second place.
 */
export async function registerRateLimit(app: NestFastifyApplication, perSecond: number): Promise<void> {
  const pepper = randomBytes(32);
  await app.register(rateLimit, {
    global: true,
    max: perSecond,
    timeWindow: 1000,
    hook: 'onRequest',
    allowList: (request: FastifyRequest) => UNLIMITED_PATHS.some((p) => request.url === p || request.url.startsWith(`${p}/`)),
    keyGenerator: (request: FastifyRequest) => {
      const header = request.headers.authorization;
      if (typeof header === 'string' && header.length > 0) return `k:${createHmac('sha256', pepper).update(header).digest('base64url')}`;
      return `ip:${request.ip}`;
    },
    errorResponseBuilder: (_request, context) =>
      new HttpException(
        errorBody(429, 'rate_limited', `more than ${context.max} requests per second with this key; retry after ${context.after}`),
        429,
      ),
  });
}
