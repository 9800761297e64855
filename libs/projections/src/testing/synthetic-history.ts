import {
  COALITION_ID,
  DAY_MS,
  EarnRule,
  MemberCommand,
  MemberEvent,
  MemberState,
  TxContext,
  coalitionStream,
  decideMember,
  evolveMember,
  initialMember,
  memberStream,
  partnerStream,
  withLuhnDigit,
} from '@ledger/domain';
import { CommandMeta, withMetadata } from '@ledger/application';
import { GENESIS_HASH } from '@ledger/integrity';
import { EventStore } from '@ledger/event-store';

/**
 * A valid coalition history appended straight to the store, for tests and benchmarks that
 * need tens of thousands to millions of events quickly. Every member event comes out of the
 * member decider on a state kept in memory (no stream reloads, no HTTP), with the real
 * metadata and hash chain, so the projector sees exactly what the handlers would write.
 */
export interface SyntheticHistoryOptions {
  /** Stop once at least this many events are in the store. */
  events: number;
  members?: number;
  partners?: number;
  seed?: number;
  /** Business date of the last transaction; history runs back from it. */
  endAt?: string;
  /** Months of history before endAt. */
  months?: number;
  /** Include refunds and cancelled redemptions (default true). */
  reversals?: boolean;
  /**
   * Partners already in the store (with the default earn rule) and a configured coalition:
   * the history then writes only members and their transactions.
   */
  existingPartners?: string[];
  /** Appends in flight at once: they share group commits. */
  concurrency?: number;
  /**
   * Send a stream's appends one after the other. Needed over a network (EventStoreDB),
   * where calls in flight together may arrive out of order; an in-process store keeps call
   * order anyway, and without this its appends share larger group commits.
   */
  orderedPerStream?: boolean;
  onProgress?: (eventsWritten: number) => void;
}

export interface SyntheticHistory {
  events: number;
  members: number;
  partners: string[];
  headPosition: number;
}

const POINT_VALUE_MINOR = 10;
const EXPIRY_MONTHS = 24;

/** mulberry32: a small seeded PRNG, so a seed always gives the same history. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SimMember {
  memberId: string;
  state: MemberState;
  revision: number;
  lastHash: string;
  /** The last transaction, for an occasional reversal right after it. */
  last?: { partnerId: string; externalId: string; kind: 'accrual' | 'redemption' };
  seq: number;
}

