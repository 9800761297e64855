/** Card numbers are 12 to 19 digits whose Luhn check digit is right. */
export const CARD_NUMBER_PATTERN = /^[0-9]{12,19}$/;

export function passesLuhn(digits: string): boolean {
  if (!CARD_NUMBER_PATTERN.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Appends the Luhn check digit to a digit string (used by the demo and tests). */
export function withLuhnDigit(body: string): string {
  for (let check = 0; check <= 9; check++) {
    if (passesLuhn(body + check)) return body + check;
  }
  throw new Error('unreachable: one check digit always fits');
}
