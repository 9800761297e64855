import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Roles } from './auth';
import { LedgerMetrics } from './metrics';

/** Prometheus text on the API port, for admin keys; LEDGER_METRICS_PORT serves it without a key. */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: LedgerMetrics) {}

  @Get()
  @Roles('admin')
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.header('Content-Type', this.metrics.contentType);
    return this.metrics.text();
  }
}
