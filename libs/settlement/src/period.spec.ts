import fc from 'fast-check';
import { InvalidInput, periodOf } from '@ledger/domain';
import { businessPeriodOf, checkPeriodId, nextPeriodId, periodEndsAt, periodHasEnded, periodStartsAt } from './period';

describe('settlement periods (UTC calendar months)', () => {
  it('run from the first instant of the month to the first of the next', () => {
    expect(periodStartsAt('2026-10')).toBe('2026-10-01T00:00:00.000Z');
    expect(periodEndsAt('2026-10')).toBe('2026-11-01T00:00:00.000Z');
    expect(periodEndsAt('2026-12')).toBe('2027-01-01T00:00:00.000Z');
    expect(nextPeriodId('2026-12')).toBe('2027-01');
  });

  it('have ended once the next month has begun', () => {
    expect(periodHasEnded('2026-10', new Date('2026-10-31T23:59:59.999Z'))).toBe(false);
    expect(periodHasEnded('2026-10', new Date('2026-11-01T00:00:00.000Z'))).toBe(true);
  });

  it('refuse a malformed id as input (400 naming the field)', () => {
    expect(() => checkPeriodId('2026-00')).toThrow(InvalidInput);
    expect(() => checkPeriodId(202610, 'period')).toThrow('period must be a calendar month YYYY-MM');
    expect(() => checkPeriodId('2026-10')).not.toThrow();
  });

  it('place a business date in its UTC month, including offsets and month ends', () => {
    expect(businessPeriodOf('2026-10-31T23:59:59.999Z')).toBe('2026-10');
    expect(businessPeriodOf('2026-11-01T01:30:00+03:00')).toBe('2026-10');
    expect(businessPeriodOf('2026-02-29T12:00:00.000Z')).toBe(periodOf('2026-02-29T12:00:00.000Z'));
  });

  it('agree with the domain periodOf on every instant (property)', () => {
    const min = Date.parse('1990-01-01T00:00:00.000Z');
    const max = Date.parse('2100-01-01T00:00:00.000Z');
    fc.assert(
      fc.property(fc.integer({ min, max }), fc.integer({ min: -14 * 60, max: 14 * 60 }), (t, offsetMinutes) => {
        const iso = new Date(t).toISOString();
        expect(businessPeriodOf(iso)).toBe(periodOf(iso));
        // The same instant written with an offset falls back to Date and still agrees.
        const local = new Date(t + offsetMinutes * 60_000).toISOString().slice(0, 19);
        const sign = offsetMinutes < 0 ? '-' : '+';
        const abs = Math.abs(offsetMinutes);
        const withOffset = `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        expect(businessPeriodOf(withOffset)).toBe(periodOf(iso));
      }),
    );
  });
});
