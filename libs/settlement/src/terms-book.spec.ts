import fc from 'fast-check';
import { AssertionFailed, PartnerTerms, termsAt } from '@ledger/domain';
import { TermsBook } from './terms-book';
import { terms } from './settlement.fixtures';

describe('TermsBook', () => {
  const from = Date.parse('2025-01-01T00:00:00.000Z');
  const to = Date.parse('2028-01-01T00:00:00.000Z');
  const instant = fc.integer({ min: from, max: to });

  it('finds the same version as the domain termsAt, for any history and date (property)', () => {
    fc.assert(
      fc.property(
        fc.array(instant, { minLength: 1, maxLength: 5 }),
        instant,
        fc.integer({ min: -600, max: 600 }),
        (starts, at, offsetMinutes) => {
          const history: PartnerTerms[] = [...starts].sort((a, b) => a - b).map((ms, i) => terms(i, i, new Date(ms).toISOString()));
          const book = new TermsBook(new Map([['A', history]]));
          const canonical = new Date(at).toISOString();
          expect(book.version('A', book.versionIndexAt('A', canonical))).toBe(termsAt(history, canonical));
          // Written with an offset, the same instant takes the parsing route and agrees.
          const sign = offsetMinutes < 0 ? '-' : '+';
          const abs = Math.abs(offsetMinutes);
          const local = new Date(at + offsetMinutes * 60_000).toISOString().slice(0, 23);
          const withOffset = `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          expect(book.version('A', book.versionIndexAt('A', withOffset))).toBe(termsAt(history, canonical));
        },
      ),
    );
  });

  it('applies a version from its effective instant on', () => {
    const history = [terms(100, 0, '2020-01-01'), terms(200, 0, '2026-10-15T00:00:00.000Z')];
    const book = new TermsBook(new Map([['A', history]]));
    expect(book.versionIndexAt('A', '2026-10-14T23:59:59.999Z')).toBe(0);
    expect(book.versionIndexAt('A', '2026-10-15T00:00:00.000Z')).toBe(1);
    expect(book.versionIndexAt('A', '2019-01-01T00:00:00.000Z')).toBe(0);
  });

  it('asserts histories are ordered, non-empty and in range', () => {
    expect(() => new TermsBook(new Map([['A', []]]))).toThrow(AssertionFailed);
    expect(() => new TermsBook(new Map([['A', [terms(1, 1, '2026-02-01'), terms(1, 1, '2026-01-01')]]]))).toThrow(AssertionFailed);
    expect(() => new TermsBook(new Map([['A', [terms(10_001, 1)]]]))).toThrow(AssertionFailed);
    expect(() => new TermsBook(new Map()).versionIndexAt('Z', '2026-01-01T00:00:00.000Z')).toThrow('terms of partner Z are given');
  });
});
