// Single sign-on with SAML 2.0 over HTTPS (HTTP-POST binding): a test identity provider whose
// certificate is generated at test time signs assertions with xml-crypto. Signed assertions for this
// service provider are accepted; unsigned, forged, expired, replayed, misaddressed ones are refused,
// each with an audit event.
import { createHash, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOrg, uniq, type TestOrg } from '../support/fixtures.js';
import { useTestServer, type HttpClient } from '../support/http.js';
import { createSamlIdp, otherSigningKey, type SamlIdp } from '../support/saml-idp.js';

const s = useTestServer();

interface AuditEvent {
  event_type: string;
  reason: string | null;
  details: string | null;
}

describe('single sign-on with SAML 2.0', () => {
  let org: TestOrg;
  let adm: HttpClient;
  let idp: SamlIdp;
  let providerId: string;
  let domain: string;
  let acs: string;
  const spEntityId = `https://axiom.example.test/saml/sp-${uniq()}`;

  beforeAll(async () => {
    org = await createOrg(s().db, { tier: 'enterprise' });
    adm = s().client();
    await adm.login(org.slug, org.admin.email, org.admin.password);
    domain = `saml-${uniq()}.example`;
    expect(
      (await adm.post('/api/v1/domains', { domain, reason: 'DNS TXT record checked' })).status,
    ).toBe(201);
    idp = await createSamlIdp();
    const configured = await adm.post<{ id: string }>('/api/v1/sso-providers', {
      kind: 'saml',
      name: 'Test SAML IdP',
      idp_entity_id: idp.entityId,
      idp_sso_url: idp.ssoUrl,
      idp_certificate: idp.certificate,
      sp_entity_id: spEntityId,
      default_grants: [{ domain: 'audit', level: 'read', facility_id: null }],
    });
    expect(configured.status).toBe(201);
    providerId = configured.body.id;
    acs = `${s().server.publicUrl}/api/v1/auth/saml/${providerId}/acs`;
  });

  async function events(): Promise<AuditEvent[]> {
    const r = await adm.get<AuditEvent[]>(
      '/api/v1/audit/events?limit=200&event_type=sso.login_failed',
    );
    return r.body;
  }

  /** Start at Axiom: the redirect to the IdP carries a SAMLRequest and a single-use RelayState. */
  async function start(browser: HttpClient): Promise<string> {
    const r = await browser.get(`/api/v1/auth/sso/${org.slug}/start?provider=${providerId}`);
    expect(r.status).toBe(302);
    const to = new URL(String(r.headers.location));
    expect(to.origin + to.pathname).toBe(idp.ssoUrl);
    expect(to.searchParams.get('SAMLRequest')).toBeTruthy();
    return String(to.searchParams.get('RelayState'));
  }

  async function post(browser: HttpClient, relayState: string | null, samlResponse: string) {
    const form = new URLSearchParams({ SAMLResponse: samlResponse });
    if (relayState) form.set('RelayState', relayState);
    return await browser.request('POST', `/api/v1/auth/saml/${providerId}/acs`, {
      body: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }

  const alice = () => ({
    audience: spEntityId,
    recipient: acs,
    nameId: `alice@${domain}`,
    email: `alice@${domain}`,
    displayName: 'Alice SAML',
  });

  it('accepts a signed assertion for this service provider and provisions with the default grants', async () => {
    const browser = s().client();
    const r = await post(browser, await start(browser), idp.response(alice()));
    expect(r.status).toBe(200);
    expect(r.text).toContain('Signed in');
    const who = await browser.get<{
      principal: { email: string };
      grants: Array<{ domain: string; level: string }>;
    }>('/api/v1/auth/session');
    expect(who.status).toBe(200);
    expect(who.body.principal.email).toBe(`alice@${domain}`);
    expect(who.body.grants.map((g) => `${g.domain}:${g.level}`)).toEqual(['audit:read']);
  });

  const refusals: Array<[string, () => Promise<string>, number, string]> = [
    [
      'unsigned',
      async () => idp.response({ ...alice(), signed: false }),
      401,
      'saml_unsigned_or_bad_signature',
    ],
    [
      'signed by another key',
      async () => idp.response({ ...alice(), signingKey: await otherSigningKey() }),
      401,
      'saml_unsigned_or_bad_signature',
    ],
    ['expired', async () => idp.response({ ...alice(), validMinutes: -10 }), 401, 'saml_expired'],
    [
      'for another audience',
      async () => idp.response({ ...alice(), audience: 'https://another-sp.example.test' }),
      401,
      'saml_wrong_audience',
    ],
    [
      'for another recipient',
      async () =>
        idp.response({
          ...alice(),
          recipient: `https://evil.example.test/api/v1/auth/saml/${providerId}/acs`,
        }),
      401,
      'saml_wrong_recipient',
    ],
  ];
  for (const [what, make, status, reason] of refusals) {
    it(`refuses an assertion that is ${what}, with an audit event`, async () => {
      const browser = s().client();
      const before = (await events()).length;
      const r = await post(browser, await start(browser), await make());
      expect(r.status).toBe(status);
      expect(r.text).toContain('Sign-in failed');
      expect(browser.cookies.has('__Host-axiom_session')).toBe(false);
      const after = await events();
      expect(after.length).toBe(before + 1);
      expect(after[0]).toMatchObject({ reason });
      expect(JSON.parse(after[0]!.details!)).toMatchObject({
        provider_id: providerId,
        kind: 'saml',
      });
    });
  }

  it('hands a sign-in started by `axiom login --sso` to the CLI: a code for its loopback port, exchanged with its verifier', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const browser = s().client();
    const r0 = await browser.get(
      `/api/v1/auth/sso/${org.slug}/start?provider=${providerId}&cli_port=43210&cli_challenge=${challenge}`,
    );
    expect(r0.status).toBe(302);
    const relayState = String(new URL(String(r0.headers.location)).searchParams.get('RelayState'));
    const r = await post(browser, relayState, idp.response(alice()));
    // No cookie session in the browser: it is sent to the CLI's port with a single-use code.
    expect(r.status).toBe(302);
    expect(browser.cookies.has('__Host-axiom_session')).toBe(false);
    const to = new URL(String(r.headers.location));
    expect(`${to.origin}${to.pathname}`).toBe('http://127.0.0.1:43210/callback');
    const exchanged = await s()
      .client()
      .post<{ token: string }>('/api/v1/auth/sso/cli/exchange', {
        code: to.searchParams.get('code'),
        code_verifier: verifier,
      });
    expect(exchanged.status).toBe(200);
    const cli = s().client();
    cli.bearer = exchanged.body.token;
    const who = await cli.get<{ principal: { email: string } }>('/api/v1/auth/session');
    expect(who.status).toBe(200);
    expect(who.body.principal.email).toBe(`alice@${domain}`);
  });

  it('accepts each assertion once: a replay under a new sign-in is refused, with an audit event', async () => {
    const first = s().client();
    const response = idp.response(alice());
    expect((await post(first, await start(first), response)).status).toBe(200);
    const thief = s().client();
    const r = await post(thief, await start(thief), response);
    expect(r.status).toBe(409);
    expect(thief.cookies.has('__Host-axiom_session')).toBe(false);
    expect((await events())[0]).toMatchObject({ reason: 'assertion_replayed' });
  });

  it('refuses a response that answers no sign-in started at Axiom (IdP-initiated, or a used RelayState)', async () => {
    const browser = s().client();
    expect((await post(browser, null, idp.response(alice()))).status).toBe(401);
    const relay = await start(browser);
    expect((await post(browser, relay, idp.response(alice()))).status).toBe(200);
    const again = s().client();
    expect((await post(again, relay, idp.response(alice()))).status).toBe(401);
    expect(again.cookies.has('__Host-axiom_session')).toBe(false);
  });
});
