import { MEMBER_EVENT_TYPES } from '@ledger/domain';
import { READ_STORE_SCHEMA_VERSION, ReadStore } from '../read-store';
import { PROJECTED_EVENT_TYPES, READ_MODELS } from './index';

describe('read-model modules', () => {
  it('every member event and the partner and coalition settings reach some read model', () => {
    for (const type of MEMBER_EVENT_TYPES) expect(PROJECTED_EVENT_TYPES).toContain(type);
    for (const type of ['PartnerJoined', 'CoalitionConfigured', 'PointValueChanged', 'ExpiryPolicyChanged'])
      expect(PROJECTED_EVENT_TYPES).toContain(type);
    // Keys and partner lifecycle events are in no read model: the checkpoint just moves past them.
    for (const type of ['ApiKeyIssued', 'ApiKeyRevoked', 'PartnerSuspended']) expect(PROJECTED_EVENT_TYPES).not.toContain(type);
  });

  it('each table belongs to one read model, and the store creates every one of them', () => {
    const names = READ_MODELS.flatMap((m) => m.tables.map((t) => t.name));
    expect(new Set(names).size).toBe(names.length);
    const store = ReadStore.open(':memory:');
    try {
      const tables = store.db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all();
      expect(tables.map((t) => t.name).sort()).toEqual([...names, 'checkpoint'].sort());
      expect(store.db.pragma('user_version', { simple: true })).toBe(READ_STORE_SCHEMA_VERSION);
    } finally {
      store.close();
    }
  });
});
