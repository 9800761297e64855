import type Database from 'better-sqlite3';
import { AssertionFailed, LotSlice, assert } from '@ledger/domain';
import type { ClientBase } from 'pg';
import { EventOf, postgresBulk, PostgresReadModelBatch, ReadModel, ReadModelBatch, StagedSums } from './read-model';

const HANDLES = [
  'MemberEnrolled',
  'PointsAccrued',
  'PointsRedeemed',
  'AccrualReversed',
  'RedemptionReversed',
  'PointsExpired',
  'PointsHeld',
  'HoldCaptured',
  'HoldReleased',
  'CardBlocked',
  'CardReplaced',
  'SuspiciousActivityFlagged',
  'PointsReleased',
  'TierChanged',
  'BonusAwarded',
  'MembershipPurchased',
] as const;
type Handled = (typeof HANDLES)[number];

/** Member balances and their lots (the FIFO order a redemption takes them in). */
export const membersAndLotsReadModel: ReadModel<Handled> = {
  name: 'members and lots',
  handles: HANDLES,
  // WITHOUT ROWID: every lookup is by the text key, so the key is the table and nothing else.
  // The CHECKs are assertions: a negative balance or lot means the apply code has a bug, and
  // the batch's transaction rolls back instead of storing it.
  tables: [
    {
      name: 'members',
      key: 'member_id',
      sqlite: `CREATE TABLE IF NOT EXISTS members (
        member_id         TEXT    PRIMARY KEY,
        card_number       TEXT    NOT NULL,
        enrolled_at       TEXT    NOT NULL,
        available         INTEGER NOT NULL CHECK (available >= 0),  -- points in the lots
        held              INTEGER NOT NULL CHECK (held >= 0),       -- on holds not yet ended by an event (readers judge expiry)
        lifetime_accrued  INTEGER NOT NULL,
        lifetime_redeemed INTEGER NOT NULL,
        lifetime_expired  INTEGER NOT NULL,
        position          INTEGER NOT NULL, -- last event of the member applied
        tier              TEXT              -- the programme tier after the last TierChanged; null: none
      ) WITHOUT ROWID`,
    },
    {
      name: 'lots',
      key: 'member_id, lot_id',
      sqlite: `CREATE TABLE IF NOT EXISTS lots (
        member_id         TEXT    NOT NULL,
        lot_id            TEXT    NOT NULL,
        issuer_partner_id TEXT    NOT NULL,
        points            INTEGER NOT NULL CHECK (points >= 0),  -- still in the lot; 0 = closed (kept: a cancelled redemption may reopen it)
        points_issued     INTEGER NOT NULL,
        expires_at        TEXT    NOT NULL,
        position          INTEGER NOT NULL,  -- of the accrual: creation order, the FIFO tie-break
        PRIMARY KEY (member_id, lot_id)
      ) WITHOUT ROWID;
      -- The due-lots index: open lots by expiry, so the expiry job finds what is due without
      -- reading every member (a lot leaves it when emptied, and comes back if reopened).
      CREATE INDEX IF NOT EXISTS lots_due ON lots (expires_at, member_id, lot_id) WHERE points > 0`,
    },
  ],
  sqlite: (db) => new MembersAndLotsSqlite(db),
  postgres: () => new MembersAndLotsPostgres(),
  staging: () => new MembersAndLotsStaging(),
};

/** One value of a batch's sums flattened to cross threads. */
type FlatValue = string | number | null;

/** A member's changes over a batch; `enrolled` when the batch holds its MemberEnrolled. */
interface MemberDelta {
  memberId: string;
  enrolled: { cardNumber: string; enrolledAt: string } | undefined;
  /** The card a replacement in the batch issued (the last one). */
  replacedCard: string | undefined;
  /** The tier after the batch's last TierChanged (undefined: unchanged; null: none). */
  tier?: string | null;
  available: number;
  held: number;
  accrued: number;
  redeemed: number;
  expired: number;
  position: number;
  /** The member's lots changed in the batch, by lot id (created on first use). */
  lots: Map<string, LotDelta> | undefined;
}

