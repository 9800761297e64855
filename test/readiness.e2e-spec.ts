import { join } from 'node:path';
import { EsdbEventStore, MemoryEventStore, SqliteEventStore } from '@ledger/event-store';
import { ProjectionRunner, ReadStore } from '@ledger/projections';
import { EsdbWireServer } from '@ledger/testing/esdb-wire-server';
import { TestApp, cardNumber, seedCoalition, startTestApp, tempDir } from '@ledger/testing';

/** Polls until the probe answers `status`, up to `withinMs`; returns the last answer. */
async function probeUntil(t: TestApp, status: number, withinMs: number) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const res = await t.http().get('/health/ready');
    if (res.status === status || Date.now() > deadline) return res;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('/health/ready', () => {
  it('is 200 when the store answers and the read models are caught up; /health stays liveness', async () => {
    const t = await startTestApp(new MemoryEventStore());
    try {
      await seedCoalition(t, ['grocer']);
      const [head] = await t.store.readAll({ direction: 'backwards', maxCount: 1 });
      await t.http().get(`/v1/partners?minPosition=${head.position}`).set(t.admin).expect(200);
      const res = await t.http().get('/health/ready').expect(200);
      expect(res.body).toEqual({ status: 'ready', position: head.position, lagEvents: 0, lagSeconds: 0 });
      await t.http().get('/health').expect(200, { status: 'ok' });
    } finally {
      await t.close();
    }
  });

  it('is 503 while the projector is more than LEDGER_READY_MAX_LAG events behind, 200 once it catches up', async () => {
    const dir = tempDir();
    const file = join(dir, 'read.db');
    const store = SqliteEventStore.open(join(dir, 'ledger.db'));
    // The projector runs in another process in this shape (`ledger project`); here, a runner we drive.
    const t = await startTestApp(store, { dataDir: dir, app: { readModel: { projector: 'external', file }, readyMaxLag: 5 } });
    try {
      const missing = await t.http().get('/health/ready').expect(503);
      expect(missing.body).toMatchObject({ statusCode: 503, code: 'read_model_unavailable' });
      // The metrics still answer, without a projector position.
      expect((await t.http().get('/metrics').set(t.admin).expect(200)).text).toMatch(/^ledger_projection_position -1$/m);
      // The projector starts: an empty read store over an empty log is caught up.
      const runner = new ProjectionRunner(store, ReadStore.open(file));
      await t.http().get('/health/ready').expect(200);

      const { partners } = await seedCoalition(t, ['grocer']);
      for (let i = 0; i < 3; i++) {
        await t
          .http()
          .post('/v1/members')
          .set(partners.grocer)
          .send({ cardNumber: cardNumber(i) })
          .expect(201);
      }
      const events = (await store.readAll()).length;
      expect(events).toBeGreaterThan(5);
      const behind = await t.http().get('/health/ready').expect(503);
      expect(behind.headers['retry-after']).toBe('1');
      expect(behind.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', code: 'projection_behind', details: [] });
      expect(behind.body.message).toContain(`${events} events behind`);
      // The metrics say the same.
      const metrics = (await t.http().get('/metrics').set(t.admin).expect(200)).text;
      expect(metrics).toMatch(new RegExp(`^ledger_projection_lag_events ${events}$`, 'm'));
      expect(metrics).toMatch(/^ledger_projection_lag_seconds \d/m);

      const [head] = await store.readAll({ direction: 'backwards', maxCount: 1 });
      await runner.runUntil(head.position);
      const ready = await t.http().get('/health/ready').expect(200);
      expect(ready.body).toMatchObject({ status: 'ready', position: head.position, lagEvents: 0 });
      runner.readStore.close();
    } finally {
      await t.close();
    }
  });

  describe('on the esdb adapter', () => {
    let server: EsdbWireServer;
    beforeAll(async () => {
      server = await EsdbWireServer.start();
    });
    afterAll(() => server.stop());

    it('is 503 while the event store is unreachable, and 200 again once it is back', async () => {
      const t = await startTestApp(EsdbEventStore.fromConnectionString(server.connectionString));
      try {
        await seedCoalition(t, ['grocer']);
        expect((await probeUntil(t, 200, 10_000)).status).toBe(200);
        await server.stop();
        const down = await probeUntil(t, 503, 10_000);
        expect(down.status).toBe(503);
        expect(down.body).toMatchObject({ statusCode: 503, code: 'store_unreachable' });
        // Liveness is not readiness: the process still answers.
        await t.http().get('/health').expect(200);
        await server.restart();
        expect((await probeUntil(t, 200, 15_000)).status).toBe(200);
      } finally {
        await t.close();
      }
    });
  });
});
