import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import ts from 'typescript';
import { JsonObject } from '../port';
import { SqliteEventStore, SqliteEventStoreStats } from './sqlite-event-store';

/**
 * Crash safety: an append acknowledged to the caller survives SIGKILL of the process.
 * The child runs the compiled adapter from dist/ (no TypeScript loader in a plain child),
 * so this needs `npm run build` first; `npm test` does that.
 */
const REPO_ROOT = join(__dirname, '..', '..', '..', '..');
const DIST_SRC = join(REPO_ROOT, 'dist', 'libs', 'event-store', 'src');
const COMPILED_ADAPTER = join(DIST_SRC, 'sqlite', 'sqlite-event-store.js');
const CHILD = join(__dirname, 'durability-child.fixture.js');
// The compiled files the child loads, each with the source it must be built from.
const BUILT_FROM: [string, string][] = [
  ['sqlite/sqlite-event-store', join(__dirname, 'sqlite-event-store.ts')],
  ['sqlite/sqlite-batch-writer', join(__dirname, 'sqlite-batch-writer.ts')],
  ['sqlite/group-commit-writer', join(__dirname, 'group-commit-writer.ts')],
  ['live-feed', join(__dirname, '..', 'live-feed.ts')],
  ['port', join(__dirname, '..', 'port.ts')],
];

const ROUNDS = 3;
const ACKS_PER_ROUND_MIN = 500;
const OWN_STREAM_WRITERS = 48;
const SHARED_STREAM_WRITERS = 8;
const CHILD_TIMEOUT_MS = 60_000;

interface Ack {
  stream: string;
  firstRevision: number;
  lastRevision: number;
  position: number;
  events: { eventId: string; data: JsonObject; metadata: JsonObject }[];
}

describe.each(['inline', 'worker'])('SqliteEventStore durability (%s writer)', (writer) => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-durability-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged append when the writing process is killed with SIGKILL', async () => {
    assertBuilt();
    const file = join(dir, 'ledger.db');
    const acked: Ack[] = [];
    const stats: SqliteEventStoreStats[] = [];

    // Several rounds: each restarts on a file the previous round left by being killed.
    for (let round = 1; round <= ROUNDS; round++) {
      const run = await runChildUntilKilled(file, ACKS_PER_ROUND_MIN);
      expect(run.acks.length).toBeGreaterThanOrEqual(ACKS_PER_ROUND_MIN);
      acked.push(...run.acks);
      if (run.stats !== undefined) stats.push(run.stats);
      await verify(file, acked);
    }

    // Group commit was in play: the children acknowledged more appends than they synced.
    expect(stats.length).toBe(ROUNDS);
    for (const s of stats) expect(s.flushes).toBeLessThan(s.appends);
  });

  async function verify(file: string, acked: Ack[]): Promise<void> {
    const check = new Database(file);
    try {
      expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      check.close();
    }

    const store = SqliteEventStore.open(file);
    try {
      for (const ack of acked) {
        const read = await store.readStream(ack.stream, {
          fromRevision: ack.firstRevision,
          maxCount: ack.events.length,
        });
        const where = `${ack.stream}@${ack.firstRevision}..${ack.lastRevision}`;
        expect({ where, events: read.map((e) => ({ eventId: e.eventId, data: e.data, metadata: e.metadata })) }).toEqual({
          where,
          events: ack.events,
        });
        expect({ where, revisions: read.map((e) => e.revision) }).toEqual({
          where,
          revisions: ack.events.map((_, i) => ack.firstRevision + i),
        });
        expect({ where, position: read[read.length - 1].position }).toEqual({ where, position: ack.position });
      }

      // Beyond the acknowledged appends, the log itself must be whole: no gaps, no disorder.
      const all = await store.readAll();
      for (let i = 1; i < all.length; i++) expect(all[i].position).toBeGreaterThan(all[i - 1].position);
      const byStream = new Map<string, number[]>();
      for (const e of all) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e.revision]);
      for (const [stream, revisions] of byStream) {
        expect({ stream, revisions }).toEqual({ stream, revisions: revisions.map((_, i) => i) });
      }
    } finally {
      await store.close();
    }
  }

  function runChildUntilKilled(file: string, acksMin: number): Promise<{ acks: Ack[]; stats: SqliteEventStoreStats | undefined }> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [CHILD, COMPILED_ADAPTER, file, String(OWN_STREAM_WRITERS), String(SHARED_STREAM_WRITERS), writer],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const acks: Ack[] = [];
      let stats: SqliteEventStoreStats | undefined;
      let stderr = '';
      let killed = false;
      let torn: string | undefined;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`child saw only ${acks.length} acks in ${CHILD_TIMEOUT_MS} ms\n${stderr}`));
      }, CHILD_TIMEOUT_MS);

      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        if (torn !== undefined) {
          reject(new Error(`unparseable line in the middle of the output: ${torn}`));
        }
        let parsed: { ack?: Ack; stats?: SqliteEventStoreStats };
        try {
          parsed = JSON.parse(line) as typeof parsed;
        } catch (error) {
          // Only the very last line may be cut short by the kill; it is checked at close.
          if (!(error instanceof SyntaxError)) throw error;
          torn = line;
          return;
        }
        if (parsed.ack !== undefined) acks.push(parsed.ack);
        if (parsed.stats !== undefined) stats = parsed.stats;
        // Kill mid-stream, while dozens of appends are queued or being flushed.
        if (!killed && acks.length >= acksMin) {
          killed = true;
          child.kill('SIGKILL');
        }
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (!killed || signal !== 'SIGKILL') {
          reject(new Error(`child ended by itself (code ${code}, signal ${signal})\n${stderr}`));
          return;
        }
        resolve({ acks, stats });
      });
    });
  }
});

