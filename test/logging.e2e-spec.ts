import { Writable } from 'node:stream';
import { hashKey } from '@ledger/application';
import { MemoryEventStore } from '@ledger/event-store';
import { createLogger, parseLogLevel } from '@ledger/api/http/logger';
import { TEST_ADMIN_KEY, TestApp, cardNumber, seedCoalition, startTestApp } from '@ledger/testing';

/** Collects what a pino logger writes, one parsed object per line. */
class CapturedLog extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void) {
    this.text += chunk.toString();
    done();
  }
  lines(): Record<string, unknown>[] {
    return this.text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('logs (pino) and request ids', () => {
  let t: TestApp;
  const log = new CapturedLog();
  const issuedKeys: string[] = [];

  beforeAll(async () => {
    t = await startTestApp(new MemoryEventStore(), { logger: createLogger({ level: 'info', destination: log }), accessLog: true });
    const { partners } = await seedCoalition(t, ['grocer']);
    issuedKeys.push(partners.grocer.Authorization.slice('Bearer '.length));
    const staff = await t.http().post('/v1/keys').set(t.admin).send({ role: 'auditor' }).expect(201);
    issuedKeys.push(staff.body.key);
    await t
      .http()
      .post('/v1/members')
      .set(partners.grocer)
      .send({ memberId: 'm-1', cardNumber: cardNumber(1) })
      .expect(201);
    await t
      .http()
      .post('/v1/accruals')
      .set(partners.grocer)
      .set('X-Request-Id', 'till-7.req-0001')
      .send({ externalId: 'r-1', memberId: 'm-1', amountMinor: 350000, currency: 'RUB', occurredAt: '2026-11-20T10:00:00Z' })
      .expect(201);
  });
  afterAll(() => t.close());

  it('every response carries X-Request-Id: the caller’s when acceptable, else a fresh uuid', async () => {
    const given = await t.http().get('/health').set('X-Request-Id', 'abc-123').expect(200);
    expect(given.headers['x-request-id']).toBe('abc-123');
    const fresh = await t.http().get('/health').expect(200);
    expect(fresh.headers['x-request-id']).toMatch(UUID);
    // Too long, or with characters that could forge log fields: replaced, not echoed.
    for (const bad of ['x'.repeat(65), 'a b', 'a"b', 'a/../b', 'a\tb']) {
      const res = await t.http().get('/health').set('X-Request-Id', bad).expect(200);
      expect(res.headers['x-request-id']).toMatch(UUID);
    }
    // Error answers carry it too.
    const denied = await t.http().get('/v1/partners').set('X-Request-Id', 'denied-1').expect(401);
    expect(denied.headers['x-request-id']).toBe('denied-1');
  });

  it('the request id is the correlation id in the metadata of the events the request wrote', async () => {
    const events = await t.store.readStream('member-m-1');
    const accrued = events.find((e) => e.type === 'PointsAccrued');
    expect(accrued?.metadata.correlationId).toBe('till-7.req-0001');
  });

  it('every request line is JSON with a request id, and the given id appears in the access line', () => {
    const requestLines = log.lines().filter((l) => l.msg === 'request');
    expect(requestLines.length).toBeGreaterThanOrEqual(8);
    for (const line of requestLines) {
      expect(typeof line.requestId).toBe('string');
      expect(line.level).toBe('info');
      expect(typeof line.time).toBe('string');
    }
    expect(requestLines).toContainEqual(
      expect.objectContaining({ requestId: 'till-7.req-0001', method: 'POST', url: '/v1/accruals', status: 201 }),
    );
  });

  it('no key and no key hash in the log', () => {
    expect(issuedKeys).toHaveLength(2);
    for (const secret of [...issuedKeys, TEST_ADMIN_KEY]) {
      expect(log.text).not.toContain(secret);
      expect(log.text).not.toContain(hashKey(secret));
      // Nor the random part alone.
      expect(log.text).not.toContain(secret.slice(-64));
    }
  });
});

describe('the logger', () => {
  it('redacts key material wherever it is passed as a field', () => {
    const log = new CapturedLog();
    const logger = createLogger({ destination: log });
    logger.info(
      { req: { headers: { authorization: 'Bearer clk_staff_x' } }, key: 'clk_a_b_c', body: { key: 'clk_d', keyHash: 'ab12' } },
      'line',
    );
    expect(log.text).not.toMatch(/clk_|ab12/);
    expect(log.lines()[0]).toMatchObject({ key: '[redacted]', body: { key: '[redacted]', keyHash: '[redacted]' } });
  });

  it('LEDGER_LOG_LEVEL sets the level; an unknown level is refused', () => {
    const log = new CapturedLog();
    const logger = createLogger({ level: parseLogLevel('WARN'), destination: log });
    logger.info('quiet');
    logger.warn('loud');
    expect(log.lines().map((l) => l.msg)).toEqual(['loud']);
    expect(parseLogLevel(undefined)).toBe('info');
    expect(() => parseLogLevel('verbose')).toThrow(/LEDGER_LOG_LEVEL must be one of/);
  });
});
