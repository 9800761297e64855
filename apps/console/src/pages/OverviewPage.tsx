import { useMemo } from 'react';
import { getJson } from '../api';
import { Chart, ChartOption } from '../chart';
import { money, points } from '../format';
import { MonthlyActivity, PartnerPosition, PeriodSummary, Session, Statement } from '../types';
import { Card, Notice, Show, useLoad } from '../ui';
import { ProgramKpisCard } from './ProgramKpisCard';

interface OverviewData {
  positions: PartnerPosition[];
  months: MonthlyActivity[] | null;
  /** Breakage by period, from the statements of closed periods. */
  breakage: Map<string, { points: number; amountMinor: number }>;
  currency: string | null;
}

async function loadOverview(session: Session): Promise<OverviewData> {
  const positions =
    session.role === 'partner'
      ? [await getJson<PartnerPosition>(`/v1/partners/${encodeURIComponent(session.partnerId ?? '')}/position`)]
      : await getJson<PartnerPosition[]>('/v1/partners');
  // The monthly sums need the SQLite read store; elsewhere the chart says so instead.
  const months = await getJson<{ months: MonthlyActivity[] }>('/v1/activity/monthly').then(
    (a) => a.months,
    () => null,
  );
  const periods = await getJson<PeriodSummary[]>('/v1/settlements');
  const breakage = new Map<string, { points: number; amountMinor: number }>();
  for (const p of periods.filter((q) => q.status === 'closed')) {
    const s = await getJson<Statement>(`/v1/settlements/${p.periodId}`);
    // Summed from the breakage lines, which a partner's view of the statement keeps (its own).
    breakage.set(p.periodId, {
      points: s.breakage.reduce((sum, b) => sum + b.points, 0),
      amountMinor: s.breakage.reduce((sum, b) => sum + b.amountMinor, 0),
    });
  }
  return { positions, months, breakage, currency: positions[0]?.currency ?? null };
}

export function OverviewPage({ session }: { session: Session }) {
  const [loaded] = useLoad(() => loadOverview(session), [session]);
  return (
    <div className="page" data-testid="page-overview">
      <h1>{session.role === 'partner' ? `Overview: ${session.partnerId}` : 'Coalition overview'}</h1>
      <Show loaded={loaded} what="the coalition">
        {(data) => <Overview data={data} session={session} />}
      </Show>
    </div>
  );
}

function Overview({ data, session }: { data: OverviewData; session: Session }) {
  const { positions, breakage, currency } = data;
  const months = useMemo(() => data.months ?? [], [data.months]);
  const totalLiability = positions.reduce((sum, p) => sum + p.liabilityMinor, 0);
  const totalOutstanding = positions.reduce((sum, p) => sum + p.pointsOutstanding, 0);
  const chart = useMemo<ChartOption>(() => {
    const labels = [...new Set([...months.map((m) => m.month), ...breakage.keys()])].sort();
    const byMonth = new Map(months.map((m) => [m.month, m]));
    return {
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 56, right: 24, top: 40, bottom: 32 },
      xAxis: { type: 'category', data: labels },
      yAxis: { type: 'value', name: 'points' },
      series: [
        { name: 'Issued', type: 'bar', data: labels.map((m) => byMonth.get(m)?.pointsIssued ?? 0), itemStyle: { color: '#2f6fdf' } },
        { name: 'Redeemed', type: 'bar', data: labels.map((m) => byMonth.get(m)?.pointsRedeemed ?? 0), itemStyle: { color: '#17a673' } },
        {
          name: 'Breakage (expired, closed periods)',
          type: 'line',
          data: labels.map((m) => breakage.get(m)?.points ?? null),
          itemStyle: { color: '#d9822b' },
          connectNulls: false,
        },
      ],
    };
  }, [months, breakage]);

  if (positions.length === 0) {
    return (
      <Notice testId="empty-coalition">
        This coalition has no partners yet, so there are no positions to show. An admin adds partners with POST /v1/partners.
      </Notice>
    );
  }
  return (
    <>
      <div className="kpis">
        <Kpi
          label={session.role === 'partner' ? 'Your outstanding liability' : 'Outstanding liability, all partners'}
          value={money(totalLiability, currency)}
        />
        <Kpi label="Points outstanding" value={points(totalOutstanding)} />
        <Kpi label="Partners" value={String(positions.length)} />
        <Kpi label="Closed periods" value={String(breakage.size)} />
      </div>
      <Card title={session.role === 'partner' ? 'Your position' : 'Partner positions'}>
        <table data-testid="positions">
          <thead>
            <tr>
              <th>Partner</th>
              <th className="num">Issued</th>
              <th className="num">Redeemed here</th>
              <th className="num">Redeemed elsewhere</th>
              <th className="num">Expired</th>
              <th className="num">Reversed</th>
              <th className="num">Outstanding points</th>
              <th className="num">Outstanding liability</th>
            </tr>
          </thead>
          <tbody>
            {positions.map((p) => (
              <tr key={p.partnerId} data-partner={p.partnerId}>
                <td>{p.partnerId}</td>
                <td className="num">{points(p.pointsIssued)}</td>
                <td className="num">{points(p.pointsRedeemedAt)}</td>
                <td className="num">{points(p.pointsRedeemedElsewhere)}</td>
                <td className="num">{points(p.pointsExpired)}</td>
                <td className="num">{points(p.pointsReversed)}</td>
                <td className="num">{points(p.pointsOutstanding)}</td>
                <td className="num strong" data-testid={`liability-${p.partnerId}`} data-liability-minor={p.liabilityMinor}>
                  {money(p.liabilityMinor, p.currency)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      <Card title="Points issued and redeemed per month (business date)">
        {data.months === null ? (
          <Notice>Monthly activity is not available from this API&apos;s read store.</Notice>
        ) : months.length === 0 ? (
          <Notice>No transactions yet.</Notice>
        ) : (
          <Chart option={chart} testId="activity-chart" />
        )}
        <p className="muted small">
          Breakage (points expired) is shown for closed periods, from their statements
          {breakage.size === 0 ? ': no period is closed yet' : ''}.
          {session.role === 'partner' ? ' Your own transactions only: issued by you, redeemed at you.' : ''}
        </p>
      </Card>
      <ProgramKpisCard session={session} />
    </>
  );
}

function Kpi({ label, value }: { label: string; value: string }) {
  return (
    <div className="kpi">
      <div className="kpi-value">{value}</div>
      <div className="kpi-label">{label}</div>
    </div>
  );
}
