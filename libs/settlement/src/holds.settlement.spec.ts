import { HoldCaptured, HoldReleased, MemberEvent, PointsHeld } from '@ledger/domain';
import { LedgerEvent } from './money-events';
import { classifyEvent, prepareClose } from './membership';
import { accrued, redeemed, terms } from './settlement.fixtures';
import { StatementBuilder } from './statement';

/**
 * A capture is a redemption at the holding partner: its PointsRedeemed settles like any
 * other, and the hold's own events (placed, captured, released, lapsed) move no value.
 */
const hold = (holdId: string, points: number): PointsHeld => ({
  type: 'PointsHeld',
  data: {
    txId: holdId,
    holdId,
    partnerId: 'B',
    externalId: holdId.split(':')[1],
    memberId: 'm1',
    points,
    ttlSeconds: 600,
    expiresAt: '2026-10-12T12:10:00.000Z',
    occurredAt: '2026-10-12T12:00:00.000Z',
  },
});

const captured: HoldCaptured = {
  type: 'HoldCaptured',
  data: {
    txId: 'B:cap-1',
    holdId: 'B:h-1',
    partnerId: 'B',
    externalId: 'cap-1',
    memberId: 'm1',
    points: 300,
    releasedPoints: 100,
    occurredAt: '2026-10-12T12:00:00.000Z',
  },
};

const lapsed: HoldReleased = {
  type: 'HoldReleased',
  data: {
    txId: null,
    holdId: 'B:h-2',
    partnerId: 'B',
    externalId: null,
    memberId: 'm1',
    points: 50,
    reason: 'expired',
    occurredAt: '2026-10-12T12:10:00.000Z',
  },
};

function statementOf(events: MemberEvent[]) {
  const close = prepareClose({ periodId: '2026-10', cutoffPosition: 1_000, closedCutoffs: new Map() });
  const builder = new StatementBuilder(
    { periodId: '2026-10', currency: 'RUB', pointValueMinor: 10, cutoffPosition: 1_000 },
    new Map([
      ['A', [terms(100, 5000)]],
      ['B', [terms(100, 5000)]],
    ]),
  );
  let settled = 0;
  events.forEach((event, i) => {
    const e: LedgerEvent = { streamId: 'member-m1', revision: i, position: i + 1, type: event.type, data: event.data };
    const result = classifyEvent(e, close);
    if (typeof result !== 'object') return;
    builder.add(result);
    settled += 1;
  });
  return { statement: builder.build(), settled };
}

describe('settlement of holds', () => {
  const issued = accrued({ partner: 'A', points: 1_000, date: '2026-10-03', tx: 'a1' });
  const capture = { ...redeemed({ redeemer: 'B', slices: { A: 300 }, date: '2026-10-12', tx: 'cap-1' }) };

  it('settles a capture as the redemption it is, and nothing for the hold events', () => {
    const withHolds = statementOf([issued, hold('B:h-1', 400), capture, captured, hold('B:h-2', 50), lapsed]);
    const redemptionAlone = statementOf([issued, capture]);
    expect(withHolds.settled).toBe(2);
    expect(withHolds.statement).toEqual(redemptionAlone.statement);
    expect(withHolds.statement.matrix).toEqual([expect.objectContaining({ issuerPartnerId: 'A', redeemerPartnerId: 'B', points: 300 })]);
  });
});
