import { Inject, Injectable } from '@nestjs/common';
import {
  DomainError,
  MemberCommand,
  MemberEvent,
  MemberState,
  TxRecord,
  VelocityLimitExceeded,
  decideMember,
  memberStream,
} from '@ledger/domain';
import { AppendResult, EVENT_STORE, EventStore, WrongExpectedVersion } from '@ledger/event-store';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { LoadedStream, appendDecided, decidedAppend, retryOnConflict } from '../shared/event-stream';
import { KeyedLanes } from '../shared/keyed-lanes';
import { MemberStateCache } from './member-cache';
import { TxOutcome, evolveAppended, loadMember, txRecordOf } from './member-stream';
import { reserveTransaction, reserveWithMemberAppend } from './transaction-reservation';

/**
 * The write path every member transaction shares: load the member (from the cache when it
 * is there), decide, reserve a new transaction's txId coalition-wide, append at the loaded
 * revision, retry on conflict. The answer is built
 * from the transaction's record, the same way for a first post and for a replay. Within this
 * process a member's commands run one at a time (`KeyedLanes`), so they never race each other;
 * a conflict then only comes from another process writing the same member.
 */
@Injectable()
export class MemberTransactionPoster {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly cache: MemberStateCache,
  ) {}

  private readonly lanes = new KeyedLanes();

  /**
   * BENCHMARK ONLY, never set in a service: how the coalition-wide txId reservation is made,
   * so that `npm run bench` can measure what it costs on the write path against the same
   * handlers in the same run (issue 15, point 1). 'store-default' is the only safe value and
   * the default; 'skip' makes none (a txId posted for two members is then accepted twice);
   * 'two-step' takes the EventStoreDB path (reservation, then member append) even on a store
   * with atomic multi-stream appends, to compare the two. Not read from configuration, the
   * environment or HTTP; only the benchmark sets it, on the instance it resolves from its own
   * application context.
   */
  unsafeBenchOnlyReservationPath: 'store-default' | 'skip' | 'two-step' = 'store-default';

  post<Body>(
    command: MemberCommand & { data: { memberId: string } },
    txId: string,
    meta: CommandMeta,
    answer: (r: TxRecord, state: MemberState) => Body,
  ): Promise<TxOutcome<Body>> {
    const { memberId } = command.data;
    const stream = memberStream(memberId);
    return this.lanes.run(memberId, () => this.decideAndAppend(command, txId, meta, answer, stream));
  }

  private decideAndAppend<Body>(
    command: MemberCommand & { data: { memberId: string } },
    txId: string,
    meta: CommandMeta,
    answer: (r: TxRecord, state: MemberState) => Body,
    stream: string,
  ): Promise<TxOutcome<Body>> {
    const { memberId } = command.data;
    let reserved = false;
    return retryOnConflict(this.store, stream, async () => {
      const now = this.clock.now();
      const cached = this.cache.get(memberId);
      let loaded = cached ?? (await this.load(memberId));
      let events;
      try {
        try {
          events = decideMember(command, loaded.state, now);
        } catch (err) {
          // A refusal is given on the member's current state, never on a cached one that may lag.
          if (!(err instanceof DomainError) || cached === undefined) throw err;
          this.cache.drop(memberId);
          loaded = await this.load(memberId);
          events = decideMember(command, loaded.state, now);
        }
      } catch (err) {
        // The one refusal that writes: an accrual over a velocity limit is flagged on the member, then refused.
        if (err instanceof VelocityLimitExceeded && err.flag !== undefined) await this.recordFlag(loaded, err.flag, meta);
        throw err;
      }
      // Nothing decided: a retry of a posted transaction, answered from its record as first posted.
      if (events.length === 0) return { replay: true, body: answer(txRecordOf(loaded.state, txId), loaded.state) };
      const occurredAt = (events[0].data as { occurredAt: string }).occurredAt;
      // A new transaction for this member: claim its txId coalition-wide first (409 if
      // another member holds it). Once per request; a retry after a conflict keeps the claim.
      const member = decidedAppend(stream, loaded, events, meta, occurredAt);
      let appended: AppendResult | 'already-reserved' | undefined;
      try {
        if (!reserved && this.unsafeBenchOnlyReservationPath !== 'skip') {
          if (hasAtomicAppends(this.store) && this.unsafeBenchOnlyReservationPath !== 'two-step') {
            // Claim and member events in one transaction where the store has them.
            appended = await reserveWithMemberAppend(this.store, txId, memberId, meta, occurredAt, member.append);
          } else {
            // EventStoreDB: two appends; a crash between them is closed by the retry (see reserveTransaction).
            await reserveTransaction(this.store, txId, memberId, meta, occurredAt);
          }
          reserved = true;
        }
        if (appended === undefined || appended === 'already-reserved') {
          appended = await this.store.appendToStream(stream, member.append.events, { expectedRevision: member.append.expectedRevision });
        }
      } catch (err) {
        if (err instanceof WrongExpectedVersion) this.cache.drop(memberId);
        throw err;
      }
      const state = evolveAppended(loaded.state, events, appended.position);
      this.cache.set(memberId, { state, revision: appended.nextExpectedRevision, lastHash: member.lastHash });
      return { replay: false, body: answer(txRecordOf(state, txId), state) };
    });
  }

  private async recordFlag(loaded: LoadedStream<MemberState>, flag: MemberEvent, meta: CommandMeta): Promise<void> {
    const { memberId } = loaded.state;
    let appended;
    try {
      appended = await appendDecided(
        this.store,
        memberStream(memberId),
        loaded,
        [flag],
        meta,
        (flag.data as { occurredAt: string }).occurredAt,
      );
    } catch (err) {
      if (err instanceof WrongExpectedVersion) this.cache.drop(memberId);
      throw err;
    }
    const state = evolveAppended(loaded.state, [flag], appended.position);
    this.cache.set(memberId, { state, revision: appended.nextExpectedRevision, lastHash: appended.lastHash });
  }

  private async load(memberId: string): Promise<LoadedStream<MemberState>> {
    const loaded = await loadMember(this.store, memberId);
    if (loaded.state.status !== 'none') this.cache.set(memberId, loaded);
    return loaded;
  }
}

const hasAtomicAppends = (store: EventStore): store is EventStore & Required<Pick<EventStore, 'appendToStreams'>> =>
  typeof store.appendToStreams === 'function';
