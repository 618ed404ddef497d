// The connections and scans pages in a real browser (Debian's Chromium via playwright-core), against
// the sandbox cloud over the real AWS SDK and a real worker: connect an account through the wizard
// (the External ID shown is the one the database issued), create the role as the customer would, test
// the connection, start a scan and watch it finish, open its findings, see the charts, rotate the
// External ID, see a deleted role detected as revoked, and disconnect. The database is the judge.
import type { Browser, Page } from 'playwright-core';
import { checkById } from '../../src/findings/catalog.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, newPage, screenshot, submitPasswordSignIn } from '../support/browser.js';
import { customerRole, deleteCustomerRole, useSandbox } from '../support/cloud.js';
import {
  createFacility,
  createOrg,
  createUser,
  type TestOrg,
  type TestUser,
} from '../support/fixtures.js';
import type { TestServer } from '../support/http.js';
import { useWorkerServer } from '../support/worker.js';

const sandbox = useSandbox({
  accounts: [{ seed: 'web-connections', size: 40, regions: ['us-east-1'] }],
});
const ws = useWorkerServer(sandbox);
const s = (): TestServer => ws().server;
let browser: Browser;
let page: Page;
let org: TestOrg;
let operator: TestUser;
let connectionId = '';

beforeAll(async () => {
  const t = s().db;
  org = await createOrg(t);
  const facility = await createFacility(t, org, 'prod', 'production');
  operator = await createUser(t, org, [
    { domain: 'configuration', level: 'review', facility },
    { domain: 'security', level: 'read', facility },
    { domain: 'cost', level: 'read', facility },
    { domain: 'drift', level: 'read', facility },
  ]);
  browser = await launchBrowser(s().server.tls.cert);
  ({ page } = await newPage(browser));
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

const account = (): string => sandbox().accounts[0]!.accountId;

async function connection(): Promise<{
  status: string;
  status_reason: string | null;
  external_ids: Array<{ external_id: string; current: boolean }>;
}> {
  return await s().db.api.call('connection_get', operator.caller, connectionId);
}

describe('connections and scans in Chromium', () => {
  it('connects an account through the wizard with the External ID the database issued', async () => {
    await page.goto(s().server.publicUrl);
    await submitPasswordSignIn(page, {
      organization: org.slug,
      email: operator.email,
      password: operator.password,
    });
    await page.waitForSelector('[data-testid=org-name]');
    await page.click('nav >> text=Connections');
    await page.click('[data-testid=connect-account]');
    await page.fill('input[name=account_id]', account());
    await page.fill('input[name=role_name]', 'AxiomScanRole');
    await screenshot(page, 'connections-wizard');
    await page.click('[data-testid=new-connection] button[type=submit]');
    await page.waitForSelector('[data-testid=onboarding]');
    connectionId = /#\/connections\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    const c = await connection();
    expect(c.status).toBe('pending');
    const issued = c.external_ids.find((e) => e.current)!.external_id;
    expect(await page.textContent('[data-testid=onboarding]')).toContain(issued);
    // The trust policy the page offers carries the External ID condition.
    await page.click('[data-testid=onboarding] >> role=tab[name="Trust policy"]');
    expect(await page.textContent('[data-testid=onboarding] pre')).toMatch(
      new RegExp(`"sts:ExternalId":\\s*"${issued}"`),
    );
    await screenshot(page, 'connections-onboarding');

    // Testing before the role exists reports what failed and activates nothing.
    await page.click('[data-testid=test-connection]');
    await expect.poll(() => page.textContent('[data-testid=test-report]')).toMatch(/failed/i);
    expect((await connection()).status).not.toBe('active');

    // The customer creates the role with the material Axiom presented; the test now passes.
    await customerRole(sandbox(), account(), { name: 'AxiomScanRole', externalIds: [issued] });
    await page.click('[data-testid=test-connection]');
    await expect
      .poll(() => page.textContent('[data-testid=test-report]'))
      .toMatch(/Connection works/);
    expect((await connection()).status).toBe('active');
    await screenshot(page, 'connections-tested');
  });

  it('starts a scan, shows its progress until it finishes, its findings and the charts', async () => {
    await page.click('role=tab[name="Scans"]');
    await page.click('[data-testid=start-scan]');
    await expect
      .poll(
        async () => {
          const scans = await s().db.api.call<Array<{ status: string }>>(
            'scan_list',
            operator.caller,
            connectionId,
            null,
          );
          return scans[0]?.status;
        },
        { timeout: 120_000, interval: 500 },
      )
      .toMatch(/^(succeeded|partial)$/);
    // The page polls while the scan runs: the finished scan appears without a reload.
    await page.waitForSelector('[data-testid=scans] tr >> text=/succeeded|partial/', {
      timeout: 30_000,
    });
    expect(await page.locator('[data-testid=live-scan]').count()).toBe(0);
    await page.waitForSelector(
      '[data-testid=scan-charts] canvas[aria-label="Findings by severity over time"]',
    );
    await screenshot(page, 'scans-history');

    await page.click('[data-testid=scans] tbody tr >> nth=0');
    await page.waitForSelector('text=Findings by severity:');
    await screenshot(page, 'scan-detail');
    await page.click('text=open the findings');
    await page.waitForSelector('[data-testid=active-count]');
    const shown = Number(await page.textContent('[data-testid=active-count]'));
    const counts = await s().db.api.call<{ active: number }>('finding_counts', operator.caller, {
      connection_id: connectionId,
    });
    expect(counts.active).toBeGreaterThan(0);
    expect(shown).toBe(counts.active);
    // Each finding names its check in words (the catalog's title), above the check's id.
    const row = page.locator('[data-testid=findings] tbody tr').first();
    await expect.poll(() => row.locator('[data-testid=check-title]').textContent()).not.toBe('');
    const checkId = (await row.locator('a.small').textContent())!;
    expect(await row.locator('[data-testid=check-title]').textContent()).toBe(
      checkById(checkId)!.title,
    );
    await screenshot(page, 'scan-findings');
  });

  it('rotates the External ID: both are listed during the grace period', async () => {
    await page.goto(`${s().server.publicUrl}/#/connections/${connectionId}?tab=onboarding`);
    await page.click('text=Rotate External ID');
    await page.click('[role=dialog] button[type=submit]');
    await expect.poll(async () => (await connection()).external_ids.length).toBe(2);
    const ids = (await connection()).external_ids.map((e) => e.external_id);
    // The page reloads the connection after the dialog closes: both IDs appear.
    await expect
      .poll(async () => {
        const text = (await page.textContent('[data-testid=onboarding]')) ?? '';
        return ids.every((id) => text.includes(id));
      })
      .toBe(true);
    await screenshot(page, 'connections-rotated');
  });

  it('shows a deleted role as revoked, and disconnects for good', async () => {
    await deleteCustomerRole(sandbox(), account(), 'AxiomScanRole');
    await page.click('[data-testid=test-connection]');
    await expect.poll(async () => (await connection()).status).toBe('revoked');
    await page.waitForSelector('text=can no longer assume');
    await screenshot(page, 'connections-revoked');

    await page.click('text=Disconnect');
    await page.fill('[role=dialog] input', 'the account was closed');
    await page.click('[role=dialog] button[type=submit]');
    await expect.poll(async () => (await connection()).status).toBe('disconnected');
    await page.waitForSelector('text=no role of this connection is ever assumed again');
    expect(await page.locator('[data-testid=test-connection]').count()).toBe(0);
    await screenshot(page, 'connections-disconnected');
  });
});
