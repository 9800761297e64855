import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { createLogger } from '@ledger/api/http/logger';
import { TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

/**
 * The app on SQLite with a coalition (RUB), partners grocer and cafe, member m-1 with two
 * grocer accruals (`g-1`, `g-2`) and two holds (`grocer:hold-1`, `grocer:hold-2`), and a
 * finance key: every write route has something to act on.
 */
export interface HostileFixture {
  t: TestApp;
  keys: Record<Who, Record<string, string>>;
  /** Events in the store: a refused request must leave it unchanged. */
  eventCount(): Promise<number>;
  send(request: HostileRequest): Promise<{ status: number; body: any; text: string }>;
  /** Error lines the app logged (an unhandled error's message and stack) since the last call. */
  takeErrorLog(): string[];
}

export type Who = 'admin' | 'grocer' | 'finance';

export interface HostileRequest {
  method: 'POST' | 'PUT';
  url: string;
  as: Who;
  /** Serialised with JSON.stringify unless `raw` is given. */
  body?: unknown;
  raw?: string;
  /** Content-Type header; null sends none. Default: application/json when there is a body. */
  contentType?: string | null;
}

export const BUSINESS_NOW = '2026-11-20T11:00:00Z';

/** A valid body per write route: each hostile case changes one thing in one of these. */
export const VALID = {
  coalition: { currency: 'RUB', pointValueMinor: 10, expiryMonths: 24 },
  partner: { partnerId: 'newco', name: 'New Co', earnRule: { pointsPerUnit: 1, unitMinor: 10_000 } },
  terms: { issuanceFeeBps: 100, breakageShareBps: 0, effectiveFrom: '2026-11-20T00:00:00Z' },
  staffKey: { role: 'finance' },
  member: { memberId: 'm-2', cardNumber: cardNumber(2) },
  accrual: { externalId: 'h-1', memberId: 'm-1', amountMinor: 250_000, currency: 'RUB', occurredAt: BUSINESS_NOW },
  redemption: { externalId: 'h-2', memberId: 'm-1', points: 5, occurredAt: BUSINESS_NOW },
  reversal: { externalId: 'h-3', memberId: 'm-1', originalExternalId: 'g-1', occurredAt: BUSINESS_NOW },
  settlement: { periodId: '2026-10' },
  hold: { externalId: 'h-4', memberId: 'm-1', points: 1, ttlSeconds: 600, occurredAt: BUSINESS_NOW },
  capture: { externalId: 'h-5', occurredAt: BUSINESS_NOW },
  release: { externalId: 'h-6' },
  program: {
    effectiveFrom: '2026-11-01T00:00:00Z',
    tiers: [
      { tierId: 'red', qualifyingPoints: 0, multiplierBps: 10_000 },
      { tierId: 'gold', qualifyingPoints: 20_000, multiplierBps: 20_000 },
    ],
    bonuses: { welcome: { points: 50, sponsor: 'grocer' }, actions: { review: { points: 20, sponsor: 'grocer', capPerMonth: 1_000 } } },
    limits: { maxAccrualsPerMemberPerHour: 1_000, maxPointsPerMemberPerDay: 1_000_000 },
    plans: [{ planId: 'plus', feeMinor: 99_000, months: 12, multiplierBps: 15_000 }],
  },
  membership: { externalId: 'h-9', planId: 'plus', occurredAt: BUSINESS_NOW },
  surprise: { externalId: 'h-7', memberId: 'm-1', points: 25, reason: 'thank you' },
  action: { externalId: 'h-8', memberId: 'm-1', action: 'review', occurredAt: BUSINESS_NOW },
  block: { reason: 'card number sold online' },
  replacementCard: { cardNumber: cardNumber(5) },
  suspension: { reason: 'unpaid invoices' },
} as const;

/** Every write route with the key that may call it and a valid body (none for key issuance). */
export const WRITE_ROUTES: { method: 'POST' | 'PUT'; url: string; as: Who; valid: Record<string, unknown> | undefined }[] = [
  { method: 'PUT', url: '/v1/coalition', as: 'admin', valid: VALID.coalition },
  { method: 'POST', url: '/v1/partners', as: 'admin', valid: VALID.partner },
  { method: 'PUT', url: '/v1/partners/grocer/terms', as: 'admin', valid: VALID.terms },
  { method: 'POST', url: '/v1/partners/grocer/keys', as: 'admin', valid: undefined },
  { method: 'POST', url: '/v1/keys', as: 'admin', valid: VALID.staffKey },
  { method: 'POST', url: '/v1/members', as: 'grocer', valid: VALID.member },
  { method: 'POST', url: '/v1/accruals', as: 'grocer', valid: VALID.accrual },
  { method: 'POST', url: '/v1/reversals', as: 'grocer', valid: VALID.reversal },
  { method: 'POST', url: '/v1/redemptions', as: 'grocer', valid: VALID.redemption },
  { method: 'POST', url: '/v1/settlements', as: 'finance', valid: VALID.settlement },
  { method: 'POST', url: '/v1/holds', as: 'grocer', valid: VALID.hold },
  { method: 'POST', url: '/v1/holds/grocer:hold-1/capture', as: 'grocer', valid: VALID.capture },
  { method: 'POST', url: '/v1/holds/grocer:hold-2/release', as: 'grocer', valid: VALID.release },
  { method: 'POST', url: '/v1/bonuses', as: 'grocer', valid: VALID.surprise },
  // Last: a programme's velocity limits would refuse (and flag) later accruals; a block would refuse them too.
  { method: 'PUT', url: '/v1/program', as: 'admin', valid: VALID.program },
  // After the programme, which lists the action.
  { method: 'POST', url: '/v1/actions', as: 'grocer', valid: VALID.action },
  // After the programme, which lists the plan; before the block, which would refuse it.
  { method: 'POST', url: '/v1/members/m-1/membership', as: 'grocer', valid: VALID.membership },
  { method: 'POST', url: `/v1/cards/${cardNumber(1)}/block`, as: 'grocer', valid: VALID.block },
  { method: 'POST', url: '/v1/members/m-1/cards', as: 'grocer', valid: VALID.replacementCard },
  { method: 'POST', url: '/v1/partners/cafe/suspend', as: 'admin', valid: VALID.suspension },
  { method: 'POST', url: '/v1/partners/cafe/reinstate', as: 'admin', valid: undefined },
];

export async function startHostileFixture(): Promise<HostileFixture> {
  const dir = tempDir('ledger-hostile-');
  let errorLines: string[] = [];
  const logger = createLogger({ level: 'error', destination: { write: (line: string) => void errorLines.push(line) } });
  const t = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir, logger });
  const c = await seedCoalition(t, ['grocer', 'cafe']);
  const finance = await t.http().post('/v1/keys').set(t.admin).send({ role: 'finance' }).expect(201);
  await t
    .http()
    .post('/v1/members')
    .set(c.partners.grocer)
    .send({ memberId: 'm-1', cardNumber: cardNumber(1) })
    .expect(201);
  await t
    .http()
    .post('/v1/accruals')
    .set(c.partners.grocer)
    .send({ ...VALID.accrual, externalId: 'g-1' })
    .expect(201);
  // A second lot, and two holds of grocer's for the capture and release routes to act on.
  await t
    .http()
    .post('/v1/accruals')
    .set(c.partners.grocer)
    .send({ ...VALID.accrual, externalId: 'g-2' })
    .expect(201);
  for (const externalId of ['hold-1', 'hold-2']) {
    await t
      .http()
      .post('/v1/holds')
      .set(c.partners.grocer)
      .send({ ...VALID.hold, externalId, points: 2 })
      .expect(201);
  }
  const keys: HostileFixture['keys'] = {
    admin: t.admin,
    grocer: c.partners.grocer,
    finance: { Authorization: `Bearer ${finance.body.key}` },
  };
  return {
    t,
    keys,
    eventCount: async () => (await t.store.readAll()).length,
    takeErrorLog() {
      const lines = errorLines;
      errorLines = [];
      return lines;
    },
    async send({ method, url, as, body, raw, contentType }) {
      const headers: Record<string, string> = { ...keys[as] };
      const payload = raw ?? (body === undefined ? undefined : JSON.stringify(body));
      // A request without a body carries no content type unless the case sets one.
      const type = contentType === undefined ? (payload === undefined ? null : 'application/json') : contentType;
      if (type !== null) headers['content-type'] = type;
      const res = await t.app.inject({ method, url, headers, payload });
      let parsed: unknown;
      try {
        parsed = JSON.parse(res.body);
      } catch {
        parsed = undefined;
      }
      return { status: res.statusCode, body: parsed, text: res.body };
    },
  };
}
