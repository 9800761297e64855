import { ValidateIf, ValidationOptions, registerDecorator } from 'class-validator';
import { passesLuhn } from '@ledger/domain';

/** IDs are path segments and stream-name parts: plain ASCII, no separators. */
/**
 * A body field that may be left out, but not sent as null: `@IsOptional()` skips validation for
 * null too, and a null then reaches the command (recorded, or failing later) where an omitted
 * field would have taken its default. The field's own validators refuse null with 400 naming it.
 */
export const MayBeOmitted = () => ValidateIf((_request: object, value: unknown) => value !== undefined);

export const PARTNER_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;
export const MEMBER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/**
 * A partner's receipt id: letters, digits and `.:#_-`, starting with a letter or digit. It
 * becomes part of stream names and log lines, so no quotes, slashes, `%` or spaces.
 */
export const EXTERNAL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9.:#_-]{0,63}$/;
export const EXTERNAL_ID_RULE = 'must be 1-64 letters, digits or .:#_- starting with a letter or digit';
/** Display names: any script, but no control or invisible formatting characters (NUL, bidi overrides). */
export const DISPLAY_NAME_PATTERN = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u;
/** A full date-time with an explicit offset: a business date without a zone is ambiguous. */
export const DATE_TIME_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
export const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

export function IsLuhnCardNumber(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isLuhnCardNumber',
      target: object.constructor,
      propertyName,
      options: { message: 'must be 12-19 digits with a valid Luhn check digit', ...options },
      validator: { validate: (value: unknown) => typeof value === 'string' && passesLuhn(value) },
    });
}

/** A date-time that is a real instant (2026-02-30 is refused), with an explicit zone. */
export function IsBusinessDateTime(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isBusinessDateTime',
      target: object.constructor,
      propertyName,
      options: { message: 'must be an ISO 8601 date-time with a zone, e.g. 2026-10-01T12:00:00Z', ...options },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && DATE_TIME_PATTERN.test(value) && realDate(value.slice(0, 10)) && !Number.isNaN(Date.parse(value)),
      },
    });
}

export function IsCalendarDate(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isCalendarDate',
      target: object.constructor,
      propertyName,
      options: { message: 'must be a calendar date YYYY-MM-DD', ...options },
      validator: { validate: (value: unknown) => typeof value === 'string' && DATE_PATTERN.test(value) && realDate(value) },
    });
}

/**
 * Whether YYYY-MM-DD names a day of the proleptic Gregorian calendar (what Date reads it as):
 * by arithmetic, because building a Date and printing it back was about a tenth of the body
 * validation's time on every accrual.
 */
export function realDate(ymd: string): boolean {
  const year = Number(ymd.slice(0, 4));
  const month = Number(ymd.slice(5, 7));
  const day = Number(ymd.slice(8, 10));
  return Number.isInteger(year) && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const daysInMonth = (year: number, month: number): number => (month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]);
