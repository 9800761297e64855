/**
 * `npm run bench -- --only=profile`: a CPU profile of `ledger serve` under the accrual load,
 * summarised by where the main thread spent its time (self time, grouped by package or
 * project library, and the top functions). Not a benchmark line: it tells what limits the
 * write path, so that an optimisation starts from a measurement.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBulkHistory } from './lib/bulk-history';
import { SERVE_ADMIN_KEY, freePort, issuePartnerKey, startLedgerServe } from './lib/child-server';
import { runLoad } from './lib/load';
import { caughtUp, headPosition } from './service-load';
import { seededRandom } from '@ledger/projections/testing/synthetic-history';
import { BenchLine } from './lib/report';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a package, a project library, Node itself, or the VM. */
function groupOf(url: string, name: string): string {
  if (name === '(garbage collector)') return '(garbage collector)';
  if (name === '(idle)') return '(idle)';
  if (name === '(program)') return '(program)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const lib = /dist\/(libs|apps)\/([^/]+)/.exec(url);
  if (lib) return `${lib[1]}/${lib[2]}`;
  if (url.startsWith('node:')) return 'node internals';
  return url === '' ? '(native)' : 'other';
}

/**
 * The samples from the first to the last whose stack holds a function of a file whose path
 * holds `marker` (the load's own handler), so start-up and the projector's catch-up before the
 * load are left out. The module's own top level (a frame with no function name, sampled while
 * it loads at start-up) does not count: it would stretch the window back to the start.
 */
function loadWindow(profile: CpuProfile, byId: Map<number, ProfileNode>, marker: string): [number, number] {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const marked = new Map<number, boolean>();
  const isMarked = (id: number): boolean => {
    let known = marked.get(id);
    if (known === undefined) {
      const up = parent.get(id);
      const { url, functionName } = byId.get(id)!.callFrame;
      known = (url.includes(marker) && functionName !== '') || (up !== undefined && isMarked(up));
      marked.set(id, known);
    }
    return known;
  };
  let first = -1;
  let last = -1;
  profile.samples.forEach((id, i) => {
    if (!isMarked(id)) return;
    if (first < 0) first = i;
    last = i;
  });
  return first < 0 ? [0, profile.samples.length - 1] : [first, last];
}

export function summariseProfile(profile: CpuProfile, top = 25, marker?: string): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const [from, to] = marker ? loadWindow(profile, byId, marker) : [0, profile.samples.length - 1];
  for (let i = from; i <= to; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const groups = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const group = groupOf(url, functionName);
    groups.set(group, (groups.get(group) ?? 0) + us);
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1)}%`;
  const rows = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `| ${pct(us)} | ${k} |`);
  return [
    `Main thread of \`ledger serve\`, ${(total / 1e6).toFixed(1)} s sampled${marker ? ` (from the first to the last sample in ${marker}: the load alone)` : ''}.`,
    '',
    '| self time | where |',
    '|---|---|',
    ...rows(groups, 20),
    '',
    '| self time | function |',
    '|---|---|',
    ...rows(functions, top),
    '',
  ].join('\n');
}

/**
 * The load of line 9 (service-load.ts): accruals for members drawn at random from 100,000
 * enrolled, most of them not in the member cache, once the read models have caught up.
 */
export async function benchProfile({ quick, log }: { quick: boolean; log: (s: string) => void }): Promise<BenchLine[]> {
  const members = quick ? 2_000 : 100_000;
  const requests = quick ? 2_000 : 20_000;
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-profile-'));
  try {
    const file = join(dir, 'data', 'ledger.db');
    await writeBulkHistory({ file, events: members * 8, members, startAt: '2026-10-01T00:00:00.000Z', endAt: '2026-11-01T00:00:00.000Z' });
    const profiles = join(dir, 'profiles');
    const port = await freePort();
    const server = await startLedgerServe(
      port,
      { LEDGER_DATA_DIR: join(dir, 'data'), LEDGER_DEMO: 'off', LEDGER_ADMIN_KEY: SERVE_ADMIN_KEY },
      600_000,
      ['--cpu-prof', '--cpu-prof-dir', profiles],
    );
    await caughtUp(server, SERVE_ADMIN_KEY, await headPosition(file));
    const key = await issuePartnerKey(server, 'p01');
    const random = seededRandom(11);
    const occurredAt = new Date(Date.now() - 60_000).toISOString();
    log(`profile: ${requests} accruals, members at random from ${members}, 64 connections`);
    const r = await runLoad({
      url: server.url,
      connections: 64,
      total: requests,
      request: (i) => ({
        method: 'POST',
        path: '/v1/accruals',
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({
          externalId: `p-${i}`,
          memberId: `b${String(Math.floor(random() * members)).padStart(7, '0')}`,
          amountMinor: 130_000,
          currency: 'RUB',
          occurredAt,
        }),
      }),
    });
    await server.stop();
    const [name] = readdirSync(profiles).filter((f) => f.endsWith('.cpuprofile'));
    const summary = `${r.requestsPerSecond.toFixed(0)} accruals/s, p99 ${r.p99Ms.toFixed(1)} ms, statuses ${JSON.stringify(r.statuses)}.\n\n${summariseProfile(JSON.parse(readFileSync(join(profiles, name), 'utf8')) as CpuProfile, 25, 'accrue-points')}`;
    process.stdout.write(summary + '\n');
    if (!quick)
      writeFileSync(
        join(__dirname, '..', '..', 'bench', 'PROFILE.md'),
        `# Write-path profile\n\nGenerated by \`npm run bench -- --only=profile\` on ${new Date().toISOString()}.\n\n${summary}`,
      );
    return [];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
