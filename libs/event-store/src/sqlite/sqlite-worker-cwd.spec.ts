import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from './sqlite-event-store';

/**
 * `ledger` may be started from any directory. The writer thread runs from source text, where a
 * bare module name resolves from the working directory: it must find better-sqlite3 where the
 * installation has it, not in the directory the user happens to be in.
 */
describe('SqliteEventStore worker writer, started from a directory outside the installation', () => {
  const started = process.cwd();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-writer-cwd-'));
    process.chdir(dir);
  });
  afterEach(() => {
    process.chdir(started);
    rmSync(dir, { recursive: true, force: true });
  });

  it('given the working directory has no node_modules, when an append is made, then it is written and read back', async () => {
    const store = SqliteEventStore.open(join(dir, 'ledger.db'), { writer: 'worker' });
    try {
      const result = await store.appendToStream('s-1', [{ eventId: randomUUID(), type: 'Tested', data: { n: 1 }, metadata: {} }], {
        expectedRevision: 'no_stream',
      });
      expect(result.nextExpectedRevision).toBe(0);
      expect((await store.readStream('s-1')).map((e) => e.data)).toEqual([{ n: 1 }]);
    } finally {
      await store.close();
    }
  });
});
