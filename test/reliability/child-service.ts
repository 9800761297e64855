import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { cardNumber } from '@ledger/testing';

// test/reliability under ts-jest, dist/test/reliability when compiled (npm run soak).
const root = [join(__dirname, '..', '..'), join(__dirname, '..', '..', '..')].find((dir) => existsSync(join(dir, 'package.json')))!;
export const CLI = join(root, 'bin', 'ledger.js');
export const ADMIN_KEY = 'reliability-admin-key-0123456789';

export function requireBuilt(): void {
  if (!existsSync(join(root, 'dist', 'apps', 'cli', 'src', 'main.js'))) throw new Error('dist/ is missing: run `npm run build`');
}

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

export interface ChildService {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** Exit code, or null when killed by a signal. */
  exited: Promise<number | null>;
}

/** `ledger serve` (the built CLI) on `dataDir`, without the demo; resolves once it listens. */
export async function startService(dataDir: string, port: number, env: Record<string, string> = {}): Promise<ChildService> {
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LEDGER_DATA_DIR: dataDir,
      LEDGER_EVENTSTORE: '',
      LEDGER_DEMO: 'off',
      LEDGER_ADMIN_KEY: ADMIN_KEY,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "ledger listening" within 30 s; stderr: ${err}`)), 30_000);
    const onData = () => {
      if (!out.includes('"ledger listening"')) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve();
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${err}`));
    });
  });
  return { child, url: `http://127.0.0.1:${port}`, stdout: () => out, stderr: () => err, exited };
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** One HTTP call; a network failure (refused, reset, closed) rejects. */
export async function call(
  agent: Agent,
  url: string,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  key: string,
  body?: object,
): Promise<Answer> {
  const res = await request(url + path, {
    method,
    dispatcher: agent,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** Coalition, partners with a key each, and members m-0 … m-(n-1); returns the partner keys. */
export async function seedOverHttp(url: string, partners: string[], members: number): Promise<Record<string, string>> {
  const agent = new Agent();
  try {
    const ok = async (p: Promise<Answer>, status: number) => {
      const a = await p;
      if (a.status !== status) throw new Error(`seed: expected ${status}, got ${a.status} ${JSON.stringify(a.body)}`);
      return a;
    };
    await ok(call(agent, url, 'PUT', '/v1/coalition', ADMIN_KEY, { currency: 'RUB', pointValueMinor: 10, expiryMonths: 24 }), 200);
    const keys: Record<string, string> = {};
    for (const partnerId of partners) {
      await ok(
        call(agent, url, 'POST', '/v1/partners', ADMIN_KEY, {
          partnerId,
          name: partnerId,
          earnRule: { pointsPerUnit: 1, unitMinor: 10_000 },
        }),
        201,
      );
      keys[partnerId] = (await ok(call(agent, url, 'POST', `/v1/partners/${partnerId}/keys`, ADMIN_KEY), 201)).body.key;
    }
    for (let i = 0; i < members; i++) {
      await ok(call(agent, url, 'POST', '/v1/members', keys[partners[0]], { memberId: `m-${i}`, cardNumber: cardNumber(i + 1) }), 201);
    }
    return keys;
  } finally {
    await agent.close();
  }
}
