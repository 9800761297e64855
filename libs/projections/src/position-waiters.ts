/** Callers waiting for the read models to reach a position: each answered once, when it is reached or its time is up. */
export class PositionWaiters {
  private readonly waiting = new Set<{ position: number; done: (reached: boolean) => void }>();

  /** `onIdle`: called each time the last waiter is answered (a watcher may stop polling). */
  constructor(private readonly onIdle?: () => void) {}

  get size(): number {
    return this.waiting.size;
  }

  /** Resolves true once `reached` passes `position`, false after `timeoutMs`. */
  wait(position: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const waiter = {
        position,
        done: (reached: boolean) => {
          clearTimeout(timer);
          this.waiting.delete(waiter);
          if (this.waiting.size === 0) this.onIdle?.();
          resolve(reached);
        },
      };
      const timer = setTimeout(() => waiter.done(false), timeoutMs);
      this.waiting.add(waiter);
    });
  }

  /** The read models now reflect `position`. */
  reached(position: number): void {
    for (const waiter of [...this.waiting]) if (waiter.position <= position) waiter.done(true);
  }

  /** Answers every waiter false (the watcher is closing). */
  giveUp(): void {
    for (const waiter of [...this.waiting]) waiter.done(false);
  }
}
