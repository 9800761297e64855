import { useEffect, useMemo, useState } from 'react';
import { download, getJson, messageOf, postJson } from '../api';
import { Chart, ChartOption } from '../chart';
import { instant, majorForChart, money, points } from '../format';
import { ClosePreview, PeriodSummary, Session, Statement } from '../types';
import { Card, Notice, Show, useLoad } from '../ui';

const CSV_TABLES = ['matrix', 'netPositions', 'transfers'] as const;

export function SettlementPage({ session }: { session: Session }) {
  const [periodsLoaded, reloadPeriods] = useLoad(() => getJson<PeriodSummary[]>('/v1/settlements'), []);
  const [periodId, setPeriodId] = useState<string | null>(null);

  useEffect(() => {
    if (periodsLoaded.state !== 'ok' || periodId !== null) return;
    const list = periodsLoaded.value;
    // The newest closed period, else the newest that has ended, else the newest.
    const pick =
      [...list].reverse().find((p) => p.status === 'closed') ?? [...list].reverse().find((p) => p.ended) ?? list[list.length - 1];
    if (pick) setPeriodId(pick.periodId);
  }, [periodsLoaded, periodId]);

  return (
    <div className="page" data-testid="page-settlement">
      <h1>Settlement</h1>
      <Show loaded={periodsLoaded} what="the periods">
        {(periods) =>
          periods.length === 0 ? (
            <Notice testId="no-periods">No transactions yet, so there is no period to settle.</Notice>
          ) : (
            <>
              <div className="toolbar">
                <label htmlFor="period">Period</label>
                <select id="period" value={periodId ?? ''} onChange={(e) => setPeriodId(e.target.value)} data-testid="period-picker">
                  {periods.map((p) => (
                    <option key={p.periodId} value={p.periodId}>
                      {p.periodId} — {p.status === 'closed' ? 'closed' : p.ended ? 'ended, open' : 'running'}
                    </option>
                  ))}
                </select>
              </div>
              {periodId ? (
                <Period
                  key={periodId}
                  session={session}
                  summary={periods.find((p) => p.periodId === periodId)!}
                  onClosed={() => reloadPeriods()}
                />
              ) : null}
            </>
          )
        }
      </Show>
    </div>
  );
}

function Period({ session, summary, onClosed }: { session: Session; summary: PeriodSummary; onClosed: () => void }) {
  if (summary.status === 'open') {
    return (
      <Card title={`Period ${summary.periodId} is open`}>
        <p>
          {summary.ended
            ? `The month ended at ${instant(summary.periodEndsAt)}. Its statement exists once finance closes it.`
            : `The month runs until ${instant(summary.periodEndsAt)}; it can be closed after that.`}
        </p>
        {session.role === 'finance' ? (
          <ClosePeriod periodId={summary.periodId} onClosed={onClosed} />
        ) : (
          <p className="muted">Only a finance key can close a period.</p>
        )}
      </Card>
    );
  }
  return <ClosedPeriod periodId={summary.periodId} session={session} />;
}

