import { useEffect, useRef, useState } from 'react';
import { getJson, messageOf, postJson } from '../api';
import { VerificationJob } from '../types';
import { Card, Notice } from '../ui';

const POLL_MS = 300;

export function VerifyPage() {
  const [job, setJob] = useState<VerificationJob | null>(null);
  const [error, setError] = useState<string | null>(null);
  const timer = useRef<number | undefined>(undefined);

  useEffect(() => () => window.clearTimeout(timer.current), []);

  const poll = (jobId: string) => {
    timer.current = window.setTimeout(async () => {
      try {
        const next = await getJson<VerificationJob>(`/v1/audit/verifications/${jobId}`);
        setJob(next);
        if (next.status === 'running') poll(jobId);
      } catch (e) {
        setError(messageOf(e));
      }
    }, POLL_MS);
  };

  const start = async () => {
    setError(null);
    setJob(null);
    try {
      const { jobId } = await postJson<{ jobId: string }>('/v1/audit/verifications', {});
      setJob({ jobId, status: 'running', progress: null, report: null, error: null });
      poll(jobId);
    } catch (e) {
      setError(messageOf(e));
    }
  };

  const running = job?.status === 'running';
  const percent = job?.progress && job.progress.total > 0 ? Math.min(100, Math.round((job.progress.done / job.progress.total) * 100)) : 0;
  const report = job?.report;
  return (
    <div className="page" data-testid="page-verify">
      <h1>Verify</h1>
      <Card title="Recompute everything from the log">
        <p>
          Checks every stream's hash chain, the balance invariants, the read models against the events, and recomputes every closed period's
          statement and Merkle root.
        </p>
        <button onClick={start} disabled={running} data-testid="start-verify">
          {running ? 'Verifying…' : 'Start verification'}
        </button>
        {error ? <Notice kind="error">{error}</Notice> : null}
        {running ? (
          <div className="progress" data-testid="verify-progress">
            <div className="progress-bar" style={{ width: `${percent}%` }} />
            <span>
              {job?.progress
                ? `${job.progress.phase === 'log' ? 'Reading the log' : `Recomputing ${job.progress.label ?? 'statements'}`}: ${percent}%`
                : 'Starting…'}
            </span>
          </div>
        ) : null}
        {job?.status === 'error' ? <Notice kind="error">Verification could not run: {job.error}</Notice> : null}
      </Card>
      {report ? (
        <>
          <div className={`verdict ${report.ok ? 'verdict-ok' : 'verdict-bad'}`} data-testid="verify-verdict">
            {report.ok
              ? `Verified: ${report.events} events in ${report.streams} streams, every check holds.`
              : `Diverged: ${report.divergenceCount} finding${report.divergenceCount === 1 ? '' : 's'}.`}
          </div>
          {report.firstDivergence ? (
            <Card title="First divergence">
              <p data-testid="first-divergence">{String(report.firstDivergence.message ?? '')}</p>
              <pre className="small">{JSON.stringify(report.firstDivergence, null, 2)}</pre>
            </Card>
          ) : null}
          <div className="grid2">
            <Card title="Checks">
              <table data-testid="verify-checks">
                <tbody>
                  {report.checks.map((c) => (
                    <tr key={c.name}>
                      <td>{c.name}</td>
                      <td className={c.status === 'failed' ? 'neg' : c.status === 'passed' ? 'pos' : 'muted'}>{c.status}</td>
                      <td className="small">{c.detail}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Card>
            <Card title="Closed periods: Merkle roots">
              {report.periods.length === 0 ? (
                <p className="muted">No period is closed yet.</p>
              ) : (
                <table data-testid="verify-periods">
                  <thead>
                    <tr>
                      <th>Period</th>
                      <th className="num">Cut-off</th>
                      <th className="num">Events</th>
                      <th>Merkle root</th>
                      <th>Status</th>
                    </tr>
                  </thead>
                  <tbody>
                    {report.periods.map((p) => (
                      <tr key={p.periodId}>
                        <td>{p.periodId}</td>
                        <td className="num">{p.cutoffPosition}</td>
                        <td className="num">{p.leafCount}</td>
                        <td>
                          <code className="hash">{p.recomputedMerkleRoot}</code>
                        </td>
                        <td className={p.status === 'ok' ? 'pos' : 'neg'}>{p.status}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </Card>
          </div>
        </>
      ) : null}
    </div>
  );
}
