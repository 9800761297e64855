import { Body, Controller, Get, HttpCode, Put, Query } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsDefined,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { CommandMeta, ConfigureProgramCommand, GetProgramQuery, ProgramView } from '@ledger/application';
import { MULTIPLIER_BPS_MAX, PROGRAM_NAME_PATTERN, PROGRAM_POINTS_MAX, ProgramVersion } from '@ledger/domain';
import { Roles } from '../http/auth';
import { RequestMeta } from '../http/request-meta';
import { IsBusinessDateTime } from '../http/validators';

const NAME_RULE = 'must be 1-32 lowercase letters, digits, dashes or underscores';
/** Present or absent, never null (IsOptional would let null through). */
const MayBeOmitted = () => ValidateIf((_request: object, value: unknown) => value !== undefined);

export class TierRequest {
  @Matches(PROGRAM_NAME_PATTERN, { message: NAME_RULE })
  tierId!: string;

  @IsInt()
  @Min(0)
  @Max(PROGRAM_POINTS_MAX)
  qualifyingPoints!: number;

  /** 10000 = ×1. */
  @IsInt()
  @Min(1)
  @Max(MULTIPLIER_BPS_MAX)
  multiplierBps!: number;
}

export class SponsoredBonusRequest {
  @IsInt()
  @Min(1)
  @Max(PROGRAM_POINTS_MAX)
  points!: number;

  /** A partnerId that has joined, or `operator`. */
  @IsString()
  @Length(1, 32)
  sponsor!: string;
}

export class BonusesRequest {
  @MayBeOmitted()
  @IsObject({ message: 'must be an object' })
  @ValidateNested()
  @Type(() => SponsoredBonusRequest)
  welcome?: SponsoredBonusRequest;

  @MayBeOmitted()
  @IsObject({ message: 'must be an object' })
  @ValidateNested()
  @Type(() => SponsoredBonusRequest)
  birthday?: SponsoredBonusRequest;

  @MayBeOmitted()
  @IsObject({ message: 'must be an object' })
  @ValidateNested()
  @Type(() => SponsoredBonusRequest)
  referral?: SponsoredBonusRequest;

  /** `{<action>: {points, sponsor, capPerMonth}}`: its keys are names, so the programme decider checks each entry. */
  @MayBeOmitted()
  @IsObject({ message: 'must be an object' })
  actions?: Record<string, unknown>;
}

export class LimitsRequest {
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  maxAccrualsPerMemberPerHour!: number;

  @IsInt()
  @Min(1)
  @Max(PROGRAM_POINTS_MAX)
  maxPointsPerMemberPerDay!: number;
}

export class PlanRequest {
  @Matches(PROGRAM_NAME_PATTERN, { message: NAME_RULE })
  planId!: string;

  @IsInt()
  @Min(0)
  @Max(1_000_000_000_000)
  feeMinor!: number;

  @IsInt()
  @Min(1)
  @Max(120)
  months!: number;

  @IsInt()
  @Min(1)
  @Max(MULTIPLIER_BPS_MAX)
  multiplierBps!: number;

  @MayBeOmitted()
  @Matches(PROGRAM_NAME_PATTERN, { message: NAME_RULE })
  tierFloor?: string;
}

export class ConfigureProgramRequest {
  /** Business date from which this version applies; earlier dates keep the version before. */
  @IsBusinessDateTime()
  effectiveFrom!: string;

  @IsArray()
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => TierRequest)
  tiers!: TierRequest[];

  @IsDefined()
  @IsObject({ message: 'must be an object' })
  @ValidateNested()
  @Type(() => BonusesRequest)
  bonuses!: BonusesRequest;

  @IsDefined()
  @IsObject({ message: 'must be an object' })
  @ValidateNested()
  @Type(() => LimitsRequest)
  limits!: LimitsRequest;

  @MayBeOmitted()
  @IsArray()
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => PlanRequest)
  plans?: PlanRequest[];
}

export class ProgramAtQuery {
  /** A business date: the version in force then (default: now). */
  @IsOptional()
  @IsBusinessDateTime()
  at?: string;
}

/** Plain data for the decider (it compares versions as JSON, so no request class may reach it). */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * The loyalty programme (issue 14): the admin writes versions; anyone with a key reads the
 * version in force, partners included, since tiers, bonuses and limits are the public rules
 * their tills apply.
 */
@Controller('v1/program')
export class ProgramController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Put()
  @HttpCode(200)
  @Roles('admin')
  configure(@Body() body: ConfigureProgramRequest, @RequestMeta() meta: CommandMeta): Promise<ProgramView> {
    // `bonuses.actions` entries are unchecked here: the decider checks each one, naming its field.
    return this.commands.execute(new ConfigureProgramCommand(plain(body) as unknown as ConfigureProgramCommand['data'], meta));
  }

  @Get()
  @Roles('partner', 'finance', 'auditor', 'admin')
  get(@Query() { at }: ProgramAtQuery): Promise<ProgramVersion> {
    return this.queries.execute(new GetProgramQuery(at));
  }
}
