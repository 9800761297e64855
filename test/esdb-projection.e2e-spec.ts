import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteReadModelCheck, verifyLedger } from '@ledger/audit';
import { EsdbEventStore, EventStore, MemoryEventStore, RecordedEvent } from '@ledger/event-store';
import { ReadStore, ReadStoreMissing, headPosition, rebuildReadStore } from '@ledger/projections';
import { appendSyntheticHistory } from '@ledger/projections/testing/synthetic-history';
import { SettlementStatement, verifyStatement } from '@ledger/settlement';
import { ReadModelAccess } from '@ledger/api/projections/read-model';
import { EsdbWireServer } from '@ledger/testing/esdb-wire-server';
import { TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing/test-app';

const root = join(__dirname, '..');
const cli = join(root, 'bin', 'ledger.js');

/** Polls `probe` until it returns a value (not undefined), or fails naming what it waited for. */
async function until<T>(what: string, probe: () => T | undefined, timeoutMs: number, context: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}${context() ? `\n${context()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Appends recorded events to another store as they were written: runs of one stream in one
 * append, with the expected revision they had, keeping the order of $all (appends one at a
 * time: concurrent appends over gRPC may reach the node in any order).
 */
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

interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** `ledger project` as its own process, with its JSON log lines parsed as they arrive. */
class Projector {
  readonly logs: LogLine[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderr = '';
  private partial = '';
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(
    readonly child: ChildProcess,
    private readonly dir: string,
  ) {
    child.stdout!.on('data', (chunk: Buffer) => {
      const lines = (this.partial + chunk.toString('utf8')).split('\n');
      this.partial = lines.pop()!;
      for (const line of lines) if (line.trim()) this.logs.push(JSON.parse(line) as LogLine);
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      }),
    );
  }

  static start(dir: string, connectionString: string, batch: number): Projector {
    const child = spawn(process.execPath, [cli, 'project', '--batch', String(batch)], {
      env: { ...process.env, LEDGER_DATA_DIR: dir, LEDGER_EVENTSTORE: connectionString },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new Projector(child, dir);
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  failures(): LogLine[] {
    return this.logs.filter((l) => l.level === 'warn' && l.msg.startsWith('projector failed'));
  }

  /** What a failed wait prints: the process' state, its last log lines and its stderr. */
  describe = (): string =>
    [
      `projector ${this.exit ? `exited ${JSON.stringify(this.exit)}` : 'running'}, checkpoint ${String(this.checkpoint())}`,
      ...this.logs.slice(-8).map((l) => JSON.stringify(l)),
      this.stderr && `stderr: ${this.stderr}`,
    ]
      .filter(Boolean)
      .join('\n');

  /** The checkpoint as another process sees it; undefined until the read store exists. */
  checkpoint(): number | undefined {
    let store: ReadStore;
    try {
      store = ReadStore.open(join(this.dir, 'read.db'), { readonly: true });
    } catch (error) {
      if (error instanceof ReadStoreMissing) return undefined;
      throw error;
    }
    try {
      return store.checkpoint().position;
    } finally {
      store.close();
    }
  }

  async waitForCheckpoint(atLeast: number, timeoutMs: number): Promise<number> {
    return until(
      `the checkpoint to reach ${atLeast}`,
      () => {
        if (!this.running) throw new Error(`the projector exited while waiting for position ${atLeast}\n${this.describe()}`);
        const at = this.checkpoint();
        return at !== undefined && at >= atLeast ? at : undefined;
      },
      timeoutMs,
      this.describe,
    );
  }

  /** Waits for the n-th (1-based) failure warning and returns it. */
  async waitForFailure(n: number, timeoutMs: number): Promise<LogLine> {
    return until(`failure warning #${n}`, () => this.failures()[n - 1], timeoutMs, this.describe);
  }
}

function dumpReadStore(file: string): Record<string, unknown[]> {
  const store = ReadStore.open(file, { readonly: true });
  try {
    return store.dump();
  } finally {
    store.close();
  }
}

/**
 * Issue 8, point 4: the projector (`ledger project`, the built CLI) follows $all of an
 * EventStoreDB node (the in-process wire server); the node goes down twice, once in the
 * middle of the catch-up and once while the projector is live, and comes back on the same
 * port with the same data. The projector keeps retrying while the node is away, resumes from
 * its checkpoint, and ends with read models equal to a rebuild from position 0, which the
 * audit's verify agrees with: nothing lost, nothing applied twice.
 */
