import { InvalidInput, assert, MemberEvent, MemberState, NotFound, evolveMember, initialMember, memberStream } from '@ledger/domain';
import { EventStore, RecordedEvent } from '@ledger/event-store';
import { AuditFold } from './audit-fold';
import { ExpiringPoints, balanceFromLots, type PartnerPosition } from '@ledger/projections';

/**
 * "As of" = what the ledger knew at a moment, computed from the events alone (never from
 * a read model), so it is reproducible by anyone holding the log.
 *
 * A moment is either
 *  - a **position** of the global log: every event at or before it counts; or
 *  - a **time**, meaning *recorded* time (`recordedAt`, the store's clock), not business
 *    time (`occurredAt`). A time T is turned into a position: the last event recorded at or
 *    before T. So "as of 10:00" is exactly the ledger an auditor could have read at 10:00,
 *    including a purchase back-dated to last week that was posted at 09:59, and excluding
 *    one dated 09:00 but posted at 10:05. (Balances by business date are a different
 *    question, answered by settlement periods.)
 *
 * The time→position rule finds the boundary by binary search over positions, assuming
 * recorded times do not decrease along the log (true of a store with one clock; verify
 * reports a store where they do). Positions are compared, never computed with.
 */
export type AsOf = { kind: 'position'; position: number } | { kind: 'time'; at: string } | { kind: 'now' };

/** The head of the log when the question is answered. */
export const AS_OF_NOW: AsOf = { kind: 'now' };

export interface ResolvedAsOf {
  /** As given: a position, or the normalised ISO time. */
  requested: string;
  /** The last event counted; undefined when none is (a time before the first event). */
  position: number | undefined;
  /** That event's recorded time. */
  recordedAt: string | undefined;
}

const POSITION_TEXT = /^[0-9]{1,16}$/;
// A zone is required: "10:00" without one would mean different instants on different machines.
const ISO_INSTANT = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})$/;

/** Parses `asOf` as given on the wire: a non-negative integer position, or an ISO 8601 instant with a zone. 400 otherwise. */
export function parseAsOf(raw: string | number, field = 'asOf'): AsOf {
  if (typeof raw === 'number') {
    if (Number.isSafeInteger(raw) && raw >= 0) return { kind: 'position', position: raw };
    throw new InvalidInput(field, 'must be a log position (a whole number) or an ISO 8601 time with a zone');
  }
  const text = raw.trim();
  if (POSITION_TEXT.test(text)) {
    const position = Number(text);
    if (Number.isSafeInteger(position)) return { kind: 'position', position };
  }
  if (ISO_INSTANT.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return { kind: 'time', at: new Date(ms).toISOString() };
  }
  throw new InvalidInput(field, 'must be a log position (a whole number) or an ISO 8601 time with a zone');
}

const asAsOf = (asOf: AsOf | string | number): AsOf => (typeof asOf === 'object' ? asOf : parseAsOf(asOf));

/** The moment as a position of the log (see the rules above). */
export async function resolveAsOf(store: EventStore, asOf: AsOf | string | number): Promise<ResolvedAsOf> {
  const moment = asAsOf(asOf);
  if (moment.kind === 'now') {
    const [last] = await store.readAll({ direction: 'backwards', maxCount: 1 });
    return { requested: 'now', position: last?.position, recordedAt: last?.recordedAt };
  }
  if (moment.kind === 'position') {
    const last = await withLinearFallback(
      async () => (await store.readAll({ fromPosition: moment.position, direction: 'backwards', maxCount: 1 }))[0],
      () => lastWhere(store, (e) => e.position <= moment.position),
    );
    return { requested: String(moment.position), position: last?.position, recordedAt: last?.recordedAt };
  }
  const t = Date.parse(moment.at);
  const last = await withLinearFallback(
    () => lastRecordedAtOrBefore(store, t),
    () => lastWhere(store, (e) => recordedMs(e) <= t),
  );
  return { requested: moment.at, position: last?.position, recordedAt: last?.recordedAt };
}

/**
 * The port promises reads from positions it handed out; the searches here read from any
 * position value, which the embedded stores accept. A store that refuses (a real
 * EventStoreDB node may, for a position inside a record) gets the same answer by a scan.
 */
async function withLinearFallback<T>(search: () => Promise<T>, scan: () => Promise<T>): Promise<T> {
  try {
    return await search();
  } catch (error) {
    if (error instanceof RangeError || (error instanceof Error && /position/i.test(error.message))) return scan();
    throw error;
  }
}

const SCAN_PAGE = 5_000;

