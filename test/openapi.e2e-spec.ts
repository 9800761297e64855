import { MemoryEventStore } from '@ledger/event-store';
import { registeredRoutes } from '@ledger/api/create-app';
import { TestApp, seedCoalition, startTestApp } from '@ledger/testing';

type Operation = {
  security?: unknown[];
  'x-roles'?: string[];
  description?: string;
  requestBody?: { content: Record<string, { example?: object; schema?: { $ref?: string } }> };
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string }; example?: unknown }> }>;
  parameters?: { name: string; in: string }[];
};
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, { properties?: Record<string, Record<string, unknown>>; required?: string[] }>;
    securitySchemes: object;
  };
};

// The description's own pages and the web console's static files: not part of the API it describes.
const DOCS_ROUTE = /^\/(docs|console)(\/|$)/;

describe('OpenAPI description (/docs/openapi.json) and UI (/docs)', () => {
  let t: TestApp;
  let doc: Document;
  beforeAll(async () => {
    t = await startTestApp(new MemoryEventStore());
    const res = await t.http().get('/docs/openapi.json').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    doc = JSON.parse(res.text) as Document;
  });
  afterAll(() => t.close());

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, byVerb]) =>
      Object.entries(byVerb).map(([verb, op]) => ({ key: `${verb.toUpperCase()} ${path}`, op })),
    );

  it('describes every route the running app registers, and nothing else', () => {
    const registered = registeredRoutes(t.app)
      .filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS' && !DOCS_ROUTE.test(r.url))
      .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
    expect(registered.length).toBeGreaterThanOrEqual(20);
    const described = operations().map((o) => o.key);
    expect([...new Set(described)].sort()).toEqual([...new Set(registered)].sort());
    expect(doc.openapi).toMatch(/^3\./);
  });

  it('says who may call each route: bearer key, x-roles and the roles in the description', () => {
    expect(doc.components.securitySchemes).toHaveProperty('apiKey');
    const accrue = doc.paths['/v1/accruals'].post;
    expect(accrue['x-roles']).toEqual(['partner']);
    expect(accrue.security).toEqual([{ apiKey: [] }]);
    expect(accrue.description).toContain('**Roles:** partner.');
    expect(doc.paths['/v1/keys/{keyId}'].delete['x-roles']).toEqual(['admin']);
    expect(doc.paths['/health'].get.security).toBeUndefined();
    for (const { key, op } of operations()) {
      if (!op['x-roles']) continue;
      expect([key, Object.keys(op.responses)]).toEqual([key, expect.arrayContaining(['401', '403', '429', '503'])]);
    }
  });

  it('gives the error body shape for every error answer', () => {
    expect(doc.components.schemas.ErrorBody.required).toEqual(['statusCode', 'error', 'code', 'message', 'details']);
    let errors = 0;
    for (const { op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        errors++;
        expect(response.content?.['application/json']?.schema?.$ref).toBe('#/components/schemas/ErrorBody');
        expect(response.content?.['application/json']?.example).toMatchObject({ statusCode: Number(status), code: expect.any(String) });
      }
    }
    expect(errors).toBeGreaterThan(80);
    expect(Object.keys(doc.paths['/v1/redemptions'].post.responses)).toEqual(expect.arrayContaining(['201', '400', '404', '409', '422']));
  });

  it('carries the class-validator rules into the request schemas', () => {
    const accrual = doc.components.schemas.AccrualRequest;
    expect(accrual.required).toEqual(expect.arrayContaining(['externalId', 'memberId', 'occurredAt', 'amountMinor', 'currency']));
    expect(accrual.properties!.amountMinor).toMatchObject({ type: 'integer', minimum: 1, maximum: expect.any(Number) });
    expect(accrual.properties!.currency).toMatchObject({ type: 'string', pattern: '^[A-Z]{3}$' });
    expect(accrual.properties!.occurredAt).toMatchObject({ type: 'string', format: 'date-time' });
    const partner = doc.components.schemas.RegisterPartnerRequest;
    expect(partner.required).not.toContain('issuanceFeeBps');
    expect(partner.properties!.issuanceFeeBps).toMatchObject({ type: 'integer', minimum: 0, maximum: 10000 });
    // An object, refused as a whole when it is not one (an array, a string), and then each of its fields.
    expect(partner.properties!.earnRule).toEqual({
      allOf: [{ $ref: '#/components/schemas/EarnRuleRequest' }],
      description: 'must be an object',
    });
    expect(partner.required).toContain('earnRule');
    expect(doc.components.schemas.EarnRuleRequest.properties!.unitMinor).toMatchObject({ type: 'integer', minimum: 1 });
    expect(doc.components.schemas.IssueStaffKeyRequest.properties!.role).toMatchObject({ enum: ['finance', 'auditor', 'admin'] });
    expect(doc.components.schemas.EnrolMemberRequest.properties!.cardNumber.description).toContain('Luhn');
    // Path parameters from the parameter classes.
    const memberParams = doc.paths['/v1/members/{memberId}'].get.parameters!;
    expect(memberParams).toContainEqual(expect.objectContaining({ name: 'memberId', in: 'path' }));
    expect(memberParams).toContainEqual(expect.objectContaining({ name: 'minPosition', in: 'query' }));
  });

  it('serves the UI from the npm package, with no asset from another host', async () => {
    const page = await t.http().get('/docs').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const assets = [...page.text.matchAll(/(?:src|href)=["']([^"']+)["']/g)].map((m) => m[1]);
    expect(assets).toEqual(
      expect.arrayContaining([expect.stringContaining('swagger-ui-bundle.js'), expect.stringContaining('swagger-ui.css')]),
    );
    for (const asset of assets) {
      expect(asset).not.toMatch(/^(https?:)?\/\//);
      // Resolved as a browser does against the page's URL.
      await t.http().get(new URL(asset, 'http://ledger.test/docs').pathname).expect(200);
    }
    const init = await t.http().get('/docs/swagger-ui-init.js').expect(200);
    expect(init.text).toContain('/v1/accruals');
    expect(init.text).toContain('"validatorUrl": "none"');
    // Helmet's policy applies to the UI too: scripts from this origin only.
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
  });
});

