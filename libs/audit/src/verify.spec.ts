import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { MemoryEventStore } from '@ledger/event-store';
import { GENESIS_HASH, chainEvents } from '@ledger/integrity';
import { ReadStore, rebuildReadStore } from '@ledger/projections';
import { DirectLedger } from '@ledger/projections/testing/direct-ledger';
import { appendProgramHistory } from '@ledger/projections/testing/program-history';
import { SettlementStatement, StatementBody, calculatePeriodStatement, decideSettlement, sealStatement } from '@ledger/settlement';
import { AuditFold } from './audit-fold';
import { SqliteReadModelCheck } from './read-model-check';
import { firstDifference, formatVerifyReport, verifyLedger } from './verify';
import { MoneyEventIndex, PeriodCloses, periodMerkle } from './period-merkle';
import { FIXTURE_NOW, closePeriodDirectly, writeAuditHistory } from './testing/audit-fixture';

const NOW = FIXTURE_NOW;
const SYSTEM = { correlationId: 'spec', causationId: null, actor: { keyId: 'system', role: 'admin' } };

const history = (store: MemoryEventStore): Promise<DirectLedger> => writeAuditHistory(store);

async function closePeriod(
  store: MemoryEventStore,
  periodId: string,
  seal?: (s: SettlementStatement) => SettlementStatement,
): Promise<SettlementStatement> {
  if (!seal) return closePeriodDirectly(store, periodId);
  const [head] = await store.readAll({ direction: 'backwards', maxCount: 1 });
  const statement = seal(await calculatePeriodStatement(store, periodId, head.position, { currency: 'RUB', pointValueMinor: 10 }));
  const events = decideSettlement(
    { type: 'ClosePeriod', data: { periodId, cutoffPosition: head.position, statement } },
    { status: 'open' },
    new Date(NOW),
  );
  await store.appendToStream(`settlement-${periodId}`, chainEvents(events, { ...SYSTEM, occurredAt: NOW }, GENESIS_HASH), {
    expectedRevision: 'no_stream',
  });
  return statement;
}

/** Appends a member event with a valid chain: the chain holds, only the rules can object. */
async function appendChained(store: MemoryEventStore, streamId: string, type: string, data: Record<string, unknown>) {
  const last = (await store.readStream(streamId, { direction: 'backwards', maxCount: 1 }))[0];
  const events = chainEvents(
    [{ type, data }],
    { ...SYSTEM, occurredAt: String(data.occurredAt ?? NOW) },
    last ? String(last.metadata.hash) : GENESIS_HASH,
  );
  return store.appendToStream(streamId, events, { expectedRevision: last ? last.revision : 'no_stream' });
}

