import { DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { ConfigureCoalitionHandler } from './coalition/configure-coalition';
import { Authenticator } from './keys/authenticate';
import { IssueApiKeyHandler } from './keys/issue-api-key';
import { RevokeApiKeyHandler } from './keys/revoke-api-key';
import { AccruePointsHandler } from './member/accrue-points';
import { EnrolMemberHandler } from './member/enrol-member';
import { MemberTransactionPoster } from './member/post-transaction';
import { RedeemPointsHandler } from './member/redeem-points';
import { ReverseTransactionHandler } from './member/reverse-transaction';
import { HOLD_COMMAND_HANDLERS } from './member/holds';
import { ExpireDueLotsHandler } from './member/expire-lots';
import { ReviewTierHandler } from './member/review-tier';
import { ReleasePendingPointsHandler } from './member/release-pending';
import { BONUS_COMMAND_HANDLERS } from './member/award-bonus';
import { PurchaseMembershipHandler } from './member/purchase-membership';
import { RegisterPartnerHandler } from './partner/register-partner';
import { ChangePartnerTermsHandler } from './partner/change-partner-terms';
import { ClosePeriodHandler } from './settlement/close-period';
import { ConfigureProgramHandler } from './program/configure-program';
import { GetProgramHandler } from './program/get-program';
import { BlockCardHandler, ReplaceCardHandler } from './fraud/cards';
import { ReinstatePartnerHandler, SuspendPartnerHandler } from './fraud/partner-suspension';
import { GetStatementHandler } from './settlement/get-statement';
import { CLOCK, Clock } from './shared/clock';
import { LEDGER_CONFIG, LedgerConfig } from './shared/ledger-config';
import { ReferenceData } from './shared/reference-data';
import { MemberStateCache } from './member/member-cache';

export const COMMAND_HANDLERS = [
  ConfigureCoalitionHandler,
  RegisterPartnerHandler,
  ChangePartnerTermsHandler,
  IssueApiKeyHandler,
  RevokeApiKeyHandler,
  EnrolMemberHandler,
  AccruePointsHandler,
  RedeemPointsHandler,
  ReverseTransactionHandler,
  ...HOLD_COMMAND_HANDLERS,
  ExpireDueLotsHandler,
  ReviewTierHandler,
  ReleasePendingPointsHandler,
  ...BONUS_COMMAND_HANDLERS,
  PurchaseMembershipHandler,
  ClosePeriodHandler,
  ConfigureProgramHandler,
  BlockCardHandler,
  ReplaceCardHandler,
  SuspendPartnerHandler,
  ReinstatePartnerHandler,
];
export const QUERY_HANDLERS = [GetStatementHandler, GetProgramHandler];

export interface LedgerApplicationOptions {
  store: EventStore;
  clock: Clock;
  config: LedgerConfig;
}

/** The use cases, wired to one event store, clock and configuration. */
@Module({})
export class LedgerApplicationModule {
  static forRoot(options: LedgerApplicationOptions): DynamicModule {
    const providers = [
      { provide: EVENT_STORE, useValue: options.store },
      { provide: CLOCK, useValue: options.clock },
      { provide: LEDGER_CONFIG, useValue: options.config },
      MemberTransactionPoster,
      ReferenceData,
      MemberStateCache,
      Authenticator,
      ...COMMAND_HANDLERS,
      ...QUERY_HANDLERS,
    ];
    return {
      module: LedgerApplicationModule,
      global: true,
      imports: [CqrsModule.forRoot()],
      providers,
      exports: [EVENT_STORE, CLOCK, LEDGER_CONFIG, Authenticator, ReferenceData, CqrsModule],
    };
  }
}
