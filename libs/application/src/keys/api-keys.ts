import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A key reads `clk_<scope>_<keyId>_<secret>`: scope is the partner id, or `staff` for
 * finance/auditor/admin keys, so the one stream holding its hash is found without a scan.
 * Secrets are 32 random bytes, so a plain sha256 is a safe hash (nothing to brute-force).
 */
export const STAFF_SCOPE = 'staff';
const KEY_PATTERN = /^clk_([a-z0-9][a-z0-9-]{0,31})_([0-9a-f]{12})_([0-9a-f]{64})$/;

export interface ParsedKey {
  scope: string;
  keyId: string;
}

export function newApiKey(scope: string): { keyId: string; key: string; keyHash: string } {
  const keyId = randomBytes(6).toString('hex');
  const key = `clk_${scope}_${keyId}_${randomBytes(32).toString('hex')}`;
  return { keyId, key, keyHash: hashKey(key) };
}

/** sha256 of the key in hex: one-shot, with no hash object (every request's bearer key is hashed). */
export const hashKey = (key: string): string => hash('sha256', key, 'hex');

export function parseApiKey(key: string): ParsedKey | undefined {
  const m = KEY_PATTERN.exec(key);
  return m ? { scope: m[1], keyId: m[2] } : undefined;
}

/** Constant-time comparison of two hex hashes of equal length. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
