import { Body, Controller, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { IsIn } from 'class-validator';
import { STAFF_ROLES, StaffRole } from '@ledger/domain';
import { CommandMeta, IssueApiKeyCommand, IssuedKey } from '@ledger/application';
import { Roles } from '../http/auth';
import { RequestMeta } from '../http/request-meta';

export class IssueStaffKeyRequest {
  @IsIn(STAFF_ROLES, { message: `must be one of ${STAFF_ROLES.join(', ')}` })
  role!: StaffRole;
}

@Controller('v1/keys')
export class KeysController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @Roles('admin')
  issue(@Body() body: IssueStaffKeyRequest, @RequestMeta() meta: CommandMeta): Promise<IssuedKey> {
    return this.commands.execute(new IssueApiKeyCommand({ role: body.role }, meta));
  }
}
