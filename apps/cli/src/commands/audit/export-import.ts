import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { exportEvents, importEvents } from '@ledger/audit';
import { EventStore } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { AuditIo, EXIT_OK, dataDirOf, guarded, openStore, progress, writeOut } from './io';

export interface ExportOpts {
  stream?: string;
  out?: string;
}

/** `ledger export [--stream S] [--out file]`: JSON Lines on stdout (or the file), one event a line. */
export function runExport(opts: ExportOpts, io: AuditIo): Promise<number> {
  return guarded(io, async () => {
    const store = openStore(io.env);
    const out: NodeJS.WritableStream = opts.out ? createWriteStream(opts.out) : io.stdout;
    const bar = progress(io, 'export');
    try {
      const count = await exportEvents(store, (line) => writeOut(out, line + '\n'), {
        stream: opts.stream,
        onProgress: (p, head) => bar.update(p, head),
      });
      bar.stop();
      if (opts.out) {
        await new Promise<void>((resolve, reject) => {
          out.on('error', reject);
          out.end(() => resolve());
        });
      }
      await writeOut(io.stderr, `exported ${count} events${opts.stream ? ` of ${opts.stream}` : ''}${opts.out ? ` to ${opts.out}` : ''}\n`);
      return EXIT_OK;
    } finally {
      bar.stop();
      await store.close();
    }
  });
}

export interface ImportOpts {
  allowBrokenChain?: boolean;
}

/**
 * `ledger import <file|->` into the empty store the environment names. On the embedded
 * SQLite store the recorded times are reproduced too (its clock is set per group of events
 * recorded together); EventStoreDB stamps its own.
 */
export function runImport(file: string, opts: ImportOpts, io: AuditIo): Promise<number> {
  return guarded(io, async () => {
    let clock = new Date();
    const esdb = Boolean(io.env.LEDGER_EVENTSTORE);
    // The file openEventStore would open, with a clock this command sets.
    const store: EventStore = esdb ? openStore(io.env) : SqliteEventStore.open(join(dataDirOf(io.env), 'ledger.db'), { now: () => clock });
    const input = file === '-' ? process.stdin : createReadStream(file, { encoding: 'utf8' });
    const lines = createInterface({ input, crlfDelay: Infinity });
    const bar = progress(io, 'import');
    try {
      const result = await importEvents(store, lines, {
        allowBrokenChain: opts.allowBrokenChain,
        setRecordedAt: esdb ? undefined : (at) => (clock = at),
        onProgress: (n) => bar.update(n, n),
      });
      bar.stop();
      await writeOut(
        io.stderr,
        `imported ${result.events} events in ${result.streams} streams${result.recordedAtPreserved ? ', recorded times kept' : ' (recorded times are the store’s own)'}; run \`ledger rebuild\` for the read models\n`,
      );
      return EXIT_OK;
    } finally {
      bar.stop();
      lines.close();
      await store.close();
    }
  });
}
