/**
 * What the generated OpenAPI description cannot infer from the code: summaries, the real
 * success status, examples, and the refusals a route can give. Keyed by `VERB /path` as in the
 * document. The request examples run in this order on a fresh coalition (test/openapi) and
 * are accepted as they stand.
 */
export interface OperationDoc {
  summary?: string;
  description?: string;
  /** Query parameters by name, when they are read one by one (not through a class). */
  query?: Record<string, string>;
  requestExample?: object;
  success?: { status: number; description: string; example?: unknown; contentType?: string };
  errors?: { status: number; code: string; description: string; message: string }[];
}

const NOT_FOUND_MEMBER = {
  status: 404,
  code: 'member_not_found',
  description: 'No such member',
  message: 'member demo-member-01 not found',
};
const NOT_FOUND_PARTNER = {
  status: 404,
  code: 'partner_not_found',
  description: 'No such partner',
  message: 'partner freshmart not found',
};
const IDEMPOTENCY = {
  status: 409,
  code: 'idempotency_conflict',
  description: 'The same externalId was posted before with another body',
  message: 'transaction freshmart:till-7-000123 was posted before with a different payload',
};
const MIN_POSITION = 'Wait (up to 5 s, then 503 `projection_behind`) until the read models reflect this log position.';
const AS_OF = 'A log position (whole number) or an ISO 8601 time with a zone: the answer is folded from the events up to then.';

