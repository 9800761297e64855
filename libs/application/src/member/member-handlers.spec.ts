import { CommandBus } from '@nestjs/cqrs';
import { chainHash, BusinessMetadata } from '@ledger/integrity';
import { MemoryEventStore } from '@ledger/event-store';
import { expectIntactChain, partnerMeta, seedMemberM, startMemberApp } from '../testing/member-app';
import { AccruePointsCommand } from './accrue-points';
import { RedeemPointsCommand } from './redeem-points';

describe('member command handlers (memory store)', () => {
  let store: MemoryEventStore;
  let bus: CommandBus;

  beforeEach(async () => {
    store = new MemoryEventStore();
    ({ bus } = await startMemberApp(store));
    await seedMemberM(bus, ['a', 'b']);
  });

  const accrue = (externalId: string, amountMinor = 1000, partnerId = 'a') =>
    bus.execute(
      new AccruePointsCommand(
        { partnerId, externalId, memberId: 'm', amountMinor, currency: 'RUB', occurredAt: '2026-11-20T10:00:00Z' },
        partnerMeta(partnerId),
      ),
    );

  it('chains every event of a stream to the one before it', async () => {
    await accrue('r1');
    await accrue('r2');
    await bus.execute(
      new RedeemPointsCommand(
        { partnerId: 'b', externalId: 'x', memberId: 'm', points: 15, occurredAt: '2026-11-20T11:00:00Z' },
        partnerMeta('b'),
      ),
    );
    const events = await store.readStream('member-m');
    expect(events.map((e) => e.type)).toEqual(['MemberEnrolled', 'PointsAccrued', 'PointsAccrued', 'PointsRedeemed']);
    expectIntactChain(events);
  });

  it('the first accrual after the enrolment starts from the state the enrolment left: no member stream is read', async () => {
    const reads = jest.spyOn(store, 'readStream');
    const first = await accrue('r1');
    expect(reads.mock.calls.filter(([stream]) => stream === 'member-m')).toEqual([]);
    expect(first.body).toMatchObject({ memberId: 'm', points: 10, balance: 10 });
    // It chained onto the enrolment's hash and appended at the next revision.
    const events = await store.readStream('member-m');
    expect(events.map((e) => [e.revision, e.type])).toEqual([
      [0, 'MemberEnrolled'],
      [1, 'PointsAccrued'],
    ]);
    expectIntactChain(events);
    expect(first.body.position).toBe(events[1].position);
  });

  it('any edit of an event breaks its hash', async () => {
    await accrue('r1');
    const [, accrued] = await store.readStream('member-m');
    const tampered = { ...accrued.data, points: 1_000 };
    expect(chainHash(String(accrued.metadata.prevHash), accrued.type, tampered, accrued.metadata as unknown as BusinessMetadata)).not.toBe(
      accrued.metadata.hash,
    );
  });

  it('concurrent different transactions on one member all land, each once (retry on conflict)', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => accrue(`c-${i}`, 100 * (i + 1))));
    expect(results.every((r) => r.replay === false)).toBe(true);
    const accrued = (await store.readStream('member-m')).filter((e) => e.type === 'PointsAccrued');
    expect(accrued).toHaveLength(30);
    const balances = results.map((r) => r.body.balance).sort((x, y) => x - y);
    expect(balances.at(-1)).toBe((30 * 31) / 2);
    // Every answer's balance is the balance right after its own event, so all differ.
    expect(new Set(balances).size).toBe(30);
  });

  it('records metadata: correlation, actor, business time', async () => {
    await accrue('r1');
    const [, accrued] = await store.readStream('member-m');
    expect(accrued.metadata).toMatchObject({
      correlationId: 'c-1',
      causationId: null,
      actor: { role: 'partner', partnerId: 'a' },
      occurredAt: '2026-11-20T10:00:00.000Z',
    });
  });

  describe('two app instances on one store (cached member state must never decide wrongly)', () => {
    let other: CommandBus;
    beforeEach(async () => {
      ({ bus: other } = await startMemberApp(store));
    });
    const accrueVia = (via: CommandBus, externalId: string, amountMinor = 1000) =>
      via.execute(
        new AccruePointsCommand(
          { partnerId: 'a', externalId, memberId: 'm', amountMinor, currency: 'RUB', occurredAt: '2026-11-20T10:00:00Z' },
          partnerMeta('a'),
        ),
      );
    const redeemVia = (via: CommandBus, externalId: string, points: number) =>
      via.execute(
        new RedeemPointsCommand(
          { partnerId: 'b', externalId, memberId: 'm', points, occurredAt: '2026-11-20T11:00:00Z' },
          partnerMeta('b'),
        ),
      );

    it('a redemption covered only by points accrued through the other instance succeeds', async () => {
      await accrueVia(bus, 'r1'); // this instance now caches a balance of 10
      await accrueVia(other, 'r2'); // the other instance adds 10 more
      const res = await redeemVia(bus, 'x', 15);
      expect(res.body.balance).toBe(5);
    });

    it('a retry through the other instance is a replay, not a second accrual', async () => {
      await accrueVia(other, 'seed'); // the other instance caches the member
      const first = await accrueVia(bus, 'r1');
      const retry = await accrueVia(other, 'r1');
      expect(retry).toEqual({ replay: true, body: first.body });
      expect((await store.readStream('member-m')).filter((e) => e.type === 'PointsAccrued')).toHaveLength(2);
    });

    it('100 identical posts spread over both instances append one event', async () => {
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => accrueVia(i % 2 ? bus : other, 'burst')));
      expect((await store.readStream('member-m')).filter((e) => e.type === 'PointsAccrued')).toHaveLength(1);
      expect(new Set(results.map((r) => JSON.stringify(r.body))).size).toBe(1);
    });
  });
});
