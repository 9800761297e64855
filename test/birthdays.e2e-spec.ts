import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BirthdayJob } from '@ledger/api/birthdays/birthday.job';
import { AwardBirthdayBonusCommand, AwardBirthdayBonusHandler, systemMeta } from '@ledger/application';
import { EventStore } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

/**
 * Issue 14 §3, birthday bonuses on SQLite: the API's job gives the day's birthdays from the
 * birthdays index, once per member per year, however many runs (the test clock stands at
 * 2026-11-20T12:00Z).
 */

const PROGRAM = {
  effectiveFrom: '2026-11-01T00:00:00Z',
  tiers: [],
  bonuses: { birthday: { points: 300, sponsor: 'cafe' } },
  limits: { maxAccrualsPerMemberPerHour: 100, maxPointsPerMemberPerDay: 1_000_000 },
};

const lastPosition = async (store: EventStore) => (await store.readAll({ direction: 'backwards', maxCount: 1 }))[0].position;
const birthdayBonuses = async (store: EventStore) =>
  (await store.readAll())
    .filter((e) => e.type === 'BonusAwarded' && (e.data as { kind: string }).kind === 'birthday')
    .map((e) => e.data as any);

async function seed(t: TestApp): Promise<void> {
  const c = await seedCoalition(t, ['grocer', 'cafe']);
  await t.http().put('/v1/program').set(t.admin).send(PROGRAM).expect(200);
  const enrol = (memberId: string, n: number, birthDate?: string) =>
    t
      .http()
      .post('/v1/members')
      .set(c.partners.grocer)
      .send({ memberId, cardNumber: cardNumber(n), birthDate })
      .expect(201);
  await enrol('born-today', 1, '1990-11-20');
  await enrol('born-tomorrow', 2, '1985-11-21');
  await enrol('no-birth-date', 3);
  await enrol('born-today-too', 4, '2001-11-20');
  // The job reads the birthdays index: let the projector catch up.
  await t
    .http()
    .get(`/v1/members/born-today?minPosition=${await lastPosition(t.store)}`)
    .set(t.admin)
    .expect(200);
}

describe('birthday bonuses on sqlite', () => {
  it('the job gives today’s birthdays once, issued by the sponsor; a second run writes nothing', async () => {
    const dir = tempDir();
    const t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir, app: { birthdayIntervalMs: 0 } });
    try {
      await seed(t);
      const job = t.app.get(BirthdayJob);
      expect(await job.runOnce()).toMatchObject({ day: '2026-11-20', members: 2, awarded: 2, points: 600 });
      const given = await birthdayBonuses(t.store);
      expect(given.map((d) => [d.memberId, d.txId, d.issuerPartnerId, d.points, d.reason])).toEqual(
        expect.arrayContaining([
          ['born-today', 'bonus_birthday:born-today:2026', 'cafe', 300, '2026'],
          ['born-today-too', 'bonus_birthday:born-today-too:2026', 'cafe', 300, '2026'],
        ]),
      );
      const before = (await t.store.readAll()).length;
      expect(await job.runOnce()).toMatchObject({ members: 2, awarded: 0 });
      // A run later that day (another time) is the same bonus: nothing, no conflict.
      const later = await t.app
        .get(AwardBirthdayBonusHandler)
        .execute(
          new AwardBirthdayBonusCommand({ memberId: 'born-today', year: 2026, occurredAt: '2026-11-20T18:00:00.000Z' }, systemMeta('test')),
        );
      expect(later).toMatchObject({ replay: true });
      expect((await t.store.readAll()).length).toBe(before);
    } finally {
      await t.close();
    }
  });

  it('two API processes on one file running the job at once give each birthday once', async () => {
    const dir = tempDir();
    const file = join(dir, 'ledger.db');
    const a = await startTestApp(SqliteEventStore.open(file), { app: { birthdayIntervalMs: 0 } });
    const b = await startTestApp(SqliteEventStore.open(file), { dataDir: dir, app: { birthdayIntervalMs: 0 } });
    try {
      await seed(a);
      await b
        .http()
        .get(`/v1/members/born-today?minPosition=${await lastPosition(a.store)}`)
        .set(b.admin)
        .expect(200);
      const [ra, rb] = await Promise.all([a.app.get(BirthdayJob).runOnce(), b.app.get(BirthdayJob).runOnce()]);
      expect(ra.awarded + rb.awarded).toBe(2);
      expect(await birthdayBonuses(a.store)).toHaveLength(2);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('`ledger birthday-bonuses`', () => {
  const LEDGER_JS = join(__dirname, '..', 'bin', 'ledger.js');
  let dir: string;
  beforeEach(async () => {
    dir = tempDir();
    const t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir, app: { birthdayIntervalMs: 0 } });
    await seed(t);
    // Stop the API but keep its data directory (close() would remove it).
    await t.app.close();
    await t.store.close();
  });
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [LEDGER_JS, 'birthday-bonuses', ...args], {
      env: { ...process.env, LEDGER_DATA_DIR: dir, LEDGER_EVENTSTORE: '', LEDGER_READ_STORE: '' },
      encoding: 'utf8',
    });
  const given = async () => {
    const store = SqliteEventStore.open(join(dir, 'ledger.db'));
    try {
      return (await birthdayBonuses(store)).map((d) => d.memberId).sort();
    } finally {
      await store.close();
    }
  };

  it('gives the day’s birthdays once, with progress and a summary; a second run gives none; a bad --at exits 2', async () => {
    const first = run('--at', '2026-11-20T00:05:00Z');
    expect(first.stderr).toContain('birthdays: giving');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^birthdays on 2026-11-20: 2 members, 2 bonuses given \(600 points\)/);
    expect(await given()).toEqual(['born-today', 'born-today-too']);
    const second = run('--at', '2026-11-20T18:00:00Z');
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/2 members, 0 bonuses given/);
    expect(await given()).toEqual(['born-today', 'born-today-too']);
    const bad = run('--at', 'tomorrow');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--at');
  });
});
