import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface ChildServer {
  url: string;
  key?: string;
  child: ChildProcess;
  /** Peak resident set size of the server process so far, in bytes (from /proc). */
  rssBytes(): number;
  stop(): Promise<void>;
  /** SIGKILL, and wait for the process to be gone. */
  kill(): Promise<void>;
}

// Compiled to dist/bench/lib/: the repository root is three levels up.
const root = join(__dirname, '..', '..', '..');
/** The built CLI, as `npm start` and users run it. */
export const LEDGER_BIN = join(root, 'bin', 'ledger.js');
/** The Node flags `npm start`, the `ledger` command and the image run the CLI with. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain CommonJS beside the CLI's entry
export const { LEDGER_NODE_FLAGS } = require(join(root, 'bin', 'runtime-flags.js')) as { LEDGER_NODE_FLAGS: readonly string[] };

/** Starts `dist/bench/servers.js <args>` (under Node's `nodeArgs`) and waits for its ready line. */
export function startChildServer(args: string[], timeoutMs = 600_000, nodeArgs: readonly string[] = []): Promise<ChildServer> {
  return startScript(join(root, 'dist', 'bench', 'servers.js'), args, timeoutMs, nodeArgs);
}

/** The bare fastify + better-sqlite3 route, with no project code loaded. */
export function startBareServer(dir: string): Promise<ChildServer> {
  return startScript(join(root, 'dist', 'bench', 'bare-server.js'), [dir], 60_000);
}

function startScript(script: string, args: string[], timeoutMs: number, nodeArgs: readonly string[] = []): Promise<ChildServer> {
  const child = spawn(process.execPath, [...nodeArgs, '-r', join(root, 'bin', 'aliases.js'), script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`bench server ${args[0]} not ready in ${timeoutMs} ms`)), timeoutMs);
    child.on('exit', (code) => reject(new Error(`bench server ${args[0]} exited with ${code}`)));
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{"ready"'));
      if (!line) return;
      clearTimeout(timer);
      const ready = JSON.parse(line) as { port: number; key?: string };
      resolve(handle(child, `http://127.0.0.1:${ready.port}`, ready.key));
    });
  });
}

/** A free loopback port, for a child that must be told its port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** The admin key the benchmarks give `ledger serve` (LEDGER_ADMIN_KEY), never stored. */
export const SERVE_ADMIN_KEY = 'bench-admin-key-0123456789';

/** A partner key issued through the running service's admin route. */
export async function issuePartnerKey(server: ChildServer, partnerId: string): Promise<string> {
  const res = await fetch(`${server.url}/v1/partners/${partnerId}/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SERVE_ADMIN_KEY}`, 'content-type': 'application/json' },
    body: '{}',
  });
  if (res.status !== 201) throw new Error(`issuing a key for ${partnerId} answered ${res.status}`);
  return ((await res.json()) as { key: string }).key;
}

/**
 * `ledger serve` as a user starts it (the built CLI with its Node flags, its own logging, the
 * projector in process), on `port`, with `env` added. Ready when GET /health answers 200.
 */
export async function startLedgerServe(
  port: number,
  env: Record<string, string>,
  timeoutMs = 600_000,
  nodeArgs: string[] = [],
): Promise<ChildServer> {
  const child = spawn(process.execPath, [...LEDGER_NODE_FLAGS, ...nodeArgs, LEDGER_BIN, 'serve'], {
    // The load generators drive one key far past the service's default per-key limit.
    env: { ...process.env, LEDGER_RATE_LIMIT: '0', ...env, PORT: String(port), HOST: '127.0.0.1' },
    // Its logs are part of what a user runs; the benchmark drops them.
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`ledger serve exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.status === 200) return handle(child, url);
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`ledger serve not ready in ${timeoutMs} ms: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function handle(child: ChildProcess, url: string, key?: string): ChildServer {
  const ended = (signal: NodeJS.Signals) =>
    new Promise<void>((done) => {
      child.removeAllListeners('exit');
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      child.kill(signal);
    });
  return {
    url,
    key,
    child,
    rssBytes: () => peakRss(child.pid!),
    stop: () => ended('SIGTERM'),
    kill: () => ended('SIGKILL'),
  };
}

function peakRss(pid: number): number {
  // VmHWM is the peak resident set size of the process, in kB.
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : 0;
}
