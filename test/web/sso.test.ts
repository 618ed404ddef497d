// Administration → Single sign-on in a real browser (Debian's Chromium via playwright-core): an
// administrator records a verified domain, configures an OpenID Connect provider with a client secret
// and default grants, a SAML provider whose service-provider metadata link works, and disables a
// provider with a reason. The database is the judge: every outcome is read back through the api
// functions or as the superuser, and the client secret is looked for everywhere it must not be. A
// reader sees no forms; a starter-tier organization's attempt is refused by the database, on screen.
import { randomUUID } from 'node:crypto';
import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, newPage, screenshot, submitPasswordSignIn } from '../support/browser.js';
import { createOrg, createUser, uniq, type TestOrg } from '../support/fixtures.js';
import { useTestServer } from '../support/http.js';
import { createSamlIdp } from '../support/saml-idp.js';

const s = useTestServer();
let browser: Browser;
let org: TestOrg;

interface Provider {
  id: string;
  kind: string;
  name: string;
  has_client_secret: boolean;
  default_grants: Array<{ domain: string; level: string; facility_id: string | null }> | null;
  disabled_at: string | null;
}

beforeAll(async () => {
  org = await createOrg(s().db, { tier: 'growth' });
  browser = await launchBrowser(s().server.tls.cert);
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

async function signIn(slug: string, email: string, password: string): Promise<Page> {
  const { page } = await newPage(browser);
  await page.goto(s().server.publicUrl);
  await submitPasswordSignIn(page, { organization: slug, email, password });
  await page.waitForSelector('[data-testid=org-name]');
  await page.goto(`${s().server.publicUrl}/#/admin?tab=sso`);
  await page.waitForSelector('text=Identity providers');
  return page;
}

const providers = async (o: TestOrg = org): Promise<Provider[]> =>
  await s().db.api.call<Provider[]>('sso_provider_list', o.admin.caller);

describe('single sign-on set up in the dashboard', () => {
  let page: Page;
  const secret = `client-secret-${uniq()}-${uniq()}`;
  const oidcName = `Okta ${uniq()}`;

  it('records a verified domain with its reason', async () => {
    page = await signIn(org.slug, org.admin.email, org.admin.password);
    const domain = `sso-${uniq()}.example`;
    await page.fill('input[name=domain]', domain);
    await page.fill('input[name=domain-reason]', 'DNS TXT record checked');
    await page.click('[data-testid=domain-form] button[type=submit]');
    await page.waitForSelector(`[data-testid=sso-domains] >> text=${domain}`);
    const listed = await s().db.api.call<Array<{ domain: string }>>(
      'domain_list',
      org.admin.caller,
    );
    expect(listed.map((d) => d.domain)).toContain(domain);
    const ev = await s().db.superuser.query<{ reason: string }>(
      `select reason from audit.audit_events
        where organization_id = $1 and event_type like 'sso.domain%'`,
      [org.id],
    );
    expect(ev.rows).toEqual([{ reason: 'DNS TXT record checked' }]);
  });

  it('configures an OpenID Connect provider; the secret is sealed and shown nowhere', async () => {
    await page.fill('input[name=sso-name]', oidcName);
    await page.fill('input[name=sso-issuer]', 'https://idp.example.test/oauth2');
    await page.fill('input[name=sso-client-id]', 'axiom-client');
    await page.fill('input[name=sso-client-secret]', secret);
    // Two default grants: security:read organization-wide, then cost:operate; the first is removed
    // again before saving, so exactly what is listed is what is sent.
    await page.click('[data-testid=sso-add-grant]');
    await page.selectOption('select[name=grant-domain]', 'cost');
    await page.selectOption('select[name=grant-level]', 'operate');
    await page.click('[data-testid=sso-add-grant]');
    await page.click('[data-testid=sso-default-grants] li:first-child button');
    expect(await page.textContent('[data-testid=sso-default-grants]')).toBe(
      'cost:operate (organization-wide) remove',
    );
    // Review and author are never offered for people provisioned at sign-in.
    expect(
      await page.$$eval('select[name=grant-level] option', (o) =>
        o.map((x) => (x as HTMLOptionElement).value),
      ),
    ).toEqual(['read', 'operate']);
    await page.click('[data-testid=sso-form] button[type=submit]');
    await page.waitForSelector(`text=${oidcName} is configured.`);
    await page.waitForSelector(`[data-testid=sso-providers] >> text=${oidcName}`);
    expect(await page.textContent('[data-testid=sso-providers]')).toContain(
      'client axiom-client (secret stored sealed)',
    );
    await screenshot(page, 'sso-oidc-configured');

    const p = (await providers()).find((x) => x.name === oidcName)!;
    expect(p).toMatchObject({ kind: 'oidc', has_client_secret: true, disabled_at: null });
    expect(p.default_grants).toEqual([{ domain: 'cost', level: 'operate', facility_id: null }]);
    // The secret: not left in the form, not in the page, and in no column or event in plain text.
    expect(await page.inputValue('input[name=sso-client-secret]')).toBe('');
    expect(await page.content()).not.toContain(secret);
    const found = await s().db.superuser.query<{ n: string }>(
      `select (select count(*) from core.sso_providers p where p::text like '%' || $1 || '%')
            + (select count(*) from audit.audit_events e where e::text like '%' || $1 || '%')
            + (select count(*) from audit.session_events e where e::text like '%' || $1 || '%') as n`,
      [secret],
    );
    expect(Number(found.rows[0]!.n)).toBe(0);
    const sealed = await s().db.superuser.query<{ sealed: boolean }>(
      'select client_secret_sealed is not null as sealed from core.sso_providers where id = $1',
      [p.id],
    );
    expect(sealed.rows).toEqual([{ sealed: true }]);
  });

  it('configures a SAML provider whose service-provider metadata link works', async () => {
    const idp = await createSamlIdp();
    const spEntityId = `https://axiom.example.test/saml/sp-${uniq()}`;
    await page.selectOption('select[name=sso-kind]', 'saml');
    await page.fill('input[name=sso-name]', 'Corporate SAML');
    await page.fill('input[name=sso-idp-entity-id]', idp.entityId);
    await page.fill('input[name=sso-idp-sso-url]', idp.ssoUrl);
    await page.fill('textarea[name=sso-idp-certificate]', idp.certificate);
    await page.fill('input[name=sso-sp-entity-id]', spEntityId);
    await page.click('[data-testid=sso-form] button[type=submit]');
    await page.waitForSelector('text=Corporate SAML is configured.');
    const p = (await providers()).find((x) => x.name === 'Corporate SAML')!;
    expect(p.kind).toBe('saml');
    const link = page.locator(`a[href*="saml-metadata?provider=${p.id}"]`);
    const metadata = await page.evaluate(
      async (href) => await (await fetch(href)).text(),
      (await link.getAttribute('href'))!,
    );
    expect(metadata).toContain(`entityID="${spEntityId}"`);
    expect(metadata).toContain(`/api/v1/auth/saml/${p.id}/acs`);
  });

  it('disables a provider with a reason', async () => {
    const p = (await providers()).find((x) => x.name === oidcName)!;
    await page.click(`[data-testid=sso-disable-${p.id}]`);
    await page.fill('input[name=disable-reason]', 'moving to the new tenant');
    // The list is slow to reload: the page says "disabled" only once the list it shows says so.
    const slowList = async (route: Route): Promise<void> => {
      if (route.request().method() === 'GET') await new Promise((r) => setTimeout(r, 1500));
      await route.continue();
    };
    await page.route('**/api/v1/sso-providers', slowList);
    await page.click('[data-testid=sso-disable-form] button[type=submit]');
    await page.waitForSelector(`text=${oidcName} is disabled.`);
    expect(await page.locator(`[data-testid=sso-disable-${p.id}]`).count()).toBe(0);
    await page.unroute('**/api/v1/sso-providers', slowList);
    expect((await providers()).find((x) => x.id === p.id)!.disabled_at).not.toBeNull();
    const ev = await s().db.superuser.query<{ reason: string }>(
      `select reason from audit.audit_events
        where organization_id = $1 and event_type = 'sso.provider_disabled' and target_id = $2`,
      [org.id, p.id],
    );
    expect(ev.rows).toEqual([{ reason: 'moving to the new tenant' }]);
    await screenshot(page, 'sso-provider-disabled');
  });

  it('shows a reader the configuration without any form', async () => {
    const reader = await createUser(s().db, org, [
      { domain: 'configuration', level: 'read', facility: null },
    ]);
    const p = await signIn(org.slug, reader.email, reader.password);
    await p.waitForSelector(`[data-testid=sso-providers] >> text=${oidcName}`);
    expect(await p.locator('[data-testid=domain-form]').count()).toBe(0);
    expect(await p.locator('[data-testid=sso-form]').count()).toBe(0);
    expect(await p.locator('[data-testid^=sso-disable-]').count()).toBe(0);
  });

  it('tells a browser without a session, landing after a signature re-authentication, where to go on', async () => {
    // Where the provider's re-authentication lands (the dashboard's signature page): a browser that
    // `axiom … approve --sso` opened has no session; the terminal completes the signature.
    const { page: p } = await newPage(browser);
    await p.goto(`${s().server.publicUrl}/#/signatures/${randomUUID()}`);
    await p.waitForSelector('[data-testid=login-form]');
    expect(await p.textContent('[data-testid=reauth-notice]')).toMatch(/return to your\s+terminal/);
    // An ordinary visit shows no such notice.
    await p.goto(`${s().server.publicUrl}/#/`);
    await p.reload();
    await p.waitForSelector('[data-testid=login-form]');
    expect(await p.locator('[data-testid=reauth-notice]').count()).toBe(0);
    await p.close();
  });

  it('shows the database refusing a starter-tier organization, and nothing is stored', async () => {
    const starter = await createOrg(s().db, { tier: 'starter' });
    const p = await signIn(starter.slug, starter.admin.email, starter.admin.password);
    await p.waitForSelector('text=Single sign-on needs the growth tier or above.');
    await p.fill('input[name=sso-name]', 'Not allowed');
    await p.fill('input[name=sso-issuer]', 'https://idp.example.test/oauth2');
    await p.fill('input[name=sso-client-id]', 'axiom-client');
    await p.fill('input[name=sso-client-secret]', secret);
    await p.click('[data-testid=sso-form] button[type=submit]');
    await p.waitForSelector('[data-testid=sso-form] [role=alert] >> text=growth tier and above');
    await screenshot(p, 'sso-refused-starter');
    expect(await providers(starter)).toEqual([]);
  });
});
