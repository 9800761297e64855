import type Database from 'better-sqlite3';
import { AssertionFailed, LotSlice } from '@ledger/domain';
import type { ClientBase } from 'pg';
import { EventOf, postgresBulk, PostgresReadModelBatch, ReadModel, ReadModelBatch, StagedSums } from './read-model';

const HANDLES = [
  'PartnerJoined',
  'PointsAccrued',
  'BonusAwarded',
  'PointsRedeemed',
  'AccrualReversed',
  'RedemptionReversed',
  'PointsExpired',
] as const;
type Handled = (typeof HANDLES)[number];

/** Each partner's counters: issued, redeemed at it, its points redeemed elsewhere, expired, reversed. */
export const partnerPositionsReadModel: ReadModel<Handled> = {
  name: 'partner positions',
  handles: HANDLES,
  tables: [
    {
      name: 'partner_positions',
      key: 'partner_id',
      sqlite: `CREATE TABLE IF NOT EXISTS partner_positions (
        partner_id                  TEXT    PRIMARY KEY,
        name                        TEXT,
        points_issued               INTEGER NOT NULL,
        points_redeemed_at          INTEGER NOT NULL,
        points_redeemed_elsewhere   INTEGER NOT NULL,
        points_redeemed_from_others INTEGER NOT NULL,
        points_expired              INTEGER NOT NULL,
        points_reversed             INTEGER NOT NULL
      ) WITHOUT ROWID`,
    },
  ],
  sqlite: (db) => new PartnerPositionsSqlite(db),
  postgres: () => new PartnerPositionsPostgres(),
  staging: () => new PartnerPositionsStaging(),
};

/** The upsert's update: the name once known, every counter added to. */
// Qualified by the table name, which both SQLite and PostgreSQL accept (PostgreSQL requires it).
const ADD_TO_PARTNER = `
  name = coalesce(excluded.name, partner_positions.name),
  points_issued = partner_positions.points_issued + excluded.points_issued,
  points_redeemed_at = partner_positions.points_redeemed_at + excluded.points_redeemed_at,
  points_redeemed_elsewhere = partner_positions.points_redeemed_elsewhere + excluded.points_redeemed_elsewhere,
  points_redeemed_from_others = partner_positions.points_redeemed_from_others + excluded.points_redeemed_from_others,
  points_expired = partner_positions.points_expired + excluded.points_expired,
  points_reversed = partner_positions.points_reversed + excluded.points_reversed`;

/** Per-partner counters added up over a batch, written once per batch. */
interface PartnerDelta {
  name: string | null;
  issued: number;
  redeemedAt: number;
  redeemedElsewhere: number;
  redeemedFromOthers: number;
  expired: number;
  reversed: number;
}

/** Almost every event touches a partner, but there are few partners: a handful of upserts per batch. */
class PartnerPositionsStaging {
  protected partners = new Map<string, PartnerDelta>();

  stage(event: EventOf<Handled>): void {
    switch (event.type) {
      case 'PartnerJoined':
        this.partner(event.data.partnerId).name = event.data.name;
        return;
      // A bonus is issued by its sponsor: a partner, or the operator (which gets a position of its own).
      case 'PointsAccrued':
      case 'BonusAwarded':
        this.partner(event.data.issuerPartnerId).issued += event.data.points;
        return;
      case 'PointsRedeemed':
        return this.slices(event.data.partnerId, event.data.slices, 1);
      // A refund takes issued points off the issuer's books.
      case 'AccrualReversed':
        this.partner(event.data.issuerPartnerId).reversed += event.data.points;
        return;
      // A cancelled redemption un-redeems: every redeemed counter the redemption raised goes
      // down by its slices. It is not a `reversed`: that counts issued points taken back by refunds.
      case 'RedemptionReversed':
        return this.slices(event.data.partnerId, event.data.slices, -1);
      case 'PointsExpired':
        this.partner(event.data.issuerPartnerId).expired += event.data.points;
        return;
      default: {
        const unknown: never = event;
        throw new AssertionFailed(`partner positions: unhandled ${JSON.stringify(unknown)}`);
      }
    }
  }

  discard(): void {
    this.partners.clear();
  }

  /** The batch's sums, handed to the thread that writes them; the staging starts an empty batch. */
  take() {
    const staged = {
      partners: this.partners,
    };
    this.partners = new Map();
    return staged;
  }

  restore(sums: StagedSums): void {
    const staged = sums as ReturnType<PartnerPositionsStaging['take']>;
    this.partners = staged.partners;
  }

  /** Redemption slices (sign 1) or their return (sign -1) on the redeemer's and each issuer's counters. */
  private slices(redeemerId: string, slices: readonly LotSlice[], sign: 1 | -1): void {
    const redeemer = this.partner(redeemerId);
    for (const s of slices) {
      redeemer.redeemedAt += sign * s.points;
      if (s.issuerPartnerId !== redeemerId) {
        this.partner(s.issuerPartnerId).redeemedElsewhere += sign * s.points;
        redeemer.redeemedFromOthers += sign * s.points;
      }
    }
  }

  private partner(partnerId: string): PartnerDelta {
    let delta = this.partners.get(partnerId);
    if (delta === undefined) {
      delta = { name: null, issued: 0, redeemedAt: 0, redeemedElsewhere: 0, redeemedFromOthers: 0, expired: 0, reversed: 0 };
      this.partners.set(partnerId, delta);
    }
    return delta;
  }
}

class PartnerPositionsSqlite extends PartnerPositionsStaging implements ReadModelBatch<Handled> {
  private readonly addToPartner: Database.Statement<[string, string | null, number, number, number, number, number, number]>;

  constructor(db: Database.Database) {
    super();
    this.addToPartner = db.prepare(
      `INSERT INTO partner_positions (partner_id, name, points_issued, points_redeemed_at, points_redeemed_elsewhere,
         points_redeemed_from_others, points_expired, points_reversed)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (partner_id) DO UPDATE SET ${ADD_TO_PARTNER}`,
    );
  }

  flush(): void {
    for (const [partnerId, d] of this.partners) {
      this.addToPartner.run(partnerId, d.name, d.issued, d.redeemedAt, d.redeemedElsewhere, d.redeemedFromOthers, d.expired, d.reversed);
    }
  }
}

class PartnerPositionsPostgres extends PartnerPositionsStaging implements PostgresReadModelBatch<Handled> {
  async flush(client: ClientBase): Promise<void> {
    const columns: (string | number | null)[][] = [[], [], [], [], [], [], [], []];
    for (const [partnerId, d] of this.partners) {
      const values = [partnerId, d.name, d.issued, d.redeemedAt, d.redeemedElsewhere, d.redeemedFromOthers, d.expired, d.reversed];
      values.forEach((v, i) => columns[i].push(v));
    }
    await postgresBulk(
      client,
      `INSERT INTO partner_positions (partner_id, name, points_issued, points_redeemed_at, points_redeemed_elsewhere,
         points_redeemed_from_others, points_expired, points_reversed)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])
       ON CONFLICT (partner_id) DO UPDATE SET ${ADD_TO_PARTNER}`,
      columns,
    );
  }
}
