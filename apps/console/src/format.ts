/** Display helpers. Money arrives in integer minor units and is shown without floating point. */
const fractionDigitsCache = new Map<string, number>();

function fractionDigits(currency: string): number {
  let digits = fractionDigitsCache.get(currency);
  if (digits === undefined) {
    try {
      digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      digits = 2;
    }
    fractionDigitsCache.set(currency, digits);
  }
  return digits;
}

const group = (whole: string) => whole.replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f');

/** 123456 RUB minor units → "1 234.56 RUB". */
export function money(minor: number, currency: string | null | undefined): string {
  const cur = currency ?? '';
  const digits = cur ? fractionDigits(cur) : 2;
  const sign = minor < 0 ? '−' : '';
  const text = String(Math.abs(minor)).padStart(digits + 1, '0');
  const whole = text.slice(0, text.length - digits);
  const fraction = digits > 0 ? `.${text.slice(text.length - digits)}` : '';
  return `${sign}${group(whole)}${fraction}${cur ? ` ${cur}` : ''}`;
}

/** Minor units as a number of major units, for chart axes only (never for sums). */
export const majorForChart = (minor: number, currency: string | null | undefined) =>
  minor / 10 ** (currency ? fractionDigits(currency) : 2);

export const points = (n: number) => `${n < 0 ? '−' : ''}${group(String(Math.abs(n)))}`;

/** ISO instant → "2026-11-05 14:03 UTC". */
export const instant = (iso: string | null | undefined) => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : '—');

export const day = (iso: string | null | undefined) => (iso ? iso.slice(0, 10) : '—');

/** Basis points as a percentage with two decimals, from the integers (5556 → "55.56 %"); "—" when undefined. */
export const bps = (value: number | null | undefined) =>
  value === null || value === undefined ? '—' : `${Math.floor(value / 100)}.${String(value % 100).padStart(2, '0')} %`;
