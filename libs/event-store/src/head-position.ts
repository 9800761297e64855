import { EventStore } from './port';

/** The position of the newest event, or undefined on an empty store. */
export async function headPosition(store: EventStore): Promise<number | undefined> {
  const [last] = await store.readAll({ direction: 'backwards', maxCount: 1 });
  return last?.position;
}
