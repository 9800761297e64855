import { IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { Inject } from '@nestjs/common';
import { NotFound, ProgramVersion, programAt } from '@ledger/domain';
import { CLOCK, Clock } from '../shared/clock';
import { ReferenceData } from '../shared/reference-data';

/** The programme in force at `at` (a business date; now when absent). */
export class GetProgramQuery extends Query<ProgramVersion> {
  constructor(readonly at: string | undefined) {
    super();
  }
}

/** Before the first version is in force there is no programme: 404 program_not_found. */
@QueryHandler(GetProgramQuery)
export class GetProgramHandler implements IQueryHandler<GetProgramQuery> {
  constructor(
    private readonly reference: ReferenceData,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ at }: GetProgramQuery): Promise<ProgramVersion> {
    const when = at ?? this.clock.now().toISOString();
    const version = programAt(await this.reference.program(), when);
    if (version === undefined) throw new NotFound('program', `in force at ${new Date(when).toISOString()}`);
    return version;
  }
}
