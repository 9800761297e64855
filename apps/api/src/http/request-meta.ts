import { ExecutionContext, createParamDecorator } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Actor, CommandMeta } from '@ledger/application';

const CORRELATION_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Command metadata for the request: the caller, and a correlation id (X-Correlation-Id or the request id). */
export const RequestMeta = createParamDecorator((_: unknown, ctx: ExecutionContext): CommandMeta => {
  const request = ctx.switchToHttp().getRequest<FastifyRequest & { actor?: Actor }>();
  if (!request.actor) throw new Error('RequestMeta used on a route without @Roles');
  const given = request.headers['x-correlation-id'];
  const correlationId = typeof given === 'string' && CORRELATION_ID.test(given) ? given : String(request.id);
  return { correlationId, causationId: null, actor: request.actor };
});
