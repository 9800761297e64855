import { mkdirSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { DemoKeys, Served, api, apiPost, browserTestsEnabled, demoKeys, launchChromium, serve, shutDown } from './browser/harness';

/** Screenshots of every page, for a person to look at (gitignored). */
const SHOTS = join(__dirname, 'browser', 'screenshots');

const enabled = browserTestsEnabled();

/**
 * The web console (issue 18) in a real Chromium against the built `ledger serve` with the
 * demo coalition: what a finance user, an auditor and a partner see, and that the numbers
 * on the page are the API's.
 */
(enabled ? describe : describe.skip)('web console in Chromium', () => {
  let served: Served;
  let keys: DemoKeys;
  let browser: Browser;
  const keysUsed: string[] = [];
  const urlsRequested: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    served = await serve({ LEDGER_DEMO: 'on' });
    keys = demoKeys(served);
    // The demo's redemptions are all recent: spend some points at the end of the month
    // finance will close, so its matrix has partners owing each other.
    const periodId = await periodToClose();
    const lastDay = new Date(Date.parse(`${periodId}-01T00:00:00Z`) + 32 * 86_400_000).toISOString().slice(0, 8) + '01';
    const occurredAt = new Date(Date.parse(`${lastDay}T00:00:00Z`) - 6 * 3_600_000).toISOString();
    const spends = [
      ['bistro', 'demo-member-02', 40],
      ['skyair', 'demo-member-03', 25],
      ['freshmart', 'demo-member-04', 15],
      ['bistro', 'demo-member-05', 30],
    ] as const;
    for (const [partner, memberId, pts] of spends) {
      await apiPost(served, keys.partners[partner].key, '/v1/redemptions', {
        externalId: `console-${memberId}`,
        memberId,
        points: pts,
        occurredAt,
      });
    }
    browser = await launchChromium();
  }, 120_000);

  afterAll(() => shutDown(browser, served));

  async function open(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
    const page = await context.newPage();
    page.on('request', (r) => urlsRequested.push(r.url()));
    page.on('framenavigated', (f) => urlsRequested.push(f.url()));
    await page.goto(`${served.url}/console/`);
    return page;
  }

  async function signIn(key: string, where = ''): Promise<Page> {
    keysUsed.push(key);
    const page = await open();
    await page.getByTestId('api-key').fill(key);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('who').waitFor();
    if (where) await page.getByTestId(`nav-${where}`).click();
    return page;
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  /** The newest month that has ended and is still open: the one finance closes next. */
  async function periodToClose(): Promise<string> {
    const periods: { periodId: string; ended: boolean; status: string }[] = await api(served, keys.finance.key, '/v1/settlements');
    const open = periods.filter((p) => p.ended && p.status === 'open');
    expect(open.length).toBeGreaterThan(0);
    return open[open.length - 1].periodId;
  }

  it('a wrong key gets a readable message, not a blank page', async () => {
    const page = await open();
    keysUsed.push('clk_wrong_key_0123456789');
    await page.getByTestId('api-key').fill('clk_wrong_key_0123456789');
    await page.getByTestId('sign-in').click();
    const message = page.getByTestId('sign-in-error');
    await message.waitFor();
    expect(await message.textContent()).toContain('unknown or has been revoked');
    await shot(page, '0-sign-in-wrong-key');
    await page.context().close();
  });

  it('finance: the overview shows every partner’s liability as the API does', async () => {
    const page = await signIn(keys.finance.key, 'overview');
    await page.getByTestId('positions').waitFor();
    await page.getByTestId('activity-chart').locator('svg').waitFor();
    const positions: { partnerId: string; liabilityMinor: number }[] = await api(served, keys.finance.key, '/v1/partners');
    expect(positions.map((p) => p.partnerId)).toEqual(['bistro', 'freshmart', 'skyair']);
    for (const p of positions) {
      expect(await page.getByTestId(`liability-${p.partnerId}`).getAttribute('data-liability-minor')).toBe(String(p.liabilityMinor));
    }
    expect(await page.getByTestId('nav-verify').count()).toBe(0);
    await shot(page, '1-overview-finance');
    await page.context().close();
  });

  it('finance: the programme KPIs of a chosen window are the report API’s figures', async () => {
    const page = await signIn(keys.finance.key, 'overview');
    // The demo's history is recent: a window of the last 90 days (UTC), today included.
    const tomorrow = Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`) + 86_400_000;
    const from = new Date(tomorrow - 90 * 86_400_000).toISOString().slice(0, 10);
    const to = new Date(tomorrow).toISOString().slice(0, 10);
    await page.getByTestId('kpi-table').waitFor();
    await page.getByTestId('kpi-from').fill(from);
    await page.getByTestId('kpi-to').fill(to);
    await page.getByTestId('kpi-show').click();
    await page
      .getByTestId('kpi-window')
      .filter({ hasText: `${from} to ${to}` })
      .waitFor();
    const report: { total: { active: number; topShareBps: number | null }; partners: { partnerId: string; liabilityMinor: number }[] } =
      await api(served, keys.finance.key, `/v1/reports/program?from=${from}&to=${to}`);
    expect(report.total.active).toBeGreaterThan(0);
    expect(await page.getByTestId('kpi-active-total').getAttribute('data-value')).toBe(String(report.total.active));
    expect(await page.getByTestId('kpi-top-share-total').getAttribute('data-value')).toBe(String(report.total.topShareBps ?? ''));
    const freshmart = report.partners.find((p) => p.partnerId === 'freshmart')!;
    expect(await page.getByTestId('kpi-liability-freshmart').getAttribute('data-value')).toBe(String(freshmart.liabilityMinor));
    await shot(page, '1b-overview-kpis');
    await page.context().close();
  });

  it('finance: closes a period after a confirmation showing the cut-off, then the matrix equals the API’s, and a CSV downloads', async () => {
    const periodId = await periodToClose();
    const page = await signIn(keys.finance.key, 'settlement');
    await page.getByTestId('period-picker').selectOption(periodId);
    await page.getByTestId('close-period').click();
    const cutoffShown = Number(await page.getByTestId('close-cutoff').textContent());
    const [head] = await (async () => {
      const preview = await api(served, keys.finance.key, `/v1/settlements/${periodId}/close-preview`);
      return [preview.cutoffPositionNow as number];
    })();
    expect(cutoffShown).toBe(head);
    await shot(page, '2-settlement-close-confirmation');
    await page.getByTestId('confirm-close').click();
    await page.getByTestId('statement-cutoff').waitFor();

    const statement = await api(served, keys.finance.key, `/v1/settlements/${periodId}`);
    expect(statement.cutoffPosition).toBe(cutoffShown);
    expect(Number(await page.getByTestId('statement-cutoff').textContent())).toBe(statement.cutoffPosition);
    expect(statement.matrix.length).toBeGreaterThan(0);
    for (const line of statement.matrix) {
      const cell = page.getByTestId(`cell-${line.issuerPartnerId}-${line.redeemerPartnerId}`);
      expect(await cell.getAttribute('data-points')).toBe(String(line.points));
      expect(await cell.getAttribute('data-amount-minor')).toBe(String(line.amountMinor));
    }
    // The heat map labels its cells with the same points.
    await page.getByTestId('matrix-heatmap').locator('svg').waitFor();
    const heatLabels = (await page.getByTestId('matrix-heatmap').locator('svg text').allTextContents()).map((t) =>
      t.replace(/\u202f/g, ''),
    );
    for (const line of statement.matrix) expect(heatLabels).toContain(String(line.points));
    // Hovering a cell shows its points and money. The cell's centre from the chart's grid
    // (SettlementPage's MatrixHeatmap: left 90, right 80, top 30, bottom 50; issuers top down).
    const hovered = statement.matrix.find((l: { selfRedemption: boolean }) => !l.selfRedemption) ?? statement.matrix[0];
    const parties = [...new Set(statement.matrix.flatMap((l: any) => [l.issuerPartnerId, l.redeemerPartnerId]))].sort();
    const box = (await page.getByTestId('matrix-heatmap').boundingBox())!;
    const cellWidth = (box.width - 90 - 80) / parties.length;
    const cellHeight = (box.height - 30 - 50) / parties.length;
    await page.mouse.move(
      box.x + 90 + (parties.indexOf(hovered.redeemerPartnerId) + 0.5) * cellWidth,
      box.y + 30 + (parties.indexOf(hovered.issuerPartnerId) + 0.5) * cellHeight,
    );
    const expected = [
      `${hovered.issuerPartnerId} owes ${hovered.redeemerPartnerId}`,
      `${hovered.points} points`,
      `${(hovered.amountMinor / 100).toFixed(2)} RUB`,
    ];
    await page.waitForFunction(
      (texts) => {
        const text = ((globalThis as any).document.querySelector('[data-testid="matrix-heatmap"]')?.textContent ?? '').replace(
          /\u202f/g,
          '',
        );
        return texts.every((t) => text.includes(t));
      },
      expected,
      { timeout: 10_000 },
    );

    const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-matrix').click()]);
    expect(file.suggestedFilename()).toBe(`settlement-${periodId}-matrix.csv`);
    const csv = readFileSync(await file.path(), 'utf8');
    expect(csv).toBe(await api(served, keys.finance.key, `/v1/settlements/${periodId}?format=csv&table=matrix`));
    const [json] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-json').click()]);
    expect(JSON.parse(readFileSync(await json.path(), 'utf8')).sha256).toBe(statement.sha256);
    await shot(page, '3-settlement-finance');
    await page.context().close();
  });

  it('auditor: no close button; a member replayed with its running balance, found by card too, and as of a date', async () => {
    const page = await signIn(keys.auditor.key, 'settlement');
    const periods: { periodId: string; status: string }[] = await api(served, keys.auditor.key, '/v1/settlements');
    const open = periods.filter((p) => p.status === 'open');
    await page.getByTestId('period-picker').selectOption(open[open.length - 1].periodId);
    await page.getByText('Only a finance key can close a period.').waitFor();
    expect(await page.getByTestId('close-period').count()).toBe(0);

    await page.getByTestId('nav-members').click();
    await page.getByTestId('member-search').fill('demo-member-01');
    await page.getByTestId('member-search-go').click();
    await page.getByTestId('history').waitFor();
    const replay = await api(served, keys.auditor.key, '/v1/audit/streams/member-demo-member-01');
    const member = await api(served, keys.auditor.key, '/v1/members/demo-member-01');
    const balances = (await page.getByTestId('balance-after').allTextContents()).map((t) => Number(t.replace(/\u202f/g, '')));
    expect(balances).toEqual(replay.events.map((e: any) => e.balanceAfter.available));
    expect(balances[balances.length - 1]).toBe(member.available);
    await page.getByTestId('balance-chart').locator('svg').waitFor();
    await shot(page, '4-member-audit');

    // The same member by its card number.
    const cardNumber = replay.events.find((e: any) => e.type === 'MemberEnrolled').data.cardNumber;
    await page.getByTestId('member-search').fill(cardNumber);
    await page.getByTestId('member-search-go').click();
    await page.getByText('Available points of demo-member-01').waitFor();

    // As of the end of the day of its third event.
    const third = replay.events[2];
    const date = third.recordedAt.slice(0, 10);
    await page.getByTestId('as-of-date').fill(date);
    await page.getByTestId('as-of-go').click();
    await page.getByTestId('as-of-result').waitFor();
    const asOf = await api(served, keys.auditor.key, `/v1/members/demo-member-01?asOf=${date}T23:59:59Z`);
    expect(Number((await page.getByTestId('as-of-available').textContent())!.replace(/\u202f/g, '').replace(' points', ''))).toBe(
      asOf.available,
    );

    // An API error is a readable message.
    await page.getByTestId('member-search').fill('nobody-here');
    await page.getByTestId('member-search-go').click();
    await page.getByText('member nobody-here not found').waitFor();
    await page.context().close();
  });

  it('auditor: verify runs as a job, ends green, and lists the closed period’s Merkle root', async () => {
    const page = await signIn(keys.auditor.key, 'verify');
    await page.getByTestId('start-verify').click();
    const verdict = page.getByTestId('verify-verdict');
    await verdict.waitFor({ timeout: 60_000 });
    expect(await verdict.textContent()).toContain('Verified');
    expect(await verdict.getAttribute('class')).toContain('verdict-ok');
    const closed = ((await api(served, keys.auditor.key, '/v1/settlements')) as { periodId: string; status: string }[]).filter(
      (p) => p.status === 'closed',
    );
    expect(closed.length).toBeGreaterThan(0);
    for (const p of closed) {
      const statement = await api(served, keys.auditor.key, `/v1/settlements/${p.periodId}`);
      expect(await page.getByTestId('verify-periods').textContent()).toContain(statement.eventsMerkleRoot);
    }
    await shot(page, '5-verify');
    await page.context().close();
  });

  it('partner: only its own position, statement rows and transactions', async () => {
    const page = await signIn(keys.partners.freshmart.key, 'overview');
    await page.getByTestId('positions').waitFor();
    expect(
      await page
        .getByTestId('positions')
        .locator('tbody tr')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-partner'))),
    ).toEqual(['freshmart']);
    expect(await page.getByTestId('nav-verify').count()).toBe(0);
    // The programme report names every partner: the panel says it is for staff, and asks nothing.
    expect(await page.getByTestId('kpi-note').textContent()).toContain('for finance, auditors and admins');
    await shot(page, '6-overview-partner');

    await page.getByTestId('nav-settlement').click();
    await page.getByTestId('matrix-table').waitFor();
    const cells = await page
      .locator('[data-testid^="cell-"]')
      .evaluateAll((els) => els.filter((e) => e.getAttribute('data-points') !== '0').map((e) => e.getAttribute('data-testid')!));
    expect(cells.length).toBeGreaterThan(0);
    for (const c of cells) expect(c.split('-').slice(1)).toContain('freshmart');
    await shot(page, '7-settlement-partner');

    await page.getByTestId('nav-members').click();
    await page.getByTestId('member-search').fill('demo-member-01');
    await page.getByTestId('member-search-go').click();
    await page.getByTestId('partner-transactions').waitFor();
    const txIds = await page
      .getByTestId('partner-transactions')
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-tx')));
    const own = await api(served, keys.partners.freshmart.key, '/v1/members/demo-member-01');
    expect(txIds).toEqual(own.transactions.map((t: { txId: string }) => t.txId));
    expect(txIds.length).toBeGreaterThan(0);
    for (const txId of txIds) expect(txId).toMatch(/^freshmart:/);
    // Nothing on the page names another partner's receipts (the member also redeemed at bistro).
    expect(await page.getByTestId('page-members').textContent()).not.toContain('bistro:');
    await shot(page, '9-member-partner');
    await page.context().close();
  });

  it('a key revoked while signed in is sent back to sign in with a clear message', async () => {
    const issued = await apiPost(served, keys.admin.key, '/v1/keys', { role: 'finance' });
    const page = await signIn(issued.key, 'overview');
    await page.getByTestId('positions').waitFor();
    const res = await fetch(`${served.url}/v1/keys/${issued.keyId}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${keys.admin.key}` },
    });
    expect(res.status).toBe(200);
    await page.getByTestId('nav-settlement').click();
    const message = page.getByTestId('sign-in-error');
    await message.waitFor();
    expect(await message.textContent()).toContain('revoked');
    expect(await page.evaluate('window.sessionStorage.length')).toBe(0);
    await shot(page, '10-revoked-key');
    await page.context().close();
  });

  it('no key ever appears in a page URL or in the server log', () => {
    expect(urlsRequested.length).toBeGreaterThan(0);
    for (const key of keysUsed) {
      for (const url of urlsRequested) expect(url).not.toContain(key);
      expect(served.log()).not.toContain(key);
    }
  });
});

(enabled ? describe : describe.skip)('web console on an empty coalition', () => {
  it('says there is nothing yet instead of showing an empty page', async () => {
    const adminKey = 'console-test-admin-key-0123456789';
    const served = await serve({ LEDGER_DEMO: 'off', LEDGER_ADMIN_KEY: adminKey });
    // Launched inside the try: a browser that fails to start must not leave the server running.
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
      await page.goto(`${served.url}/console/`);
      await page.getByTestId('api-key').fill(adminKey);
      await page.getByTestId('sign-in').click();
      await page.getByTestId('empty-coalition').waitFor();
      await page.screenshot({ path: join(SHOTS, '8-empty-coalition.png'), fullPage: true });
      await page.getByTestId('nav-settlement').click();
      await page.getByTestId('no-periods').waitFor();
      expect(served.log()).not.toContain(adminKey);
    } finally {
      await shutDown(browser, served);
    }
  }, 120_000);
});

(enabled ? describe : describe.skip)('web console verify on a tampered log', () => {
  it('shows red with the first divergence', async () => {
    let served = await serve({ LEDGER_DEMO: 'on' });
    const keys = demoKeys(served);
    await served.stop();
    // An edit made behind the ledger's back: 5 000 points written into a stored accrual.
    const db = new Database(join(served.dataDir, 'ledger.db'));
    const changed = db
      .prepare("UPDATE events SET data = json_set(data, '$.points', 5000) WHERE stream_id = 'member-demo-member-01' AND revision = 1")
      .run().changes;
    db.close();
    expect(changed).toBe(1);
    served = await serve({ LEDGER_DEMO: 'on' }, served.dataDir);
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await (await browser.newContext({ viewport: { width: 1440, height: 1000 } })).newPage();
      await page.goto(`${served.url}/console/`);
      await page.getByTestId('api-key').fill(keys.auditor.key);
      await page.getByTestId('sign-in').click();
      await page.getByTestId('nav-verify').click();
      await page.getByTestId('start-verify').click();
      const verdict = page.getByTestId('verify-verdict');
      await verdict.waitFor({ timeout: 60_000 });
      expect(await verdict.getAttribute('class')).toContain('verdict-bad');
      expect(await verdict.textContent()).toContain('Diverged');
      const job = await (async () => {
        const res = await fetch(`${served.url}/v1/audit/verify`, { headers: { Authorization: `Bearer ${keys.auditor.key}` } });
        return (await res.json()) as { firstDivergence: { message: string; streamId?: string } };
      })();
      expect(job.firstDivergence.streamId).toBe('member-demo-member-01');
      expect(await page.getByTestId('first-divergence').textContent()).toBe(job.firstDivergence.message);
      await page.screenshot({ path: join(SHOTS, '11-verify-tampered.png'), fullPage: true });
    } finally {
      await shutDown(browser, served);
    }
  }, 180_000);
});
