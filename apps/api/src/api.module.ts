import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { LedgerApplicationModule, LedgerApplicationOptions } from '@ledger/application';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { CoalitionController } from './coalition/coalition.controller';
import { HealthController, READY_MAX_LAG } from './health/health.controller';
import { ApiKeyGuard } from './http/auth';
import { LedgerMetrics } from './http/metrics';
import { MetricsController } from './http/metrics.controller';
import { KeysController } from './keys/keys.controller';
import { MembersController } from './members/members.controller';
import { BonusesController } from './bonuses/bonuses.controller';
import { MembershipController } from './membership/membership.controller';
import { PartnerTransactionsHandler } from './members/partner-member-view';
import { ExplainTransactionHandler } from './members/explain-transaction';
import { PartnersController } from './partners/partners.controller';
import { PartnerPositionsController } from './projections/positions.controller';
import { LAG_COUNT_MAX, ProjectionMonitor } from './projections/projection-monitor';
import { ReadModelAccess, ReadModelOptions } from './projections/read-model';
import { READ_MODEL_QUERY_HANDLERS } from './projections/read-model.queries';
import { TransactionsController } from './transactions/transactions.controller';
import { SettlementsController } from './settlements/settlements.controller';
import { AUDIT_CONTROLLERS, AUDIT_PROVIDERS } from './audit';
import { HoldMemberHandler, HoldsController } from './holds/holds.controller';
import { HOLD_LAPSE_INTERVAL_MS_DEFAULT, HOLD_LAPSE_OPTIONS, HoldLapseJob } from './holds/hold-lapse.job';
import { EXPIRY_INTERVAL_MS_DEFAULT, EXPIRY_OPTIONS, ExpiryJob } from './expiry/expiry.job';
import { TIER_REVIEW_OPTIONS, TierReviewJob } from './tiers/tier-review';
import { BIRTHDAY_INTERVAL_MS_DEFAULT, BIRTHDAY_OPTIONS, BirthdayJob } from './birthdays/birthday.job';
import { PENDING_RELEASE_INTERVAL_MS_DEFAULT, PENDING_RELEASE_OPTIONS, PendingReleaseJob } from './pending/pending-release.job';
import { CONSOLE_CONTROLLERS, CONSOLE_PROVIDERS } from './console';
import { GetProgramReportHandler, ProgramReportController } from './reports/program-report.controller';
import { ProgramController } from './program/program.controller';
import { FraudController, ListFlagsHandler } from './fraud/fraud.controller';

export interface ApiModuleOptions extends LedgerApplicationOptions {
  /**
   * Where the read models are and who projects them. Default: a projector in this process
   * on an in-memory read store (tests); `ledger serve` passes $LEDGER_DATA_DIR/read.db.
   */
  readModel?: ReadModelOptions;
  /** Where the service's metrics are counted (default: a registry of this app's own). */
  metrics?: LedgerMetrics;
  /** /health/ready answers 503 when the read models trail the log by more events than this (default 1000). */
  readyMaxLag?: number;
  /** How often this API records due holds as lapsed (default 30 s; 0: never, another replica or `ledger lapse-holds` does). */
  holdLapseIntervalMs?: number;
  /** How often this API records the lapse of due lots (default 60 s; 0: never, another replica or `ledger expire` does). */
  expiryIntervalMs?: number;
  /** How often this API records pending lots past their window as released (default 60 s; 0: never, `ledger release-pending` does). */
  pendingReleaseIntervalMs?: number;
  /** How often this API runs the tiers' anniversary review (default 0: off; `ledger serve` passes LEDGER_TIER_REVIEW_INTERVAL_MS). */
  tierReviewIntervalMs?: number;
  /** How often this API gives the day's birthday bonuses (default 1 h; 0: never, `ledger birthday-bonuses` does). */
  birthdayIntervalMs?: number;
}

export const READY_MAX_LAG_DEFAULT = 1_000;

@Module({})
export class ApiModule {
  static forRoot(options: ApiModuleOptions): DynamicModule {
    return {
      module: ApiModule,
      imports: [LedgerApplicationModule.forRoot(options)],
      controllers: [
        HealthController,
        MetricsController,
        CoalitionController,
        PartnersController,
        PartnerPositionsController,
        KeysController,
        MembersController,
        TransactionsController,
        HoldsController,
        SettlementsController,
        ProgramReportController,
        ProgramController,
        FraudController,
        BonusesController,
        MembershipController,
        ...AUDIT_CONTROLLERS,
        ...CONSOLE_CONTROLLERS,
      ],
      providers: [
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        // Read models (issue 5): the factory reads the options, so the projector's place is per app.
        {
          provide: ReadModelAccess,
          useFactory: (store: EventStore) => new ReadModelAccess(store, options.readModel),
          inject: [EVENT_STORE],
        },
        { provide: LedgerMetrics, useValue: options.metrics ?? new LedgerMetrics() },
        { provide: READY_MAX_LAG, useValue: options.readyMaxLag ?? READY_MAX_LAG_DEFAULT },
        {
          provide: ProjectionMonitor,
          // Readiness must count one past its limit to see it crossed.
          useFactory: (store: EventStore, readModel: ReadModelAccess) =>
            new ProjectionMonitor(store, readModel, Math.max(LAG_COUNT_MAX, (options.readyMaxLag ?? READY_MAX_LAG_DEFAULT) + 1)),
          inject: [EVENT_STORE, ReadModelAccess],
        },
        ...READ_MODEL_QUERY_HANDLERS,
        HoldMemberHandler,
        { provide: HOLD_LAPSE_OPTIONS, useValue: { intervalMs: options.holdLapseIntervalMs ?? HOLD_LAPSE_INTERVAL_MS_DEFAULT } },
        HoldLapseJob,
        { provide: EXPIRY_OPTIONS, useValue: { intervalMs: options.expiryIntervalMs ?? EXPIRY_INTERVAL_MS_DEFAULT } },
        ExpiryJob,
        { provide: TIER_REVIEW_OPTIONS, useValue: { intervalMs: options.tierReviewIntervalMs ?? 0 } },
        TierReviewJob,
        { provide: BIRTHDAY_OPTIONS, useValue: { intervalMs: options.birthdayIntervalMs ?? BIRTHDAY_INTERVAL_MS_DEFAULT } },
        BirthdayJob,
        {
          provide: PENDING_RELEASE_OPTIONS,
          useValue: { intervalMs: options.pendingReleaseIntervalMs ?? PENDING_RELEASE_INTERVAL_MS_DEFAULT },
        },
        PendingReleaseJob,
        PartnerTransactionsHandler,
        ExplainTransactionHandler,
        GetProgramReportHandler,
        ListFlagsHandler,
        ...AUDIT_PROVIDERS,
        ...CONSOLE_PROVIDERS,
      ],
    };
  }
}
