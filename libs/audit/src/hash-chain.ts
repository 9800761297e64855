import { createHash } from 'node:crypto';
import { canonicalJson } from '@ledger/domain';

/** The hash a stream's first event chains from. */
export const GENESIS_HASH = '0'.repeat(64);

/** Metadata that is part of the business fact and therefore of the hash (store time is not). */
export interface BusinessMetadata {
  eventId: string;
  correlationId: string;
  causationId: string | null;
  actor: { keyId: string; role: string; partnerId?: string };
  occurredAt: string;
}

/**
 * hash = sha256(prevHash + canonical JSON of {type, data, metadata}). Editing, removing or
 * reordering any event of a stream changes every hash after it, so replay detects it.
 */
export function chainHash(prevHash: string, type: string, data: unknown, metadata: BusinessMetadata): string {
  return createHash('sha256')
    .update(prevHash)
    .update(canonicalJson({ type, data, metadata: businessPart(metadata) }))
    .digest('hex');
}

/** Picks the hashed fields out of a stored metadata object (which also holds prevHash and hash). */
export function businessPart(m: BusinessMetadata): BusinessMetadata {
  return { eventId: m.eventId, correlationId: m.correlationId, causationId: m.causationId, actor: m.actor, occurredAt: m.occurredAt };
}
