import { spawn } from 'node:child_process';
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  AllSubscription,
  AppendOptions,
  AppendResult,
  ConflictRetryPolicy,
  EsdbEventStore,
  EventStore,
  EventToAppend,
  MemoryEventStore,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  ScanAllOptions,
  StoreUnavailable,
  SubscribeToAllOptions,
} from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { createLogger } from '@ledger/api/http/logger';
import { EsdbWireServer } from '@ledger/testing/esdb-wire-server';
import { TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

const root = join(__dirname, '..', '..');
const cli = join(root, 'bin', 'ledger.js');

/** The app on `store` with its log lines kept, so a test can read them. */
async function appWithLog(store: EventStore): Promise<TestApp & { log: { lines: Array<Record<string, unknown>> } }> {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  const t = await startTestApp(store, { logger });
  return { ...t, log: { lines } };
}

/** The port with a switch: while `failing`, every append throws StoreUnavailable and writes nothing. */
class FailingAppends implements EventStore {
  failing = false;
  constructor(private readonly inner: EventStore) {}
  get conflictRetry(): ConflictRetryPolicy {
    return this.inner.conflictRetry;
  }
  scanAll(options: ScanAllOptions, onEvent: (e: RecordedEvent) => void): Promise<void> {
    return this.inner.scanAll(options, onEvent);
  }
  appendToStream(streamId: string, events: readonly EventToAppend[], options: AppendOptions): Promise<AppendResult> {
    if (this.failing) return Promise.reject(new StoreUnavailable('append', 'disk I/O error (simulated)'));
    return this.inner.appendToStream(streamId, events, options);
  }
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return this.inner.readStream(streamId, options);
  }
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.inner.readAll(options);
  }
  subscribeToAll(options?: SubscribeToAllOptions): AllSubscription {
    return this.inner.subscribeToAll(options);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const accrual = (externalId: string, memberId: string) => ({
  externalId,
  memberId,
  amountMinor: 100_000,
  currency: 'RUB',
  occurredAt: '2026-11-20T10:00:00Z',
});

const eventCount = async (store: EventStore) => (await store.readAll()).length;

/** The txIds of the accruals in the store, with how many times each is there. */
async function accrualCounts(store: EventStore): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const e of await store.readAll()) {
    if (e.type !== 'PointsAccrued') continue;
    const txId = String(e.data.txId);
    counts.set(txId, (counts.get(txId) ?? 0) + 1);
  }
  return counts;
}

