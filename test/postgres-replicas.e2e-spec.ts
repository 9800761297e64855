import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EsdbEventStore, EventStore, MemoryEventStore, RecordedEvent } from '@ledger/event-store';
import { PostgresReadStore, headPosition, rebuildReadStore } from '@ledger/projections';
import { appendSyntheticHistory } from '@ledger/projections/testing/synthetic-history';
import { EsdbWireServer } from '@ledger/testing/esdb-wire-server';
import { describeWithPostgres, freshPostgresSchema } from '@ledger/testing/postgres';
import { TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing/test-app';

const root = join(__dirname, '..');
const cli = join(root, 'bin', 'ledger.js');
const NOW_ISH = '2026-11-20T11:00:00Z';

type Schema = Awaited<ReturnType<typeof freshPostgresSchema>>;

/** A `ledger` CLI process on the shared esdb node and PostgreSQL read store. */
class LedgerProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private done = false;

  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (c: Buffer) => (this.stdout += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString('utf8')));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.done = true;
        resolve({ code, signal });
      }),
    );
  }

  static start(args: string[], env: Record<string, string>): LedgerProcess {
    return new LedgerProcess(
      spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
  }

  get running(): boolean {
    return !this.done;
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.running) this.child.kill(signal);
    await this.exited;
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, context = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}\n${context()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Appends recorded events to another store in $all order, runs of one stream in one append. */
async function copyEvents(events: readonly RecordedEvent[], to: EventStore): Promise<void> {
  for (let i = 0; i < events.length;) {
    let j = i + 1;
    while (j < events.length && events[j].streamId === events[i].streamId && events[j].revision === events[j - 1].revision + 1) j++;
    const run = events.slice(i, j);
    await to.appendToStream(
      run[0].streamId,
      run.map((e) => ({ eventId: e.eventId, type: e.type, data: e.data, metadata: e.metadata })),
      { expectedRevision: run[0].revision === 0 ? 'no_stream' : run[0].revision - 1 },
    );
    i = j;
  }
}

async function dumpOf(url: string): Promise<Record<string, unknown[]>> {
  const store = await PostgresReadStore.open(url);
  try {
    return await store.dump();
  } finally {
    await store.close();
  }
}

async function checkpointOf(store: PostgresReadStore): Promise<number | undefined> {
  return (await store.checkpoint()).position;
}

function expectSameTables(a: Record<string, unknown[]>, b: Record<string, unknown[]>): void {
  expect(Object.keys(a)).toEqual(Object.keys(b));
  for (const table of Object.keys(a)) {
    expect({ table, rows: a[table].length }).toEqual({ table, rows: b[table].length });
    expect({ table, rows: a[table] }).toEqual({ table, rows: b[table] });
  }
}

/**
 * Issue 17, point 2: read models in PostgreSQL, written by one `ledger project` process and
 * read by two API instances, all on one esdb node (the in-process wire server).
 */
describeWithPostgres('PostgreSQL read store shared by replicas (built CLI, esdb wire server)', () => {
  let dir: string;
  let server: EsdbWireServer;
  let schemas: Schema[];
  let processes: LedgerProcess[];
  let apps: TestApp[];

  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'apps', 'cli', 'src', 'main.js')))
      throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  });
  beforeEach(async () => {
    dir = tempDir('ledger-pg-replicas-');
    server = await EsdbWireServer.start();
    schemas = [];
    processes = [];
    apps = [];
  });
  afterEach(async () => {
    for (const p of processes) await p.kill('SIGKILL');
    for (const a of apps) await a.close();
    await server.stop();
    for (const s of schemas) await s.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const schema = async () => {
    const s = await freshPostgresSchema('replicas');
    schemas.push(s);
    return s;
  };
  const cliEnv = (readStoreUrl: string) => ({
    LEDGER_DATA_DIR: dir,
    LEDGER_EVENTSTORE: server.connectionString,
    LEDGER_READ_STORE: readStoreUrl,
  });
  const project = (readStoreUrl: string, batch: number) => {
    const p = LedgerProcess.start(['project', '--batch', String(batch)], cliEnv(readStoreUrl));
    processes.push(p);
    return p;
  };
  /** An API instance that reads the shared store and projects nothing itself. */
  const replica = async (readStoreUrl: string) => {
    const postgres = await PostgresReadStore.open(readStoreUrl);
    const t = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString), {
      app: { readModel: { projector: 'external', postgres } },
    });
    apps.push(t);
    return t;
  };

  it('two API instances agree on positions, balances and minPosition under concurrent load; a rebuild equals the incremental state; verify passes', async () => {
    const shared = await schema();
    const projector = project(shared.url, 50);
    const [a, b] = [await replica(shared.url), await replica(shared.url)];
    const { partners } = await seedCoalition(a, ['grocer', 'cafe', 'air']);
    const names = ['grocer', 'cafe', 'air'];
    const members = 16;
    for (let m = 0; m < members; m++) {
      await (m % 2 ? b : a)
        .http()
        .post('/v1/members')
        .set(partners.grocer)
        .send({ memberId: `m${m}`, cardNumber: cardNumber(300 + m) })
        .expect(201);
    }
    const expected = new Map<string, { accrued: number; redeemed: number }>();
    let readsChecked = 0;
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: members }, async (_, m) => {
          const memberId = `m${m}`;
          // Writes go to one instance, the read of that write to the other: read-your-writes across replicas.
          const [writer, reader] = (m + round) % 2 ? [a, b] : [b, a];
          const accrual = await writer
            .http()
            .post('/v1/accruals')
            .set(partners[names[(m + round) % 3]])
            .send({ externalId: `a${round}-${m}`, memberId, amountMinor: 100_000 + 1_000 * m, currency: 'RUB', occurredAt: NOW_ISH })
            .expect(201);
          const sums = expected.get(memberId) ?? { accrued: 0, redeemed: 0 };
          sums.accrued += accrual.body.points;
          let position: number = accrual.body.position;
          if (round % 2 === 1) {
            const redemption = await writer
              .http()
              .post('/v1/redemptions')
              .set(partners[names[(m + round + 1) % 3]])
              .send({ externalId: `r${round}-${m}`, memberId, points: 3 + m, occurredAt: NOW_ISH })
              .expect(201);
            sums.redeemed += 3 + m;
            position = redemption.body.position;
          }
          expected.set(memberId, sums);
          const read = await reader.http().get(`/v1/members/${memberId}?minPosition=${position}`).set(a.admin).expect(200);
          expect(Number(read.headers['ledger-as-of-position'])).toBeGreaterThanOrEqual(position);
          expect(read.body).toMatchObject({ lifetimeAccrued: sums.accrued, lifetimeRedeemed: sums.redeemed });
          readsChecked += 1;
        }),
      );
    }
    expect(readsChecked).toBe(members * 5);

    const esdb = EsdbEventStore.fromConnectionString(server.connectionString);
    const head = (await headPosition(esdb))!;
    const [positionsA, positionsB] = await Promise.all(
      [a, b].map(async (t) => (await t.http().get(`/v1/partners?minPosition=${head}`).set(t.admin).expect(200)).body),
    );
    expect(positionsA).toEqual(positionsB);
    expect(positionsA.map((p: { partnerId: string }) => p.partnerId)).toEqual(['air', 'cafe', 'grocer']);
    const issued = positionsA.reduce((n: number, p: { pointsIssued: number }) => n + p.pointsIssued, 0);
    expect(issued).toBe([...expected.values()].reduce((n, s) => n + s.accrued, 0));
    for (let m = 0; m < members; m++) {
      const [ma, mb] = await Promise.all(
        [a, b].map(async (t) => (await t.http().get(`/v1/members/m${m}?minPosition=${head}`).set(t.admin).expect(200)).body),
      );
      expect(ma).toEqual(mb);
      expect(ma.available).toBe(expected.get(`m${m}`)!.accrued - expected.get(`m${m}`)!.redeemed);
    }

    await projector.kill('SIGTERM');
    expect(await projector.exited).toEqual({ code: 0, signal: null });
    const incremental = await dumpOf(shared.url);
    expect(incremental.checkpoint).toEqual([expect.objectContaining({ position: head })]);

    // `ledger rebuild` into another schema, with its progress on stderr; then the same tables.
    const other = await schema();
    const rebuild = LedgerProcess.start(['rebuild', '--batch', '64'], cliEnv(other.url));
    processes.push(rebuild);
    expect(await rebuild.exited).toEqual({ code: 0, signal: null });
    expect(rebuild.stderr).toMatch(/rebuilt .*replicas_.*: \d+ events up to position \d+/);
    expectSameTables(await dumpOf(other.url), incremental);

    // `ledger verify` compares the PostgreSQL read models with the log.
    const verify = LedgerProcess.start(['verify', '--json'], cliEnv(shared.url));
    processes.push(verify);
    expect(await verify.exited).toEqual({ code: 0, signal: null });
    const report = JSON.parse(verify.stdout);
    expect(report.checks.find((c: { name: string }) => c.name === 'read_model')).toMatchObject({ status: 'passed' });
    await esdb.close();
  }, 180_000);

  it('SIGKILL of the projector mid-batch, then a restart, equals a rebuild', async () => {
    const source = new MemoryEventStore();
    const history = await appendSyntheticHistory(source, { events: 3_000, members: 150, seed: 17 });
    const all = await source.readAll();
    const esdb = EsdbEventStore.fromConnectionString(server.connectionString);
    await copyEvents(all, esdb);
    const head = (await headPosition(esdb))!;
    const shared = await schema();
    const store = await PostgresReadStore.open(shared.url);
    try {
      // Killed twice while batches are in flight (small batches: a commit every few ms).
      for (const fraction of [0.2, 0.55]) {
        const p = project(shared.url, 40);
        await until(
          `the checkpoint past ${fraction} of the log`,
          async () => {
            const at = await checkpointOf(store);
            return at !== undefined && at >= head * fraction ? at : undefined;
          },
          60_000,
          () => p.stderr + p.stdout.slice(-2_000),
        );
        await p.kill('SIGKILL');
        expect(await checkpointOf(store)).toBeLessThan(head);
      }
      const last = project(shared.url, 40);
      await until(
        'the checkpoint at the head',
        async () => ((await checkpointOf(store)) === head ? head : undefined),
        60_000,
        () => last.stderr,
      );
      await last.kill('SIGTERM');
      const projected = await store.dump();
      expect(projected.checkpoint).toEqual([{ id: 0, position: head, event_id: all[all.length - 1].eventId, events: history.events }]);

      const rebuiltSchema = await schema();
      const rebuilt = await PostgresReadStore.open(rebuiltSchema.url);
      try {
        await rebuildReadStore(esdb, rebuilt, { batchSize: 1_000 });
        expectSameTables(await rebuilt.dump(), projected);
      } finally {
        await rebuilt.close();
      }
    } finally {
      await store.close();
      await esdb.close();
    }
  }, 180_000);
});

describe('a PostgreSQL read store that cannot be used stops start-up in one line (built CLI)', () => {
  let dir: string;
  beforeEach(() => (dir = tempDir('ledger-pg-refusal-')));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    [
      'serve',
      'postgres://ledger:secret@127.0.0.1:1/ledger',
      /^ledger: read store postgres:\/\/ledger:\*\*\*@127\.0\.0\.1:1\/ledger: connection refused/,
    ],
    ['project', 'postgres://ledger:secret@127.0.0.1:1/ledger', /^ledger: read store .*: connection refused/],
    ['serve', 'sqlite:///tmp/read.db', /^ledger: LEDGER_READ_STORE must be empty .* or a postgres:\/\/ URL/],
  ])('`ledger %s` with LEDGER_READ_STORE=%s', async (command, url, line) => {
    const p = LedgerProcess.start([command], { LEDGER_DATA_DIR: dir, LEDGER_READ_STORE: url, LEDGER_DEMO: 'off', PORT: '0' });
    expect(await p.exited).toEqual({ code: 1, signal: null });
    const lines = p.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
    expect(p.stderr).not.toMatch(/secret|\n\s+at /);
  });
});
