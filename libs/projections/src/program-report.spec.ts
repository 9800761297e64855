import { InvalidInput } from '@ledger/domain';
import { PROGRAM_WINDOW_DAYS_MAX, programWindow, ratioBps } from './program-report';

describe('programme report window', () => {
  it('is [from, to) in UTC days, with the window before it of the same length', () => {
    expect(programWindow('2026-10-01', '2026-11-01')).toEqual({
      from: '2026-10-01',
      to: '2026-11-01',
      previousFrom: '2026-08-31',
      days: 31,
    });
    // Across a leap day: 2028-02-01 .. 2028-03-01 is 29 days, so the window before starts on 3 January.
    expect(programWindow('2028-02-01', '2028-03-01')).toMatchObject({ previousFrom: '2028-01-03', days: 29 });
  });

  const refusal = (from: unknown, to: unknown) => {
    try {
      programWindow(from, to);
    } catch (error) {
      if (error instanceof InvalidInput) return error.details;
      throw error;
    }
    throw new Error('accepted');
  };

  it('refuses a missing, malformed or impossible date, naming the field', () => {
    expect(refusal(undefined, '2026-11-01')).toEqual([{ field: 'from', reason: 'is required: a date YYYY-MM-DD' }]);
    expect(refusal('2026-10-01', '1 Nov 2026')).toEqual([{ field: 'to', reason: 'must be a date YYYY-MM-DD' }]);
    expect(refusal('2026-02-30', '2026-03-01')).toEqual([{ field: 'from', reason: 'is not a calendar date' }]);
    expect(refusal(['2026-10-01'], '2026-11-01')).toEqual([{ field: 'from', reason: 'must be a date YYYY-MM-DD' }]);
  });

  it('refuses an empty or reversed window, and one longer than the maximum', () => {
    expect(refusal('2026-10-01', '2026-10-01')).toEqual([{ field: 'to', reason: 'must be after from' }]);
    expect(refusal('2026-10-02', '2026-10-01')).toEqual([{ field: 'to', reason: 'must be after from' }]);
    expect(PROGRAM_WINDOW_DAYS_MAX).toBe(366);
    expect(programWindow('2028-01-01', '2029-01-01').days).toBe(366);
    expect(refusal('2026-01-01', '2027-01-03')).toEqual([{ field: 'to', reason: 'must be at most 366 days after from' }]);
  });
});

describe('rates in basis points', () => {
  it('round half to even, like every rate of the ledger, and are null for 0 / 0', () => {
    expect(ratioBps(1, 3)).toBe(3_333); // 3333.3…
    expect(ratioBps(2, 3)).toBe(6_667); // 6666.6…
    expect(ratioBps(1, 20_000)).toBe(0); // 0.5 → 0 (even)
    expect(ratioBps(3, 20_000)).toBe(2); // 1.5 → 2 (even)
    expect(ratioBps(5, 20_000)).toBe(2); // 2.5 → 2 (even)
    expect(ratioBps(0, 7)).toBe(0);
    expect(ratioBps(7, 7)).toBe(10_000);
    expect(ratioBps(0, 0)).toBeNull();
  });
});
