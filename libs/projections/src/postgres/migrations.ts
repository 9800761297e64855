/**
 * The PostgreSQL read store's schema, one migration per version, applied in order at start
 * and recorded in `schema_migrations`. A migration once released is never edited: a change
 * of shape is a new version (which may drop and re-create: the read models are derived, and
 * an emptied checkpoint makes the projector rebuild them).
 *
 * Integers are BIGINT (SQLite's INTEGER is 64-bit too); text sorts bytewise (COLLATE "C"), as
 * SQLite's does, so both stores list rows in one order; the CHECKs are assertions, as on SQLite.
 */
export const POSTGRES_MIGRATIONS: readonly { version: number; description: string; sql: string }[] = [
  {
    version: 1,
    description: 'read models and checkpoint',
    sql: `
      CREATE TABLE checkpoint (
        id       INTEGER PRIMARY KEY CHECK (id = 0),
        position BIGINT,
        event_id TEXT,
        events   BIGINT NOT NULL
      );
      INSERT INTO checkpoint (id, position, event_id, events) VALUES (0, NULL, NULL, 0);
      CREATE TABLE coalition (
        id                INTEGER PRIMARY KEY CHECK (id = 0),
        currency          TEXT COLLATE "C"   NOT NULL,
        point_value_minor BIGINT NOT NULL,
        expiry_months     BIGINT NOT NULL
      );
      CREATE TABLE members (
        member_id         TEXT COLLATE "C"   PRIMARY KEY,
        card_number       TEXT COLLATE "C"   NOT NULL,
        enrolled_at       TEXT COLLATE "C"   NOT NULL,
        available         BIGINT NOT NULL CHECK (available >= 0),
        held              BIGINT NOT NULL CHECK (held >= 0),
        lifetime_accrued  BIGINT NOT NULL,
        lifetime_redeemed BIGINT NOT NULL,
        lifetime_expired  BIGINT NOT NULL,
        position          BIGINT NOT NULL
      );
      CREATE TABLE lots (
        member_id         TEXT COLLATE "C"   NOT NULL,
        lot_id            TEXT COLLATE "C"   NOT NULL,
        issuer_partner_id TEXT COLLATE "C"   NOT NULL,
        points            BIGINT NOT NULL CHECK (points >= 0),
        points_issued     BIGINT NOT NULL,
        expires_at        TEXT COLLATE "C"   NOT NULL,
        position          BIGINT NOT NULL,
        PRIMARY KEY (member_id, lot_id)
      );
      CREATE TABLE partner_positions (
        partner_id                  TEXT COLLATE "C" PRIMARY KEY,
        name                        TEXT,
        points_issued               BIGINT NOT NULL,
        points_redeemed_at          BIGINT NOT NULL,
        points_redeemed_elsewhere   BIGINT NOT NULL,
        points_redeemed_from_others BIGINT NOT NULL,
        points_expired              BIGINT NOT NULL,
        points_reversed             BIGINT NOT NULL
      );
      CREATE TABLE transactions (
        tx_id          TEXT COLLATE "C"   PRIMARY KEY,
        member_id      TEXT COLLATE "C"   NOT NULL,
        partner_id     TEXT COLLATE "C"   NOT NULL,
        kind           TEXT COLLATE "C"   NOT NULL,
        points         BIGINT NOT NULL,
        original_tx_id TEXT,
        occurred_at    TEXT COLLATE "C"   NOT NULL,
        position       BIGINT NOT NULL
      );
      CREATE TABLE liability (
        period              TEXT COLLATE "C"   NOT NULL,
        issuer_partner_id   TEXT COLLATE "C"   NOT NULL,
        redeemer_partner_id TEXT COLLATE "C"   NOT NULL,
        points              BIGINT NOT NULL,
        amount_minor        BIGINT NOT NULL,
        PRIMARY KEY (period, issuer_partner_id, redeemer_partner_id)
      );
      CREATE TABLE holds (
        hold_id    TEXT COLLATE "C"   PRIMARY KEY,
        member_id  TEXT COLLATE "C"   NOT NULL,
        partner_id TEXT COLLATE "C"   NOT NULL,
        points     BIGINT NOT NULL CHECK (points > 0),
        expires_at TEXT COLLATE "C"   NOT NULL,
        status     TEXT COLLATE "C"   NOT NULL CHECK (status IN ('open', 'captured', 'released', 'expired')),
        position   BIGINT NOT NULL
      );
      CREATE INDEX holds_due ON holds (status, expires_at);
      CREATE INDEX holds_member ON holds (member_id, status);
    `,
  },
  {
    version: 2,
    description: 'programme KPI read model',
    sql: `
      CREATE TABLE program_enrolments (
        day         TEXT COLLATE "C" NOT NULL,
        enrolled_by TEXT COLLATE "C" NOT NULL,
        members     BIGINT NOT NULL CHECK (members > 0),
        PRIMARY KEY (day, enrolled_by)
      );
      CREATE TABLE program_activity (
        day           TEXT COLLATE "C" NOT NULL,
        partner_id    TEXT COLLATE "C" NOT NULL,
        member_id     TEXT COLLATE "C" NOT NULL,
        transactions  BIGINT NOT NULL CHECK (transactions > 0),
        points_earned BIGINT NOT NULL CHECK (points_earned >= 0),
        PRIMARY KEY (day, partner_id, member_id)
      );
      CREATE TABLE program_issuer_days (
        day               TEXT COLLATE "C" NOT NULL,
        issuer_partner_id TEXT COLLATE "C" NOT NULL,
        points_issued     BIGINT NOT NULL,
        points_redeemed   BIGINT NOT NULL,
        points_reversed   BIGINT NOT NULL,
        points_expired    BIGINT NOT NULL,
        points_expiring   BIGINT NOT NULL,
        PRIMARY KEY (day, issuer_partner_id)
      );
      -- The new tables fill only by replaying the events already projected: empty the rest and start again from 0.
      TRUNCATE coalition, members, lots, partner_positions, transactions, liability, holds;
      UPDATE checkpoint SET position = NULL, event_id = NULL, events = 0 WHERE id = 0;
    `,
  },
  {
    version: 3,
    description: 'due-lots index: open lots by expiry, for the expiry job',
    sql: `CREATE INDEX lots_due ON lots (expires_at, member_id, lot_id) WHERE points > 0;`,
  },
  {
    // No event before this version was a SuspiciousActivityFlagged (the API recorded none): the new table starts empty and right.
    version: 4,
    description: 'fraud controls: flags of accruals refused by a velocity limit',
    sql: `
      CREATE TABLE flags (
        position     BIGINT PRIMARY KEY,
        member_id    TEXT COLLATE "C"   NOT NULL,
        tx_id        TEXT COLLATE "C"   NOT NULL,
        partner_id   TEXT COLLATE "C"   NOT NULL,
        rule         TEXT COLLATE "C"   NOT NULL CHECK (rule IN ('max_accruals_per_hour', 'max_points_per_day')),
        limit_value  BIGINT NOT NULL,
        observed     BIGINT NOT NULL,
        time_window  TEXT COLLATE "C"   NOT NULL,
        amount_minor BIGINT NOT NULL,
        points       BIGINT NOT NULL,
        occurred_at  TEXT COLLATE "C"   NOT NULL
      );
      CREATE INDEX flags_member ON flags (member_id);
    `,
  },
  {
    // No event before this version opened a pending lot (the API took no pendingDays): the new table starts empty and right.
    version: 5,
    description: 'pending lots (return windows) and their due index',
    sql: `
      CREATE TABLE pending_lots (
        member_id         TEXT COLLATE "C"   NOT NULL,
        lot_id            TEXT COLLATE "C"   NOT NULL,
        issuer_partner_id TEXT COLLATE "C"   NOT NULL,
        points            BIGINT NOT NULL CHECK (points > 0),
        available_at      TEXT COLLATE "C"   NOT NULL,
        expires_at        TEXT COLLATE "C"   NOT NULL,
        PRIMARY KEY (member_id, lot_id)
      );
      CREATE INDEX pending_lots_due ON pending_lots (available_at);
    `,
  },
  {
    version: 6,
    description: "members.tier: the member's programme tier",
    // TierChanged events projected before this version were passed over: empty every read model and replay from 0.
    sql: `
      ALTER TABLE members ADD COLUMN tier TEXT COLLATE "C";
      TRUNCATE coalition, members, lots, partner_positions, transactions, liability, holds,
        program_enrolments, program_activity, program_issuer_days, flags, pending_lots;
      UPDATE checkpoint SET position = NULL, event_id = NULL, events = 0 WHERE id = 0;
    `,
  },
  {
    version: 7,
    description: 'birthdays: members by MM-DD of their birth date, for the birthday job',
    sql: `
      CREATE TABLE birthdays (
        birth_md   TEXT COLLATE "C" NOT NULL,
        member_id  TEXT COLLATE "C" NOT NULL,
        birth_date TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (birth_md, member_id)
      );
      -- Members enrolled before have birth dates too: empty the rest and replay from 0 to fill it.
      TRUNCATE coalition, members, lots, partner_positions, transactions, liability, holds,
        program_enrolments, program_activity, program_issuer_days, flags, pending_lots;
      UPDATE checkpoint SET position = NULL, event_id = NULL, events = 0 WHERE id = 0;
    `,
  },
];

export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1].version;
