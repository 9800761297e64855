import type Database from 'better-sqlite3';
import { AssertionFailed, LotSlice, assert } from '@ledger/domain';
import type { ClientBase } from 'pg';
import { EventOf, postgresBulk, PostgresReadModelBatch, ReadModel, ReadModelBatch, StagedSums } from './read-model';

// Only these types reach this module; any other event (cards, flags, pending releases,
// suspensions...) is passed over by the dispatch and moves nothing here. Those move no points.
// An event that issues a lot must be here, to issued and expiring, or its issuer's outstanding
// would go negative as its lots are redeemed or expire (and verify's fold in
// libs/audit/src/program-kpis-fold.ts with it): a bonus is, for its sponsor. A bonus is no
// member activity (the member did nothing at a partner), so it counts in the issuer flows only.
const HANDLES = [
  'MemberEnrolled',
  'PointsAccrued',
  'PointsRedeemed',
  'AccrualReversed',
  'RedemptionReversed',
  'PointsExpired',
  'BonusAwarded',
] as const;
type Handled = (typeof HANDLES)[number];

/** `enrolled_by` of a member enrolled by no partner (an admin, a script): counted in the total only. */
export const NO_PARTNER = '';

/**
 * What the programme KPI report (GET /v1/reports/program) is computed from, by UTC business
 * day: enrolments per enrolling partner; per member and partner, the transactions posted
 * there and the points earned there; per issuer, the flows of its points (issued, redeemed,
 * reversed, expired) and the points of its lots that expire that day (for breakage).
 */
export const programKpisReadModel: ReadModel<Handled> = {
  name: 'program kpis',
  handles: HANDLES,
  tables: [
    {
      name: 'program_enrolments',
      key: 'day, enrolled_by',
      sqlite: `CREATE TABLE IF NOT EXISTS program_enrolments (
        day         TEXT    NOT NULL,  -- YYYY-MM-DD (UTC) of the enrolment's business date
        enrolled_by TEXT    NOT NULL,  -- the enrolling partner, '' for none
        members     INTEGER NOT NULL CHECK (members > 0),
        PRIMARY KEY (day, enrolled_by)
      ) WITHOUT ROWID`,
    },
    {
      name: 'program_activity',
      key: 'day, partner_id, member_id',
      sqlite: `CREATE TABLE IF NOT EXISTS program_activity (
        day           TEXT    NOT NULL,
        partner_id    TEXT    NOT NULL,  -- where the transaction was posted (the redeemer for a redemption)
        member_id     TEXT    NOT NULL,
        transactions  INTEGER NOT NULL CHECK (transactions > 0),  -- accruals, redemptions and reversals
        points_earned INTEGER NOT NULL CHECK (points_earned >= 0),  -- accrued points, before any later refund
        PRIMARY KEY (day, partner_id, member_id)
      ) WITHOUT ROWID`,
    },
    {
      name: 'program_issuer_days',
      key: 'day, issuer_partner_id',
      sqlite: `CREATE TABLE IF NOT EXISTS program_issuer_days (
        day               TEXT    NOT NULL,
        issuer_partner_id TEXT    NOT NULL,
        points_issued     INTEGER NOT NULL,  -- accrued that day
        points_redeemed   INTEGER NOT NULL,  -- redeemed that day (anywhere), less cancellations that day
        points_reversed   INTEGER NOT NULL,  -- refunded that day
        points_expired    INTEGER NOT NULL,  -- expired that day (a lot's expiry)
        points_expiring   INTEGER NOT NULL,  -- issued in lots whose expiry is that day, less their refunds
        PRIMARY KEY (day, issuer_partner_id)
      ) WITHOUT ROWID`,
    },
  ],
  sqlite: (db) => new ProgramKpisSqlite(db),
  postgres: () => new ProgramKpisPostgres(),
  staging: () => new ProgramKpisStaging(),
};

/**
 * The UTC calendar day of a business date. Stored dates are `toISOString()` output (the domain
 * normalises them), so it is the first ten characters; anything else goes through Date.
 */
