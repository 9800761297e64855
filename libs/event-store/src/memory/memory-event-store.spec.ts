import { MemoryEventStore } from './memory-event-store';
it('smoke', async () => {
  const s = new MemoryEventStore();
  await s.appendToStream('a-1', [{ eventId: '1', type: 'X', data: {}, metadata: {} }], { expectedRevision: 'no_stream' });
  expect((await s.readAll()).length).toBe(1);
});
