import { CommandBus } from '@nestjs/cqrs';
import { DAY_MS, withLuhnDigit } from '@ledger/domain';
import {
  AccruePointsCommand,
  CommandMeta,
  ConfigureCoalitionCommand,
  EnrolMemberCommand,
  IssueApiKeyCommand,
  IssuedKey,
  RedeemPointsCommand,
  RegisterPartnerCommand,
  systemMeta,
} from '@ledger/application';

export const DEMO_PARTNERS = [
  {
    partnerId: 'freshmart',
    name: 'FreshMart groceries',
    earnRule: { pointsPerUnit: 1, unitMinor: 10_000 },
    issuanceFeeBps: 150,
    breakageShareBps: 5000,
  },
  {
    partnerId: 'bistro',
    name: 'Bistro Nord restaurants',
    earnRule: { pointsPerUnit: 2, unitMinor: 10_000 },
    issuanceFeeBps: 200,
    breakageShareBps: 5000,
  },
  {
    partnerId: 'skyair',
    name: 'SkyAir airline',
    earnRule: { pointsPerUnit: 5, unitMinor: 10_000 },
    issuanceFeeBps: 100,
    breakageShareBps: 4000,
  },
];

export interface DemoKeys {
  admin: IssuedKey;
  finance: IssuedKey;
  auditor: IssuedKey;
  partners: Record<string, IssuedKey>;
}

const partnerMeta = (key: IssuedKey): CommandMeta => ({
  correlationId: `demo-${key.keyId}`,
  causationId: null,
  actor: { keyId: key.keyId, role: 'partner', partnerId: key.partnerId },
});

/**
 * A small coalition with history a newcomer can query at once: RUB at 10 kopecks a point,
 * three partners, ten members, purchases over the last 60 days and redemptions at other
 * partners, all written through the same command handlers as the API.
 */
export async function seedDemo(commands: CommandBus, now: Date): Promise<DemoKeys> {
  const meta = systemMeta('demo-seed');
  await commands.execute(new ConfigureCoalitionCommand({ currency: 'RUB', pointValueMinor: 10, expiryMonths: 24 }, meta));
  const staff = (role: 'admin' | 'finance' | 'auditor') => commands.execute(new IssueApiKeyCommand({ role }, meta));
  const keys: DemoKeys = { admin: await staff('admin'), finance: await staff('finance'), auditor: await staff('auditor'), partners: {} };
  for (const p of DEMO_PARTNERS) {
    await commands.execute(new RegisterPartnerCommand(p, meta));
    keys.partners[p.partnerId] = await commands.execute(new IssueApiKeyCommand({ partnerId: p.partnerId }, meta));
  }
  const at = (daysAgo: number, hour: number) =>
    new Date(now.getTime() - daysAgo * DAY_MS + hour * 3_600_000 - 12 * 3_600_000).toISOString();
  for (let i = 1; i <= 10; i++) {
    const memberId = `demo-member-${String(i).padStart(2, '0')}`;
    const home = DEMO_PARTNERS[i % 3].partnerId;
    await commands.execute(
      new EnrolMemberCommand(
        { memberId, cardNumber: withLuhnDigit(`6${String(i).padStart(14, '0')}`), enrolledBy: home },
        partnerMeta(keys.partners[home]),
      ),
    );
    // Groceries every week or so, a meal now and then; larger baskets for some members.
    for (let week = 0; week < 8; week++) {
      const amountMinor = (1500 + ((i * 7919 + week * 104729) % 6000)) * 100 * (i <= 2 ? 4 : 1);
      await commands.execute(
        new AccruePointsCommand(
          {
            partnerId: 'freshmart',
            externalId: `fm-${i}-${week}`,
            memberId,
            amountMinor,
            currency: 'RUB',
            occurredAt: at(60 - week * 7, 10 + (i % 8)),
          },
          partnerMeta(keys.partners.freshmart),
        ),
      );
    }
    if (i % 2 === 0) {
      await commands.execute(
        new AccruePointsCommand(
          {
            partnerId: 'bistro',
            externalId: `bn-${i}`,
            memberId,
            amountMinor: 420_000 + i * 1_000,
            currency: 'RUB',
            occurredAt: at(40, 20),
          },
          partnerMeta(keys.partners.bistro),
        ),
      );
    }
    if (i % 3 === 0) {
      await commands.execute(
        new AccruePointsCommand(
          { partnerId: 'skyair', externalId: `sa-${i}`, memberId, amountMinor: 2_500_000, currency: 'RUB', occurredAt: at(35, 8) },
          partnerMeta(keys.partners.skyair),
        ),
      );
    }
    // Spend at another partner than the one that issued most of the points.
    const spendAt = i % 2 === 0 ? 'skyair' : 'bistro';
    await commands.execute(
      new RedeemPointsCommand(
        { partnerId: spendAt, externalId: `spend-${i}`, memberId, points: 20 + i * 3, occurredAt: at(30 - i, 19) },
        partnerMeta(keys.partners[spendAt]),
      ),
    );
    if (i % 4 === 1) {
      await commands.execute(
        new RedeemPointsCommand(
          { partnerId: 'freshmart', externalId: `self-${i}`, memberId, points: 10, occurredAt: at(5, 18) },
          partnerMeta(keys.partners.freshmart),
        ),
      );
    }
  }
  return keys;
}