describe('verifyLedger', () => {
  it('passes a valid history: chains, invariants, closed statements; the read model is skipped when there is none', async () => {
    const store = new MemoryEventStore();
    await history(store);
    await closePeriod(store, '2026-10');
    const report = await verifyLedger(store, { readModelSkipped: 'no read store in this test' });
    expect(report.divergences).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ['hash_chain', 'passed'],
      ['invariants', 'passed'],
      ['read_model', 'skipped'],
      ['statements', 'passed'],
      ['merkle_roots', 'passed'],
    ]);
    expect(report).toMatchObject({ members: 2, partners: 3, clockRegressions: 0 });
    expect(report.periods).toEqual([
      expect.objectContaining({
        periodId: '2026-10',
        status: 'ok',
        eventsMerkleRoot: expect.stringMatching(/^[0-9a-f]{64}$/),
        leafCount: 6,
      }),
    ]);
    expect(report.periods[0].recomputedSha256).toBe(report.periods[0].statementSha256);
    // The close's own root (calculatePeriodStatement) and the one verify recomputes agree.
    expect(report.periods[0].recomputedMerkleRoot).toBe(report.periods[0].eventsMerkleRoot);
    expect(formatVerifyReport(report)).toMatch(/^verify: OK: \d+ events/);
  });

  it('compares a statement that carries eventsMerkleRoot, and fails it when the root is not that of its events', async () => {
    const store = new MemoryEventStore();
    await history(store);
    // The root the statement should carry, computed the way verify does.
    const index = new MoneyEventIndex();
    const closes = new PeriodCloses();
    for (const e of await store.readAll()) index.add(e);
    const [head] = await store.readAll({ direction: 'backwards', maxCount: 1 });
    closes.add({
      ...head,
      streamId: 'settlement-2026-10',
      type: 'SettlementPeriodClosed',
      data: { periodId: '2026-10', cutoffPosition: head.position },
    });
    const { root, leaves } = periodMerkle(index, closes, '2026-10')!;
    expect(leaves.map((l) => l.streamId)).toEqual(['member-m1', 'member-m1', 'member-m1', 'member-m2', 'member-m2', 'member-m2']);
    const withRoot = (r: string) => (s: SettlementStatement) => {
      const { sha256: _, ...body } = s;
      return sealStatement({ ...(body as StatementBody), eventsMerkleRoot: r });
    };
    const good = new MemoryEventStore();
    for (const e of await store.readAll())
      await good.appendToStream(e.streamId, [e], { expectedRevision: e.revision === 0 ? 'no_stream' : e.revision - 1 });
    await closePeriod(good, '2026-10', withRoot(root));
    const ok = await verifyLedger(good);
    expect(ok.checks.find((c) => c.name === 'merkle_roots')).toMatchObject({ status: 'passed' });
    expect(ok.ok).toBe(true);

    const wrong = 'f'.repeat(64);
    await closePeriod(store, '2026-10', withRoot(wrong));
    const bad = await verifyLedger(store);
    expect(bad.ok).toBe(false);
    const merkle = bad.divergences.find((d) => d.kind === 'merkle_root');
    expect(merkle).toMatchObject({ streamId: 'settlement-2026-10', expected: root, found: wrong });
  });

  it('finds a well-chained redemption whose slice takes from a lot the member never held', async () => {
    const store = new MemoryEventStore();
    await history(store);
    const { position } = await appendChained(store, 'member-m2', 'PointsRedeemed', {
      txId: 'cafe:forged',
      partnerId: 'cafe',
      externalId: 'forged',
      memberId: 'm2',
      points: 5,
      pointValueMinor: 10,
      currency: 'RUB',
      slices: [{ lotId: 'grocer:g1', issuerPartnerId: 'grocer', points: 5 }],
      occurredAt: '2026-11-03T10:00:00.000Z',
    });
    const report = await verifyLedger(store);
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === 'hash_chain')?.status).toBe('passed');
    expect(report.firstDivergence).toMatchObject({
      kind: 'invariant',
      streamId: 'member-m2',
      position,
      message: expect.stringContaining('holds no such lot'),
    });
  });

  it('finds a slice larger than its lot, a double reversal, a duplicate txId, a slice of another issuer', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      [
        'PointsRedeemed',
        {
          txId: 'cafe:big',
          partnerId: 'cafe',
          externalId: 'big',
          memberId: 'm2',
          points: 999,
          pointValueMinor: 10,
          currency: 'RUB',
          slices: [{ lotId: 'cafe:c2', issuerPartnerId: 'cafe', points: 999 }],
          occurredAt: '2026-11-03T10:00:00.000Z',
        },
        'more points than the lot holds',
      ],
      [
        'RedemptionReversed',
        {
          txId: 'grocer:again',
          partnerId: 'grocer',
          externalId: 'again',
          memberId: 'm2',
          originalTxId: 'grocer:g2',
          originalOccurredAt: '2026-10-12T10:00:00.000Z',
          points: 50,
          pointValueMinor: 10,
          currency: 'RUB',
          slices: [{ lotId: 'cafe:c2', issuerPartnerId: 'cafe', points: 50 }],
          occurredAt: '2026-11-03T10:00:00.000Z',
        },
        'reversed once',
      ],
      [
        'PointsAccrued',
        {
          txId: 'grocer:g1',
          partnerId: 'grocer',
          externalId: 'g1',
          memberId: 'm2',
          amountMinor: 100,
          currency: 'RUB',
          points: 1,
          pointValueMinor: 10,
          lotId: 'grocer:g1',
          issuerPartnerId: 'grocer',
          expiresAt: '2028-11-01T10:00:00.000Z',
          occurredAt: '2026-11-03T10:00:00.000Z',
        },
        'unique coalition-wide',
      ],
      [
        'PointsRedeemed',
        {
          txId: 'cafe:other',
          partnerId: 'cafe',
          externalId: 'other',
          memberId: 'm2',
          points: 5,
          pointValueMinor: 10,
          currency: 'RUB',
          slices: [{ lotId: 'cafe:c2', issuerPartnerId: 'grocer', points: 5 }],
          occurredAt: '2026-11-03T10:00:00.000Z',
        },
        "issuer differs from the lot's",
      ],
    ];
    for (const [type, data, message] of cases) {
      const store = new MemoryEventStore();
      await history(store);
      await appendChained(store, 'member-m2', type, data);
      const report = await verifyLedger(store);
      expect(report.firstDivergence).toMatchObject({ kind: 'invariant', streamId: 'member-m2', message: expect.stringContaining(message) });
    }
  });

  it('the conservation check sees an issuer whose counters do not add up', async () => {
    const store = new MemoryEventStore();
    await history(store);
    const fold = new AuditFold();
    for (const e of await store.readAll()) expect(fold.apply(e).divergence).toBeUndefined();
    expect(fold.finalChecks()).toEqual([]);
    fold.partners.get('grocer')!.pointsExpired += 1;
    expect(fold.finalChecks()).toEqual([
      expect.objectContaining({ streamId: 'partner-grocer', message: expect.stringContaining('Σ accrued') }),
    ]);
  });

  it('a statement edited after it was sealed, or one that no longer recomputes, is named with the first differing field', async () => {
    const store = new MemoryEventStore();
    await history(store);
    await closePeriod(store, '2026-10', (s) => {
      const { sha256: _, ...body } = s;
      return sealStatement({ ...(body as StatementBody), roundingResidueMinor: body.roundingResidueMinor + 1 });
    });
    const report = await verifyLedger(store);
    expect(report.firstDivergence).toMatchObject({
      kind: 'statement',
      streamId: 'settlement-2026-10',
      revision: 1,
      message: expect.stringContaining('$.roundingResidueMinor'),
    });
    expect(firstDifference({ a: [1, { b: 2 }] }, { a: [1, { b: 3 }] })).toEqual({ path: '$.a[1].b', expected: 2, found: 3 });
  });

  it('compares the projections read store with the fold: equal after a rebuild, a changed row is named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-verify-'));
    try {
      const store = new MemoryEventStore();
      await history(store);
      const file = join(dir, 'read.db');
      const readStore = ReadStore.open(file);
      await rebuildReadStore(store, readStore);
      const ok = await verifyLedger(store, { readModel: SqliteReadModelCheck.open(file) });
      expect(ok.divergences).toEqual([]);
      expect(ok.checks.find((c) => c.name === 'read_model')?.status).toBe('passed');

      readStore.db.prepare("UPDATE members SET available = available + 7 WHERE member_id = 'm1'").run();
      readStore.db.prepare("UPDATE liability SET amount_minor = amount_minor - 1 WHERE issuer_partner_id = 'grocer'").run();
      const bad = await verifyLedger(store, { readModel: SqliteReadModelCheck.open(file) });
      expect(bad.ok).toBe(false);
      expect(bad.firstDivergence).toMatchObject({
        kind: 'read_model',
        check: 'read_model:members',
        streamId: 'member-m1',
        message: expect.stringContaining('available'),
      });
      expect(bad.divergences.map((d) => d.check)).toEqual(['read_model:members', 'read_model:liability']);
      readStore.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compares the programme KPI tables too: equal after a rebuild, a changed or missing row is named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-verify-'));
    try {
      const store = new MemoryEventStore();
      const ledger = new DirectLedger(store);
      await ledger.configure(10);
      for (const p of ['grocer', 'cafe', 'air']) await ledger.join(p);
      await appendProgramHistory(ledger);
      const file = join(dir, 'read.db');
      const readStore = ReadStore.open(file);
      await rebuildReadStore(store, readStore);
      const ok = await verifyLedger(store, { readModel: SqliteReadModelCheck.open(file) });
      expect(ok.divergences).toEqual([]);

      readStore.db.prepare("UPDATE program_activity SET points_earned = points_earned + 1 WHERE member_id = 'cat'").run();
      // dan's refund of g4 takes its 100 points off the day g4 expires: put them back, as a projector forgetting refunds would.
      readStore.db.prepare("UPDATE program_issuer_days SET points_expiring = points_expiring + 100 WHERE day = '2028-10-07'").run();
      readStore.db.prepare("DELETE FROM program_enrolments WHERE enrolled_by = ''").run();
      // A cell no event made, and a cell the events made that is gone.
      readStore.db.prepare("INSERT INTO program_activity VALUES ('2026-10-05', 'grocer', 'ghost', 1, 10)").run();
      readStore.db
        .prepare(
          "DELETE FROM program_activity WHERE member_id = 'dan' AND day = (SELECT min(day) FROM program_activity WHERE member_id = 'dan')",
        )
        .run();
      const bad = await verifyLedger(store, { readModel: SqliteReadModelCheck.open(file) });
      expect(bad.divergences.map((d) => [d.check, d.message])).toEqual([
        ['read_model:program_enrolments', "enrolments 2026-10-10 by '' is missing from the read model"],
        ['read_model:program_activity', 'activity 2026-10-04 cat at grocer: points_earned differs'],
        ['read_model:program_activity', 'activity 2026-10-05 ghost at grocer: a row no event explains'],
        ['read_model:program_activity', 'activity 2026-10-20 cat at air: points_earned differs'],
        ['read_model:program_activity', 'activity 2026-10-06 dan at cafe is missing from the read model'],
        ['read_model:program_issuer_days', 'issuer day 2028-10-07 grocer: points_expiring differs'],
      ]);
      readStore.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compares at the read model checkpoint when the log has moved on since', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-verify-'));
    try {
      const store = new MemoryEventStore();
      const l = await history(store);
      const file = join(dir, 'read.db');
      const readStore = ReadStore.open(file);
      await rebuildReadStore(store, readStore);
      readStore.close();
      await l.accrue('cafe', 'm1', 70_000, 'late-1');
      await l.redeem('grocer', 'm1', 100, 'late-2');
      const report = await verifyLedger(store, { readModel: SqliteReadModelCheck.open(file) });
      expect(report.divergences).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
