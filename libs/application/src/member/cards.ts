import { Conflict } from '@ledger/domain';
import { EventStore, WrongExpectedVersion } from '@ledger/event-store';
import { GENESIS_HASH } from '@ledger/integrity';
import { CommandMeta } from '../shared/command-meta';
import { LoadedStream, appendDecided, loadStream, withMetadata } from '../shared/event-stream';

/**
 * One card, one member: `card-{number}` is claimed (`CardClaimed`, at no_stream) before the
 * member stream names the card, and retired (`CardRetired`) when a replacement takes its
 * place. The stream is the card index: its last event says whose the card is, if anyone's.
 */
export const cardStream = (cardNumber: string) => `card-${cardNumber}`;

interface CardClaim {
  memberId: string | undefined;
  retired: boolean;
}

const loadCard = (store: EventStore, cardNumber: string): Promise<LoadedStream<CardClaim>> =>
  loadStream<CardClaim>(
    store,
    cardStream(cardNumber),
    () => ({ memberId: undefined, retired: false }),
    (_s, e) => ({ memberId: String((e.data as { memberId: string }).memberId), retired: e.type === 'CardRetired' }),
  );

/** The member a card belongs to now; undefined for a card never issued or one replaced. */
export async function cardHolder(store: EventStore, cardNumber: string): Promise<string | undefined> {
  const { state } = await loadCard(store, cardNumber);
  return state.retired ? undefined : state.memberId;
}

/**
 * Claims a card for a member. A claim an earlier attempt left for this very member lets a
 * retry finish; a card another member holds, or any retired card, is in use (409).
 */
export async function claimCard(store: EventStore, cardNumber: string, memberId: string, meta: CommandMeta, now: Date): Promise<void> {
  const event = { type: 'CardClaimed', data: { cardNumber, memberId } };
  try {
    await store.appendToStream(cardStream(cardNumber), withMetadata([event], meta, now.toISOString(), GENESIS_HASH), {
      expectedRevision: 'no_stream',
    });
  } catch (err) {
    if (!(err instanceof WrongExpectedVersion)) throw err;
    const claim = await loadCard(store, cardNumber);
    if (claim.state.memberId !== memberId || claim.state.retired) {
      throw new Conflict('card_in_use', `card ${cardNumber} belongs to another member or was retired`);
    }
  }
}

/** Retires a replaced card (once: a retired card is left as it is). */
export async function retireCard(
  store: EventStore,
  cardNumber: string,
  memberId: string,
  replacedBy: string,
  meta: CommandMeta,
  now: Date,
) {
  const loaded = await loadCard(store, cardNumber);
  if (loaded.state.retired || loaded.revision === -1) return;
  const event = { type: 'CardRetired', data: { cardNumber, memberId, replacedBy, occurredAt: now.toISOString() } };
  await appendDecided(store, cardStream(cardNumber), loaded, [event], meta, now.toISOString());
}
