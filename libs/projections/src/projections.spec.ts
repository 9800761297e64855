import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStore, MemoryEventStore } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { evolveMember, initialMember } from '@ledger/domain';
import { CheckpointMoved, ProjectionRunner, ReadModelReader, ReadModelWriter, ReadStore, headPosition, rebuildReadStore } from './index';
import { DirectLedger } from './testing/direct-ledger';
import { appendSyntheticHistory } from './testing/synthetic-history';

const PARTNERS = ['grocer', 'cafe', 'air'];

interface Fixture {
  store: EventStore;
  readStore: ReadStore;
  /** A second read store in the same place, for rebuild comparisons. */
  otherReadStore(): ReadStore;
  close(): Promise<void>;
}

const adapters: [string, () => Fixture][] = [
  [
    'memory',
    () => {
      const store = new MemoryEventStore();
      const opened: ReadStore[] = [];
      const open = () => {
        const r = ReadStore.open(':memory:');
        opened.push(r);
        return r;
      };
      return {
        store,
        readStore: open(),
        otherReadStore: open,
        async close() {
          for (const r of opened) r.close();
          await store.close();
        },
      };
    },
  ],
  [
    'sqlite',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'ledger-projections-'));
      const store = SqliteEventStore.open(join(dir, 'ledger.db'), { pollIntervalMs: 20 });
      const opened: ReadStore[] = [];
      let n = 0;
      const open = () => {
        const r = ReadStore.open(join(dir, `read-${n++}.db`));
        opened.push(r);
        return r;
      };
      return {
        store,
        readStore: open(),
        otherReadStore: open,
        async close() {
          for (const r of opened) r.close();
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  ],
];

