import { InvalidInput, assert, periodOf } from '@ledger/domain';

/**
 * A settlement period is a UTC calendar month, `YYYY-MM`. Period ids of equal length
 * compare as strings in calendar order, which membership relies on.
 */
export const PERIOD_ID_PATTERN = /^[0-9]{4}-(0[1-9]|1[0-2])$/;

export const isPeriodId = (value: unknown): value is string => typeof value === 'string' && PERIOD_ID_PATTERN.test(value);

/** For input from the world (HTTP, CLI): 400 naming the field. */
export function checkPeriodId(periodId: unknown, field = 'periodId'): asserts periodId is string {
  if (!isPeriodId(periodId)) throw new InvalidInput(field, 'must be a calendar month YYYY-MM');
}

/** First instant of the period, ISO UTC. */
export function periodStartsAt(periodId: string): string {
  assert(isPeriodId(periodId), 'period id checked by the caller');
  return `${periodId}-01T00:00:00.000Z`;
}

/** First instant after the period (the start of the next month), ISO UTC. */
export function periodEndsAt(periodId: string): string {
  assert(isPeriodId(periodId), 'period id checked by the caller');
  const year = Number(periodId.slice(0, 4));
  const month = Number(periodId.slice(5, 7)); // 1..12; as a 0-based index it is the next month
  return new Date(Date.UTC(year, month, 1)).toISOString();
}

/** The period after `periodId`. */
export const nextPeriodId = (periodId: string): string => periodEndsAt(periodId).slice(0, 7);

/** Whether the period is over at `now`: finance may close it only then. */
export const periodHasEnded = (periodId: string, now: Date): boolean => now.getTime() >= Date.parse(periodEndsAt(periodId));

// Stored business dates are `toISOString()` output (the domain normalises them), so the
// month is the first seven characters. Days 29..31 go through Date so that an impossible
// date rolls over exactly as the domain's `periodOf` would; anything else falls back too.
const CANONICAL_UTC_ISO = /^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{3}Z$/;

/**
 * Whether `iso` is `toISOString()` output of a day that exists in every month (1..28):
 * such strings compare as strings in time order, with no parsing.
 */
export const isCanonicalUtcIso = (iso: string): boolean => CANONICAL_UTC_ISO.test(iso);

/**
 * The period of a business date: the domain's `periodOf`, with a fast path for the
 * canonical form because a period close evaluates it once per event (millions).
 */
export function businessPeriodOf(occurredAt: string): string {
  if (isCanonicalUtcIso(occurredAt)) return occurredAt.slice(0, 7);
  assert(!Number.isNaN(Date.parse(occurredAt)), 'stored business dates are valid instants');
  return periodOf(occurredAt);
}
