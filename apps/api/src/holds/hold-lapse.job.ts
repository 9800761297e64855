import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { CLOCK, Clock, LapseHoldCommand, systemMeta } from '@ledger/application';
import { IntervalJob } from '../jobs/interval-job';
import { ReadModelAccess } from '../projections/read-model';

export const HOLD_LAPSE_OPTIONS = Symbol('HOLD_LAPSE_OPTIONS');

export interface HoldLapseOptions {
  /** How often the API records due holds as lapsed; 0 turns the job off. */
  intervalMs: number;
}

export const HOLD_LAPSE_INTERVAL_MS_DEFAULT = 30_000;
/** Holds lapsed per round; the next round takes the rest. */
export const HOLD_LAPSE_BATCH = 500;

/**
 * Appends `HoldReleased {reason: "expired"}` for holds past their expiry. Nothing waits for
 * it: a due hold already keeps no points and cannot be captured. Two API replicas may run it
 * at once: a hold already ended lapses to nothing, and the member stream's expected revision
 * decides between writers.
 */
@Injectable()
export class HoldLapseJob extends IntervalJob<number> {
  constructor(
    private readonly readModel: ReadModelAccess,
    private readonly commands: CommandBus,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(HOLD_LAPSE_OPTIONS) options: HoldLapseOptions,
  ) {
    super('HoldLapse', options.intervalMs);
  }

  /**
   * One round: up to HOLD_LAPSE_BATCH holds due now; the number lapsed. The next round takes
   * the rest (a hold the read model still shows open after its lapse lapses to nothing).
   */
  async runOnce(): Promise<number> {
    let lapsed = 0;
    const meta = systemMeta('hold-lapse');
    for (const hold of await this.readModel.reader().dueHolds(this.clock.now(), HOLD_LAPSE_BATCH)) {
      const result = await this.commands.execute(new LapseHoldCommand({ memberId: hold.memberId, holdId: hold.holdId }, meta));
      if (result.lapsed) lapsed += 1;
    }
    return lapsed;
  }

  protected describe(n: number): string | undefined {
    return n > 0 ? `${n} holds lapsed` : undefined;
  }
}
