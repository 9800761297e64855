import { BusinessMetadata, businessPart, sha256Hex } from '@ledger/integrity';

/**
 * The domain's canonical JSON (keys sorted by code unit, no whitespace, safe integers only,
 * undefined members left out), written for speed: verify hashes every event of the log and
 * this is most of its cost. Same bytes, same refusals (TypeError) as `canonicalJson`; a
 * property test holds the two together. An auditor's recomputation that does not share the
 * writer's code is worth having anyway.
 */
export function canonicalJsonFast(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) throw new TypeError(`canonical JSON holds safe integers only, got ${value}`);
      return String(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJsonFast(value[i]);
        return out + ']';
      }
      const o = value as Record<string, unknown>;
      const shape = shapeOf(Object.keys(o));
      let out = '{';
      let first = true;
      for (let i = 0; i < shape.keys.length; i++) {
        const v = o[shape.keys[i]];
        if (v === undefined) continue;
        out += (first ? '' : ',') + shape.prefixes[i] + canonicalJsonFast(v);
        first = false;
      }
      return out + '}';
    }
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
  }
}

/** An object's keys in canonical order, each with its `"key":` written out. */
interface Shape {
  /** The keys as the object listed them, which the shape was made for. */
  listed: string[];
  keys: string[];
  prefixes: string[];
}

/**
 * Events of a type list the same keys in the same order, so the sorted order and the quoted
 * keys are worked out once per such list. The cache is bounded: a log of arbitrary objects is
 * still hashed, just without it.
 */
const SHAPE_CACHE_MAX = 1_024;
const shapes = new Map<string, Shape>();

function shapeOf(listed: string[]): Shape {
  const id = listed.join('\u0000');
  const cached = shapes.get(id);
  // Keys may hold the separator themselves: a hit counts only for the very same list.
  if (cached !== undefined && sameKeys(cached.listed, listed)) return cached;
  // sort() without a comparator orders strings by UTF-16 code unit, as canonicalJson does.
  const keys = [...listed].sort();
  const shape = { listed, keys, prefixes: keys.map((k) => JSON.stringify(k) + ':') };
  if (cached === undefined && shapes.size < SHAPE_CACHE_MAX) shapes.set(id, shape);
  return shape;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `chainHash` on `canonicalJsonFast`: the same hash, faster. */
export function chainHashFast(prevHash: string, type: string, data: unknown, metadata: BusinessMetadata): string {
  return sha256Hex(prevHash + canonicalJsonFast({ type, data, metadata: businessPart(metadata) }));
}
