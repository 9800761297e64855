import { Body, Controller, HttpCode, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { IsInt, Matches, Max, Min } from 'class-validator';
import { CommandMeta, ConfigureCoalitionCommand, CoalitionView } from '@ledger/application';
import { Roles } from '../http/auth';
import { RequestMeta } from '../http/request-meta';

export class ConfigureCoalitionRequest {
  @Matches(/^[A-Z]{3}$/, { message: 'must be an ISO 4217 currency code such as RUB' })
  currency!: string;

  /** Minor units of the currency one point is worth. */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  pointValueMinor!: number;

  @IsInt()
  @Min(1)
  @Max(120)
  expiryMonths!: number;
}

@Controller('v1/coalition')
export class CoalitionController {
  constructor(private readonly commands: CommandBus) {}

  @Put()
  @HttpCode(200)
  @Roles('admin')
  configure(@Body() body: ConfigureCoalitionRequest, @RequestMeta() meta: CommandMeta): Promise<CoalitionView> {
    return this.commands.execute(new ConfigureCoalitionCommand({ ...body }, meta));
  }
}
