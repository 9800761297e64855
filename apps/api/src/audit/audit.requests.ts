import { IsOptional, Matches } from 'class-validator';
import { PERIOD_ID_PATTERN } from '@ledger/settlement';
import { MEMBER_ID_PATTERN, PARTNER_ID_PATTERN } from '../http/validators';

/** Stream ids are `{kind}-{id}`; ids are plain ASCII (member, partner, card, settlement, coalition). */
export const STREAM_ID_PATTERN = /^[a-z]+-[A-Za-z0-9][A-Za-z0-9_:.-]{0,127}$/;
/** A log position, or an ISO 8601 instant with an explicit zone. */
export const AS_OF_PATTERN =
  /^([0-9]{1,16}|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2}))$/;
const AS_OF_RULE = 'must be a log position (a whole number) or an ISO 8601 time with a zone';
const BOUND_RULE = 'must be a stream revision (a whole number) or an ISO 8601 time with a zone';

export class StreamIdParam {
  @Matches(STREAM_ID_PATTERN, { message: 'must be a stream id such as member-m1 or partner-grocer' })
  streamId!: string;
}

/** `?from=` / `?to=`: a revision or a recorded time, both inclusive. */
export class ReplayQueryParams {
  @IsOptional()
  @Matches(AS_OF_PATTERN, { message: BOUND_RULE })
  from?: string;

  @IsOptional()
  @Matches(AS_OF_PATTERN, { message: BOUND_RULE })
  to?: string;
}

/**
 * `?asOf=`: for the lead's GET /v1/members/{id} and GET /v1/partners/{id}/position too.
 * Absent: now (the head of the log).
 */
export class AsOfQueryParams {
  @IsOptional()
  @Matches(AS_OF_PATTERN, { message: AS_OF_RULE })
  asOf?: string;
}

export class VerifyQueryParams {
  @IsOptional()
  @Matches(PERIOD_ID_PATTERN, { message: 'must be a calendar month YYYY-MM' })
  period?: string;
}

export class ExportQueryParams {
  @IsOptional()
  @Matches(STREAM_ID_PATTERN, { message: 'must be a stream id such as member-m1 or partner-grocer' })
  stream?: string;
}

export class AuditMemberParam {
  @Matches(MEMBER_ID_PATTERN, { message: 'must be 1-64 letters, digits, dashes or underscores' })
  memberId!: string;
}

export class AuditPartnerParam {
  @Matches(PARTNER_ID_PATTERN, { message: 'must be 1-32 lowercase letters, digits or dashes' })
  partnerId!: string;
}

export class ProofParams {
  @Matches(PERIOD_ID_PATTERN, { message: 'must be a calendar month YYYY-MM' })
  periodId!: string;

  @Matches(/^[A-Za-z0-9-]{1,64}$/, { message: 'must be an event id' })
  eventId!: string;
}