describe('store faults', () => {
  it('esdb node stopped mid-load and started again: 503 + Retry-After, nothing false acknowledged, recovery without restart', async () => {
    const server = await EsdbWireServer.start();
    // The client's deadline is the longest a request can wait on the store.
    const deadlineMs = 2_000;
    const t = await startTestApp(EsdbEventStore.fromConnectionString(`${server.connectionString}&defaultDeadline=${deadlineMs}`));
    let restarted: EsdbWireServer | undefined;
    try {
      const { partners } = await seedCoalition(t, ['shop']);
      const members = Array.from({ length: 8 }, (_, i) => `m-${i}`);
      for (const [i, memberId] of members.entries()) {
        await t
          .http()
          .post('/v1/members')
          .set(partners.shop)
          .send({ memberId, cardNumber: cardNumber(i + 1) })
          .expect(201);
      }
      const answers: Array<{ externalId: string; memberId: string; status: number; ms: number; retryAfter?: string; body: any }> = [];
      let loading = true;
      // Each worker posts one accrual after another; bounded by the flag and a count.
      const worker = async (w: number) => {
        for (let n = 0; loading && n < 10_000; n++) {
          const externalId = `w${w}-${n}`;
          const memberId = members[w];
          const started = Date.now();
          const res = await t
            .http()
            .post('/v1/accruals')
            .timeout(deadlineMs + 5_000)
            .set(partners.shop)
            .send(accrual(externalId, memberId))
            .catch((err: { timeout?: number }) => ({ status: err.timeout ? 0 : -1, headers: {} as Record<string, string>, body: err }));
          answers.push({
            externalId,
            memberId,
            status: res.status,
            ms: Date.now() - started,
            retryAfter: res.headers['retry-after'],
            body: res.body,
          });
          if (res.status === 503) await new Promise((r) => setTimeout(r, 50));
        }
      };
      const load = Promise.all(members.map((_, w) => worker(w)));
      await new Promise((r) => setTimeout(r, 400));
      await server.stop();
      const stoppedAt = answers.length;
      await new Promise((r) => setTimeout(r, 1_500));
      restarted = await EsdbWireServer.start({ port: server.port, data: server.data });
      const restartedAt = answers.length;
      // Recovered: accruals acknowledged again, by the same service, after the restart.
      const deadline = Date.now() + 15_000;
      while (answers.slice(restartedAt).filter((a) => a.status === 201).length < 20 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      loading = false;
      await load;

      const statuses = new Set(answers.map((a) => a.status));
      expect([...statuses].sort()).toEqual([201, 503]);
      expect(answers.slice(restartedAt).filter((a) => a.status === 201).length).toBeGreaterThanOrEqual(20);
      expect(stoppedAt).toBeGreaterThan(0);
      for (const a of answers.filter((x) => x.status === 503)) {
        expect(a.retryAfter).toBe('1');
        expect(a.body.code).toMatch(/^(store_unavailable|concurrency_exhausted)$/);
      }
      // Never a hang: no answer took much longer than the store's deadline.
      expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(deadlineMs + 3_000);

      // Every acknowledged accrual is in the store exactly once.
      let counts = await accrualCounts(t.store);
      for (const a of answers.filter((x) => x.status === 201)) expect(counts.get(`shop:${a.externalId}`)).toBe(1);
      // The unanswered ones, retried, succeed exactly once (some were written before the node went down).
      for (const a of answers.filter((x) => x.status === 503)) {
        const again = await t.http().post('/v1/accruals').set(partners.shop).send(accrual(a.externalId, a.memberId));
        expect(again.status).toBe(201);
      }
      counts = await accrualCounts(t.store);
      for (const a of answers) expect(counts.get(`shop:${a.externalId}`)).toBe(1);

      // The projector resumed: the read models reach the head.
      const [head] = await t.store.readAll({ direction: 'backwards', maxCount: 1 });
      const read = await t.http().get(`/v1/members/m-0?minPosition=${head.position}`).set(t.admin);
      expect(read.status).toBe(200);
      const acknowledged = [...counts.keys()].filter((txId) => txId.startsWith('shop:w0-')).length;
      expect(read.body.lifetimeAccrued).toBe(acknowledged * 10);
    } finally {
      await t.close();
      await (restarted ?? server).stop();
    }
  }, 60_000);

  it('SQLite write lock held elsewhere: 503 with Retry-After and a log line, nothing written, then the retry succeeds once', async () => {
    const dir = tempDir('ledger-fault-');
    const file = join(dir, 'ledger.db');
    const t = await appWithLog(SqliteEventStore.open(file, { busyTimeoutMs: 100 }));
    const other = new Database(file);
    try {
      const { partners } = await seedCoalition(t, ['shop']);
      await t
        .http()
        .post('/v1/members')
        .set(partners.shop)
        .send({ memberId: 'm-1', cardNumber: cardNumber(1) })
        .expect(201);
      const before = await eventCount(t.store);
      other.exec('BEGIN IMMEDIATE'); // another process holds the write lock past the busy timeout
      const res = await t.http().post('/v1/accruals').set(partners.shop).send(accrual('r-1', 'm-1'));
      other.exec('ROLLBACK');
      if (res.status !== 503)
        throw new Error(`${res.status} ${JSON.stringify(res.body)}; log: ${JSON.stringify(t.log.lines.filter((l) => l.level !== 'info'))}`);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body).toMatchObject({ statusCode: 503, code: 'store_unavailable' });
      expect(JSON.stringify(res.body)).not.toMatch(/SQLITE|at .*\.js/);
      const line = t.log.lines.find((l) => l.msg === 'event store unavailable');
      expect(line).toMatchObject({ level: 'warn', method: 'POST', url: '/v1/accruals' });
      expect(String(line!.reason)).toContain('SQLITE_BUSY');
      expect(await eventCount(t.store)).toBe(before);

      const again = await t.http().post('/v1/accruals').set(partners.shop).send(accrual('r-1', 'm-1'));
      expect(again.status).toBe(201);
      expect((await accrualCounts(t.store)).get('shop:r-1')).toBe(1);
    } finally {
      other.close();
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SQLite: a scan the file cannot serve (I/O error) closing a period: 503 store_unavailable with a log line, nothing written', async () => {
    const dir = tempDir('ledger-fault-');
    // The store's scan statements (position ranges) throw SQLite's own read error while
    // `failing` is set (a read failure cannot be provoked on demand in WAL mode).
    let failing = false;
    const isScan = (sql: string) => sql.includes('position > ? AND position <= ?');
    const prepare = Database.prototype.prepare;
    const spy = jest.spyOn(Database.prototype, 'prepare').mockImplementation(function (this: Database.Database, sql: string) {
      const statement = prepare.call(this, sql);
      const proxy: Database.Statement = new Proxy(statement, {
        get(target, prop) {
          if (prop === 'all' && failing && isScan(sql)) {
            return () => {
              throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_READ' });
            };
          }
          const value = Reflect.get(target, prop, target) as unknown;
          if (typeof value !== 'function') return value;
          // Chained settings (`raw(true)`) return the statement: hand back the proxy instead.
          return (...args: unknown[]) => {
            const result = (value as (...a: unknown[]) => unknown).apply(target, args);
            return result === target ? proxy : result;
          };
        },
      });
      return proxy;
    } as typeof prepare);
    const t = await appWithLog(SqliteEventStore.open(join(dir, 'ledger.db')));
    try {
      const { partners } = await seedCoalition(t, ['shop']);
      const finance = {
        Authorization: `Bearer ${(await t.http().post('/v1/keys').set(t.admin).send({ role: 'finance' }).expect(201)).body.key}`,
      };
      await t
        .http()
        .post('/v1/members')
        .set(partners.shop)
        .send({ memberId: 'm-1', cardNumber: cardNumber(1) })
        .expect(201);
      await t.http().post('/v1/accruals').set(partners.shop).send(accrual('a-1', 'm-1')).expect(201);
      const before = await eventCount(t.store);
      failing = true;
      const res = await t.http().post('/v1/settlements').set(finance).send({ periodId: '2026-10' });
      failing = false;
      expect({ status: res.status, code: res.body.code, retryAfter: res.headers['retry-after'] }).toEqual({
        status: 503,
        code: 'store_unavailable',
        retryAfter: '1',
      });
      expect(JSON.stringify(res.body)).not.toMatch(/SQLITE|at .*\.js/);
      const line = t.log.lines.find((l) => l.msg === 'event store unavailable');
      expect(line).toMatchObject({ level: 'warn', method: 'POST', url: '/v1/settlements' });
      expect(String(line!.reason)).toContain('SQLITE_IOERR_READ');
      expect(await eventCount(t.store)).toBe(before);
      await t.http().post('/v1/settlements').set(finance).send({ periodId: '2026-10' }).expect(201);
    } finally {
      spy.mockRestore();
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a failing write through the port on every kind of command: 503, a log line, no partial effect', async () => {
    const store = new FailingAppends(new MemoryEventStore());
    const t = await appWithLog(store);
    try {
      const { partners } = await seedCoalition(t, ['shop']);
      const finance = await t.http().post('/v1/keys').set(t.admin).send({ role: 'finance' }).expect(201);
      await t
        .http()
        .post('/v1/members')
        .set(partners.shop)
        .send({ memberId: 'm-1', cardNumber: cardNumber(1) })
        .expect(201);
      await t.http().post('/v1/accruals').set(partners.shop).send(accrual('a-0', 'm-1')).expect(201);
      const before = await eventCount(store);
      store.failing = true;
      const attempts = [
        t.http().post('/v1/accruals').set(partners.shop).send(accrual('a-1', 'm-1')),
        t
          .http()
          .post('/v1/redemptions')
          .set(partners.shop)
          .send({ externalId: 'x-1', memberId: 'm-1', points: 1, occurredAt: '2026-11-20T11:00:00Z' }),
        t
          .http()
          .post('/v1/reversals')
          .set(partners.shop)
          .send({ externalId: 'v-1', memberId: 'm-1', originalExternalId: 'a-0', occurredAt: '2026-11-20T11:00:00Z' }),
        t
          .http()
          .post('/v1/members')
          .set(partners.shop)
          .send({ memberId: 'm-2', cardNumber: cardNumber(2) }),
        t
          .http()
          .post('/v1/partners')
          .set(t.admin)
          .send({ partnerId: 'late', name: 'late', earnRule: { pointsPerUnit: 1, unitMinor: 100 } }),
        t.http().post('/v1/keys').set(t.admin).send({ role: 'auditor' }),
        t
          .http()
          .post('/v1/settlements')
          .set({ Authorization: `Bearer ${finance.body.key}` })
          .send({ periodId: '2026-10' }),
      ];
      for (const res of await Promise.all(attempts)) {
        expect({ status: res.status, code: res.body.code, retryAfter: res.headers['retry-after'] }).toEqual({
          status: 503,
          code: 'store_unavailable',
          retryAfter: '1',
        });
      }
      expect(t.log.lines.filter((l) => l.msg === 'event store unavailable')).toHaveLength(attempts.length);
      expect(await eventCount(store)).toBe(before);
      store.failing = false;
      await t.http().post('/v1/accruals').set(partners.shop).send(accrual('a-1', 'm-1')).expect(201);
    } finally {
      await t.close();
    }
  });

  it('a read-only data directory at start-up: `ledger serve` exits 1 with one clear line', async () => {
    if (!existsSync(join(root, 'dist', 'apps', 'cli', 'src', 'main.js'))) throw new Error('dist/ is missing: run `npm run build`');
    const dir = tempDir('ledger-ro-');
    chmodSync(dir, 0o555);
    // Root ignores permissions: run the service as an unprivileged user then.
    const asRoot = process.getuid?.() === 0;
    try {
      const run = await new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
        const p = spawn(process.execPath, [cli, 'serve'], {
          env: { ...process.env, LEDGER_DATA_DIR: dir, LEDGER_EVENTSTORE: '', PORT: '0', HOST: '127.0.0.1' },
          stdio: ['ignore', 'pipe', 'pipe'],
          ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
        });
        let stderr = '';
        let stdout = '';
        p.stderr.on('data', (d) => (stderr += d));
        p.stdout.on('data', (d) => (stdout += d));
        p.once('exit', (code) => resolve({ code, stderr, stdout }));
      });
      expect(run.code).toBe(1);
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(`^ledger: event store unavailable \\(open\\): cannot open ${dir}/ledger.db for writing \\(SQLITE_CANTOPEN`),
      );
      expect(lines[0]).toContain('LEDGER_DATA_DIR must be a writable directory');
      expect(run.stdout).toBe('');
    } finally {
      chmodSync(dir, 0o755);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
