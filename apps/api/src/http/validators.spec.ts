import fc from 'fast-check';
import { realDate } from './validators';

/** What realDate replaced: a Date built from the day and printed back. */
const dateRoundTrip = (ymd: string): boolean => {
  const d = new Date(`${ymd}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === ymd;
};
const pad = (n: number, width: number): string => String(n).padStart(width, '0');

describe('realDate', () => {
  it('given the days around month ends and leap days, then only real days pass', () => {
    expect(['2024-02-29', '2000-02-29', '2026-01-31', '2026-12-31', '2026-04-30', '0000-01-01', '9999-12-31'].map(realDate)).toEqual(
      Array(7).fill(true),
    );
    expect(['2026-02-29', '1900-02-29', '2026-04-31', '2026-13-01', '2026-00-10', '2026-01-00', '2026-01-32'].map(realDate)).toEqual(
      Array(7).fill(false),
    );
  });

  it('given any YYYY-MM-DD with months 00-13 and days 00-32, then it agrees with a Date round trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), (y, m, d) => {
        const ymd = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
        expect(realDate(ymd)).toBe(dateRoundTrip(ymd));
      }),
      { numRuns: 10_000 },
    );
  });
});
