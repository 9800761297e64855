import { Matches } from 'class-validator';
import { MEMBER_ID_PATTERN, PARTNER_ID_PATTERN } from './validators';

export class PartnerIdParam {
  @Matches(PARTNER_ID_PATTERN, { message: 'must be 1-32 lowercase letters, digits or dashes' })
  partnerId!: string;
}

export class MemberIdParam {
  @Matches(MEMBER_ID_PATTERN, { message: 'must be 1-64 letters, digits, dashes or underscores' })
  memberId!: string;
}
