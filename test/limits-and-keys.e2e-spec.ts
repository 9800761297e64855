import { join } from 'node:path';
import { Writable } from 'node:stream';
import { hashKey, parseApiKey } from '@ledger/application';
import { MemoryEventStore, SqliteEventStore } from '@ledger/event-store';
import { createLogger } from '@ledger/api/http/logger';
import { securityHeaders } from '@ledger/api/http/security';
import { readServiceEnv } from '../apps/cli/src/env-config';
import { TEST_ADMIN_KEY, TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const keyOf = (header: { Authorization: string }) => header.Authorization.slice('Bearer '.length);

class CapturedLog extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

describe('per-key rate limit (LEDGER_RATE_LIMIT)', () => {
  let t: TestApp;
  let partners: Awaited<ReturnType<typeof seedCoalition>>['partners'];
  beforeAll(async () => {
    t = await startTestApp(new MemoryEventStore(), { app: { rateLimitPerSecond: 3 } });
    // The admin key too is limited: seed at the pace of the limit.
    const seed = await startTestApp(t.store, {});
    ({ partners } = await seedCoalition(seed, ['grocer', 'cafe']));
    await seed
      .http()
      .post('/v1/members')
      .set(partners.grocer)
      .send({ memberId: 'm-1', cardNumber: cardNumber(1) })
      .expect(201);
    await seed.app.close();
  });
  afterAll(() => t.close());

  it('answers 429 with Retry-After past the limit, writes nothing for refused requests, and counts each key apart', async () => {
    const before = (await t.store.readAll()).length;
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        t
          .http()
          .post('/v1/accruals')
          .set(partners.grocer)
          .send({ externalId: `r-${i}`, memberId: 'm-1', amountMinor: 10_000, currency: 'RUB', occurredAt: '2026-11-20T10:00:00Z' }),
      ),
    );
    const limited = responses.filter((r) => r.status === 429);
    const accepted = responses.filter((r) => r.status === 201);
    expect(limited.length + accepted.length).toBe(10);
    // 3 per second: ten at once cannot all pass (two windows at most while they run).
    expect(limited.length).toBeGreaterThanOrEqual(4);
    expect(Number(limited[0].headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited[0].headers['x-request-id']).toBeDefined();
    expect(limited[0].body).toMatchObject({ statusCode: 429, error: 'Too Many Requests', code: 'rate_limited', details: [] });
    // Only the accepted ones wrote: the txId's reservation and the accrual each.
    expect((await t.store.readAll()).length).toBe(before + 2 * accepted.length);
    // Another key is not held back by grocer's burst; probes are never limited.
    await t.http().get('/v1/partners/cafe/position').set(partners.cafe).expect(200);
    for (let i = 0; i < 10; i++) await t.http().get('/health').expect(200);
  });

  it('0 turns it off, and the default is 1000 per second', async () => {
    const off = await startTestApp(t.store, { app: { rateLimitPerSecond: 0 } });
    try {
      const responses = await Promise.all(
        Array.from({ length: 30 }, () => off.http().get('/v1/partners/cafe/position').set(partners.cafe)),
      );
      expect(new Set(responses.map((r) => r.status))).toEqual(new Set([200]));
    } finally {
      await off.app.close();
    }
    expect(readServiceEnv({}).rateLimitPerSecond).toBe(1000);
    expect(readServiceEnv({ LEDGER_RATE_LIMIT: '0' }).rateLimitPerSecond).toBe(0);
    expect(() => readServiceEnv({ LEDGER_RATE_LIMIT: '-1' })).toThrow(/LEDGER_RATE_LIMIT/);
  });
});

