import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { ReadStore, ReadStoreMissing, headPosition } from '@ledger/projections';
import { appendSyntheticHistory } from '@ledger/projections/testing/synthetic-history';
import { tempDir } from '@ledger/testing/test-app';

const root = join(__dirname, '..');
const cli = join(root, 'bin', 'ledger.js');
const EVENTS = 80_000;

/**
 * Crash safety of the projector (issue 5): `ledger project` (the built CLI, its own process)
 * is SIGKILLed twice in the middle of a catch-up of 80k events, restarted, and must end
 * exactly where `ledger rebuild` ends: every table, row for row.
 */
describe('ledger project killed mid catch-up (built CLI)', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'apps', 'cli', 'src', 'main.js')))
      throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  });
  beforeEach(() => (dir = tempDir('ledger-crash-')));
  afterEach(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const env = () => ({ ...process.env, LEDGER_DATA_DIR: dir, LEDGER_EVENTSTORE: '' });

  function startProjector(batch: number): { exited: Promise<number | null>; stderr: () => string } {
    const p = spawn(process.execPath, [cli, 'project', '--batch', String(batch)], { env: env(), stdio: ['ignore', 'ignore', 'pipe'] });
    child = p;
    let stderr = '';
    p.stderr!.on('data', (d) => (stderr += d));
    return { exited: new Promise((resolve) => p.once('exit', (code) => resolve(code))), stderr: () => stderr };
  }

  /** The projector's checkpoint as another process sees it; undefined until the read store exists. */
  function checkpoint(): number | undefined {
    let store: ReadStore;
    try {
      store = ReadStore.open(join(dir, 'read.db'), { readonly: true });
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

  async function waitForCheckpoint(atLeast: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = checkpoint();
      if (at !== undefined && at >= atLeast) return at;
      if (Date.now() > deadline) throw new Error(`checkpoint ${String(at)} did not reach ${atLeast} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  it('after two SIGKILLs and restarts, every read model equals a rebuild', async () => {
    const store = SqliteEventStore.open(join(dir, 'ledger.db'));
    const history = await appendSyntheticHistory(store, { events: EVENTS, members: 4_000, seed: 11 });
    const head = (await headPosition(store))!;
    await store.close();
    expect(history.events).toBeGreaterThanOrEqual(EVENTS);

    // Small batches the first time, the default the second: kills land inside a batch's
    // transaction or between two, whichever the timing gives.
    const killedAt: number[] = [];
    for (const [batch, fraction] of [
      [3_000, 0.2],
      [20_000, 0.55],
    ] as const) {
      const run = startProjector(batch);
      await waitForCheckpoint(Math.floor(head * fraction), 60_000);
      child!.kill('SIGKILL');
      expect(await run.exited).toBeNull(); // killed, not exited
      const at = checkpoint()!;
      killedAt.push(at);
      expect(at).toBeLessThan(head); // it was mid catch-up
    }
    expect(killedAt[1]).toBeGreaterThan(killedAt[0]);

    // Restart: it resumes from the last committed checkpoint and catches up.
    const last = startProjector(20_000);
    await waitForCheckpoint(head, 60_000);
    child!.kill('SIGTERM');
    expect(await last.exited).toBe(0);
    const incremental = ReadStore.open(join(dir, 'read.db'), { readonly: true });
    const projected = incremental.dump();
    incremental.close();

    // `ledger rebuild`: drop everything and replay from position 0, with a progress bar.
    const rebuild = spawn(process.execPath, [cli, 'rebuild'], { env: env(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    rebuild.stderr!.on('data', (d) => (stderr += d));
    expect(await new Promise((resolve) => rebuild.once('exit', resolve))).toBe(0);
    expect(stderr).toMatch(/rebuild \[[=-]+\] 100% \| [\d,]+ events \| [\d,]+ events\/s \| ETA/);
    expect(stderr).toContain(`up to position ${head}`);

    const rebuilt = ReadStore.open(join(dir, 'read.db'), { readonly: true });
    const fresh = rebuilt.dump();
    rebuilt.close();
    expect(Object.keys(fresh)).toEqual(Object.keys(projected));
    for (const table of Object.keys(projected)) {
      expect(fresh[table].length).toBe(projected[table].length);
      expect({ table, rows: fresh[table] }).toEqual({ table, rows: projected[table] });
    }
    expect(projected.checkpoint).toEqual([{ id: 0, position: head, event_id: expect.any(String), events: history.events }]);
    expect(projected.members.length).toBe(4_000);
  }, 240_000);
});
