import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';

const root = join(__dirname, '..', '..');

/** Debian's Chromium (apt-get install -y chromium); LEDGER_CHROMIUM points elsewhere. */
export const CHROMIUM_PATH = process.env.LEDGER_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Whether the browser tests run. Without Chromium they are skipped with one line, except
 * under CI=true, where a missing browser is a failure (the tests run and say why).
 */
export function browserTestsEnabled(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  if (process.env.CI === 'true') return true;
  process.stderr.write(`browser tests skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium)\n`);
  return false;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH}: .ci/run installs it with apt-get install -y chromium`);
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // No --user-data-dir: Playwright gives every launch a fresh temporary profile of its own.
    ],
  });
}

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

export interface Served {
  url: string;
  dataDir: string;
  /** Everything the service wrote to stdout (its JSON log), so far. */
  log(): string;
  stop(): Promise<void>;
}

/** The built `ledger serve` on a loopback port and a fresh data directory. */
export async function serve(env: Record<string, string>, existingDataDir?: string): Promise<Served> {
  const cli = join(root, 'bin', 'ledger.js');
  if (!existsSync(join(root, 'dist', 'console', 'index.html')))
    throw new Error('dist/console is missing: run `npm run build` (npm test does)');
  const dataDir = existingDataDir ?? mkdtempSync(join(tmpdir(), 'ledger-console-'));
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [cli, 'serve'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LEDGER_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running behind a failed test.
      child.kill('SIGKILL');
      reject(new Error(`no "ledger listening" within 60 s; stderr: ${stderr}`));
    }, 60_000);
    child.stdout!.on('data', (d) => {
      stdout += d;
      if (stdout.includes('"ledger listening"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${stderr}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir,
    log: () => stdout,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/**
 * Closes the browser, then stops the server and removes its data directory even when the
 * browser never started or fails to close (a server left running keeps jest from exiting).
 */
export async function shutDown(browser: Browser | undefined, served: Served | undefined): Promise<void> {
  try {
    await browser?.close();
  } finally {
    await served?.stop();
    if (served) rmSync(served.dataDir, { recursive: true, force: true });
  }
}

export interface DemoKeys {
  admin: { key: string };
  finance: { key: string };
  auditor: { key: string };
  partners: Record<string, { key: string }>;
}

export const demoKeys = (s: Served): DemoKeys => JSON.parse(readFileSync(join(s.dataDir, 'demo-keys.json'), 'utf8'));

/** A GET against the service with a key, as JSON (or text for CSV). */
export async function api<T = any>(s: Served, key: string, path: string): Promise<T> {
  const res = await fetch(`${s.url}${path}`, { headers: { Authorization: `Bearer ${key}` } });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (res.headers.get('content-type') ?? '').includes('json') ? ((await res.json()) as T) : ((await res.text()) as T);
}

/** A POST against the service with a key; throws unless 2xx. */
export async function apiPost<T = any>(s: Served, key: string, path: string, body: unknown): Promise<T> {
  const res = await fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
