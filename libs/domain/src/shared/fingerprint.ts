/**
 * The request fields that make two posts "the same transaction", as one comparable string.
 * Flat records of strings and safe integers only; keys in code-unit order, so the order the
 * fields were written in does not matter. Kept in memory for comparison, never stored.
 */
export function fingerprintOf(fields: Readonly<Record<string, string | number | undefined>>): string {
  // An absent field is left out, as canonical JSON leaves out undefined members.
  const keys = Object.keys(fields)
    .filter((key) => fields[key] !== undefined)
    .sort();
  const entries = keys.map((key) => {
    const value = fields[key];
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new TypeError(`a fingerprint holds safe integers only, got ${value}`);
    }
    if (typeof value !== 'number' && typeof value !== 'string') throw new TypeError(`a fingerprint cannot hold a ${typeof value}`);
    return [key, value];
  });
  return JSON.stringify(entries);
}
