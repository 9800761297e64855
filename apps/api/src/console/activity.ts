import { ReadModelReader } from '@ledger/projections';

/** Points moved in one UTC calendar month (by business date), from the transaction index. */
export interface MonthlyActivity {
  month: string;
  pointsIssued: number;
  pointsRedeemed: number;
  /** Refunded accruals and cancelled redemptions, by the month of the reversal. */
  pointsAccrualReversed: number;
  pointsRedemptionReversed: number;
}

interface Row {
  month: string;
  kind: string;
  points: number;
}

/**
 * Monthly sums over the read store's transaction index. A partner's view counts what it
 * issued and what was redeemed at it (its own transactions); staff see the whole coalition.
 * Expiries are not transactions: breakage per month comes from the closed statements.
 */
export function monthlyActivity(reader: ReadModelReader, partnerId?: string): MonthlyActivity[] {
  const where = partnerId === undefined ? '' : 'WHERE partner_id = ?';
  const rows = reader.store.db
    .prepare<unknown[], Row>(
      `SELECT substr(occurred_at, 1, 7) AS month, kind, SUM(points) AS points
       FROM transactions ${where} GROUP BY month, kind ORDER BY month`,
    )
    .all(...(partnerId === undefined ? [] : [partnerId]));
  const months = new Map<string, MonthlyActivity>();
  for (const row of rows) {
    let m = months.get(row.month);
    if (m === undefined) {
      m = { month: row.month, pointsIssued: 0, pointsRedeemed: 0, pointsAccrualReversed: 0, pointsRedemptionReversed: 0 };
      months.set(row.month, m);
    }
    if (row.kind === 'accrual') m.pointsIssued += row.points;
    else if (row.kind === 'redemption') m.pointsRedeemed += row.points;
    else if (row.kind === 'accrual_reversal') m.pointsAccrualReversed += row.points;
    else if (row.kind === 'redemption_reversal') m.pointsRedemptionReversed += row.points;
  }
  return [...months.values()];
}

/** The first and last business month in the transaction index, or undefined when it is empty. */
export function activityMonthRange(reader: ReadModelReader): { first: string; last: string } | undefined {
  const row = reader.store.db
    .prepare<[], { first: string | null; last: string | null }>(
      'SELECT substr(MIN(occurred_at), 1, 7) AS first, substr(MAX(occurred_at), 1, 7) AS last FROM transactions',
    )
    .get();
  return row?.first && row.last ? { first: row.first, last: row.last } : undefined;
}
