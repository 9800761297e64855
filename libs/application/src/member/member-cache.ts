import { Injectable } from '@nestjs/common';
import { MemberState } from '@ledger/domain';
import { LoadedStream } from '../shared/event-stream';

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

  drop(memberId: string): void {
    this.entries.delete(memberId);
  }
}
