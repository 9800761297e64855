import { RecordedEvent } from '@ledger/event-store';
import { AuditFold } from './audit-fold';

/**
 * What the programme KPI read model (libs/projections, program-kpis) should hold, folded by
 * the audit on its own from the events verify reads: enrolments per day and enrolling
 * partner, activity per day, partner and member, and each issuer's flows per day. Written
 * apart from the projector, as the rest of the audit is.
 */
export interface EnrolmentCount {
  day: string;
  enrolledBy: string;
  members: number;
}

export interface ActivityCell {
  day: string;
  partnerId: string;
  memberId: string;
  transactions: number;
  pointsEarned: number;
}

export interface IssuerDay {
  day: string;
  issuerPartnerId: string;
  issued: number;
  redeemed: number;
  reversed: number;
  expired: number;
  /** Issued in lots expiring that day, less their refunds. */
  expiring: number;
}

/** `YYYY-MM-DD` of an instant, in UTC. */
function utcDay(iso: unknown): string {
  const text = String(iso);
  const t = Date.parse(text);
  if (Number.isNaN(t)) return text;
  // This runs for every event verify reads, over a few hundred distinct days: format each day once.
  const dayNumber = Math.floor(t / DAY_MS);
  let day = utcDays.get(dayNumber);
  if (day === undefined) {
    day = new Date(dayNumber * DAY_MS).toISOString().slice(0, 10);
    utcDays.set(dayNumber, day);
  }
  return day;
}

const DAY_MS = 86_400_000;
const utcDays = new Map<number, string>();

/**
 * The map key of a KPI cell: its key columns joined by NUL. Ids and days never hold control
 * characters; a part that is not a string (a tampered read-model row) gets a key no cell has.
 * One string concatenation per event and per row, where JSON.stringify of an array was a
 * tenth of a verify.
 */
export function kpiKey(a: unknown, b: unknown): string {
  if (typeof a !== 'string' || typeof b !== 'string') return `\u0001${JSON.stringify([a, b])}`;
  return `${a}\u0000${b}`;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);

/**
 * Activity cells by day, then partner, then member: the read model's key order. A million
 * events make nearly as many cells; three lookups in small maps, with the day and member
 * strings the fold already hashed, cost less than building a key of all three and finding it
 * in one map of them all.
 */
export class ActivityCells {
  private readonly byDay = new Map<string, Map<string, Map<string, ActivityCell>>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The cell of a read-model row's key; undefined for one no event made (or a key that is not text). */
  get(day: unknown, partnerId: unknown, memberId: unknown): ActivityCell | undefined {
    if (typeof day !== 'string' || typeof partnerId !== 'string' || typeof memberId !== 'string') return undefined;
    return this.byDay.get(day)?.get(partnerId)?.get(memberId);
  }

  /** The cell for this key, made empty if there is none yet. */
  touch(day: string, partnerId: string, memberId: string): ActivityCell {
    let partners = this.byDay.get(day);
    if (partners === undefined) this.byDay.set(day, (partners = new Map()));
    let members = partners.get(partnerId);
    if (members === undefined) partners.set(partnerId, (members = new Map()));
    let cell = members.get(memberId);
    if (cell === undefined) {
      members.set(memberId, (cell = { day, partnerId, memberId, transactions: 0, pointsEarned: 0 }));
      this.count += 1;
    }
    return cell;
  }

  *values(): IterableIterator<ActivityCell> {
    for (const partners of this.byDay.values()) for (const members of partners.values()) yield* members.values();
  }
}

export class ProgramKpisFold {
  readonly enrolments = new Map<string, EnrolmentCount>();
  readonly activity = new ActivityCells();
  private readonly days = new Map<string, IssuerDay>();
  /** Refunds wait for the lots' expiries, which the audit fold knows once it is done. */
  private readonly refunds: { memberId: string; lotId: string; points: number }[] = [];

  /** One event of the log, in position order (events that broke a rule are left out by the caller). */
  apply(e: RecordedEvent): void {
    if (!e.streamId.startsWith('member-')) return;
    const d = e.data as Record<string, unknown>;
    const memberId = String(d.memberId);
    // The business day, worked out once per event (Date.parse is most of utcDay's cost).
    const day = utcDay(d.occurredAt);
    switch (e.type) {
      case 'MemberEnrolled': {
        const enrolledBy = typeof d.enrolledBy === 'string' ? d.enrolledBy : '';
        const key = kpiKey(day, enrolledBy);
        const found = this.enrolments.get(key);
        if (found) found.members += 1;
        else this.enrolments.set(key, { day, enrolledBy, members: 1 });
        return;
      }
      case 'PointsAccrued':
        this.touch(day, d, memberId, num(d.points));
        this.day(day, String(d.issuerPartnerId)).issued += num(d.points);
        this.day(utcDay(d.expiresAt), String(d.issuerPartnerId)).expiring += num(d.points);
        return;
      // A bonus: issued by its sponsor, no member activity (the read model's rule).
      case 'BonusAwarded':
        this.day(day, String(d.issuerPartnerId)).issued += num(d.points);
        this.day(utcDay(d.expiresAt), String(d.issuerPartnerId)).expiring += num(d.points);
        return;
      case 'PointsRedeemed':
      case 'RedemptionReversed': {
        this.touch(day, d, memberId, 0);
        const sign = e.type === 'PointsRedeemed' ? 1 : -1;
        for (const s of (d.slices ?? []) as Record<string, unknown>[])
          this.day(day, String(s.issuerPartnerId)).redeemed += sign * num(s.points);
        return;
      }
      case 'AccrualReversed':
        this.touch(day, d, memberId, 0);
        this.day(day, String(d.issuerPartnerId)).reversed += num(d.points);
        if (num(d.points) > 0) this.refunds.push({ memberId, lotId: String(d.lotId), points: num(d.points) });
        return;
      case 'PointsExpired':
        this.day(day, String(d.issuerPartnerId)).expired += num(d.points);
        return;
      default:
        // Holds move no value and no activity; other types are not in this report.
        return;
    }
  }

  /** Each issuer's days, once the refunds are taken off their lots' expiry days (from the audit fold's lots). */
  issuerDays(fold: AuditFold): Map<string, IssuerDay> {
    const days = new Map([...this.days].map(([k, v]) => [k, { ...v }]));
    for (const r of this.refunds) {
      const lot = fold.members.get(r.memberId)?.lots.get(r.lotId);
      // A refund of a lot that never was is an invariant break the fold reports already.
      if (lot === undefined) continue;
      const key = kpiKey(utcDay(lot.expiresAt), lot.issuerPartnerId);
      let row = days.get(key);
      if (row === undefined) {
        row = {
          day: utcDay(lot.expiresAt),
          issuerPartnerId: lot.issuerPartnerId,
          issued: 0,
          redeemed: 0,
          reversed: 0,
          expired: 0,
          expiring: 0,
        };
        days.set(key, row);
      }
      row.expiring -= r.points;
    }
    return days;
  }

  private touch(day: string, d: Record<string, unknown>, memberId: string, earned: number): void {
    const cell = this.activity.touch(day, String(d.partnerId), memberId);
    cell.transactions += 1;
    cell.pointsEarned += earned;
  }

  private day(day: string, issuerPartnerId: string): IssuerDay {
    const key = kpiKey(day, issuerPartnerId);
    let row = this.days.get(key);
    if (row === undefined) {
      row = { day, issuerPartnerId, issued: 0, redeemed: 0, reversed: 0, expired: 0, expiring: 0 };
      this.days.set(key, row);
    }
    return row;
  }
}
