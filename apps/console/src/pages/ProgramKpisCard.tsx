import { FormEvent, useEffect, useState } from 'react';
import { getJson, messageOf } from '../api';
import { bps, money, points } from '../format';
import { ProgramKpis, ProgramReport, Session } from '../types';
import { Card, Notice } from '../ui';

const DAY_MS = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The last 30 days, today included (UTC): `to` is tomorrow, excluded. */
function defaultWindow(): { from: string; to: string } {
  const tomorrow = Date.parse(`${isoDay(Date.now())}T00:00:00Z`) + DAY_MS;
  return { from: isoDay(tomorrow - 30 * DAY_MS), to: isoDay(tomorrow) };
}

/** GET /v1/reports/program for a chosen window: a row per partner and the programme's total. */
export function ProgramKpisCard({ session }: { session: Session }) {
  const [range, setRange] = useState(defaultWindow);
  const [report, setReport] = useState<ProgramReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const show = async (e?: FormEvent) => {
    e?.preventDefault();
    setLoading(true);
    try {
      const q = `from=${encodeURIComponent(range.from)}&to=${encodeURIComponent(range.to)}`;
      setReport(await getJson<ProgramReport>(`/v1/reports/program?${q}`));
      setError(null);
    } catch (err) {
      setReport(null);
      setError(messageOf(err));
    } finally {
      setLoading(false);
    }
  };

  // The default window at once; another one on Show.
  useEffect(() => {
    if (session.role !== 'partner') void show();
  }, [session]);

  if (session.role === 'partner') {
    return (
      <Card title="Programme KPIs">
        <Notice testId="kpi-note">The programme report names every partner, so it is for finance, auditors and admins.</Notice>
      </Card>
    );
  }

  return (
    <Card title="Programme KPIs">
      <form className="toolbar" onSubmit={show}>
        <label htmlFor="kpi-from">From (UTC day, included)</label>
        <input
          id="kpi-from"
          type="date"
          value={range.from}
          onChange={(e) => setRange({ ...range, from: e.target.value })}
          data-testid="kpi-from"
        />
        <label htmlFor="kpi-to">To (excluded)</label>
        <input id="kpi-to" type="date" value={range.to} onChange={(e) => setRange({ ...range, to: e.target.value })} data-testid="kpi-to" />
        <button type="submit" data-testid="kpi-show" disabled={loading}>
          Show
        </button>
      </form>
      {error ? (
        <Notice kind="error" testId="kpi-error">
          {error}
        </Notice>
      ) : null}
      {report ? (
        <KpiTable report={report} />
      ) : (
        <p className="muted small">
          Pick a window and press Show: members enrolled and active, retention, the 80/20 check, breakage and liability.
        </p>
      )}
    </Card>
  );
}

function KpiTable({ report }: { report: ProgramReport }) {
  const row = (id: string, k: ProgramKpis, total = false) => (
    <tr key={id} data-kpi-row={id} className={total ? 'strong' : undefined}>
      <td>{total ? 'All partners' : id}</td>
      <td className="num" data-testid={`kpi-enrolled-${id}`} data-value={k.enrolled}>
        {points(k.enrolled)}
      </td>
      <td className="num" data-testid={`kpi-active-${id}`} data-value={k.active}>
        {points(k.active)}
      </td>
      <td className="num" data-testid={`kpi-retention-${id}`} data-value={k.retentionBps ?? ''}>
        {bps(k.retentionBps)}
      </td>
      <td className="num">{bps(k.churnBps)}</td>
      <td className="num" data-testid={`kpi-top-share-${id}`} data-value={k.topShareBps ?? ''}>
        {bps(k.topShareBps)}
        <span className="muted small">
          {' '}
          ({k.topEarners} of {k.earners})
        </span>
      </td>
      <td className="num" data-testid={`kpi-breakage-${id}`} data-value={k.breakageBps ?? ''}>
        {bps(k.breakageBps)}
      </td>
      <td className="num">{points(k.outstandingPoints)}</td>
      <td className="num" data-testid={`kpi-liability-${id}`} data-value={k.liabilityMinor}>
        {money(k.liabilityMinor, report.currency)}
      </td>
    </tr>
  );
  return (
    <>
      <table data-testid="kpi-table">
        <thead>
          <tr>
            <th>Partner</th>
            <th className="num">Enrolled</th>
            <th className="num">Active</th>
            <th className="num">Retention</th>
            <th className="num">Churn</th>
            <th className="num">Top 20 % earn</th>
            <th className="num">Breakage</th>
            <th className="num">Outstanding points</th>
            <th className="num">Liability at end</th>
          </tr>
        </thead>
        <tbody>
          {report.partners.map((p) => row(p.partnerId, p))}
          {row('total', report.total, true)}
        </tbody>
      </table>
      <p className="muted small" data-testid="kpi-window">
        {report.from} to {report.to} (excluded), {report.days} days, compared with the {report.days} days from {report.previousFrom}; as of
        log position {report.asOfPosition ?? '—'}. Active: a transaction posted at the partner. Retention: share of the previous
        window&apos;s active members active again. Top 20 %: share of points earned by the top ceil(20 %) of earners. Breakage: expired ÷
        issued, for lots expiring in the window (issuer), as far as expiries are recorded. Enrolled by no partner counts in the total only.
      </p>
    </>
  );
}