describe('key revocation: DELETE /v1/keys/{keyId}, two API instances on one store', () => {
  let dir: string;
  let a: TestApp;
  let b: TestApp;
  const log = new CapturedLog();
  let partners: Awaited<ReturnType<typeof seedCoalition>>['partners'];
  let auditorKey: string;

  beforeAll(async () => {
    dir = tempDir();
    const logger = createLogger({ destination: log });
    a = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { dataDir: dir, logger, accessLog: true });
    b = await startTestApp(SqliteEventStore.open(join(dir, 'ledger.db')), { logger, accessLog: true });
    ({ partners } = await seedCoalition(a, ['grocer', 'cafe']));
    auditorKey = (await a.http().post('/v1/keys').set(a.admin).send({ role: 'auditor' }).expect(201)).body.key;
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('a revoked partner key is refused at once where it was revoked, and within 2 s on the other instance', async () => {
    const key = keyOf(partners.grocer);
    const keyId = parseApiKey(key)!.keyId;
    // Both instances know (and cache) the key; B waits for its own projector to have the partner.
    const [seeded] = await a.store.readAll({ direction: 'backwards', maxCount: 1 });
    await a.http().get('/v1/partners/grocer/position').set(partners.grocer).expect(200);
    await b.http().get(`/v1/partners/grocer/position?minPosition=${seeded.position}`).set(partners.grocer).expect(200);

    const res = await a.http().delete(`/v1/keys/${keyId}`).set(a.admin).set('X-Request-Id', 'revoke-1').expect(200);
    expect(res.body).toEqual({ keyId, partnerId: 'grocer', revoked: true });
    const revokedAt = Date.now();
    const refused = await a.http().get('/v1/partners/grocer/position').set(partners.grocer).expect(401);
    expect(refused.body).toMatchObject({ code: 'unauthenticated' });

    let onB = 200;
    while (onB !== 401 && Date.now() - revokedAt < 5_000) {
      onB = (await b.http().get('/v1/partners/grocer/position').set(partners.grocer)).status;
      if (onB !== 401) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(onB).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(2_000);
    // Another key of the same partner, and other partners, are untouched.
    await a.http().get('/v1/partners/cafe/position').set(partners.cafe).expect(200);

    const [revoked] = (await a.store.readStream('partner-grocer')).filter((e) => e.type === 'ApiKeyRevoked');
    expect(revoked.data).toEqual({ keyId });
    expect(revoked.metadata.correlationId).toBe('revoke-1');
  });

  it('revokes staff keys; repeating writes nothing; unknown 404; malformed 400; only admins', async () => {
    const keyId = parseApiKey(auditorKey)!.keyId;
    await a.http().get('/v1/audit/verify').set(bearer(auditorKey)).expect(200);
    await b.http().delete(`/v1/keys/${keyId}`).set(b.admin).expect(200, { keyId, revoked: true });
    await b.http().get('/v1/audit/verify').set(bearer(auditorKey)).expect(401);
    const events = (await a.store.readAll()).length;
    await a.http().delete(`/v1/keys/${keyId}`).set(a.admin).expect(200, { keyId, revoked: true });
    expect((await a.store.readAll()).length).toBe(events);

    const unknown = await a.http().delete('/v1/keys/0123456789ab').set(a.admin).expect(404);
    expect(unknown.body).toMatchObject({ code: 'key_not_found' });
    const malformed = await a.http().delete('/v1/keys/not-a-key').set(a.admin).expect(400);
    expect(malformed.body.details).toEqual([{ field: 'keyId', reason: expect.stringContaining('12 lowercase hex') }]);
    await a.http().delete(`/v1/keys/${keyId}`).set(partners.cafe).expect(403);
    await a.http().delete(`/v1/keys/${keyId}`).expect(401);
    expect((await a.store.readAll()).length).toBe(events);
  });

  it('the log with revocations still verifies, replays and projects', async () => {
    const auditor = bearer((await a.http().post('/v1/keys').set(a.admin).send({ role: 'auditor' }).expect(201)).body.key);
    const verified = await a.http().get('/v1/audit/verify').set(auditor).expect(200);
    expect(verified.body.ok).toBe(true);
    const replay = await a.http().get('/v1/audit/streams/partner-grocer').set(auditor).expect(200);
    expect(replay.body.events.map((e: { type: string }) => e.type)).toContain('ApiKeyRevoked');
    expect(replay.body.chainBreak).toBeNull();
    const [head] = await a.store.readAll({ direction: 'backwards', maxCount: 1 });
    await a.http().get(`/v1/partners?minPosition=${head.position}`).set(auditor).expect(200);
    // (The auditor key is new: B counts it only after REFERENCE_TTL_MS; its admin key reads now.)
    await b.http().get(`/v1/partners?minPosition=${head.position}`).set(b.admin).expect(200);
  });

  it('a key is matched whole: the right key id with another secret is refused', async () => {
    const key = keyOf(partners.cafe);
    const forged = key.slice(0, -64) + (key.slice(-64, -1) + (key.endsWith('0') ? '1' : '0'));
    expect(forged).not.toBe(key);
    await a.http().get('/v1/partners/cafe/position').set(bearer(forged)).expect(401);
    await a.http().get('/v1/partners/cafe/position').set(partners.cafe).expect(200);
  });

  it('no key and no key hash reached the log of either instance', () => {
    const secrets = [keyOf(partners.grocer), keyOf(partners.cafe), auditorKey, TEST_ADMIN_KEY];
    expect(log.text).toContain('"requestId":"revoke-1"');
    for (const secret of secrets) {
      expect(log.text).not.toContain(secret);
      expect(log.text).not.toContain(secret.slice(-64));
      expect(log.text).not.toContain(hashKey(secret));
    }
  });
});

describe('security headers (helmet)', () => {
  it('are on every answer, with a policy that allows only this origin’s scripts', async () => {
    const t = await startTestApp(new MemoryEventStore());
    try {
      for (const res of [await t.http().get('/health').expect(200), await t.http().get('/v1/partners').expect(401)]) {
        const csp = res.headers['content-security-policy'];
        expect(csp).toContain("default-src 'self'");
        expect(csp).toContain("script-src 'self'");
        expect(csp).not.toMatch(/script-src[^;]*unsafe/);
        expect(csp).toContain("frame-ancestors 'none'");
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
        expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
        expect(res.headers['referrer-policy']).toBe('no-referrer');
        expect(res.headers['x-powered-by']).toBeUndefined();
        // Every header helmet sets under this policy, as it sets it.
        const { set } = securityHeaders();
        expect(set.length).toBeGreaterThanOrEqual(10);
        for (const [name, value] of set) expect(res.headers[name.toLowerCase()]).toBe(String(value));
      }
    } finally {
      await t.close();
    }
  });
});
