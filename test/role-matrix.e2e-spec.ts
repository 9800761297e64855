import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryEventStore } from '@ledger/event-store';
import { TestApp, cardNumber, startTestApp } from '@ledger/testing';
import { IDENTITIES, Identity, MATRIX_PROGRAM, MatrixFixture, ROLE_MATRIX } from './security/role-matrix';
import { readmeRoleMatrix, renderRoleMatrix } from './security/security-docs';
import { registeredRoutes } from './security/routes';

/**
 * Issue 15 §7: every route × every kind of caller, the exact status of each cell, from one
 * table (test/security/role-matrix.ts) that is also the README's security section.
 */

describe('role × endpoint matrix', () => {
  let t: TestApp;
  let f: MatrixFixture;
  let headers: Record<Identity, Record<string, string>>;

  beforeAll(async () => {
    t = await startTestApp(new MemoryEventStore());
    const admin = t.admin;
    await t.http().put('/v1/coalition').set(admin).send({ currency: 'RUB', pointValueMinor: 10, expiryMonths: 24 }).expect(200);
    const keyOf = async (path: string, body?: object) => ({
      Authorization: `Bearer ${(await t.http().post(path).set(admin).send(body).expect(201)).body.key}`,
    });
    for (const partnerId of ['alpha', 'beta', 'gamma']) {
      await t
        .http()
        .post('/v1/partners')
        .set(admin)
        .send({ partnerId, name: partnerId, earnRule: { pointsPerUnit: 1, unitMinor: 100 } })
        .expect(201);
    }
    const issued = async (path: string, body?: object) => (await t.http().post(path).set(admin).send(body).expect(201)).body;
    const revoked = await issued('/v1/keys', { role: 'admin' });
    await t.http().delete(`/v1/keys/${revoked.keyId}`).set(admin).expect(200);
    const toRevoke = await issued('/v1/partners/alpha/keys');
    headers = {
      anonymous: {},
      malformedKey: { Authorization: 'Bearer two words' },
      unknownKey: { Authorization: 'Bearer clk_never_issued_0123456789abcdef' },
      revokedKey: { Authorization: `Bearer ${revoked.key}` },
      partnerA: await keyOf('/v1/partners/alpha/keys'),
      partnerB: await keyOf('/v1/partners/beta/keys'),
      finance: await keyOf('/v1/keys', { role: 'finance' }),
      auditor: await keyOf('/v1/keys', { role: 'auditor' }),
      admin,
    };
    await t
      .http()
      .post('/v1/members')
      .set(headers.partnerA)
      .send({ memberId: 'member-of-a', cardNumber: cardNumber(1) })
      .expect(201);
    const accrue = (externalId: string, occurredAt: string) =>
      t
        .http()
        .post('/v1/accruals')
        .set(headers.partnerA)
        .send({ externalId, memberId: 'member-of-a', amountMinor: 100_000, currency: 'RUB', occurredAt })
        .expect(201);
    await accrue('september', '2026-09-15T10:00:00Z');
    await accrue('to-reverse', '2026-11-20T10:00:00Z');
    await t.http().post('/v1/settlements').set(headers.finance).send({ periodId: '2026-09' }).expect(201);
    for (const externalId of ['hold-to-capture', 'hold-to-release']) {
      await t
        .http()
        .post('/v1/holds')
        .set(headers.partnerA)
        .send({ externalId, memberId: 'member-of-a', points: 2, ttlSeconds: 600, occurredAt: '2026-11-20T10:00:00Z' })
        .expect(201);
    }
    await t.http().put('/v1/program').set(admin).send(MATRIX_PROGRAM).expect(200);
    await t
      .http()
      .post('/v1/members')
      .set(headers.partnerA)
      .send({ memberId: 'member-to-block', cardNumber: cardNumber(2) })
      .expect(201);
    const proven = (await t.store.readStream('member-member-of-a')).find((e) => e.type === 'PointsAccrued');
    f = {
      partnerA: 'alpha',
      partnerB: 'beta',
      memberOfA: 'member-of-a',
      closedPeriod: '2026-09',
      openEndedPeriod: '2026-10',
      provenEventId: proven!.eventId,
      reversibleOfA: 'to-reverse',
      keyIdToRevoke: toRevoke.keyId,
      holdToCapture: 'alpha:hold-to-capture',
      holdToRelease: 'alpha:hold-to-release',
      memberToBlock: 'member-to-block',
      cardToBlock: cardNumber(2),
      partnerToSuspend: 'gamma',
    };
  });
  afterAll(() => t.close());

  it('has a row for every registered route, and no row for a route that does not exist', () => {
    const printed = t.app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false });
    const registered = registeredRoutes(printed);
    expect(registered.length).toBeGreaterThan(10);
    const inTable = ROLE_MATRIX.map((r) => `${r.method} ${r.path}`).sort();
    expect(new Set(inTable).size).toBe(inTable.length);
    expect({
      missingFromTable: registered.filter((r) => !inTable.includes(r)),
      notRegistered: inTable.filter((r) => !registered.includes(r)),
    }).toEqual({
      missingFromTable: [],
      notRegistered: [],
    });
  });

  it('reads the route tree fastify prints, nested prefixes included', () => {
    const printed = [
      '└── /',
      '    ├── health (GET, HEAD)',
      '    └── v1/',
      '        ├── keys (POST)',
      '        │   └── /:keyId (DELETE)',
      '        └── members (GET)',
    ].join('\n');
    expect(registeredRoutes(printed)).toEqual(['DELETE /v1/keys/:keyId', 'GET /health', 'GET /v1/members', 'POST /v1/keys']);
  });

  it.each(ROLE_MATRIX.map((row, index) => [`${row.method} ${row.path}`, row, index] as const))('%s', async (_name, row, index) => {
    const actual = {} as Record<Identity, number>;
    for (const [i, identity] of IDENTITIES.entries()) {
      const { url, body } = row.request(f, index * IDENTITIES.length + i);
      const res = await t.app.inject({
        method: row.method,
        url,
        headers: { ...headers[identity], ...(body ? { 'content-type': 'application/json' } : {}) },
        payload: body ? JSON.stringify(body) : undefined,
      });
      actual[identity] = res.statusCode;
      if (res.statusCode >= 400) {
        // Refusals are error bodies, never a stack trace.
        expect(JSON.parse(res.body)).toMatchObject({ statusCode: res.statusCode, code: expect.any(String) });
      }
    }
    expect(actual).toEqual(row.expect);
  });

  it('the README security section is the table, as `npm run docs:security` writes it', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    expect(readmeRoleMatrix(readme)).toBe(renderRoleMatrix());
  });
});
