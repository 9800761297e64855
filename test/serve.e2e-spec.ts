import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '@ledger/testing';

const root = join(__dirname, '..');
const cli = join(root, 'bin', 'ledger.js');

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** The newcomer's first command: `npm start` = `ledger serve` on the embedded store with the demo. */
describe('ledger serve (built CLI)', () => {
  let child: ChildProcess | undefined;
  let dir: string;
  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'apps', 'cli', 'src', 'main.js')))
      throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  });
  beforeEach(() => (dir = tempDir()));
  afterEach(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(port: number): Promise<string> {
    child = spawn(process.execPath, [cli, 'serve'], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LEDGER_DATA_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "ledger listening" within 30 s; stderr: ${stderr}`)), 30_000);
      child!.stdout!.on('data', (d) => {
        stdout += d;
        if (stdout.includes('"ledger listening"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child!.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    // Every stdout line is a JSON object (structured logs).
    for (const line of stdout.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    return stderr;
  }

  it('seeds a demo coalition on an empty store, prints keys and a curl, and serves it', async () => {
    const port = await freePort();
    const banner = await start(port);
    expect(banner).toContain('Demo coalition ready');
    expect(banner).toMatch(/curl -s http:\/\/localhost:\d+\/v1\/members\/demo-member-01/);
    const keys = JSON.parse(readFileSync(join(dir, 'demo-keys.json'), 'utf8'));
    const res = await fetch(`http://127.0.0.1:${port}/v1/members/demo-member-01`, {
      headers: { Authorization: `Bearer ${keys.auditor.key}` },
    });
    expect(res.status).toBe(200);
    const member = (await res.json()) as { available: number; lifetimeRedeemed: number };
    expect(member.available).toBeGreaterThan(0);
    expect(member.lifetimeRedeemed).toBeGreaterThan(0);
    // A restart on the same data does not seed again and the data is still there.
    child!.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
    const again = await start(port);
    expect(again).not.toContain('Demo coalition ready');
    const after = await fetch(`http://127.0.0.1:${port}/v1/members/demo-member-01`, {
      headers: { Authorization: `Bearer ${keys.auditor.key}` },
    });
    expect(await after.json()).toEqual(member);
  });

  it('ledger --help lists the commands', async () => {
    const out = await new Promise<string>((resolve) => {
      const p = spawn(process.execPath, [cli, '--help']);
      let s = '';
      p.stdout.on('data', (d) => (s += d));
      p.on('exit', () => resolve(s));
    });
    expect(out).toContain('serve');
  });
});
