import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
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
 * Security headers (helmet) on every answer. This service's headers depend on nothing in the
 * request (no nonces, no per-route options), so helmet is run once at start against a
 * recording response and each answer gets the headers it set: running its dozen middlewares
 * per request was about 4% of the write path's request thread.
 */
export function registerSecurityHeaders(app: NestFastifyApplication): void {
  const { set, removed } = securityHeaders();
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (_request, reply, done) => {
      const raw = reply.raw;
      for (let i = 0; i < set.length; i++) raw.setHeader(set[i][0], set[i][1]);
      for (let i = 0; i < removed.length; i++) raw.removeHeader(removed[i]);
      done();
    });
}

/** What helmet does to a response under this service's policy: the headers it sets and those it removes. */
export function securityHeaders(): { set: [string, string | number | readonly string[]][]; removed: string[] } {
  const set: [string, string | number | readonly string[]][] = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => {
      set.push([name, value]);
      return recorder;
    },
    removeHeader: (name: string) => {
      removed.push(name);
    },
  };
  let finished = false;
  helmet({ contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY } })(
    {} as IncomingMessage,
    recorder as unknown as ServerResponse,
    (error?: unknown) => {
      if (error !== undefined) throw error;
      finished = true;
    },
  );
  // helmet calls back at once; were it ever to wait, the recorded headers would be incomplete.
  if (!finished) throw new Error('helmet did not finish synchronously');
  return { set, removed };
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
