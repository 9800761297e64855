import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { reserveTransaction, systemMeta } from '@ledger/application';
import { EsdbEventStore, EventStore } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { EsdbWireServer } from '@ledger/testing/esdb-wire-server';
import { TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

const accrual = (memberId: string, externalId = 'till-7-000123') => ({
  externalId,
  memberId,
  amountMinor: 350_000,
  currency: 'RUB',
  occurredAt: '2026-11-20T10:00:00Z',
});

async function accrualsOf(store: EventStore, txId: string): Promise<string[]> {
  return (await store.readAll()).filter((e) => e.type === 'PointsAccrued' && e.data.txId === txId).map((e) => e.streamId);
}

async function seedMembers(t: TestApp, members: string[]): Promise<{ Authorization: string }> {
  const { partners } = await seedCoalition(t, ['shop']);
  for (const [i, memberId] of members.entries()) {
    await t
      .http()
      .post('/v1/members')
      .set(partners.shop)
      .send({ memberId, cardNumber: cardNumber(i + 1) })
      .expect(201);
  }
  return partners.shop;
}

/**
 * A till that retries with a mistyped member: the same partnerId:externalId for two members.
 * Two API instances on one store take the requests at the same moment, as replicas would.
 */
async function sameTxIdFromTwoInstances(a: TestApp, b: TestApp): Promise<void> {
  const members = Array.from({ length: 8 }, (_, i) => `m-${i}`);
  const shop = await seedMembers(a, members);
  const answers = await Promise.all(members.map((m, i) => (i % 2 ? a : b).http().post('/v1/accruals').set(shop).send(accrual(m))));
  expect(answers.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
  for (const r of answers.filter((x) => x.status === 409)) expect(r.body.code).toBe('idempotency_conflict');
  const winner = answers.find((r) => r.status === 201)!.body.memberId as string;
  expect(await accrualsOf(a.store, 'shop:till-7-000123')).toEqual([`member-${winner}`]);
  // The winner's retry is still a replay, on either instance; the others still 409.
  for (const t of [a, b]) {
    const again = await t.http().post('/v1/accruals').set(shop).send(accrual(winner));
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replay']).toBe('true');
    const other = await t
      .http()
      .post('/v1/accruals')
      .set(shop)
      .send(accrual(members.find((m) => m !== winner)!));
    expect(other.status).toBe(409);
  }
  expect(await accrualsOf(a.store, 'shop:till-7-000123')).toHaveLength(1);
}

describe('txId unique coalition-wide', () => {
  let dir: string;
  beforeEach(() => (dir = tempDir('ledger-txid-')));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a second member gets 409 idempotency_conflict and nothing is written; across a restart too', async () => {
    const file = join(dir, 'ledger.db');
    let t = await startTestApp(SqliteEventStore.open(file));
    const shop = await seedMembers(t, ['alice', 'bob']);
    await t.http().post('/v1/accruals').set(shop).send(accrual('alice')).expect(201);
    const before = (await t.store.readAll()).length;
    const wrong = await t.http().post('/v1/accruals').set(shop).send(accrual('bob')).expect(409);
    expect(wrong.body).toMatchObject({ code: 'idempotency_conflict' });
    expect((await t.store.readAll()).length).toBe(before);
    // Another kind of transaction under the same externalId is the same txId.
    await t.http().post('/v1/accruals').set(shop).send(accrual('bob', 'till-7-000124')).expect(201);
    await t
      .http()
      .post('/v1/redemptions')
      .set(shop)
      .send({ externalId: 'till-7-000123', memberId: 'bob', points: 1, occurredAt: '2026-11-20T11:00:00Z' })
      .expect(409);
    expect((await t.store.readAll()).length).toBe(before + 2); // bob's own accrual and its reservation
    await t.app.close();
    await t.store.close();

    t = await startTestApp(SqliteEventStore.open(file));
    try {
      await t.http().post('/v1/accruals').set(shop).send(accrual('bob')).expect(409);
      const replay = await t.http().post('/v1/accruals').set(shop).send(accrual('alice')).expect(201);
      expect(replay.headers['idempotent-replay']).toBe('true');
      expect(await accrualsOf(t.store, 'shop:till-7-000123')).toEqual(['member-alice']);
      // verify understands the reservation streams: chains, invariants and read models hold.
      const auditor = await t.http().post('/v1/keys').set(t.admin).send({ role: 'auditor' }).expect(201);
      const verify = await t
        .http()
        .get('/v1/audit/verify')
        .set({ Authorization: `Bearer ${auditor.body.key}` });
      expect({ status: verify.status, ok: verify.body.ok }).toEqual({ status: 200, ok: true });
    } finally {
      await t.close();
    }
  });

  // SQLite writes reservation and member events in one transaction, so it has no crash window
  // of its own; a reservation left by the two-step path (a store written before, or EventStoreDB)
  // must still let its member through. EventStoreDB takes the two-step path every time.
  const crashWindowStores: Array<[string, () => Promise<{ store: EventStore; stop: () => Promise<void> }>]> = [
    ['SQLite', async () => ({ store: SqliteEventStore.open(join(dir, 'ledger.db')), stop: async () => {} })],
    [
      'EventStoreDB (wire server)',
      async () => {
        const server = await EsdbWireServer.start();
        return { store: EsdbEventStore.fromConnectionString(server.connectionString), stop: () => server.stop() };
      },
    ],
  ];
  it.each(crashWindowStores)(
    'the crash window on %s: a reservation whose member append never happened lets that member through, no one else',
    async (_name, open) => {
      const { store, stop } = await open();
      const t = await startTestApp(store);
      try {
        const shop = await seedMembers(t, ['alice', 'bob']);
        // The process died after the reservation and before alice's accrual.
        await reserveTransaction(t.store, 'shop:till-7-000123', 'alice', systemMeta(), '2026-11-20T10:00:00Z');
        await t.http().post('/v1/accruals').set(shop).send(accrual('bob')).expect(409);
        const retry = await t.http().post('/v1/accruals').set(shop).send(accrual('alice')).expect(201);
        expect(retry.headers['idempotent-replay']).toBeUndefined();
        expect(await accrualsOf(t.store, 'shop:till-7-000123')).toEqual(['member-alice']);
        expect((await t.store.readStream('transaction-shop:till-7-000123')).map((e) => e.type)).toEqual(['TransactionReserved']);
      } finally {
        await t.close();
        await stop();
      }
    },
  );

  it('SQLite: the reservation and the accrual are written in one group commit, the reservation just before', async () => {
    const store = SqliteEventStore.open(join(dir, 'ledger.db'));
    const t = await startTestApp(store);
    try {
      const shop = await seedMembers(t, ['alice']);
      const before = store.stats();
      await t.http().post('/v1/accruals').set(shop).send(accrual('alice')).expect(201);
      const after = store.stats();
      expect({ flushes: after.flushes - before.flushes, events: after.events - before.events }).toEqual({ flushes: 1, events: 2 });
      const [reservation] = await t.store.readStream('transaction-shop:till-7-000123');
      const accrued = (await t.store.readStream('member-alice')).find((e) => e.type === 'PointsAccrued')!;
      expect(reservation.type).toBe('TransactionReserved');
      expect((await t.store.readAll({ fromPosition: reservation.position, maxCount: 2 })).map((e) => e.eventId)).toEqual([
        reservation.eventId,
        accrued.eventId,
      ]);
    } finally {
      await t.close();
    }
  });

  it('two API instances on one SQLite file, 8 members at once: one accrual, seven 409', async () => {
    const file = join(dir, 'ledger.db');
    const a = await startTestApp(SqliteEventStore.open(file));
    const b = await startTestApp(SqliteEventStore.open(file));
    try {
      await sameTxIdFromTwoInstances(a, b);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('two API instances on one EventStoreDB (wire server), 8 members at once: one accrual, seven 409', async () => {
    const server = await EsdbWireServer.start();
    const a = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString));
    const b = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString));
    try {
      await sameTxIdFromTwoInstances(a, b);
    } finally {
      await a.close();
      await b.close();
      await server.stop();
    }
  });
});