/** A lot's change in points over a batch; `opened` when the batch holds its accrual. */
interface LotDelta {
  lotId: string;
  opened: { issuerPartnerId: string; pointsIssued: number; expiresAt: string; position: number } | undefined;
  points: number;
}

/**
 * Sums each member's and each lot's changes over the batch and writes each row once: a
 * member buying twice in a batch is one UPDATE, a lot opened and spent in the same batch is
 * one INSERT.
 */
class MembersAndLotsStaging {
  protected members = new Map<string, MemberDelta>();

  stage(event: EventOf<Handled>, position: number): void {
    switch (event.type) {
      case 'MemberEnrolled': {
        const d = event.data;
        const member = this.member(d.memberId, position);
        assert(member.enrolled === undefined, 'a member is enrolled once');
        member.enrolled = { cardNumber: d.cardNumber, enrolledAt: d.occurredAt };
        return;
      }
      // A bonus opens a lot as an accrual does (its issuer is its sponsor).
      case 'PointsAccrued':
      case 'BonusAwarded': {
        const d = event.data;
        const member = this.memberChange(d.memberId, d.points, d.points, 0, 0, position);
        // Mirrors the member decider: an accrual of 0 points opens no lot.
        if (d.points > 0) {
          const lot = this.lot(member, d.lotId);
          assert(lot.opened === undefined, 'a lot is opened once');
          lot.opened = { issuerPartnerId: d.issuerPartnerId, pointsIssued: d.points, expiresAt: d.expiresAt, position };
          lot.points += d.points;
        }
        return;
      }
      case 'PointsRedeemed': {
        const d = event.data;
        const member = this.memberChange(d.memberId, -d.points, 0, d.points, 0, position);
        this.slices(member, d.slices, d.points, 1);
        return;
      }
      case 'AccrualReversed': {
        // A refund: the lot's points come back out of the member.
        const d = event.data;
        const member = this.memberChange(d.memberId, -d.points, -d.points, 0, 0, position);
        this.lot(member, d.lotId).points -= d.points;
        return;
      }
      case 'RedemptionReversed': {
        // A cancelled redemption: the exact slices go back to their lots.
        const d = event.data;
        const member = this.memberChange(d.memberId, d.points, 0, -d.points, 0, position);
        this.slices(member, d.slices, d.points, -1);
        return;
      }
      case 'PointsExpired': {
        const d = event.data;
        const member = this.memberChange(d.memberId, -d.points, 0, 0, d.points, position);
        this.lot(member, d.lotId).points -= d.points;
        return;
      }
      // Holds take no lot: the capture's PointsRedeemed does. They move `held` (the holds read model has each hold).
      case 'PointsHeld':
        this.memberChange(event.data.memberId, 0, 0, 0, 0, position).held += event.data.points;
        return;
      case 'HoldCaptured':
        this.memberChange(event.data.memberId, 0, 0, 0, 0, position).held -= event.data.points + event.data.releasedPoints;
        return;
      case 'HoldReleased':
        this.memberChange(event.data.memberId, 0, 0, 0, 0, position).held -= event.data.points;
        return;
      // Fraud controls move no points; a replacement card changes the member's card number.
      case 'CardReplaced':
        this.memberChange(event.data.memberId, 0, 0, 0, 0, position).replacedCard = event.data.cardNumber;
        return;
      // A blocked card, a flag and a return window's end (the pending lots read model drops the lot) move
      // no points here; the member's position moves.
      case 'TierChanged':
        this.memberChange(event.data.memberId, 0, 0, 0, 0, position).tier = event.data.toTierId;
        return;
      case 'CardBlocked':
      case 'MembershipPurchased':
      case 'SuspiciousActivityFlagged':
      case 'PointsReleased':
        this.memberChange(event.data.memberId, 0, 0, 0, 0, position);
        return;
      default: {
        const unknown: never = event;
        throw new AssertionFailed(`members read model: unhandled ${JSON.stringify(unknown)}`);
      }
    }
  }

  discard(): void {
    this.members.clear();
  }

