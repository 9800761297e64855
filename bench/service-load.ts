/**
 * Benchmarks 9–14: `ledger serve` as a user starts it (the built CLI, its logging, the projector
 * in process), each figure beside the bare fastify + better-sqlite3 route of the same run.
 *
 *   9  accruals for members drawn at random from the enrolled population
 *   10 the same load on 100 hot members
 *   11 one member, 8 concurrent writers, its stream growing by thousands of lots
 *   12 a mixed, skewed load (Zipf members; 80% accruals, 15% redemptions, 5% reversals, 2% retries)
 *   13 the projector's lag under that load (command answered → readable through ?minPosition)
 *   14 a period close while the mixed load goes on (write p99 during the close vs without)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { seededRandom } from '@ledger/projections/testing/synthetic-history';
import { copyProjectedBulkHistory } from './lib/bulk-history';
import { ChildServer, SERVE_ADMIN_KEY, freePort, issuePartnerKey, startBareServer, startLedgerServe } from './lib/child-server';
import { LoadResult, runLoad, summarise } from './lib/load';
import { BenchLine, Bracket, bracket, bracketNote } from './lib/report';
import { ZipfSampler } from './lib/zipf';

const CONNECTIONS = 64;
export const bulkMember = (i: number) => `b${String(i).padStart(7, '0')}`;

export interface ServiceLoadOptions {
  quick: boolean;
  log: (s: string) => void;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The store's last position, read beside the running service. */
export async function headPosition(file: string): Promise<number> {
  const store = SqliteEventStore.open(file);
  try {
    const [last] = await store.readAll({ direction: 'backwards', maxCount: 1 });
    return last?.position ?? 0;
  } finally {
    await store.close();
  }
}

export async function call(url: string, method: string, path: string, key: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Waits until the service's read models reflect `position`. */
export async function caughtUp(server: ChildServer, key: string, position: number, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await call(server.url, 'GET', `/v1/partners/p01/position?minPosition=${position}`, key);
    if (r.status === 200) return;
    // 503 projection_behind after the route's own wait: ask again.
    if (r.status !== 503) throw new Error(`catch-up check answered ${r.status}: ${JSON.stringify(r.body)}`);
    if (Date.now() > deadline) throw new Error(`read models not at ${position} in ${timeoutMs} ms`);
  }
}

export function requireClean(name: string, r: LoadResult): void {
  const bad = Object.entries(r.statuses).filter(([s]) => Number(s) >= 300);
  if (r.errors > 0 && (bad.length > 0 || r.firstError)) {
    throw new Error(`${name}: ${r.errors} errors, statuses ${JSON.stringify(r.statuses)}${r.firstError ? `, first: ${r.firstError}` : ''}`);
  }
}

export const nonOk = (r: LoadResult) =>
  Object.entries(r.statuses)
    .filter(([s]) => Number(s) >= 300)
    .reduce((n, [, c]) => n + c, 0);

/** The previous UTC calendar month of `now`: a period that has ended and may be closed. */
export function previousMonth(now: Date): { periodId: string; startAt: string; endAt: string } {
  const end = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  const periodId = `${start.getUTCFullYear()}-${String(start.getUTCMonth() + 1).padStart(2, '0')}`;
  return { periodId, startAt: start.toISOString(), endAt: new Date(end).toISOString() };
}

/** The bare route's rates before and after a load, and its own p99s: the machine's tail, which a p99 target meets too. */
type BareBracket = Bracket & { p99Ms: Bracket };

