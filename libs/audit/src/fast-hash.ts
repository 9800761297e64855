import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { BusinessMetadata, businessPart } from '@ledger/integrity';

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
      // sort() without a comparator orders strings by UTF-16 code unit, as canonicalJson does.
      const keys = Object.keys(o).sort();
      let out = '{';
      let first = true;
      for (const k of keys) {
        const v = o[k];
        if (v === undefined) continue;
        out += (first ? '' : ',') + JSON.stringify(k) + ':' + canonicalJsonFast(v);
        first = false;
      }
      return out + '}';
    }
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
  }
}

// One-shot hashing where the runtime has it (Node 20.12+): no hash object per event.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** `chainHash` on `canonicalJsonFast`: the same hash, faster. */
export function chainHashFast(prevHash: string, type: string, data: unknown, metadata: BusinessMetadata): string {
  const json = canonicalJsonFast({ type, data, metadata: businessPart(metadata) });
  if (oneShot) return oneShot('sha256', prevHash + json, 'hex');
  return createHash('sha256').update(prevHash).update(json).digest('hex');
}
