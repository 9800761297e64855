import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { EsdbEventStore } from '@ledger/event-store';
import { EsdbWireServer } from '@ledger/testing/esdb-wire-server';
import { GOLD_AT_500_PROGRAM } from '@ledger/application/testing/member-app';
import { cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

/** The ledger on EventStoreDB's wire protocol: two API instances sharing one store, and the real CLI. */
describe('ledger on the esdb adapter (in-process wire server)', () => {
  let server: EsdbWireServer;
  beforeAll(async () => {
    server = await EsdbWireServer.start();
  });
  afterAll(() => server.stop());

  it('two API instances on one store: 100 identical accruals spread over both append one event', async () => {
    const a = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString));
    const b = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString));
    try {
      const { partners } = await seedCoalition(a, ['shop']);
      await a
        .http()
        .post('/v1/members')
        .set(partners.shop)
        .send({ memberId: 'twin', cardNumber: cardNumber(42) })
        .expect(201);
      const body = { externalId: 'till-9', memberId: 'twin', amountMinor: 500_000, currency: 'RUB', occurredAt: '2026-11-20T10:00:00Z' };
      const responses = await Promise.all(
        Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).http().post('/v1/accruals').set(partners.shop).send(body)),
      );
      expect(new Set(responses.map((r) => r.status))).toEqual(new Set([201]));
      expect(new Set(responses.map((r) => JSON.stringify(r.body))).size).toBe(1);
      const accrued = (await a.store.readStream('member-twin')).filter((e) => e.type === 'PointsAccrued');
      expect(accrued).toHaveLength(1);
      // Both instances agree on the balance, whichever wrote.
      const viaB = await b
        .http()
        .post('/v1/redemptions')
        .set(partners.shop)
        .send({ externalId: 'r-1', memberId: 'twin', points: 50, occurredAt: '2026-11-20T11:00:00Z' })
        .expect(201);
      expect(viaB.body.balance).toBe(0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('an accrual that causes a tier change answers the position of the tier change, as a replay on another instance does', async () => {
    const a = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString));
    const b = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString));
    try {
      const { partners } = await seedCoalition(a, ['grocer']);
      await a.http().put('/v1/program').set(a.admin).send(GOLD_AT_500_PROGRAM).expect(200);
      await a
        .http()
        .post('/v1/members')
        .set(partners.grocer)
        .send({ memberId: 'climber', cardNumber: cardNumber(43) })
        .expect(201);
      const body = { externalId: 'big', memberId: 'climber', amountMinor: 10_000_000, currency: 'RUB', occurredAt: '2026-11-20T10:00:00Z' };
      const first = await a.http().post('/v1/accruals').set(partners.grocer).send(body).expect(201);

      const stream = await a.store.readStream('member-climber');
      expect(stream.slice(-2).map((e) => e.type)).toEqual(['PointsAccrued', 'TierChanged']);
      const [accrued, tierChanged] = stream.slice(-2);
      // The wire server's positions are byte offsets, never consecutive.
      expect(tierChanged.position - accrued.position).toBeGreaterThan(1);
      // The transaction's last event: a read at this position sees the new tier too.
      expect(first.body.position).toBe(tierChanged.position);
      // b has not seen the member: it loads the stream and answers the replay from it.
      const replay = await b.http().post('/v1/accruals').set(partners.grocer).send(body).expect(201);
      expect(replay.body).toEqual(first.body);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('`LEDGER_EVENTSTORE=esdb://… ledger serve` (built CLI) against the wire server', () => {
  let server: EsdbWireServer;
  let child: ChildProcess | undefined;
  let dir: string;
  beforeAll(async () => {
    server = await EsdbWireServer.start();
    dir = tempDir();
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('seeds the demo into EventStoreDB and serves the API from it', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    child = spawn(process.execPath, [join(__dirname, '..', 'bin', 'ledger.js'), 'serve'], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LEDGER_DATA_DIR: dir, LEDGER_EVENTSTORE: server.connectionString },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`not listening after 60 s: ${stderr}`)), 60_000);
      child!.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('"ledger listening"')) {
          clearTimeout(timer);
          expect(out).toContain('"store":"esdb"');
          resolve();
        }
      });
      child!.on('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    const keys = JSON.parse(readFileSync(join(dir, 'demo-keys.json'), 'utf8'));
    const res = await fetch(`http://127.0.0.1:${port}/v1/members/demo-member-03`, {
      headers: { Authorization: `Bearer ${keys.finance.key}` },
    });
    expect(res.status).toBe(200);
    // The demo's events are in EventStoreDB, not in a local SQLite file.
    const store = EsdbEventStore.fromConnectionString(server.connectionString);
    try {
      expect((await store.readStream('member-demo-member-03')).length).toBeGreaterThan(3);
    } finally {
      await store.close();
    }
  });
});
