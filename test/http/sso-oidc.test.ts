// Single sign-on with OpenID Connect over HTTPS, against a real OpenID provider in the test process:
// authorization code + PKCE, state and nonce checked, the ID token validated by openid-client, and
// just-in-time provisioning only for verified domains with the provider's default grants.
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectionString } from '../../src/db/bootstrap.js';
import { createOrg, uniq, type TestOrg } from '../support/fixtures.js';
import { useTestServer, type HttpClient } from '../support/http.js';
import { useOidcProvider, type IdpCookieJar } from '../support/oidc-idp.js';

const s = useTestServer();
const idp = useOidcProvider(() => `${s().server.publicUrl}/api/v1/auth/oidc/callback`);

interface AuditEvent {
  event_type: string;
  reason: string | null;
  /** jsonb as text (the canonical form that is hashed). */
  details: string | null;
  target_id: string | null;
}

async function admin(org: TestOrg): Promise<HttpClient> {
  const c = s().client();
  expect((await c.login(org.slug, org.admin.email, org.admin.password)).status).toBe(200);
  return c;
}

async function events(c: HttpClient, type: string): Promise<AuditEvent[]> {
  const r = await c.get<AuditEvent[]>(`/api/v1/audit/events?limit=200&event_type=${type}`);
  expect(r.status).toBe(200);
  return r.body;
}

/** The OpenID provider's redirect back, followed by the browser (the Axiom client). */
async function finish(browser: HttpClient, callback: URL) {
  return await browser.get(callback.pathname + callback.search);
}

