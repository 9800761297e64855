import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import { BusinessMetadata, GENESIS_HASH, businessPart, chainEvents, chainHash, chainTip } from './hash-chain';

const business: BusinessMetadata = {
  eventId: 'e-1',
  correlationId: 'c-1',
  causationId: null,
  actor: { keyId: 'k-1', role: 'partner', partnerId: 'grocer' },
  occurredAt: '2026-10-02T10:00:00.000Z',
};

describe('chainHash', () => {
  it('is sha256 of the previous hash and the canonical JSON of type, data and business metadata', () => {
    const expected = createHash('sha256')
      .update(GENESIS_HASH)
      .update(canonicalJson({ type: 'PointsAccrued', data: { points: 5 }, metadata: business }))
      .digest('hex');
    expect(chainHash(GENESIS_HASH, 'PointsAccrued', { points: 5 }, business)).toBe(expected);
  });

  it('ignores what is not business metadata (store time, the chain fields themselves)', () => {
    const stored = { ...business, prevHash: 'x', hash: 'y', recordedAt: 'z' } as BusinessMetadata;
    expect(chainHash(GENESIS_HASH, 'T', {}, stored)).toBe(chainHash(GENESIS_HASH, 'T', {}, business));
    expect(businessPart(stored)).toEqual(business);
  });

  it('changes with the previous hash, the type, the data and each business field', () => {
    const base = chainHash(GENESIS_HASH, 'T', { a: 1 }, business);
    const variants = [
      chainHash('1'.repeat(64), 'T', { a: 1 }, business),
      chainHash(GENESIS_HASH, 'U', { a: 1 }, business),
      chainHash(GENESIS_HASH, 'T', { a: 2 }, business),
      chainHash(GENESIS_HASH, 'T', { a: 1 }, { ...business, occurredAt: '2026-10-03T10:00:00.000Z' }),
      chainHash(GENESIS_HASH, 'T', { a: 1 }, { ...business, actor: { keyId: 'k-2', role: 'partner' } }),
    ];
    for (const v of variants) expect(v).not.toBe(base);
  });
});

describe('chainEvents', () => {
  const context = { correlationId: 'c-1', causationId: null, actor: { keyId: 'k-1', role: 'admin' }, occurredAt: business.occurredAt };

  it('chains each event onto the one before, the first onto the given hash', () => {
    const [a, b] = chainEvents(
      [
        { type: 'A', data: { n: 1 } },
        { type: 'B', data: { n: 2 } },
      ],
      context,
      GENESIS_HASH,
    );
    expect(a.metadata.prevHash).toBe(GENESIS_HASH);
    expect(a.metadata.hash).toBe(chainHash(GENESIS_HASH, 'A', { n: 1 }, a.metadata as unknown as BusinessMetadata));
    expect(b.metadata.prevHash).toBe(a.metadata.hash);
    expect(b.metadata.hash).toBe(chainHash(String(a.metadata.hash), 'B', { n: 2 }, b.metadata as unknown as BusinessMetadata));
  });

  it('gives every event its own id, also in its metadata', () => {
    const events = chainEvents(
      [
        { type: 'A', data: {} },
        { type: 'A', data: {} },
      ],
      context,
      GENESIS_HASH,
    );
    expect(events[0].eventId).not.toBe(events[1].eventId);
    for (const e of events) expect(e.metadata).toMatchObject({ ...context, eventId: e.eventId });
  });

  it('writes the metadata with its keys in the order every stored event has them', () => {
    const [e] = chainEvents([{ type: 'A', data: {} }], context, GENESIS_HASH);
    expect(Object.keys(e.metadata)).toEqual(['eventId', 'correlationId', 'causationId', 'actor', 'occurredAt', 'prevHash', 'hash']);
  });
});

describe('chainTip', () => {
  it('is the genesis hash for an empty stream and the last hash otherwise', () => {
    expect(chainTip(undefined)).toBe(GENESIS_HASH);
    expect(chainTip({ metadata: { hash: 'f'.repeat(64) } })).toBe('f'.repeat(64));
  });
});
