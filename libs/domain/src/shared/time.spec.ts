import { InvalidInput } from './errors';
import { DAY_MS, FUTURE_SKEW_MS, addMonthsUtc, checkBusinessDate, periodOf, toUtcIso } from './time';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('checkBusinessDate', () => {
  const check = (at: string) => checkBusinessDate('occurredAt', at, NOW, 90);

  it.each([
    ['now', iso(NOW.getTime())],
    ['5 minutes ahead, the skew allowed', iso(NOW.getTime() + FUTURE_SKEW_MS)],
    ['exactly 90 days back', iso(NOW.getTime() - 90 * DAY_MS)],
    ['yesterday with an offset', '2026-11-19T15:00:00+03:00'],
  ])('accepts %s', (_why, at) => {
    expect(() => check(at)).not.toThrow();
  });

  it.each([
    ['more than 5 minutes ahead', iso(NOW.getTime() + FUTURE_SKEW_MS + 1), 'must not be more than 5 minutes in the future'],
    ['more than 90 days back', iso(NOW.getTime() - 90 * DAY_MS - 1), 'must not be more than 90 days in the past'],
    ['not a date', 'yesterday', 'must be an ISO 8601 date-time'],
    ['empty', '', 'must be an ISO 8601 date-time'],
    ['an impossible month', '2026-13-01T00:00:00Z', 'must be an ISO 8601 date-time'],
    ['an impossible hour', '2026-11-10T25:00:00Z', 'must be an ISO 8601 date-time'],
  ])('refuses a date %s, naming the field', (_why, at, reason) => {
    let thrown: unknown;
    try {
      check(at);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(InvalidInput);
    expect((thrown as InvalidInput).details).toEqual([{ field: 'occurredAt', reason }]);
  });

  it('uses the configured window', () => {
    const at = iso(NOW.getTime() - 10 * DAY_MS - 1);
    expect(() => checkBusinessDate('occurredAt', at, NOW, 10)).toThrow(InvalidInput);
    expect(() => checkBusinessDate('occurredAt', at, NOW, 11)).not.toThrow();
  });
});

describe('addMonthsUtc', () => {
  it.each([
    ['2026-01-15T10:30:00.000Z', 1, '2026-02-15T10:30:00.000Z'],
    ['2026-01-31T10:00:00.000Z', 1, '2026-02-28T10:00:00.000Z'], // clamped to February's last day
    ['2028-01-31T10:00:00.000Z', 1, '2028-02-29T10:00:00.000Z'], // leap year
    ['2028-02-29T00:00:00.000Z', 12, '2029-02-28T00:00:00.000Z'],
    ['2028-02-29T00:00:00.000Z', 48, '2032-02-29T00:00:00.000Z'],
    ['2026-08-31T23:59:59.999Z', 1, '2026-09-30T23:59:59.999Z'],
    ['2026-03-31T00:00:00.000Z', 1, '2026-04-30T00:00:00.000Z'],
    ['2026-10-31T12:00:00.000Z', 4, '2027-02-28T12:00:00.000Z'], // across the year end
    ['2026-11-20T12:00:00.000Z', 12, '2027-11-20T12:00:00.000Z'],
    ['2026-11-20T12:00:00.000Z', 0, '2026-11-20T12:00:00.000Z'],
    ['2026-03-31T00:00:00.000Z', -1, '2026-02-28T00:00:00.000Z'],
  ])('%s + %p months = %s', (from, months, expected) => {
    expect(addMonthsUtc(from, months)).toBe(expected);
  });

  it('works in UTC whatever the offset the date was written in', () => {
    // 01:00 on 1 Feb at +03:00 is 22:00 on 31 Jan UTC: clamped to 28 Feb 22:00 UTC.
    expect(addMonthsUtc('2026-02-01T01:00:00+03:00', 1)).toBe('2026-02-28T22:00:00.000Z');
  });
});

describe('toUtcIso and periodOf', () => {
  it('normalises equal instants to equal strings', () => {
    expect(toUtcIso('2026-10-01T13:00:00+03:00')).toBe('2026-10-01T10:00:00.000Z');
    expect(toUtcIso('2026-10-01T10:00:00Z')).toBe('2026-10-01T10:00:00.000Z');
  });

  it('puts a business date in its UTC calendar month', () => {
    expect(periodOf('2026-10-31T23:59:59.999Z')).toBe('2026-10');
    expect(periodOf('2026-11-01T01:00:00+03:00')).toBe('2026-10');
  });
});
