import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { LedgerApplicationModule, LedgerApplicationOptions } from '@ledger/application';
import { CoalitionController } from './coalition/coalition.controller';
import { HealthController } from './health/health.controller';
import { ApiKeyGuard } from './http/auth';
import { KeysController } from './keys/keys.controller';
import { MembersController } from './members/members.controller';
import { PartnersController } from './partners/partners.controller';
import { TransactionsController } from './transactions/transactions.controller';
import { SettlementsController } from './settlements/settlements.controller';

@Module({})
export class ApiModule {
  static forRoot(options: LedgerApplicationOptions): DynamicModule {
    return {
      module: ApiModule,
      imports: [LedgerApplicationModule.forRoot(options)],
      controllers: [HealthController, CoalitionController, PartnersController, KeysController, MembersController, TransactionsController, SettlementsController],
      providers: [{ provide: APP_GUARD, useClass: ApiKeyGuard }],
    };
  }
}