  /**
   * The batch's sums, handed to the thread that writes them; the staging starts an empty batch.
   * Flat (a member's fields, its lot count, then each lot's): a structured clone of tens of
   * thousands of small objects and maps cost the receiving thread five times as much.
   */
  take(): { members: FlatValue[] } {
    const flat: FlatValue[] = [];
    for (const m of this.members.values()) {
      flat.push(m.memberId, m.enrolled?.cardNumber ?? null, m.enrolled?.enrolledAt ?? null, m.replacedCard ?? null);
      flat.push(m.tier === undefined ? 0 : 1, m.tier ?? null, m.available, m.held, m.accrued, m.redeemed, m.expired, m.position);
      flat.push(m.lots?.size ?? 0);
      if (m.lots === undefined) continue;
      for (const l of m.lots.values()) {
        const o = l.opened;
        flat.push(
          l.lotId,
          l.points,
          o === undefined ? null : o.issuerPartnerId,
          o?.pointsIssued ?? 0,
          o?.expiresAt ?? null,
          o?.position ?? 0,
        );
      }
    }
    this.members = new Map();
    return { members: flat };
  }

  /** The sums `take` handed over, as they were staged. */
  restore(sums: StagedSums): void {
    const flat = (sums as ReturnType<MembersAndLotsStaging['take']>).members;
    const members = new Map<string, MemberDelta>();
    let i = 0;
    const text = () => flat[i++] as string;
    const textOrNull = () => flat[i++] as string | null;
    const int = () => flat[i++] as number;
    while (i < flat.length) {
      const memberId = text();
      const cardNumber = textOrNull();
      const enrolledAt = textOrNull();
      const m: MemberDelta = {
        memberId,
        enrolled: cardNumber === null ? undefined : { cardNumber, enrolledAt: enrolledAt! },
        replacedCard: textOrNull() ?? undefined,
        available: 0,
        held: 0,
        accrued: 0,
        redeemed: 0,
        expired: 0,
        position: 0,
        lots: undefined,
      };
      const tierChanged = int() === 1;
      const tier = textOrNull();
      if (tierChanged) m.tier = tier;
      m.available = int();
      m.held = int();
      m.accrued = int();
      m.redeemed = int();
      m.expired = int();
      m.position = int();
      const lotCount = int();
      if (lotCount > 0) m.lots = new Map();
      for (let n = 0; n < lotCount; n++) {
        const lotId = text();
        const points = int();
        const issuerPartnerId = textOrNull();
        const pointsIssued = int();
        const expiresAt = textOrNull();
        const position = int();
        const opened = issuerPartnerId === null ? undefined : { issuerPartnerId, pointsIssued, expiresAt: expiresAt!, position };
        m.lots!.set(lotId, { lotId, opened, points });
      }
      members.set(memberId, m);
    }
    assert(i === flat.length, 'the staged members end where their encoding does');
    this.members = members;
  }

  /** Redemption slices taken from their lots (sign 1) or given back (sign -1). */
  private slices(member: MemberDelta, slices: readonly LotSlice[], points: number, sign: 1 | -1): void {
    let sliced = 0;
    for (const s of slices) {
      sliced += s.points;
      this.lot(member, s.lotId).points -= sign * s.points;
    }
    assert(sliced === points, 'slices sum to the points redeemed');
  }

  private memberChange(
    memberId: string,
    available: number,
    accrued: number,
    redeemed: number,
    expired: number,
    position: number,
  ): MemberDelta {
    const member = this.member(memberId, position);
    member.available += available;
    member.accrued += accrued;
    member.redeemed += redeemed;
    member.expired += expired;
    member.position = position;
    return member;
  }

  private member(memberId: string, position: number): MemberDelta {
    let member = this.members.get(memberId);
    if (member === undefined) {
      member = {
        memberId,
        enrolled: undefined,
        replacedCard: undefined,
        available: 0,
        held: 0,
        accrued: 0,
        redeemed: 0,
        expired: 0,
        position,
        lots: undefined,
      };
      this.members.set(memberId, member);
    }
    return member;
  }

