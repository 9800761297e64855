import {
  CoalitionEvent,
  CoalitionState,
  NotFound,
  PartnerEvent,
  PartnerState,
  ProgramEvent,
  ProgramState,
  Refused,
  TxContext,
  coalitionStream,
  evolveCoalition,
  evolvePartner,
  initialCoalition,
  initialPartner,
  partnerStream,
  evolveProgram,
  initialProgram,
  programStream,
} from '@ledger/domain';
import { Inject, Injectable } from '@nestjs/common';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { LoadedStream, loadStream } from './event-stream';

export const loadCoalition = (store: EventStore): Promise<LoadedStream<CoalitionState>> =>
  loadStream(store, coalitionStream(), initialCoalition, (s, e) => evolveCoalition(s, e as CoalitionEvent));

export const loadPartner = (store: EventStore, partnerId: string): Promise<LoadedStream<PartnerState>> =>
  loadStream(store, partnerStream(partnerId), initialPartner, (s, e) => evolvePartner(s, e as PartnerEvent));

export const loadProgram = (store: EventStore): Promise<LoadedStream<ProgramState>> =>
  loadStream(store, programStream(), initialProgram, (s, e) => evolveProgram(s, e as ProgramEvent));

export function requireConfigured(state: CoalitionState): CoalitionState {
  if (!state.configured) {
    throw new Refused('coalition_not_configured', 'the coalition is not configured yet (PUT /v1/coalition)');
  }
  return state;
}

/** The partner a transaction is posted by: it must exist and be allowed to post. */
export function requireActive(state: PartnerState, partnerId: string): PartnerState {
  if (state.status === 'none') throw new NotFound('partner', partnerId);
  if (state.status === 'suspended') throw new Refused('partner_suspended', `partner ${partnerId} is suspended`);
  return state;
}

/** How long a coalition or partner state read by another API replica may be used before re-reading. */
export const REFERENCE_TTL_MS = 1_000;

/**
 * The coalition and partner states every transaction and every key check needs, read once a
 * second instead of on every request. Writes through this process invalidate at once; a
 * change made through another replica (a new key, a suspension, new terms) counts there
 * within REFERENCE_TTL_MS. Writers never use this: they load fresh and append at a revision.
 */
@Injectable()
export class ReferenceData {
  private readonly cache = new Map<string, { at: number; state: Promise<unknown> }>();

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  coalition(): Promise<CoalitionState> {
    return this.cached(coalitionStream(), async () => (await loadCoalition(this.store)).state);
  }

  partner(partnerId: string): Promise<PartnerState> {
    return this.cached(partnerStream(partnerId), async () => (await loadPartner(this.store, partnerId)).state);
  }

  /** The programme's versions (none before the first PUT /v1/program). */
  program(): Promise<ProgramState> {
    return this.cached(programStream(), async () => (await loadProgram(this.store)).state);
  }

  async configuredCoalition(): Promise<CoalitionState> {
    return requireConfigured(await this.coalition());
  }

  async activePartner(partnerId: string): Promise<PartnerState> {
    return requireActive(await this.partner(partnerId), partnerId);
  }

  invalidate(streamId: string): void {
    this.cache.delete(streamId);
  }

  private cached<S>(streamId: string, load: () => Promise<S>): Promise<S> {
    // Monotonic process time, not the business clock: this is about staleness, not dates.
    const now = performance.now();
    const hit = this.cache.get(streamId);
    if (hit && now - hit.at < REFERENCE_TTL_MS) return hit.state as Promise<S>;
    const state = load();
    this.cache.set(streamId, { at: now, state });
    // A failed read must not be served from the cache.
    state.catch(() => this.cache.get(streamId)?.state === state && this.cache.delete(streamId));
    return state;
  }
}

/** The coalition rules a member transaction is decided under (the partner's earn rule aside). */
export const txContextOf = (coalition: CoalitionState, config: { maxBackdateDays: number }): TxContext => ({
  coalitionCurrency: coalition.currency,
  pointValueMinor: coalition.pointValueMinor,
  expiryMonths: coalition.expiryMonths,
  maxBackdateDays: config.maxBackdateDays,
});
