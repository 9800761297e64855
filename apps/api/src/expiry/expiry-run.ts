import { CommandBus } from '@nestjs/cqrs';
import { CommandMeta, ExpireDueLotsCommand } from '@ledger/application';
import { DueLotKey, ReadModelQueries } from '@ledger/projections';

/** Due lots read from the index per page. */
export const DUE_LOTS_PAGE = 5_000;
/**
 * Members expired at once: their streams are independent, so the store commits their appends
 * together. The API's job stays gentle beside the traffic it serves; `ledger expire` (a
 * one-off catch-up) goes wider: on SQLite 32 at once lapsed ~5× the lots per second of 1.
 */
export const EXPIRY_CONCURRENCY_DEFAULT = 8;
export const EXPIRY_CLI_CONCURRENCY_DEFAULT = 32;

/** The members with lots due by `until`, from the due-lots index; `lots`/`points` as the index had them. */
export interface DueMembers {
  members: string[];
  lots: number;
  points: number;
}

/**
 * Pages through the due-lots index (never through member streams) up to `until`. A member
 * comes once, however many of its lots are due: one command lapses them all.
 */
export async function dueMembers(reader: Pick<ReadModelQueries, 'dueLots'>, until: Date, pageSize = DUE_LOTS_PAGE): Promise<DueMembers> {
  const members = new Set<string>();
  let lots = 0;
  let points = 0;
  let after: DueLotKey | undefined;
  for (;;) {
    const page = await reader.dueLots(until, pageSize, after);
    for (const lot of page) {
      members.add(lot.memberId);
      lots += 1;
      points += lot.points;
    }
    if (page.length < pageSize) break;
    after = page[page.length - 1];
  }
  return { members: [...members], lots, points };
}

export interface ExpiryResult {
  /** Members the index named, and the lots and points it showed due. */
  due: DueMembers;
  /** What this run wrote: one PointsExpired per lot. Less than due when another run was first. */
  lotsExpired: number;
  pointsExpired: number;
  seconds: number;
}

export interface ExpiryRunOptions {
  concurrency?: number;
  /** Members done so far (after each one). */
  onProgress?: (done: number, total: number) => void;
  /** Checked between members: a shutdown stops the run there (the rest is due on the next one). */
  stopped?: () => boolean;
}

/**
 * One expiry run up to `until`: every member the index names gets ExpireDueLots. Resumable
 * (a run cut short leaves lots due, and the next run lapses them) and safe beside another
 * run (a lot lapses once: the member stream's expected revision decides, the loser finds
 * the lot empty).
 */
export async function runExpiry(
  reader: Pick<ReadModelQueries, 'dueLots'>,
  commands: CommandBus,
  until: Date,
  meta: CommandMeta,
  options: ExpiryRunOptions = {},
): Promise<ExpiryResult> {
  const started = process.hrtime.bigint();
  const due = await dueMembers(reader, until);
  const untilIso = until.toISOString();
  let next = 0;
  let done = 0;
  let lotsExpired = 0;
  let pointsExpired = 0;
  const worker = async () => {
    while (next < due.members.length && !options.stopped?.()) {
      const memberId = due.members[next++];
      const result = await commands.execute(new ExpireDueLotsCommand({ memberId, until: untilIso }, meta));
      lotsExpired += result.lots;
      pointsExpired += result.points;
      done += 1;
      options.onProgress?.(done, due.members.length);
    }
  };
  const concurrency = Math.max(1, options.concurrency ?? EXPIRY_CONCURRENCY_DEFAULT);
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, due.members.length)) }, worker));
  return { due, lotsExpired, pointsExpired, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/** The summary line of a run: lots, points, events/s. */
export function expirySummary(r: ExpiryResult): string {
  const rate = r.seconds > 0 ? Math.round(r.lotsExpired / r.seconds) : r.lotsExpired;
  return `${r.lotsExpired} lots expired, ${r.pointsExpired} points (${r.due.lots} lots of ${r.due.members.length} members due) in ${r.seconds.toFixed(1)} s (${rate} events/s)`;
}
