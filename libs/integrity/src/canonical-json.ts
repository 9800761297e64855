/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, integers only.
 * Hashes, fingerprints and statements are computed over it, so the same value always
 * yields the same bytes whatever order its fields were built in.
 *
 * It runs for every event written (the hash chain) and every event verify reads, so it
 * builds one string, sorts each object's few keys in place, and quotes each key once.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) {
        throw new TypeError(`canonical JSON holds safe integers only, got ${value}`);
      }
      return String(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
        return out + ']';
      }
      const record = value as Record<string, unknown>;
      const keys = sortedInPlace(Object.keys(record));
      let out = '{';
      let first = true;
      for (let i = 0; i < keys.length; i++) {
        const v = record[keys[i]];
        if (v === undefined) continue;
        out += (first ? '' : ',') + keyPrefix(keys[i]) + canonicalJson(v);
        first = false;
      }
      return out + '}';
    }
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
  }
}

/**
 * Insertion sort: objects here have a dozen keys or fewer, where it beats the general sort.
 * `>` on strings compares UTF-16 code units, the canonical order.
 */
function sortedInPlace(keys: string[]): string[] {
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i];
    let j = i - 1;
    while (j >= 0 && keys[j] > key) {
      keys[j + 1] = keys[j];
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

/** Events use a few dozen field names; the cache is bounded so arbitrary input cannot grow it. */
const KEY_PREFIX_CACHE_MAX = 4_096;
const keyPrefixes = new Map<string, string>();

/** `"key":` as canonical JSON writes it. */
function keyPrefix(key: string): string {
  let prefix = keyPrefixes.get(key);
  if (prefix === undefined) {
    prefix = JSON.stringify(key) + ':';
    if (keyPrefixes.size < KEY_PREFIX_CACHE_MAX) keyPrefixes.set(key, prefix);
  }
  return prefix;
}
