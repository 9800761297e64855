import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { CLOCK, Clock, systemMeta } from '@ledger/application';
import { ReadModelAccess } from '../projections/read-model';
import { BirthdayResult, runBirthdays } from './birthday-run';

export const BIRTHDAY_OPTIONS = Symbol('BIRTHDAY_OPTIONS');

export interface BirthdayOptions {
  /** How often the API gives today's birthday bonuses; 0 turns the job off. */
  intervalMs: number;
}

/** Hourly: a day's birthdays are given within the hour after midnight UTC (a run finds the ones given and skips them). */
export const BIRTHDAY_INTERVAL_MS_DEFAULT = 3_600_000;

/** Gives the birthday bonuses of the clock's UTC day. Safe on several replicas: one txId per member-year. */
@Injectable()
export class BirthdayJob implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Birthdays');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<BirthdayResult> | undefined;
  private stopping = false;

  constructor(
    private readonly readModel: ReadModelAccess,
    private readonly commands: CommandBus,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(BIRTHDAY_OPTIONS) private readonly options: BirthdayOptions,
  ) {}

  onApplicationBootstrap(): void {
    if (this.options.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.stopping = true;
    await this.running?.catch(() => undefined);
  }

  runOnce(): Promise<BirthdayResult> {
    return runBirthdays(this.readModel.reader(), this.commands, this.clock.now(), systemMeta('birthdays'), {
      stopped: () => this.stopping,
    });
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = this.runOnce();
    try {
      const r = await this.running;
      if (r.awarded > 0) this.logger.log(`${r.awarded} birthday bonuses given (${r.points} points)`);
    } catch (error) {
      this.logger.warn(`birthday run failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.running = undefined;
    }
  }
}
