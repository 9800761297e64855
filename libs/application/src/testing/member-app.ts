import { Test } from '@nestjs/testing';
import { CommandBus } from '@nestjs/cqrs';
import { withLuhnDigit } from '@ledger/domain';
import { EventStore, RecordedEvent } from '@ledger/event-store';
import { BusinessMetadata, GENESIS_HASH, chainHash } from '@ledger/integrity';
import { FixedClock } from '../shared/clock';
import { CommandMeta, systemMeta } from '../shared/command-meta';
import { LedgerApplicationModule } from '../ledger-application.module';
import { ConfigureCoalitionCommand } from '../coalition/configure-coalition';
import { RegisterPartnerCommand } from '../partner/register-partner';
import { EnrolMemberCommand } from '../member/enrol-member';

/**
 * What the member handlers' specs share: the application over a store at a fixed clock, a
 * coalition whose partners earn a point per 100 minor units, member `m` enrolled at the first
 * partner, and the check that a stream's events chain.
 */
export const MEMBER_APP_NOW = '2026-11-20T12:00:00Z';

export const partnerMeta = (partnerId: string): CommandMeta => ({
  correlationId: 'c-1',
  causationId: null,
  actor: { keyId: 'k', role: 'partner', partnerId },
});

/** One application instance on `store`, as one API process has; several may share a store. */
export async function startMemberApp(store: EventStore): Promise<{ bus: CommandBus; close: () => Promise<void> }> {
  const moduleRef = await Test.createTestingModule({
    imports: [LedgerApplicationModule.forRoot({ store, clock: new FixedClock(new Date(MEMBER_APP_NOW)), config: { maxBackdateDays: 90 } })],
  }).compile();
  await moduleRef.init();
  return { bus: moduleRef.get(CommandBus), close: () => moduleRef.close() };
}

/** The coalition (RUB, 10 minor units a point), `partners`, and member `m` enrolled at the first of them. */
export async function seedMemberM(bus: CommandBus, partners: readonly string[]): Promise<void> {
  await bus.execute(new ConfigureCoalitionCommand({ currency: 'RUB', pointValueMinor: 10, expiryMonths: 12 }, systemMeta()));
  for (const partnerId of partners) {
    await bus.execute(
      new RegisterPartnerCommand(
        { partnerId, name: partnerId, earnRule: { pointsPerUnit: 1, unitMinor: 100 }, issuanceFeeBps: 0, breakageShareBps: 0 },
        systemMeta(),
      ),
    );
  }
  await bus.execute(
    new EnrolMemberCommand(
      { memberId: 'm', cardNumber: withLuhnDigit('700000000000001'), enrolledBy: partners[0] },
      partnerMeta(partners[0]),
    ),
  );
}

/**
 * A programme with two tiers, gold from 500 qualifying points, in force from November 2026:
 * an accrual of 5,000 RUB crosses the threshold, and its append ends with the TierChanged.
 */
export const GOLD_AT_500_PROGRAM = {
  effectiveFrom: '2026-11-01T00:00:00Z',
  tiers: [
    { tierId: 'red', qualifyingPoints: 0, multiplierBps: 10_000 },
    { tierId: 'gold', qualifyingPoints: 500, multiplierBps: 20_000 },
  ],
  bonuses: {},
  limits: { maxAccrualsPerMemberPerHour: 10, maxPointsPerMemberPerDay: 100_000 },
};

/** Every event of the stream chains onto the one before it. */
export function expectIntactChain(events: readonly RecordedEvent[]): void {
  let prev = GENESIS_HASH;
  for (const e of events) {
    expect(e.metadata.prevHash).toBe(prev);
    expect(e.metadata.hash).toBe(chainHash(prev, e.type, e.data, e.metadata as unknown as BusinessMetadata));
    prev = String(e.metadata.hash);
  }
}
