import { birthdaysReadModel } from './birthdays.read-model';
import { coalitionReadModel } from './coalition.read-model';
import { flagsReadModel } from './flags.read-model';
import { holdsReadModel } from './holds.read-model';
import { liabilityReadModel } from './liability.read-model';
import { membersAndLotsReadModel } from './members-and-lots.read-model';
import { partnerPositionsReadModel } from './partner-positions.read-model';
import { programKpisReadModel } from './program-kpis.read-model';
import { pendingLotsReadModel } from './pending-lots.read-model';
import { ReadModel } from './read-model';
import { transactionIndexReadModel } from './transaction-index.read-model';

export * from './read-model';
export * from './event-dispatch';
export {
  birthdaysReadModel,
  coalitionReadModel,
  flagsReadModel,
  holdsReadModel,
  liabilityReadModel,
  membersAndLotsReadModel,
  partnerPositionsReadModel,
  programKpisReadModel,
  pendingLotsReadModel,
  transactionIndexReadModel,
};
export { NO_PARTNER, dayOfIso } from './program-kpis.read-model';
export { periodOfIso } from './liability.read-model';
export { birthdayKeysOn } from './birthdays.read-model';

/** Every read model, in the order a batch writes them. */
export const READ_MODELS: readonly ReadModel[] = [
  coalitionReadModel,
  membersAndLotsReadModel,
  transactionIndexReadModel,
  partnerPositionsReadModel,
  liabilityReadModel,
  holdsReadModel,
  // After members-and-lots: a refund finds its lot's expiry in the lots that flushed before it.
  programKpisReadModel,
  flagsReadModel,
  pendingLotsReadModel,
  birthdaysReadModel,
];

/** The event types some read model handles (unversioned names). */
export const PROJECTED_EVENT_TYPES: ReadonlySet<string> = new Set(READ_MODELS.flatMap((m) => m.handles));