describe.each(adapters)('projections on the %s event store', (_name, makeFixture) => {
  let f: Fixture;
  let ledger: DirectLedger;
  beforeEach(async () => {
    f = makeFixture();
    ledger = new DirectLedger(f.store);
    await ledger.configure(10);
    for (const p of PARTNERS) await ledger.join(p);
  });
  afterEach(() => f.close());

  const catchUp = async (readStore = f.readStore, batchSize?: number) => {
    const runner = new ProjectionRunner(f.store, readStore, { batchSize });
    const head = await headPosition(f.store);
    await runner.runUntil(head!);
    return runner;
  };

  it('projects balances, lots, partner positions, the transaction index and liability rows', async () => {
    await ledger.enrol('ann');
    await ledger.enrol('bob');
    await ledger.accrue('grocer', 'ann', 50_000, 'g1', '2026-09-10T10:00:00.000Z'); // 500 points
    await ledger.accrue('cafe', 'ann', 20_000, 'c1', '2026-09-11T10:00:00.000Z'); // 200
    await ledger.accrue('air', 'bob', 30_000, 'a1', '2026-09-12T10:00:00.000Z'); // 300
    await ledger.redeem('cafe', 'ann', 600, 'c2', '2026-10-01T10:00:00.000Z'); // 500 grocer + 100 cafe, at cafe
    await ledger.redeem('air', 'bob', 50, 'a2', '2026-10-02T10:00:00.000Z'); // self-redemption
    await ledger.redeem('grocer', 'bob', 100, 'g2', '2026-10-03T10:00:00.000Z'); // air's points at grocer
    await ledger.reverse('grocer', 'bob', 'g2', 'g3', '2026-11-05T10:00:00.000Z'); // grocer cancels it
    await ledger.accrue('grocer', 'bob', 10_000, 'g4', '2026-11-06T10:00:00.000Z'); // 100
    await ledger.reverse('grocer', 'bob', 'g4', 'g5', '2026-11-06T11:00:00.000Z'); // refund
    await ledger.expire('ann', 'cafe:c1'); // the 100 left of cafe's lot
    await catchUp();
    const reader = new ReadModelReader(f.readStore);
    const head = (await headPosition(f.store))!;

    expect(reader.member('ann')).toEqual({
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
    expect(reader.member('bob')).toMatchObject({
      available: 250,
      lifetimeAccrued: 300,
      lifetimeRedeemed: 50,
      lots: [{ lotId: 'air:a1', issuerPartnerId: 'air', points: 250, expiresAt: '2028-09-12T10:00:00.000Z' }],
    });
    expect(reader.member('nobody')).toBeUndefined();

    const byId = Object.fromEntries(reader.partnerPositions().map((p) => [p.partnerId, p]));
    expect(byId.grocer).toEqual({
      partnerId: 'grocer',
      currency: 'RUB',
      pointsIssued: 600,
      pointsRedeemedAt: 0, // 100 redeemed, then cancelled
      pointsRedeemedElsewhere: 500,
      pointsRedeemedFromOthers: 0,
      pointsExpired: 0,
      pointsReversed: 100,
      pointsOutstanding: 0,
      liabilityMinor: 0,
      pointsHeld: 0,
      pointsPending: 0,
      asOfPosition: head,
    });
    expect(byId.cafe).toMatchObject({
      pointsIssued: 200,
      pointsRedeemedAt: 600,
      pointsRedeemedElsewhere: 0,
      pointsRedeemedFromOthers: 500,
      pointsExpired: 100,
      pointsReversed: 0,
      pointsOutstanding: 0,
    });
    expect(byId.air).toMatchObject({
      pointsIssued: 300,
      pointsRedeemedAt: 50,
      pointsRedeemedElsewhere: 0,
      pointsRedeemedFromOthers: 0,
      pointsOutstanding: 250,
      liabilityMinor: 2500,
      pointsHeld: 0,
    });
    expect(reader.partnerPosition('air')).toEqual(byId.air);
    expect(reader.partnerPosition('nobody')).toBeUndefined();

    expect(reader.transaction('grocer:g3')).toMatchObject({
      txId: 'grocer:g3',
      memberId: 'bob',
      partnerId: 'grocer',
      kind: 'redemption_reversal',
      points: 100,
      originalTxId: 'grocer:g2',
      occurredAt: '2026-11-05T10:00:00.000Z',
    });
    expect(reader.transaction('cafe:c2')).toMatchObject({ kind: 'redemption', points: 600, memberId: 'ann' });
    expect(reader.transaction('grocer:g5')).toMatchObject({ kind: 'accrual_reversal', points: 100 });

    // The cancellation counts in the month of its own business date, as settlement counts it.
    expect(reader.liability()).toEqual([
      { period: '2026-10', issuerPartnerId: 'air', redeemerPartnerId: 'air', points: 50, amountMinor: 500 },
      { period: '2026-10', issuerPartnerId: 'air', redeemerPartnerId: 'grocer', points: 100, amountMinor: 1000 },
      { period: '2026-10', issuerPartnerId: 'cafe', redeemerPartnerId: 'cafe', points: 100, amountMinor: 1000 },
      { period: '2026-10', issuerPartnerId: 'grocer', redeemerPartnerId: 'cafe', points: 500, amountMinor: 5000 },
      { period: '2026-11', issuerPartnerId: 'air', redeemerPartnerId: 'grocer', points: -100, amountMinor: -1000 },
    ]);
    expect(reader.liability('2026-11')).toHaveLength(1);
  });

  it('values outstanding points at the current point value', async () => {
    await ledger.enrol('ann');
    await ledger.accrue('grocer', 'ann', 10_000, 'g1');
    await ledger.changePointValue(25);
    await catchUp();
    expect(new ReadModelReader(f.readStore).partnerPosition('grocer')).toMatchObject({ pointsOutstanding: 100, liabilityMinor: 2500 });
  });

  it('a cancelled redemption reopens a lot it had emptied, in its place among the lots', async () => {
    await ledger.enrol('ann');
    await ledger.accrue('grocer', 'ann', 10_000, 'g1', '2026-09-01T10:00:00.000Z');
    await ledger.accrue('cafe', 'ann', 10_000, 'c1', '2026-09-02T10:00:00.000Z');
    await ledger.redeem('air', 'ann', 150, 'a1');
    await ledger.reverse('air', 'ann', 'a1', 'a2');
    await catchUp();
    const lots = new ReadModelReader(f.readStore).member('ann')!.lots;
    expect(lots).toEqual(
      ledger.state('ann').lots.map(({ lotId, issuerPartnerId, points, expiresAt }) => ({ lotId, issuerPartnerId, points, expiresAt })),
    );
    expect(lots.map((l) => l.lotId)).toEqual(['grocer:g1', 'cafe:c1']);
  });

  it('follows live appends and wakes a waiter once its position is applied', async () => {
    await ledger.enrol('ann');
    const runner = new ProjectionRunner(f.store, f.readStore);
    const running = runner.run();
    const { position } = await ledger.accrue('grocer', 'ann', 10_000, 'g1');
    expect(await runner.waitForPosition(position, 5_000)).toBe(true);
    expect(new ReadModelReader(f.readStore).member('ann')).toMatchObject({ available: 100, asOfPosition: position });
    expect(await runner.waitForPosition(position + 1_000_000, 50)).toBe(false);
    await runner.stop();
    await running;
  });

  it('resumes from its checkpoint after a stop: nothing applied twice, nothing skipped', async () => {
    await ledger.enrol('ann');
    await ledger.accrue('grocer', 'ann', 10_000, 'g1');
    await catchUp();
    await ledger.accrue('cafe', 'ann', 20_000, 'c1');
    await ledger.redeem('air', 'ann', 50, 'a1');
    await catchUp();
    const member = new ReadModelReader(f.readStore).member('ann')!;
    expect(member).toMatchObject({ available: 250, lifetimeAccrued: 300, lifetimeRedeemed: 50 });
    expect(f.readStore.checkpoint().position).toBe(await headPosition(f.store));
  });

  it('the incremental store equals a rebuild, table by table', async () => {
    await appendSyntheticHistory(f.store, { events: 3_000, members: 150, seed: 7, existingPartners: PARTNERS });
    // Incremental: small batches while more history arrives, live.
    const runner = new ProjectionRunner(f.store, f.readStore, { batchSize: 37 });
    const running = runner.run();
    await ledger.enrol('late');
    await ledger.accrue('grocer', 'late', 12_345, 'late-1');
    const { position } = await ledger.redeem('cafe', 'late', 23, 'late-2');
    expect(await runner.waitForPosition(position, 10_000)).toBe(true);
    await runner.stop();
    await running;

    const rebuilt = f.otherReadStore();
    const result = await rebuildReadStore(f.store, rebuilt, { batchSize: 5000 });
    expect(result.position).toBe(position);
    const incremental = f.readStore.dump();
    const fresh = rebuilt.dump();
    for (const table of Object.keys(incremental)) expect({ table, rows: fresh[table] }).toEqual({ table, rows: incremental[table] });
    expect(incremental.members.length).toBeGreaterThan(100);
    expect(incremental.transactions.length).toBeGreaterThan(1000);
  });

  it('every member balance equals a fold of its own stream', async () => {
    await appendSyntheticHistory(f.store, { events: 2_000, members: 80, seed: 3, existingPartners: PARTNERS });
    await catchUp(undefined, 500);
    const reader = new ReadModelReader(f.readStore);
    for (let i = 0; i < 80; i++) {
      const memberId = `m${String(i).padStart(7, '0')}`;
      const events = await f.store.readStream(`member-${memberId}`);
      const state = events.reduce((s, e) => evolveMember(s, { type: e.type, data: e.data } as never), initialMember());
      expect(reader.member(memberId)).toMatchObject({
        available: state.available,
        lifetimeAccrued: state.lifetimeAccrued,
        lifetimeRedeemed: state.lifetimeRedeemed,
        lots: state.lots.map(({ lotId, issuerPartnerId, points, expiresAt }) => ({ lotId, issuerPartnerId, points, expiresAt })),
      });
    }
  });

  it('refuses to apply when someone else moved the checkpoint, and writes nothing', async () => {
    await ledger.enrol('ann');
    await ledger.accrue('grocer', 'ann', 10_000, 'g1');
    const events = await f.store.readAll();
    const writer = new ReadModelWriter(f.readStore);
    writer.applyBatch(events.slice(0, 3), undefined);
    const before = f.readStore.dump();
    expect(() => writer.applyBatch(events.slice(3), undefined)).toThrow(CheckpointMoved);
    expect(f.readStore.dump()).toEqual(before);
  });

  it('a broken event rolls its whole batch back, checkpoint included', async () => {
    await ledger.enrol('ann');
    const events = await f.store.readAll();
    const writer = new ReadModelWriter(f.readStore);
    // Points taken from a lot that was never opened, by a member with none.
    const data = {
      txId: 'grocer:bad',
      partnerId: 'grocer',
      memberId: 'ann',
      points: 5,
      pointValueMinor: 10,
      slices: [{ lotId: 'grocer:none', issuerPartnerId: 'grocer', points: 5 }],
      occurredAt: '2026-11-20T12:00:00.000Z',
    };
    const bad = { ...events[events.length - 1], position: events[events.length - 1].position + 1_000, type: 'PointsRedeemed', data };
    expect(() => writer.applyBatch([...events, bad], undefined)).toThrow(/available >= 0|does not exist/);
    expect(f.readStore.checkpoint().position).toBeUndefined();
    expect(new ReadModelReader(f.readStore).member('ann')).toBeUndefined();
  });

  it('refuses a newer version of a projected event it cannot upcast, and skips types it does not project', async () => {
    await ledger.enrol('ann');
    const [event] = (await f.store.readAll()).slice(-1);
    const writer = new ReadModelWriter(f.readStore);
    const next = (type: string, n: number) => ({ ...event, type, position: event.position + n });
    expect(() => writer.applyBatch([next('PointsAccrued.v2', 1)], undefined)).toThrow(/no upcaster/);
    writer.applyBatch([next('CardClaimed', 2), next('SettlementPeriodClosed', 3)], undefined);
    expect(f.readStore.checkpoint()).toMatchObject({ position: event.position + 3, events: 2 });
  });

  it('resets a read store that belongs to another event store', async () => {
    await ledger.enrol('ann');
    await catchUp();
    const other = makeFixture();
    try {
      const otherLedger = new DirectLedger(other.store);
      await otherLedger.configure();
      await otherLedger.join('solo');
      const reasons: string[] = [];
      const runner = new ProjectionRunner(other.store, f.readStore, { onReset: (why) => reasons.push(why) });
      await runner.runUntil((await headPosition(other.store))!);
      expect(reasons).toHaveLength(1);
      const reader = new ReadModelReader(f.readStore);
      expect(reader.member('ann')).toBeUndefined();
      expect(reader.partnerPositions().map((p) => p.partnerId)).toEqual(['solo']);
    } finally {
      await other.close();
    }
  });
});

describe('read store file', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ledger-readstore-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is WAL, and a read-only connection sees what the writer commits', async () => {
    const file = join(dir, 'read.db');
    const writer = ReadStore.open(file);
    expect(writer.db.pragma('journal_mode', { simple: true })).toBe('wal');
    const reader = ReadStore.open(file, { readonly: true });
    const store = new MemoryEventStore();
    const ledger = new DirectLedger(store);
    await ledger.configure();
    await ledger.join('grocer');
    await new ProjectionRunner(store, writer).runUntil((await headPosition(store))!);
    expect(new ReadModelReader(reader).partnerPositions()).toHaveLength(1);
    expect(() => reader.reset()).toThrow();
    reader.close();
    writer.close();
  });

  it('a read-only open of a missing file says so', () => {
    expect(() => ReadStore.open(join(dir, 'nope.db'), { readonly: true })).toThrow(/does not exist/);
  });

  it('a rebuild while another projector writes the same file: each batch lands once, whoever applies it', async () => {
    const store = SqliteEventStore.open(join(dir, 'ledger.db'), { pollIntervalMs: 10 });
    const ledger = new DirectLedger(store);
    await ledger.configure();
    for (const p of PARTNERS) await ledger.join(p);
    await appendSyntheticHistory(store, { events: 6_000, members: 200, seed: 5, existingPartners: PARTNERS });
    const file = join(dir, 'read.db');
    const live = ReadStore.open(file);
    const resets: string[] = [];
    const runner = new ProjectionRunner(store, live, { batchSize: 50, onReset: (why) => resets.push(why) });
    // The live projector restarts after losing the race, as the API's supervisor does.
    let stopping = false;
    let lostRaces = 0;
    const supervised = (async () => {
      while (!stopping) {
        try {
          await runner.run();
        } catch (error) {
          if (!(error instanceof CheckpointMoved)) throw error;
          lostRaces += 1;
        }
      }
    })();
    // Both start from scratch, in small batches, while more history is written.
    expect(await runner.waitForPosition(200, 10_000)).toBe(true);
    const rebuilding = ReadStore.open(file);
    const [result] = await Promise.all([
      rebuildReadStore(store, rebuilding, { batchSize: 50 }),
      (async () => {
        for (let i = 0; i < 30; i++) {
          await ledger.enrol(`late-${i}`);
          await ledger.accrue(PARTNERS[i % 3], `late-${i}`, 50_000, `late-${i}-a`);
          await ledger.redeem(PARTNERS[(i + 1) % 3], `late-${i}`, 120, `late-${i}-r`);
        }
      })(),
    ]);
    expect(await runner.waitForPosition((await headPosition(store))!, 10_000)).toBe(true);
    stopping = true;
    await runner.stop();
    await supervised;
    expect(result.position).toBeDefined();
    expect(lostRaces).toBeGreaterThan(0);
    const reference = ReadStore.open(join(dir, 'reference.db'));
    await rebuildReadStore(store, reference);
    const expected = reference.dump();
    const actual = rebuilding.dump();
    for (const table of Object.keys(expected)) expect({ table, rows: actual[table] }).toEqual({ table, rows: expected[table] });
    expect(resets).toEqual([]);
    for (const s of [live, rebuilding, reference]) s.close();
    await store.close();
  });

  it('a store of another schema version is dropped and recreated by the writer', () => {
    const file = join(dir, 'read.db');
    const first = ReadStore.open(file);
    first.db.exec("UPDATE checkpoint SET position = 5, event_id = 'x'");
    first.db.pragma('user_version = 999');
    first.close();
    const again = ReadStore.open(file);
    expect(again.checkpoint().position).toBeUndefined();
    again.close();
  });
});
