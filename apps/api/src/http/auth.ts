import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  createParamDecorator,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { Actor, Authenticator } from '@ledger/application';
import { errorBody } from './error-body';

export type Role = Actor['role'];
const ROLES = 'ledger:roles';

/** Which roles may call a route. A route without it is public (health only). */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES, roles);

/** The roles a route handler allows; undefined for a public route. */
export const rolesOf = (handler: object): Role[] | undefined => Reflect.getMetadata(ROLES, handler) as Role[] | undefined;

type AuthedRequest = FastifyRequest & { actor?: Actor };

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES, [context.getHandler(), context.getClass()]);
    if (!roles) return true;
    const request = context.switchToHttp().getRequest<AuthedRequest>();
    const header = request.headers.authorization ?? '';
    const key = /^Bearer (\S+)$/.exec(header)?.[1];
    if (!key) throw new UnauthorizedException(errorBody(401, 'unauthenticated', 'an API key is required: Authorization: Bearer <key>'));
    const actor = await this.authenticator.authenticate(key);
    if (!actor) throw new UnauthorizedException(errorBody(401, 'unauthenticated', 'the API key is unknown or revoked'));
    if (!roles.includes(actor.role)) {
      throw new ForbiddenException(errorBody(403, 'forbidden', `a ${actor.role} key may not do this (allowed: ${roles.join(', ')})`));
    }
    request.actor = actor;
    return true;
  }
}

/** The authenticated caller. Only on routes with @Roles. */
export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  const actor = ctx.switchToHttp().getRequest<AuthedRequest>().actor;
  if (!actor) throw new Error('CurrentActor used on a route without @Roles');
  return actor;
});

/** A partner key acts for its own partner only; staff keys are not bound to one. */
export function assertOwnPartner(actor: Actor, partnerId: string): void {
  if (actor.role === 'partner' && actor.partnerId !== partnerId) {
    throw new ForbiddenException(errorBody(403, 'forbidden', 'a partner key may only act on its own partner'));
  }
}

export function partnerIdOf(actor: Actor): string {
  if (actor.role !== 'partner' || !actor.partnerId) throw new Error('route restricted to partner keys');
  return actor.partnerId;
}
