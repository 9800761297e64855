/**
 * The request fields that make two posts "the same transaction", as one comparable string.
 * Flat records of strings and safe integers only; keys in code-unit order, so the order the
 * fields were written in does not matter. Kept in memory for comparison, never stored. It is
 * made for every transaction folded, so it is written out directly: `"key":value` pairs joined by
 * commas, keys and strings quoted as JSON (so no value can pass for a separator), numbers bare
 * (so 100 is not "100").
 */
export function fingerprintOf(fields: Readonly<Record<string, string | number | undefined>>): string {
  const keys = Object.keys(fields).sort();
  // Joined rather than concatenated: a fingerprint is kept, and a joined string is flat, not a rope.
  const parts: string[] = [];
  for (const key of keys) {
    const value = fields[key];
    // An absent field is left out, as canonical JSON leaves out undefined members.
    if (value === undefined) continue;
    parts.push(JSON.stringify(key) + ':' + fingerprintValue(value));
  }
  return parts.join(',');
}

/** One field's value as a fingerprint writes it: a string quoted as JSON, a safe integer bare. */
export function fingerprintValue(value: string | number): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`a fingerprint holds safe integers only, got ${value}`);
    return String(value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  throw new TypeError(`a fingerprint cannot hold a ${typeof value}`);
}