/** The last event of the longest prefix of the log whose events all satisfy `holds`. */
async function lastWhere(store: EventStore, holds: (e: RecordedEvent) => boolean): Promise<RecordedEvent | undefined> {
  let last: RecordedEvent | undefined;
  for (;;) {
    const page = await store.readAll({ fromPosition: last?.position, maxCount: SCAN_PAGE + 1 });
    let fresh = 0;
    for (const e of page) {
      if (last !== undefined && e.position <= last.position) continue;
      if (!holds(e)) return last;
      last = e;
      fresh += 1;
    }
    if (fresh === 0 || page.length <= SCAN_PAGE) return last;
  }
}

const recordedMs = (e: RecordedEvent) => Date.parse(e.recordedAt);

async function firstAtOrAfter(store: EventStore, position: number): Promise<RecordedEvent | undefined> {
  const [e] = await store.readAll({ fromPosition: position, maxCount: 1 });
  return e;
}

/**
 * The last event recorded at or before `t`, by binary search over position values:
 * O(log(position range)) single-event reads.
 */
export async function lastRecordedAtOrBefore(store: EventStore, t: number): Promise<RecordedEvent | undefined> {
  const first = await firstAtOrAfter(store, 0);
  if (first === undefined || recordedMs(first) > t) return undefined;
  const [head] = await store.readAll({ direction: 'backwards', maxCount: 1 });
  if (recordedMs(head) <= t) return head;
  // Invariant: `good` was recorded at or before t, `bad` after it, good.position < bad.position,
  // and every event between them lies at a position <= `limit`.
  let good = first;
  let bad = head;
  let limit = bad.position - 1;
  // Every round at least halves limit - good.position, so 53 rounds cover any safe range.
  for (let round = 0; round < 200 && good.position < limit; round++) {
    const mid = good.position + Math.floor((limit - good.position) / 2) + 1;
    const e = await firstAtOrAfter(store, mid);
    if (e === undefined || e.position >= bad.position) {
      limit = mid - 1; // nothing in [mid, bad): look lower
    } else if (recordedMs(e) <= t) {
      good = e;
    } else {
      // e is the first event at or after mid, so nothing lies in [mid, e): look lower.
      bad = e;
      limit = mid - 1;
    }
  }
  return good;
}

/** A member's balance at a moment: the member stream folded up to it by the domain's own evolve. */
export interface MemberAsOf {
  memberId: string;
  cardNumber: string;
  available: number;
  held: number;
  /** Points still in their return window at the moment (not in `available`), soonest first. */
  pending: { points: number; lots: { lotId: string; issuerPartnerId: string; points: number; availableAt: string }[] };
  lifetimeAccrued: number;
  lifetimeRedeemed: number;
  lifetimeExpired: number;
  /** The programme tier at the moment (null: none). */
  tier: string | null;
  /** Open lots not expired at the moment (a lot past its expiry drops out, lapse recorded or not), less those still pending. */
  lots: { lotId: string; issuerPartnerId: string; points: number; expiresAt: string }[];
  /** Points lapsing within 30 days after the moment, by expiry. */
  expiringSoon: ExpiringPoints[];
  asOf: ResolvedAsOf;
  /** The position the answer reflects (as the read model's `asOfPosition`). */
  asOfPosition: number;
  /** Position of the member's last event counted. */
  memberPosition: number;
}

/** The member's state at `asOf`. 404 when the member had not enrolled by then. */
export async function memberAsOf(store: EventStore, memberId: string, asOf: AsOf | string | number): Promise<MemberAsOf> {
  const resolved = await resolveAsOf(store, asOf);
  const { state, lastPosition } = await foldMemberUpTo(store, memberId, resolved.position);
  if (state.status === 'none' || lastPosition === undefined) throw new NotFound('member', `${memberId} as of ${resolved.requested}`);
  const at = momentOf(resolved);
  let held = 0;
  for (const h of state.holds.values()) if (h.status === 'open' && isLive(h.expiresAt, at)) held += h.points;
  // A lot past its availableAt at the moment is spendable, its release recorded or not.
  const pendingLots = state.lots
    .filter((lot) => lot.availableAt !== undefined && isLive(lot.availableAt, at))
    .map(({ lotId, issuerPartnerId, points, availableAt }) => ({ lotId, issuerPartnerId, points, availableAt: availableAt! }))
    .sort((a, b) => (a.availableAt < b.availableAt ? -1 : a.availableAt > b.availableAt ? 1 : a.lotId < b.lotId ? -1 : 1));
  const pendingIds = new Set(pendingLots.map((lot) => lot.lotId));
  const pending = pendingLots.reduce((sum, lot) => sum + lot.points, 0);
  // Lots are judged at the same moment as holds, by the read models' own rule.
  const openLots = state.lots
    .filter((lot) => !pendingIds.has(lot.lotId))
    .map(({ lotId, issuerPartnerId, points, expiresAt }) => ({ lotId, issuerPartnerId, points, expiresAt }));
  const { available, lots, expiringSoon } = balanceFromLots(openLots, held, at === undefined ? undefined : new Date(at));
  return {
    memberId,
    cardNumber: state.cardNumber,
    available,
    held,
    pending: { points: pending, lots: pendingLots },
    lifetimeAccrued: state.lifetimeAccrued,
    lifetimeRedeemed: state.lifetimeRedeemed,
    tier: state.tier,
    lifetimeExpired: state.lifetimeExpired,
    lots,
    expiringSoon,
    asOf: resolved,
    asOfPosition: resolved.position!,
    memberPosition: lastPosition,
  };
}