describe('the request examples of the description are accepted by the running service', () => {
  it('runs each example in order on a fresh coalition and gets the documented status', async () => {
    const t = await startTestApp(new MemoryEventStore());
    try {
      const doc = (await t.http().get('/docs/openapi.json').expect(200)).body as Document;
      const example = (path: string, verb: string) => doc.paths[path][verb].requestBody!.content['application/json'].example!;
      const success = (path: string, verb: string) => Number(Object.keys(doc.paths[path][verb].responses).find((s) => s.startsWith('2')));
      const send = async (verb: 'put' | 'post', path: string, auth: { Authorization: string }, url = path) => {
        const res = await t.http()[verb](url).set(auth).send(example(path, verb));
        expect([`${verb} ${url}`, res.status, res.body]).toEqual([`${verb} ${url}`, success(path, verb), expect.anything()]);
        return res;
      };
      await send('put', '/v1/coalition', t.admin);
      await send('post', '/v1/partners', t.admin);
      // The redemption example is posted by a second partner.
      const { partners } = await seedCoalition(t, ['bistro']);
      const freshmartKey = (await t.http().post('/v1/partners/freshmart/keys').set(t.admin).expect(201)).body.key;
      const freshmart = { Authorization: `Bearer ${freshmartKey}` };
      await send('put', '/v1/partners/{partnerId}/terms', t.admin, '/v1/partners/freshmart/terms');
      const staff = await send('post', '/v1/keys', t.admin);
      await send('post', '/v1/members', freshmart);
      const accrued = await send('post', '/v1/accruals', freshmart);
      expect(accrued.body).toMatchObject({ txId: 'freshmart:till-7-000123', points: 35 });
      await send('post', '/v1/redemptions', partners.bistro);
      await send('post', '/v1/reversals', partners.bistro);
      const finance = (await t.http().post('/v1/keys').set(t.admin).send({ role: 'finance' }).expect(201)).body.key;
      await send('post', '/v1/settlements', { Authorization: `Bearer ${finance}` });
      expect(staff.body.role).toBe('auditor');

      // Every request example in the description was tried above.
      const withExamples = Object.entries(doc.paths).flatMap(([path, byVerb]) =>
        Object.entries(byVerb)
          .filter(([, op]) => op.requestBody?.content['application/json']?.example)
          .map(([verb]) => `${verb} ${path}`),
      );
      expect(withExamples.sort()).toEqual(
        [
          'put /v1/coalition',
          'post /v1/partners',
          'put /v1/partners/{partnerId}/terms',
          'post /v1/keys',
          'post /v1/members',
          'post /v1/accruals',
          'post /v1/redemptions',
          'post /v1/reversals',
          'post /v1/settlements',
        ].sort(),
      );
    } finally {
      await t.close();
    }
  });
});