export async function benchServiceLoad({ quick, log }: ServiceLoadOptions): Promise<BenchLine[]> {
  const members = quick ? 2_000 : 100_000;
  // Lines 9, 10 and 12; the month-end run (14) posts twice as many so that its load outlasts the close.
  const requests = quick ? 500 : 10_000;
  const singleMemberLots = quick ? 200 : 5_000;
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-serve-'));
  const lines: BenchLine[] = [];
  const config = { connections: CONNECTIONS, requests, members, adapter: 'sqlite', server: 'ledger serve', node: process.version };
  const now = new Date();
  const period = previousMonth(now);
  try {
    // The bare route is measured right before and right after each load it is the baseline of,
    // and that load's ratio is to the mean of the two. The machine's speed here changes from one
    // minute to the next: one baseline at the suite's start measured 5,125-6,348 req/s in runs
    // of --only=9,10,12 and 8,976 in a full run, while the loads ran over the next 80 s.
    let bareRuns = 0;
    const bareRate = async (): Promise<{ rate: number; p99Ms: number }> => {
      const bareDir = join(dir, `bare-${bareRuns++}`);
      mkdirSync(bareDir);
      log(`serve: bare baseline, ${requests} requests`);
      const bare = await startBareServer(bareDir);
      try {
        const r = await runLoad({
          url: bare.url,
          connections: CONNECTIONS,
          total: requests,
          request: (i) => ({
            method: 'POST',
            path: '/insert',
            body: JSON.stringify({ externalId: `w-${i}`, memberId: bulkMember(i % members) }),
          }),
        });
        requireClean('bare baseline', r);
        return { rate: r.requestsPerSecond, p99Ms: r.p99Ms };
      } finally {
        await bare.stop();
      }
    };

    // The store: `members` enrolled members with history last month, so the month can be closed.
    const file = join(dir, 'data', 'ledger.db');
    log(`serve: writing ${members} members' history into ${file}`);
    // With its read models caught up (made once per run, copied): the lines measure the load, not a catch-up.
    await copyProjectedBulkHistory({ file, events: members * 8, members, startAt: period.startAt, endAt: period.endAt });
    // The copy's dirty pages go to the disk now, not during the first baseline and load.
    spawnSync('sync');
    const port = await freePort();
    const env = { LEDGER_DATA_DIR: join(dir, 'data'), LEDGER_DEMO: 'off', LEDGER_ADMIN_KEY: SERVE_ADMIN_KEY };
    const server = await startLedgerServe(port, env);
    try {
      await caughtUp(server, SERVE_ADMIN_KEY, await headPosition(file));
      const partnerKey = await issuePartnerKey(server, 'p01');
      const financeKey = (await call(server.url, 'POST', '/v1/keys', SERVE_ADMIN_KEY, { role: 'finance' })).body.key as string;
      const auth = { authorization: `Bearer ${partnerKey}` };
      const occurredAt = () => new Date(Date.now() - 60_000).toISOString();
      const accrual = (externalId: string, memberId: string) => ({
        method: 'POST' as const,
        path: '/v1/accruals',
        headers: auth,
        body: JSON.stringify({ externalId, memberId, amountMinor: 150_000, currency: 'RUB', occurredAt: occurredAt() }),
        tag: 'accrual',
      });

      /**
       * A load between two runs of the bare route. The service's read models catch up before
       * the second, so the projector's tail of the load does not slow the baseline.
       */
      const bracketed = async <T>(load: () => Promise<T>): Promise<{ result: T; baseline: BareBracket }> => {
        const before = await bareRate();
        const result = await load();
        await caughtUp(server, SERVE_ADMIN_KEY, await headPosition(file));
        const after = await bareRate();
        return { result, baseline: { ...bracket(before.rate, after.rate), p99Ms: bracket(before.p99Ms, after.p99Ms) } };
      };
      const vs = (b: Bracket) => ({ name: 'bare fastify + better-sqlite3, before and after the load', value: Math.round(b.mean) });
      const bareNote = (b: BareBracket) =>
        `${bracketNote('bare route', b, 'req/s')}; bare route p99 ${b.p99Ms.before.toFixed(1)} ms before, ${b.p99Ms.after.toFixed(1)} after`;

      const random = seededRandom(11);
      const writeLine = (n: number, metric: string, r: LoadResult, b: BareBracket, target: string, met: boolean) =>
        lines.push({
          benchmark: `${n} ledger serve`,
          metric,
          value: round2(r.requestsPerSecond),
          unit: 'req/s',
          config: {
            ...config,
            p50Ms: round2(r.p50Ms),
            p99Ms: round2(r.p99Ms),
            statuses: r.statuses,
            bareBefore: round2(b.before),
            bareAfter: round2(b.after),
            bareP99MsBefore: round2(b.p99Ms.before),
            bareP99MsAfter: round2(b.p99Ms.after),
          },
          baseline: vs(b),
          ratio: r.requestsPerSecond / b.mean,
          ratioNote: `p99 ${r.p99Ms.toFixed(1)} ms, ${nonOk(r)} non-2xx; ${bareNote(b)}`,
          target,
          met,
        });

      log(`serve: ${requests} accruals, members at random from ${members}`);
      const { result: atRandom, baseline: randomBaseline } = await bracketed(() =>
        runLoad({
          url: server.url,
          connections: CONNECTIONS,
          total: requests,
          request: (i) => accrual(`rnd-${i}`, bulkMember(Math.floor(random() * members))),
        }),
      );
      requireClean('random members', atRandom);
      const randomRatio = atRandom.requestsPerSecond / randomBaseline.mean;
      writeLine(
        9,
        `accruals/s, members at random from ${members.toLocaleString('en-US')}`,
        atRandom,
        randomBaseline,
        '≥ 0.4 with p99 ≤ 25 ms',
        randomRatio >= 0.4 && atRandom.p99Ms <= 25 && nonOk(atRandom) === 0,
      );

      log(`serve: ${requests} accruals on 100 hot members`);
      const { result: hot, baseline: hotBaseline } = await bracketed(() =>
        runLoad({
          url: server.url,
          connections: CONNECTIONS,
          total: requests,
          request: (i) => accrual(`hot-${i}`, bulkMember(Math.floor(random() * 100))),
        }),
      );
      requireClean('hot members', hot);
      const hotRatio = hot.requestsPerSecond / hotBaseline.mean;
      writeLine(
        10,
        'accruals/s on 100 hot members',
        hot,
        hotBaseline,
        '≥ 0.3 with p99 ≤ 50 ms',
        hotRatio >= 0.3 && hot.p99Ms <= 50 && nonOk(hot) === 0,
      );

      /** `total` accruals for one member from 8 concurrent writers; each latency in the order answered. */
      const eightWriters = async (memberId: string, total: number, prefix: string) => {
        const inOrder: number[] = [];
        const load = await runLoad({
          url: server.url,
          connections: 8,
          total,
          request: (i) => accrual(`${prefix}-${i}`, memberId),
          onAnswer: (_i, _status, _body, timing) => inOrder.push(timing.latencyMs),
        });
        return { load, inOrder };
      };
      log(`serve: one member, 8 concurrent writers, ${singleMemberLots} accruals`);
      const { load: single, inOrder } = await eightWriters(bulkMember(members - 1), singleMemberLots, 'one');
      const window = Math.max(1, Math.floor(singleMemberLots / 10));
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const firstMs = mean(inOrder.slice(0, window));
      const lastMs = mean(inOrder.slice(-window));
      const unavailable = single.statuses[503] ?? 0;
      // A control for drift: the machine's speed can change over the tens of seconds the
      // member's stream grows. The same 8 writers right afterwards on another member, whose
      // stream is as short as the first one's was at the start: if its accruals are as slow as
      // the last window's, the machine slowed, not the long stream.
      const { load: control, inOrder: controlMs } = await eightWriters(bulkMember(members - 2), window, 'one-control');
      requireClean('one member, drift control', control);
      const controlMeanMs = mean(controlMs);
      lines.push({
        benchmark: '11 ledger serve',
        metric: `one member, 8 writers: mean ms per accrual over the last ${window} of ${singleMemberLots} lots`,
        value: round2(lastMs),
        unit: 'ms',
        config: { ...config, connections: 8, lots: singleMemberLots, statuses: single.statuses, driftControlMs: round2(controlMeanMs) },
        baseline: { name: `same over the first ${window}`, value: round2(firstMs) },
        ratio: lastMs / firstMs,
        ratioNote: `${unavailable} × 503; drift control, another member's first ${window} right after: ${controlMeanMs.toFixed(2)} ms`,
        target: 'last ≤ 1.2 × first, no 503',
        met: lastMs <= 1.2 * firstMs && unavailable === 0,
      });

      log(`serve: mixed skewed load, ${requests} requests, Zipf over ${members} members`);
      const { result: mixed, baseline: mixedBaseline } = await bracketed(() =>
        runMixed(server, auth, members, requests, occurredAt, seededRandom(23)),
      );
      if (mixed.load.firstRefusal) log(`serve: mixed load, first refusal: ${mixed.load.firstRefusal}`);
      lines.push({
        benchmark: '12 ledger serve',
        metric: 'mixed skewed load requests/s (80% accrue, 15% redeem, 5% reverse, 2% retries)',
        value: round2(mixed.load.requestsPerSecond),
        unit: 'req/s',
        config: {
          ...config,
          p50Ms: round2(mixed.load.p50Ms),
          p99Ms: round2(mixed.load.p99Ms),
          p999Ms: round2(mixed.load.p999Ms),
          statuses: mixed.load.statuses,
          byTag: mixed.load.byTag,
          bareBefore: round2(mixedBaseline.before),
          bareAfter: round2(mixedBaseline.after),
          bareP99MsBefore: round2(mixedBaseline.p99Ms.before),
          bareP99MsAfter: round2(mixedBaseline.p99Ms.after),
        },
        baseline: vs(mixedBaseline),
        ratio: mixed.load.requestsPerSecond / mixedBaseline.mean,
        ratioNote: `p50 ${mixed.load.p50Ms.toFixed(1)} / p99 ${mixed.load.p99Ms.toFixed(1)} / p99.9 ${mixed.load.p999Ms.toFixed(1)} ms; ${nonOk(mixed.load)} non-2xx; sent ${mixOf(mixed.load)}; ${bareNote(mixedBaseline)}`,
      });
      const lag = summarise(mixed.lagMs);
      const within50 = mixed.lagMs.filter((ms) => ms <= 50).length / Math.max(1, mixed.lagMs.length);
      lines.push({
        benchmark: '13 catch-up during writes',
        metric: 'projector lag under the mixed load, p50 / p99 (answer → readable via ?minPosition)',
        value: round2(lag.p99Ms),
        unit: 'ms (p99)',
        config: { ...config, samples: lag.count, p50Ms: round2(lag.p50Ms) },
        baseline: { name: 'p50', value: round2(lag.p50Ms) },
        ratio: within50,
        ratioNote: `share of ?minPosition reads answered within 50 ms (${lag.count} samples)`,
      });

      log(`serve: month-end close of ${period.periodId} during the mixed load`);
      const monthEnd = await runMixed(server, auth, members, requests * 2, occurredAt, seededRandom(29), async () => {
        const r = await call(server.url, 'POST', '/v1/settlements', financeKey, { periodId: period.periodId });
        if (r.status !== 201) throw new Error(`close answered ${r.status}: ${JSON.stringify(r.body)}`);
      });
      if (monthEnd.load.firstRefusal) log(`serve: month-end load, first refusal: ${monthEnd.load.firstRefusal}`);
      const during = summarise(monthEnd.duringCloseMs);
      lines.push({
        benchmark: '14 month-end',
        metric: `write p99 while ${period.periodId} is closed under the mixed load`,
        value: round2(during.p99Ms),
        unit: 'ms (p99)',
        config: {
          ...config,
          closeSeconds: round2(monthEnd.closeSeconds),
          requestsDuringClose: during.count,
          statuses: monthEnd.load.statuses,
          byTag: monthEnd.load.byTag,
        },
        baseline: { name: 'p99 of the same load without a close', value: round2(mixed.load.p99Ms) },
        ratio: during.p99Ms / mixed.load.p99Ms,
        ratioNote: `close took ${monthEnd.closeSeconds.toFixed(1)} s, ${during.count} writes during it, ${nonOk(monthEnd.load)} non-2xx in the run`,
      });
    } finally {
      await server.stop();
    }
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface MixedRun {
  load: LoadResult;
  lagMs: number[];
  duringCloseMs: number[];
  closeSeconds: number;
}

/** The requests sent, by tag, as shares of the run (the mix a line names is the mix it sent). */
const mixOf = (r: LoadResult) =>
  Object.entries(r.byTag)
    .map(([tag, t]) => `${tag} ${((100 * t.count) / r.requests).toFixed(1)}%`)
    .join(', ');

/** A redemption of 1 point is sent only to a member last answered with at least this balance: more than can be in flight. */
const REDEEM_HEADROOM = CONNECTIONS + 1;

/**
 * The mixed load: members from a Zipf distribution. Of the first posts, 80% accruals, 15%
 * redemptions and 5% reversals; besides them, 2% exact repeats of answered requests. Every
 * request is one the ledger must accept, so any refusal is a fault the run names:
 * - a redemption (1 point) goes to the drawn member if its last answered balance leaves room
 *   for every request in flight, else to another member that does, else it is sent as an
 *   accrual (the tags' counts in the results show the mix as sent);
 * - a reversal takes back one of this run's accruals in full, which the ledger refuses once any
 *   of the accrual's points were spent, so a member is sent either redemptions or reversals,
 *   never both.
 * Beside it a sampler posts an accrual every 25 ms and reads it back through ?minPosition, for
 * the projector's lag. `during`, when given, runs once the load is under way.
 */
async function runMixed(
  server: ChildServer,
  auth: Record<string, string>,
  members: number,
  total: number,
  occurredAt: () => string,
  random: () => number,
  during?: () => Promise<void>,
): Promise<MixedRun> {
  const zipf = new ZipfSampler(members, 1.1, random);
  // Balances as answered to first posts; a repeat answers the balance of its original.
  const balance = new Map<string, number>();
  // Members once answered with room to redeem, for a redemption whose drawn member has none.
  const spendable: string[] = [];
  const listed = new Set<string>();
  const redeeming = new Set<string>();
  const reversing = new Set<string>();
  const accrued: { externalId: string; memberId: string }[] = [];
  const answered: string[] = [];
  const prefix = `mx${Math.floor(random() * 1e9)}`;
  const bodies: string[] = [];
  const canRedeem = (memberId: string) => !reversing.has(memberId) && (balance.get(memberId) ?? 0) >= REDEEM_HEADROOM;
  const redeemer = (drawn: string): string | undefined => {
    if (canRedeem(drawn)) return drawn;
    for (let tries = 0; tries < 8 && spendable.length > 0; tries++) {
      const other = spendable[Math.floor(random() * spendable.length)];
      if (canRedeem(other)) return other;
    }
    return undefined;
  };
  const reversible = (): { externalId: string; memberId: string } | undefined => {
    while (accrued.length > 0) {
      const k = Math.floor(random() * accrued.length);
      const original = accrued[k];
      accrued[k] = accrued[accrued.length - 1];
      accrued.pop();
      // A redemption may have spent from its lot: it can no longer be reversed in full.
      if (!redeeming.has(original.memberId)) return original;
    }
    return undefined;
  };
  const request = (i: number) => {
    if (random() < 0.02 && answered.length > 0) {
      const repeat = answered[Math.floor(random() * answered.length)];
      const [path, body] = JSON.parse(repeat) as [string, string];
      return { method: 'POST' as const, path, headers: auth, body, tag: 'retry' };
    }
    const roll = random();
    const drawn = bulkMember(zipf.next());
    const externalId = `${prefix}-${i}`;
    let path = '/v1/accruals';
    let payload: Record<string, unknown> = { externalId, memberId: drawn, amountMinor: 120_000, currency: 'RUB', occurredAt: occurredAt() };
    let tag = 'accrual';
    const spender = roll >= 0.8 && roll < 0.95 ? redeemer(drawn) : undefined;
    const original = roll >= 0.95 ? reversible() : undefined;
    if (spender !== undefined) {
      path = '/v1/redemptions';
      payload = { externalId, memberId: spender, points: 1, occurredAt: occurredAt() };
      tag = 'redemption';
      balance.set(spender, balance.get(spender)! - 1);
      redeeming.add(spender);
    } else if (original !== undefined) {
      path = '/v1/reversals';
      payload = { externalId, memberId: original.memberId, originalExternalId: original.externalId, occurredAt: occurredAt() };
      tag = 'reversal';
      reversing.add(original.memberId);
    }
    const body = JSON.stringify(payload);
    bodies[i] = JSON.stringify([path, body]);
    return { method: 'POST' as const, path, headers: auth, body, tag };
  };

  let sampling = true;
  const lagMs: number[] = [];
  const sampler = (async () => {
    for (let n = 0; sampling; n++) {
      const memberId = bulkMember(Math.floor(random() * members));
      const res = await call(server.url, 'POST', '/v1/accruals', auth.authorization.slice(7), {
        externalId: `${prefix}-lag-${n}`,
        memberId,
        amountMinor: 100_000,
        currency: 'RUB',
        occurredAt: occurredAt(),
      });
      if (res.status === 201) {
        const t0 = process.hrtime.bigint();
        const read = await call(server.url, 'GET', `/v1/members/${memberId}?minPosition=${res.body.position}`, auth.authorization.slice(7));
        if (read.status === 200) lagMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();

  const starts: { startNs: bigint; latencyMs: number }[] = [];
  let closeWindow: [bigint, bigint] | undefined;
  let closing: Promise<void> | undefined;
  const load = await runLoad({
    url: server.url,
    connections: CONNECTIONS,
    total,
    request: (i) => {
      if (during && !closing && i === Math.floor(total / 10)) {
        const t0 = process.hrtime.bigint();
        closing = during().then(() => void (closeWindow = [t0, process.hrtime.bigint()]));
      }
      return request(i);
    },
    onAnswer: (i, status, body, timing) => {
      starts.push(timing);
      if ((status !== 201 && status !== 200) || !bodies[i]) return;
      const b = body as { balance?: number; memberId?: string };
      if (b?.memberId !== undefined && typeof b.balance === 'number') {
        balance.set(b.memberId, b.balance);
        if (b.balance >= REDEEM_HEADROOM && !listed.has(b.memberId)) {
          listed.add(b.memberId);
          spendable.push(b.memberId);
        }
      }
      answered.push(bodies[i]);
      const [path, sent] = JSON.parse(bodies[i]) as [string, string];
      if (path === '/v1/accruals' && status === 201) {
        const p = JSON.parse(sent) as { externalId: string; memberId: string };
        accrued.push({ externalId: p.externalId, memberId: p.memberId });
      }
    },
  });
  sampling = false;
  await sampler;
  if (closing) await closing;
  const duringCloseMs = closeWindow
    ? starts.filter((s) => s.startNs >= closeWindow![0] && s.startNs <= closeWindow![1]).map((s) => s.latencyMs)
    : [];
  const closeSeconds = closeWindow ? Number(closeWindow[1] - closeWindow[0]) / 1e9 : 0;
  return { load, lagMs, duringCloseMs, closeSeconds };
}
