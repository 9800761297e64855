import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { DomainError } from '@ledger/domain';
import { errorBody } from '../http/error-body';
import { ProjectionMonitor, ProjectionStatus } from '../projections/projection-monitor';

export const READY_MAX_LAG = 'ledger:readyMaxLag';
/** A store that does not answer a readiness read within this is unreachable for the probe. */
export const READY_CHECK_TIMEOUT_MS = 2_000;

/** Liveness (the process answers) and readiness (it can do its work now). */
@Controller('health')
export class HealthController {
  constructor(
    private readonly projection: ProjectionMonitor,
    @Inject(READY_MAX_LAG) private readonly maxLagEvents: number,
  ) {}

  @Get()
  health() {
    return { status: 'ok' };
  }

  /** 503 while the event store does not answer or the read models trail it by more than LEDGER_READY_MAX_LAG events. */
  @Get('ready')
  async ready() {
    let status: ProjectionStatus;
    try {
      status = await withTimeout(this.projection.status(), READY_CHECK_TIMEOUT_MS);
    } catch (error) {
      // The read store not being there yet (an external projector not started) is its own reason.
      if (error instanceof DomainError && error.kind === 'unavailable') {
        throw new ServiceUnavailableException(errorBody(503, error.code, error.message));
      }
      const reason = error instanceof Error ? error.message : String(error);
      throw new ServiceUnavailableException(errorBody(503, 'store_unreachable', `the event store did not answer: ${reason}`));
    }
    if (status.lagEvents > this.maxLagEvents) {
      throw new ServiceUnavailableException(
        errorBody(
          503,
          'projection_behind',
          `the read models are ${status.lagEvents} events behind the log (at most ${this.maxLagEvents} allowed)`,
        ),
      );
    }
    return { status: 'ready', position: status.position ?? null, lagEvents: status.lagEvents, lagSeconds: status.lagSeconds };
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