describe('`ledger project` on esdb across node restarts (built CLI, wire server)', () => {
  let dir: string;
  let server: EsdbWireServer | undefined;
  let esdb: EsdbEventStore | undefined;
  let projector: Projector | undefined;

  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'apps', 'cli', 'src', 'main.js')))
      throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  });
  beforeEach(() => (dir = tempDir('ledger-esdb-project-')));
  afterEach(async () => {
    if (projector?.running) {
      projector.child.kill('SIGKILL');
      await projector.exited;
    }
    projector = undefined;
    await esdb?.close();
    esdb = undefined;
    await server?.stop();
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('resumes from its checkpoint after the node restarts mid catch-up and while live; ends equal to a rebuild', async () => {
    // A valid history (hash chains, metadata, the deciders' events), written in memory first
    // so it can go to the node in three parts: before the projector starts, while it is live
    // after the first restart, and after the second.
    const source = new MemoryEventStore();
    const history = await appendSyntheticHistory(source, { events: 4_500, members: 300, seed: 8 });
    const all = await source.readAll();
    expect(all.length).toBe(history.events);
    const parts = [all.slice(0, 2_500), all.slice(2_500, 3_500), all.slice(3_500)];

    server = await EsdbWireServer.start();
    const port = server.port;
    esdb = EsdbEventStore.fromConnectionString(server.connectionString);
    await copyEvents(parts[0], esdb);
    const head1 = (await headPosition(esdb))!;

    // 1. Down in the middle of the catch-up (small batches keep it going for a while).
    projector = Projector.start(dir, server.connectionString, 20);
    const p = projector;
    const before = await p.waitForCheckpoint(Math.floor(head1 * 0.2), 60_000);
    expect(before).toBeLessThan(head1);
    await server.stop();
    const first = await p.waitForFailure(1, 30_000);
    expect(first).toMatchObject({ error: expect.stringContaining('UNAVAILABLE'), retryInMs: 250 });
    expect(first.position as number).toBeLessThan(head1); // it was mid catch-up
    // It keeps trying while the node is away, backing off, and does not exit.
    const second = await p.waitForFailure(2, 30_000);
    expect(second).toMatchObject({ error: expect.stringContaining('UNAVAILABLE'), position: first.position, retryInMs: 500 });
    expect(p.running).toBe(true);
    await server.restart();
    expect(server.port).toBe(port);
    await p.waitForCheckpoint(head1, 60_000);

    // 2. Live: events appended now arrive through the subscription; then the node goes down.
    await copyEvents(parts[1], esdb);
    const head2 = (await headPosition(esdb))!;
    await p.waitForCheckpoint(head2, 60_000);
    const failuresBefore = p.failures().length;
    const data = server.data;
    await server.stop();
    const live = await p.waitForFailure(failuresBefore + 1, 30_000);
    expect(live).toMatchObject({ error: expect.stringContaining('UNAVAILABLE'), position: head2 });
    // A new node process on the same port and the same data (the other way back).
    server = await EsdbWireServer.start({ port, data });
    await copyEvents(parts[2], esdb);
    const head3 = (await headPosition(esdb))!;
    expect(head3).toBeGreaterThan(head2);
    await p.waitForCheckpoint(head3, 60_000);

    // 3. SIGTERM while the node is away again: it stops cleanly, without waiting for the node.
    const failuresNow = p.failures().length;
    await server.stop();
    await p.waitForFailure(failuresNow + 1, 30_000);
    const stoppedAt = Date.now();
    p.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      p.exited,
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`no exit 10 s after SIGTERM\n${p.describe()}`)), 10_000)),
      ),
    ]).finally(() => clearTimeout(timer));
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(p.logs[p.logs.length - 1]).toMatchObject({ msg: 'projector stopped', position: head3, eventsApplied: all.length });
    server = await EsdbWireServer.start({ port, data });

    // Nothing lost, nothing twice: every table equals a rebuild from position 0.
    const projected = dumpReadStore(join(dir, 'read.db'));
    const rebuiltFile = join(dir, 'rebuilt.db');
    const rebuilding = ReadStore.open(rebuiltFile);
    try {
      const rebuilt = await rebuildReadStore(esdb, rebuilding);
      expect(rebuilt).toMatchObject({ events: all.length });
    } finally {
      rebuilding.close();
    }
    const fresh = dumpReadStore(rebuiltFile);
    expect(Object.keys(projected)).toEqual(Object.keys(fresh));
    for (const table of Object.keys(fresh)) {
      expect({ table, rows: projected[table].length }).toEqual({ table, rows: fresh[table].length });
      expect({ table, rows: projected[table] }).toEqual({ table, rows: fresh[table] });
    }
    expect(projected.checkpoint).toEqual([{ id: 0, position: head3, event_id: all[all.length - 1].eventId, events: all.length }]);
    expect(projected.members.length).toBe(300);

    // And the audit, folding the log itself, agrees with the projector's read models.
    const report = await verifyLedger(esdb, { readModel: SqliteReadModelCheck.open(join(dir, 'read.db')) });
    expect(report.divergences).toEqual([]);
    expect(report.checks.find((c) => c.name === 'read_model')).toMatchObject({ status: 'passed' });
    expect(report).toMatchObject({ ok: true, events: all.length, headPosition: head3 });
  }, 180_000);
});

