import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithPostgres, freshPostgresSchema } from '@ledger/testing/postgres';
import { ReadModelFlushThread } from './flush-thread';
import { pollingProgress } from './projection-runner';
import { PostgresReadStore } from './postgres/postgres-read-store';
import { ReadStore } from './read-store';
import { ReadModelStore } from './read-store-port';
import { readStoreContract } from './testing/read-store-contract';

readStoreContract('sqlite', async () => ({
  open: async () => ReadStore.open(':memory:'),
  waitForPosition: async (store, position, timeoutMs) =>
    pollingProgress(() => (store as ReadStore).checkpoint().position).waitForPosition(position, timeoutMs),
  cleanUp: async () => undefined,
}));

// The same contract with every batch written by a flush thread (as `ledger rebuild` and `ledger
// project` write them): staged here, handed over as sums, written by the worker's own connection.
readStoreContract('sqlite, written by a flush thread', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-flush-thread-contract-'));
  let n = 0;
  return {
    open: async (): Promise<ReadModelStore> => {
      const store = ReadStore.open(join(dir, `read-${n++}.db`));
      const threads: ReadModelFlushThread[] = [];
      return new Proxy(store, {
        get(target, property) {
          if (property === 'createWriter')
            return () => {
              const thread = new ReadModelFlushThread(target);
              threads.push(thread);
              return thread;
            };
          if (property === 'close')
            return async () => {
              for (const thread of threads) await thread.release();
              target.close();
            };
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
    },
    waitForPosition: async (store, position, timeoutMs) =>
      pollingProgress(() => (store as ReadStore).checkpoint().position).waitForPosition(position, timeoutMs),
    cleanUp: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describeWithPostgres('on PostgreSQL', () => {
  readStoreContract('postgres', async () => {
    const schemas: Awaited<ReturnType<typeof freshPostgresSchema>>[] = [];
    return {
      open: async () => {
        const schema = await freshPostgresSchema('contract');
        schemas.push(schema);
        return PostgresReadStore.open(schema.url);
      },
      waitForPosition: (store, position, timeoutMs) => (store as PostgresReadStore).waitForPosition(position, timeoutMs),
      cleanUp: async () => {
        for (const s of schemas.splice(0)) await s.drop();
      },
    };
  });
});
