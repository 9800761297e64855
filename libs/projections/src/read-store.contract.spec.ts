import { describeWithPostgres, freshPostgresSchema } from '@ledger/testing/postgres';
import { pollingProgress } from './projection-runner';
import { PostgresReadStore } from './postgres/postgres-read-store';
import { ReadStore } from './read-store';
import { readStoreContract } from './testing/read-store-contract';

readStoreContract('sqlite', async () => ({
  open: async () => ReadStore.open(':memory:'),
  waitForPosition: async (store, position, timeoutMs) =>
    pollingProgress(() => (store as ReadStore).checkpoint().position).waitForPosition(position, timeoutMs),
  cleanUp: async () => undefined,
}));

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
