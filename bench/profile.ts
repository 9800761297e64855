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
import { freePort, startLedgerServe } from './lib/child-server';
import { runLoad } from './lib/load';
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

const ADMIN_KEY = 'bench-admin-key-0123456789';

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

export function summariseProfile(profile: CpuProfile, top = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
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
    `Main thread of \`ledger serve\`, ${(total / 1e6).toFixed(1)} s sampled.`,
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

export async function benchProfile({ quick, log }: { quick: boolean; log: (s: string) => void }): Promise<BenchLine[]> {
  const members = quick ? 2_000 : 10_000;
  const requests = quick ? 2_000 : 30_000;
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-profile-'));
  try {
    const file = join(dir, 'data', 'ledger.db');
    writeBulkHistory({ file, events: members * 8, members, startAt: '2026-10-01T00:00:00.000Z', endAt: '2026-11-01T00:00:00.000Z' });
    const profiles = join(dir, 'profiles');
    const port = await freePort();
    const server = await startLedgerServe(
      port,
      { LEDGER_DATA_DIR: join(dir, 'data'), LEDGER_DEMO: 'off', LEDGER_ADMIN_KEY: ADMIN_KEY },
      600_000,
      ['--cpu-prof', '--cpu-prof-dir', profiles],
    );
    const key = (
      (await (
        await fetch(`${server.url}/v1/partners/p01/keys`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
          body: '{}',
        })
      ).json()) as { key: string }
    ).key;
    const occurredAt = new Date(Date.now() - 60_000).toISOString();
    log(`profile: ${requests} accruals over ${members} members, 64 connections`);
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
          memberId: `b${String(i % members).padStart(7, '0')}`,
          amountMinor: 130_000,
          currency: 'RUB',
          occurredAt,
        }),
      }),
    });
    await server.stop();
    const [name] = readdirSync(profiles).filter((f) => f.endsWith('.cpuprofile'));
    const summary = `${r.requestsPerSecond.toFixed(0)} accruals/s, p99 ${r.p99Ms.toFixed(1)} ms, statuses ${JSON.stringify(r.statuses)}.\n\n${summariseProfile(JSON.parse(readFileSync(join(profiles, name), 'utf8')) as CpuProfile)}`;
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
