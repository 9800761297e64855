import { Body, Controller, HttpCode, Param, Post, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { Type } from 'class-transformer';
import {
  IsDefined,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  NotEquals,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import {
  ChangePartnerTermsCommand,
  CommandMeta,
  IssueApiKeyCommand,
  IssuedKey,
  PartnerView,
  RegisterPartnerCommand,
  STAFF_SCOPE,
} from '@ledger/application';
import { EarnRule, PENDING_DAYS_MAX } from '@ledger/domain';
import { Roles } from '../http/auth';
import { RequestMeta } from '../http/request-meta';
import { PartnerIdParam } from '../http/params';
import { DISPLAY_NAME_PATTERN, IsBusinessDateTime, PARTNER_ID_PATTERN } from '../http/validators';

/**
 * Optional by omission only: `@IsOptional()` also lets null through, and a null rate would
 * skip the `= 0` default and be recorded as the partner's terms (breaking every later close).
 */
const MayBeOmitted = () => ValidateIf((_request: object, value: unknown) => value !== undefined);

export class EarnRuleRequest {
  @IsInt()
  @Min(1)
  @Max(1000)
  pointsPerUnit!: number;

  @IsInt()
  @Min(1)
  @Max(1_000_000_000)
  unitMinor!: number;

  /** The return window: days (of 24 h) an accrual's points stay pending. Omitted: 0, spendable at once. */
  @MayBeOmitted()
  @IsInt()
  @Min(0)
  @Max(PENDING_DAYS_MAX)
  pendingDays?: number;
}

/** The earn rule as recorded: `pendingDays` only when given. */
const earnRuleOf = (rule: EarnRuleRequest): EarnRule => ({
  pointsPerUnit: rule.pointsPerUnit,
  unitMinor: rule.unitMinor,
  ...(rule.pendingDays === undefined ? {} : { pendingDays: rule.pendingDays }),
});

export class RegisterPartnerRequest {
  @Matches(PARTNER_ID_PATTERN, { message: 'must be 1-32 lowercase letters, digits or dashes' })
  @NotEquals(STAFF_SCOPE, { message: 'is reserved' })
  partnerId!: string;

  @IsString()
  @Length(1, 100)
  @Matches(DISPLAY_NAME_PATTERN, { message: 'must not contain control or formatting characters' })
  name!: string;

  @IsDefined()
  @IsObject({ message: 'must be an object' })
  @ValidateNested()
  @Type(() => EarnRuleRequest)
  earnRule!: EarnRuleRequest;

  @MayBeOmitted()
  @IsInt()
  @Min(0)
  @Max(10_000)
  issuanceFeeBps?: number;

  @MayBeOmitted()
  @IsInt()
  @Min(0)
  @Max(10_000)
  breakageShareBps?: number;
}

export class ChangeTermsRequest {
  @IsInt()
  @Min(0)
  @Max(10_000)
  issuanceFeeBps!: number;

  @IsInt()
  @Min(0)
  @Max(10_000)
  breakageShareBps!: number;

  /** Business date from which the new terms apply (events dated earlier keep the old ones). */
  @IsBusinessDateTime()
  effectiveFrom!: string;

  @IsOptional()
  @IsObject({ message: 'must be an object' })
  @ValidateNested()
  @Type(() => EarnRuleRequest)
  earnRule?: EarnRuleRequest;
}

@Controller('v1/partners')
export class PartnersController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @Roles('admin')
  register(@Body() body: RegisterPartnerRequest, @RequestMeta() meta: CommandMeta): Promise<PartnerView> {
    const { partnerId, name, earnRule, issuanceFeeBps = 0, breakageShareBps = 0 } = body;
    return this.commands.execute(
      new RegisterPartnerCommand(
        {
          partnerId,
          name,
          earnRule: earnRuleOf(earnRule),
          issuanceFeeBps,
          breakageShareBps,
        },
        meta,
      ),
    );
  }

  @Put(':partnerId/terms')
  @HttpCode(200)
  @Roles('admin')
  changeTerms(@Param() { partnerId }: PartnerIdParam, @Body() body: ChangeTermsRequest, @RequestMeta() meta: CommandMeta) {
    const { earnRule, ...rest } = body;
    return this.commands.execute(new ChangePartnerTermsCommand({ partnerId, ...rest, earnRule: earnRule && earnRuleOf(earnRule) }, meta));
  }

  @Post(':partnerId/keys')
  @Roles('admin')
  issueKey(@Param() { partnerId }: PartnerIdParam, @RequestMeta() meta: CommandMeta): Promise<IssuedKey> {
    return this.commands.execute(new IssueApiKeyCommand({ partnerId }, meta));
  }
}
