import { join } from 'node:path';
import request from 'supertest';
import { MemoryEventStore, SqliteEventStore } from '@ledger/event-store';
import { LedgerMetrics } from '@ledger/api/http/metrics';
import { TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

/** The value of one sample line, e.g. `ledger_http_requests_total{method="POST",...}`; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v) && Object.keys(have).length === Object.keys(labels).length) {
      return Number(m[4]);
    }
  }
  return undefined;
}

describe('/metrics (Prometheus, prom-client) on the SQLite store', () => {
  let t: TestApp;
  let sqlite: SqliteEventStore;
  let metrics: LedgerMetrics;
  let partners: Awaited<ReturnType<typeof seedCoalition>>['partners'];
  let finance: { Authorization: string };
  let auditor: { Authorization: string };

  beforeAll(async () => {
    const dir = tempDir();
    metrics = new LedgerMetrics();
    sqlite = SqliteEventStore.open(join(dir, 'ledger.db'), { onFlush: metrics.observeFlush });
    t = await startTestApp(sqlite, { dataDir: dir, app: { metrics, metricsPort: 0, metricsHost: '127.0.0.1' } });
    ({ partners } = await seedCoalition(t, ['grocer', 'cafe']));
    finance = { Authorization: `Bearer ${(await t.http().post('/v1/keys').set(t.admin).send({ role: 'finance' }).expect(201)).body.key}` };
    auditor = { Authorization: `Bearer ${(await t.http().post('/v1/keys').set(t.admin).send({ role: 'auditor' }).expect(201)).body.key}` };
    await t
      .http()
      .post('/v1/members')
      .set(partners.grocer)
      .send({ memberId: 'm-1', cardNumber: cardNumber(1) })
      .expect(201);
    // One after the other. The enrolment left m-1 in the member cache, so each is a hit.
    for (let i = 0; i < 20; i++) {
      await t
        .http()
        .post('/v1/accruals')
        .set(partners.grocer)
        .send({ externalId: `r-${i}`, memberId: 'm-1', amountMinor: 100_000, currency: 'RUB', occurredAt: '2026-10-10T10:00:00Z' })
        .expect(201);
    }
    await t
      .http()
      .post('/v1/redemptions')
      .set(partners.cafe)
      .send({ externalId: 'b-1', memberId: 'm-1', points: 5, occurredAt: '2026-10-11T10:00:00Z' })
      .expect(201);
    // A member no one enrolled: looked up, not cached (a miss), then refused.
    await t
      .http()
      .post('/v1/accruals')
      .set(partners.grocer)
      .send({ externalId: 'r-x', memberId: 'm-none', amountMinor: 100_000, currency: 'RUB', occurredAt: '2026-10-10T10:00:00Z' })
      .expect(404);
    await t.http().get('/v1/members/m-1').set(auditor).expect(200);
    await t.http().get('/v1/members/nobody').set(auditor).expect(404);
    await t.http().post('/v1/settlements').set(finance).send({ periodId: '2026-10' }).expect(201);
    await t.http().post('/v1/settlements').set(finance).send({ periodId: '2026-10' }).expect(409);
    await t.http().get('/v1/audit/verify').set(auditor).expect(200);
  });
  afterAll(() => t.close());

  const scrape = async () => (await t.http().get('/metrics').set(t.admin).expect(200)).text;

  it('answers an admin key only on the API port: none 401, other roles 403', async () => {
    await t.http().get('/metrics').expect(401);
    await t.http().get('/metrics').set({ Authorization: 'Bearer not-a-key' }).expect(401);
    for (const key of [partners.grocer, finance, auditor]) await t.http().get('/metrics').set(key).expect(403);
    const res = await t.http().get('/metrics').set(t.admin).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toContain('# TYPE ledger_http_requests_total counter');
  });

  it('with a metrics port, serves the same without a key there', async () => {
    const port = metrics.listeningPort;
    expect(port).toBeGreaterThan(0);
    const res = await request(`http://127.0.0.1:${port}`).get('/metrics').expect(200);
    expect(res.text).toContain('# TYPE ledger_append_fsyncs_total counter');
    await request(`http://127.0.0.1:${port}`).get('/other').expect(404);
  });

  it('counts requests and latencies per route template and status', async () => {
    const text = await scrape();
    const accruals = { method: 'POST', route: '/v1/accruals', status: '201' };
    expect(sample(text, 'ledger_http_requests_total', accruals)).toBe(20);
    expect(sample(text, 'ledger_http_request_duration_seconds_count', accruals)).toBe(20);
    expect(sample(text, 'ledger_http_request_duration_seconds_sum', accruals)).toBeGreaterThan(0);
    expect(sample(text, 'ledger_http_request_duration_seconds_bucket', { ...accruals, le: '+Inf' })).toBe(20);
    // Ids are not labels: both member reads count under one template.
    expect(sample(text, 'ledger_http_requests_total', { method: 'GET', route: '/v1/members/:memberId', status: '200' })).toBe(1);
    expect(sample(text, 'ledger_http_requests_total', { method: 'GET', route: '/v1/members/:memberId', status: '404' })).toBe(1);
    expect(sample(text, 'ledger_http_requests_total', { method: 'POST', route: '/v1/settlements', status: '409' })).toBe(1);
  });

  it('reports each group commit: batch sizes and fsyncs, as the store counted them', async () => {
    const text = await scrape();
    const stats = sqlite.stats();
    expect(stats.flushes).toBeGreaterThan(20);
    expect(sample(text, 'ledger_append_fsyncs_total')).toBe(stats.flushes);
    expect(sample(text, 'ledger_append_batch_events_count')).toBe(stats.flushes);
    expect(sample(text, 'ledger_append_batch_events_sum')).toBe(stats.events);
    expect(sample(text, 'ledger_append_batch_appends_sum')).toBe(stats.appends);
    expect(sample(text, 'ledger_append_flush_duration_seconds_count')).toBe(stats.flushes);
  });

  it('reports the member cache: a hit for each transaction of the member enrolled here, a miss for the unknown one', async () => {
    const text = await scrape();
    expect(sample(text, 'ledger_member_cache_hits_total')).toBe(21);
    expect(sample(text, 'ledger_member_cache_misses_total')).toBe(1);
  });

  it('reports the projector at the head of the log, no lag', async () => {
    const [head] = await t.store.readAll({ direction: 'backwards', maxCount: 1 });
    await t.http().get(`/v1/members/m-1?minPosition=${head.position}`).set(auditor).expect(200);
    const text = await scrape();
    expect(sample(text, 'ledger_projection_position')).toBe(head.position);
    expect(sample(text, 'ledger_projection_lag_events')).toBe(0);
    expect(sample(text, 'ledger_projection_lag_seconds')).toBe(0);
  });

  it('times settlements and verify, by outcome', async () => {
    const text = await scrape();
    expect(sample(text, 'ledger_settlement_duration_seconds_count', { outcome: 'ok' })).toBe(1);
    expect(sample(text, 'ledger_settlement_duration_seconds_count', { outcome: 'failed' })).toBe(1);
    expect(sample(text, 'ledger_verify_duration_seconds_count', { outcome: 'ok' })).toBe(1);
    expect(sample(text, 'ledger_verify_duration_seconds_sum', { outcome: 'ok' })).toBeGreaterThan(0);
  });
});

describe('/metrics without a metrics port', () => {
  it('serves no second port', async () => {
    const metrics = new LedgerMetrics();
    const t = await startTestApp(new MemoryEventStore(), { app: { metrics } });
    try {
      expect(metrics.listeningPort).toBeUndefined();
      const text = (await t.http().get('/metrics').set(t.admin).expect(200)).text;
      // The store is not SQLite: no group commits to report.
      expect(sample(text, 'ledger_append_fsyncs_total')).toBe(0);
    } finally {
      await t.close();
    }
  });
});
