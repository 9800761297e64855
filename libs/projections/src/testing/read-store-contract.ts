import { MemoryEventStore } from '@ledger/event-store';
import { CheckpointMoved } from '../read-model-writer';
import { ProjectionRunner, headPosition } from '../projection-runner';
import { ReadModelStore } from '../read-store-port';
import { rebuildReadStore } from '../rebuild';
import { DirectLedger } from './direct-ledger';
import { appendSyntheticHistory } from './synthetic-history';

export interface ReadStoreUnderTest {
  /** A fresh, empty read store; a second call gives a second, independent one. */
  open(): Promise<ReadModelStore>;
  /** Resolves true once `store`'s checkpoint reaches `position` (as the API waits for it). */
  waitForPosition(store: ReadModelStore, position: number, timeoutMs: number): Promise<boolean>;
  cleanUp(): Promise<void>;
}

/**
 * What every read store does, whatever holds it: the same answers for the same events,
 * batches that land whole or not at all, a compare-and-set checkpoint, rebuild = incremental.
 */
export function readStoreContract(name: string, make: () => Promise<ReadStoreUnderTest>): void {
  describe(`read store contract: ${name}`, () => {
    let subject: ReadStoreUnderTest;
    let events: MemoryEventStore;
    let ledger: DirectLedger;
    const opened: ReadModelStore[] = [];
    const open = async () => {
      const store = await subject.open();
      opened.push(store);
      return store;
    };
    const catchUp = async (store: ReadModelStore, batchSize?: number) => {
      const runner = new ProjectionRunner(events, store, { batchSize });
      await runner.runUntil((await headPosition(events))!);
    };

    beforeEach(async () => {
      subject = await make();
      events = new MemoryEventStore();
      ledger = new DirectLedger(events);
      await ledger.configure(10);
      for (const p of ['grocer', 'cafe', 'air']) await ledger.join(p);
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      await subject.cleanUp();
    });

    it('answers balances, lots, positions, transactions and liability from the events', async () => {
      await ledger.enrol('ann');
      await ledger.enrol('bob');
      await ledger.accrue('grocer', 'ann', 50_000, 'g1', '2026-09-10T10:00:00.000Z'); // 500 points
      await ledger.accrue('cafe', 'ann', 20_000, 'c1', '2026-09-11T10:00:00.000Z'); // 200
      await ledger.accrue('air', 'bob', 30_000, 'a1', '2026-09-12T10:00:00.000Z'); // 300
      await ledger.redeem('cafe', 'ann', 600, 'c2', '2026-10-01T10:00:00.000Z'); // 500 of grocer's + 100 of cafe's, at cafe
      await ledger.redeem('grocer', 'bob', 100, 'g2', '2026-10-03T10:00:00.000Z'); // air's points at grocer
      await ledger.reverse('grocer', 'bob', 'g2', 'g3', '2026-11-05T10:00:00.000Z'); // cancelled
      await ledger.expire('ann', 'cafe:c1'); // the 100 left
      const store = await open();
      await catchUp(store, 4);
      const head = (await headPosition(events))!;
      const reader = store.createReader();

      expect(await reader.position()).toBe(head);
      expect(await reader.member('ann')).toEqual({
        memberId: 'ann',
        cardNumber: ledger.state('ann').cardNumber,
        available: 0,
        held: 0,
        lifetimeAccrued: 700,
        lifetimeRedeemed: 600,
        lifetimeExpired: 100,
        lots: [],
        asOfPosition: head,
      });
      expect(await reader.member('bob')).toMatchObject({
        available: 300,
        lots: [{ lotId: 'air:a1', issuerPartnerId: 'air', points: 300, expiresAt: '2028-09-12T10:00:00.000Z' }],
      });
      expect(await reader.member('nobody')).toBeUndefined();
      const positions = await reader.partnerPositions();
      expect(positions.map((p) => p.partnerId)).toEqual(['air', 'cafe', 'grocer']);
      expect(await reader.partnerPosition('grocer')).toEqual({
        partnerId: 'grocer',
        currency: 'RUB',
        pointsIssued: 500,
        pointsRedeemedAt: 0,
        pointsRedeemedElsewhere: 500,
        pointsRedeemedFromOthers: 0,
        pointsExpired: 0,
        pointsReversed: 0,
        pointsOutstanding: 0,
        liabilityMinor: 0,
        pointsHeld: 0,
        asOfPosition: head,
      });
      expect(await reader.partnerPosition('cafe')).toMatchObject({
        pointsRedeemedAt: 600,
        pointsRedeemedFromOthers: 500,
        pointsExpired: 100,
      });
      expect(await reader.partnerPosition('nobody')).toBeUndefined();
      expect(await reader.transaction('grocer:g3')).toMatchObject({ kind: 'redemption_reversal', originalTxId: 'grocer:g2', points: 100 });
      expect(await reader.liability('2026-10')).toEqual([
        { period: '2026-10', issuerPartnerId: 'air', redeemerPartnerId: 'grocer', points: 100, amountMinor: 1_000 },
        { period: '2026-10', issuerPartnerId: 'cafe', redeemerPartnerId: 'cafe', points: 100, amountMinor: 1_000 }, // self-redemption
        { period: '2026-10', issuerPartnerId: 'grocer', redeemerPartnerId: 'cafe', points: 500, amountMinor: 5_000 },
      ]);
      expect((await reader.liability()).map((r) => r.period)).toEqual(['2026-10', '2026-10', '2026-10', '2026-11']);
    });

    it('a rebuild equals the state built incrementally in small batches', async () => {
      await appendSyntheticHistory(events, { events: 1_500, members: 40, existingPartners: ['grocer', 'cafe', 'air'], seed: 7 });
      const incremental = await open();
      await catchUp(incremental, 37);
      const rebuilt = await open();
      const result = await rebuildReadStore(events, rebuilt, { batchSize: 500 });
      expect(result.position).toBe(await headPosition(events));
      expect(await rebuilt.dump()).toEqual(await incremental.dump());
      expect((await rebuilt.dump()).transactions.length).toBeGreaterThan(500);
    });

    it('refuses a batch when the checkpoint moved, and writes nothing', async () => {
      await ledger.enrol('ann');
      await ledger.accrue('grocer', 'ann', 10_000, 'g1');
      const all = await events.readAll();
      const store = await open();
      const writer = store.createWriter();
      for (const e of all.slice(0, 3)) writer.stage(e);
      await writer.commitStaged(undefined);
      const before = await store.dump();
      for (const e of all.slice(3)) writer.stage(e);
      await expect((async () => writer.commitStaged(undefined))()).rejects.toThrow(CheckpointMoved);
      expect(await store.dump()).toEqual(before);
    });

    it('a broken event rolls its whole batch back, checkpoint included', async () => {
      await ledger.enrol('ann');
      const all = await events.readAll();
      const last = all[all.length - 1];
      const store = await open();
      const writer = store.createWriter();
      const data = {
        txId: 'grocer:bad',
        partnerId: 'grocer',
        memberId: 'ann',
        points: 5,
        pointValueMinor: 10,
        slices: [{ lotId: 'grocer:none', issuerPartnerId: 'grocer', points: 5 }],
        occurredAt: '2026-11-20T12:00:00.000Z',
      };
      for (const e of all) writer.stage(e);
      writer.stage({ ...last, position: last.position + 1_000, type: 'PointsRedeemed', data });
      // The CHECK refuses the negative balance (a driver's error, so caught here rather than through jest's `rejects`).
      const refused = await (async () => writer.commitStaged(undefined))().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(String(refused)).toMatch(/available|check/i);
      expect((await store.checkpoint()).position).toBeUndefined();
      expect(await store.createReader().member('ann')).toBeUndefined();
    });

    it('reset empties every read model and the checkpoint', async () => {
      await ledger.enrol('ann');
      const store = await open();
      await catchUp(store);
      await store.reset();
      expect(await store.checkpoint()).toEqual({ position: undefined, eventId: undefined, events: 0 });
      const tables = await store.dump();
      for (const [table, rows] of Object.entries(tables)) expect([table, rows.length]).toEqual([table, table === 'checkpoint' ? 1 : 0]);
    });

    it('a reader waiting for a position is released once a batch reaches it, and not before', async () => {
      await ledger.enrol('ann');
      const store = await open();
      await catchUp(store);
      const { position } = await ledger.accrue('grocer', 'ann', 10_000, 'g1');
      expect(await subject.waitForPosition(store, position, 50)).toBe(false);
      const waiting = subject.waitForPosition(store, position, 5_000);
      await catchUp(store);
      expect(await waiting).toBe(true);
    });
  });
}
