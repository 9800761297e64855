import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { HoldCaptured, HoldReleased, PointsHeld, decideMember, memberStream, txIdOf } from '@ledger/domain';
import { EVENT_STORE, EventStore, headPosition } from '@ledger/event-store';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { appendDecided, retryOnConflict } from '../shared/event-stream';
import { LEDGER_CONFIG, LedgerConfig } from '../shared/ledger-config';
import { ReferenceData, txContextOf } from '../shared/reference-data';
import { TxOutcome, loadMember } from './member-stream';
import { MemberTransactionPoster } from './post-transaction';
import { Allocation, allocationsByIssuer } from './redeem-points';

export interface HoldBody {
  holdId: string;
  memberId: string;
  points: number;
  expiresAt: string;
  available: number;
  position: number;
}

export interface CaptureBody {
  holdId: string;
  txId: string;
  memberId: string;
  points: number;
  releasedPoints: number;
  allocations: Allocation[];
  available: number;
  position: number;
}

export interface ReleaseBody {
  holdId: string;
  txId: string;
  memberId: string;
  points: number;
  available: number;
  position: number;
}

export class PlaceHoldCommand extends Command<TxOutcome<HoldBody>> {
  constructor(
    readonly data: { partnerId: string; externalId: string; memberId: string; points: number; ttlSeconds: number; occurredAt: string },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

/** `memberId` is the hold's member, looked up by the caller (a hold's id does not name it). */
export class CaptureHoldCommand extends Command<TxOutcome<CaptureBody>> {
  constructor(
    readonly data: { partnerId: string; externalId: string; memberId: string; holdId: string; points?: number; occurredAt: string },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

export class ReleaseHoldCommand extends Command<TxOutcome<ReleaseBody>> {
  constructor(
    readonly data: { partnerId: string; externalId: string; memberId: string; holdId: string },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

/** Records a due hold's lapse; `lapsed` is false when it had already ended (another job, or its partner, was first). */
export class LapseHoldCommand extends Command<{ holdId: string; lapsed: boolean }> {
  constructor(
    readonly data: { memberId: string; holdId: string },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

@CommandHandler(PlaceHoldCommand)
export class PlaceHoldHandler implements ICommandHandler<PlaceHoldCommand> {
  constructor(
    private readonly reference: ReferenceData,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly poster: MemberTransactionPoster,
  ) {}

  async execute({ data, meta }: PlaceHoldCommand): Promise<TxOutcome<HoldBody>> {
    const [coalition] = await Promise.all([this.reference.configuredCoalition(), this.reference.activePartner(data.partnerId)]);
    const holdId = txIdOf(data.partnerId, data.externalId);
    const context = txContextOf(coalition, this.config);
    return this.poster.post({ type: 'PlaceHold', data, context }, holdId, meta, (r, state) => ({
      holdId,
      memberId: data.memberId,
      points: r.points,
      expiresAt: state.holds.get(holdId)?.expiresAt ?? '',
      available: r.balanceAfter,
      position: r.position,
    }));
  }
}

@CommandHandler(CaptureHoldCommand)
export class CaptureHoldHandler implements ICommandHandler<CaptureHoldCommand> {
  constructor(
    private readonly reference: ReferenceData,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly poster: MemberTransactionPoster,
  ) {}

  async execute({ data, meta }: CaptureHoldCommand): Promise<TxOutcome<CaptureBody>> {
    const [coalition] = await Promise.all([this.reference.configuredCoalition(), this.reference.activePartner(data.partnerId)]);
    const txId = txIdOf(data.partnerId, data.externalId);
    const context = txContextOf(coalition, this.config);
    const command = { type: 'CaptureHold' as const, data: { ...data, points: data.points ?? null }, context };
    return this.poster.post(command, txId, meta, (r, state) => {
      const held = state.holds.get(data.holdId)?.points ?? r.points;
      return {
        holdId: data.holdId,
        txId,
        memberId: data.memberId,
        points: r.points,
        releasedPoints: held - r.points,
        allocations: allocationsByIssuer(r.slices),
        available: r.balanceAfter,
        position: r.position,
      };
    });
  }
}

@CommandHandler(ReleaseHoldCommand)
export class ReleaseHoldHandler implements ICommandHandler<ReleaseHoldCommand> {
  constructor(
    private readonly reference: ReferenceData,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly poster: MemberTransactionPoster,
  ) {}

  async execute({ data, meta }: ReleaseHoldCommand): Promise<TxOutcome<ReleaseBody>> {
    const [coalition] = await Promise.all([this.reference.configuredCoalition(), this.reference.activePartner(data.partnerId)]);
    const txId = txIdOf(data.partnerId, data.externalId);
    const context = txContextOf(coalition, this.config);
    // A release carries no business date: it happens when it is asked for.
    const command = { type: 'ReleaseHold' as const, data: { ...data, occurredAt: this.clock.now().toISOString() }, context };
    return this.poster.post(command, txId, meta, (r) => ({
      holdId: data.holdId,
      txId,
      memberId: data.memberId,
      points: r.points,
      available: r.balanceAfter,
      position: r.position,
    }));
  }
}

@CommandHandler(LapseHoldCommand)
export class LapseHoldHandler implements ICommandHandler<LapseHoldCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute({ data, meta }: LapseHoldCommand): Promise<{ holdId: string; lapsed: boolean }> {
    const { memberId, holdId } = data;
    return retryOnConflict(this.store, memberStream(memberId), async () => {
      const loaded = await loadMember(this.store, memberId);
      const events = decideMember({ type: 'LapseHold', data }, loaded.state, this.clock.now());
      if (events.length === 0) return { holdId, lapsed: false };
      const occurredAt = (events[0].data as { occurredAt: string }).occurredAt;
      // Another writer's cached state of this member now fails its expected revision and reloads.
      await appendDecided(this.store, memberStream(memberId), loaded, events, meta, occurredAt);
      return { holdId, lapsed: true };
    });
  }
}

export const HOLD_COMMAND_HANDLERS = [PlaceHoldHandler, CaptureHoldHandler, ReleaseHoldHandler, LapseHoldHandler];

const HOLD_EVENT_TYPES = ['PointsHeld', 'HoldCaptured', 'HoldReleased'];

/** A hold not yet ended by an event, as read from the log. */
export interface OpenHold {
  holdId: string;
  memberId: string;
  expiresAt: string;
}

/**
 * Every hold not yet ended by an event, from the whole log (for `ledger lapse-holds`, which
 * runs without the read models). `onPage` gets the position reached and the log's head.
 */
export async function openHoldsInLog(store: EventStore, onPage?: (position: number, head: number) => void): Promise<OpenHold[]> {
  const head = await headPosition(store);
  const open = new Map<string, OpenHold>();
  if (head === undefined) return [];
  // Only the hold events are read: the store filters them where the data is.
  await store.scanAll({ upTo: head, filter: { eventTypes: HOLD_EVENT_TYPES }, onProgress: (position) => onPage?.(position, head) }, (e) => {
    if (e.type === 'PointsHeld') {
      const d = e.data as PointsHeld['data'];
      open.set(d.holdId, { holdId: d.holdId, memberId: d.memberId, expiresAt: d.expiresAt });
    } else {
      open.delete((e.data as (HoldCaptured | HoldReleased)['data']).holdId);
    }
  });
  return [...open.values()];
}
