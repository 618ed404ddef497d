// The dashboard in a real browser (Debian's Chromium via playwright-core): sign in, find what waits for
// a decision, approve a medium-risk change with the password and a high-risk change with a security
// key (Chromium's virtual authenticator), and see the audit chain verified. The database is the judge:
// every outcome is checked through the api functions, not only on screen.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addVirtualAuthenticator,
  launchBrowser,
  newPage,
  screenshot,
  submitPasswordSignIn,
} from '../support/browser.js';
import {
  createFacility,
  createUser,
  createOrg,
  signFor,
  type TestOrg,
  type TestUser,
} from '../support/fixtures.js';
import { useTestServer } from '../support/http.js';

const s = useTestServer();
let browser: Browser;
let page: Page;
let org: TestOrg;
let author: TestUser;
let facility: string;

beforeAll(async () => {
  const t = s().db;
  org = await createOrg(t);
  facility = await createFacility(t, org, undefined, 'production');
  author = await createUser(t, org, [{ domain: 'configuration', level: 'author', facility: null }]);
  browser = await launchBrowser(s().server.tls.cert);
  ({ page } = await newPage(browser));
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

async function propose(
  kind: string,
  itemId: string | null,
  key: string | null,
  content: object,
  title: string,
) {
  const t = s().db;
  const cr = await t.api.call<{ id: string; proposed_record_hash: string }>(
    'record_propose',
    author.caller,
    kind,
    facility,
    itemId,
    key,
    content,
    title,
    'dashboard test',
  );
  await t.api.call('change_request_submit', author.caller, cr.id);
  return cr;
}

async function crState(
  id: string,
): Promise<{ state: string; decisions: Array<{ signature_id: string | null }> }> {
  return await s().db.api.call('change_request_get', org.admin.caller, id);
}

describe('the dashboard in Chromium', () => {
  it('refuses a wrong password on the sign-in page, then signs in', async () => {
    await page.goto(s().server.publicUrl);
    await page.fill('input[name=organization]', org.slug);
    await page.fill('input[name=email]', org.admin.email);
    await page.fill('input[name=password]', 'not-the-password');
    await page.click('button[type=submit]');
    await expect.poll(() => page.locator('[role=alert]').textContent()).toMatch(/./);
    await screenshot(page, 'sign-in-refused');
    await page.fill('input[name=password]', org.admin.password);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=org-name]');
    expect(await page.textContent('[data-testid=org-name]')).toBe(`Org ${org.slug}`);
    // Recent activity says who did what: the administrator's own sign-in, by name.
    await page.waitForSelector(
      '[data-testid=recent-activity] [data-testid=person] >> text=Ada Admin',
    );
    await screenshot(page, 'overview');
  });

  it('enrolls a security key with the virtual authenticator', async () => {
    await addVirtualAuthenticator(page);
    await page.goto(`${s().server.publicUrl}/#/account?tab=keys`);
    await page.fill('[data-testid=enroll-key] input', 'virtual key');
    await page.click('[data-testid=enroll-key] button[type=submit]');
    await page.waitForSelector('[data-testid=security-keys] >> text=virtual key');
    const keys = await s().db.api.call<Array<{ name: string }>>(
      'webauthn_credential_list',
      org.admin.caller,
      null,
    );
    expect(keys.map((k) => k.name)).toContain('virtual key');
    await screenshot(page, 'security-key-enrolled');
  });

  it('approves a medium-risk change with the password (every identification component first, §11.200)', async () => {
    const cr = await propose(
      'policy',
      null,
      'required-tags',
      { type: 'required_tags', tags: ['Owner'] },
      'Require the Owner tag',
    );
    await page.goto(`${s().server.publicUrl}/#/changes`);
    await page.click(`text=Require the Owner tag`);
    await page.waitForSelector('[data-testid=change-request]');
    await screenshot(page, 'change-request');
    await page.click('[data-testid=approve]');
    await page.waitForSelector('[data-testid=sign-password]');
    // The first signature of the session asks for the e-mail as well as the password.
    expect(await page.inputValue('input[name=identification]')).toBe(org.admin.email);
    await page.fill('input[name=sign-password]', 'wrong-password');
    await page.click('[data-testid=sign-password] button[type=submit]');
    await page.waitForSelector('[data-testid=sign-dialog] [role=alert]');
    await screenshot(page, 'signature-wrong-password');
    await page.fill('input[name=sign-password]', org.admin.password);
    await page.click('[data-testid=sign-password] button[type=submit]');
    await page.click('[data-testid=sign-complete]');
    // The State badge (in its <dd>), drawn only after the approval came back and the page reloaded;
    // the signing dialog, inside the same element, says "approved" while the request is in flight.
    await page.waitForSelector('[data-testid=change-request] dd >> text="approved"');
    await screenshot(page, 'change-approved-password');
    const after = await crState(cr.id);
    expect(after.state).toBe('approved');
    expect(after.decisions[0]?.signature_id).toBeTruthy();
    // The signature verifies on request: the server recomputes its hash and the signed record's.
    await page.click('[data-testid=verify-signature]');
    const verified = await page.waitForSelector('[data-testid=signature-verification]');
    expect(await verified.textContent()).toMatch(
      /verified\s+signature and signed record unchanged/,
    );
    await screenshot(page, 'signature-verified');
  });

  it('tells a signed-in browser that a signature it did not start is completed where it began', async () => {
    // Where `axiom … approve --sso` sends the browser back: the dashboard's signature page, in a
    // browser that may well be signed in but holds no signature waiting for this challenge.
    const t = s().db;
    const cr = await propose(
      'policy',
      null,
      'elsewhere-tags',
      { type: 'required_tags', tags: ['Team'] },
      'Require the Team tag',
    );
    const signature = await signFor(
      t,
      org.admin,
      { type: 'change_request', id: cr.id },
      'approved',
    );
    await page.goto(`${s().server.publicUrl}/#/signatures/${signature.challenge_id}`);
    expect(await page.textContent('[data-testid=sign-elsewhere]')).toMatch(
      /return to it: it completes/,
    );
    expect(await page.locator('[data-testid=sign-complete]').count()).toBe(0);
    await screenshot(page, 'signature-started-elsewhere');
    // The terminal signs; the page then says the challenge has been used.
    await t.api.call(
      'change_request_approve',
      org.admin.caller,
      cr.id,
      cr.proposed_record_hash,
      signature,
      null,
    );
    await page.reload();
    expect(await page.textContent('[data-testid=sign-used]')).toMatch(
      /in a terminal, it has signed/,
    );
    expect((await crState(cr.id)).state).toBe('approved');
  });

  it('approves a high-risk change (facility configuration) only with the security key', async () => {
    const current = await s().db.api.call<Array<{ id: string; content: Record<string, unknown> }>>(
      'record_list',
      org.admin.caller,
      'facility_configuration',
      facility,
    );
    const cfg = current[0]!;
    const cr = await propose(
      'facility_configuration',
      cfg.id,
      null,
      { ...cfg.content, blast_radius_cap: 3 },
      'Cap the blast radius at 3',
    );
    await page.goto(`${s().server.publicUrl}/#/changes/${cr.id}`);
    // Before signing, the reviewer sees what the new version changes: the one setting, from its
    // effective value to the proposed one.
    await page.waitForSelector('[data-testid=what-changes]');
    expect(
      await page.$$eval('[data-testid=what-changes] tbody tr', (rows) =>
        rows.map((r) => Array.from(r.querySelectorAll('td'), (td) => td.textContent)),
      ),
    ).toEqual([['blast_radius_cap', JSON.stringify(cfg.content.blast_radius_cap), '3', 'changed']]);
    await screenshot(page, 'change-what-changes');
    await page.click('[data-testid=approve]');
    await page.waitForSelector('[data-testid=sign-webauthn]');
    // A password alone does not satisfy a high-risk signature.
    expect(await page.locator('[data-testid=sign-password]').count()).toBe(0);
    await page.click('[data-testid=sign-webauthn]');
    await page.click('[data-testid=sign-complete]');
    // The State badge (in its <dd>), drawn only after the approval came back and the page reloaded;
    // the signing dialog, inside the same element, says "approved" while the request is in flight.
    await page.waitForSelector('[data-testid=change-request] dd >> text="approved"');
    await screenshot(page, 'change-approved-security-key');
    const sigs = await s().db.api.call<Array<{ factors: string[]; record_hash: string }>>(
      'signature_list',
      org.admin.caller,
      null,
    );
    expect(
      sigs.some((x) => x.factors.includes('webauthn') && x.record_hash === cr.proposed_record_hash),
    ).toBe(true);
  });

  it('shows each facility’s autonomy tier and blast-radius cap as its configuration record says', async () => {
    const current = await s().db.api.call<
      Array<{ content: Record<string, unknown>; lifecycle_state: string }>
    >('record_list', org.admin.caller, 'facility_configuration', facility);
    const effective = current.find((r) => r.lifecycle_state === 'effective')!.content;
    expect(effective.blast_radius_cap).toBe(3);
    await page.goto(`${s().server.publicUrl}/#/admin?tab=facilities`);
    const row = page.locator('[data-testid=facilities] tbody tr', { hasText: 'production' });
    await expect
      .poll(() => row.textContent())
      .toContain(String(effective.autonomy_tier).replace(/_/g, ' '));
    expect(await row.locator('td').nth(4).textContent()).toBe('3');
    await screenshot(page, 'facility-configuration');
  });

  it('shows the audit trail and verifies the chains', async () => {
    await page.goto(`${s().server.publicUrl}/#/audit`);
    await page.waitForSelector('[data-testid=audit-events] >> text=esignature');
    // Who acted is named, with the e-mail and id on hover, not shown as a bare id.
    const name = (
      await s().db.superuser.query<{ display_name: string }>(
        'select display_name from core.principals where id = $1',
        [org.admin.id],
      )
    ).rows[0]!.display_name;
    const person = page.locator('[data-testid=audit-events] [data-testid=person]').first();
    await expect.poll(() => person.textContent()).toBe(name);
    expect(await person.getAttribute('title')).toBe(`${org.admin.email} (${org.admin.id})`);
    await page.goto(`${s().server.publicUrl}/#/audit?tab=verify`);
    await page.click('[data-testid=verify-chains]');
    await page.waitForSelector('[data-testid=verify-result] >> text=Intact');
    await screenshot(page, 'audit-verified');
  });

  it('shows the retention, and places and lifts a legal hold with a reason', async () => {
    const held = async (): Promise<boolean> =>
      (
        await s().db.superuser.query<{ legal_hold: boolean }>(
          'select legal_hold from core.organizations where id = $1',
          [org.id],
        )
      ).rows[0]!.legal_hold;
    await page.goto(`${s().server.publicUrl}/#/audit?tab=retention`);
    await page.waitForSelector('[data-testid=retention] >> text=90 days');
    expect(await page.textContent('[data-testid=legal-hold]')).toBe('none');
    await page.fill('input[name=legal-hold-reason]', 'litigation hold 7');
    await page.click('[data-testid=legal-hold-form] button[type=submit]');
    await page.waitForSelector(
      '[data-testid=legal-hold] >> text=nothing is archived while it is set',
    );
    await screenshot(page, 'legal-hold-set');
    expect(await held()).toBe(true);
    const reasons = await s().db.superuser.query<{ reason: string }>(
      `select reason from audit.audit_events
        where organization_id = $1 and event_type = 'audit.legal_hold_set'`,
      [org.id],
    );
    expect(reasons.rows).toEqual([{ reason: 'litigation hold 7' }]);
    await page.fill('input[name=legal-hold-reason]', 'case closed');
    await page.click('[data-testid=legal-hold-form] button[type=submit]');
    await expect.poll(() => page.textContent('[data-testid=legal-hold]')).toBe('none');
    expect(await held()).toBe(false);
  });

  it('asks nothing a narrow grant cannot read: no refusal lands in the audit trail', async () => {
    // configuration:read at another facility only: nothing of the production facility, no audit,
    // no action domain.
    const other = await createFacility(s().db, org, undefined, 'staging');
    const narrow = await createUser(s().db, org, [
      { domain: 'configuration', level: 'read', facility: other },
    ]);
    const { page: p } = await newPage(browser);
    await p.goto(s().server.publicUrl);
    await submitPasswordSignIn(p, {
      organization: org.slug,
      email: narrow.email,
      password: narrow.password,
    });
    // The overview says the trail needs audit:read instead of asking for it.
    await p.waitForSelector('[data-testid=activity-not-readable]');
    // Facilities without a configuration grant: listed, their configuration not asked for.
    await p.goto(`${s().server.publicUrl}/#/admin?tab=facilities`);
    const row = p.locator('[data-testid=facilities] tbody tr', { hasText: 'production' });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.locator('td').nth(3).textContent()).toBe('—');
    // Pages and parts of pages that need more say what they need instead of asking.
    await p.goto(`${s().server.publicUrl}/#/executions`);
    await p.waitForSelector('[data-testid=memory-not-readable] >> text=security, cost or drift');
    await p.goto(`${s().server.publicUrl}/#/audit`);
    await p.waitForSelector('[data-testid=audit-not-readable] >> text=audit:read');
    await p.goto(`${s().server.publicUrl}/#/admin?tab=sso`);
    await p.waitForSelector('[data-testid=needs-grant] >> text=configuration:read');
    await p.goto(`${s().server.publicUrl}/#/admin?tab=alerts`);
    await p.waitForSelector('[data-testid=needs-grant] >> text=audit:read');
    await p.goto(`${s().server.publicUrl}/#/changes?tab=records&kind=policy`);
    await p.waitForSelector('[data-testid=records-not-readable] >> text=organization-wide');
    // At the facility where the grant is, the records are asked for and shown.
    await p.goto(
      `${s().server.publicUrl}/#/changes?tab=records&kind=facility_configuration&facility_id=${other}`,
    );
    await p.waitForSelector('[data-testid=records] >> text=v1');
    const denied = await s().db.superuser.query<{ event_type: string }>(
      `select event_type from audit.audit_events
        where actor_id = $1 and event_type = 'authz.denied'`,
      [narrow.id],
    );
    expect(denied.rows).toEqual([]);
  });
});
