import fc from 'fast-check';
import { canonicalJsonFast, chainHashFast } from './fast-hash';
import { GENESIS_HASH, canonicalJson, chainHash } from '@ledger/integrity';

const outcome = (f: () => string): string => {
  try {
    return `ok:${f()}`;
  } catch (error) {
    return `throws:${(error as Error).constructor.name}`;
  }
};

describe('canonicalJsonFast', () => {
  it('gives the bytes canonicalJson gives, or refuses what it refuses', () =>
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.object({ values: [fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(undefined), fc.constant(null)] }),
          fc.dictionary(fc.string({ unit: 'grapheme' }), fc.integer()),
        ),
        (value) => expect(outcome(() => canonicalJsonFast(value))).toBe(outcome(() => canonicalJson(value))),
      ),
      { numRuns: 2000 },
    ));

  it('tells apart key lists that join to the same string', () => {
    expect(canonicalJsonFast({ a: 1, b: 2 })).toBe('{"a":1,"b":2}');
    expect(canonicalJsonFast({ 'a\u0000b': 1 })).toBe(canonicalJson({ 'a\u0000b': 1 }));
    expect(canonicalJsonFast({ a: 3, b: 4 })).toBe('{"a":3,"b":4}');
  });

  it('chainHashFast is chainHash for any data and metadata, or refuses what it refuses', () =>
    fc.assert(
      fc.property(
        fc.string(),
        fc.oneof(fc.jsonValue(), fc.object({ values: [fc.integer(), fc.double(), fc.constant(undefined), fc.string()] })),
        fc.record(
          {
            eventId: fc.string(),
            correlationId: fc.oneof(fc.string(), fc.constant(undefined)),
            causationId: fc.oneof(fc.string(), fc.constant(null)),
            actor: fc.oneof(fc.jsonValue(), fc.constant(undefined)),
            occurredAt: fc.oneof(fc.string(), fc.double()),
            hash: fc.string(),
            prevHash: fc.string(),
            other: fc.jsonValue(),
          },
          { requiredKeys: ['eventId'] },
        ),
        (type, data, metadata) =>
          expect(outcome(() => chainHashFast(GENESIS_HASH, type, data, metadata as never))).toBe(
            outcome(() => chainHash(GENESIS_HASH, type, data, metadata as never)),
          ),
      ),
      { numRuns: 2000 },
    ));

  it('chainHashFast is chainHash', () => {
    const metadata = {
      eventId: 'e1',
      correlationId: 'c',
      causationId: null,
      actor: { keyId: 'k', role: 'partner', partnerId: 'p' },
      occurredAt: '2026-10-01T00:00:00.000Z',
    };
    const data = { b: [1, 2, { z: 'é', a: -0 }], a: 'x', ü: true, skipped: undefined };
    expect(chainHashFast(GENESIS_HASH, 'PointsAccrued', data, { ...metadata, hash: 'x', prevHash: 'y' } as never)).toBe(
      chainHash(GENESIS_HASH, 'PointsAccrued', data, metadata),
    );
  });
});
