import { Inject, Injectable } from '@nestjs/common';
import { MemberCommand, TxRecord, decideMember, memberStream } from '@ledger/domain';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { appendDecided, retryOnConflict } from '../shared/event-stream';
import { TxOutcome, evolveAppended, loadMember, txRecordOf } from './member-stream';

/**
 * The write path every member transaction shares: load the member, decide, append at the
 * loaded revision, retry on conflict. The answer is built from the transaction's record,
 * the same way for a first post and for a replay.
 */
@Injectable()
export class MemberTransactionPoster {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  post<Body>(command: MemberCommand & { data: { memberId: string } }, txId: string, meta: CommandMeta, answer: (r: TxRecord) => Body): Promise<TxOutcome<Body>> {
    const { memberId } = command.data;
    const stream = memberStream(memberId);
    return retryOnConflict(stream, async () => {
      const loaded = await loadMember(this.store, memberId);
      const now = this.clock.now();
      const decision = decideMember(command, loaded.state, now);
      if (decision.replayOf) return { replay: true, body: answer(decision.replayOf) };
      const occurredAt = (decision.events[0].data as { occurredAt: string }).occurredAt;
      const appended = await appendDecided(this.store, stream, loaded, decision.events, meta, occurredAt);
      const state = evolveAppended(loaded.state, decision.events, appended.position);
      return { replay: false, body: answer(txRecordOf(state, txId)) };
    });
  }
}
