import { DomainEvent } from '../shared/decider';
import { Conflict, InvalidInput, NotFound, assert } from '../shared/errors';
import { DAY_MS } from '../shared/time';
import { EarnRule, checkedEarnMultipliers } from './earn';

export * from './earn';

export const partnerStream = (partnerId: string) => `partner-${partnerId}`;

/** A return window longer than a year is a typo, not a policy. */
export const PENDING_DAYS_MAX = 365;

export interface PartnerTerms {
  earnRule: EarnRule;
  /** Fee on the value of points the partner issues, in basis points. */
  issuanceFeeBps: number;
  /** Operator's share of the partner's breakage (expired points), in basis points. */
  breakageShareBps: number;
  /** Business date from which these terms apply (ISO, UTC). */
  effectiveFrom: string;
}

export type PartnerEvent =
  | DomainEvent<'PartnerJoined', { partnerId: string; name: string } & PartnerTerms>
  | DomainEvent<'PartnerTermsChanged', { partnerId: string } & PartnerTerms>
  | DomainEvent<'PartnerSuspended', { partnerId: string; reason: string }>
  | DomainEvent<'PartnerReinstated', { partnerId: string }>
  | DomainEvent<'ApiKeyIssued', { keyId: string; role: 'partner'; partnerId: string; keyHash: string }>
  | DomainEvent<'ApiKeyRevoked', { keyId: string }>;

export interface PartnerState {
  status: 'none' | 'active' | 'suspended';
  partnerId: string;
  name: string;
  /** Every version of the terms, oldest effective date first. */
  terms: PartnerTerms[];
  /** The partner's API keys by keyId: only the hash is ever stored. */
  keys: Map<string, { keyHash: string; revoked: boolean }>;
}

export type PartnerCommand =
  | { type: 'JoinPartner'; data: { partnerId: string; name: string } & PartnerTerms }
  | { type: 'ChangePartnerTerms'; data: { partnerId: string } & PartnerTerms }
  | { type: 'IssuePartnerKey'; data: { partnerId: string; keyId: string; keyHash: string } }
  | { type: 'RevokePartnerKey'; data: { partnerId: string; keyId: string } }
  | { type: 'SuspendPartner'; data: { partnerId: string; reason: string } }
  | { type: 'ReinstatePartner'; data: { partnerId: string } };

export const initialPartner = (): PartnerState => ({ status: 'none', partnerId: '', name: '', terms: [], keys: new Map() });

export function decidePartner(command: PartnerCommand, state: PartnerState): PartnerEvent[] {
  switch (command.type) {
    case 'JoinPartner':
      // `operator` names the coalition operator as a bonus sponsor and settlement party.
      if (command.data.partnerId === 'operator') throw new InvalidInput('partnerId', 'operator is reserved for the coalition operator');
      if (state.status !== 'none') {
        throw new Conflict('partner_exists', `partner ${command.data.partnerId} already exists`);
      }
      checkRates(command.data);
      return [{ type: 'PartnerJoined', data: { ...command.data, earnRule: checkedEarnRule(command.data.earnRule) } }];
    case 'ChangePartnerTerms':
      assert(state.status !== 'none', 'handler checked the partner exists');
      checkRates(command.data);
      return [{ type: 'PartnerTermsChanged', data: { ...command.data, earnRule: checkedEarnRule(command.data.earnRule) } }];
    case 'IssuePartnerKey':
      assert(state.status !== 'none', 'handler checked the partner exists');
      return [{ type: 'ApiKeyIssued', data: { ...command.data, role: 'partner' } }];
    case 'RevokePartnerKey': {
      const key = state.keys.get(command.data.keyId);
      assert(key !== undefined, 'handler checked the key is on this stream');
      if (key.revoked) return [];
      return [{ type: 'ApiKeyRevoked', data: { keyId: command.data.keyId } }];
    }
    // Suspending a suspended partner, or reinstating an active one, changes nothing: a retry records nothing.
    case 'SuspendPartner':
      if (state.status === 'none') throw new NotFound('partner', command.data.partnerId);
      if (state.status === 'suspended') return [];
      return [{ type: 'PartnerSuspended', data: command.data }];
    case 'ReinstatePartner':
      if (state.status === 'none') throw new NotFound('partner', command.data.partnerId);
      if (state.status === 'active') return [];
      return [{ type: 'PartnerReinstated', data: command.data }];
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

/** Rates are recorded once and read by every later close: one out of range would fail them all. */
function checkRates(terms: Pick<PartnerTerms, 'issuanceFeeBps' | 'breakageShareBps'>): void {
  for (const field of ['issuanceFeeBps', 'breakageShareBps'] as const) {
    const bps: unknown = terms[field];
    if (!Number.isSafeInteger(bps) || (bps as number) < 0 || (bps as number) > 10_000) {
      throw new InvalidInput(field, 'must be an integer from 0 to 10000 basis points');
    }
  }
}

/** Every accrual under the rule reads `pendingDays`: a bad one would make every later accrual fail. */
function checkedEarnRule(rule: EarnRule): EarnRule {
  const days: unknown = rule.pendingDays;
  if (days !== undefined && (!Number.isSafeInteger(days) || (days as number) < 0 || (days as number) > PENDING_DAYS_MAX)) {
    throw new InvalidInput('earnRule.pendingDays', `must be an integer from 0 to ${PENDING_DAYS_MAX} days`);
  }
  // Only the keys given are recorded: a rule without multipliers stays as it always was.
  return { ...rule, ...checkedEarnMultipliers(rule) };
}

/** When an accrual dated `occurredAt` under `rule` becomes spendable; null when at once. */
export function availableAtUnder(rule: EarnRule, occurredAt: string): string | null {
  const days = rule.pendingDays ?? 0;
  if (days === 0) return null;
  return new Date(Date.parse(occurredAt) + days * DAY_MS).toISOString();
}

export function evolvePartner(state: PartnerState, event: PartnerEvent): PartnerState {
  switch (event.type) {
    case 'PartnerJoined': {
      const { partnerId, name, ...terms } = event.data;
      return { ...state, status: 'active', partnerId, name, terms: [terms] };
    }
    case 'PartnerTermsChanged': {
      const { partnerId: _id, ...terms } = event.data;
      // Keep versions ordered by effective date so lookups by business date are a scan.
      const versions = [...state.terms, terms].sort((a, b) => Date.parse(a.effectiveFrom) - Date.parse(b.effectiveFrom));
      return { ...state, terms: versions };
    }
    case 'PartnerSuspended':
      return { ...state, status: 'suspended' };
    case 'PartnerReinstated':
      return { ...state, status: 'active' };
    case 'ApiKeyIssued':
      return { ...state, keys: new Map(state.keys).set(event.data.keyId, { keyHash: event.data.keyHash, revoked: false }) };
    case 'ApiKeyRevoked': {
      const key = state.keys.get(event.data.keyId);
      if (!key) return state;
      return { ...state, keys: new Map(state.keys).set(event.data.keyId, { ...key, revoked: true }) };
    }
    default: {
      const unknown: never = event;
      throw new Error(`unknown partner event ${JSON.stringify(unknown)}`);
    }
  }
}

/** The terms in force at a business date: the latest version effective on or before it, else the first. */
export function termsAt(terms: readonly PartnerTerms[], occurredAt: string): PartnerTerms {
  assert(terms.length > 0, 'a partner always has terms');
  const t = Date.parse(occurredAt);
  let inForce = terms[0];
  for (const version of terms) {
    if (Date.parse(version.effectiveFrom) <= t) inForce = version;
  }
  return inForce;
}
