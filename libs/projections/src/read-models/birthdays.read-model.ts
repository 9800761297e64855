import type Database from 'better-sqlite3';
import { AssertionFailed } from '@ledger/domain';
import type { ClientBase } from 'pg';
import { EventOf, ListStaging, postgresBulk, PostgresReadModelBatch, ReadModel, ReadModelBatch } from './read-model';

const HANDLES = ['MemberEnrolled'] as const;
type Handled = (typeof HANDLES)[number];

/**
 * Members by the month and day of their birth (`MM-DD`): the birthday job asks for one day's
 * members instead of reading every member stream. A birth date is given at enrolment only.
 */
export const birthdaysReadModel: ReadModel<Handled> = {
  name: 'birthdays',
  handles: HANDLES,
  tables: [
    {
      name: 'birthdays',
      key: 'birth_md, member_id',
      sqlite: `CREATE TABLE IF NOT EXISTS birthdays (
        birth_md   TEXT NOT NULL,  -- MM-DD of the birth date
        member_id  TEXT NOT NULL,
        birth_date TEXT NOT NULL,
        PRIMARY KEY (birth_md, member_id)
      ) WITHOUT ROWID`,
    },
  ],
  sqlite: (db) => new BirthdaysSqlite(db),
  postgres: () => new BirthdaysPostgres(),
  staging: () => new BirthdaysStaging(),
};

type BirthdayRow = [string, string, string];

class BirthdaysStaging extends ListStaging<BirthdayRow> {
  stage(event: EventOf<Handled>): void {
    if (event.type !== 'MemberEnrolled') throw new AssertionFailed(`birthdays read model: unhandled ${event.type as string}`);
    const { birthDate, memberId } = event.data;
    if (birthDate !== null) this.batch.push([birthDate.slice(5, 10), memberId, birthDate]);
  }
}

class BirthdaysSqlite extends BirthdaysStaging implements ReadModelBatch<Handled> {
  private readonly insert: Database.Statement<BirthdayRow>;

  constructor(db: Database.Database) {
    super();
    this.insert = db.prepare('INSERT INTO birthdays (birth_md, member_id, birth_date) VALUES (?, ?, ?)');
  }

  flush(): void {
    for (const row of this.batch) this.insert.run(...row);
  }
}

class BirthdaysPostgres extends BirthdaysStaging implements PostgresReadModelBatch<Handled> {
  async flush(client: ClientBase): Promise<void> {
    const columns: unknown[][] = [[], [], []];
    for (const row of this.batch) row.forEach((v, i) => columns[i].push(v));
    await postgresBulk(
      client,
      'INSERT INTO birthdays (birth_md, member_id, birth_date) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])',
      columns,
    );
  }
}

/**
 * The `MM-DD` keys whose members have their birthday on `day` (a UTC date): a member born on
 * 29 February has it on 28 February in a year without one.
 */
export function birthdayKeysOn(day: Date): string[] {
  const md = day.toISOString().slice(5, 10);
  const year = day.getUTCFullYear();
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return md === '02-28' && !leap ? ['02-28', '02-29'] : [md];
}
