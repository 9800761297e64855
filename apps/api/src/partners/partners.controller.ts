import { Body, Controller, HttpCode, Param, Post, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsDefined,
  IsInt,
  IsObject,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  NotEquals,
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
import { AMOUNT_MINOR_MAX, EarnRule, MULTIPLIER_BPS_MAX, PENDING_DAYS_MAX, PROGRAM_NAME_PATTERN } from '@ledger/domain';
import { Roles } from '../http/auth';
import { RequestMeta } from '../http/request-meta';
import { PartnerIdParam } from '../http/params';
import { DISPLAY_NAME_PATTERN, IsBusinessDateTime, MayBeOmitted, PARTNER_ID_PATTERN } from '../http/validators';

// Optional by omission only (MayBeOmitted): a null rate would skip the `= 0` default and be
// recorded as the partner's terms, breaking every later close.
const NAME_RULE = 'must be 1-32 lowercase letters, digits, dashes or underscores';
const MULTIPLIER_RULE = `must be an integer from 1 to ${MULTIPLIER_BPS_MAX} basis points (10000 = ×1)`;

/** A step of the progressive scale; steps come in ascending `fromMinor` (the partner decider checks the order). */
export class EarnThresholdRequest {
  @IsInt()
  @Min(0)
  @Max(AMOUNT_MINOR_MAX)
  fromMinor!: number;

  @IsInt({ message: MULTIPLIER_RULE })
  @Min(1, { message: MULTIPLIER_RULE })
  @Max(MULTIPLIER_BPS_MAX, { message: MULTIPLIER_RULE })
  multiplierBps!: number;
}

/** A campaign on [from, to) by business date; overlaps on one category are refused by the partner decider. */
export class EarnCampaignRequest {
  @Matches(PROGRAM_NAME_PATTERN, { message: NAME_RULE })
  campaignId!: string;

  @IsBusinessDateTime()
  from!: string;

  @IsBusinessDateTime()
  to!: string;

  @IsInt({ message: MULTIPLIER_RULE })
  @Min(1, { message: MULTIPLIER_RULE })
  @Max(MULTIPLIER_BPS_MAX, { message: MULTIPLIER_RULE })
  multiplierBps!: number;

  @MayBeOmitted()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @Matches(PROGRAM_NAME_PATTERN, { each: true, message: NAME_RULE })
  categories?: string[];
}

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

  /** `{<category>: multiplierBps}`: its keys are names, so the partner decider checks each entry. */
  @MayBeOmitted()
  @IsObject({ message: 'must be an object' })
  categories?: Record<string, number>;

  @MayBeOmitted()
  @IsArray()
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => EarnThresholdRequest)
  thresholds?: EarnThresholdRequest[];

  @MayBeOmitted()
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => EarnCampaignRequest)
  campaigns?: EarnCampaignRequest[];
}

/** The earn rule as recorded: only the keys sent (`pendingDays`, multipliers), so a plain rule stays plain. */
function earnRuleOf(r: EarnRuleRequest): EarnRule {
  return {
    pointsPerUnit: r.pointsPerUnit,
    unitMinor: r.unitMinor,
    ...(r.pendingDays === undefined ? {} : { pendingDays: r.pendingDays }),
    ...(r.categories === undefined ? {} : { categories: r.categories }),
    ...(r.thresholds === undefined
      ? {}
      : { thresholds: r.thresholds.map((s) => ({ fromMinor: s.fromMinor, multiplierBps: s.multiplierBps })) }),
    ...(r.campaigns === undefined
      ? {}
      : {
          campaigns: r.campaigns.map((c) => ({
            campaignId: c.campaignId,
            from: c.from,
            to: c.to,
            multiplierBps: c.multiplierBps,
            ...(c.categories === undefined ? {} : { categories: c.categories }),
          })),
        }),
  };
}

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

  @MayBeOmitted()
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
