import { InvalidInput } from './errors';

/** How far a till's clock may run ahead of ours before its business date is refused. */
export const FUTURE_SKEW_MS = 5 * 60 * 1000;
export const DAY_MS = 24 * 60 * 60 * 1000;

/** A business date must be a real instant, not in the future, and not older than the window. */
export function checkBusinessDate(field: string, iso: string, now: Date, maxBackdateDays: number): void {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new InvalidInput(field, 'must be an ISO 8601 date-time');
  if (t - now.getTime() > FUTURE_SKEW_MS) {
    throw new InvalidInput(field, 'must not be more than 5 minutes in the future');
  }
  if (now.getTime() - t > maxBackdateDays * DAY_MS) {
    throw new InvalidInput(field, `must not be more than ${maxBackdateDays} days in the past`);
  }
}

/** How far ahead a partner's terms may be scheduled. */
export const TERMS_AHEAD_DAYS_MAX = 3_660;

/**
 * When new terms take effect: back as far as a transaction may be dated (so terms can
 * cover what is still being posted), ahead at most TERMS_AHEAD_DAYS_MAX.
 */
export function checkEffectiveFrom(field: string, iso: string, now: Date, maxBackdateDays: number): void {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new InvalidInput(field, 'must be an ISO 8601 date-time');
  if (now.getTime() - t > maxBackdateDays * DAY_MS) {
    throw new InvalidInput(field, `must not be more than ${maxBackdateDays} days in the past`);
  }
  if (t - now.getTime() > TERMS_AHEAD_DAYS_MAX * DAY_MS) {
    throw new InvalidInput(field, `must not be more than ${TERMS_AHEAD_DAYS_MAX} days in the future`);
  }
}

/** `iso` plus whole calendar months in UTC; the day is clamped to the target month's last day. */
export function addMonthsUtc(iso: string, months: number): string {
  const d = new Date(iso);
  const day = d.getUTCDate();
  const target = new Date(
    Date.UTC(
      d.getUTCFullYear(),
      d.getUTCMonth() + months,
      1,
      d.getUTCHours(),
      d.getUTCMinutes(),
      d.getUTCSeconds(),
      d.getUTCMilliseconds(),
    ),
  );
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(day, lastDay));
  return target.toISOString();
}

/** Normalises a parsed ISO date-time to UTC with milliseconds, so equal instants compare equal. */
export const toUtcIso = (iso: string): string => new Date(iso).toISOString();

/** The settlement period (UTC calendar month, `YYYY-MM`) of a business date. */
export const periodOf = (iso: string): string => new Date(iso).toISOString().slice(0, 7);
