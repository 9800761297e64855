import { MemoryEventStore } from '@ledger/event-store';
import { CheckpointMoved } from '../read-model-writer';
import { ProjectionRunner, headPosition } from '../projection-runner';
import { ReadModelStore } from '../read-store-port';
import { rebuildReadStore } from '../rebuild';
import { DirectLedger } from './direct-ledger';
import { appendSyntheticHistory } from './synthetic-history';
import { appendProgramHistory } from './program-history';
import { programWindow } from '../program-report';

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
        pending: { points: 0, lots: [] },
        lifetimeAccrued: 700,
        lifetimeRedeemed: 600,
        lifetimeExpired: 100,
        tier: null,
        lots: [],
        expiringSoon: [],
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
        pointsPending: 0,
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

    it('programme KPIs of a window, worked out by hand (testing/program-history.ts)', async () => {
      await appendProgramHistory(ledger);
      const store = await open();
      await catchUp(store, 5);
      const reader = store.createReader();
      const report = await reader.programReport(programWindow('2026-10-01', '2026-11-01'));
      expect(report).toMatchObject({ from: '2026-10-01', to: '2026-11-01', previousFrom: '2026-08-31', days: 31 });
      expect(report).toMatchObject({ currency: 'RUB', pointValueMinor: 10, asOfPosition: await headPosition(events) });
      const row = (partnerId: string) => report.partners.find((p) => p.partnerId === partnerId);
      expect(report.partners.map((p) => p.partnerId)).toEqual(['air', 'cafe', 'grocer']);
      // grocer: enrolled cat, dan. Active in W: ann (g2), cat (g3), dan (g4, g5); in P: ann (g1): retained 1 of 1.
      // Earned in W: ann 500, cat 300, dan 100 (refunded later, still earned): 3 earners, top ceil(3/5) = 1 (ann):
      // 500 / 900 = 5555.5… bps → 5556. No grocer lot expires in W. Outstanding before 11-01:
      // issued 1000 + 500 + 300 + 100 = 1900, redeemed 100 (c2) + 100 (a3), refunded 100 → 1600 points, 16 000 minor.
      expect(row('grocer')).toEqual({
        partnerId: 'grocer',
        enrolled: 2,
        active: 3,
        previousActive: 1,
        retained: 1,
        retentionBps: 10_000,
        churnBps: 0,
        earners: 3,
        topEarners: 1,
        pointsEarned: 900,
        topPointsEarned: 500,
        topShareBps: 5_556,
        pointsExpiring: 0,
        pointsExpired: 0,
        breakageBps: null,
        outstandingPoints: 1_600,
        liabilityMinor: 16_000,
      });
      // cafe: enrolled none in W (bob was in P). Active in W: dan (c3); in P: bob (c1), ann (c2, a redemption at cafe):
      // retained 0 of 2 → churn 10 000. Earned: dan 100 → 1 earner, the whole. Outstanding: c1 200 + c3 100 (c4 is on 11-01).
      expect(row('cafe')).toMatchObject({
        enrolled: 0,
        active: 1,
        previousActive: 2,
        retained: 0,
        retentionBps: 0,
        churnBps: 10_000,
        earners: 1,
        topEarners: 1,
        pointsEarned: 100,
        topShareBps: 10_000,
        outstandingPoints: 300,
        liabilityMinor: 3_000,
      });
      // air: enrolled fay (gus is on 11-01, outside). Active in W: eve (a1), cat (a3), fay (a2, the last instant); none in P:
      // no retention to speak of. Earned: eve 50, fay 50: top ceil(2/5) = 1 of two tied → 50 / 100.
      expect(row('air')).toMatchObject({
        enrolled: 1,
        active: 3,
        previousActive: 0,
        retained: 0,
        retentionBps: null,
        churnBps: null,
        earners: 2,
        topEarners: 1,
        pointsEarned: 100,
        topPointsEarned: 50,
        topShareBps: 5_000,
        outstandingPoints: 100,
      });
      // Programme: enrolled cat, dan, eve (no partner), fay = 4. Active in W: ann, cat, dan, eve, fay = 5; in P: ann, bob;
      // retained ann: 1 / 2 = 5000. Earned per member: ann 500, cat 300, dan 200, eve 50, fay 50 = 1100; top 1: 500 / 1100
      // = 4545.4… → 4545. Outstanding 1600 + 300 + 100 = 2000 points, 20 000 minor.
      expect(report.total).toEqual({
        enrolled: 4,
        active: 5,
        previousActive: 2,
        retained: 1,
        retentionBps: 5_000,
        churnBps: 5_000,
        earners: 5,
        topEarners: 1,
        pointsEarned: 1_100,
        topPointsEarned: 500,
        topShareBps: 4_545,
        pointsExpiring: 0,
        pointsExpired: 0,
        breakageBps: null,
        outstandingPoints: 2_000,
        liabilityMinor: 20_000,
      });

      // Lots expiring in September 2028: g1 (grocer, 1000 issued, 900 expired) and c1 (cafe, 200, no expiry recorded yet).
      const september = await reader.programReport(programWindow('2028-09-01', '2028-10-01'));
      expect(september.partners.map((p) => [p.partnerId, p.pointsExpiring, p.pointsExpired, p.breakageBps])).toEqual([
        ['air', 0, 0, null],
        ['cafe', 200, 0, 0],
        ['grocer', 1_000, 900, 9_000],
      ]);
      // 900 / 1200; grocer's outstanding at 10-01: 1600 − 900 expired on 09-01.
      expect(september.total).toMatchObject({ pointsExpiring: 1_200, pointsExpired: 900, breakageBps: 7_500, active: 0, enrolled: 0 });
      expect(september.partners.find((p) => p.partnerId === 'grocer')!.outstandingPoints).toBe(700);
      // October 2028: g2 500 + g3 300 + g4 (100 refunded: 0) of grocer, 200 of g3 expired; c3 100 of cafe; a1, a2 100 of air.
      const october = await reader.programReport(programWindow('2028-10-01', '2028-11-01'));
      expect(october.partners.map((p) => [p.partnerId, p.pointsExpiring, p.pointsExpired, p.breakageBps])).toEqual([
        ['air', 100, 0, 0],
        ['cafe', 100, 0, 0],
        ['grocer', 800, 200, 2_500],
      ]);
      expect(october.total).toMatchObject({ pointsExpiring: 1_000, pointsExpired: 200, breakageBps: 2_000 });
    });

    it('lists due lots from the index, and a read at a moment leaves out lots expired by then, lapse recorded or not', async () => {
      await ledger.enrol('ann');
      await ledger.enrol('bob');
      await ledger.accrue('grocer', 'ann', 50_000, 'g1', '2026-09-10T10:00:00.000Z'); // 500, expires 2028-09-10T10:00
      await ledger.accrue('cafe', 'ann', 20_000, 'c1', '2026-09-11T10:00:00.000Z'); // 200, expires 2028-09-11T10:00
      await ledger.accrue('air', 'bob', 30_000, 'a1', '2026-09-12T10:00:00.000Z'); // 300, expires 2028-09-12T10:00
      await ledger.accrue('air', 'bob', 10_000, 'a2', '2026-09-12T10:00:00.000Z'); // 100, expires with a1
      await ledger.redeem('cafe', 'ann', 600, 'c2', '2026-10-01T10:00:00.000Z'); // all of g1, 100 of c1
      const store = await open();
      await catchUp(store);
      const reader = store.createReader();

      // A lot spent in full is no longer due; the one with points left is, with what is left.
      expect(await reader.dueLots(new Date('2028-09-11T10:00:00.000Z'), 10)).toEqual([
        { memberId: 'ann', lotId: 'cafe:c1', points: 100, expiresAt: '2028-09-11T10:00:00.000Z' },
      ]);
      expect((await reader.dueLots(new Date('2028-12-01T00:00:00.000Z'), 10)).map((l) => l.lotId)).toEqual(['cafe:c1', 'air:a1', 'air:a2']);
      // Pages follow one another without a gap or a repeat.
      const first = await reader.dueLots(new Date('2028-12-01T00:00:00.000Z'), 2);
      const second = await reader.dueLots(new Date('2028-12-01T00:00:00.000Z'), 2, first[1]);
      expect([...first, ...second].map((l) => l.lotId)).toEqual(['cafe:c1', 'air:a1', 'air:a2']);
      expect(await reader.dueLots(new Date('2028-09-10T00:00:00.000Z'), 10)).toEqual([]);

      // Before any lapse is recorded: expired lots drop out of available and lots.
      expect(await reader.member('ann', new Date('2028-09-11T10:00:00.000Z'))).toMatchObject({ available: 0, lots: [], expiringSoon: [] });
      expect(await reader.member('ann', new Date('2028-09-01T00:00:00.000Z'))).toMatchObject({
        available: 100,
        expiringSoon: [{ points: 100, expiresAt: '2028-09-11T10:00:00.000Z' }],
      });
      // Lots lapsing together are one line.
      expect(await reader.member('bob', new Date('2028-09-01T00:00:00.000Z'))).toMatchObject({
        available: 400,
        expiringSoon: [{ points: 400, expiresAt: '2028-09-12T10:00:00.000Z' }],
      });

      ledger.now = '2028-09-11T12:00:00.000Z';
      await ledger.expireDue('ann');
      await catchUp(store);
      expect(await reader.dueLots(new Date('2028-12-01T00:00:00.000Z'), 10)).toEqual([
        { memberId: 'bob', lotId: 'air:a1', points: 300, expiresAt: '2028-09-12T10:00:00.000Z' },
        { memberId: 'bob', lotId: 'air:a2', points: 100, expiresAt: '2028-09-12T10:00:00.000Z' },
      ]);
      expect(await reader.member('ann')).toMatchObject({ available: 0, lifetimeExpired: 100 });
      expect(await reader.partnerPosition('cafe')).toMatchObject({ pointsExpired: 100 });
    });

    it('a member enrolled and holding points in one batch keeps the hold', async () => {
      await ledger.enrol('ann');
      await ledger.accrue('grocer', 'ann', 10_000, 'g1'); // 100 points
      await ledger.hold('cafe', 'ann', 30, 'cart-1', 3_600);
      const store = await open();
      await catchUp(store); // one batch: the enrolment, the accrual and the open hold
      expect(await store.createReader().member('ann', new Date(ledger.now))).toMatchObject({ available: 70, held: 30 });
    });

    it("fraud controls: a replaced card is the member's card, and a refused accrual is listed as a flag", async () => {
      await ledger.enrol('ann');
      const limits = { maxAccrualsPerMemberPerHour: 1, maxPointsPerMemberPerDay: 1_000 };
      await ledger.accrueUnderLimits('grocer', 'ann', 50_000, 'g1', limits, '2026-09-10T10:00:00.000Z');
      const flagged = await ledger.accrueUnderLimits('grocer', 'ann', 20_000, 'g2', limits, '2026-09-10T10:30:00.000Z');
      await ledger.blockCard('ann');
      await ledger.replaceCard('ann', '4000000000000002');
      const store = await open();
      await catchUp(store);
      const reader = store.createReader();
      expect(await reader.member('ann')).toMatchObject({ cardNumber: '4000000000000002', available: 500, lifetimeAccrued: 500 });
      const flag = {
        position: flagged.position,
        memberId: 'ann',
        txId: 'grocer:g2',
        partnerId: 'grocer',
        rule: 'max_accruals_per_hour',
        limit: 1,
        observed: 2,
        window: '2026-09-10T10',
        amountMinor: 20_000,
        points: 200,
        occurredAt: '2026-09-10T10:30:00.000Z',
      };
      expect(await reader.flags()).toEqual([flag]);
      expect(await reader.flags('ann')).toEqual([flag]);
      expect(await reader.flags('bob')).toEqual([]);
    });

    it('shows pending lots until their availableAt, counts them per issuer, and lists due ones until released', async () => {
      await ledger.join('shop', { pointsPerUnit: 1, unitMinor: 100, pendingDays: 14 });
      await ledger.enrol('ann');
      await ledger.accrue('shop', 'ann', 5_000, 's1', '2026-11-01T12:00:00.000Z'); // 50, due on 15 Nov
      await ledger.accrue('shop', 'ann', 10_000, 's2', '2026-11-10T12:00:00.000Z'); // 100, pending until 24 Nov
      await ledger.accrue('shop', 'ann', 4_000, 's3', '2026-11-12T12:00:00.000Z'); // 40, refunded in its window
      await ledger.reverse('shop', 'ann', 's3', 's4', '2026-11-13T12:00:00.000Z');
      await ledger.accrue('grocer', 'ann', 3_000, 'g1', '2026-11-02T12:00:00.000Z'); // 30, spendable at once
      const store = await open();
      await catchUp(store, 2);
      const reader = store.createReader();
      const now = new Date(ledger.now);

      const s2 = { lotId: 'shop:s2', issuerPartnerId: 'shop', points: 100, availableAt: '2026-11-24T12:00:00.000Z' };
      expect(await reader.member('ann', now)).toMatchObject({
        available: 80,
        pending: { points: 100, lots: [s2] },
        lots: [expect.objectContaining({ lotId: 'shop:s1', points: 50 }), expect.objectContaining({ lotId: 'grocer:g1', points: 30 })],
      });
      expect(await reader.partnerPosition('shop', now)).toMatchObject({
        // Issuance counts at the accrual; the refund in the window is a reversal like any other.
        pointsIssued: 190,
        pointsReversed: 40,
        pointsPending: 100,
        pointsOutstanding: 150,
      });
      expect(await reader.partnerPosition('grocer', now)).toMatchObject({ pointsPending: 0 });
      // Past its availableAt a lot is spendable, released or not.
      expect(await reader.member('ann', new Date('2026-11-25T00:00:00.000Z'))).toMatchObject({
        available: 180,
        pending: { points: 0, lots: [] },
      });
      expect(await reader.duePendingLots(now, 10)).toEqual([
        { memberId: 'ann', lotId: 'shop:s1', availableAt: '2026-11-15T12:00:00.000Z' },
      ]);

      await ledger.releasePending('ann', 'shop:s1');
      await catchUp(store);
      expect(await reader.duePendingLots(now, 10)).toEqual([]);
      expect(await reader.member('ann', now)).toMatchObject({ available: 80, pending: { points: 100 } });
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
