import { assert, pointsToMinor } from '@ledger/domain';

/*
 * Integers, exact or loud. Per event (millions per period) the arithmetic stays in doubles,
 * each step checked: a product or sum of safe integers that is itself a safe integer is
 * exact, and one that is not fails `Number.isSafeInteger` (it cannot round back into the
 * safe range), so no result is ever silently rounded. Sums over lines, where terms of
 * either sign meet, are taken in bigint and checked once, as is every fee product
 * (`applyBps`). Every figure of a statement must be a safe integer anyway: it is canonical JSON.
 */

/** 1 basis point = 1/10 000: the denominator of every residue. */
export const BPS_DIVISOR = 10_000n;

/** a + b for the per-event sums: exact, or an assertion. */
export function addExact(a: number, b: number, what: string): number {
  const sum = a + b;
  // Tested before the message is built: this runs several times per event.
  if (!Number.isSafeInteger(sum)) assert(false, `${what} fits a safe integer`);
  return sum;
}

/** A bigint sum as a statement figure: a safe integer, or an assertion. */
export function toStatementFigure(value: bigint, what: string): number {
  assert(value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER), `${what} fits a safe integer`);
  return Number(value);
}

/** Σ f(x) over xs, in bigint: exact whatever the signs and sizes of the terms. */
export const sumBigint = <T>(xs: readonly T[], f: (x: T) => number | bigint): bigint => xs.reduce((s, x) => s + BigInt(f(x)), 0n);

/** Σ f(x) over xs as a statement figure: summed exactly, then checked to be a safe integer. */
export const sumAsFigure = <T>(xs: readonly T[], f: (x: T) => number, what: string): number => toStatementFigure(sumBigint(xs, f), what);

/** points × pointValueMinor of one event, exact (the domain's checked product). */
export function pointsValueMinor(points: number, pointValueMinor: number): number {
  assert(Number.isSafeInteger(points) && points >= 0, 'event points are a non-negative integer');
  return pointsToMinor(points, pointValueMinor);
}
