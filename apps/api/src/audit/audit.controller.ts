import { Controller, Get, Inject, Param, Query, StreamableFile } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { Readable } from 'node:stream';
import { InvalidInput } from '@ledger/domain';
import { EVENT_STORE, EventStore, RecordedEvent } from '@ledger/event-store';
import {
  AS_OF_NOW,
  AsOf,
  InclusionProofDocument,
  MemberAsOf,
  PartnerPositionAsOf,
  StreamReplay,
  VerifyReport,
  exportLine,
  parseAsOf,
  parseReplayBound,
} from '@ledger/audit';
import { Roles } from '../http/auth';
import { LedgerMetrics } from '../http/metrics';
import { MemberAsOfQuery, PartnerPositionAsOfQuery, ProvePeriodEventQuery, ReplayStreamQuery, VerifyLedgerQuery } from './audit.queries';
import {
  AsOfQueryParams,
  AuditMemberParam,
  AuditPartnerParam,
  ExportQueryParams,
  ProofParams,
  ReplayQueryParams,
  StreamIdParam,
  VerifyQueryParams,
} from './audit.requests';

/** `?asOf=` as a moment; absent means the head of the log now. */
export const asOfOrHead = (raw: string | undefined): AsOf => (raw === undefined ? AS_OF_NOW : parseAsOf(raw));

/**
 * For a route that reads `@Query('asOf') asOf: unknown` (as the members and positions
 * routes read `minPosition`): undefined when absent, else the moment, or a 400 naming `asOf`.
 */
export function parseAsOfParam(raw: unknown): AsOf | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new InvalidInput('asOf', 'must be a log position (a whole number) or an ISO 8601 time with a zone');
  return parseAsOf(raw, 'asOf');
}

const EXPORT_PAGE = 2_000;

/**
 * The auditor's view (docs/architecture.md, "Audit"): replay, balances as of any moment, verify,
 * inclusion proofs, export. Read-only by construction: every route is a GET over the event
 * store.
 */
@Controller('v1/audit')
export class AuditController {
  constructor(
    private readonly queries: QueryBus,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly metrics: LedgerMetrics,
  ) {}

  @Get('streams/:streamId')
  @Roles('auditor', 'admin')
  replay(@Param() { streamId }: StreamIdParam, @Query() q: ReplayQueryParams): Promise<StreamReplay> {
    const from = q.from === undefined ? undefined : parseReplayBound(q.from, 'from');
    const to = q.to === undefined ? undefined : parseReplayBound(q.to, 'to');
    return this.queries.execute(new ReplayStreamQuery(streamId, { from, to }));
  }

  @Get('verify')
  @Roles('auditor')
  verify(@Query() { period }: VerifyQueryParams): Promise<VerifyReport> {
    return this.metrics.time(this.metrics.verifyDuration, () => this.queries.execute(new VerifyLedgerQuery(period)));
  }

  @Get('members/:memberId')
  @Roles('auditor', 'finance', 'admin')
  memberAsOf(@Param() { memberId }: AuditMemberParam, @Query() { asOf }: AsOfQueryParams): Promise<MemberAsOf> {
    return this.queries.execute(new MemberAsOfQuery(memberId, asOfOrHead(asOf)));
  }

  @Get('partners/:partnerId/position')
  @Roles('auditor', 'finance', 'admin')
  partnerPositionAsOf(@Param() { partnerId }: AuditPartnerParam, @Query() { asOf }: AsOfQueryParams): Promise<PartnerPositionAsOf> {
    return this.queries.execute(new PartnerPositionAsOfQuery(partnerId, asOfOrHead(asOf)));
  }

  @Get('periods/:periodId/proofs/:eventId')
  @Roles('auditor', 'finance')
  prove(@Param() { periodId, eventId }: ProofParams): Promise<InclusionProofDocument> {
    return this.queries.execute(new ProvePeriodEventQuery(periodId, eventId));
  }

  /** The log (or one stream) as JSON Lines, streamed page by page: the format `ledger import` reads. */
  @Get('export')
  @Roles('auditor')
  export(@Query() { stream }: ExportQueryParams): StreamableFile {
    const body = Readable.from(exportPages(this.store, stream), { objectMode: false });
    return new StreamableFile(body, {
      type: 'application/x-ndjson; charset=utf-8',
      disposition: `attachment; filename="${stream ?? 'events'}.jsonl"`,
    });
  }
}

/** Pages of export lines; the head is fixed at the start so the export is one consistent prefix of the log. */
async function* exportPages(store: EventStore, stream: string | undefined): AsyncGenerator<string> {
  if (stream !== undefined) {
    for (let from = 0; ;) {
      const page = await store.readStream(stream, { fromRevision: from, maxCount: EXPORT_PAGE });
      if (page.length > 0) yield page.map((e) => exportLine(e) + '\n').join('');
      if (page.length < EXPORT_PAGE) return;
      from = page[page.length - 1].revision + 1;
    }
  }
  const [head] = await store.readAll({ direction: 'backwards', maxCount: 1 });
  if (head === undefined) return;
  let last: number | undefined;
  for (;;) {
    const page: RecordedEvent[] = await store.readAll({ fromPosition: last, maxCount: EXPORT_PAGE + 1 });
    const fresh = page.filter((e) => (last === undefined || e.position > last) && e.position <= head.position);
    if (fresh.length > 0) {
      yield fresh.map((e) => exportLine(e) + '\n').join('');
      last = fresh[fresh.length - 1].position;
    }
    if (fresh.length === 0 || last === head.position || page.length <= EXPORT_PAGE) return;
  }
}
