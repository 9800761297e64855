import { once } from 'node:events';
import { SingleBar } from 'cli-progress';
import { DomainError } from '@ledger/domain';
import { EventStore, openEventStore } from '@ledger/event-store';

/**
 * Where an audit command writes and what it reads from the environment. The CLI passes
 * the process's own; tests pass buffers, so each command runs in-process as it would from
 * `bin/ledger.js`.
 */
export interface AuditIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** Progress on stderr: a bar on a terminal, a line every few seconds otherwise (the CLI: on). */
  progress?: boolean;
}

export const processIo = (): AuditIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  progress: true,
});

/** Exit codes: 0 all holds, 1 something does not (verify, check-proof), 2 the command could not run. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_ERROR = 2;

const NOT_TTY_EVERY_MS = 2_000;

export const dataDirOf = (env: NodeJS.ProcessEnv) => env.LEDGER_DATA_DIR ?? './data';

/** The store the environment names (docs/architecture.md: embedded SQLite in $LEDGER_DATA_DIR unless $LEDGER_EVENTSTORE). */
export function openStore(env: NodeJS.ProcessEnv): EventStore {
  return openEventStore({ dataDir: dataDirOf(env), eventStoreUrl: env.LEDGER_EVENTSTORE || undefined }).store;
}

/** Writes honouring back-pressure, so `ledger export | gzip` never buffers the log in memory. */
export async function writeOut(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

/**
 * A progress bar on stderr (positions reached of the last one; they are not counts on every
 * store): percentage and ETA. A new `label` starts a new bar. Silent unless `io.progress`.
 */
export function progress(io: AuditIo, label: string) {
  if (!io.progress) return { update: (_done: number, _total: number, _label?: string) => undefined, stop: () => undefined };
  const bar = new SingleBar({
    format: '{label} [{bar}] {percentage}% | position {value}/{total} | ETA {eta_formatted}',
    stream: io.stderr as NodeJS.WriteStream,
    hideCursor: null,
    etaBuffer: 50,
    noTTYOutput: true,
    notTTYSchedule: NOT_TTY_EVERY_MS,
  });
  let started: string | undefined;
  // Off a terminal cli-progress draws only on a timer, and a log read from SQLite never
  // yields to timers (its reads resolve at once): draw the line ourselves every few seconds.
  const tty = (io.stderr as NodeJS.WriteStream).isTTY === true;
  let drawnAt = 0;
  return {
    update(done: number, total: number, phase: string = label) {
      if (started !== phase) {
        if (started !== undefined) bar.stop();
        bar.start(Math.max(total, 1), 0, { label: phase });
        started = phase;
        drawnAt = Date.now();
      }
      bar.setTotal(Math.max(total, 1));
      bar.update(Math.min(done, total), { label: phase });
      if (!tty && Date.now() - drawnAt >= NOT_TTY_EVERY_MS) {
        bar.render();
        drawnAt = Date.now();
      }
    },
    stop() {
      if (started !== undefined) bar.stop();
      started = undefined;
    },
  };
}

/** Runs a command body: refusals the world can cause become one line and exit 2; bugs propagate. */
export async function guarded(io: AuditIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof DomainError) {
      await writeOut(io.stderr, `ledger: ${error.code}: ${error.message}\n`);
      return EXIT_ERROR;
    }
    throw error;
  }
}
