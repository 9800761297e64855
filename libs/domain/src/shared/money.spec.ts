import { AssertionFailed } from './errors';
import { AMOUNT_MINOR_MAX, applyBps, pointsToMinor, roundHalfEven } from './money';

describe('roundHalfEven', () => {
  it.each([
    // n / 10, the tie cases first: ties go to the even neighbour.
    [5n, 0n],
    [15n, 2n],
    [25n, 2n],
    [35n, 4n],
    [-5n, 0n],
    [-15n, -2n],
    [-25n, -2n],
    [-35n, -4n],
    // Off the tie, plain nearest.
    [4n, 0n],
    [6n, 1n],
    [14n, 1n],
    [16n, 2n],
    [-4n, 0n],
    [-6n, -1n],
    [-14n, -1n],
    [-16n, -2n],
    // Exact quotients are untouched.
    [0n, 0n],
    [30n, 3n],
    [-30n, -3n],
  ])('%p / 10 rounds to %p', (n, expected) => {
    expect(roundHalfEven(n, 10n)).toBe(expected);
  });

  it('is exact beyond the safe-integer range', () => {
    const big = 2n ** 80n;
    expect(roundHalfEven(big * 10n + 5n, 10n)).toBe(big); // 2^80 is even
    expect(roundHalfEven((big + 1n) * 10n + 5n, 10n)).toBe(big + 2n);
  });

  it.each([0n, -10n])('asserts the divisor %p is positive', (d) => {
    expect(() => roundHalfEven(1n, d)).toThrow(AssertionFailed);
  });
});

describe('applyBps', () => {
  it.each([
    // amountMinor × bps / 10 000 = exact → value, residue (exact − value, in 1/10 000 minor)
    [1, 5_000, 0, 5_000], // 0.5 → 0
    [3, 5_000, 2, -5_000], // 1.5 → 2
    [5, 5_000, 2, 5_000], // 2.5 → 2
    [7, 5_000, 4, -5_000], // 3.5 → 4
    [-1, 5_000, 0, -5_000], // −0.5 → 0
    [-3, 5_000, -2, 5_000], // −1.5 → −2
    [-5, 5_000, -2, -5_000], // −2.5 → −2
    [10_000, 250, 250, 0], // 2.5 % of 100.00 is exact
    [12_345, 250, 309, -3_750], // 308.625 → 309
    [12_345, 200, 247, -1_000], // 246.9 → 247
    [12_345, 0, 0, 0],
    [99, 10_000, 99, 0], // 100 % is the identity
  ])('%p × %p bps → %p, residue %p', (amountMinor, bps, valueMinor, residueBpsOfMinor) => {
    expect(applyBps(amountMinor, bps)).toEqual({ valueMinor, residueBpsOfMinor });
  });

  it('loses nothing: value × 10 000 + residue is the exact product', () => {
    for (const [amountMinor, bps] of [
      [1, 1],
      [9_999, 9_999],
      [123_456_789, 333],
      [-987_654, 4_321],
      [AMOUNT_MINOR_MAX, 10_000],
    ]) {
      const { valueMinor, residueBpsOfMinor } = applyBps(amountMinor, bps);
      expect(BigInt(valueMinor) * 10_000n + BigInt(residueBpsOfMinor)).toBe(BigInt(amountMinor) * BigInt(bps));
      // Nearest rounding: never more than half a minor unit away.
      expect(Math.abs(residueBpsOfMinor)).toBeLessThanOrEqual(5_000);
    }
  });

  it('stays exact where a float product would not', () => {
    // 2^53 − 1 × 3 overflows a double's integers; bigint keeps it exact.
    const amountMinor = Number.MAX_SAFE_INTEGER;
    expect(applyBps(amountMinor, 3)).toEqual({ valueMinor: 2_702_159_776_422, residueBpsOfMinor: 2_973 });
  });

  it.each([
    [1.5, 100],
    [Number.MAX_SAFE_INTEGER + 1, 100],
    [100, -1],
    [100, 2.5],
  ])('asserts integer inputs (%p, %p bps)', (amountMinor, bps) => {
    expect(() => applyBps(amountMinor, bps)).toThrow(AssertionFailed);
  });

  it('asserts the rounded value still fits a safe integer', () => {
    expect(() => applyBps(Number.MAX_SAFE_INTEGER, 20_000)).toThrow(AssertionFailed);
  });
});

describe('pointsToMinor', () => {
  it('values points exactly', () => {
    expect(pointsToMinor(150, 10)).toBe(1_500);
    expect(pointsToMinor(0, 10)).toBe(0);
  });

  it('asserts the value fits a safe integer', () => {
    expect(() => pointsToMinor(Number.MAX_SAFE_INTEGER, 2)).toThrow(AssertionFailed);
  });
});
