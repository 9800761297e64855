import { withLuhnDigit } from '@ledger/domain';

/**
 * Who may call what (issue 15 §7): every route of the API against every kind of caller,
 * with the exact status each gets. test/role-matrix.e2e-spec.ts runs every cell against the
 * app and fails on a registered route missing here; `npm run docs:security` writes this
 * table into the README's security section, and a test checks the two are equal.
 */

export const IDENTITIES = [
  'anonymous',
  'malformedKey',
  'unknownKey',
  'revokedKey',
  'partnerA',
  'partnerB',
  'finance',
  'auditor',
  'admin',
] as const;
export type Identity = (typeof IDENTITIES)[number];

/** How each identity is presented, for the README. */
export const IDENTITY_NOTES: Record<Identity, string> = {
  anonymous: 'no `Authorization` header',
  malformedKey: '`Authorization` that is not `Bearer <key>` (here `Bearer two words`)',
  unknownKey: 'a well-formed key the ledger never issued',
  revokedKey: 'an admin key revoked with `DELETE /v1/keys/{keyId}` (the most powerful key, so nothing is left to it)',
  partnerA: "partner A's key, on A's own resources",
  partnerB: "partner B's key, acting on A's resources (A's partner id, member, receipts)",
  finance: 'a finance key',
  auditor: 'an auditor key',
  admin: 'an admin key',
};

/** What the fixture holds, for building each cell's request. */
export interface MatrixFixture {
  /** Partner A's id; B's is partnerB. */
  partnerA: string;
  partnerB: string;
  /** A member enrolled at A, holding A's points. */
  memberOfA: string;
  /** A settled period and an event it settled. */
  closedPeriod: string;
  openEndedPeriod: string;
  provenEventId: string;
  /** Holds of A's on its member: one to capture, one to release (only A's cell succeeds). */
  holdToCapture: string;
  holdToRelease: string;
  /** A key id the admin cell revokes (each other cell is refused before it gets there). */
  keyIdToRevoke: string;
  /** Receipt id of an accrual of A's that A may reverse (once: only A's cell succeeds). */
  reversibleOfA: string;
  /** A member A enrolled, and its card: blocked, then replaced (fraud controls). */
  memberToBlock: string;
  cardToBlock: string;
  /** A third partner, suspended and reinstated by the admin's cells. */
  partnerToSuspend: string;
}

export interface MatrixRequest {
  url: string;
  body?: Record<string, unknown>;
}

export interface MatrixRow {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** As registered, with `:param` segments. */
  path: string;
  what: string;
  /** The request for one cell; `cell` is unique per cell, so writes never collide. */
  request: (f: MatrixFixture, cell: number) => MatrixRequest;
  expect: Record<Identity, number>;
}

const NOW_ISH = '2026-11-20T11:00:00Z';

/** Statuses of a route closed to partners, by the staff roles that may call it. */
const staffOnly = (ok: number, allowed: ('finance' | 'auditor' | 'admin')[]): Record<Identity, number> => ({
  anonymous: 401,
  malformedKey: 401,
  unknownKey: 401,
  revokedKey: 401,
  partnerA: 403,
  partnerB: 403,
  finance: allowed.includes('finance') ? ok : 403,
  auditor: allowed.includes('auditor') ? ok : 403,
  admin: allowed.includes('admin') ? ok : 403,
});

/** Statuses of a partner-posted transaction route. */
const partnerPosts = (a: number, b: number): Record<Identity, number> => ({
  anonymous: 401,
  malformedKey: 401,
  unknownKey: 401,
  revokedKey: 401,
  partnerA: a,
  partnerB: b,
  finance: 403,
  auditor: 403,
  admin: 403,
});

/** A route that answers everyone alike, with or without a key. */
const everyone = (status: number): Record<Identity, number> =>
  Object.fromEntries(IDENTITIES.map((identity) => [identity, status])) as Record<Identity, number>;

