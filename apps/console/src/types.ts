/** The shapes the console reads from the API (a subset of each answer). */
export type Role = 'partner' | 'finance' | 'auditor' | 'admin';

export interface Session {
  keyId: string;
  role: Role;
  partnerId: string | null;
}

export interface PartnerPosition {
  partnerId: string;
  currency: string | null;
  pointsIssued: number;
  pointsRedeemedAt: number;
  pointsRedeemedElsewhere: number;
  pointsRedeemedFromOthers: number;
  pointsExpired: number;
  pointsReversed: number;
  pointsOutstanding: number;
  liabilityMinor: number;
}

export interface MonthlyActivity {
  month: string;
  pointsIssued: number;
  pointsRedeemed: number;
  pointsAccrualReversed: number;
  pointsRedemptionReversed: number;
}

export interface PeriodSummary {
  periodId: string;
  periodStartsAt: string;
  periodEndsAt: string;
  status: 'open' | 'closed';
  ended: boolean;
  cutoffPosition: number | null;
  closedAt: string | null;
}

export interface ClosePreview extends PeriodSummary {
  closable: boolean;
  reason: string | null;
  cutoffPositionNow: number | null;
  headRecordedAt: string | null;
}

export interface MatrixLine {
  issuerPartnerId: string;
  redeemerPartnerId: string;
  points: number;
  amountMinor: number;
  selfRedemption: boolean;
}

export interface NetPosition {
  partnerId: string;
  receivableMinor: number;
  payableMinor: number;
  netMinor: number;
  issuanceFeeMinor: number;
  breakageShareMinor: number;
  settlementMinor: number;
}

export interface Transfer {
  partnerId: string;
  direction: 'pay' | 'receive';
  amountMinor: number;
}

export interface LateAdjustment {
  streamId: string;
  revision: number;
  eventType: string;
  txId?: string;
  occurredAt: string;
  businessPeriodId: string;
  reason: string;
  originalPeriodId?: string;
  effects: { kind: string; issuerPartnerId: string; redeemerPartnerId?: string; points: number; amountMinor: number }[];
}

export interface Statement {
  periodId: string;
  periodStartsAt: string;
  periodEndsAt: string;
  currency: string;
  pointValueMinor: number;
  cutoffPosition: number;
  eventCount: number;
  lateEventCount: number;
  matrix: MatrixLine[];
  netPositions: NetPosition[];
  transfers: Transfer[];
  lateAdjustments: LateAdjustment[];
  breakage: { issuerPartnerId: string; points: number; amountMinor: number }[];
  /** Coalition totals: absent from a partner's view of the statement. */
  totals?: { expiredPoints: number; breakageMinor: number; redeemedPoints: number; issuedPoints: number };
  eventsMerkleRoot?: string;
  sha256: string;
}

export interface OpenLot {
  lotId: string;
  issuerPartnerId: string;
  points: number;
  expiresAt: string;
}

export interface MemberBalance {
  memberId: string;
  available: number;
  held: number;
  lifetimeAccrued: number;
  lifetimeRedeemed: number;
  lots: OpenLot[];
}

/** What a partner key reads of a member: totals, its own lots and transactions, others only as a sum. */
export interface PartnerMemberView {
  memberId: string;
  available: number;
  held: number;
  expiringSoon: { points: number; until: string };
  ownLots: { lotId: string; points: number; expiresAt: string }[];
  otherIssuersPoints: number;
  transactions: { txId: string; kind: string; points: number; originalTxId: string | null; occurredAt: string; position: number }[];
  transactionCount: number;
}

export interface ReplayEntry {
  revision: number;
  position: number;
  eventId: string;
  type: string;
  occurredAt: string | null;
  recordedAt: string;
  actor: { keyId: string; role: string; partnerId?: string } | null;
  data: { partnerId?: string; points?: number; txId?: string; lotId?: string; issuerPartnerId?: string };
  chainOk: boolean;
  balanceAfter?: { available: number } | null;
}

export interface StreamReplay {
  streamId: string;
  eventCount: number;
  events: ReplayEntry[];
  chainBreak: unknown;
}

export interface Divergence {
  check?: string;
  kind?: string;
  message?: string;
  [key: string]: unknown;
}

export interface VerifyReport {
  ok: boolean;
  headPosition: number | null;
  events: number;
  streams: number;
  seconds: number;
  checks: { name: string; status: string; detail: string; divergences: number }[];
  periods: {
    periodId: string;
    cutoffPosition: number;
    eventsMerkleRoot: string | null;
    recomputedMerkleRoot: string;
    leafCount: number;
    status: 'ok' | 'diverged';
  }[];
  firstDivergence: Divergence | null;
  divergenceCount: number;
}

export interface VerificationJob {
  jobId: string;
  status: 'running' | 'done' | 'error';
  progress: { phase: string; done: number; total: number; label: string | null } | null;
  report: VerifyReport | null;
  error: string | null;
}

/** One row of GET /v1/reports/program: rates in basis points, null where undefined (0 ÷ 0). */
export interface ProgramKpis {
  enrolled: number;
  active: number;
  previousActive: number;
  retained: number;
  retentionBps: number | null;
  churnBps: number | null;
  earners: number;
  topEarners: number;
  pointsEarned: number;
  topPointsEarned: number;
  topShareBps: number | null;
  pointsExpiring: number;
  pointsExpired: number;
  breakageBps: number | null;
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
