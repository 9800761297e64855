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
  });

  it.each([1.5, Number.NaN, Infinity, 2 ** 53])('refuses %p, as the stored events never hold it', (n) => {
    expect(() => fingerprintOf({ amountMinor: n })).toThrow(TypeError);
  });
});
