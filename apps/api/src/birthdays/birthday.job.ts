import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { CLOCK, Clock, systemMeta } from '@ledger/application';
import { IntervalJob } from '../jobs/interval-job';
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
export class BirthdayJob extends IntervalJob<BirthdayResult> {
  constructor(
    private readonly readModel: ReadModelAccess,
    private readonly commands: CommandBus,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(BIRTHDAY_OPTIONS) options: BirthdayOptions,
  ) {
    super('Birthdays', options.intervalMs);
  }

  runOnce(): Promise<BirthdayResult> {
    return runBirthdays(this.readModel.reader(), this.commands, this.clock.now(), systemMeta('birthdays'), {
      stopped: () => this.stopping,
    });
  }

  protected describe(r: BirthdayResult): string | undefined {
    return r.awarded > 0 ? `${r.awarded} birthday bonuses given (${r.points} points)` : undefined;
  }
}