/**
 * Issue 8, point 3: the whole path over HTTP on EventStoreDB's wire protocol — accrue,
 * redeem at another partner, read your write through the projector that follows $all,
 * close the month as finance, verify.
 */
describe('ledger over HTTP on the esdb adapter: accrue, redeem, project, settle, verify', () => {
  let server: EsdbWireServer;
  let t: TestApp | undefined;

  beforeEach(async () => {
    server = await EsdbWireServer.start();
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await server.stop();
  });

  it('reads its own redemption with minPosition, closes November and verifies ok', async () => {
    t = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString));
    const app = t;
    const post = (path: string, who: Record<string, string>, body: object) => app.http().post(path).set(who).send(body);
    const { partners } = await seedCoalition(app, ['grocer', 'cafe']);
    const finance = { Authorization: `Bearer ${(await post('/v1/keys', app.admin, { role: 'finance' }).expect(201)).body.key}` };
    const auditor = { Authorization: `Bearer ${(await post('/v1/keys', app.admin, { role: 'auditor' }).expect(201)).body.key}` };

    await post('/v1/members', partners.grocer, { memberId: 'm-1', cardNumber: cardNumber(1) }).expect(201);
    // 100 points at the grocer (10 000 RUB at 1 point per 100 RUB), 70 of them spent at the cafe.
    await post('/v1/accruals', partners.grocer, {
      externalId: 'g-1',
      memberId: 'm-1',
      amountMinor: 1_000_000,
      currency: 'RUB',
      occurredAt: '2026-11-05T10:00:00Z',
    }).expect(201);
    const redeemed = await post('/v1/redemptions', partners.cafe, {
      externalId: 'c-1',
      memberId: 'm-1',
      points: 70,
      occurredAt: '2026-11-10T19:00:00Z',
    }).expect(201);
    expect(redeemed.body.position).toEqual(expect.any(Number));
    const [lastEvent] = await app.store.readAll({ direction: 'backwards', maxCount: 1 });
    expect(lastEvent).toMatchObject({ type: 'PointsRedeemed', position: redeemed.body.position });

    // Read-your-writes through the projector following the node's $all.
    const member = await app.http().get(`/v1/members/m-1?minPosition=${redeemed.body.position}`).set(finance).expect(200);
    expect(member.body).toMatchObject({ memberId: 'm-1', available: 30, held: 0, lifetimeAccrued: 100, lifetimeRedeemed: 70 });
    expect(Number(member.headers['ledger-as-of-position'])).toBeGreaterThanOrEqual(redeemed.body.position);

    // December: finance closes November.
    app.clock.set('2026-12-01T09:00:00Z');
    const closed = await post('/v1/settlements', finance, { periodId: '2026-11' }).expect(201);
    const s: SettlementStatement = closed.body;
    expect(s).toMatchObject({ periodId: '2026-11', currency: 'RUB', pointValueMinor: 10 });
    expect(s.cutoffPosition).toBeGreaterThanOrEqual(redeemed.body.position);
    expect(s.matrix).toEqual([
      expect.objectContaining({ issuerPartnerId: 'grocer', redeemerPartnerId: 'cafe', points: 70, amountMinor: 700 }),
    ]);
    expect(s.netPositions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ partnerId: 'cafe', netMinor: 700 }),
        expect.objectContaining({ partnerId: 'grocer', netMinor: -700 }),
      ]),
    );
    expect(verifyStatement(s)).toBe(true);
    expect(s.eventsMerkleRoot).toMatch(/^[0-9a-f]{64}$/);
    expect((await app.store.readStream('settlement-2026-11')).map((e) => e.type)).toEqual([
      'SettlementPeriodClosed',
      'SettlementStatementIssued',
    ]);

    // The audit over the node's log, with the API's read models compared.
    const report = await verifyLedger(app.store, { readModel: SqliteReadModelCheck.of(app.app.get(ReadModelAccess).store() as ReadStore) });
    expect(report.divergences).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checks.find((c) => c.name === 'read_model')).toMatchObject({ status: 'passed' });
    expect(report.periods).toEqual([
      expect.objectContaining({
        periodId: '2026-11',
        status: 'ok',
        eventsMerkleRoot: s.eventsMerkleRoot,
        recomputedMerkleRoot: s.eventsMerkleRoot,
      }),
    ]);
    // The same over HTTP, as an auditor would ask.
    const verified = await app.http().get('/v1/audit/verify').set(auditor).expect(200);
    expect(verified.body).toMatchObject({ ok: true, firstDivergence: null });
  });
});
