import { FormEvent, useMemo, useState } from 'react';
import { getJson, messageOf } from '../api';
import { Chart, ChartOption } from '../chart';
import { day, instant, points } from '../format';
import { MemberBalance, PartnerMemberView, ReplayEntry, Session, StreamReplay } from '../types';
import { Card, Notice, Show, useLoad } from '../ui';

const CARD_NUMBER = /^[0-9]{12,19}$/;

export function MemberAuditPage({ session }: { session: Session }) {
  const [query, setQuery] = useState('');
  const [memberId, setMemberId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const search = async (e: FormEvent) => {
    e.preventDefault();
    const text = query.trim();
    if (!text) return;
    setError(null);
    try {
      // A card number is all digits; anything else is taken as a member id.
      if (CARD_NUMBER.test(text)) {
        setMemberId((await getJson<{ memberId: string }>(`/v1/members?cardNumber=${encodeURIComponent(text)}`)).memberId);
      } else {
        setMemberId(text);
      }
    } catch (err) {
      setMemberId(null);
      setError(messageOf(err));
    }
  };

  return (
    <div className="page" data-testid="page-members">
      <h1>Member audit</h1>
      <form className="toolbar" onSubmit={search}>
        <label htmlFor="member-search">Member id or card number</label>
        <input
          id="member-search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          placeholder="demo-member-01"
          data-testid="member-search"
        />
        <button type="submit" data-testid="member-search-go">
          Find
        </button>
      </form>
      {session.role === 'partner' ? (
        <p className="muted small">
          A partner sees a member's balance, the lots it issued and the transactions it posted itself; other partners' points only as one
          sum.
        </p>
      ) : null}
      {error ? <Notice kind="error">{error}</Notice> : null}
      {memberId ? (
        session.role === 'partner' ? (
          <PartnerMember key={memberId} memberId={memberId} />
        ) : (
          <Member key={memberId} memberId={memberId} session={session} />
        )
      ) : null}
    </div>
  );
}

function Member({ memberId, session }: { memberId: string; session: Session }) {
  const id = encodeURIComponent(memberId);
  // The auditor's stream replay; finance reads the same through the member's history route.
  const historyPath =
    session.role === 'auditor' || session.role === 'admin' ? `/v1/audit/streams/member-${id}` : `/v1/members/${id}/history`;
  const [loaded] = useLoad(
    async () => ({ balance: await getJson<MemberBalance>(`/v1/members/${id}`), history: await getJson<StreamReplay>(historyPath) }),
    [memberId],
  );
  return (
    <Show loaded={loaded} what={`member ${memberId}`}>
      {({ balance, history }) => (
        <>
          <div className="kpis">
            <div className="kpi">
              <div className="kpi-value" data-testid="member-available">
                {points(balance.available)}
              </div>
              <div className="kpi-label">Available points of {balance.memberId}</div>
            </div>
            <div className="kpi">
              <div className="kpi-value">{points(balance.held)}</div>
              <div className="kpi-label">On hold</div>
            </div>
            <div className="kpi">
              <div className="kpi-value">{points(balance.lifetimeAccrued)}</div>
              <div className="kpi-label">Earned, lifetime</div>
            </div>
            <div className="kpi">
              <div className="kpi-value">{points(balance.lifetimeRedeemed)}</div>
              <div className="kpi-label">Redeemed, lifetime</div>
            </div>
          </div>
          <div className="grid2">
            <Card title="Running balance">
              <BalanceChart events={history.events} />
            </Card>
            <Card title="Balance as of a date">
              <AsOf memberId={memberId} />
            </Card>
          </div>
          <Card title={`History (${history.events.length} of ${history.eventCount} events)`}>
            <HistoryTable events={history.events} />
          </Card>
          <Card title="Open lots">
            {balance.lots.length === 0 ? (
              <p className="muted">No open lots.</p>
            ) : (
              <table data-testid="lots">
                <thead>
                  <tr>
                    <th>Lot</th>
                    <th>Issuer</th>
                    <th className="num">Points left</th>
                    <th>Expires</th>
                  </tr>
                </thead>
                <tbody>
                  {balance.lots.map((l) => (
                    <tr key={l.lotId}>
                      <td>{l.lotId}</td>
                      <td>{l.issuerPartnerId}</td>
                      <td className="num">{points(l.points)}</td>
                      <td>{day(l.expiresAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
        </>
      )}
    </Show>
  );
}

const signedPoints = (e: ReplayEntry): string => {
  const n = e.data.points;
  if (typeof n !== 'number') return '';
  // A capture's points are in the PointsRedeemed it comes with; a hold takes points out of
  // the available balance until it is released.
  if (e.type === 'HoldCaptured') return '';
  const out = ['PointsRedeemed', 'AccrualReversed', 'PointsExpired', 'PointsHeld'].includes(e.type);
  return `${out ? '−' : '+'}${points(n)}`;
};

function BalanceChart({ events }: { events: ReplayEntry[] }) {
  const option = useMemo<ChartOption>(() => {
    // In log order (revision): business dates may be backdated, so they are not monotonic.
    const withBalance = events.filter((e) => e.balanceAfter);
    return {
      tooltip: {
        trigger: 'axis',
        formatter: (ps: unknown) => {
          const e = withBalance[(ps as { dataIndex: number }[])[0].dataIndex];
          return `#${e.revision} ${e.type}<br/>business time ${instant(e.occurredAt)}<br/>balance ${points(e.balanceAfter!.available)}`;
        },
      },
      grid: { left: 56, right: 24, top: 20, bottom: 40 },
      xAxis: {
        type: 'category',
        name: 'event (revision)',
        nameLocation: 'middle',
        nameGap: 26,
        data: withBalance.map((e) => String(e.revision)),
      },
      yAxis: { type: 'value', name: 'points' },
      series: [
        {
          type: 'line',
          step: 'end',
          name: 'available',
          data: withBalance.map((e) => e.balanceAfter!.available),
          itemStyle: { color: '#2f6fdf' },
          areaStyle: { opacity: 0.08 },
        },
      ],
    };
  }, [events]);
  if (events.length === 0) return <p className="muted">No events to chart.</p>;
  return <Chart option={option} height={280} testId="balance-chart" />;
}

function HistoryTable({ events }: { events: ReplayEntry[] }) {
  if (events.length === 0) return <p className="muted">No events you may see.</p>;
  return (
    <div className="scroll">
      <table data-testid="history">
        <thead>
          <tr>
            <th className="num">Rev</th>
            <th>Event</th>
            <th>Business time</th>
            <th>Recorded</th>
            <th>Partner</th>
            <th className="num">Points</th>
            <th className="num">Balance after</th>
            <th>Chain</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.revision}>
              <td className="num">{e.revision}</td>
              <td>{e.type}</td>
              <td>{instant(e.occurredAt)}</td>
              <td>{instant(e.recordedAt)}</td>
              <td>{e.data.partnerId ?? e.data.issuerPartnerId ?? ''}</td>
              <td className="num">{signedPoints(e)}</td>
              <td className="num" data-testid="balance-after">
                {e.balanceAfter ? points(e.balanceAfter.available) : '—'}
              </td>
              <td className={e.chainOk ? 'pos' : 'neg'}>{e.chainOk ? 'ok' : 'broken'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function AsOf({ memberId }: { memberId: string }) {
  const [date, setDate] = useState('');
  const [result, setResult] = useState<{ at: string; balance: MemberBalance | PartnerMemberView } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const ask = async (e: FormEvent) => {
    e.preventDefault();
    if (!date) return;
    setError(null);
    // The end of the chosen day, UTC: everything recorded on it counts.
    const at = `${date}T23:59:59Z`;
    try {
      setResult({
        at,
        balance: await getJson<MemberBalance>(`/v1/members/${encodeURIComponent(memberId)}?asOf=${encodeURIComponent(at)}`),
      });
    } catch (err) {
      setResult(null);
      setError(messageOf(err));
    }
  };
  return (
    <>
      <form className="toolbar" onSubmit={ask}>
        <label htmlFor="as-of">End of day (UTC)</label>
        <input id="as-of" type="date" value={date} onChange={(e) => setDate(e.target.value)} data-testid="as-of-date" />
        <button type="submit" data-testid="as-of-go">
          Show
        </button>
      </form>
      {error ? <Notice kind="error">{error}</Notice> : null}
      {result ? (
        <dl className="facts" data-testid="as-of-result">
          <dt>As of</dt>
          <dd>{instant(result.at)} (recorded time)</dd>
          <dt>Available</dt>
          <dd data-testid="as-of-available">{points(result.balance.available)} points</dd>
          <dt>Open lots</dt>
          <dd>{'lots' in result.balance ? result.balance.lots.length : `${result.balance.ownLots.length} of yours`}</dd>
        </dl>
      ) : (
        <p className="muted small">Folds the member's events recorded up to the end of the chosen day (?asOf=).</p>
      )}
    </>
  );
}

/** A partner's view: the member's totals, its own lots and its own transactions with the member. */
function PartnerMember({ memberId }: { memberId: string }) {
  const [loaded] = useLoad(() => getJson<PartnerMemberView>(`/v1/members/${encodeURIComponent(memberId)}`), [memberId]);
  return (
    <Show loaded={loaded} what={`member ${memberId}`}>
      {(m) => (
        <>
          <div className="kpis">
            <div className="kpi">
              <div className="kpi-value" data-testid="member-available">
                {points(m.available)}
              </div>
              <div className="kpi-label">Available points of {m.memberId}</div>
            </div>
            <div className="kpi">
              <div className="kpi-value">{points(m.expiringSoon.points)}</div>
              <div className="kpi-label">Expiring by {day(m.expiringSoon.until)}</div>
            </div>
            <div className="kpi">
              <div className="kpi-value">{points(m.ownLots.reduce((sum, l) => sum + l.points, 0))}</div>
              <div className="kpi-label">Open points you issued</div>
            </div>
            <div className="kpi">
              <div className="kpi-value">{points(m.otherIssuersPoints)}</div>
              <div className="kpi-label">Open points of other issuers</div>
            </div>
          </div>
          <div className="grid2">
            <Card title={`Your transactions with this member (${m.transactions.length} of ${m.transactionCount})`}>
              {m.transactions.length === 0 ? (
                <p className="muted">None.</p>
              ) : (
                <table data-testid="partner-transactions">
                  <thead>
                    <tr>
                      <th>Transaction</th>
                      <th>Kind</th>
                      <th>Business time</th>
                      <th className="num">Points</th>
                    </tr>
                  </thead>
                  <tbody>
                    {m.transactions.map((t) => (
                      <tr key={t.txId} data-tx={t.txId}>
                        <td>{t.txId}</td>
                        <td>{t.kind.replace('_', ' ')}</td>
                        <td>{instant(t.occurredAt)}</td>
                        <td className="num">{points(t.points)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </Card>
            <Card title="Balance as of a date">
              <AsOf memberId={memberId} />
            </Card>
          </div>
          <Card title="Open lots you issued">
            {m.ownLots.length === 0 ? (
              <p className="muted">No open lots of yours.</p>
            ) : (
              <table data-testid="lots">
                <thead>
                  <tr>
                    <th>Lot</th>
                    <th className="num">Points left</th>
                    <th>Expires</th>
                  </tr>
                </thead>
                <tbody>
                  {m.ownLots.map((l) => (
                    <tr key={l.lotId}>
                      <td>{l.lotId}</td>
                      <td className="num">{points(l.points)}</td>
                      <td>{day(l.expiresAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
        </>
      )}
    </Show>
  );
}
