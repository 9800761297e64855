import { Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

/**
 * What every job the API runs on an interval shares: one run at a time (a tick while one is
 * under way is skipped), a failed run logged as a warning and tried again next tick, an
 * interval of 0 turning it off, and shutdown waiting for the run under way, which is told to
 * stop early through `stopping`. Each job says what one run does and what is worth a log line.
 */
export abstract class IntervalJob<R> implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<R> | undefined;
  /** Set at shutdown: a run checks it between items so it ends soon. */
  protected stopping = false;

  protected constructor(
    private readonly name: string,
    private readonly intervalMs: number,
  ) {
    this.logger = new Logger(name);
  }

  /** One run over what is due at the clock's now; tests and replicas may call it directly. */
  abstract runOnce(): Promise<R>;

  /** The log line for a run's result, or undefined when there is nothing to say. */
  protected abstract describe(result: R): string | undefined;

  onApplicationBootstrap(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.stopping = true;
    await this.running?.catch(() => undefined);
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = this.runOnce();
    try {
      const line = this.describe(await this.running);
      if (line !== undefined) this.logger.log(line);
    } catch (error) {
      this.logger.warn(`${this.name} run failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.running = undefined;
    }
  }
}
