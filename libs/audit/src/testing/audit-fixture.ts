import { join } from 'node:path';
import { EventStore } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { ReadStore, rebuildReadStore } from '@ledger/projections';
import { DirectLedger } from '@ledger/projections/testing/direct-ledger';
import { GENESIS_HASH, chainEvents } from '@ledger/integrity';
import { SettlementStatement, StatementBody, calculatePeriodStatement, decideSettlement, sealStatement } from '@ledger/settlement';
import { MoneyEventIndex, PeriodCloses, periodMerkle } from '../period-merkle';

export const FIXTURE_NOW = '2026-11-20T12:00:00.000Z';
const SYSTEM = { correlationId: 'audit-fixture', causationId: null, actor: { keyId: 'system', role: 'finance' } };

/**
 * A small ledger with everything verify looks at: two members at three partners in October
 * and November (accruals, redemptions across partners, a refund, a cancelled redemption, an
 * expiry), October closed with its statement, and the read models built.
 */
export async function writeAuditHistory(store: EventStore): Promise<DirectLedger> {
  const l = new DirectLedger(store, FIXTURE_NOW);
  await l.configure(10);
  for (const p of ['grocer', 'cafe', 'air']) await l.join(p);
  await l.enrol('m1');
  await l.enrol('m2');
  await l.accrue('grocer', 'm1', 50_000, 'g1', '2026-10-02T10:00:00.000Z');
  await l.accrue('air', 'm1', 30_000, 'a1', '2026-10-03T10:00:00.000Z');
  await l.redeem('cafe', 'm1', 600, 'c1', '2026-10-10T10:00:00.000Z');
  await l.accrue('cafe', 'm2', 20_000, 'c2', '2026-10-11T10:00:00.000Z');
  await l.redeem('grocer', 'm2', 50, 'g2', '2026-10-12T10:00:00.000Z');
  await l.reverse('grocer', 'm2', 'g2', 'g2-cancel', '2026-10-13T10:00:00.000Z');
  await l.accrue('grocer', 'm2', 10_000, 'g3', '2026-11-01T10:00:00.000Z');
  await l.reverse('grocer', 'm2', 'g3', 'g3-refund', '2026-11-02T10:00:00.000Z');
  await l.expire('m1', 'air:a1');
  return l;
}

/**
 * Closes a period as ClosePeriodHandler does (cut-off at the head, statement from the log).
 * With `withMerkleRoot`, the statement carries `eventsMerkleRoot` as the lead's close will.
 */
export async function closePeriodDirectly(
  store: EventStore,
  periodId: string,
  options: { withMerkleRoot?: boolean } = {},
): Promise<SettlementStatement> {
  const [head] = await store.readAll({ direction: 'backwards', maxCount: 1 });
  let statement = await calculatePeriodStatement(store, periodId, head.position, { currency: 'RUB', pointValueMinor: 10 });
  if (options.withMerkleRoot && statement.eventsMerkleRoot === undefined) {
    const index = new MoneyEventIndex();
    const closes = new PeriodCloses();
    for (const e of await store.readAll()) {
      index.add(e);
      closes.add(e);
    }
    closes.add({
      ...head,
      streamId: `settlement-${periodId}`,
      revision: 0,
      type: 'SettlementPeriodClosed',
      data: { periodId, cutoffPosition: head.position },
    });
    const { sha256: _unsealed, ...body } = statement;
    statement = sealStatement({ ...(body as StatementBody), eventsMerkleRoot: periodMerkle(index, closes, periodId)!.root });
  }
  const events = decideSettlement(
    { type: 'ClosePeriod', data: { periodId, cutoffPosition: head.position, statement } },
    { status: 'open' },
    new Date(FIXTURE_NOW),
  );
  await store.appendToStream(`settlement-${periodId}`, chainEvents(events, { ...SYSTEM, occurredAt: FIXTURE_NOW }, GENESIS_HASH), {
    expectedRevision: 'no_stream',
  });
  return statement;
}

/** `$dir/ledger.db` with the history and October closed, and `$dir/read.db` rebuilt from it. */
export async function writeAuditDataDir(dir: string, options: { withMerkleRoot?: boolean } = {}): Promise<void> {
  let clock = Date.parse('2026-11-20T09:00:00.000Z');
  // Each append a second after the one before: recorded times are distinct and increasing.
  const store = SqliteEventStore.open(join(dir, 'ledger.db'), { now: () => new Date((clock += 1000)) });
  try {
    await writeAuditHistory(store);
    await closePeriodDirectly(store, '2026-10', options);
    const readStore = ReadStore.open(join(dir, 'read.db'));
    try {
      await rebuildReadStore(store, readStore);
    } finally {
      readStore.close();
    }
  } finally {
    await store.close();
  }
}
