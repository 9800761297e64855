import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { CLOCK, Clock, ReleasePendingPointsCommand, systemMeta } from '@ledger/application';
import { IntervalJob } from '../jobs/interval-job';
import { ReadModelAccess } from '../projections/read-model';

export const PENDING_RELEASE_OPTIONS = Symbol('PENDING_RELEASE_OPTIONS');

export interface PendingReleaseOptions {
  /** How often the API records pending lots past their window as released; 0 turns the job off. */
  intervalMs: number;
}

export const PENDING_RELEASE_INTERVAL_MS_DEFAULT = 60_000;
/** Lots released per round; the next round takes the rest. */
export const PENDING_RELEASE_BATCH = 500;

/**
 * Appends `PointsReleased` for pending lots past their `availableAt`, found in the pending
 * lots read model (never by reading member streams). Nothing waits for it: a due lot is
 * already spendable and shown as available. Two API replicas may run it at once: a lot
 * already released releases nothing, and the member stream's expected revision decides
 * between writers.
 */
@Injectable()
export class PendingReleaseJob extends IntervalJob<number> {
  constructor(
    private readonly readModel: ReadModelAccess,
    private readonly commands: CommandBus,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PENDING_RELEASE_OPTIONS) options: PendingReleaseOptions,
  ) {
    super('PendingRelease', options.intervalMs);
  }

  /**
   * One round: up to PENDING_RELEASE_BATCH lots due now; the number released. A lot the read
   * model still lists after its release (the projector behind) releases nothing next round.
   */
  async runOnce(): Promise<number> {
    let released = 0;
    const meta = systemMeta('pending-release');
    for (const lot of await this.readModel.reader().duePendingLots(this.clock.now(), PENDING_RELEASE_BATCH)) {
      const result = await this.commands.execute(new ReleasePendingPointsCommand({ memberId: lot.memberId, lotId: lot.lotId }, meta));
      if (result.released) released += 1;
    }
    return released;
  }

  protected describe(n: number): string | undefined {
    return n > 0 ? `${n} pending lots released` : undefined;
  }
}
