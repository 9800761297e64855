import { BPS_PER_UNIT, InvalidInput, assert, pointsToMinor, roundHalfEven } from '@ledger/domain';
import { NO_PARTNER } from './read-models/program-kpis.read-model';

/** The longest window a report covers (it also reads the window before it, of the same length). */
export const PROGRAM_WINDOW_DAYS_MAX = 366;

const DAY_MS = 86_400_000;
const DATE_TEXT = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

/** A report's window of UTC days: [from, to), and the window before it of the same length, [previousFrom, from). */
export interface ProgramWindow {
  from: string;
  to: string;
  previousFrom: string;
  days: number;
}

/** A calendar date `YYYY-MM-DD` (UTC), or a 400 naming the field. */
function parseDay(field: string, raw: unknown): number {
  if (raw === undefined || raw === '') throw new InvalidInput(field, 'is required: a date YYYY-MM-DD');
  if (typeof raw !== 'string' || !DATE_TEXT.test(raw)) throw new InvalidInput(field, 'must be a date YYYY-MM-DD');
  const t = Date.parse(`${raw}T00:00:00.000Z`);
  // Date.parse accepts 2026-02-30 as 2 March: only a date that prints back the same is one.
  if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== raw) throw new InvalidInput(field, 'is not a calendar date');
  return t;
}

/**
 * The window of `?from=&to=` (or `--from --to`): two calendar dates, `from` before `to`, at
 * most PROGRAM_WINDOW_DAYS_MAX days apart; anything else is a 400 naming the field.
 */
export function programWindow(from: unknown, to: unknown, fields = { from: 'from', to: 'to' }): ProgramWindow {
  const fromMs = parseDay(fields.from, from);
  const toMs = parseDay(fields.to, to);
  if (toMs <= fromMs) throw new InvalidInput(fields.to, 'must be after from');
  const days = (toMs - fromMs) / DAY_MS;
  if (days > PROGRAM_WINDOW_DAYS_MAX) throw new InvalidInput(fields.to, `must be at most ${PROGRAM_WINDOW_DAYS_MAX} days after from`);
  const previousFrom = new Date(fromMs - days * DAY_MS).toISOString().slice(0, 10);
  return { from: from as string, to: to as string, previousFrom, days };
}

/** The sums a read store hands the report, from the programme KPI tables (one snapshot). */
export interface ProgramFigures {
  /** Every partner known (joined), by id. */
  partners: string[];
  coalition: { currency: string; pointValueMinor: number } | undefined;
  asOfPosition: number | undefined;
  /** Members enrolled in the window, by enrolling partner (NO_PARTNER: none). */
  enrolled: { partnerId: string; members: number }[];
  /** Members with a transaction in the window (current), in the one before (previous), and in both (retained). */
  activeByPartner: ActiveFigures[];
  activeTotal: Omit<ActiveFigures, 'partnerId'>;
  /** Members who earned points in the window, their points, and the points of the top ceil(20%) of them. */
  earningByPartner: EarningFigures[];
  earningTotal: Omit<EarningFigures, 'partnerId'>;
  /** Per issuer: points of its lots expiring in the window (less refunds) and points expired in it. */
  breakage: { partnerId: string; expiring: number; expired: number }[];
  /** Per issuer: points outstanding at `to` (issued − redeemed − reversed − expired, business dates before `to`). */
  outstanding: { partnerId: string; points: number }[];
}

export interface ActiveFigures {
  partnerId: string;
  current: number;
  previous: number;
  retained: number;
}

export interface EarningFigures {
  partnerId: string;
  earners: number;
  points: number;
  topPoints: number;
}

/** One row of the report: a partner's figures, or the programme's. Rates are basis points, null when undefined (0 ÷ 0). */
export interface ProgramKpis {
  enrolled: number;
  active: number;
  previousActive: number;
  /** Members active in the previous window and again in this one. */
  retained: number;
  retentionBps: number | null;
  churnBps: number | null;
  /** Members who earned points in the window. */
  earners: number;
  /** ceil(20% of earners). */
  topEarners: number;
  pointsEarned: number;
  topPointsEarned: number;
  topShareBps: number | null;
  /** Points issued in lots whose expiry falls in the window, less their refunds. */
  pointsExpiring: number;
  /** Points expired in the window (a lot expires on its expiry date). */
  pointsExpired: number;
  breakageBps: number | null;
  /** Points outstanding at `to`, and their value at the coalition's current point value. */
  outstandingPoints: number;
  liabilityMinor: number;
}