  private lot(member: MemberDelta, lotId: string): LotDelta {
    let lots = member.lots;
    if (lots === undefined) {
      lots = new Map();
      member.lots = lots;
    }
    let lot = lots.get(lotId);
    if (lot === undefined) {
      lot = { lotId, opened: undefined, points: 0 };
      lots.set(lotId, lot);
    }
    return lot;
  }
}

class MembersAndLotsSqlite extends MembersAndLotsStaging implements ReadModelBatch<Handled> {
  private readonly enrolMember: Database.Statement<[string, string, string, number, number, number, number, number, number]>;
  private readonly changeMember: Database.Statement<[number, number, number, number, number, number, string]>;
  private readonly openLot: Database.Statement<[string, string, string, number, number, string, number]>;
  private readonly changeLot: Database.Statement<[number, string, string]>;
  private readonly changeCard: Database.Statement<[string, string]>;
  private readonly changeTier: Database.Statement<[string | null, string]>;

  constructor(db: Database.Database) {
    super();
    this.changeTier = db.prepare('UPDATE members SET tier = ? WHERE member_id = ?');
    this.changeCard = db.prepare('UPDATE members SET card_number = ? WHERE member_id = ?');
    this.enrolMember = db.prepare(
      `INSERT INTO members (member_id, card_number, enrolled_at, available, held, lifetime_accrued, lifetime_redeemed, lifetime_expired, position)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.changeMember = db.prepare(
      `UPDATE members SET available = available + ?, held = held + ?, lifetime_accrued = lifetime_accrued + ?,
         lifetime_redeemed = lifetime_redeemed + ?, lifetime_expired = lifetime_expired + ?, position = ?
       WHERE member_id = ?`,
    );
    this.openLot = db.prepare(
      `INSERT INTO lots (member_id, lot_id, issuer_partner_id, points, points_issued, expires_at, position)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.changeLot = db.prepare('UPDATE lots SET points = points + ? WHERE member_id = ? AND lot_id = ?');
  }

  /** Each member row, then that member's lot rows (its lots are neighbours in the lots key order). */
  flush(): void {
    for (const m of this.members.values()) {
      if (m.enrolled !== undefined) {
        const { cardNumber, enrolledAt } = m.enrolled;
        // A batch may hold the enrolment and a hold after it (a catch-up from position 0 does).
        this.enrolMember.run(
          m.memberId,
          m.replacedCard ?? cardNumber,
          enrolledAt,
          m.available,
          m.held,
          m.accrued,
          m.redeemed,
          m.expired,
          m.position,
        );
      } else {
        const info = this.changeMember.run(m.available, m.held, m.accrued, m.redeemed, m.expired, m.position, m.memberId);
        if (info.changes !== 1) throw new AssertionFailed(`member ${m.memberId} moved points before it was enrolled`);
        if (m.replacedCard !== undefined) this.changeCard.run(m.replacedCard, m.memberId);
      }
      if (m.tier !== undefined) this.changeTier.run(m.tier, m.memberId);
      if (m.lots !== undefined) this.flushLots(m.memberId, m.lots);
    }
  }

  private flushLots(memberId: string, lots: Map<string, LotDelta>): void {
    for (const lot of lots.values()) {
      if (lot.opened !== undefined) {
        const { issuerPartnerId, pointsIssued, expiresAt, position } = lot.opened;
        this.openLot.run(memberId, lot.lotId, issuerPartnerId, lot.points, pointsIssued, expiresAt, position);
        continue;
      }
      if (lot.points === 0) continue; // taken and given back within the batch
      const info = this.changeLot.run(lot.points, memberId, lot.lotId);
      if (info.changes !== 1) throw new AssertionFailed(`lot ${lot.lotId} of member ${memberId} does not exist`);
    }
  }
}

/** Four bulk statements a batch: members enrolled, members changed, lots opened, lots changed. */
class MembersAndLotsPostgres extends MembersAndLotsStaging implements PostgresReadModelBatch<Handled> {
  async flush(client: ClientBase): Promise<void> {
    const enrolled: (string | number)[][] = [[], [], [], [], [], [], [], [], []];
    const changed: (string | number)[][] = [[], [], [], [], [], [], []];
    const opened: (string | number)[][] = [[], [], [], [], [], [], []];
    const lotsChanged: (string | number)[][] = [[], [], []];
    const cardsChanged: string[][] = [[], []];
    const tiersChanged: (string | null)[][] = [[], []];
    const push = (columns: (string | number)[][], values: (string | number)[]) => values.forEach((v, i) => columns[i].push(v));
    for (const m of this.members.values()) {
      if (m.enrolled !== undefined) {
        // As on SQLite: a hold after the enrolment in the same batch.
        push(enrolled, [
          m.memberId,
          m.replacedCard ?? m.enrolled.cardNumber,
          m.enrolled.enrolledAt,
          m.available,
          m.held,
          m.accrued,
          m.redeemed,
          m.expired,
          m.position,
        ]);
      } else {
        push(changed, [m.memberId, m.available, m.held, m.accrued, m.redeemed, m.expired, m.position]);
        if (m.replacedCard !== undefined) push(cardsChanged, [m.memberId, m.replacedCard]);
      }
      if (m.tier !== undefined) {
        tiersChanged[0].push(m.memberId);
        tiersChanged[1].push(m.tier);
      }
      if (m.lots === undefined) continue;
      for (const lot of m.lots.values()) {
        if (lot.opened !== undefined) {
          const { issuerPartnerId, pointsIssued, expiresAt, position } = lot.opened;
          push(opened, [m.memberId, lot.lotId, issuerPartnerId, lot.points, pointsIssued, expiresAt, position]);
        } else if (lot.points !== 0) {
          push(lotsChanged, [m.memberId, lot.lotId, lot.points]);
        }
      }
    }
    await postgresBulk(
      client,
      `INSERT INTO members (member_id, card_number, enrolled_at, available, held, lifetime_accrued, lifetime_redeemed, lifetime_expired, position)
       SELECT d.member_id, d.card_number, d.enrolled_at, d.available, d.held, d.accrued, d.redeemed, d.expired, d.position
       FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
         AS d(member_id, card_number, enrolled_at, available, held, accrued, redeemed, expired, position)`,
      enrolled,
    );
    const membersUpdated = await postgresBulk(
      client,
      `UPDATE members AS m SET available = m.available + d.available, held = m.held + d.held,
         lifetime_accrued = m.lifetime_accrued + d.accrued, lifetime_redeemed = m.lifetime_redeemed + d.redeemed,
         lifetime_expired = m.lifetime_expired + d.expired, position = d.position
       FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
         AS d(member_id, available, held, accrued, redeemed, expired, position)
       WHERE m.member_id = d.member_id`,
      changed,
    );
    if (membersUpdated !== changed[0].length) throw new AssertionFailed('a member moved points before it was enrolled');
    await postgresBulk(
      client,
      `UPDATE members AS m SET card_number = d.card_number
       FROM unnest($1::text[], $2::text[]) AS d(member_id, card_number) WHERE m.member_id = d.member_id`,
      cardsChanged,
    );
    // After the inserts: a member may enrol and change tier in one batch.
    await postgresBulk(
      client,
      `UPDATE members AS m SET tier = d.tier
       FROM unnest($1::text[], $2::text[]) AS d(member_id, tier) WHERE m.member_id = d.member_id`,
      tiersChanged,
    );
    await postgresBulk(
      client,
      `INSERT INTO lots (member_id, lot_id, issuer_partner_id, points, points_issued, expires_at, position)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::bigint[])`,
      opened,
    );
    const lotsUpdated = await postgresBulk(
      client,
      `UPDATE lots AS l SET points = l.points + d.points
       FROM unnest($1::text[], $2::text[], $3::bigint[]) AS d(member_id, lot_id, points)
       WHERE l.member_id = d.member_id AND l.lot_id = d.lot_id`,
      lotsChanged,
    );
    if (lotsUpdated !== lotsChanged[0].length) throw new AssertionFailed('points moved in a lot that does not exist');
  }
}
