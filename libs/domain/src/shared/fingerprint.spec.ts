import fc from 'fast-check';
import { fingerprintOf } from './fingerprint';

describe('fingerprintOf', () => {
  it('does not depend on the order the fields were written in', () => {
    expect(fingerprintOf({ b: 1, a: 'x' })).toBe(fingerprintOf({ a: 'x', b: 1 }));
  });

  it('tells apart any field that differs, and a number from its digits as a string', () => {
    const base = fingerprintOf({ kind: 'accrual', amountMinor: 100, occurredAt: '2026-10-02T10:00:00.000Z' });
    expect(fingerprintOf({ kind: 'accrual', amountMinor: 101, occurredAt: '2026-10-02T10:00:00.000Z' })).not.toBe(base);
    expect(fingerprintOf({ kind: 'accrual', amountMinor: '100', occurredAt: '2026-10-02T10:00:00.000Z' })).not.toBe(base);
    expect(fingerprintOf({ kind: 'redemption', amountMinor: 100, occurredAt: '2026-10-02T10:00:00.000Z' })).not.toBe(base);
  });

  it('cannot be fooled by separators inside values', () => {
    expect(fingerprintOf({ a: 'x","b', b: 'y' })).not.toBe(fingerprintOf({ a: 'x', b: '","b"y' }));
    expect(fingerprintOf({ a: 'x,"b":1' })).not.toBe(fingerprintOf({ a: 'x', b: 1 }));
  });

  it('leaves out absent fields, so a field set to undefined is the same as none', () => {
    expect(fingerprintOf({ a: 'x', b: undefined })).toBe(fingerprintOf({ a: 'x' }));
  });

  it('two records are the same exactly when they hold the same fields and values', () => {
    const record = fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.string({ maxLength: 4 }), fc.integer({ min: -3, max: 3 })), {
      maxKeys: 4,
    });
    const same = (a: Record<string, unknown>, b: Record<string, unknown>) =>
      Object.keys(a).length === Object.keys(b).length && Object.keys(a).every((k) => Object.hasOwn(b, k) && Object.is(a[k], b[k]));
    fc.assert(
      fc.property(record, record, (a, b) => {
        expect(fingerprintOf(a) === fingerprintOf(b)).toBe(same(a, b));
      }),
      { numRuns: 3_000 },
    );
  });

  it.each([1.5, Number.NaN, Infinity, 2 ** 53])('refuses %p, as the stored events never hold it', (n) => {
    expect(() => fingerprintOf({ amountMinor: n })).toThrow(TypeError);
  });
});