export const ROLE_MATRIX: MatrixRow[] = [
  {
    method: 'GET',
    path: '/health',
    what: 'liveness',
    request: () => ({ url: '/health' }),
    expect: {
      anonymous: 200,
      malformedKey: 200,
      unknownKey: 200,
      revokedKey: 200,
      partnerA: 200,
      partnerB: 200,
      finance: 200,
      auditor: 200,
      admin: 200,
    },
  },
  {
    method: 'GET',
    path: '/health/ready',
    what: 'readiness: store answers, read models caught up',
    request: () => ({ url: '/health/ready' }),
    expect: {
      anonymous: 200,
      malformedKey: 200,
      unknownKey: 200,
      revokedKey: 200,
      partnerA: 200,
      partnerB: 200,
      finance: 200,
      auditor: 200,
      admin: 200,
    },
  },
  {
    method: 'GET',
    path: '/metrics',
    what: 'Prometheus metrics (also keyless on LEDGER_METRICS_PORT when set)',
    request: () => ({ url: '/metrics' }),
    expect: staffOnly(200, ['admin']),
  },
  {
    method: 'GET',
    path: '/docs',
    what: 'Swagger UI',
    request: () => ({ url: '/docs' }),
    expect: everyone(200),
  },
  {
    method: 'GET',
    path: '/docs/',
    what: 'Swagger UI',
    request: () => ({ url: '/docs/' }),
    expect: everyone(200),
  },
  {
    method: 'GET',
    path: '/docs/index.html',
    what: 'Swagger UI page',
    request: () => ({ url: '/docs/index.html' }),
    expect: everyone(200),
  },
  {
    method: 'GET',
    path: '/docs/openapi.json',
    what: 'the OpenAPI document',
    request: () => ({ url: '/docs/openapi.json' }),
    expect: everyone(200),
  },
  {
    method: 'GET',
    path: '/docs/swagger-ui-init.js',
    what: 'Swagger UI start-up script',
    request: () => ({ url: '/docs/swagger-ui-init.js' }),
    expect: everyone(200),
  },
  {
    method: 'GET',
    path: '/docs/docs/swagger-ui-init.js',
    what: 'Swagger UI start-up script (as the page asks for it)',
    request: () => ({ url: '/docs/docs/swagger-ui-init.js' }),
    expect: everyone(200),
  },
  {
    method: 'GET',
    path: '/docs/LICENSE',
    what: 'Swagger UI licence: registered by the UI plugin, but the installed package ships no such file',
    request: () => ({ url: '/docs/LICENSE' }),
    expect: everyone(404),
  },
  {
    method: 'GET',
    path: '/docs/*',
    what: "Swagger UI's static files",
    request: () => ({ url: '/docs/swagger-ui.css' }),
    expect: everyone(200),
  },
  {
    method: 'PUT',
    path: '/v1/coalition',
    what: 'configure the coalition',
    request: () => ({ url: '/v1/coalition', body: { currency: 'RUB', pointValueMinor: 10, expiryMonths: 24 } }),
    expect: staffOnly(200, ['admin']),
  },
  {
    method: 'POST',
    path: '/v1/partners',
    what: 'register a partner',
    request: (_f, cell) => ({
      url: '/v1/partners',
      body: { partnerId: `new-${cell}`, name: `New ${cell}`, earnRule: { pointsPerUnit: 1, unitMinor: 10_000 } },
    }),
    expect: staffOnly(201, ['admin']),
  },
  {
    method: 'GET',
    path: '/v1/partners',
    what: "every partner's position",
    request: () => ({ url: '/v1/partners' }),
    expect: staffOnly(200, ['finance', 'auditor', 'admin']),
  },
  {
    method: 'PUT',
    path: '/v1/partners/:partnerId/terms',
    what: "change A's terms",
    request: (f) => ({
      url: `/v1/partners/${f.partnerA}/terms`,
      body: { issuanceFeeBps: 100, breakageShareBps: 0, effectiveFrom: '2026-11-20T00:00:00Z' },
    }),
    expect: staffOnly(200, ['admin']),
  },
  {
    method: 'POST',
    path: '/v1/partners/:partnerId/keys',
    what: 'issue a key for A',
    request: (f) => ({ url: `/v1/partners/${f.partnerA}/keys` }),
    expect: staffOnly(201, ['admin']),
  },
  {
    method: 'GET',
    path: '/v1/partners/:partnerId/position',
    what: "A's position",
    request: (f) => ({ url: `/v1/partners/${f.partnerA}/position` }),
    expect: { ...staffOnly(200, ['finance', 'auditor', 'admin']), partnerA: 200, partnerB: 403 },
  },
  {
    method: 'POST',
    path: '/v1/keys',
    what: 'issue a staff key',
    request: () => ({ url: '/v1/keys', body: { role: 'auditor' } }),
    expect: staffOnly(201, ['admin']),
  },
  {
    method: 'DELETE',
    path: '/v1/keys/:keyId',
    what: 'revoke a key',
    request: (f) => ({ url: `/v1/keys/${f.keyIdToRevoke}` }),
    expect: staffOnly(200, ['admin']),
  },
  {
    method: 'POST',
    path: '/v1/members',
    what: 'enrol a member',
    request: (_f, cell) => ({ url: '/v1/members', body: { memberId: `enrolled-${cell}`, cardNumber: cardFor(cell) } }),
    expect: { ...staffOnly(201, ['admin']), partnerA: 201, partnerB: 201 },
  },
  {
    method: 'GET',
    path: '/v1/members/:memberId',
    what: "a member of A (a partner gets its till's view)",
    request: (f) => ({ url: `/v1/members/${f.memberOfA}` }),
    expect: { ...staffOnly(200, ['finance', 'auditor', 'admin']), partnerA: 200, partnerB: 200 },
  },
  {
    method: 'POST',
    path: '/v1/accruals',
    what: "accrue for A's member (any partner may, where the card is shown)",
    request: (f, cell) => ({
      url: '/v1/accruals',
      body: { externalId: `acc-${cell}`, memberId: f.memberOfA, amountMinor: 100_000, currency: 'RUB', occurredAt: NOW_ISH },
    }),
    expect: partnerPosts(201, 201),
  },
  {
    method: 'POST',
    path: '/v1/redemptions',
    what: "redeem A's member's points",
    request: (f, cell) => ({
      url: '/v1/redemptions',
      body: { externalId: `red-${cell}`, memberId: f.memberOfA, points: 1, occurredAt: NOW_ISH },
    }),
    expect: partnerPosts(201, 201),
  },
  {
    method: 'POST',
    path: '/v1/reversals',
    what: "reverse A's accrual (B finds no such receipt of its own)",
    request: (f, cell) => ({
      url: '/v1/reversals',
      body: { externalId: `rev-${cell}`, memberId: f.memberOfA, originalExternalId: f.reversibleOfA, occurredAt: NOW_ISH },
    }),
    expect: partnerPosts(201, 404),
  },
  {
    method: 'POST',
    path: '/v1/holds',
    what: "hold A's member's points for a checkout",
    request: (f, cell) => ({
      url: '/v1/holds',
      body: { externalId: `hold-${cell}`, memberId: f.memberOfA, points: 1, ttlSeconds: 600, occurredAt: NOW_ISH },
    }),
    expect: partnerPosts(201, 201),
  },
  {
    method: 'POST',
    path: '/v1/holds/:holdId/capture',
    what: "capture A's hold (B is told no such hold exists)",
    request: (f, cell) => ({ url: `/v1/holds/${f.holdToCapture}/capture`, body: { externalId: `cap-${cell}`, occurredAt: NOW_ISH } }),
    expect: partnerPosts(201, 404),
  },
  {
    method: 'POST',
    path: '/v1/holds/:holdId/release',
    what: "release A's hold (B is told no such hold exists)",
    request: (f, cell) => ({ url: `/v1/holds/${f.holdToRelease}/release`, body: { externalId: `rel-${cell}` } }),
    expect: partnerPosts(201, 404),
  },
  {
    method: 'POST',
    path: '/v1/settlements',
    what: 'close a period',
    request: (f) => ({ url: '/v1/settlements', body: { periodId: f.openEndedPeriod } }),
    expect: staffOnly(201, ['finance']),
  },
  {
    method: 'GET',
    path: '/v1/settlements/:periodId',
    what: "a period's statement (a partner gets its own rows)",
    request: (f) => ({ url: `/v1/settlements/${f.closedPeriod}` }),
    expect: { ...staffOnly(200, ['finance', 'auditor', 'admin']), partnerA: 200, partnerB: 200 },
  },
  {
    method: 'GET',
    path: '/v1/reports/program',
    what: 'programme KPIs of a window (every partner named: staff only)',
    request: () => ({ url: '/v1/reports/program?from=2026-10-01&to=2026-11-01' }),
    expect: staffOnly(200, ['finance', 'auditor', 'admin']),
  },
  {
    method: 'GET',
    path: '/v1/audit/streams/:streamId',
    what: "replay A's member stream",
    request: (f) => ({ url: `/v1/audit/streams/member-${f.memberOfA}` }),
    expect: staffOnly(200, ['auditor', 'admin']),
  },
  {
    method: 'GET',
    path: '/v1/audit/verify',
    what: 'verify the whole ledger',
    request: () => ({ url: '/v1/audit/verify' }),
    expect: staffOnly(200, ['auditor']),
  },
  {
    method: 'GET',
    path: '/v1/audit/members/:memberId',
    what: 'a member as of a moment, full record',
    request: (f) => ({ url: `/v1/audit/members/${f.memberOfA}` }),
    expect: staffOnly(200, ['finance', 'auditor', 'admin']),
  },
  {
    method: 'GET',
    path: '/v1/audit/partners/:partnerId/position',
    what: "A's position as of a moment",
    request: (f) => ({ url: `/v1/audit/partners/${f.partnerA}/position` }),
    expect: staffOnly(200, ['finance', 'auditor', 'admin']),
  },
  {
    method: 'GET',
    path: '/v1/audit/periods/:periodId/proofs/:eventId',
    what: 'inclusion proof of an event in a statement',
    request: (f) => ({ url: `/v1/audit/periods/${f.closedPeriod}/proofs/${f.provenEventId}` }),
    expect: staffOnly(200, ['finance', 'auditor']),
  },
  {
    method: 'GET',
    path: '/v1/audit/export',
    what: 'the log as JSON Lines',
    request: () => ({ url: '/v1/audit/export' }),
    expect: staffOnly(200, ['auditor']),
  },
  // The web console (issue 18): its static files, and the reads and jobs it uses.
  {
    method: 'GET',
    // The static plugin's wildcard under its /console/ prefix, as fastify's route tree prints it.
    path: '*',
    what: 'the web console at /console/ (static files, built by npm run build)',
    request: () => ({ url: '/console/' }),
    expect: everyone(200),
  },
  {
    method: 'GET',
    path: '/v1/session',
    what: 'who the presented key is',
    request: () => ({ url: '/v1/session' }),
    expect: { ...staffOnly(200, ['finance', 'auditor', 'admin']), partnerA: 200, partnerB: 200 },
  },
  {
    method: 'GET',
    path: '/v1/activity/monthly',
    what: 'points issued and redeemed per month (a partner: its own)',
    request: () => ({ url: '/v1/activity/monthly' }),
    expect: { ...staffOnly(200, ['finance', 'auditor', 'admin']), partnerA: 200, partnerB: 200 },
  },
  {
    method: 'GET',
    path: '/v1/settlements',
    what: 'the months and whether each is closed',
    request: () => ({ url: '/v1/settlements' }),
    expect: { ...staffOnly(200, ['finance', 'auditor', 'admin']), partnerA: 200, partnerB: 200 },
  },
  {
    method: 'GET',
    path: '/v1/settlements/:periodId/close-preview',
    what: 'the cut-off a close would use',
    request: (f) => ({ url: `/v1/settlements/${f.openEndedPeriod}/close-preview` }),
    expect: staffOnly(200, ['finance']),
  },
  {
    method: 'GET',
    path: '/v1/members',
    what: 'the member holding a card (here a card no one holds)',
    request: (_f, cell) => ({ url: `/v1/members?cardNumber=${cardFor(cell)}` }),
    expect: { ...staffOnly(404, ['finance', 'auditor', 'admin']), partnerA: 404, partnerB: 404 },
  },
  {
    method: 'GET',
    path: '/v1/members/:memberId/history',
    what: "A's member's events with the running balance",
    request: (f) => ({ url: `/v1/members/${f.memberOfA}/history` }),
    expect: staffOnly(200, ['finance', 'auditor', 'admin']),
  },
  {
    method: 'GET',
    path: '/v1/members/:memberId/transactions/:txId',
    what: "why A's accrual on A's member earned its points (B: 404, not its transaction)",
    request: (f) => ({ url: `/v1/members/${f.memberOfA}/transactions/${f.partnerA}:${f.reversibleOfA}` }),
    expect: { ...staffOnly(200, ['finance', 'auditor', 'admin']), partnerA: 200, partnerB: 404 },
  },
  {
    method: 'POST',
    path: '/v1/audit/verifications',
    what: 'start a verification job',
    request: () => ({ url: '/v1/audit/verifications', body: {} }),
    expect: staffOnly(202, ['auditor']),
  },
  {
    method: 'GET',
    path: '/v1/audit/verifications/:jobId',
    what: 'a verification job (here one that does not exist)',
    request: () => ({ url: '/v1/audit/verifications/6f1d2c3b-1a2b-4c3d-8e9f-0a1b2c3d4e5f' }),
    expect: staffOnly(404, ['auditor']),
  },
  // The loyalty programme and its fraud controls (issue 14).
  {
    method: 'PUT',
    path: '/v1/program',
    what: 'configure a version of the programme',
    request: () => ({ url: '/v1/program', body: MATRIX_PROGRAM }),
    expect: staffOnly(200, ['admin']),
  },
  {
    method: 'GET',
    path: '/v1/program',
    what: 'the programme in force (its rules are public to partners)',
    request: () => ({ url: '/v1/program' }),
    expect: { ...staffOnly(200, ['finance', 'auditor', 'admin']), partnerA: 200, partnerB: 200 },
  },
  {
    method: 'POST',
    path: '/v1/cards/:cardNumber/block',
    what: "block a card of A's member (B is told no such card exists)",
    request: (f) => ({ url: `/v1/cards/${f.cardToBlock}/block`, body: { reason: 'sold online' } }),
    expect: { ...staffOnly(200, ['admin']), partnerA: 200, partnerB: 404 },
  },
  {
    method: 'POST',
    path: '/v1/members/:memberId/cards',
    what: "replace the card of A's member (B is told no such member exists)",
    request: (f, cell) => ({ url: `/v1/members/${f.memberToBlock}/cards`, body: { cardNumber: cardFor(cell) } }),
    expect: { ...staffOnly(201, ['admin']), partnerA: 201, partnerB: 404 },
  },
  {
    method: 'POST',
    path: '/v1/partners/:partnerId/suspend',
    what: 'suspend a partner',
    request: (f) => ({ url: `/v1/partners/${f.partnerToSuspend}/suspend`, body: { reason: 'audit' } }),
    expect: staffOnly(200, ['admin']),
  },
  {
    method: 'POST',
    path: '/v1/partners/:partnerId/reinstate',
    what: 'reinstate a partner',
    request: (f) => ({ url: `/v1/partners/${f.partnerToSuspend}/reinstate` }),
    expect: staffOnly(200, ['admin']),
  },
  {
    method: 'POST',
    path: '/v1/bonuses',
    what: "a surprise bonus for A's member (a partner sponsors its own; an admin's is the operator's)",
    request: (f, cell) => ({
      url: '/v1/bonuses',
      body: { externalId: `surprise-${cell}`, memberId: f.memberOfA, points: 10, reason: 'thanks' },
    }),
    expect: { ...partnerPosts(201, 201), admin: 201 },
  },
  {
    method: 'POST',
    path: '/v1/actions',
    what: "reward an action of A's member (any partner where it happened)",
    request: (f, cell) => ({
      url: '/v1/actions',
      body: { externalId: `action-${cell}`, memberId: f.memberOfA, action: 'review', occurredAt: NOW_ISH },
    }),
    expect: partnerPosts(201, 201),
  },
  {
    method: 'POST',
    path: '/v1/members/:memberId/membership',
    what: "sell A's member a paid plan (any partner may sell one)",
    request: (f, cell) => ({
      url: `/v1/members/${f.memberOfA}/membership`,
      body: { externalId: `plan-${cell}`, planId: 'plus', occurredAt: NOW_ISH },
    }),
    expect: partnerPosts(201, 201),
  },
  {
    method: 'GET',
    path: '/v1/reports/flags',
    what: 'accruals refused by a velocity limit',
    request: () => ({ url: '/v1/reports/flags' }),
    expect: staffOnly(200, ['auditor', 'admin']),
  },
];

/** A programme whose limits no matrix cell comes near. */
export const MATRIX_PROGRAM = {
  effectiveFrom: '2026-11-01T00:00:00Z',
  tiers: [],
  bonuses: { actions: { review: { points: 10, sponsor: 'operator', capPerMonth: 1_000 } } },
  limits: { maxAccrualsPerMemberPerHour: 1_000, maxPointsPerMemberPerDay: 1_000_000 },
  plans: [{ planId: 'plus', feeMinor: 99_000, months: 12, multiplierBps: 15_000 }],
};

/** Luhn-valid card numbers, one per cell. */
const cardFor = (cell: number): string => withLuhnDigit(`8${String(cell).padStart(14, '0')}`);
