import { CommandBus } from '@nestjs/cqrs';
import { AwardBirthdayBonusCommand, CommandMeta } from '@ledger/application';
import { ReadModelQueries, birthdayKeysOn } from '@ledger/projections';

export interface BirthdayResult {
  /** The UTC day run for, and the members the birthdays index named for it. */
  day: string;
  members: number;
  /** Bonuses this run wrote; the rest were given before (another run, an earlier one that day) or no bonus is configured. */
  awarded: number;
  points: number;
  seconds: number;
}

export interface BirthdayRunOptions {
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
  stopped?: () => boolean;
}

/**
 * The birthday bonuses of the UTC day of `at`: the members born on that day's month and day,
 * from the birthdays index (never the member streams), each given the programme's birthday
 * bonus of `at`'s year. A member-year's bonus has one txId, so a second run, or two racing,
 * write it once (the loser finds it given and writes nothing); a run cut short is resumed by
 * the next one.
 */
export async function runBirthdays(
  reader: Pick<ReadModelQueries, 'birthdays'>,
  commands: CommandBus,
  at: Date,
  meta: CommandMeta,
  options: BirthdayRunOptions = {},
): Promise<BirthdayResult> {
  const started = process.hrtime.bigint();
  const members = await reader.birthdays(birthdayKeysOn(at));
  const year = at.getUTCFullYear();
  let next = 0;
  let done = 0;
  let awarded = 0;
  let points = 0;
  const worker = async () => {
    while (next < members.length && !options.stopped?.()) {
      const memberId = members[next++];
      const outcome = await commands.execute(new AwardBirthdayBonusCommand({ memberId, year, occurredAt: at.toISOString() }, meta));
      if (outcome !== 'no_bonus' && !outcome.replay) {
        awarded += 1;
        points += outcome.body.points;
      }
      done += 1;
      options.onProgress?.(done, members.length);
    }
  };
  const concurrency = Math.max(1, options.concurrency ?? 8);
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, members.length)) }, worker));
  return {
    day: at.toISOString().slice(0, 10),
    members: members.length,
    awarded,
    points,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}

export const birthdaySummary = (r: BirthdayResult): string =>
  `birthdays on ${r.day}: ${r.members} members, ${r.awarded} bonuses given (${r.points} points), ${r.members - r.awarded} already given or none configured, in ${r.seconds.toFixed(1)} s`;
