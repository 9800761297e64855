import { Controller, Get } from '@nestjs/common';
import { Actor } from '@ledger/application';
import { CurrentActor, Roles } from '../http/auth';

export interface SessionBody {
  keyId: string;
  role: Actor['role'];
  partnerId: string | null;
}

/** Who the presented key is: the console asks once at sign-in to know which pages to show. */
@Controller('v1/session')
export class SessionController {
  @Get()
  @Roles('partner', 'finance', 'auditor', 'admin')
  whoAmI(@CurrentActor() actor: Actor): SessionBody {
    return { keyId: actor.keyId, role: actor.role, partnerId: actor.partnerId ?? null };
  }
}