export function dayOfIso(iso: string): string {
  if (iso.length === 24 && iso.charCodeAt(23) === 90 /* Z */ && iso.charCodeAt(10) === 84 /* T */) return iso.slice(0, 10);
  const t = Date.parse(iso);
  assert(!Number.isNaN(t), 'stored business dates are valid instants');
  return new Date(t).toISOString().slice(0, 10);
}

interface ActivityDelta {
  day: string;
  partnerId: string;
  memberId: string;
  transactions: number;
  earned: number;
}

interface IssuerDayDelta {
  day: string;
  issuer: string;
  issued: number;
  redeemed: number;
  reversed: number;
  expired: number;
  expiring: number;
}

/** A refund's points leave its lot's expiry day: found at flush, from the lots table. */
interface Refund {
  memberId: string;
  lotId: string;
  points: number;
}

class ProgramKpisStaging {
  protected enrolments = new Map<string, { day: string; enrolledBy: string; members: number }>();
  protected activity = new Map<string, ActivityDelta>();
  protected issuerDays = new Map<string, IssuerDayDelta>();
  protected refunds: Refund[] = [];

  stage(event: EventOf<Handled>): void {
    switch (event.type) {
      case 'MemberEnrolled': {
        const day = dayOfIso(event.data.occurredAt);
        const enrolledBy = event.data.enrolledBy ?? NO_PARTNER;
        const key = `${day}\u0000${enrolledBy}`;
        const row = this.enrolments.get(key);
        if (row === undefined) this.enrolments.set(key, { day, enrolledBy, members: 1 });
        else row.members += 1;
        return;
      }
      case 'PointsAccrued': {
        const d = event.data;
        const day = dayOfIso(d.occurredAt);
        this.activityOf(day, d.partnerId, d.memberId, d.points);
        this.issuerDay(day, d.issuerPartnerId).issued += d.points;
        this.issuerDay(dayOfIso(d.expiresAt), d.issuerPartnerId).expiring += d.points;
        return;
      }
      case 'BonusAwarded': {
        const d = event.data;
        this.issuerDay(dayOfIso(d.occurredAt), d.issuerPartnerId).issued += d.points;
        this.issuerDay(dayOfIso(d.expiresAt), d.issuerPartnerId).expiring += d.points;
        return;
      }
      case 'PointsRedeemed': {
        const d = event.data;
        const day = dayOfIso(d.occurredAt);
        this.activityOf(day, d.partnerId, d.memberId, 0);
        this.slices(day, d.slices, 1);
        return;
      }
      case 'AccrualReversed': {
        const d = event.data;
        const day = dayOfIso(d.occurredAt);
        this.activityOf(day, d.partnerId, d.memberId, 0);
        this.issuerDay(day, d.issuerPartnerId).reversed += d.points;
        if (d.points > 0) this.refunds.push({ memberId: d.memberId, lotId: d.lotId, points: d.points });
        return;
      }
      case 'RedemptionReversed': {
        const d = event.data;
        const day = dayOfIso(d.occurredAt);
        this.activityOf(day, d.partnerId, d.memberId, 0);
        this.slices(day, d.slices, -1);
        return;
      }
      // Dated at the lot's expiry: the day the lot's points were counted as expiring.
      case 'PointsExpired': {
        const d = event.data;
        this.issuerDay(dayOfIso(d.occurredAt), d.issuerPartnerId).expired += d.points;
        return;
      }
      default: {
        const unknown: never = event;
        throw new AssertionFailed(`program kpis: unhandled ${JSON.stringify(unknown)}`);
      }
    }
  }

  discard(): void {
    this.enrolments.clear();
    this.activity.clear();
    this.issuerDays.clear();
    this.refunds.length = 0;
  }

