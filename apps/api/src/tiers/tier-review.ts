import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { CLOCK, Clock, CommandMeta, ReviewTierCommand, systemMeta } from '@ledger/application';
import { TIER_WINDOW_MONTHS, TierChanged, addMonthsUtc } from '@ledger/domain';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { IntervalJob } from '../jobs/interval-job';

const SCAN_BATCH = 5_000;

/**
 * Members holding a tier, with the date of their last tier change, followed along the log from
 * where the last scan stopped (the job keeps one and reads only what is new each run).
 */
export class TierHolders {
  private nextPosition = 0;
  private readonly since = new Map<string, string>();

  async catchUp(store: EventStore, onProgress?: (position: number) => void): Promise<void> {
    for (;;) {
      const batch = await store.readAll({ fromPosition: this.nextPosition, maxCount: SCAN_BATCH });
      if (batch.length === 0) return;
      for (const e of batch) {
        if (e.type !== 'TierChanged') continue;
        const d = e.data as TierChanged['data'];
        if (d.toTierId === null) this.since.delete(d.memberId);
        else this.since.set(d.memberId, d.occurredAt);
      }
      this.nextPosition = batch[batch.length - 1].position + 1;
      onProgress?.(this.nextPosition);
    }
  }

  /** Members with an anniversary of their last tier change at or before `at`. */
  due(at: Date): string[] {
    const due: string[] = [];
    for (const [memberId, since] of this.since) {
      if (Date.parse(addMonthsUtc(since, TIER_WINDOW_MONTHS)) <= at.getTime()) due.push(memberId);
    }
    return due.sort();
  }
}

export interface TierReviewResult {
  membersReviewed: number;
  tiersDropped: number;
}

/** Reviews every member due at `at`, `concurrency` at a time; the member decider makes a repeat write nothing. */
export async function runTierReview(
  holders: TierHolders,
  store: EventStore,
  commands: CommandBus,
  at: Date,
  meta: CommandMeta,
  options: { concurrency?: number; onProgress?: (done: number, total: number) => void; stopped?: () => boolean } = {},
): Promise<TierReviewResult> {
  await holders.catchUp(store);
  const due = holders.due(at);
  const result: TierReviewResult = { membersReviewed: 0, tiersDropped: 0 };
  let next = 0;
  const worker = async () => {
    while (next < due.length && !options.stopped?.()) {
      const memberId = due[next++];
      const r = await commands.execute(new ReviewTierCommand({ memberId, at: at.toISOString() }, meta));
      result.membersReviewed += 1;
      if (r.changed) result.tiersDropped += 1;
      options.onProgress?.(result.membersReviewed, due.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 8, due.length)) }, worker));
  // A member whose drop was recorded is due again only a year later: the next scan reads its TierChanged.
  await holders.catchUp(store);
  return result;
}

export const tierReviewSummary = (r: TierReviewResult) => `${r.membersReviewed} members reviewed, ${r.tiersDropped} dropped a tier`;

export const TIER_REVIEW_OPTIONS = Symbol('TIER_REVIEW_OPTIONS');
export interface TierReviewOptions {
  /** How often the API runs the anniversary review; 0 turns the job off. */
  intervalMs: number;
}

/** The anniversary review on an interval (LEDGER_TIER_REVIEW_INTERVAL_MS); two replicas running it write each drop once. */
@Injectable()
export class TierReviewJob extends IntervalJob<TierReviewResult> {
  private readonly holders = new TierHolders();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly commands: CommandBus,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(TIER_REVIEW_OPTIONS) options: TierReviewOptions,
  ) {
    super('TierReview', options.intervalMs);
  }

  runOnce(): Promise<TierReviewResult> {
    return runTierReview(this.holders, this.store, this.commands, this.clock.now(), systemMeta('tier-review'), {
      stopped: () => this.stopping,
    });
  }

  protected describe(r: TierReviewResult): string | undefined {
    return r.tiersDropped > 0 ? tierReviewSummary(r) : undefined;
  }
}
