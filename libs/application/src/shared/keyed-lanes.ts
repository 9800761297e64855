/**
 * Runs tasks one after another per key, and tasks of different keys side by side. The member
 * write path runs each member's commands in one lane: they decide in order against the cached
 * state instead of racing to the same expected revision, losing, and reloading the stream.
 * Between processes the expected revision stays the guard.
 */
export class KeyedLanes {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    // A task starts once the one before it settled, whichever way it settled.
    const result = previous === undefined ? task() : previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      // The last task of a lane removes the lane, so idle members hold no memory.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Lanes with a task running or waiting; for tests and metrics. */
  get busy(): number {
    return this.tails.size;
  }
}