  /**
   * The batch's sums, handed to the thread that writes them; the staging starts an empty batch.
   * The activity rows (about one per event) go flat: as objects in a map their structured clone
   * cost the receiving thread several times as much.
   */
  take() {
    const activity: (string | number)[] = [];
    for (const a of this.activity.values()) activity.push(a.day, a.partnerId, a.memberId, a.transactions, a.earned);
    const staged = { enrolments: this.enrolments, activity, issuerDays: this.issuerDays, refunds: this.refunds };
    this.enrolments = new Map();
    this.activity = new Map();
    this.issuerDays = new Map();
    this.refunds = [];
    return staged;
  }

  /** The sums `take` handed over, as they were staged. */
  restore(sums: StagedSums): void {
    const staged = sums as ReturnType<ProgramKpisStaging['take']>;
    this.enrolments = staged.enrolments;
    this.issuerDays = staged.issuerDays;
    this.refunds = staged.refunds;
    const flat = staged.activity;
    this.activity = new Map();
    for (let i = 0; i < flat.length; i += 5) {
      const row = {
        day: flat[i] as string,
        partnerId: flat[i + 1] as string,
        memberId: flat[i + 2] as string,
        transactions: flat[i + 3] as number,
        earned: flat[i + 4] as number,
      };
      this.activity.set(`${row.day}\u0000${row.partnerId}\u0000${row.memberId}`, row);
    }
  }

  private slices(day: string, slices: readonly LotSlice[], sign: 1 | -1): void {
    for (const s of slices) this.issuerDay(day, s.issuerPartnerId).redeemed += sign * s.points;
  }

  private activityOf(day: string, partnerId: string, memberId: string, earned: number): void {
    const key = `${day}\u0000${partnerId}\u0000${memberId}`;
    let row = this.activity.get(key);
    if (row === undefined) {
      row = { day, partnerId, memberId, transactions: 0, earned: 0 };
      this.activity.set(key, row);
    }
    row.transactions += 1;
    row.earned += earned;
  }

  private issuerDay(day: string, issuer: string): IssuerDayDelta {
    const key = `${day}\u0000${issuer}`;
    let row = this.issuerDays.get(key);
    if (row === undefined) {
      row = { day, issuer, issued: 0, redeemed: 0, reversed: 0, expired: 0, expiring: 0 };
      this.issuerDays.set(key, row);
    }
    return row;
  }
}

// Qualified by the table name, which both SQLite and PostgreSQL accept (PostgreSQL requires it).
const ADD_ENROLMENTS = `ON CONFLICT (day, enrolled_by) DO UPDATE SET members = program_enrolments.members + excluded.members`;
const ADD_ACTIVITY = `ON CONFLICT (day, partner_id, member_id) DO UPDATE SET
  transactions = program_activity.transactions + excluded.transactions,
  points_earned = program_activity.points_earned + excluded.points_earned`;
const ADD_ISSUER_DAY = `ON CONFLICT (day, issuer_partner_id) DO UPDATE SET
  points_issued = program_issuer_days.points_issued + excluded.points_issued,
  points_redeemed = program_issuer_days.points_redeemed + excluded.points_redeemed,
  points_reversed = program_issuer_days.points_reversed + excluded.points_reversed,
  points_expired = program_issuer_days.points_expired + excluded.points_expired,
  points_expiring = program_issuer_days.points_expiring + excluded.points_expiring`;
const ISSUER_DAY_COLUMNS = 'day, issuer_partner_id, points_issued, points_redeemed, points_reversed, points_expired, points_expiring';

class ProgramKpisSqlite extends ProgramKpisStaging implements ReadModelBatch<Handled> {
  private readonly addEnrolments: Database.Statement<[string, string, number]>;
  private readonly addActivity: Database.Statement<[string, string, string, number, number]>;
  private readonly addIssuerDay: Database.Statement<[string, string, number, number, number, number, number]>;
  private readonly refundLot: Database.Statement<[number, string, string]>;

