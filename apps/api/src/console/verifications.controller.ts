import { Body, Controller, Get, HttpCode, Inject, NotFoundException, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { IsOptional, IsUUID, Matches } from 'class-validator';
import { CLOCK, Clock } from '@ledger/application';
import { PERIOD_ID_PATTERN } from '@ledger/settlement';
import { Roles } from '../http/auth';
import { errorBody } from '../http/error-body';
import { VerificationJob, VerificationJobs } from './verification-jobs';

export class StartVerificationRequest {
  /** Only this period's statement and root (the log is still checked whole). */
  @IsOptional()
  @Matches(PERIOD_ID_PATTERN, { message: 'must be a calendar month YYYY-MM' })
  period?: string;
}

export class VerificationIdParam {
  @IsUUID('4', { message: 'must be a job id returned by POST /v1/audit/verifications' })
  jobId!: string;
}

/** Asynchronous verify: start, then poll for progress and the report. Auditors only, like GET /v1/audit/verify. */
@Controller('v1/audit/verifications')
export class VerificationsController {
  constructor(
    private readonly jobs: VerificationJobs,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post()
  @HttpCode(202)
  @Roles('auditor')
  start(@Body() body: StartVerificationRequest, @Res({ passthrough: true }) reply: FastifyReply): { jobId: string; status: string } {
    const job = this.jobs.start(body?.period, this.clock.now());
    void reply.header('Location', `/v1/audit/verifications/${job.jobId}`);
    return { jobId: job.jobId, status: job.status };
  }

  @Get(':jobId')
  @Roles('auditor')
  get(@Param() { jobId }: VerificationIdParam): VerificationJob {
    const job = this.jobs.get(jobId);
    if (!job)
      throw new NotFoundException(
        errorBody(404, 'verification_not_found', `verification ${jobId} not found (jobs live in one API process)`),
      );
    return job;
  }
}
