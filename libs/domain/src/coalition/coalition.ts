import { DomainEvent } from '../shared/decider';
import { Conflict, InvalidInput, assert } from '../shared/errors';
import { CURRENCY_PATTERN } from '../shared/money';

/** One coalition per deployment; its stream is `coalition-default`. */
export const COALITION_ID = 'default';
export const coalitionStream = (id: string = COALITION_ID) => `coalition-${id}`;

export type Role = 'partner' | 'finance' | 'auditor' | 'admin';
export const STAFF_ROLES = ['finance', 'auditor', 'admin'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

export type CoalitionEvent =
  | DomainEvent<'CoalitionConfigured', { coalitionId: string; currency: string; pointValueMinor: number; expiryMonths: number }>
  | DomainEvent<'PointValueChanged', { pointValueMinor: number; previousPointValueMinor: number }>
  | DomainEvent<'ExpiryPolicyChanged', { expiryMonths: number; previousExpiryMonths: number }>
  // Keys that belong to no partner (finance, auditor, admin) live on the coalition stream.
  | DomainEvent<'ApiKeyIssued', { keyId: string; role: StaffRole; keyHash: string }>
  | DomainEvent<'ApiKeyRevoked', { keyId: string }>;

export interface CoalitionState {
  configured: boolean;
  currency: string;
  pointValueMinor: number;
  expiryMonths: number;
  /** Staff keys by keyId: only the hash is ever stored. */
  keys: Map<string, { role: StaffRole; keyHash: string; revoked: boolean }>;
}

export type CoalitionCommand =
  | { type: 'ConfigureCoalition'; data: { currency: string; pointValueMinor: number; expiryMonths: number } }
  | { type: 'IssueStaffKey'; data: { keyId: string; role: StaffRole; keyHash: string } }
  | { type: 'RevokeStaffKey'; data: { keyId: string } };

export const initialCoalition = (): CoalitionState => ({
  configured: false,
  currency: '',
  pointValueMinor: 0,
  expiryMonths: 0,
  keys: new Map(),
});

export function decideCoalition(command: CoalitionCommand, state: CoalitionState): CoalitionEvent[] {
  switch (command.type) {
    case 'ConfigureCoalition': {
      const { currency, pointValueMinor, expiryMonths } = command.data;
      if (!CURRENCY_PATTERN.test(currency)) throw new InvalidInput('currency', 'must be an ISO 4217 code');
      assert(Number.isSafeInteger(pointValueMinor) && pointValueMinor > 0, 'point value validated upstream');
      if (!state.configured) {
        return [{ type: 'CoalitionConfigured', data: { coalitionId: COALITION_ID, currency, pointValueMinor, expiryMonths } }];
      }
      // Points already issued are valued in this currency; changing it would rewrite history.
      if (currency !== state.currency) {
        throw new Conflict('currency_fixed', `the coalition currency is ${state.currency} and cannot change`, [
          { field: 'currency', reason: `is fixed at ${state.currency}` },
        ]);
      }
      const events: CoalitionEvent[] = [];
      if (pointValueMinor !== state.pointValueMinor) {
        events.push({ type: 'PointValueChanged', data: { pointValueMinor, previousPointValueMinor: state.pointValueMinor } });
      }
      if (expiryMonths !== state.expiryMonths) {
        events.push({ type: 'ExpiryPolicyChanged', data: { expiryMonths, previousExpiryMonths: state.expiryMonths } });
      }
      return events;
    }
    case 'IssueStaffKey': {
      if (state.keys.has(command.data.keyId)) return [];
      return [{ type: 'ApiKeyIssued', data: command.data }];
    }
    case 'RevokeStaffKey': {
      const key = state.keys.get(command.data.keyId);
      assert(key !== undefined, 'handler checked the key is on this stream');
      // Revoking twice changes nothing: the key is already refused.
      if (key.revoked) return [];
      return [{ type: 'ApiKeyRevoked', data: { keyId: command.data.keyId } }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

export function evolveCoalition(state: CoalitionState, event: CoalitionEvent): CoalitionState {
  switch (event.type) {
    case 'CoalitionConfigured':
      return { ...state, configured: true, ...pick(event.data) };
    case 'PointValueChanged':
      return { ...state, pointValueMinor: event.data.pointValueMinor };
    case 'ExpiryPolicyChanged':
      return { ...state, expiryMonths: event.data.expiryMonths };
    case 'ApiKeyIssued': {
      const { keyId, role, keyHash } = event.data;
      return { ...state, keys: new Map(state.keys).set(keyId, { role, keyHash, revoked: false }) };
    }
    case 'ApiKeyRevoked': {
      const key = state.keys.get(event.data.keyId);
      if (!key) return state;
      return { ...state, keys: new Map(state.keys).set(event.data.keyId, { ...key, revoked: true }) };
    }
    default:
      return state;
  }
}

const pick = (d: { currency: string; pointValueMinor: number; expiryMonths: number }) => ({
  currency: d.currency,
  pointValueMinor: d.pointValueMinor,
  expiryMonths: d.expiryMonths,
});
