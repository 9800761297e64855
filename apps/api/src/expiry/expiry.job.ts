import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { CLOCK, Clock, systemMeta } from '@ledger/application';
import { IntervalJob } from '../jobs/interval-job';
import { ReadModelAccess } from '../projections/read-model';
import { ExpiryResult, runExpiry } from './expiry-run';

export const EXPIRY_OPTIONS = Symbol('EXPIRY_OPTIONS');

export interface ExpiryOptions {
  /** How often the API records the lapse of due lots; 0 turns the job off. */
  intervalMs: number;
}

export const EXPIRY_INTERVAL_MS_DEFAULT = 60_000;

/**
 * Appends PointsExpired for lots past their expiry, found from the due-lots index. Nothing
 * waits for it: an expired lot is neither spendable nor counted as available from its
 * expiry on. Two API replicas may run it at once: a lot already empty lapses to nothing,
 * and the member stream's expected revision decides between writers.
 */
@Injectable()
export class ExpiryJob extends IntervalJob<ExpiryResult> {
  constructor(
    private readonly readModel: ReadModelAccess,
    private readonly commands: CommandBus,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(EXPIRY_OPTIONS) options: ExpiryOptions,
  ) {
    super('Expiry', options.intervalMs);
  }

  /** One run: every lot due at the clock's now, as the read model's index lists them. */
  runOnce(): Promise<ExpiryResult> {
    return runExpiry(this.readModel.reader(), this.commands, this.clock.now(), systemMeta('expiry'), { stopped: () => this.stopping });
  }

  protected describe(r: ExpiryResult): string | undefined {
    return r.lotsExpired > 0 ? `${r.lotsExpired} lots expired (${r.pointsExpired} points)` : undefined;
  }
}
