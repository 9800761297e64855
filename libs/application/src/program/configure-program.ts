import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import {
  OPERATOR_SPONSOR,
  ProgramCommand,
  ProgramVersion,
  checkEffectiveFrom,
  decideProgram,
  programAt,
  programStream,
} from '@ledger/domain';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { appendDecided, retryOnConflict } from '../shared/event-stream';
import { LEDGER_CONFIG, LedgerConfig } from '../shared/ledger-config';
import { ReferenceData, loadProgram } from '../shared/reference-data';

export class ConfigureProgramCommand extends Command<ProgramView> {
  constructor(
    readonly data: ProgramCommand['data'],
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

/** A version of the programme, with the position of the event that recorded it. */
export type ProgramView = ProgramVersion & { position: number | null };

/** Sponsors named anywhere in a version's bonuses, for the handler to look up. */
function sponsorsOf(data: ProgramCommand['data']): string[] {
  const bonuses = (data.bonuses ?? {}) as Record<string, unknown>;
  const named = new Set<string>();
  const add = (b: unknown) => {
    const sponsor = (b as { sponsor?: unknown } | null)?.sponsor;
    if (typeof sponsor === 'string' && sponsor !== OPERATOR_SPONSOR) named.add(sponsor);
  };
  for (const kind of ['welcome', 'birthday', 'referral']) add(bonuses[kind]);
  const actions = bonuses.actions;
  if (actions !== null && typeof actions === 'object') for (const a of Object.values(actions)) add(a);
  return [...named];
}

/**
 * `PUT /v1/program`: a version of the programme in force from `effectiveFrom` (checked against
 * the back-dating window, as partner terms are). Sponsors must be partners that joined: they are
 * read here and handed to the pure decider.
 */
@CommandHandler(ConfigureProgramCommand)
export class ConfigureProgramHandler implements ICommandHandler<ConfigureProgramCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly reference: ReferenceData,
  ) {}

  async execute({ data, meta }: ConfigureProgramCommand): Promise<ProgramView> {
    const now = this.clock.now();
    checkEffectiveFrom('effectiveFrom', data.effectiveFrom, now, this.config.maxBackdateDays);
    const partners = new Set<string>();
    for (const partnerId of sponsorsOf(data)) {
      if ((await this.reference.partner(partnerId)).status !== 'none') partners.add(partnerId);
    }
    const stream = programStream();
    return retryOnConflict(this.store, stream, async () => {
      const loaded = await loadProgram(this.store);
      const events = decideProgram({ type: 'ConfigureProgram', data, context: { partners } }, loaded.state);
      const effectiveFrom = new Date(data.effectiveFrom).toISOString();
      if (events.length === 0) {
        return { ...programAt(loaded.state, effectiveFrom)!, position: null };
      }
      const appended = await appendDecided(this.store, stream, loaded, events, meta, now.toISOString());
      this.reference.invalidate(stream);
      const { programId: _id, ...version } = events[0].data;
      return { ...version, position: appended.position };
    });
  }
}