async function foldMemberUpTo(
  store: EventStore,
  memberId: string,
  position: number | undefined,
): Promise<{ state: MemberState; lastPosition: number | undefined }> {
  let state = initialMember();
  let lastPosition: number | undefined;
  if (position === undefined) return { state, lastPosition };
  // A stream's positions grow with its revisions, so the events counted are a prefix of it.
  for (const e of await store.readStream(memberStream(memberId))) {
    if (e.position > position) break;
    state = evolveMember(state, { type: e.type, data: e.data } as MemberEvent, e.position);
    lastPosition = e.position;
  }
  return { state, lastPosition };
}

/**
 * A partner's book with the coalition at a moment: the read model's fields, computed from
 * the events (`liabilityMinor` at the point value in force then), and the moment resolved.
 */
export type PartnerPositionAsOf = PartnerPosition & { asOf: ResolvedAsOf };

/**
 * A partner's position at `asOf`: the whole log up to that moment folded (a partner's book
 * is touched by every member who holds or spends its points). 404 when the partner had
 * neither joined nor issued or redeemed anything by then.
 */
export async function partnerPositionAsOf(
  store: EventStore,
  partnerId: string,
  asOf: AsOf | string | number,
): Promise<PartnerPositionAsOf> {
  const resolved = await resolveAsOf(store, asOf);
  const fold = new AuditFold();
  if (resolved.position !== undefined) await store.scanAll({ upTo: resolved.position }, (e) => void fold.apply(e));
  const p = fold.partnerPosition(partnerId);
  if (p === undefined) throw new NotFound('partner', `${partnerId} as of ${resolved.requested}`);
  const redeemedOwn = p.pointsRedeemedElsewhere + (p.pointsRedeemedAt - p.pointsRedeemedFromOthers);
  const outstanding = p.pointsIssued - redeemedOwn - p.pointsExpired - p.pointsReversed;
  const liabilityMinor = outstanding * (fold.coalition?.pointValueMinor ?? 0);
  assert(Number.isSafeInteger(liabilityMinor), 'a liability fits a safe integer');
  const at = momentOf(resolved);
  let pointsHeld = 0;
  for (const h of fold.holds.values())
    if (h.partnerId === partnerId && h.status === 'open' && isLive(h.expiresAt, at)) pointsHeld += h.points;
  let pointsPending = 0;
  for (const lot of fold.pendingLots.values())
    if (lot.issuerPartnerId === partnerId && isLive(lot.availableAt, at)) pointsPending += lot.points;
  return {
    partnerId,
    currency: fold.coalition?.currency ?? null,
    pointsIssued: p.pointsIssued,
    pointsRedeemedAt: p.pointsRedeemedAt,
    pointsRedeemedElsewhere: p.pointsRedeemedElsewhere,
    pointsRedeemedFromOthers: p.pointsRedeemedFromOthers,
    pointsExpired: p.pointsExpired,
    pointsReversed: p.pointsReversed,
    pointsOutstanding: outstanding,
    liabilityMinor,
    pointsHeld,
    pointsPending,
    asOfPosition: resolved.position!,
    asOf: resolved,
  };
}

/**
 * The time holds are judged live (and lots pending) at: the moment asked for when it is a time, else the
 * recorded time of the last event counted (a hold past its expiry keeps nothing, lapse
 * recorded or not).
 */
function momentOf(resolved: ResolvedAsOf): number | undefined {
  const asked = Date.parse(resolved.requested);
  if (resolved.requested.includes('T') && !Number.isNaN(asked)) return asked;
  return resolved.recordedAt === undefined ? undefined : Date.parse(resolved.recordedAt);
}

const isLive = (expiresAt: string, at: number | undefined) => at === undefined || Date.parse(expiresAt) > at;
