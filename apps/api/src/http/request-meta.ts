import { ExecutionContext, createParamDecorator } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Actor, CommandMeta } from '@ledger/application';

/** Command metadata for the request: the caller, and the request id as the correlation id. */
export const RequestMeta = createParamDecorator((_: unknown, ctx: ExecutionContext): CommandMeta => {
  const request = ctx.switchToHttp().getRequest<FastifyRequest & { actor?: Actor }>();
  if (!request.actor) throw new Error('RequestMeta used on a route without @Roles');
  return { correlationId: String(request.id), causationId: null, actor: request.actor };
});
