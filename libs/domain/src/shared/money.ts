import { assert } from './errors';

/** ISO 4217 alphabetic code: three capital letters. */
export const CURRENCY_PATTERN = /^[A-Z]{3}$/;

/** Largest amount a single transaction may carry: 10^12 minor units (10 billion in major units). */
export const AMOUNT_MINOR_MAX = 1_000_000_000_000;

export const BPS_PER_UNIT = 10_000;

/**
 * `amountMinor × bps / 10 000`, rounded half-to-even: the one rounding rule of the ledger.
 * Computed in bigint so that no intermediate product is ever inexact.
 * Returns the rounded value and the residue (exact − rounded) in 1/10 000 of a minor unit,
 * so a statement can report what rounding moved.
 */
export function applyBps(amountMinor: number, bps: number): { valueMinor: number; residueBpsOfMinor: number } {
  assert(Number.isSafeInteger(amountMinor), 'amount is a safe integer');
  assert(Number.isSafeInteger(bps) && bps >= 0, 'bps is a non-negative integer');
  const exact = BigInt(amountMinor) * BigInt(bps); // in 1/10 000 minor units
  const rounded = roundHalfEven(exact, BigInt(BPS_PER_UNIT));
  const valueMinor = Number(rounded);
  assert(Number.isSafeInteger(valueMinor), 'rounded value is a safe integer');
  return { valueMinor, residueBpsOfMinor: Number(exact - rounded * BigInt(BPS_PER_UNIT)) };
}

/** n / d rounded to the nearest integer, ties to even. d > 0. */
export function roundHalfEven(n: bigint, d: bigint): bigint {
  assert(d > 0n, 'divisor is positive');
  let q = n / d; // truncates toward zero
  let r = n % d;
  if (r < 0n) {
    // Make the remainder non-negative so the tie test below is uniform.
    q -= 1n;
    r += d;
  }
  const twice = 2n * r;
  if (twice > d || (twice === d && q % 2n !== 0n)) q += 1n;
  return q;
}

/** points × pointValueMinor, exact by construction (both safe integers, product checked). */
export function pointsToMinor(points: number, pointValueMinor: number): number {
  const value = points * pointValueMinor;
  assert(Number.isSafeInteger(value), 'points value fits a safe integer');
  return value;
}