describe('SqliteEventStore worker writer and the process', () => {
  it('close() keeps the process alive until the writer thread is gone, so what follows it still runs', async () => {
    assertBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'ledger-worker-close-'));
    try {
      // The child appends, closes, then says so and sets its exit code: both must be seen.
      const script = `
        const { SqliteEventStore } = require(${JSON.stringify(COMPILED_ADAPTER)});
        const store = SqliteEventStore.open(${JSON.stringify(join(dir, 'ledger.db'))}, { writer: 'worker' });
        store.appendToStream('s-1', [{ eventId: 'e-1', type: 'T', data: {}, metadata: {} }], { expectedRevision: 'no_stream' })
          .then(() => store.close())
          .then(() => { process.stdout.write('closed'); process.exitCode = 3; });
      `;
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect({ out, code }).toEqual({ out: 'closed', code: 3 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function assertBuilt(): void {
  const options = compilerOptions();
  for (const [compiled, source] of BUILT_FROM) {
    const output = join(DIST_SRC, `${compiled}.js`);
    if (!existsSync(output)) {
      throw new Error(`${output} is missing: run \`npm run build\` before this test (npm test does it)`);
    }
    // Compare contents, not times: an incremental tsc leaves a touched but unchanged file alone.
    // With isolatedModules on, transpiling one file gives exactly what tsc emits for it.
    const expected = ts.transpileModule(readFileSync(source, 'utf8'), { compilerOptions: options, fileName: source }).outputText;
    const actual = readFileSync(output, 'utf8').replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n');
    if (actual !== expected) {
      throw new Error(`${output} is not built from the current ${source}: run \`npm run build\` so the child runs current code`);
    }
  }
}

function compilerOptions(): ts.CompilerOptions {
  const configFile = join(REPO_ROOT, 'tsconfig.build.json');
  const { config, error } = ts.readConfigFile(configFile, ts.sys.readFile);
  if (error !== undefined) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, REPO_ROOT, undefined, configFile);
  return { ...parsed.options, sourceMap: false, inlineSourceMap: false };
}
