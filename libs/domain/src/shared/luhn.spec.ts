import { CARD_NUMBER_PATTERN, passesLuhn, withLuhnDigit } from './luhn';

describe('passesLuhn', () => {
  it.each([
    '4111111111111111', // Visa test number
    '4012888888881881',
    '5555555555554444', // Mastercard test number
    '378282246310005', // Amex, 15 digits
    '6011111111111117', // Discover
    '000000000000', // 12 digits, the shortest accepted
    '4222222222222', // 13 digits
    '6250941006528599', // UnionPay, 16 digits
    '1000000000000000009', // 19 digits, the longest accepted
  ])('accepts %s', (digits) => {
    expect(passesLuhn(digits)).toBe(true);
  });

  it.each([
    '4111111111111112', // last digit off by one
    '4111111111111121', // two adjacent digits swapped
    '5555555555554440',
    '378282246310006',
  ])('refuses %s: the check digit is wrong', (digits) => {
    expect(passesLuhn(digits)).toBe(false);
  });

  it.each([
    ['too short', '79927398713'], // valid Luhn, but 11 digits
    ['too long', '00000000000000000000'], // 20 zeros pass the sum, not the length
    ['empty', ''],
    ['spaced', '4111 1111 1111 1111'],
    ['dashed', '4111-1111-1111-1111'],
    ['non-ASCII digits', '４１１１１１１１１１１１１１１１'],
    ['trailing newline', '4111111111111111\n'],
  ])('refuses a number that is %s', (_why, digits) => {
    expect(passesLuhn(digits)).toBe(false);
  });

  it('allows 12 to 19 digits', () => {
    expect(CARD_NUMBER_PATTERN.test('1'.repeat(11))).toBe(false);
    expect(CARD_NUMBER_PATTERN.test('1'.repeat(12))).toBe(true);
    expect(CARD_NUMBER_PATTERN.test('1'.repeat(19))).toBe(true);
    expect(CARD_NUMBER_PATTERN.test('1'.repeat(20))).toBe(false);
  });
});

describe('withLuhnDigit', () => {
  it('appends the check digit of a known number', () => {
    expect(withLuhnDigit('411111111111111')).toBe('4111111111111111');
    expect(withLuhnDigit('37828224631000')).toBe('378282246310005');
  });

  it('always yields a number that passes, and changing any digit breaks it', () => {
    for (let seed = 0; seed < 200; seed++) {
      const card = withLuhnDigit(`7${String(seed * 7919).padStart(14, '0')}`);
      expect(passesLuhn(card)).toBe(true);
      // Luhn catches every single-digit error.
      for (let i = 0; i < card.length; i++) {
        const d = Number(card[i]);
        const changed = card.slice(0, i) + String((d + 1) % 10) + card.slice(i + 1);
        expect(passesLuhn(changed)).toBe(false);
      }
    }
  });
});
