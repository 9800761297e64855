import { Worker } from 'node:worker_threads';

/**
 * Calls in flight to a worker thread that answers each by its id (the SQLite writer and
 * reader threads). The thread keeps the process alive only while a call waits for it, and
 * when it ends, every call still waiting is refused.
 */
export class WorkerCalls<T> {
  private readonly waiting = new Map<number, { resolve: (value: T) => void; reject: (error: Error) => void }>();
  private nextId = 1;

  constructor(private readonly worker: Worker) {}

  /** Sends a call (`post` posts it under the id it is given) and waits for its answer. */
  call(post: (id: number) => void): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      if (this.waiting.size === 1) this.worker.ref();
      try {
        post(id);
      } catch (error) {
        this.answer(id, { error: error as Error });
      }
    });
  }

  /** The answer to call `id`: a value or an error. An id no call waits under is ignored. */
  answer(id: number, outcome: { value: T } | { error: Error }): void {
    const waiter = this.waiting.get(id);
    if (!waiter) return;
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker.unref();
    if ('error' in outcome) waiter.reject(outcome.error);
    else waiter.resolve(outcome.value);
  }

  /** Every call waiting is refused with `error`. */
  refuseAll(error: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}
