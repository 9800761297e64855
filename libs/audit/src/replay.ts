import { InvalidInput, MemberEvent, MemberState, NotFound, evolveMember, initialMember, pendingPointsAt } from '@ledger/domain';
import { EventStore, RecordedEvent } from '@ledger/event-store';
import { ChainChecker } from './chain-check';
import { Divergence } from './divergence';

/** One end of a replay window: a stream revision, or a recorded time (inclusive). */
export type ReplayBound = { revision: number } | { time: string };

export interface ReplayOptions {
  from?: ReplayBound;
  to?: ReplayBound;
}

export interface MemberBalanceAfter {
  /** Points in the open lots. */
  available: number;
  /** Points on holds not yet ended by an event. */
  held: number;
  /** Of `available`, the points still in their return window when the event was recorded. */
  pending: number;
  lifetimeAccrued: number;
  lifetimeRedeemed: number;
  lifetimeExpired: number;
  openLots: number;
}

export interface ReplayEntry {
  revision: number;
  position: number;
  eventId: string;
  type: string;
  /** Business time (metadata.occurredAt) and store time. */
  occurredAt: string | null;
  recordedAt: string;
  actor: { keyId: string; role: string; partnerId?: string } | null;
  correlationId: string | null;
  data: unknown;
  prevHash: string | null;
  hash: string | null;
  /** Whether this event chains onto the one before it (see ChainChecker). */
  chainOk: boolean;
  /** Member streams: the balance right after this event; null once the fold has failed. */
  balanceAfter?: MemberBalanceAfter | null;
}

export interface StreamReplay {
  streamId: string;
  /** Events in the stream (whatever the window). */
  eventCount: number;
  /** The window's events, in revision order. */
  events: ReplayEntry[];
  /** The first link of the whole stream's chain that does not hold, if any. */
  chainBreak: Divergence | null;
  /** Member streams: where folding stopped making sense, if it did. */
  foldError: { revision: number; message: string } | null;
}

const MEMBER_PREFIX = 'member-';
const REVISION_TEXT = /^[0-9]{1,16}$/;
const ISO_INSTANT = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})$/;

/** `--from 12` is a revision, `--from 2026-10-01T00:00:00Z` a recorded time. 400 otherwise. */
export function parseReplayBound(raw: string, field: string): ReplayBound {
  const text = raw.trim();
  if (REVISION_TEXT.test(text) && Number.isSafeInteger(Number(text))) return { revision: Number(text) };
  if (ISO_INSTANT.test(text) && !Number.isNaN(Date.parse(text))) return { time: new Date(Date.parse(text)).toISOString() };
  throw new InvalidInput(field, 'must be a stream revision (a whole number) or an ISO 8601 time with a zone');
}

function inWindow(e: RecordedEvent, { from, to }: ReplayOptions): boolean {
  if (from && ('revision' in from ? e.revision < from.revision : Date.parse(e.recordedAt) < Date.parse(from.time))) return false;
  if (to && ('revision' in to ? e.revision > to.revision : Date.parse(e.recordedAt) > Date.parse(to.time))) return false;
  return true;
}

/**
 * A stream's events in order with who and when, each link of its hash chain checked and,
 * for a member, the balance after every event. The balance needs the stream from its
 * start, so the whole stream is folded and the window only filters what is listed.
 */
export async function replayStream(store: EventStore, streamId: string, options: ReplayOptions = {}): Promise<StreamReplay> {
  const events = await store.readStream(streamId);
  if (events.length === 0) throw new NotFound('stream', streamId);
  const chain = new ChainChecker();
  const isMember = streamId.startsWith(MEMBER_PREFIX);
  let state: MemberState | undefined = isMember ? initialMember() : undefined;
  let chainBreak: Divergence | null = null;
  let foldError: StreamReplay['foldError'] = null;
  const listed: ReplayEntry[] = [];
  for (const e of events) {
    const broken = chain.check(e);
    if (broken && !chainBreak) chainBreak = broken;
    let balanceAfter: MemberBalanceAfter | null | undefined;
    if (isMember) {
      if (state !== undefined) {
        try {
          state = evolveMember(state, { type: e.type, data: e.data } as MemberEvent, e.position);
        } catch (error) {
          // A stored history the domain could never have written (tampering): say where, list on.
          if (!(error instanceof Error)) throw error;
          foldError = { revision: e.revision, message: error.message };
          state = undefined;
        }
      }
      balanceAfter = state === undefined ? null : balanceOf(state, e.recordedAt);
    }
    if (!inWindow(e, options)) continue;
    const m = e.metadata as Record<string, unknown>;
    listed.push({
      revision: e.revision,
      position: e.position,
      eventId: e.eventId,
      type: e.type,
      occurredAt: typeof m.occurredAt === 'string' ? m.occurredAt : null,
      recordedAt: e.recordedAt,
      actor: (m.actor as ReplayEntry['actor']) ?? null,
      correlationId: typeof m.correlationId === 'string' ? m.correlationId : null,
      data: e.data,
      prevHash: typeof m.prevHash === 'string' ? m.prevHash : null,
      hash: typeof m.hash === 'string' ? m.hash : null,
      chainOk: broken === undefined,
      ...(isMember ? { balanceAfter } : {}),
    });
  }
  return { streamId, eventCount: events.length, events: listed, chainBreak, foldError };
}

