import { Unavailable } from '@ledger/domain';
import {
  ConflictRetryPolicy,
  EsdbEventStore,
  IN_PROCESS_CONFLICT_RETRY,
  MemoryEventStore,
  NETWORK_CONFLICT_RETRY,
  SqliteEventStore,
  WrongExpectedVersion,
  conflictRetryPolicy,
} from '@ledger/event-store';
import { RetryTime, conflictBackoffMs, retryOnConflict } from './event-stream';

const policy: ConflictRetryPolicy = { attemptsMax: 6, baseDelayMs: 2, capDelayMs: 10 };
const lost = () => new WrongExpectedVersion('member-m1', 3, 4);

/** Records the pauses asked for instead of waiting; `random` is pinned. */
function fakeTime(random: number): RetryTime & { pauses: number[] } {
  const pauses: number[] = [];
  return { pauses, sleep: async (ms) => void pauses.push(ms), random: () => random };
}

/** An attempt that loses `losses` races, then answers. */
function losing(losses: number) {
  let calls = 0;
  const attempt = async () => {
    calls += 1;
    if (calls <= losses) throw lost();
    return `answered on attempt ${calls}`;
  };
  return { attempt, calls: () => calls };
}

describe('retryOnConflict', () => {
  it('backs off exponentially up to the cap, with full jitter, between lost races', async () => {
    const time = fakeTime(0.999);
    const { attempt } = losing(5);
    await expect(retryOnConflict({ conflictRetry: policy }, 'member-m1', attempt, time)).resolves.toBe('answered on attempt 6');
    // Ceilings 2, 4, 8, then the cap of 10; the draw is a fraction of each.
    expect(time.pauses.map((p) => Math.round(p * 1000) / 1000)).toEqual([1.998, 3.996, 7.992, 9.99, 9.99]);
  });

  it('draws each pause from zero up to its ceiling', () => {
    expect(conflictBackoffMs(policy, 3, () => 0)).toBe(0);
    expect(conflictBackoffMs(policy, 3, () => 0.5)).toBe(4);
    expect(conflictBackoffMs(policy, 60, () => 0.5)).toBe(5);
  });

  it('answers 503 concurrency_exhausted after the last attempt, without pausing after it', async () => {
    const time = fakeTime(0.5);
    const { attempt, calls } = losing(Infinity);
    const error = await retryOnConflict({ conflictRetry: policy }, 'member-m1', attempt, time).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Unavailable);
    expect(error).toMatchObject({ code: 'concurrency_exhausted' });
    expect(calls()).toBe(policy.attemptsMax);
    expect(time.pauses).toHaveLength(policy.attemptsMax - 1);
  });

  it('answers at once when the first attempt wins, and rethrows any other error without retrying', async () => {
    const time = fakeTime(0.5);
    await expect(retryOnConflict({ conflictRetry: policy }, 's', async () => 'ok', time)).resolves.toBe('ok');
    let calls = 0;
    const failing = async () => {
      calls += 1;
      throw new Error('disk full');
    };
    await expect(retryOnConflict({ conflictRetry: policy }, 's', failing, time)).rejects.toThrow('disk full');
    expect(calls).toBe(1);
    expect(time.pauses).toEqual([]);
  });
});

describe('conflict retry policy per adapter', () => {
  it('in-process stores retry soon, a network store backs off further, and both take overrides', async () => {
    const memory = new MemoryEventStore();
    const sqlite = SqliteEventStore.open(':memory:');
    const esdb = EsdbEventStore.fromConnectionString('esdb://127.0.0.1:1?tls=false');
    try {
      expect(memory.conflictRetry).toEqual(IN_PROCESS_CONFLICT_RETRY);
      expect(sqlite.conflictRetry).toEqual(IN_PROCESS_CONFLICT_RETRY);
      expect(esdb.conflictRetry).toEqual(NETWORK_CONFLICT_RETRY);
      expect(NETWORK_CONFLICT_RETRY.baseDelayMs).toBeGreaterThan(IN_PROCESS_CONFLICT_RETRY.baseDelayMs);
      expect(NETWORK_CONFLICT_RETRY.capDelayMs).toBeGreaterThan(IN_PROCESS_CONFLICT_RETRY.capDelayMs);
      const tuned = SqliteEventStore.open(':memory:', { conflictRetry: { attemptsMax: 3 } });
      expect(tuned.conflictRetry).toEqual({ ...IN_PROCESS_CONFLICT_RETRY, attemptsMax: 3 });
      await tuned.close();
    } finally {
      await Promise.all([memory.close(), sqlite.close(), esdb.close()]);
    }
  });

  it('refuses a policy that could not run', () => {
    expect(() => conflictRetryPolicy(IN_PROCESS_CONFLICT_RETRY, { attemptsMax: 0 })).toThrow(RangeError);
    expect(() => conflictRetryPolicy(IN_PROCESS_CONFLICT_RETRY, { baseDelayMs: -1 })).toThrow(RangeError);
    expect(() => conflictRetryPolicy(IN_PROCESS_CONFLICT_RETRY, { baseDelayMs: IN_PROCESS_CONFLICT_RETRY.capDelayMs + 1 })).toThrow(
      RangeError,
    );
  });
});