function ClosePeriod({ periodId, onClosed }: { periodId: string; onClosed: () => void }) {
  const [preview, setPreview] = useState<ClosePreview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const ask = async () => {
    setError(null);
    try {
      setPreview(await getJson<ClosePreview>(`/v1/settlements/${periodId}/close-preview`));
    } catch (e) {
      setError(messageOf(e));
    }
  };
  const confirm = async () => {
    setBusy(true);
    try {
      await postJson<Statement>('/v1/settlements', { periodId });
      setPreview(null);
      onClosed();
    } catch (e) {
      setError(messageOf(e));
      setPreview(null);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <button onClick={ask} data-testid="close-period">
        Close period {periodId}…
      </button>
      {error ? <Notice kind="error">{error}</Notice> : null}
      {preview ? (
        <div className="modal-backdrop">
          <div className="modal card" role="dialog" aria-modal="true" aria-labelledby="close-title" data-testid="close-dialog">
            <h2 id="close-title">Close {periodId}?</h2>
            {preview.closable ? (
              <>
                <p>
                  The statement will settle every event with a business date from {instant(preview.periodStartsAt)} to before{' '}
                  {instant(preview.periodEndsAt)} recorded up to the cut-off.
                </p>
                <dl className="facts">
                  <dt>Cut-off (log position)</dt>
                  <dd data-testid="close-cutoff">{preview.cutoffPositionNow ?? '—'}</dd>
                  <dt>Last event recorded at</dt>
                  <dd>{instant(preview.headRecordedAt)}</dd>
                </dl>
                <p className="muted small">
                  The cut-off is the head of the log when you confirm: an event recorded meanwhile moves it on, and the statement names the
                  cut-off it used. A closed period never changes; later events for it go to the next close as late adjustments.
                </p>
              </>
            ) : (
              <Notice kind="error">{preview.reason}</Notice>
            )}
            <div className="modal-actions">
              <button className="secondary" onClick={() => setPreview(null)}>
                Cancel
              </button>
              {preview.closable ? (
                <button onClick={confirm} disabled={busy} data-testid="confirm-close">
                  {busy ? 'Closing…' : `Close ${periodId}`}
                </button>
              ) : null}
            </div>
          </div>
        </div>
      ) : null}
    </>
  );
}

function ClosedPeriod({ periodId, session }: { periodId: string; session: Session }) {
  const [loaded] = useLoad(() => getJson<Statement>(`/v1/settlements/${periodId}`), [periodId]);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const save = (path: string, name: string) => download(path, name).catch((e: unknown) => setDownloadError(messageOf(e)));
  return (
    <Show loaded={loaded} what={`the statement of ${periodId}`}>
      {(s) => (
        <>
          <div className="kpis">
            <div className="kpi">
              <div className="kpi-value" data-testid="statement-cutoff">
                {s.cutoffPosition}
              </div>
              <div className="kpi-label">Cut-off (log position)</div>
            </div>
            <div className="kpi">
              <div className="kpi-value">{s.eventCount}</div>
              <div className="kpi-label">Events settled ({s.lateEventCount} late)</div>
            </div>
            <div className="kpi">
              <div className="kpi-value">{money(interPartnerMinor(s), s.currency)}</div>
              <div className="kpi-label">Owed between partners ({points(interPartnerPoints(s))} points)</div>
            </div>
            <div className="kpi">
              <div className="kpi-value">
                {money(
                  s.breakage.reduce((sum, b) => sum + b.amountMinor, 0),
                  s.currency,
                )}
              </div>
              <div className="kpi-label">Breakage ({points(s.breakage.reduce((sum, b) => sum + b.points, 0))} points expired)</div>
            </div>
          </div>
          {session.role === 'partner' ? <Notice>Your own rows of the statement: what you owe and are owed.</Notice> : null}
          <div className="toolbar downloads">
            <span>Download:</span>
            <button
              className="secondary"
              onClick={() => save(`/v1/settlements/${periodId}`, `settlement-${periodId}.json`)}
              data-testid="download-json"
            >
              JSON
            </button>
            {CSV_TABLES.map((t) => (
              <button
                key={t}
                className="secondary"
                onClick={() => save(`/v1/settlements/${periodId}?format=csv&table=${t}`, `settlement-${periodId}-${t}.csv`)}
                data-testid={`download-${t}`}
              >
                {t} CSV
              </button>
            ))}
          </div>
          {downloadError ? <Notice kind="error">{downloadError}</Notice> : null}
          <div className="grid2">
            <Card title="Liability matrix: issuer owes redeemer">
              <MatrixHeatmap s={s} />
            </Card>
            <Card title="Net positions (receivable − payable)">
              <NetPositionsChart s={s} />
            </Card>
          </div>
          <Card title="Liability matrix (points / money)">
            <MatrixTable s={s} />
          </Card>
          <div className="grid2">
            <Card title="Transfers through the clearing account">
              <table data-testid="transfers">
                <thead>
                  <tr>
                    <th>Partner</th>
                    <th>Direction</th>
                    <th className="num">Amount</th>
                  </tr>
                </thead>
                <tbody>
                  {s.transfers.length === 0 ? (
                    <tr>
                      <td colSpan={3} className="muted">
                        No transfers: every partner nets to zero.
                      </td>
                    </tr>
                  ) : (
                    s.transfers.map((t) => (
                      <tr key={t.partnerId}>
                        <td>{t.partnerId}</td>
                        <td className={t.direction === 'pay' ? 'neg' : 'pos'}>{t.direction === 'pay' ? 'pays in' : 'receives'}</td>
                        <td className="num">{money(t.amountMinor, s.currency)}</td>
                      </tr>
                    ))
                  )}
                </tbody>
              </table>
            </Card>
            <Card title="Net positions after fees">
              <table data-testid="net-positions">
                <thead>
                  <tr>
                    <th>Partner</th>
                    <th className="num">Net</th>
                    <th className="num">Issuance fee</th>
                    <th className="num">Breakage share</th>
                    <th className="num">Settles</th>
                  </tr>
                </thead>
                <tbody>
                  {s.netPositions.map((n) => (
                    <tr key={n.partnerId}>
                      <td>{n.partnerId}</td>
                      <td className="num">{money(n.netMinor, s.currency)}</td>
                      <td className="num">{money(n.issuanceFeeMinor, s.currency)}</td>
                      <td className="num">{money(n.breakageShareMinor, s.currency)}</td>
                      <td className="num strong">{money(n.settlementMinor, s.currency)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Card>
          </div>
          <Card title="Late adjustments (events settled here on behalf of an earlier period)">
            {s.lateAdjustments.length === 0 ? (
              <p className="muted" data-testid="late-adjustments-none">
                None in this statement.
              </p>
            ) : (
              <table data-testid="late-adjustments">
                <thead>
                  <tr>
                    <th>Event</th>
                    <th>Business date</th>
                    <th>Business period</th>
                    <th>Why</th>
                    <th>Effects</th>
                  </tr>
                </thead>
                <tbody>
                  {s.lateAdjustments.map((a) => (
                    <tr key={`${a.streamId}@${a.revision}`}>
                      <td>
                        {a.eventType} {a.txId ?? `${a.streamId}@${a.revision}`}
                      </td>
                      <td>{instant(a.occurredAt)}</td>
                      <td>{a.businessPeriodId}</td>
                      <td>
                        {a.reason === 'recorded_after_cutoff' ? 'recorded after that period closed' : `reverses ${a.originalPeriodId}`}
                      </td>
                      <td>
                        {a.effects
                          .map(
                            (e) =>
                              `${e.kind} ${points(e.points)} pts ${e.issuerPartnerId}${e.redeemerPartnerId ? `→${e.redeemerPartnerId}` : ''}`,
                          )
                          .join('; ')}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
          <p className="muted small">
            Statement sha256 <code>{s.sha256}</code>
            {s.eventsMerkleRoot ? (
              <>
                {' '}
                · events Merkle root <code>{s.eventsMerkleRoot}</code>
              </>
            ) : null}
          </p>
        </>
      )}
    </Show>
  );
}

/** The smallest 1, 2, 2.5 or 5 × 10^k at or above x: a round end for an axis. */
function niceCeiling(x: number): number {
  const base = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 2.5, 5, 10].map((m) => m * base).find((v) => v >= x) ?? 10 * base;
}

const offDiagonal = (s: Statement) => s.matrix.filter((l) => !l.selfRedemption);
const interPartnerMinor = (s: Statement) => offDiagonal(s).reduce((sum, l) => sum + l.amountMinor, 0);
const interPartnerPoints = (s: Statement) => offDiagonal(s).reduce((sum, l) => sum + l.points, 0);

/** Partners in the matrix, issuers and redeemers alike, sorted. */
const partiesOf = (s: Statement) => [...new Set(s.matrix.flatMap((l) => [l.issuerPartnerId, l.redeemerPartnerId]))].sort();

function MatrixHeatmap({ s }: { s: Statement }) {
  const option = useMemo<ChartOption>(() => {
    const parties = partiesOf(s);
    const cells = s.matrix.map((l) => [parties.indexOf(l.redeemerPartnerId), parties.indexOf(l.issuerPartnerId), l.points, l.amountMinor]);
    const max = Math.max(1, ...s.matrix.map((l) => Math.abs(l.points)));
    return {
      tooltip: {
        formatter: (p: unknown) => {
          const [x, y, pts, amount] = (p as { data: number[] }).data;
          return `<b>${parties[y]}</b> owes <b>${parties[x]}</b><br/>${points(pts)} points<br/>${money(amount, s.currency)}`;
        },
      },
      grid: { left: 90, right: 80, top: 30, bottom: 50 },
      xAxis: { type: 'category', data: parties, name: 'redeemer', nameLocation: 'middle', nameGap: 30, splitArea: { show: true } },
      // Issuers top to bottom in the same order as the table below.
      yAxis: { type: 'category', data: parties, name: 'issuer', nameLocation: 'start', inverse: true, splitArea: { show: true } },
      // Colour by points (the third value of each cell; the fourth is money, for the tooltip).
      visualMap: {
        dimension: 2,
        min: 0,
        max,
        calculable: false,
        orient: 'vertical',
        right: 0,
        top: 'middle',
        itemHeight: 140,
        text: [points(max), '0'],
        inRange: { color: ['#e6eefc', '#5b8ee6', '#0b2e6b'] },
      },
      series: [
        { type: 'heatmap', data: cells, label: { show: true, formatter: (p: unknown) => points((p as { data: number[] }).data[2]) } },
      ],
    };
  }, [s]);
  if (s.matrix.length === 0) return <Notice>No redemptions were settled in this period.</Notice>;
  return <Chart option={option} height={340} testId="matrix-heatmap" />;
}

function MatrixTable({ s }: { s: Statement }) {
  const parties = partiesOf(s);
  const cell = new Map(s.matrix.map((l) => [`${l.issuerPartnerId}|${l.redeemerPartnerId}`, l]));
  if (parties.length === 0) return <p className="muted">No redemptions were settled in this period.</p>;
  return (
    <table className="matrix" data-testid="matrix-table">
      <thead>
        <tr>
          <th>issuer ↓ / redeemer →</th>
          {parties.map((p) => (
            <th key={p} className="num">
              {p}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {parties.map((issuer) => (
          <tr key={issuer}>
            <th>{issuer}</th>
            {parties.map((redeemer) => {
              const l = cell.get(`${issuer}|${redeemer}`);
              return (
                <td
                  key={redeemer}
                  className={`num${issuer === redeemer ? ' diagonal' : ''}`}
                  data-testid={`cell-${issuer}-${redeemer}`}
                  data-points={l?.points ?? 0}
                  data-amount-minor={l?.amountMinor ?? 0}
                >
                  {l ? (
                    <>
                      {points(l.points)} pts
                      <br />
                      <span className="muted">{money(l.amountMinor, s.currency)}</span>
                    </>
                  ) : (
                    '—'
                  )}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function NetPositionsChart({ s }: { s: Statement }) {
  const option = useMemo<ChartOption>(() => {
    const rows = [...s.netPositions].sort((a, b) => a.netMinor - b.netMinor);
    const largest = Math.max(1, ...rows.map((n) => Math.abs(majorForChart(n.netMinor, s.currency))));
    const reach = niceCeiling(largest * 1.5);
    return {
      tooltip: {
        trigger: 'axis',
        axisPointer: { type: 'shadow' },
        formatter: (ps: unknown) => {
          const i = (ps as { dataIndex: number }[])[0].dataIndex;
          const n = rows[i];
          return `<b>${n.partnerId}</b> ${n.netMinor >= 0 ? 'receives' : 'pays'}<br/>net ${money(n.netMinor, s.currency)}<br/>receivable ${money(n.receivableMinor, s.currency)}<br/>payable ${money(n.payableMinor, s.currency)}`;
        },
      },
      grid: { left: 90, right: 40, top: 20, bottom: 40 },
      // Symmetric around zero, with room for the labels, so payers and receivers diverge from the middle.
      xAxis: { type: 'value', name: s.currency, min: -reach, max: reach, axisLabel: { formatter: (v: number) => String(v) } },
      yAxis: { type: 'category', data: rows.map((n) => n.partnerId) },
      series: [
        {
          type: 'bar',
          barMaxWidth: 44,
          data: rows.map((n) => ({
            value: majorForChart(n.netMinor, s.currency),
            itemStyle: { color: n.netMinor >= 0 ? '#17a673' : '#d64545' },
            // The label sits beyond the bar's end, on its own side of zero.
            label: { show: true, position: n.netMinor >= 0 ? 'right' : 'left', formatter: () => money(n.netMinor, s.currency) },
          })),
          markLine: { silent: true, symbol: 'none', data: [{ xAxis: 0 }], lineStyle: { color: '#555' } },
        },
      ],
    };
  }, [s]);
  if (s.netPositions.length === 0) return <Notice>No net positions in this period.</Notice>;
  return (
    <>
      <Chart option={option} height={340} testId="net-chart" />
      <p className="muted small">Green receives, red pays; the bars sum to zero before fees.</p>
    </>
  );
}