const balanceOf = (s: MemberState, recordedAt: string): MemberBalanceAfter => ({
  available: s.available,
  held: s.held,
  pending: pendingPointsAt(s.lots, recordedAt),
  lifetimeAccrued: s.lifetimeAccrued,
  lifetimeRedeemed: s.lifetimeRedeemed,
  lifetimeExpired: s.lifetimeExpired,
  openLots: s.lots.length,
});

/** What an event did, in a few words, for the table. */
export function describeEvent(type: string, data: unknown): string {
  const d = (data ?? {}) as Record<string, unknown>;
  switch (type) {
    case 'PointsAccrued':
      return `+${d.points} pts from ${d.issuerPartnerId} (${d.txId}), ${d.availableAt === undefined ? '' : `pending until ${String(d.availableAt)}, `}expires ${String(d.expiresAt).slice(0, 10)}`;
    case 'PointsReleased':
      return `${d.points} pts of lot ${d.lotId} released from pending`;
    case 'BonusAwarded':
      return `+${d.points} pts ${d.kind} bonus from ${d.issuerPartnerId} (${d.txId}: ${d.reason}), expires ${String(d.expiresAt).slice(0, 10)}`;
    case 'PointsRedeemed':
      return `-${d.points} pts at ${d.partnerId} (${d.txId}) from ${(d.slices as { lotId: string; points: number }[] | undefined)?.map((s) => `${s.lotId}:${s.points}`).join(', ') ?? '?'}`;
    case 'AccrualReversed':
      return `-${d.points} pts refund of ${d.originalTxId} (${d.txId})`;
    case 'RedemptionReversed':
      return `+${d.points} pts back, cancels ${d.originalTxId} (${d.txId})`;
    case 'PointsExpired':
      return `-${d.points} pts expired from lot ${d.lotId}`;
    case 'PointsHeld':
      return `${d.points} pts held at ${d.partnerId} (${d.holdId}) until ${String(d.expiresAt)}`;
    case 'HoldCaptured':
      return `hold ${d.holdId} captured: ${d.points} pts redeemed (${d.txId}), ${d.releasedPoints} released`;
    case 'HoldReleased':
      return d.reason === 'expired'
        ? `hold ${d.holdId} lapsed: ${d.points} pts back`
        : `hold ${d.holdId} released: ${d.points} pts back (${d.txId})`;
    case 'MemberEnrolled':
      return `card ${d.cardNumber}`;
    case 'CardBlocked':
      return `card ${d.cardNumber} blocked by ${d.blockedBy}: ${d.reason}`;
    case 'CardReplaced':
      return `card ${d.previousCardNumber} replaced by ${d.cardNumber}`;
    case 'TierChanged':
      return `tier ${String(d.fromTierId ?? 'none')} -> ${String(d.toTierId ?? 'none')} (${String(d.reason)}, ${String(d.qualifyingPoints)} qualifying pts)`;
    case 'MembershipPurchased':
      return `plan ${d.planId} sold by ${d.partnerId} (${d.txId}) for ${d.feeMinor} ${d.currency}, x${Number(d.multiplierBps) / 10000} until ${String(d.validUntil).slice(0, 10)}`;
    case 'SuspiciousActivityFlagged':
      return `accrual ${d.txId} refused and flagged: ${d.rule} ${d.observed} > ${d.limit} (${d.window})`;
    default: {
      const json = JSON.stringify(data);
      return json.length > 70 ? `${json.slice(0, 67)}...` : json;
    }
  }
}

/** The replay as a fixed-width table, for people. */
export function formatReplayTable(replay: StreamReplay): string {
  const member = replay.streamId.startsWith(MEMBER_PREFIX);
  const header = ['REV', 'POSITION', 'RECORDED AT', 'OCCURRED AT', 'TYPE', 'ACTOR', ...(member ? ['BALANCE'] : []), 'CHAIN', 'WHAT'];
  const rows = replay.events.map((e) => [
    String(e.revision),
    String(e.position),
    e.recordedAt,
    e.occurredAt ?? '-',
    e.type,
    e.actor ? `${e.actor.role}:${e.actor.partnerId ?? e.actor.keyId}` : '-',
    ...(member ? [e.balanceAfter ? String(e.balanceAfter.available) : '?'] : []),
    e.chainOk ? 'ok' : 'BROKEN',
    describeEvent(e.type, e.data),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const numeric = new Set(['REV', 'POSITION', 'BALANCE']);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : numeric.has(header[i]) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [`${replay.streamId}: ${replay.events.length} of ${replay.eventCount} events`, line(header), ...rows.map(line)];
  if (replay.chainBreak) out.push(`hash chain BROKEN at revision ${replay.chainBreak.revision}: ${replay.chainBreak.message}`);
  else out.push('hash chain: ok');
  if (replay.foldError) out.push(`member fold failed at revision ${replay.foldError.revision}: ${replay.foldError.message}`);
  return out.join('\n');
}
