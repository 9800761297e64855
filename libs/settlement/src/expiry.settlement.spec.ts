import { MemberEvent, decideMember, evolveMember, initialMember } from '@ledger/domain';
import { LedgerEvent } from './money-events';
import { classifyEvent, prepareClose } from './membership';
import { accrued, terms } from './settlement.fixtures';
import { StatementBuilder } from './statement';

/**
 * The expiry job's PointsExpired is breakage of the lot's issuer, valued as the lot was
 * issued, in the period of the lot's expiry (its business date), not of the job's run.
 */
function statementOf(periodId: string, events: readonly MemberEvent[]) {
  const close = prepareClose({ periodId, cutoffPosition: 1_000, closedCutoffs: new Map() });
  const builder = new StatementBuilder(
    { periodId, currency: 'RUB', pointValueMinor: 10, cutoffPosition: 1_000 },
    new Map([
      ['A', [terms(100, 5000)]],
      ['B', [terms(100, 2500)]],
    ]),
  );
  events.forEach((event, i) => {
    const e: LedgerEvent = { streamId: 'member-m1', revision: i, position: i + 1, type: event.type, data: event.data };
    const result = classifyEvent(e, close);
    if (typeof result === 'object') builder.add(result);
  });
  return builder.build();
}

describe('settlement of expiries', () => {
  // A's lot (issued at 12 kopecks a point) expires on 20 October, B's on 3 November; the job runs on 5 November.
  const lot = (partner: string, points: number, date: string, expiresAt: string, pv?: number): MemberEvent => {
    const e = accrued({ partner, points, date, tx: `${partner.toLowerCase()}1`, pv });
    return { ...e, data: { ...e.data, expiresAt } };
  };
  const history: MemberEvent[] = [
    {
      type: 'MemberEnrolled',
      data: { memberId: 'm1', cardNumber: '4111111111111111', birthDate: null, enrolledBy: null, occurredAt: '2025-01-01T00:00:00.000Z' },
    },
    lot('A', 333, '2025-10-20', '2026-10-20T12:00:00.000Z', 12),
    lot('B', 45, '2025-11-03', '2026-11-03T12:00:00.000Z'),
  ];
  const state = history.reduce((s, e) => evolveMember(s, e), initialMember());
  const lapses = decideMember(
    { type: 'ExpireDueLots', data: { memberId: 'm1', until: '2026-11-05T08:00:00.000Z' }, context: { coalitionCurrency: 'RUB' } },
    state,
    new Date('2026-11-05T08:00:00.000Z'),
  );

  it('the job lapses both lots, each dated at its expiry', () => {
    expect(lapses.map((e) => [e.type, (e.data as { occurredAt: string }).occurredAt])).toEqual([
      ['PointsExpired', '2026-10-20T12:00:00.000Z'],
      ['PointsExpired', '2026-11-03T12:00:00.000Z'],
    ]);
  });

  it('October has A’s breakage at the value it was issued at, with A’s operator share; November has B’s', () => {
    const october = statementOf('2026-10', [...history, ...lapses]);
    // 333 × 12 = 3996 minor; 50 % = 1998.
    expect(october.breakage).toEqual([
      expect.objectContaining({ issuerPartnerId: 'A', points: 333, amountMinor: 3996, operatorShareMinor: 1998 }),
    ]);
    const november = statementOf('2026-11', [...history, ...lapses]);
    // 45 × 10 = 450; 25 % = 112.5 → 112.
    expect(november.breakage).toEqual([
      expect.objectContaining({ issuerPartnerId: 'B', points: 45, amountMinor: 450, operatorShareMinor: 112 }),
    ]);
    expect(november.netPositions.find((p) => p.partnerId === 'B')).toMatchObject({ breakageShareMinor: 112 });
  });
});