export interface ProgramReport {
  from: string;
  to: string;
  previousFrom: string;
  days: number;
  currency: string | null;
  pointValueMinor: number | null;
  partners: ({ partnerId: string } & ProgramKpis)[];
  total: ProgramKpis;
  asOfPosition: number | null;
}

/** part ÷ whole in basis points, rounded half-to-even (the ledger's one rounding rule); null when whole is 0. */
export function ratioBps(part: number, whole: number): number | null {
  assert(Number.isSafeInteger(part) && Number.isSafeInteger(whole), 'ratio terms are safe integers');
  if (whole === 0) return null;
  return Number(roundHalfEven(BigInt(part) * BigInt(BPS_PER_UNIT), BigInt(whole)));
}

/** The report from its sums: the rates, per partner and for the programme. */
export function programReport(window: ProgramWindow, figures: ProgramFigures): ProgramReport {
  const pointValueMinor = figures.coalition?.pointValueMinor ?? 0;
  const byId = <T extends { partnerId: string }>(rows: T[]) => new Map(rows.map((r) => [r.partnerId, r]));
  const enrolled = byId(figures.enrolled);
  const active = byId(figures.activeByPartner);
  const earning = byId(figures.earningByPartner);
  const breakage = byId(figures.breakage);
  const outstanding = byId(figures.outstanding);
  // Every partner joined, and any other party the figures name (an issuer that is not a partner).
  const ids = new Set(figures.partners);
  for (const rows of [figures.enrolled, figures.activeByPartner, figures.earningByPartner, figures.breakage, figures.outstanding])
    for (const r of rows) if (r.partnerId !== NO_PARTNER) ids.add(r.partnerId);

  const kpis = (
    enrolledMembers: number,
    a: Omit<ActiveFigures, 'partnerId'> | undefined,
    e: Omit<EarningFigures, 'partnerId'> | undefined,
    b: { expiring: number; expired: number } | undefined,
    outstandingPoints: number,
  ): ProgramKpis => {
    const retentionBps = ratioBps(a?.retained ?? 0, a?.previous ?? 0);
    const earners = e?.earners ?? 0;
    return {
      enrolled: enrolledMembers,
      active: a?.current ?? 0,
      previousActive: a?.previous ?? 0,
      retained: a?.retained ?? 0,
      retentionBps,
      // Half-to-even is symmetric, so retention and churn always add up to 10 000.
      churnBps: retentionBps === null ? null : BPS_PER_UNIT - retentionBps,
      earners,
      topEarners: Math.ceil(earners / 5),
      pointsEarned: e?.points ?? 0,
      topPointsEarned: e?.topPoints ?? 0,
      topShareBps: ratioBps(e?.topPoints ?? 0, e?.points ?? 0),
      pointsExpiring: b?.expiring ?? 0,
      pointsExpired: b?.expired ?? 0,
      breakageBps: ratioBps(b?.expired ?? 0, b?.expiring ?? 0),
      outstandingPoints,
      liabilityMinor: pointsToMinor(outstandingPoints, pointValueMinor),
    };
  };

  const partners = [...ids].sort().map((partnerId) => ({
    partnerId,
    ...kpis(
      enrolled.get(partnerId)?.members ?? 0,
      active.get(partnerId),
      earning.get(partnerId),
      breakage.get(partnerId),
      outstanding.get(partnerId)?.points ?? 0,
    ),
  }));
  const sum = (values: number[]) => values.reduce((s, v) => s + v, 0);
  const total = kpis(
    sum(figures.enrolled.map((r) => r.members)),
    figures.activeTotal,
    figures.earningTotal,
    { expiring: sum(figures.breakage.map((r) => r.expiring)), expired: sum(figures.breakage.map((r) => r.expired)) },
    sum(figures.outstanding.map((r) => r.points)),
  );
  return {
    from: window.from,
    to: window.to,
    previousFrom: window.previousFrom,
    days: window.days,
    currency: figures.coalition?.currency ?? null,
    pointValueMinor: figures.coalition?.pointValueMinor ?? null,
    partners,
    total,
    asOfPosition: figures.asOfPosition ?? null,
  };
}

