import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import { ClosePeriodCommand, FixedClock, LedgerApplicationModule, defaultLedgerConfig, systemMeta } from '@ledger/application';
import { MemoryEventStore, RecordedEvent } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { ProjectionRunner, ReadModelReader, ReadStore, headPosition } from '@ledger/projections';
import { tempDir } from '@ledger/testing/test-app';
import { SqliteReadModelCheck, verifyLedger } from '@ledger/audit';
import { DemoOptions, generateDemoHistory } from '../apps/cli/src/commands/demo';

const root = join(__dirname, '..');
const cli = join(root, 'bin', 'ledger.js');
const END_AT = new Date('2026-11-20T12:00:00.000Z');

async function runDemo(options: Partial<DemoOptions>) {
  const store = new MemoryEventStore();
  const clock = new FixedClock(END_AT);
  const app = await NestFactory.createApplicationContext(LedgerApplicationModule.forRoot({ store, clock, config: defaultLedgerConfig() }), {
    logger: false,
  });
  const opts: DemoOptions = {
    members: 300,
    transactions: 4_000,
    partners: 6,
    seed: 9,
    months: 5,
    concurrency: 64,
    endAt: END_AT,
    ...options,
  };
  let progressed = 0;
  const result = await generateDemoHistory(app.get(CommandBus), clock, opts, (done, total) => {
    expect(done).toBeLessThanOrEqual(total);
    progressed = done;
  });
  // The history's first whole month (members enrol in its first 40%), closed as finance would.
  const closedPeriod = new Date(Date.UTC(END_AT.getUTCFullYear(), END_AT.getUTCMonth() - opts.months + 1, 1)).toISOString().slice(0, 7);
  const statement = await app.get(CommandBus).execute(new ClosePeriodCommand(closedPeriod, systemMeta('demo-close')));
  await app.close();
  expect(progressed).toBe(opts.members + opts.transactions);
  return { store, statement, ...result };
}

/** The business content: every member stream's facts in order, without ids chosen at random. */
async function businessContent(store: MemoryEventStore): Promise<Record<string, unknown[]>> {
  const streams: Record<string, unknown[]> = {};
  for (const e of await store.readAll()) {
    if (!e.streamId.startsWith('member-') && !e.streamId.startsWith('partner-')) continue;
    if (e.type === 'ApiKeyIssued') continue; // key ids and hashes are random by design
    (streams[e.streamId] ??= []).push({ type: e.type, data: e.data, occurredAt: e.metadata.occurredAt });
  }
  return streams;
}

