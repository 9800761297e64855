import { randomUUID } from 'node:crypto';

/** Who asked, and which request this is part of: carried into every event's metadata. */
export interface Actor {
  keyId: string;
  role: 'partner' | 'finance' | 'auditor' | 'admin';
  partnerId?: string;
}

export interface CommandMeta {
  correlationId: string;
  causationId: string | null;
  actor: Actor;
}

/** The ledger acting on its own (demo seeding, scheduled jobs). */
export const systemMeta = (correlationId: string = randomUUID()): CommandMeta => ({
  correlationId,
  causationId: null,
  actor: { keyId: 'system', role: 'admin' },
});
