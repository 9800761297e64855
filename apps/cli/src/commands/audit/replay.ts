import { formatReplayTable, parseReplayBound, replayStream } from '@ledger/audit';
import { AuditIo, EXIT_OK, guarded, openStore, writeOut } from './io';

export interface ReplayOpts {
  from?: string;
  to?: string;
  json?: boolean;
}

/** `ledger replay <stream>`: the stream's events in order, checked link by link, with a member's running balance. */
export function runReplay(streamId: string, opts: ReplayOpts, io: AuditIo): Promise<number> {
  return guarded(io, async () => {
    const from = opts.from === undefined ? undefined : parseReplayBound(opts.from, '--from');
    const to = opts.to === undefined ? undefined : parseReplayBound(opts.to, '--to');
    const store = openStore(io.env);
    try {
      const replay = await replayStream(store, streamId, { from, to });
      await writeOut(io.stdout, (opts.json ? JSON.stringify(replay, null, 2) : formatReplayTable(replay)) + '\n');
      return EXIT_OK;
    } finally {
      await store.close();
    }
  });
}
