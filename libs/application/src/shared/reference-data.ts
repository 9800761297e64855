import {
  CoalitionEvent,
  CoalitionState,
  NotFound,
  PartnerEvent,
  PartnerState,
  Refused,
  coalitionStream,
  evolveCoalition,
  evolvePartner,
  initialCoalition,
  initialPartner,
  partnerStream,
} from '@ledger/domain';
import { EventStore } from '@ledger/event-store';
import { LoadedStream, loadStream } from './event-stream';

export const loadCoalition = (store: EventStore): Promise<LoadedStream<CoalitionState>> =>
  loadStream(store, coalitionStream(), initialCoalition, (s, e) => evolveCoalition(s, e as CoalitionEvent));

export const loadPartner = (store: EventStore, partnerId: string): Promise<LoadedStream<PartnerState>> =>
  loadStream(store, partnerStream(partnerId), initialPartner, (s, e) => evolvePartner(s, e as PartnerEvent));

export async function requireConfiguredCoalition(store: EventStore): Promise<CoalitionState> {
  const { state } = await loadCoalition(store);
  if (!state.configured) {
    throw new Refused('coalition_not_configured', 'the coalition is not configured yet (PUT /v1/coalition)');
  }
  return state;
}

/** The partner a transaction is posted by: it must exist and be allowed to post. */
export async function requireActivePartner(store: EventStore, partnerId: string): Promise<PartnerState> {
  const { state } = await loadPartner(store, partnerId);
  if (state.status === 'none') throw new NotFound('partner', partnerId);
  if (state.status === 'suspended') throw new Refused('partner_suspended', `partner ${partnerId} is suspended`);
  return state;
}
