import { Inject, Injectable } from '@nestjs/common';
import {
  DomainError,
  MemberCommand,
  transactionStream,
  MemberEvent,
  MemberState,
  TxRecord,
  VelocityLimitExceeded,
  decideMember,
  memberStream,
} from '@ledger/domain';
import { AppendResult, EVENT_STORE, EventStore, StreamAppend, WrongExpectedVersion } from '@ledger/event-store';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { LoadedStream, appendDecided, decidedAppend, retryOnConflict } from '../shared/event-stream';
import { KeyedLanes } from '../shared/keyed-lanes';
import { MemberStateCache } from './member-cache';
import { TxOutcome, evolveAppended, loadMember, ownEventPosition, txRecordOf } from './member-stream';
import { claimAppend, confirmReservation, reserveTransaction, reserveWithMemberAppend } from './transaction-reservation';

/** One partner transaction being posted for a member, as `post` was given it. */
interface MemberPost<Body> {
  command: MemberCommand & { data: { memberId: string } };
  memberId: string;
  stream: string;
  txId: string;
  meta: CommandMeta;
  /** The answer from the transaction's record, on the state it left. */
  answer: (r: TxRecord, state: MemberState) => Body;
}

/**
 * The write path every member transaction shares: load the member (from the cache when it
 * is there), decide, reserve a new transaction's txId coalition-wide, append at the loaded
 * revision, retry on conflict. The answer is built
 * from the transaction's record, the same way for a first post and for a replay. Within this
 * process a member's commands are decided one at a time (`KeyedLanes`), so they never race each
 * other; a conflict then only comes from another process writing the same member. On a store
 * with pipelined appends (SQLite, memory) the lane is let go once the append is handed to the
 * store, so a member's next command is decided before the previous one is acknowledged and
 * both share a group commit (`decideAndSubmit`).
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
    const request: MemberPost<Body> = { command, memberId, stream: memberStream(memberId), txId, meta, answer };
    if (!this.pipelines()) return this.lanes.run(memberId, () => this.decideAndAppend(request));
    const claim = { reserved: false };
    return retryOnConflict(this.store, request.stream, async () => {
      // In the lane: decide and hand the append to the store. Outside it: wait for it to land,
      // while the member's next command is decided and its append joins the same group commit.
      const landing = await this.lanes.run(memberId, () => this.decideAndSubmit(request, claim));
      return landing();
    });
  }

  /** Appends of each member not yet acknowledged (pipelined), settled or not. */
  private readonly inFlight = new Map<string, Set<Promise<unknown>>>();

  /**
   * Whether a member's commands may be decided before the previous one's append is
   * acknowledged: on a store whose appends keep call order and check `expectedLastEventId`
   * (SQLite, memory), with the reservation in the member's transaction.
   */
  private pipelines(): boolean {
    return this.store.pipelinedAppends === true && hasAtomicAppends(this.store) && this.unsafeBenchOnlyReservationPath !== 'two-step';
  }

  /**
   * Decides on the member's state as this process last left it, appends included that are not
   * acknowledged yet, and hands the append to the store; resolves with a function that waits
   * for it to land and answers. The new append names the last event it is chained onto
   * (`expectedLastEventId`): if that one is not written, neither is this one, and the retry
   * decides afresh. What is not an append (a refusal, the replay of a posted transaction) is
   * only answered once the member's appends in flight have landed, from the state they left.
   */
  private async decideAndSubmit<Body>(request: MemberPost<Body>, claim: { reserved: boolean }): Promise<() => Promise<TxOutcome<Body>>> {
    const { command, memberId, txId, meta, answer } = request;
    for (;;) {
      const unsettled = this.inFlight.get(memberId);
      if (unsettled !== undefined) {
        const ahead = this.cache.get(memberId);
        let events: MemberEvent[] | undefined;
        try {
          events = ahead === undefined ? undefined : decideMember(command, ahead.state, this.clock.now());
        } catch {
          events = undefined;
        }
        if (ahead !== undefined && events !== undefined && events.length > 0) return this.submit(request, ahead, events, claim);
        // No state ahead (an append failed), or a refusal or replay: answered from landed appends only.
        await Promise.allSettled([...unsettled]);
        continue;
      }
      const { loaded, events } = await this.decideOnCurrentState(command, meta);
      if (events.length === 0) {
        const body = answer(txRecordOf(loaded.state, txId), loaded.state);
        return () => Promise.resolve({ replay: true, body });
      }
      return this.submit(request, loaded, events, claim);
    }
  }

  private submit<Body>(
    request: MemberPost<Body>,
    base: LoadedStream<MemberState>,
    events: MemberEvent[],
    claim: { reserved: boolean },
  ): () => Promise<TxOutcome<Body>> {
    const { memberId, stream, txId, meta, answer } = request;
    const occurredAt = (events[0].data as { occurredAt: string }).occurredAt;
    const member = decidedAppend(stream, base, events, meta, occurredAt);
    const { append } = member;
    const part: StreamAppend =
      base.lastEventId === undefined
        ? append
        : {
            streamId: append.streamId,
            events: append.events,
            expectedRevision: append.expectedRevision,
            expectedLastEventId: base.lastEventId,
          };
    const claimed = !claim.reserved && this.unsafeBenchOnlyReservationPath !== 'skip';
    const appending = claimed
      ? this.store.appendToStreams!([claimAppend(txId, memberId, meta, occurredAt), part]).then(([, result]) => result)
      : this.store.appendToStream(stream, part.events, {
          expectedRevision: part.expectedRevision,
          expectedLastEventId: part.expectedLastEventId,
        });
    const state = evolveAppended(base.state, events, -1);
    this.cache.set(memberId, {
      state,
      revision: base.revision + events.length,
      lastHash: member.lastHash,
      lastEventId: part.events[part.events.length - 1].eventId,
    });
    // Registered first, so whoever waits for this append finds its outcome applied: the
    // record's position once written; the state decided on it dropped if it was not.
    const landed = appending.then(
      async (appended) => {
        txRecordOf(state, txId).position = await ownEventPosition(this.store, request.stream, part.events, txId, appended);
        return appended;
      },
      (err: unknown) => {
        this.cache.drop(memberId);
        throw err;
      },
    );
    this.track(memberId, landed);
    return async () => {
      try {
        await landed;
      } catch (err) {
        // The txId was claimed before: by this member (a cut-off two-step post), the member's
        // append alone remains; by another, 409.
        if (claimed && err instanceof WrongExpectedVersion && err.streamId === transactionStream(txId)) {
          await confirmReservation(this.store, txId, memberId);
          claim.reserved = true;
        }
        throw err;
      }
      claim.reserved = true;
      return { replay: false, body: answer(txRecordOf(state, txId), state) };
    };
  }

  private track(memberId: string, landed: Promise<unknown>): void {
    let pending = this.inFlight.get(memberId);
    if (pending === undefined) {
      pending = new Set();
      this.inFlight.set(memberId, pending);
    }
    pending.add(landed);
    const done = () => {
      pending.delete(landed);
      if (pending.size === 0 && this.inFlight.get(memberId) === pending) this.inFlight.delete(memberId);
    };
    landed.then(done, done);
  }

  private decideAndAppend<Body>(request: MemberPost<Body>): Promise<TxOutcome<Body>> {
    const { command, memberId, stream, txId, meta, answer } = request;
    let reserved = false;
    return retryOnConflict(this.store, stream, async () => {
      const { loaded, events } = await this.decideOnCurrentState(command, meta);
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
      txRecordOf(state, txId).position = await ownEventPosition(this.store, stream, member.append.events, txId, appended);
      this.cache.set(memberId, { state, revision: appended.nextExpectedRevision, lastHash: member.lastHash });
      return { replay: false, body: answer(txRecordOf(state, txId), state) };
    });
  }

  /**
   * Decides on the member's state: the cached one, or loaded. A refusal is given on the
   * member's current state, never on a cached one that may lag: it is decided again on a fresh
   * load first. The one refusal that writes: an accrual over a velocity limit is flagged on the
   * member, then refused.
   */
  private async decideOnCurrentState(
    command: MemberCommand & { data: { memberId: string } },
    meta: CommandMeta,
  ): Promise<{ loaded: LoadedStream<MemberState>; events: MemberEvent[] }> {
    const { memberId } = command.data;
    const now = this.clock.now();
    const cached = this.cache.get(memberId);
    let loaded = cached ?? (await this.load(memberId));
    try {
      try {
        return { loaded, events: decideMember(command, loaded.state, now) };
      } catch (err) {
        if (!(err instanceof DomainError) || cached === undefined) throw err;
        this.cache.drop(memberId);
        loaded = await this.load(memberId);
        return { loaded, events: decideMember(command, loaded.state, now) };
      }
    } catch (err) {
      if (err instanceof VelocityLimitExceeded && err.flag !== undefined) await this.recordFlag(loaded, err.flag, meta);
      throw err;
    }
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
    this.cache.setAppended(memberId, loaded.state, [flag], appended);
  }

  private async load(memberId: string): Promise<LoadedStream<MemberState>> {
    const loaded = await loadMember(this.store, memberId);
    if (loaded.state.status !== 'none') this.cache.set(memberId, loaded);
    return loaded;
  }
}

const hasAtomicAppends = (store: EventStore): store is EventStore & Required<Pick<EventStore, 'appendToStreams'>> =>
  typeof store.appendToStreams === 'function';
