import { hash, randomUUID } from 'node:crypto';
import { canonicalJson } from './canonical-json';

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
  return sha256Hex(prevHash + canonicalJson({ type, data, metadata: businessPart(metadata) }));
}

/** sha256 of a string's UTF-8 bytes, in hex: one-shot, with no hash object (it runs for every event written and verified). */
export const sha256Hex = (data: string): string => hash('sha256', data, 'hex');

/** Picks the hashed fields out of a stored metadata object (which also holds prevHash and hash). */
export function businessPart(m: BusinessMetadata): BusinessMetadata {
  return { eventId: m.eventId, correlationId: m.correlationId, causationId: m.causationId, actor: m.actor, occurredAt: m.occurredAt };
}

/** An event ready to append: its id, and metadata holding the business part and its link in the chain. */
export interface ChainedEvent {
  eventId: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/**
 * Gives each event a fresh id and chains it onto the one before: the first onto `prevHash`
 * (the stream's last hash, or GENESIS_HASH for a new stream), each next onto the previous.
 */
export function chainEvents(
  events: readonly { type: string; data: unknown }[],
  context: Omit<BusinessMetadata, 'eventId'>,
  prevHash: string,
): ChainedEvent[] {
  let hash = prevHash;
  return events.map((e) => {
    const eventId = randomUUID();
    const business: BusinessMetadata = {
      eventId,
      correlationId: context.correlationId,
      causationId: context.causationId,
      actor: context.actor,
      occurredAt: context.occurredAt,
    };
    const prev = hash;
    hash = chainHash(prev, e.type, e.data, business);
    // Written out rather than spread from `business` (a spread here cost as much as the rest of
    // the chaining); the keys keep the order the stored metadata has always had.
    const metadata = {
      eventId,
      correlationId: business.correlationId,
      causationId: business.causationId,
      actor: business.actor,
      occurredAt: business.occurredAt,
      prevHash: prev,
      hash,
    };
    return { eventId, type: e.type, data: e.data as Record<string, unknown>, metadata };
  });
}

/** What the next event of a stream chains onto: the last event's hash, or GENESIS_HASH for an empty stream. */
export const chainTip = (last: { metadata: Record<string, unknown> } | undefined): string =>
  last === undefined ? GENESIS_HASH : String(last.metadata.hash ?? GENESIS_HASH);