export const OPERATION_DOCS: Record<string, OperationDoc> = {
  'GET /health': { summary: 'Liveness', success: { status: 200, description: 'The process answers', example: { status: 'ok' } } },
  'GET /health/ready': {
    summary: 'Readiness',
    description: 'Ready when the event store answers and the read models trail it by at most `LEDGER_READY_MAX_LAG` events.',
    success: { status: 200, description: 'Ready', example: { status: 'ready', position: 1042, lagEvents: 0, lagSeconds: 0 } },
    errors: [
      {
        status: 503,
        code: 'projection_behind',
        description:
          'Not ready: store unreachable (`store_unreachable`), no read store yet (`read_model_unavailable`) or too far behind (`projection_behind`)',
        message: 'the read models are 5000 events behind the log (at most 1000 allowed)',
      },
    ],
  },
  'GET /metrics': {
    summary: 'Prometheus metrics',
    description: 'The Prometheus text format. Also served without a key on `LEDGER_METRICS_PORT` when set.',
    success: {
      status: 200,
      description: 'Metrics',
      contentType: 'text/plain',
      example:
        '# TYPE ledger_http_requests_total counter\nledger_http_requests_total{method="POST",route="/v1/accruals",status="201"} 20\n',
    },
  },
  'PUT /v1/coalition': {
    summary: 'Configure the coalition',
    description: 'The currency is fixed once set; a new point value or expiry applies from now on.',
    requestExample: { currency: 'RUB', pointValueMinor: 10, expiryMonths: 24 },
    success: {
      status: 200,
      description: 'The coalition settings',
      example: { currency: 'RUB', pointValueMinor: 10, expiryMonths: 24, position: 1 },
    },
    errors: [
      {
        status: 409,
        code: 'currency_fixed',
        description: 'The currency cannot change',
        message: 'the coalition currency is RUB and cannot change',
      },
    ],
  },
  'POST /v1/partners': {
    summary: 'Register a partner',
    requestExample: {
      partnerId: 'freshmart',
      name: 'FreshMart',
      earnRule: {
        pointsPerUnit: 1,
        unitMinor: 10000,
        categories: { grocery: 12500 },
        thresholds: [{ fromMinor: 500000, multiplierBps: 11000 }],
        campaigns: [
          {
            campaignId: 'grocery-week',
            from: '2026-11-16T00:00:00Z',
            to: '2026-11-23T00:00:00Z',
            multiplierBps: 15000,
            categories: ['grocery'],
          },
        ],
      },
      issuanceFeeBps: 150,
      breakageShareBps: 5000,
    },
    success: { status: 201, description: 'Registered', example: { partnerId: 'freshmart', position: 2 } },
    errors: [{ status: 409, code: 'partner_exists', description: 'The partner id is taken', message: 'partner freshmart already exists' }],
  },
  'PUT /v1/partners/{partnerId}/terms': {
    summary: "Change a partner's terms from a business date",
    requestExample: { issuanceFeeBps: 200, breakageShareBps: 5000, effectiveFrom: '2026-12-01T00:00:00Z' },
    success: { status: 200, description: 'The new version of the terms' },
    errors: [NOT_FOUND_PARTNER],
  },
  'POST /v1/partners/{partnerId}/keys': {
    summary: 'Issue a partner key',
    description: 'The key is shown once, here; the ledger keeps only its sha256.',
    success: {
      status: 201,
      description: 'The new key',
      example: { keyId: '3f9a1c0d2b7e', key: 'clk_freshmart_3f9a1c0d2b7e_<64 hex digits>', role: 'partner', partnerId: 'freshmart' },
    },
    errors: [NOT_FOUND_PARTNER],
  },
  'POST /v1/keys': {
    summary: 'Issue a staff key (finance, auditor, admin)',
    requestExample: { role: 'auditor' },
    success: {
      status: 201,
      description: 'The new key, shown once',
      example: { keyId: '8c21d4e5f6a7', key: 'clk_staff_8c21d4e5f6a7_<64 hex digits>', role: 'auditor' },
    },
  },
  'DELETE /v1/keys/{keyId}': {
    summary: 'Revoke a key',
    description: 'Refused (401) at once on this replica and within a second on the others. Revoking twice changes nothing.',
    success: { status: 200, description: 'Revoked', example: { keyId: '3f9a1c0d2b7e', partnerId: 'freshmart', revoked: true } },
    errors: [{ status: 404, code: 'key_not_found', description: 'No key with this id', message: 'key 3f9a1c0d2b7e not found' }],
  },
  'POST /v1/members': {
    summary: 'Enrol a member',
    description: 'The card must pass Luhn and belong to no one else.',
    requestExample: { memberId: 'demo-member-01', cardNumber: '4000000000000010' },
    success: { status: 201, description: 'Enrolled', example: { memberId: 'demo-member-01', position: 7 } },
    errors: [
      {
        status: 409,
        code: 'card_in_use',
        description: 'The card belongs to another member (or `member_exists`: the member id is taken)',
        message: 'card 4000000000000010 belongs to another member',
      },
    ],
  },
  'GET /v1/members/{memberId}/transactions/{txId}': {
    summary: 'Why a transaction earned its points',
    description:
      'For an accrual: base points (whole units of the receipt × pointsPerUnit), each multiplier with its source (category, campaign, threshold, tier, plan), the part of the receipt it multiplied, and the tier change it brought; points are rounded down once after every multiplier. A partner key sees only its own transactions.',
    success: {
      status: 200,
      description: 'The explanation',
      example: {
        txId: 'freshmart:till-7-000123',
        memberId: 'demo-member-01',
        partnerId: 'freshmart',
        type: 'PointsAccrued',
        occurredAt: '2026-11-18T12:00:00.000Z',
        points: 247,
        position: 42,
        accrual: {
          amountMinor: 600000,
          currency: 'RUB',
          items: [{ sku: 'basket', category: 'grocery', amountMinor: 600000 }],
          basePoints: 60,
          multipliers: [
            { source: 'category', ref: 'grocery', multiplierBps: 12500, amountMinor: 600000 },
            { source: 'campaign', ref: 'grocery-week', multiplierBps: 15000, amountMinor: 600000 },
            { source: 'threshold', ref: '500000', multiplierBps: 11000, amountMinor: 600000 },
            { source: 'tier', ref: 'gold', multiplierBps: 20000, amountMinor: 600000 },
          ],
          rounding: 'down, once, after every multiplier',
          tierChange: null,
        },
      },
    },
    errors: [
      NOT_FOUND_MEMBER,
      {
        status: 404,
        code: 'transaction_not_found',
        description: "No such transaction (or another partner's)",
        message: 'transaction freshmart:x not found',
      },
    ],
  },
  'GET /v1/members/{memberId}': {
    summary: "A member's balance",
    description:
      'Staff keys get the full record (lots with issuers, and `expiringSoon`: points lapsing in the next 30 days by expiry); a partner key gets the totals, its own lots and transactions, and one sum for other issuers. A lot past its expiry counts no more, even before the expiry job records its lapse.',
    query: { minPosition: MIN_POSITION, asOf: AS_OF },
    success: {
      status: 200,
      description: 'The balance',
      example: {
        memberId: 'demo-member-01',
        available: 35,
        held: 0,
        lifetimeAccrued: 35,
        lifetimeRedeemed: 0,
        expiringSoon: [{ points: 35, expiresAt: '2026-12-10T10:15:00.000Z' }],
      },
    },
    errors: [NOT_FOUND_MEMBER],
  },
  'POST /v1/accruals': {
    summary: 'Post a purchase: the member earns points',
    description: "The partner is the key's. A repeat with the same body answers the same with `Idempotent-Replay: true` and earns nothing.",
    requestExample: {
      externalId: 'till-7-000123',
      memberId: 'demo-member-01',
      amountMinor: 350000,
      currency: 'RUB',
      occurredAt: '2026-11-20T10:15:00Z',
    },
    success: {
      status: 201,
      description: 'Accrued',
      example: { txId: 'freshmart:till-7-000123', memberId: 'demo-member-01', points: 35, balance: 35, position: 8 },
    },
    errors: [
      NOT_FOUND_MEMBER,
      IDEMPOTENCY,
      {
        status: 422,
        code: 'partner_suspended',
        description: 'Refused: the partner is suspended (or `coalition_not_configured`)',
        message: 'partner freshmart is suspended',
      },
    ],
  },
  'POST /v1/redemptions': {
    summary: 'Spend points at this partner',
    description: 'Points are taken first-in-first-out; the answer names the issuers whose points were spent.',
    requestExample: { externalId: 'bill-77', memberId: 'demo-member-01', points: 30, occurredAt: '2026-11-20T11:40:00Z' },
    success: {
      status: 201,
      description: 'Redeemed',
      example: {
        txId: 'bistro:bill-77',
        memberId: 'demo-member-01',
        points: 30,
        allocations: [{ issuerPartnerId: 'freshmart', points: 30 }],
        balance: 5,
        position: 9,
      },
    },
    errors: [
      NOT_FOUND_MEMBER,
      IDEMPOTENCY,
      {
        status: 422,
        code: 'insufficient_points',
        description: 'Not enough available points',
        message: 'member demo-member-01 has 5 points available, 30 asked',
      },
    ],
  },
  'POST /v1/reversals': {
    summary: 'Refund an accrual or cancel a redemption',
    requestExample: {
      externalId: 'bill-77-cancel',
      memberId: 'demo-member-01',
      originalExternalId: 'bill-77',
      occurredAt: '2026-11-20T11:50:00Z',
    },
    success: { status: 201, description: 'Reversed' },
    errors: [
      NOT_FOUND_MEMBER,
      IDEMPOTENCY,
      { status: 409, code: 'already_reversed', description: 'Reversed before', message: 'transaction bistro:bill-77 is already reversed' },
      {
        status: 422,
        code: 'points_already_spent',
        description: "The accrual's points were spent",
        message: 'only 5 of the 35 points of freshmart:till-7-000123 are unspent; reverse the redemption first',
      },
    ],
  },
  'GET /v1/partners': {
    summary: "Every partner's position",
    query: { minPosition: MIN_POSITION },
    success: { status: 200, description: 'Positions' },
  },
  'GET /v1/partners/{partnerId}/position': {
    summary: "A partner's position",
    description: 'A partner key reads its own only.',
    query: { minPosition: MIN_POSITION, asOf: AS_OF },
    success: { status: 200, description: 'Issued, redeemed, expired, reversed, outstanding and the liability' },
    errors: [NOT_FOUND_PARTNER],
  },
  'POST /v1/settlements': {
    summary: 'Close a settlement period',
    requestExample: { periodId: '2026-10' },
    success: { status: 201, description: 'The statement' },
    errors: [
      { status: 409, code: 'period_closed', description: 'Already closed', message: 'period 2026-10 is already closed' },
      { status: 422, code: 'period_not_ended', description: 'The month has not ended', message: 'period 2026-11 has not ended' },
    ],
  },
  'GET /v1/settlements/{periodId}': {
    summary: "A period's statement",
    description: 'JSON, or `?format=csv&table=matrix|netPositions|transfers`. A partner key gets its own rows.',
    success: { status: 200, description: 'The statement' },
    errors: [
      { status: 404, code: 'settlement_not_found', description: 'The period is not closed', message: 'settlement 2026-10 not found' },
    ],
  },
  'GET /v1/reports/program': {
    summary: 'Programme KPIs of a window, per partner and in total',
    description:
      'From the program-kpis read model, by UTC business day over [from, to), compared with the window of equal length before it. ' +
      'enrolled: members enrolled (per partner: by it; the total also counts members enrolled by no partner); active: members with an ' +
      "accrual, redemption or reversal (per partner: posted there); retentionBps: share of the previous window's active members active " +
      'again, churnBps = 10 000 − retentionBps (null with nobody active before); topShareBps: share of the points earned (accrued, ' +
      'before refunds) that the top ceil(20%) of earning members earned; breakageBps: points expired ÷ points issued in lots ' +
      'expiring in the window (less refunds), per issuer; outstandingPoints and liabilityMinor: at `to`, valued at the current point ' +
      'value. Rates are basis points rounded half-to-even. `?format=csv` gives one row per partner and a `total` row.',
    query: {
      from: 'First day of the window, YYYY-MM-DD (UTC), included.',
      to: 'Day after the window, YYYY-MM-DD, excluded; after `from`, at most 366 days later.',
      format: '`json` (default) or `csv`.',
      minPosition: MIN_POSITION,
    },
    success: {
      status: 200,
      description: 'The report',
      example: {
        from: '2026-10-01',
        to: '2026-11-01',
        previousFrom: '2026-08-31',
        days: 31,
        currency: 'RUB',
        pointValueMinor: 10,
        partners: [
          {
            partnerId: 'freshmart',
            enrolled: 2,
            active: 3,
            previousActive: 1,
            retained: 1,
            retentionBps: 10000,
            churnBps: 0,
            earners: 3,
            topEarners: 1,
            pointsEarned: 900,
            topPointsEarned: 500,
            topShareBps: 5556,
            pointsExpiring: 0,
            pointsExpired: 0,
            breakageBps: null,
            outstandingPoints: 1600,
            liabilityMinor: 16000,
          },
        ],
        total: { enrolled: 4, active: 5, previousActive: 2, retained: 1, retentionBps: 5000, churnBps: 5000, earners: 5 },
        asOfPosition: 42,
      },
    },
    errors: [
      {
        status: 400,
        code: 'invalid_input',
        description: 'A date that is not YYYY-MM-DD or not in the calendar, `to` not after `from`, or a window over 366 days',
        message: 'to must be after from',
      },
    ],
  },
  'GET /v1/audit/streams/{streamId}': {
    summary: "A stream's events with the chain check",
    success: { status: 200, description: 'The replay' },
  },
  'GET /v1/audit/verify': {
    summary: 'Verify chains, invariants, read models and statements',
    success: { status: 200, description: 'The report (`ok`)' },
  },
  'GET /v1/audit/members/{memberId}': {
    summary: 'A member as of a moment',
    success: { status: 200, description: 'The balance then' },
    errors: [NOT_FOUND_MEMBER],
  },
  'GET /v1/audit/partners/{partnerId}/position': {
    summary: 'A partner position as of a moment',
    success: { status: 200, description: 'The position then' },
  },
  'GET /v1/audit/periods/{periodId}/proofs/{eventId}': {
    summary: "Inclusion proof of an event in a period's statement",
    success: { status: 200, description: 'The proof' },
  },
  'GET /v1/audit/export': {
    summary: 'The log as JSON Lines',
    success: { status: 200, description: 'One event per line', contentType: 'application/x-ndjson' },
  },
  'PUT /v1/program': {
    summary: 'Configure a version of the loyalty programme',
    description:
      'Tiers, bonuses (each with its sponsor: a partner that joined, or `operator`), velocity limits and paid plans, in force from ' +
      '`effectiveFrom` (a business date) until the next version. The same version again records nothing (`position: null`); ' +
      'other rules for the same date replace it.',
    success: { status: 200, description: 'The version as recorded' },
    errors: [
      {
        status: 400,
        code: 'unknown_sponsor',
        description: 'A sponsor that is no partner',
        message: 'bonuses.welcome.sponsor must be a partner that has joined, or "operator"',
      },
    ],
  },
  'GET /v1/program': {
    summary: 'The programme in force now, or at `?at=`',
    description: 'Partners may read it too: tiers, bonuses and limits are the public rules of the programme.',
    success: { status: 200, description: 'The version in force' },
    errors: [
      {
        status: 404,
        code: 'program_not_found',
        description: 'No version in force then',
        message: 'program in force at 2026-10-01T00:00:00.000Z not found',
      },
    ],
  },
  'POST /v1/cards/{cardNumber}/block': {
    summary: "Block a member's card (fraud control)",
    description:
      'By an admin or the partner that enrolled the member (to any other partner the card does not exist: 404). Accruals, ' +
      'redemptions, holds and captures of the member are then refused with 422 `card_blocked`; reversals and releases go through.',
    success: { status: 200, description: 'The card is blocked (`position: null` when it already was)' },
    errors: [
      { status: 404, code: 'card_not_found', description: 'No such card, or not yours', message: 'card 4000000000000010 not found' },
    ],
  },
  'POST /v1/members/{memberId}/cards': {
    summary: 'Issue a replacement card',
    description: 'The balance stays with the member, a block ends, and the old card number no longer finds the member.',
    success: { status: 201, description: 'The member and the new card' },
    errors: [
      NOT_FOUND_MEMBER,
      {
        status: 409,
        code: 'card_in_use',
        description: 'Another member holds the card',
        message: 'card 4000000000000028 belongs to another member',
      },
    ],
  },
  'POST /v1/partners/{partnerId}/suspend': {
    summary: 'Suspend a partner',
    description: 'Its posts are refused with 422 `partner_suspended`; the points it issued stay spendable at other partners.',
    success: { status: 200, description: 'The partner is suspended (`position: null` when it already was)' },
    errors: [NOT_FOUND_PARTNER],
  },
  'POST /v1/partners/{partnerId}/reinstate': {
    summary: 'Reinstate a suspended partner',
    success: { status: 200, description: 'The partner is active' },
    errors: [NOT_FOUND_PARTNER],
  },
  'POST /v1/bonuses': {
    summary: 'A surprise bonus',
    description:
      "Points given to a member: by a partner, which sponsors them (the lot's issuer, who pays for it in settlement), or by an " +
      "admin, for the operator. A lot like any other: spendable at once, expiring after the coalition's `expiryMonths`. " +
      'Idempotent on `externalId` (txId `partnerId:externalId`, or `operator:externalId`); dated by the clock.',
    success: { status: 201, description: 'The bonus and the balance after it' },
    errors: [
      NOT_FOUND_MEMBER,
      {
        status: 422,
        code: 'card_blocked',
        description: "The member's card is blocked",
        message: "member m-1's card is blocked; issue a replacement card first",
      },
    ],
  },
  'POST /v1/actions': {
    summary: "Reward a member's action",
    description:
      "A review, a survey, a check-in: the programme's `bonuses.actions.<action>` in force at `occurredAt` gives its points, " +
      'sponsored as configured, at most `capPerMonth` times per member per UTC calendar month of `occurredAt`.',
    success: { status: 201, description: 'The bonus and the balance after it' },
    errors: [
      NOT_FOUND_MEMBER,
      { status: 404, code: 'action_not_found', description: 'The programme lists no such action', message: 'action selfie not found' },
      {
        status: 422,
        code: 'cap_reached',
        description: 'The monthly cap is reached; nothing is written',
        message: 'action review was rewarded 2 times in 2026-11, the cap is 2',
      },
    ],
  },
  'POST /v1/members/{memberId}/membership': {
    summary: 'Sell a member a paid plan',
    description:
      "The selling partner records a plan of the programme (`plans`, in force at `occurredAt`): `MembershipPurchased` with the plan's " +
      "fee (the partner's fee income line in settlement; no points move), valid from `occurredAt` for the plan's `months` " +
      "(`validUntil` exclusive). While valid by business date, accruals earn at the plan's `multiplierBps` (source `plan`) and " +
      'the tier review never drops the member below `tierFloor`; it lapses by date with no request. Idempotent on `externalId` ' +
      '(txId `partnerId:externalId`, reserved coalition-wide).',
    success: { status: 201, description: 'The plan sold and its validity window' },
    errors: [
      NOT_FOUND_MEMBER,
      {
        status: 404,
        code: 'plan_not_found',
        description: 'The programme in force lists no such plan',
        message: 'plan gold-pass not found',
      },
      {
        status: 404,
        code: 'program_not_found',
        description: 'No programme is in force at occurredAt',
        message: 'program default not found',
      },
      {
        status: 422,
        code: 'card_blocked',
        description: "The member's card is blocked",
        message: "member m-1's card is blocked; issue a replacement card first",
      },
    ],
  },
  'GET /v1/reports/flags': {
    summary: 'Accruals refused by a velocity limit',
    description: 'Each was refused with 422 `velocity_limit` and recorded as `SuspiciousActivityFlagged` on the member.',
    success: { status: 200, description: 'The flags in log order' },
  },
};
