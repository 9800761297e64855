import { Test, TestingModule } from '@nestjs/testing';
import { ModulesContainer } from '@nestjs/core';
import { Command, CommandBus, Query, QueryBus } from '@nestjs/cqrs';
import { withLuhnDigit } from '@ledger/domain';
import { MemoryEventStore } from '@ledger/event-store';
import { MemberBalance, PartnerPosition } from '@ledger/projections';
import {
  AccruePointsCommand,
  CommandMeta,
  ConfigureCoalitionCommand,
  EnrolMemberCommand,
  FixedClock,
  RedeemPointsCommand,
  RedemptionBody,
  RegisterPartnerCommand,
  ReversalBody,
  TxOutcome,
  defaultLedgerConfig,
  systemMeta,
} from '@ledger/application';
import { ApiModule } from './api.module';
import { GetMemberBalanceQuery } from './projections/read-model.queries';

/*
 * Commands and queries declare their result (`Command<T>`, `Query<T>`), so the buses answer
 * with the handler's type. The `@ts-expect-error` lines below are checked by `npm run build`
 * (tsc compiles every spec): were `execute` still to answer `any`, each directive would be
 * unused, and the build would fail.
 */

// The decorators' metadata keys (set by @CommandHandler / @QueryHandler on the handler class).
const COMMAND_HANDLER_METADATA = '__commandHandler__';
const QUERY_HANDLER_METADATA = '__queryHandler__';

const partnerMeta = (partnerId: string): CommandMeta => ({
  correlationId: 'typed-bus',
  causationId: null,
  actor: { keyId: 'k', role: 'partner', partnerId },
});

const accrual = (externalId: string) =>
  new AccruePointsCommand(
    { partnerId: 'grocer', externalId, memberId: 'm-1', amountMinor: 100_000, currency: 'RUB', occurredAt: '2026-11-20T10:00:00.000Z' },
    partnerMeta('grocer'),
  );

/** A controller whose redemption route was wired to the accrual command by mistake. */
class MiswiredController {
  constructor(private readonly commands: CommandBus) {}

  redeem(externalId: string): Promise<TxOutcome<RedemptionBody>> {
    // @ts-expect-error an accrual answers no allocations: the wrong wiring does not compile
    return this.commands.execute(accrual(externalId));
  }
}

describe('typed commands and queries', () => {
  let moduleRef: TestingModule;
  let commands: CommandBus;
  let queries: QueryBus;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [
        ApiModule.forRoot({
          store: new MemoryEventStore(),
          clock: new FixedClock(new Date('2026-11-20T12:00:00.000Z')),
          config: defaultLedgerConfig(),
        }),
      ],
    }).compile();
    await moduleRef.init();
    commands = moduleRef.get(CommandBus);
    queries = moduleRef.get(QueryBus);
    await commands.execute(new ConfigureCoalitionCommand({ currency: 'RUB', pointValueMinor: 10, expiryMonths: 12 }, systemMeta()));
    await commands.execute(
      new RegisterPartnerCommand(
        { partnerId: 'grocer', name: 'Grocer', earnRule: { pointsPerUnit: 1, unitMinor: 100 }, issuanceFeeBps: 0, breakageShareBps: 0 },
        systemMeta(),
      ),
    );
    await commands.execute(
      new EnrolMemberCommand(
        { memberId: 'm-1', cardNumber: withLuhnDigit('700000000000001'), enrolledBy: 'grocer' },
        partnerMeta('grocer'),
      ),
    );
  });

  afterAll(() => moduleRef.close());

  it('every handler the API registers handles a class that declares its result', () => {
    const handled = { commands: [] as string[], queries: [] as string[], untyped: [] as string[] };
    for (const module of moduleRef.get(ModulesContainer).values()) {
      for (const { metatype } of module.providers.values()) {
        if (typeof metatype !== 'function') continue;
        const command: unknown = Reflect.getMetadata(COMMAND_HANDLER_METADATA, metatype);
        const query: unknown = Reflect.getMetadata(QUERY_HANDLER_METADATA, metatype);
        if (typeof command === 'function') {
          handled.commands.push(command.name);
          if (!(command.prototype instanceof Command)) handled.untyped.push(command.name);
        }
        if (typeof query === 'function') {
          handled.queries.push(query.name);
          if (!(query.prototype instanceof Query)) handled.untyped.push(query.name);
        }
      }
    }
    expect(handled.commands).toEqual(expect.arrayContaining(['AccruePointsCommand', 'ClosePeriodCommand', 'IssueApiKeyCommand']));
    expect(handled.queries).toEqual(expect.arrayContaining(['GetStatementQuery', 'GetMemberBalanceQuery', 'VerifyLedgerQuery']));
    expect(handled.untyped).toEqual([]);
  });

  it("answers a command with its handler's type", async () => {
    const accrued = await commands.execute(accrual('r-1'));
    const balance: number = accrued.body.balance;
    expect(balance).toBe(1_000);
    // @ts-expect-error an accrual's answer has no allocations (under `any` this compiled)
    expect(accrued.body.allocations).toBeUndefined();
    // @ts-expect-error nor is it a reversal's answer
    const asReversal: TxOutcome<ReversalBody> = accrued;
    expect(asReversal.body.kind).toBeUndefined();

    const redeemed = await commands.execute(
      new RedeemPointsCommand(
        { partnerId: 'grocer', externalId: 'x-1', memberId: 'm-1', points: 300, occurredAt: '2026-11-20T11:00:00.000Z' },
        partnerMeta('grocer'),
      ),
    );
    const asRedemption: TxOutcome<RedemptionBody> = redeemed;
    expect(asRedemption.body.allocations).toEqual([{ issuerPartnerId: 'grocer', points: 300 }]);
  });

  it('a route wired to the wrong command would answer the wrong shape, which is why it must not compile', async () => {
    const answer = await new MiswiredController(commands).redeem('r-2');
    expect(answer.body).not.toHaveProperty('allocations');
  });

  it("answers a query with its handler's type", async () => {
    const { body } = await commands.execute(accrual('r-3'));
    const member = await queries.execute(new GetMemberBalanceQuery('m-1', body.position));
    const asBalance: MemberBalance = member;
    expect(asBalance.available).toBe(2_700); // three accruals of 1,000, one redemption of 300
    // @ts-expect-error a member's balance is no partner position
    const asPosition: PartnerPosition = member;
    expect(asPosition).not.toHaveProperty('partnerId');
  });
});