/** The SQL both read stores run (parameters $1, $2, ...; SQLite reads them as ?1, ?2, ...). Dates compare as text. */
export const PROGRAM_SQL = {
  partners: `SELECT partner_id AS "partnerId" FROM partner_positions ORDER BY partner_id`,
  coalition: `SELECT currency, point_value_minor AS "pointValueMinor" FROM coalition WHERE id = 0`,
  /** $1 from, $2 to */
  enrolled: `SELECT enrolled_by AS "partnerId", CAST(sum(members) AS BIGINT) AS "members"
    FROM program_enrolments WHERE day >= $1 AND day < $2 GROUP BY enrolled_by`,
  /** $1 previousFrom, $2 from, $3 to; `group` is `partner_id, member_id` or `member_id`. */
  active: (group: string) => `SELECT ${group.includes('partner_id') ? 'partner_id AS "partnerId", ' : ''}
      CAST(coalesce(sum(c), 0) AS BIGINT) AS "current", CAST(coalesce(sum(p), 0) AS BIGINT) AS "previous",
      CAST(coalesce(sum(c * p), 0) AS BIGINT) AS "retained"
    FROM (SELECT ${group}, max(CASE WHEN day >= $2 THEN 1 ELSE 0 END) AS c, max(CASE WHEN day < $2 THEN 1 ELSE 0 END) AS p
          FROM program_activity WHERE day >= $1 AND day < $3 GROUP BY ${group}) AS m
    ${group.includes('partner_id') ? 'GROUP BY partner_id' : ''}`,
  /**
   * $1 from, $2 to. Members ranked by points earned; the top ceil(n / 5) = (n + 4) / 5 in integer
   * division. Among equal points the rank is arbitrary, but the top's sum is the same.
   */
  earning: (partitioned: boolean) => {
    const part = partitioned ? 'PARTITION BY partner_id' : '';
    const group = partitioned ? 'partner_id, member_id' : 'member_id';
    return `SELECT ${partitioned ? 'partner_id AS "partnerId", ' : ''} n AS "earners", CAST(sum(points) AS BIGINT) AS "points",
        CAST(sum(CASE WHEN rn <= (n + 4) / 5 THEN points ELSE 0 END) AS BIGINT) AS "topPoints"
      FROM (SELECT ${partitioned ? 'partner_id, ' : ''} points, row_number() OVER (${part} ORDER BY points DESC) AS rn, count(*) OVER (${part}) AS n
            FROM (SELECT ${group}, sum(points_earned) AS points FROM program_activity WHERE day >= $1 AND day < $2
                  GROUP BY ${group} HAVING sum(points_earned) > 0) AS e) AS r
      GROUP BY ${partitioned ? 'partner_id, ' : ''} n`;
  },
  /** $1 from, $2 to */
  breakage: `SELECT issuer_partner_id AS "partnerId", CAST(sum(points_expiring) AS BIGINT) AS "expiring",
      CAST(sum(points_expired) AS BIGINT) AS "expired"
    FROM program_issuer_days WHERE day >= $1 AND day < $2 GROUP BY issuer_partner_id`,
  /** $1 to */
  outstanding: `SELECT issuer_partner_id AS "partnerId",
      CAST(sum(points_issued - points_redeemed - points_reversed - points_expired) AS BIGINT) AS "points"
    FROM program_issuer_days WHERE day < $1 GROUP BY issuer_partner_id`,
};

/** The CSV columns, in order: a row per partner, then `total`. Rates left empty where undefined. */
export const PROGRAM_CSV_COLUMNS: readonly (keyof ProgramKpis)[] = [
  'enrolled',
  'active',
  'previousActive',
  'retained',
  'retentionBps',
  'churnBps',
  'earners',
  'topEarners',
  'pointsEarned',
  'topPointsEarned',
  'topShareBps',
  'pointsExpiring',
  'pointsExpired',
  'breakageBps',
  'outstandingPoints',
  'liabilityMinor',
];

const csvCell = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

/** The report as CSV (RFC 4180, CRLF): `partnerId` then the figures; the last row is the programme's (`total`). */
export function programReportCsv(report: ProgramReport): string {
  const line = (id: string, k: ProgramKpis) => [csvCell(id), ...PROGRAM_CSV_COLUMNS.map((c) => String(k[c] ?? ''))].join(',');
  return [
    ['partnerId', ...PROGRAM_CSV_COLUMNS].join(','),
    ...report.partners.map((p) => line(p.partnerId, p)),
    line('total', report.total),
    '',
  ].join('\r\n');
}