describe('ledger demo: the history generator', () => {
  it('is deterministic for a seed, whatever the concurrency, and differs for another seed', async () => {
    const a = await runDemo({ concurrency: 64 });
    const b = await runDemo({ concurrency: 1 });
    const c = await runDemo({ seed: 10 });
    const contentA = await businessContent(a.store);
    expect(await businessContent(b.store)).toEqual(contentA);
    expect(await businessContent(c.store)).not.toEqual(contentA);
    const { seconds: _a, ...summaryA } = a.summary;
    const { seconds: _b, ...summaryB } = b.summary;
    expect(summaryB).toEqual(summaryA);
  });

  it('writes a realistic history: Pareto spending, redemptions elsewhere, refunds, several months, all valid', async () => {
    const { store, summary } = await runDemo({ members: 500, transactions: 6_000, months: 4 });
    const { accruals, redemptions, reversals, holds, flagged } = summary.transactions;
    expect(accruals + redemptions + reversals + holds + flagged).toBe(6_000);
    // It ends with the fraud controls: a card blocked and replaced, a burst flagged, a partner suspended and reinstated.
    expect(summary.fraud).toEqual({ blockedCards: 1, replacedCards: 1, flags: 1, refusedWhileBlocked: 1, suspendedPartners: 1 });
    // Checkouts through holds: most captured, some released, some left to lapse.
    expect(summary.holds.captured + summary.holds.released + summary.holds.lapsed).toBe(holds);
    expect(summary.holds.captured).toBeGreaterThan(summary.holds.released);
    expect(summary.holds.released).toBeGreaterThan(0);
    expect(summary.holds.lapsed).toBeGreaterThan(0);
    // Some refunds take part of their original back.
    expect(summary.partialReversals).toBeGreaterThan(0);
    expect(summary.partialReversals).toBeLessThan(reversals);
    // ~20% of members earn ~80% of the points.
    expect(summary.topFifthShare).toBeGreaterThan(0.7);
    expect(summary.topFifthShare).toBeLessThan(0.9);
    expect(summary.crossPartnerShare).toBeGreaterThan(0.5);
    expect(summary.transactions.redemptions).toBeGreaterThan(400);
    expect(summary.transactions.reversals).toBeGreaterThan(10);
    expect(summary.periods.length).toBeGreaterThanOrEqual(4);
    // Bonuses: a welcome per member, referrals, actions up to their cap, a surprise from the operator and one from a partner.
    expect(summary.bonuses).toMatchObject({ welcome: 500, action: 10, capReached: 5, surprise: 2 });
    expect(summary.bonuses.referral).toBeGreaterThan(0);
    expect(summary.bonuses.birthday).toBeGreaterThan(0);
    // The welcome promotion's points lapse within the history: breakage.
    expect(summary.expired.lots).toBeGreaterThan(0);
    expect(summary.expired.points).toBeGreaterThan(0);

    const events: RecordedEvent[] = await store.readAll();
    const types = new Set(events.map((e) => e.type));
    for (const t of [
      'MemberEnrolled',
      'PointsAccrued',
      'PointsRedeemed',
      'AccrualReversed',
      'RedemptionReversed',
      'PointsHeld',
      'HoldCaptured',
      'ProgramConfigured',
      'CardBlocked',
      'CardReplaced',
      'SuspiciousActivityFlagged',
      'PartnerSuspended',
      'PartnerReinstated',
      'PointsExpired',
      'BonusAwarded',
    ])
      expect(types).toContain(t);
    const kinds = new Set(events.filter((e) => e.type === 'BonusAwarded').map((e) => String(e.data.kind)));
    expect(kinds).toEqual(new Set(['welcome', 'referral', 'birthday', 'action', 'surprise']));
    // Business dates run from months back up to the end, as the injected clock allowed.
    const dates = events.filter((e) => e.type === 'PointsAccrued').map((e) => String(e.data.occurredAt));
    expect(dates.every((d) => d <= END_AT.toISOString())).toBe(true);
    expect(dates.some((d) => d < '2026-08-01')).toBe(true);

    // And it projects: positions sum across partners.
    const readStore = ReadStore.open(':memory:');
    await new ProjectionRunner(store, readStore).runUntil((await headPosition(store))!);
    const positions = new ReadModelReader(readStore).partnerPositions();
    // Six partners and the operator, which issues the bonuses it sponsors.
    expect(positions.map((p) => p.partnerId)).toContain('operator');
    expect(positions).toHaveLength(7);
    const sum = (f: 'pointsIssued' | 'pointsRedeemedAt' | 'pointsReversed' | 'pointsExpired' | 'pointsOutstanding') =>
      positions.reduce((s, p) => s + p[f], 0);
    expect(sum('pointsIssued')).toBe(sum('pointsRedeemedAt') + sum('pointsReversed') + sum('pointsExpired') + sum('pointsOutstanding'));
    expect(sum('pointsExpired')).toBe(summary.expired.points);
    expect(sum('pointsIssued') - sum('pointsReversed')).toBe(summary.pointsAccrued + summary.bonuses.points);
    const ends = events.filter((e) => e.type === 'HoldReleased').map((e) => String(e.data.reason));
    expect(new Set(ends)).toEqual(new Set(['released', 'expired']));
    // Verify holds over every event the demo wrote: chains, invariants and the read models.
    const report = await verifyLedger(store, { readModel: SqliteReadModelCheck.of(readStore) });
    expect(report.divergences).toEqual([]);
    expect(report.ok).toBe(true);
    readStore.close();
  });

  it('closes a period in which the operator is a party: it issued the welcome bonuses and owes the partners where they were spent', async () => {
    const { statement } = await runDemo({});
    const operatorFee = statement.issuanceFees.find((f) => f.partnerId === 'operator');
    expect(operatorFee).toMatchObject({ amountMinor: 0 });
    expect(operatorFee!.issuedPoints).toBeGreaterThan(0);
    const operator = statement.netPositions.find((p) => p.partnerId === 'operator');
    expect(operator!.payableMinor).toBeGreaterThan(0);
    expect(statement.transfers).toContainEqual({ partnerId: 'operator', direction: 'pay', amountMinor: -operator!.settlementMinor });
  });
});

describe('ledger demo (built CLI)', () => {
  let dir: string;
  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'apps', 'cli', 'src', 'main.js')))
      throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  });
  beforeEach(() => (dir = tempDir('ledger-demo-')));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [cli, ...args], {
        env: { ...process.env, LEDGER_DATA_DIR: dir, LEDGER_EVENTSTORE: '' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      p.stderr.on('data', (d) => (stderr += d));
      p.once('exit', (code) => resolve({ code, stderr }));
    });

  it('fills an empty store with a progress bar and a summary, writes the keys, and refuses a store that is not empty', async () => {
    const first = await run(['demo', '--members', '60', '--transactions', '900', '--partners', '4', '--seed', '3', '--months', '3']);
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/demo \[[=-]+\] 100% \| 960 commands \| [\d,]+ commands\/s/);
    expect(first.stderr).toMatch(/top 20% of members earned [\d.]+% of \d+ points/);
    const keys = JSON.parse(readFileSync(join(dir, 'demo-keys.json'), 'utf8'));
    expect(Object.keys(keys.partners)).toEqual(['grocer', 'fuel', 'cafe', 'pharmacy']);
    const store = SqliteEventStore.open(join(dir, 'ledger.db'));
    const members = (await store.readAll()).filter((e) => e.type === 'MemberEnrolled');
    await store.close();
    expect(members).toHaveLength(60);

    const again = await run(['demo', '--members', '10', '--transactions', '10']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is not empty');
    const bad = await run(['demo', '--members', 'many']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--members must be a positive integer');
  });
});
