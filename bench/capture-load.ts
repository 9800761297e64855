/**
 * Benchmark 17 (issue #13 point 7): a web shop's hold capture under the write-path load. While
 * accruals for members at random from the enrolled population run as in line 9 (64 connections),
 * a few checkouts at a time place a hold and capture it (three in four in full, the rest in
 * part), one after the other per checkout worker. Reported: the capture's p99 and p50, beside
 * the accrual p99 of the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '@ledger/projections/testing/synthetic-history';
import { copyProjectedBulkHistory } from './lib/bulk-history';
import { SERVE_ADMIN_KEY, freePort, issuePartnerKey, startLedgerServe } from './lib/child-server';
import { runLoad, summarise } from './lib/load';
import { BenchLine } from './lib/report';
import { bulkMember, call, caughtUp, headPosition, nonOk, previousMonth, requireClean } from './service-load';

const CONNECTIONS = 64;
/** Checkouts in flight at once beside the accrual load. */
const CHECKOUT_WORKERS = 4;

export interface CaptureLoadOptions {
  quick: boolean;
  log: (s: string) => void;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export async function benchCaptureUnderLoad({ quick, log }: CaptureLoadOptions): Promise<BenchLine[]> {
  const members = quick ? 2_000 : 100_000;
  const requests = quick ? 500 : 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-capture-'));
  const period = previousMonth(new Date());
  try {
    const file = join(dir, 'data', 'ledger.db');
    log(`capture: writing ${members} members' history into ${file}`);
    // With its read models caught up (made once per run, copied): the lines measure the load, not a catch-up.
    await copyProjectedBulkHistory({ file, events: members * 8, members, startAt: period.startAt, endAt: period.endAt });
    const port = await freePort();
    const server = await startLedgerServe(port, {
      LEDGER_DATA_DIR: join(dir, 'data'),
      LEDGER_DEMO: 'off',
      LEDGER_ADMIN_KEY: SERVE_ADMIN_KEY,
    });
    try {
      await caughtUp(server, SERVE_ADMIN_KEY, await headPosition(file));
      const partnerKey = await issuePartnerKey(server, 'p01');
      const occurredAt = () => new Date(Date.now() - 60_000).toISOString();
      const random = seededRandom(31);

      // The checkouts: hold 1-5 points of a member at random, then capture them, timing each call.
      let loading = true;
      const holdMs: number[] = [];
      const captureMs: number[] = [];
      const statuses: Record<string, number> = {};
      const count = (what: string, status: number) => (statuses[`${what} ${status}`] = (statuses[`${what} ${status}`] ?? 0) + 1);
      const timed = async (path: string, body: unknown) => {
        const t0 = process.hrtime.bigint();
        const r = await call(server.url, 'POST', path, partnerKey, body);
        return { ...r, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
      };
      let n = 0;
      const checkout = async () => {
        while (loading) {
          const i = n++;
          const memberId = bulkMember(Math.floor(random() * members));
          const points = 1 + Math.floor(random() * 5);
          const hold = await timed('/v1/holds', { externalId: `cart-${i}`, memberId, points, ttlSeconds: 900, occurredAt: occurredAt() });
          count('hold', hold.status);
          // A member without 1-5 points to spare is a declined checkout, not a failure.
          if (hold.status === 422) continue;
          if (hold.status !== 201) throw new Error(`hold answered ${hold.status}: ${JSON.stringify(hold.body)}`);
          holdMs.push(hold.ms);
          const part = random() < 0.25 ? Math.ceil(points / 2) : undefined;
          const capture = await timed(`/v1/holds/${encodeURIComponent(hold.body.holdId)}/capture`, {
            externalId: `cart-${i}-paid`,
            ...(part === undefined ? {} : { points: part }),
            occurredAt: occurredAt(),
          });
          count('capture', capture.status);
          if (capture.status !== 201) throw new Error(`capture answered ${capture.status}: ${JSON.stringify(capture.body)}`);
          captureMs.push(capture.ms);
        }
      };

      log(`capture: ${requests} accruals at random from ${members} members, ${CHECKOUT_WORKERS} checkouts at a time beside them`);
      const checkouts = Array.from({ length: CHECKOUT_WORKERS }, checkout);
      const accruals = await runLoad({
        url: server.url,
        connections: CONNECTIONS,
        total: requests,
        request: (i) => ({
          method: 'POST',
          path: '/v1/accruals',
          headers: { authorization: `Bearer ${partnerKey}` },
          body: JSON.stringify({
            externalId: `cl-${i}`,
            memberId: bulkMember(Math.floor(random() * members)),
            amountMinor: 150_000,
            currency: 'RUB',
            occurredAt: occurredAt(),
          }),
        }),
      }).finally(() => (loading = false));
      await Promise.all(checkouts);
      requireClean('accruals beside captures', accruals);
      if (captureMs.length === 0) throw new Error(`no capture completed during the load: ${JSON.stringify(statuses)}`);

      const captures = summarise(captureMs);
      const holds = summarise(holdMs);
      const note = `capture p50 ${captures.p50Ms.toFixed(1)} ms over ${captures.count} captures; hold p50/p99 ${holds.p50Ms.toFixed(1)}/${holds.p99Ms.toFixed(1)} ms; accrual p50 ${accruals.p50Ms.toFixed(1)} ms at ${Math.round(accruals.requestsPerSecond)}/s, ${nonOk(accruals)} non-2xx`;
      log(`capture: ${note}; checkout answers ${JSON.stringify(statuses)}`);
      return [
        {
          benchmark: '17 hold capture under load',
          metric: `capture latency p99 (p50 in the note), ${CHECKOUT_WORKERS} checkouts beside ${CONNECTIONS} connections of accruals at random from ${members.toLocaleString('en-US')} members`,
          value: round2(captures.p99Ms),
          unit: 'ms (p99)',
          config: {
            connections: CONNECTIONS,
            checkoutWorkers: CHECKOUT_WORKERS,
            requests,
            members,
            adapter: 'sqlite',
            server: 'ledger serve',
            node: process.version,
            captures: captures.count,
            captureP50Ms: round2(captures.p50Ms),
            captureP99Ms: round2(captures.p99Ms),
            holdP50Ms: round2(holds.p50Ms),
            holdP99Ms: round2(holds.p99Ms),
            accrualP50Ms: round2(accruals.p50Ms),
            accrualP99Ms: round2(accruals.p99Ms),
            accrualsPerSecond: round2(accruals.requestsPerSecond),
            statuses,
          },
          baseline: { name: 'accrual p99 of the same run', value: round2(accruals.p99Ms) },
          ratio: captures.p99Ms / accruals.p99Ms,
          ratioNote: note,
        },
      ];
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
