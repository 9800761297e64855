import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { LedgerApplicationModule, LedgerApplicationOptions } from '@ledger/application';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { CoalitionController } from './coalition/coalition.controller';
import { HealthController } from './health/health.controller';
import { ApiKeyGuard } from './http/auth';
import { KeysController } from './keys/keys.controller';
import { MembersController } from './members/members.controller';
import { PartnerTransactionsHandler } from './members/partner-member-view';
import { PartnersController } from './partners/partners.controller';
import { PartnerPositionsController } from './projections/positions.controller';
import { ReadModelAccess, ReadModelOptions } from './projections/read-model';
import { READ_MODEL_QUERY_HANDLERS } from './projections/read-model.queries';
import { TransactionsController } from './transactions/transactions.controller';
import { SettlementsController } from './settlements/settlements.controller';
import { AUDIT_CONTROLLERS, AUDIT_PROVIDERS } from './audit';

export interface ApiModuleOptions extends LedgerApplicationOptions {
  /**
   * Where the read models are and who projects them. Default: a projector in this process
   * on an in-memory read store (tests); `ledger serve` passes $LEDGER_DATA_DIR/read.db.
   */
  readModel?: ReadModelOptions;
}

@Module({})
export class ApiModule {
  static forRoot(options: ApiModuleOptions): DynamicModule {
    return {
      module: ApiModule,
      imports: [LedgerApplicationModule.forRoot(options)],
      controllers: [
        HealthController,
        CoalitionController,
        PartnersController,
        PartnerPositionsController,
        KeysController,
        MembersController,
        TransactionsController,
        SettlementsController,
        ...AUDIT_CONTROLLERS,
      ],
      providers: [
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        // Read models (issue 5): the factory reads the options, so the projector's place is per app.
        {
          provide: ReadModelAccess,
          useFactory: (store: EventStore) => new ReadModelAccess(store, options.readModel),
          inject: [EVENT_STORE],
        },
        ...READ_MODEL_QUERY_HANDLERS,
        PartnerTransactionsHandler,
        ...AUDIT_PROVIDERS,
      ],
    };
  }
}
