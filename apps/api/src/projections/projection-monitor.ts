import { EventStore } from '@ledger/event-store';
import { ReadModelAccess } from './read-model';

/** Lag is counted by reading the unprojected events, up to this many; beyond, it is reported as this. */
export const LAG_COUNT_MAX = 10_000;

export interface ProjectionStatus {
  /** Last log position applied to the read models; undefined when none yet. */
  position: number | undefined;
  /** Events in the log after that position, counted up to `countMax`. */
  lagEvents: number;
  /** Age of the oldest unprojected event, by its `recordedAt`; 0 when caught up. */
  lagSeconds: number;
}

/**
 * How far the read models trail the log, for metrics and readiness. Positions are not
 * consecutive on every store (EventStoreDB commit positions), so the lag is counted from
 * the events themselves, reading at most `countMax` + 1 of them.
 */
export class ProjectionMonitor {
  constructor(
    private readonly store: EventStore,
    private readonly readModel: ReadModelAccess,
    private readonly countMax: number = LAG_COUNT_MAX,
  ) {}

  async status(nowMs: number = Date.now()): Promise<ProjectionStatus> {
    const position = await this.readModel.position();
    const read = await this.store.readAll({ fromPosition: position ?? 0, maxCount: this.countMax + 1 });
    const behind = position === undefined ? read : read.filter((e) => e.position > position);
    const oldest = behind[0];
    return {
      position,
      lagEvents: Math.min(behind.length, this.countMax),
      lagSeconds: oldest ? Math.max(0, (nowMs - Date.parse(oldest.recordedAt)) / 1000) : 0,
    };
  }
}