describe('single sign-on with OpenID Connect', () => {
  let org: TestOrg;
  let adm: HttpClient;
  let providerId: string;
  let domain: string;
  let facility: string;

  beforeAll(async () => {
    org = await createOrg(s().db, { tier: 'growth' });
    adm = await admin(org);
    domain = `corp-${uniq()}.example`;
    expect(
      (await adm.post('/api/v1/domains', { domain, reason: 'DNS TXT record checked' })).status,
    ).toBe(201);
    facility = (
      await adm.post<{ id: string }>('/api/v1/facilities', {
        slug: `f-${uniq()}`,
        name: 'Staging',
        environment: 'staging',
      })
    ).body.id;
    const configured = await adm.post<{ id: string; has_client_secret: boolean }>(
      '/api/v1/sso-providers',
      {
        kind: 'oidc',
        name: 'Test OpenID provider',
        issuer: idp().issuer,
        client_id: idp().clientId,
        client_secret: idp().clientSecret,
        default_grants: [
          { domain: 'audit', level: 'read', facility_id: null },
          { domain: 'security', level: 'operate', facility_id: facility },
        ],
      },
    );
    expect(configured.status).toBe(201);
    expect(configured.body.has_client_secret).toBe(true);
    expect(JSON.stringify(configured.body)).not.toContain(idp().clientSecret);
    providerId = configured.body.id;
    idp().accounts.set('alice', {
      sub: 'alice',
      email: `alice@${domain}`,
      email_verified: true,
      name: 'Alice Anders',
    });
    idp().accounts.set('bob', {
      sub: 'bob',
      email: `bob@elsewhere-${uniq()}.example`,
      email_verified: true,
      name: 'Bob',
    });
    idp().accounts.set('carol', {
      sub: 'carol',
      email: `carol@${domain}`,
      email_verified: false,
      name: 'Carol',
    });
  });

  /** GET the start URL: Axiom redirects to the provider with PKCE, state and nonce. */
  async function start(browser: HttpClient): Promise<URL> {
    const r = await browser.get(`/api/v1/auth/sso/${org.slug}/start`);
    expect(r.status).toBe(302);
    return new URL(String(r.headers.location));
  }

  it('signs a person in with authorization code + PKCE and provisions them with the default grants only', async () => {
    const browser = s().client();
    const auth = await start(browser);
    expect(auth.origin).toBe(idp().issuer);
    expect(auth.searchParams.get('response_type')).toBe('code');
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
    expect(auth.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(auth.searchParams.get('state')).toMatch(new RegExp(`^${providerId}\\.`));
    expect(auth.searchParams.get('nonce')?.length).toBeGreaterThanOrEqual(16);
    expect(auth.searchParams.get('prompt')).toBeNull();

    idp().nextLogin = { sub: 'alice' };
    const back = await idp().authorize(auth.toString());
    expect(back.pathname).toBe('/api/v1/auth/oidc/callback');
    expect(back.searchParams.get('code')).toBeTruthy();
    const landed = await finish(browser, back);
    expect(landed.status).toBe(200);
    expect(landed.text).toContain('Signed in');
    expect(browser.cookies.has('__Host-axiom_session')).toBe(true);

    const who = await browser.get<{
      principal: { id: string; email: string; display_name: string };
      session: { auth_method: string };
      grants: Array<{ domain: string; level: string; facility_id: string | null }>;
    }>('/api/v1/auth/session');
    expect(who.status).toBe(200);
    expect(who.body.principal.email).toBe(`alice@${domain}`);
    expect(who.body.principal.display_name).toBe('Alice Anders');
    expect(
      who.body.grants.map((g) => `${g.domain}:${g.level}:${g.facility_id ?? '*'}`).sort(),
    ).toEqual([`audit:read:*`, `security:operate:${facility}`]);
    const provisioned = await events(adm, 'principal.provisioned');
    expect(provisioned.some((e) => e.target_id === who.body.principal.id)).toBe(true);

    // A second sign-in finds the same person (by the provider's subject), no second account.
    const again = s().client();
    idp().nextLogin = { sub: 'alice' };
    expect(
      (await finish(again, await idp().authorize((await start(again)).toString()))).status,
    ).toBe(200);
    const who2 = await again.get<{ principal: { id: string } }>('/api/v1/auth/session');
    expect(who2.body.principal.id).toBe(who.body.principal.id);
  });

  it('refuses a state it did not issue, and the same answer twice, with an audit event', async () => {
    const browser = s().client();
    idp().nextLogin = { sub: 'alice' };
    const back = await idp().authorize((await start(browser)).toString());
    const forged = new URL(back);
    forged.searchParams.set('state', `${providerId}.forged-state-${uniq()}${uniq()}`);
    const before = (await events(adm, 'sso.login_failed')).length;
    const r = await finish(browser, forged);
    expect(r.status).toBe(401);
    expect(r.text).toContain('Sign-in failed');
    expect(browser.cookies.has('__Host-axiom_session')).toBe(false);
    // The real answer still works once; replayed, it is refused.
    expect((await finish(browser, back)).status).toBe(200);
    const replay = s().client();
    expect((await finish(replay, back)).status).toBe(401);
    expect(replay.cookies.has('__Host-axiom_session')).toBe(false);
    const after = await events(adm, 'sso.login_failed');
    expect(after.length).toBe(before + 2);
    expect(after.slice(0, 2).every((e) => e.reason === 'unknown, used or expired state')).toBe(
      true,
    );
  });

  it('refuses an ID token whose nonce is not the one of the request, with an audit event', async () => {
    const browser = s().client();
    const auth = await start(browser);
    // The provider signs a token for another nonce (as if for another request).
    auth.searchParams.set('nonce', `other-nonce-${uniq()}${uniq()}`);
    idp().nextLogin = { sub: 'alice' };
    const back = await idp().authorize(auth.toString());
    const r = await finish(browser, back);
    expect(r.status).toBe(401);
    expect(browser.cookies.has('__Host-axiom_session')).toBe(false);
    const failed = await events(adm, 'sso.login_failed');
    expect(failed[0]).toMatchObject({ reason: 'nonce_mismatch' });
    expect(JSON.parse(failed[0]!.details!)).toMatchObject({
      provider_id: providerId,
      kind: 'oidc',
    });
  });

  it('refuses a code redeemed without the request’s PKCE verifier (a code from another request)', async () => {
    const browser = s().client();
    const first = await start(browser);
    const second = await start(browser);
    idp().nextLogin = { sub: 'alice' };
    const codeOfFirst = await idp().authorize(first.toString());
    // The code of the first request, presented with the state (verifier, nonce) of the second.
    const mixed = new URL(codeOfFirst);
    mixed.searchParams.set('state', String(second.searchParams.get('state')));
    const r = await finish(browser, mixed);
    expect(r.status).toBe(401);
    expect(browser.cookies.has('__Host-axiom_session')).toBe(false);
    expect((await events(adm, 'sso.login_failed'))[0]).toMatchObject({ reason: 'code_rejected' });
  });

  it('does not provision an address outside the verified domains, nor an unverified address', async () => {
    const people = async () =>
      (await adm.get<{ principals: Array<{ email: string }> }>('/api/v1/principals')).body
        .principals;
    const before = (await people()).length;
    for (const [sub, reason] of [
      ['bob', 'domain_not_verified'],
      ['carol', 'email_unverified'],
    ] as const) {
      const browser = s().client();
      idp().nextLogin = { sub };
      const r = await finish(browser, await idp().authorize((await start(browser)).toString()));
      expect(r.status).toBe(401);
      expect(browser.cookies.has('__Host-axiom_session')).toBe(false);
      expect((await events(adm, 'sso.login_failed'))[0]).toMatchObject({ reason });
    }
    expect((await people()).length).toBe(before);
  });

  it('links an existing account by e-mail only within a verified domain', async () => {
    // An account at a verified domain is linked to the provider's subject: same person, no new one.
    const frank = await adm.post<{ id: string }>('/api/v1/principals', {
      email: `frank@${domain}`,
      display_name: 'Frank',
      password: `a-long-password-${uniq()}${uniq()}`,
    });
    expect(frank.status).toBe(201);
    idp().accounts.set('frank', { sub: 'frank', email: `frank@${domain}`, email_verified: true });
    const b1 = s().client();
    idp().nextLogin = { sub: 'frank' };
    expect((await finish(b1, await idp().authorize((await start(b1)).toString()))).status).toBe(
      200,
    );
    const who = await b1.get<{ principal: { id: string } }>('/api/v1/auth/session');
    expect(who.body.principal.id).toBe(frank.body.id);
    expect(
      (await events(adm, 'principal.provisioned')).some((e) => e.target_id === frank.body.id),
    ).toBe(false);

    // The administrator's own address is not in a verified domain: an identity provider account
    // claiming it does not become the administrator.
    idp().accounts.set('mallory', { sub: 'mallory', email: org.admin.email, email_verified: true });
    const b2 = s().client();
    idp().nextLogin = { sub: 'mallory' };
    const r = await finish(b2, await idp().authorize((await start(b2)).toString()));
    expect(r.status).toBe(401);
    expect(b2.cookies.has('__Host-axiom_session')).toBe(false);
    expect((await events(adm, 'sso.login_failed'))[0]).toMatchObject({
      reason: 'domain_not_verified',
    });
  });

  it('refuses a provider reached over plain HTTP (anywhere but this machine) when it is configured', async () => {
    const before = (await adm.get<{ providers: unknown[] }>('/api/v1/sso-providers')).body.providers
      .length;
    for (const body of [
      { kind: 'oidc', name: 'Plain', issuer: 'http://idp.example.com', client_id: 'c' },
      {
        kind: 'saml',
        name: 'Plain SAML',
        idp_entity_id: 'e',
        idp_sso_url: 'http://idp.example.com/sso',
        idp_certificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
        sp_entity_id: 'sp',
      },
    ]) {
      const r = await adm.post('/api/v1/sso-providers', body);
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/https:\/\/ URL/);
    }
    expect(
      (await adm.get<{ providers: unknown[] }>('/api/v1/sso-providers')).body.providers,
    ).toHaveLength(before);
  });

  it('is not available to a starter organization: configuring and signing in are refused', async () => {
    const starter = await createOrg(s().db, { tier: 'starter' });
    const a = await admin(starter);
    const refused = await a.post('/api/v1/sso-providers', {
      kind: 'oidc',
      name: 'Not on this tier',
      issuer: idp().issuer,
      client_id: idp().clientId,
    });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'forbidden', reason: 'plan_tier' });
    const browser = s().client();
    const r = await browser.get(`/api/v1/auth/sso/${starter.slug}/start`);
    expect(r.status).toBe(403);
    expect(r.headers.location).toBeUndefined();

    // An organization moved down to starter while a sign-in is in flight: the database refuses it.
    const browser2 = s().client();
    const auth = await start(browser2);
    idp().nextLogin = { sub: 'alice' };
    const back = await idp().authorize(auth.toString());
    const c = new pg.Client({ connectionString: connectionString(s().db.target('superuser')) });
    await c.connect();
    try {
      await c.query(`update core.organizations set plan_tier = 'starter' where id = $1`, [org.id]);
      const r2 = await finish(browser2, back);
      expect(r2.status).toBe(403);
      expect(browser2.cookies.has('__Host-axiom_session')).toBe(false);
    } finally {
      await c.query(`update core.organizations set plan_tier = 'growth' where id = $1`, [org.id]);
      await c.end();
    }
    expect((await events(adm, 'sso.login_failed'))[0]).toMatchObject({ reason: 'plan_tier' });
  });

  describe('OpenID re-authentication as an e-signature factor', () => {
    let dave: HttpClient;
    let daveId: string;
    const daveAtIdp: IdpCookieJar = new Map();
    let cr: { id: string; proposed_record_hash: string; proposed_record_id: string };

    beforeAll(async () => {
      idp().accounts.set('dave', {
        sub: 'dave',
        email: `dave@${domain}`,
        email_verified: true,
        name: 'Dave Dunn',
      });
      dave = s().client();
      idp().nextLogin = { sub: 'dave' };
      expect(
        (await finish(dave, await idp().authorize((await start(dave)).toString(), daveAtIdp)))
          .status,
      ).toBe(200);
      daveId = (await dave.get<{ principal: { id: string } }>('/api/v1/auth/session')).body
        .principal.id;
      expect(
        (
          await adm.post('/api/v1/grants', {
            principal_id: daveId,
            domain: 'configuration',
            level: 'review',
            facility_id: null,
            reason: 'signs configuration changes',
          })
        ).status,
      ).toBe(201);
      // A change to the signing policy is high risk: it needs webauthn or oidc_reauth.
      const proposed = await adm.post<typeof cr>('/api/v1/records/signing_policy', {
        facility_id: null,
        item_key: `signing-${uniq()}`,
        content: {
          rules: [{ domain: '*', action: '*', risk_tier: '*', any_of: [['password']] }],
        },
        title: 'Signing policy',
        reason: 'first signing policy',
      });
      expect(proposed.status).toBe(201);
      cr = proposed.body;
      expect((await adm.post(`/api/v1/change-requests/${cr.id}/submit`)).status).toBe(200);
    });

    async function challenge(): Promise<{ id: string; required_factors: string[][] }> {
      const r = await dave.post<{ id: string; required_factors: string[][]; record_hash: string }>(
        '/api/v1/signatures/challenges',
        { target: { type: 'change_request', id: cr.id }, meaning: 'approved' },
      );
      expect(r.status).toBe(201);
      expect(r.body.record_hash).toBe(cr.proposed_record_hash);
      return r.body;
    }

    /** Ask for the re-authentication URL: prompt=login and max_age=0. */
    async function reauthUrl(challengeId: string): Promise<URL> {
      const r = await dave.post<{ redirect_url: string }>(
        `/api/v1/signatures/challenges/${challengeId}/oidc`,
        {},
      );
      expect(r.status).toBe(200);
      const url = new URL(r.body.redirect_url);
      expect(url.searchParams.get('prompt')).toBe('login');
      expect(url.searchParams.get('max_age')).toBe('0');
      return url;
    }

    /** The provider's redirect back arrives without Axiom's (SameSite=Strict) cookie. */
    async function land(back: URL) {
      return await finish(s().client(), back);
    }

    async function satisfied(challengeId: string): Promise<string[]> {
      const r = await dave.get<{ satisfied_factors: string[] }>(
        `/api/v1/signatures/challenges/${challengeId}`,
      );
      return r.body.satisfied_factors;
    }

    async function lastFailure(): Promise<AuditEvent & { target_record_id: string }> {
      return (await events(adm, 'esignature.failed'))[0] as AuditEvent & {
        target_record_id: string;
      };
    }

    it('refuses a stale auth_time: the provider’s old sign-in, whether openid-client or the database notices', async () => {
      const ch = await challenge();
      expect(ch.required_factors).toEqual([['webauthn'], ['oidc_reauth']]);
      // Far too old: openid-client's max_age=0 check refuses it.
      idp().nextLogin = { sub: 'dave', authTime: Math.floor(Date.now() / 1000) - 600 };
      const old = await land(await idp().authorize((await reauthUrl(ch.id)).toString()));
      expect(old.status).toBe(401);
      expect(await lastFailure()).toMatchObject({
        reason: 'stale_auth_time',
        target_id: ch.id,
        target_record_id: cr.proposed_record_id,
      });
      // Within openid-client's clock tolerance but older than the challenge: the database refuses.
      idp().nextLogin = { sub: 'dave', authTime: Math.floor(Date.now() / 1000) - 20 };
      const older = await land(await idp().authorize((await reauthUrl(ch.id)).toString()));
      expect(older.status).toBe(401);
      expect(await lastFailure()).toMatchObject({ reason: 'stale auth_time', target_id: ch.id });
      expect(await satisfied(ch.id)).toEqual([]);
    });

    it('refuses a re-authentication by another person at the provider', async () => {
      const ch = await challenge();
      idp().nextLogin = { sub: 'alice' };
      const r = await land(await idp().authorize((await reauthUrl(ch.id)).toString()));
      expect(r.status).toBe(401);
      expect(await lastFailure()).toMatchObject({
        reason: 'the provider identity is not the signer',
        target_id: ch.id,
      });
      expect(await satisfied(ch.id)).toEqual([]);
    });

    it('refuses a nonce or a state that is not the request’s', async () => {
      const ch = await challenge();
      const url = await reauthUrl(ch.id);
      url.searchParams.set('nonce', `other-${uniq()}${uniq()}`);
      idp().nextLogin = { sub: 'dave' };
      const r = await land(await idp().authorize(url.toString()));
      expect(r.status).toBe(401);
      expect(await lastFailure()).toMatchObject({ reason: 'nonce_mismatch', target_id: ch.id });

      const back = await idp().authorize((await reauthUrl(ch.id)).toString());
      back.searchParams.set('state', `${providerId}.forged-${uniq()}${uniq()}`);
      expect((await land(back)).status).toBe(401);
      expect((await events(adm, 'sso.login_failed'))[0]).toMatchObject({
        reason: 'unknown, used or expired state',
      });
      expect(await satisfied(ch.id)).toEqual([]);
      // Unanswered, the challenge does not sign.
      const approve = await dave.post(`/api/v1/change-requests/${cr.id}/approve`, {
        record_hash: cr.proposed_record_hash,
        challenge_id: ch.id,
      });
      expect(approve.status).toBe(401);
      expect(approve.body).toMatchObject({ reason: 'factors_missing' });
    });

    it('makes the provider ask again (prompt=login) and signs the approval with the fresh sign-in', async () => {
      const ch = await challenge();
      const logins = idp().logins;
      idp().nextLogin = { sub: 'dave' };
      // Dave still has a session at the provider: prompt=login makes it show the sign-in page anyway.
      const r = await land(await idp().authorize((await reauthUrl(ch.id)).toString(), daveAtIdp));
      expect(r.status).toBe(200);
      expect(r.text).toContain('Identity confirmed');
      expect(idp().logins).toBe(logins + 1);
      expect(await satisfied(ch.id)).toEqual(['oidc_reauth']);
      const approve = await dave.post<{ state: string }>(
        `/api/v1/change-requests/${cr.id}/approve`,
        { record_hash: cr.proposed_record_hash, challenge_id: ch.id },
      );
      expect(approve.status).toBe(200);
      expect(approve.body.state).toBe('approved');
      const sigs = await dave.get<{ signatures: Array<Record<string, unknown>> }>(
        `/api/v1/signatures?record_id=${cr.proposed_record_id}`,
      );
      expect(sigs.body.signatures).toEqual([
        expect.objectContaining({
          signer_id: daveId,
          signer_name: 'Dave Dunn',
          meaning: 'approved',
          factors: ['oidc_reauth'],
          record_hash: cr.proposed_record_hash,
        }),
      ]);
      // A used challenge is not answered again.
      const used = await dave.post(`/api/v1/signatures/challenges/${ch.id}/oidc`, {});
      expect(used.status).toBe(409);
      expect(used.body).toMatchObject({ reason: 'challenge_used' });
    });
  });
});
