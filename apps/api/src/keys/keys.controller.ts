import { Body, Controller, Delete, Inject, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { IsIn, Matches } from 'class-validator';
import { STAFF_ROLES, StaffRole } from '@ledger/domain';
import { CommandMeta, IssueApiKeyCommand, IssuedKey, RevokeApiKeyCommand } from '@ledger/application';
import { EVENT_STORE, EventStore, headPosition } from '@ledger/event-store';
import { Roles } from '../http/auth';
import { RequestMeta } from '../http/request-meta';
import { ReadModelAccess } from '../projections/read-model';

export class IssueStaffKeyRequest {
  @IsIn(STAFF_ROLES, { message: `must be one of ${STAFF_ROLES.join(', ')}` })
  role!: StaffRole;
}

export class KeyIdParam {
  @Matches(/^[0-9a-f]{12}$/, { message: 'must be a key id: 12 lowercase hex digits' })
  keyId!: string;
}

export interface RevokedKeyBody {
  keyId: string;
  partnerId?: string;
  revoked: true;
}

@Controller('v1/keys')
export class KeysController {
  constructor(
    private readonly commands: CommandBus,
    private readonly readModel: ReadModelAccess,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  @Post()
  @Roles('admin')
  issue(@Body() body: IssueStaffKeyRequest, @RequestMeta() meta: CommandMeta): Promise<IssuedKey> {
    return this.commands.execute(new IssueApiKeyCommand({ role: body.role }, meta));
  }

  /** The key is refused at once on this replica, and within REFERENCE_TTL_MS on the others. Repeating it changes nothing. */
  @Delete(':keyId')
  @Roles('admin')
  async revoke(@Param() { keyId }: KeyIdParam, @RequestMeta() meta: CommandMeta): Promise<RevokedKeyBody> {
    // The partners to look in: every one known up to now, so a partner joined a moment ago counts.
    const head = await headPosition(this.store);
    const reader = await this.readModel.atLeast(head);
    const partnerIds = (await reader.partnerPositions()).map((p) => p.partnerId);
    const revoked = await this.commands.execute(new RevokeApiKeyCommand(keyId, partnerIds, meta));
    return { keyId: revoked.keyId, ...(revoked.partnerId ? { partnerId: revoked.partnerId } : {}), revoked: true };
  }
}
