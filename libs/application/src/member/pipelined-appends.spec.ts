import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandBus } from '@nestjs/cqrs';
import { DomainError } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { GOLD_AT_500_PROGRAM, expectIntactChain, partnerMeta, seedMemberM, startMemberApp } from '../testing/member-app';
import { systemMeta } from '../shared/command-meta';
import { ConfigureProgramCommand } from '../program/configure-program';
import { AccruePointsCommand } from './accrue-points';
import { RedeemPointsCommand } from './redeem-points';

describe('pipelined member appends on SQLite: a member’s next command is decided before the previous append lands', () => {
  let dir: string;
  const stores: SqliteEventStore[] = [];
  const closers: (() => Promise<void>)[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-pipelined-'));
  });

  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    for (const store of stores.splice(0)) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An application on its own connection to the shared file, as a second API process has. */
  async function instance(): Promise<{ bus: CommandBus; store: SqliteEventStore }> {
    const store = SqliteEventStore.open(join(dir, 'ledger.db'), { writer: 'worker' });
    stores.push(store);
    const { bus, close } = await startMemberApp(store);
    closers.push(close);
    return { bus, store };
  }

  const coalition = (bus: CommandBus) => seedMemberM(bus, ['a']);

  const accrue = (bus: CommandBus, externalId: string, amountMinor: number) =>
    bus.execute(
      new AccruePointsCommand(
        { partnerId: 'a', externalId, memberId: 'm', amountMinor, currency: 'RUB', occurredAt: '2026-11-20T10:00:00Z' },
        partnerMeta('a'),
      ),
    );

  it('concurrent accruals of one member share group commits; each lands once, in a chain, answering its own position and balance', async () => {
    const { bus, store } = await instance();
    await coalition(bus);
    const before = store.stats().flushes;
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => accrue(bus, `r-${i}`, 100 * (i + 1))));
    // One commit per accrual is what waiting for each append before deciding the next would take.
    expect(store.stats().flushes - before).toBeLessThan(40);
    const events = await store.readStream('member-m');
    const accrued = events.filter((e) => e.type === 'PointsAccrued');
    expect(accrued).toHaveLength(40);
    expectIntactChain(events);
    for (const r of results) {
      const own = accrued.find((e) => e.data.txId === r.body.txId)!;
      expect(r.body.position).toBe(own.position);
    }
    expect(results.map((r) => r.body.balance).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => ((i + 1) * (i + 2)) / 2));
  });

  it('a refusal waits for the appends ahead of it and is given on what they left', async () => {
    const { bus } = await instance();
    await coalition(bus);
    const accruals = Array.from({ length: 10 }, (_, i) => accrue(bus, `r-${i}`, 1_000)); // 10 points each
    const tooMuch = bus.execute(
      new RedeemPointsCommand(
        { partnerId: 'a', externalId: 'x', memberId: 'm', points: 101, occurredAt: '2026-11-20T11:00:00Z' },
        partnerMeta('a'),
      ),
    );
    const enough = bus.execute(
      new RedeemPointsCommand(
        { partnerId: 'a', externalId: 'y', memberId: 'm', points: 100, occurredAt: '2026-11-20T11:00:00Z' },
        partnerMeta('a'),
      ),
    );
    await Promise.all(accruals);
    await expect(tooMuch).rejects.toBeInstanceOf(DomainError);
    expect((await enough).body.balance).toBe(0);
  });

  it('an accrual that causes a tier change answers the position of the tier change, and another process replays it with the same answer', async () => {
    const one = await instance();
    await coalition(one.bus);
    await one.bus.execute(new ConfigureProgramCommand(GOLD_AT_500_PROGRAM, systemMeta()));
    // The small accrual is decided on the state the big one leaves, before the big one lands.
    const [big, small] = await Promise.all([accrue(one.bus, 'big', 100_000), accrue(one.bus, 'small', 100)]);
    const events = await one.store.readStream('member-m');
    expect(events.slice(-3).map((e) => e.type)).toEqual(['PointsAccrued', 'TierChanged', 'PointsAccrued']);
    expect(big.body.position).toBe(events.at(-2)!.position);
    expect(small.body.position).toBe(events.at(-1)!.position);
    // Another process has no cached state: it folds the stream and answers the retry from it.
    const two = await instance();
    expect(await accrue(two.bus, 'big', 100_000)).toEqual({ ...big, replay: true });
    expect(await accrue(two.bus, 'small', 100)).toEqual({ ...small, replay: true });
  });

  it('two processes racing on one member: appends chained onto a refused one are refused and decided again; nothing lost, nothing twice, the chain intact', async () => {
    const one = await instance();
    const two = await instance();
    await coalition(one.bus);
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => accrue(i % 2 ? one.bus : two.bus, `r-${i}`, 100)));
    expect(results.every((r) => r.replay === false)).toBe(true);
    const events = await one.store.readStream('member-m');
    const accrued = events.filter((e) => e.type === 'PointsAccrued');
    expect(accrued.map((e) => e.data.externalId).sort()).toEqual(Array.from({ length: 60 }, (_, i) => `r-${i}`).sort());
    expectIntactChain(events);
    expect(Math.max(...results.map((r) => r.body.balance))).toBe(60);
  });
});
