import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { VerifyPhase, VerifyReport } from '@ledger/audit';
import { VerifyLedgerQuery } from '../audit/audit.queries';

export interface VerificationProgress {
  phase: VerifyPhase;
  /** Log positions reached and to reach in this phase (statements: of `label`'s cut-off). */
  done: number;
  total: number;
  /** In the statements phase, the period being recomputed. */
  label: string | null;
}

export interface VerificationJob {
  jobId: string;
  /** `done`: the report is there (its `ok` says green or red); `error`: verify itself failed. */
  status: 'running' | 'done' | 'error';
  period: string | null;
  startedAt: string;
  finishedAt: string | null;
  progress: VerificationProgress | null;
  report: VerifyReport | null;
  error: string | null;
}

/** Finished jobs kept for polling; the oldest go first. */
const JOBS_KEPT_MAX = 20;

/**
 * Verifications run in the background so a caller can watch their progress (the synchronous
 * GET /v1/audit/verify answers only at the end). They run one at a time, through the same
 * query handler as the synchronous route; jobs live in this process only.
 */
@Injectable()
export class VerificationJobs {
  private readonly logger = new Logger('Verification');
  private readonly jobs = new Map<string, VerificationJob>();

  constructor(private readonly queries: QueryBus) {}

  start(period: string | undefined, now: Date): VerificationJob {
    const job: VerificationJob = {
      jobId: randomUUID(),
      status: 'running',
      period: period ?? null,
      startedAt: now.toISOString(),
      finishedAt: null,
      progress: null,
      report: null,
      error: null,
    };
    this.jobs.set(job.jobId, job);
    this.forgetOldJobs();
    const onProgress = (phase: VerifyPhase, done: number, total: number, label?: string) => {
      job.progress = { phase, done, total, label: label ?? null };
    };
    this.queries.execute<VerifyLedgerQuery, VerifyReport>(new VerifyLedgerQuery(period, onProgress)).then(
      (report) => {
        job.report = report;
        job.status = 'done';
        job.finishedAt = new Date().toISOString();
      },
      (error: unknown) => {
        // The caller polls for the outcome; the message is the domain's, never a stack.
        job.error = error instanceof Error ? error.message : String(error);
        job.status = 'error';
        job.finishedAt = new Date().toISOString();
        this.logger.warn(`verification ${job.jobId} failed: ${job.error}`);
      },
    );
    return job;
  }

  get(jobId: string): VerificationJob | undefined {
    return this.jobs.get(jobId);
  }

  private forgetOldJobs(): void {
    for (const [id, job] of this.jobs) {
      if (this.jobs.size <= JOBS_KEPT_MAX) return;
      if (job.status !== 'running') this.jobs.delete(id);
    }
  }
}