export async function appendSyntheticHistory(store: EventStore, options: SyntheticHistoryOptions): Promise<SyntheticHistory> {
  const random = seededRandom(options.seed ?? 1);
  const memberCount = options.members ?? 2_000;
  const partnerIds =
    options.existingPartners ?? Array.from({ length: options.partners ?? 6 }, (_, i) => `p${String(i + 1).padStart(2, '0')}`);
  const endMs = Date.parse(options.endAt ?? '2026-11-20T12:00:00.000Z');
  const startMs = endMs - (options.months ?? 6) * 30 * DAY_MS;
  const concurrency = options.concurrency ?? 1_000;
  const withReversals = options.reversals ?? true;
  const earnRules: EarnRule[] = partnerIds.map((_, i) =>
    options.existingPartners ? { pointsPerUnit: 1, unitMinor: 100 } : { pointsPerUnit: 1 + (i % 3), unitMinor: 10_000 },
  );
  const system: CommandMeta = { correlationId: 'synthetic', causationId: null, actor: { keyId: 'system', role: 'admin' } };
  const metaOf = (partnerId: string): CommandMeta => ({
    correlationId: 'synthetic',
    causationId: null,
    actor: { keyId: `key-${partnerId}`, role: 'partner', partnerId },
  });

  let written = 0;
  let head = -1;
  let inFlight: Promise<unknown>[] = [];
  const lastOfStream = new Map<string, Promise<unknown>>();
  const append = (stream: string, events: ReturnType<typeof withMetadata>, expectedRevision: number | 'no_stream') => {
    written += events.length;
    const send = () =>
      store.appendToStream(stream, events, { expectedRevision }).then((r) => {
        if (r.position > head) head = r.position;
      });
    const before = options.orderedPerStream ? lastOfStream.get(stream) : undefined;
    const appended = before ? before.then(send) : send();
    lastOfStream.set(stream, appended);
    inFlight.push(appended);
  };
  const drain = async (force = false) => {
    if (!force && inFlight.length < concurrency) return;
    const batch = inFlight;
    inFlight = [];
    await Promise.all(batch);
    lastOfStream.clear();
    options.onProgress?.(written);
  };
  const isoAt = (ms: number) => new Date(ms).toISOString();

  if (!options.existingPartners)
    append(
      coalitionStream(),
      withMetadata(
        [
          {
            type: 'CoalitionConfigured',
            data: { coalitionId: COALITION_ID, currency: 'RUB', pointValueMinor: POINT_VALUE_MINOR, expiryMonths: EXPIRY_MONTHS },
          },
        ],
        system,
        isoAt(startMs),
        GENESIS_HASH,
      ),
      'no_stream',
    );
  if (!options.existingPartners)
    partnerIds.forEach((partnerId, i) => {
      const terms = { earnRule: earnRules[i], issuanceFeeBps: 150, breakageShareBps: 5000, effectiveFrom: '1970-01-01T00:00:00.000Z' };
      append(
        partnerStream(partnerId),
        withMetadata(
          [{ type: 'PartnerJoined', data: { partnerId, name: `Partner ${partnerId}`, ...terms } }],
          system,
          isoAt(startMs),
          GENESIS_HASH,
        ),
        'no_stream',
      );
    });

  // Pareto weights (alpha ~1.16: about 20% of members hold 80% of the activity), capped so
  // no single member stream grows without bound.
  const weights: number[] = [];
  const members: SimMember[] = [];
  for (let i = 0; i < memberCount; i++) {
    const memberId = `m${String(i).padStart(7, '0')}`;
    const cardNumber = withLuhnDigit(`5${String(i).padStart(14, '0')}`);
    const decided = decideMember(
      { type: 'EnrolMember', data: { memberId, cardNumber, birthDate: null, enrolledBy: null } },
      initialMember(),
      new Date(startMs),
    );
    const events = withMetadata(decided, system, isoAt(startMs), GENESIS_HASH);
    append(
      `card-${cardNumber}`,
      withMetadata([{ type: 'CardClaimed', data: { cardNumber, memberId } }], system, isoAt(startMs), GENESIS_HASH),
      'no_stream',
    );
    append(memberStream(memberId), events, 'no_stream');
    members.push({ memberId, state: fold(initialMember(), decided), revision: 0, lastHash: lastHash(events), seq: 0 });
    weights.push(Math.min((1 - random()) ** (-1 / 1.16), 200));
    await drain();
  }
  const cumulative: number[] = [];
  weights.reduce((sum, w, i) => (cumulative[i] = sum + w), 0);
  const total = cumulative[cumulative.length - 1];
  const pickMember = (): SimMember => {
    const x = random() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return members[lo];
  };

  const context = (partnerIndex: number): TxContext & { earnRule: EarnRule } => ({
    coalitionCurrency: 'RUB',
    pointValueMinor: POINT_VALUE_MINOR,
    expiryMonths: EXPIRY_MONTHS,
    maxBackdateDays: 90,
    earnRule: earnRules[partnerIndex],
  });

  // Transactions, spread evenly over the history in the order they are appended.
  const estimated = Math.max(1, options.events - written);
  const stepMs = Math.max(1, Math.floor((endMs - startMs) / estimated));
  let t = startMs;
  while (written < options.events) {
    t = Math.min(t + stepMs, endMs);
    const member = pickMember();
    const occurredAt = isoAt(t);
    const partnerIndex = Math.floor(random() * partnerIds.length);
    const partnerId = partnerIds[partnerIndex];
    const externalId = `x${member.memberId}-${++member.seq}`;
    let command: MemberCommand;
    let kind: 'accrual' | 'redemption' | 'reversal';
    const roll = random();
    if (withReversals && member.last && roll < 0.02) {
      // A refund or a cancelled redemption, by the partner that posted it, right after it
      // (so an accrual is still unspent).
      command = {
        type: 'ReverseTransaction',
        data: {
          partnerId: member.last.partnerId,
          externalId,
          memberId: member.memberId,
          originalExternalId: member.last.externalId,
          occurredAt,
        },
        context: context(partnerIds.indexOf(member.last.partnerId)),
      };
      kind = 'reversal';
    } else if (member.state.available >= 20 && roll < 0.35) {
      const points = Math.max(1, Math.floor(member.state.available * (0.3 + 0.7 * random())));
      command = {
        type: 'RedeemPoints',
        data: { partnerId, externalId, memberId: member.memberId, points, occurredAt },
        context: context(partnerIndex),
      };
      kind = 'redemption';
    } else {
      const amountMinor = Math.floor(50_000 + random() * 500_000);
      command = {
        type: 'AccruePoints',
        data: { partnerId, externalId, memberId: member.memberId, amountMinor, currency: 'RUB', occurredAt },
        context: context(partnerIndex),
      };
      kind = 'accrual';
    }
    const decided = decideMember(command, member.state, new Date(t));
    if (decided.length === 0) continue;
    const poster = kind === 'reversal' ? member.last!.partnerId : partnerId;
    const events = withMetadata(decided, metaOf(poster), occurredAt, member.lastHash);
    append(memberStream(member.memberId), events, member.revision);
    member.state = fold(member.state, decided);
    member.revision += events.length;
    member.lastHash = lastHash(events);
    member.last = kind === 'reversal' ? undefined : { partnerId, externalId, kind };
    await drain();
  }
  await drain(true);
  return { events: written, members: memberCount, partners: partnerIds, headPosition: head };
}

const fold = (state: MemberState, events: readonly MemberEvent[]) => events.reduce((s, e) => evolveMember(s, e), state);
const lastHash = (events: ReturnType<typeof withMetadata>) => String(events[events.length - 1].metadata.hash);
