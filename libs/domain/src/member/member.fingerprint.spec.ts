import fc from 'fast-check';
import { fingerprintOf } from '../shared/fingerprint';
import { accrualFingerprint, redemptionFingerprint, reversalFingerprint } from './member.state';

// The written-out fingerprints must be exactly what fingerprintOf makes of the same fields:
// a retry of a transaction folded by an older build is compared against them.
describe('written-out fingerprints equal fingerprintOf of their fields', () => {
  const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 }), fc.constantFrom('"', '\\', ',', '":'));
  const int = fc.oneof(fc.integer({ min: -1, max: 10 }), fc.maxSafeInteger(), fc.integer());
  const items = fc.array(fc.record({ sku: text, category: text, amountMinor: int }), { maxLength: 3 });

  it('accruals, with and without items', () => {
    fc.assert(
      fc.property(text, int, text, text, fc.option(items, { nil: undefined }), (memberId, amountMinor, currency, occurredAt, lines) => {
        const expected = fingerprintOf({
          kind: 'accrual',
          memberId,
          amountMinor,
          currency,
          occurredAt,
          items: lines === undefined ? undefined : JSON.stringify(lines.map((i) => [i.sku, i.category, i.amountMinor])),
        });
        expect(accrualFingerprint({ memberId, amountMinor, currency, occurredAt, items: lines })).toBe(expected);
      }),
      { numRuns: 2_000 },
    );
  });

  it('redemptions', () => {
    fc.assert(
      fc.property(text, int, text, (memberId, points, occurredAt) => {
        expect(redemptionFingerprint({ memberId, points, occurredAt })).toBe(
          fingerprintOf({ kind: 'redemption', memberId, points, occurredAt }),
        );
      }),
      { numRuns: 2_000 },
    );
  });

  it('reversals', () => {
    fc.assert(
      fc.property(text, text, int, text, (memberId, originalTxId, points, occurredAt) => {
        expect(reversalFingerprint({ memberId, originalTxId, points, occurredAt })).toBe(
          fingerprintOf({ kind: 'reversal', memberId, originalTxId, points, occurredAt }),
        );
      }),
      { numRuns: 2_000 },
    );
  });

  it.each([1.5, Number.NaN, 2 ** 53])('refuse %p as fingerprintOf does', (n) => {
    expect(() => accrualFingerprint({ memberId: 'm', amountMinor: n, currency: 'RUB', occurredAt: 't' })).toThrow(TypeError);
    expect(() => redemptionFingerprint({ memberId: 'm', points: n, occurredAt: 't' })).toThrow(TypeError);
    expect(() => reversalFingerprint({ memberId: 'm', originalTxId: 'o', points: n, occurredAt: 't' })).toThrow(TypeError);
  });
});
