import { Injectable } from '@nestjs/common';
import { MemberEvent, MemberState } from '@ledger/domain';
import { AppendResult } from '@ledger/event-store';
import { LoadedStream } from '../shared/event-stream';
import { evolveAppended } from './member-stream';

/** Members whose folded state is kept between requests. */
export const MEMBER_CACHE_SIZE = 10_000;

/**
 * The last known state of recently active members, so a transaction need not re-read and
 * re-fold the member's stream. Safe without any invalidation protocol: every append carries
 * the cached revision, so a state made stale by another writer (another replica, another
 * request) fails with WrongExpectedVersion, is dropped, and the retry loads afresh.
 * Least recently used members are evicted first (Map iteration order is insertion order).
 */
@Injectable()
export class MemberStateCache {
  private readonly entries = new Map<string, LoadedStream<MemberState>>();
  private hits = 0;
  private misses = 0;

  get(memberId: string): LoadedStream<MemberState> | undefined {
    const hit = this.entries.get(memberId);
    if (hit) {
      this.hits += 1;
      this.entries.delete(memberId);
      this.entries.set(memberId, hit);
    } else {
      this.misses += 1;
    }
    return hit;
  }

  /** Lookups since start, for metrics. */
  stats(): { hits: number; misses: number; size: number } {
    return { hits: this.hits, misses: this.misses, size: this.entries.size };
  }

  set(memberId: string, loaded: LoadedStream<MemberState>): void {
    this.entries.delete(memberId);
    this.entries.set(memberId, loaded);
    if (this.entries.size > MEMBER_CACHE_SIZE) this.entries.delete(this.entries.keys().next().value as string);
  }

  /**
   * Keeps the state an acknowledged append left: `before` with the appended events folded on,
   * at the revision and hash the append answered. Returns that state.
   */
  setAppended(
    memberId: string,
    before: MemberState,
    events: readonly MemberEvent[],
    appended: AppendResult & { lastHash: string },
  ): MemberState {
    const state = evolveAppended(before, events, appended.position);
    this.set(memberId, { state, revision: appended.nextExpectedRevision, lastHash: appended.lastHash });
    return state;
  }

  drop(memberId: string): void {
    this.entries.delete(memberId);
  }
}