  constructor(db: Database.Database) {
    super();
    this.addEnrolments = db.prepare(`INSERT INTO program_enrolments (day, enrolled_by, members) VALUES (?, ?, ?) ${ADD_ENROLMENTS}`);
    this.addActivity = db.prepare(
      `INSERT INTO program_activity (day, partner_id, member_id, transactions, points_earned) VALUES (?, ?, ?, ?, ?) ${ADD_ACTIVITY}`,
    );
    this.addIssuerDay = db.prepare(
      `INSERT INTO program_issuer_days (${ISSUER_DAY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ${ADD_ISSUER_DAY}`,
    );
    // The lot's row is there: the members-and-lots read model flushes before this one, in the same transaction.
    this.refundLot = db.prepare(
      `INSERT INTO program_issuer_days (${ISSUER_DAY_COLUMNS})
       SELECT substr(expires_at, 1, 10), issuer_partner_id, 0, 0, 0, 0, -? FROM lots WHERE member_id = ? AND lot_id = ?
       ${ADD_ISSUER_DAY}`,
    );
  }

  flush(): void {
    for (const e of this.enrolments.values()) this.addEnrolments.run(e.day, e.enrolledBy, e.members);
    for (const a of this.activity.values()) this.addActivity.run(a.day, a.partnerId, a.memberId, a.transactions, a.earned);
    for (const d of this.issuerDays.values())
      this.addIssuerDay.run(d.day, d.issuer, d.issued, d.redeemed, d.reversed, d.expired, d.expiring);
    for (const r of this.refunds) {
      const info = this.refundLot.run(r.points, r.memberId, r.lotId);
      if (info.changes !== 1) throw new AssertionFailed(`refunded lot ${r.lotId} of member ${r.memberId} does not exist`);
    }
  }
}

class ProgramKpisPostgres extends ProgramKpisStaging implements PostgresReadModelBatch<Handled> {
  async flush(client: ClientBase): Promise<void> {
    const enrolments: (string | number)[][] = [[], [], []];
    for (const e of this.enrolments.values()) [e.day, e.enrolledBy, e.members].forEach((v, i) => enrolments[i].push(v));
    await postgresBulk(
      client,
      `INSERT INTO program_enrolments (day, enrolled_by, members) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ${ADD_ENROLMENTS}`,
      enrolments,
    );
    const activity: (string | number)[][] = [[], [], [], [], []];
    for (const a of this.activity.values())
      [a.day, a.partnerId, a.memberId, a.transactions, a.earned].forEach((v, i) => activity[i].push(v));
    await postgresBulk(
      client,
      `INSERT INTO program_activity (day, partner_id, member_id, transactions, points_earned)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) ${ADD_ACTIVITY}`,
      activity,
    );
    const days: (string | number)[][] = [[], [], [], [], [], [], []];
    for (const d of this.issuerDays.values())
      [d.day, d.issuer, d.issued, d.redeemed, d.reversed, d.expired, d.expiring].forEach((v, i) => days[i].push(v));
    await postgresBulk(
      client,
      `INSERT INTO program_issuer_days (${ISSUER_DAY_COLUMNS})
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[]) ${ADD_ISSUER_DAY}`,
      days,
    );
    if (this.refunds.length === 0) return;
    const refunds: (string | number)[][] = [[], [], []];
    for (const r of this.refunds) [r.memberId, r.lotId, r.points].forEach((v, i) => refunds[i].push(v));
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*) AS n FROM unnest($1::text[], $2::text[]) AS r(member_id, lot_id) JOIN lots l USING (member_id, lot_id)`,
      [refunds[0], refunds[1]],
    );
    if (rows[0].n !== this.refunds.length) throw new AssertionFailed('a refunded lot does not exist');
    // Grouped: one statement may not update a row twice. The lots are flushed by then (members-and-lots runs first).
    await postgresBulk(
      client,
      `INSERT INTO program_issuer_days (${ISSUER_DAY_COLUMNS})
       SELECT substr(l.expires_at, 1, 10), l.issuer_partner_id, 0, 0, 0, 0, -sum(r.points)::bigint
       FROM unnest($1::text[], $2::text[], $3::bigint[]) AS r(member_id, lot_id, points) JOIN lots l USING (member_id, lot_id)
       GROUP BY 1, 2 ${ADD_ISSUER_DAY}`,
      refunds,
    );
  }
}
