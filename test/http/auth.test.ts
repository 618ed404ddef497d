// Sign-in, sessions, CSRF, API tokens and bad input through the real HTTPS server.
import { describe, expect, it } from 'vitest';
import { createFacility, createOrg, createUser, type TestOrg } from '../support/fixtures.js';
import { useTestServer, type HttpResponse } from '../support/http.js';

const s = useTestServer();

function cookieLine(res: HttpResponse, name: string): string {
  const set = res.headers['set-cookie'];
  const lines = Array.isArray(set) ? set : set ? [set] : [];
  const line = lines.find((l) => l.startsWith(`${name}=`));
  if (!line) throw new Error(`no ${name} cookie in ${JSON.stringify(lines)}`);
  return line;
}

async function auditTypes(org: TestOrg, since?: string): Promise<string[]> {
  const r = await s().db.api.call<Array<{ event_type: string; occurred_at: string }>>(
    'audit_event_list',
    org.admin.caller,
    { limit: 200 },
  );
  return r.filter((e) => !since || e.occurred_at >= since).map((e) => e.event_type);
}

describe('password sign-in over HTTPS', () => {
  it('sets an HttpOnly, Secure, SameSite=Strict session cookie and never returns the token to a browser', async () => {
    const org = await createOrg(s().db);
    const c = s().client();
    const res = await c.login(org.slug, org.admin.email, org.admin.password);
    expect(res.status).toBe(200);
    const line = cookieLine(res, '__Host-axiom_session');
    expect(line).toMatch(/HttpOnly/i);
    expect(line).toMatch(/Secure/i);
    expect(line).toMatch(/SameSite=Strict/i);
    expect(line).toMatch(/Path=\//);
    expect(res.body).not.toHaveProperty('token');
    expect(JSON.stringify(res.body)).not.toContain(c.cookies.get('__Host-axiom_session')!.value);
    expect(typeof res.body.csrf_token).toBe('string');
    const who = await c.get<{ principal: { email: string }; csrf_token: string }>(
      '/api/v1/auth/session',
    );
    expect(who.status).toBe(200);
    expect(who.body.principal.email).toBe(org.admin.email);
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a wrong password without saying whether the account exists, then locks with an audit event and an alert', async () => {
    const t = s().db;
    const org = await createOrg(t);
    const user = await createUser(t, org);
    const c = s().client();
    const wrong = await c.login(org.slug, user.email, 'not-the-password');
    const nobody = await c.login(org.slug, `nobody@${org.slug}.example`, 'not-the-password');
    expect(wrong.status).toBe(401);
    expect(nobody.status).toBe(401);
    expect(wrong.body.message).toBe(nobody.body.message);
    for (let i = 0; i < 4; i++) await c.login(org.slug, user.email, 'not-the-password');
    const locked = await c.login(org.slug, user.email, user.password);
    expect(locked.status).toBe(423);
    expect(locked.body).toMatchObject({ code: 'locked', reason: 'account_locked' });
    expect(c.cookies.has('__Host-axiom_session')).toBe(false);
    const types = await auditTypes(org);
    expect(types).toContain('auth.account_locked');
    expect(types.filter((x) => x === 'auth.login_failed').length).toBeGreaterThanOrEqual(6);
    const admin = s().client();
    await admin.login(org.slug, org.admin.email, org.admin.password);
    const alerts = await admin.get<{ alerts: Array<{ kind: string; subject_id: string }> }>(
      '/api/v1/alerts',
    );
    expect(
      alerts.body.alerts.some((a) => a.kind === 'auth.account_locked' && a.subject_id === user.id),
    ).toBe(true);
  });

  it('makes a person choose their own password at the first sign-in when an administrator set it', async () => {
    const org = await createOrg(s().db);
    const admin = s().client();
    await admin.login(org.slug, org.admin.email, org.admin.password);
    const email = `newcomer@${org.slug}.example`;
    const created = await admin.post('/api/v1/principals', {
      email,
      display_name: 'Newcomer',
      password: 'initial-password-from-the-admin',
    });
    expect(created.status).toBe(201);
    const c = s().client();
    const first = await c.login(org.slug, email, 'initial-password-from-the-admin');
    expect(first.status).toBe(401);
    expect(first.body).toMatchObject({ reason: 'password_change_required' });
    expect(c.cookies.has('__Host-axiom_session')).toBe(false);
    const chosen = await c.post('/api/v1/auth/login', {
      organization: org.slug,
      email,
      password: 'initial-password-from-the-admin',
      new_password: 'a-password-of-my-own',
    });
    expect(chosen.status).toBe(200);
    expect(c.cookies.has('__Host-axiom_session')).toBe(true);
    expect((await s().client().login(org.slug, email, 'a-password-of-my-own')).status).toBe(200);
  });

  it('refuses a state-changing request with the cookie but without the CSRF token, and changes nothing', async () => {
    const org = await createOrg(s().db);
    const c = s().client();
    await c.login(org.slug, org.admin.email, org.admin.password);
    const before = await c.get<{ sessions: unknown[] }>('/api/v1/sessions');
    const noToken = await c.request('POST', '/api/v1/tokens', {
      json: { name: 'ci', expires_in_days: 30 },
      csrf: false,
    });
    expect(noToken.status).toBe(403);
    expect(noToken.body).toMatchObject({ code: 'forbidden', reason: 'csrf' });
    const forged = await c.request('POST', '/api/v1/tokens', {
      json: { name: 'ci', expires_in_days: 30 },
      headers: { 'x-csrf-token': 'forged-token-value' },
      csrf: false,
    });
    expect(forged.status).toBe(403);
    const after = await c.get<{ sessions: unknown[] }>('/api/v1/sessions');
    expect(after.body.sessions.length).toBe(before.body.sessions.length);
    const ok = await c.post('/api/v1/tokens', { name: 'ci', expires_in_days: 30 });
    expect(ok.status).toBe(201);
  });

  it('signs out (the old cookie no longer works), signs out everywhere, and lets an administrator revoke a session', async () => {
    const t = s().db;
    const org = await createOrg(t);
    const user = await createUser(t, org);
    const a = s().client();
    const b = s().client();
    await a.login(org.slug, user.email, user.password);
    await b.login(org.slug, user.email, user.password);
    const stolen = a.cookies.get('__Host-axiom_session')!.value;
    const out = await a.post('/api/v1/auth/logout');
    expect(out.status).toBe(200);
    expect(a.cookies.has('__Host-axiom_session')).toBe(false);
    const replay = s().client();
    replay.cookies.set('__Host-axiom_session', {
      name: '__Host-axiom_session',
      value: stolen,
      attributes: '',
    });
    expect((await replay.get('/api/v1/auth/session')).status).toBe(401);

    const everywhere = s().client();
    await everywhere.login(org.slug, user.email, user.password);
    expect((await everywhere.post('/api/v1/auth/logout-everywhere')).status).toBe(200);
    expect((await b.get('/api/v1/auth/session')).status).toBe(401);

    const victim = s().client();
    await victim.login(org.slug, user.email, user.password);
    const sid = (await victim.get<{ session: { id: string } }>('/api/v1/auth/session')).body.session
      .id;
    const admin = s().client();
    await admin.login(org.slug, org.admin.email, org.admin.password);
    const revoked = await admin.post(`/api/v1/sessions/${sid}/revoke`, { reason: 'laptop lost' });
    expect(revoked.status).toBe(200);
    expect((await victim.get('/api/v1/auth/session')).status).toBe(401);
    // A person who is not an administrator cannot revoke someone else's session.
    const other = await createUser(t, org);
    const otherClient = s().client();
    await otherClient.login(org.slug, other.email, other.password);
    const adminSid = (await admin.get<{ session: { id: string } }>('/api/v1/auth/session')).body
      .session.id;
    const refused = await otherClient.post(`/api/v1/sessions/${adminSid}/revoke`, {
      reason: 'nope',
    });
    expect(refused.status).toBe(403);
    expect((await admin.get('/api/v1/auth/session')).status).toBe(200);
  });
});

describe('personal API tokens', () => {
  it('shows a token once, works as a bearer token without CSRF, never beyond its scope, and not after revocation', async () => {
    const t = s().db;
    const org = await createOrg(t);
    const facility = await createFacility(t, org);
    const user = await createUser(t, org, [
      { domain: 'configuration', level: 'author', facility: null },
      { domain: 'audit', level: 'read', facility: null },
    ]);
    const web = s().client();
    await web.login(org.slug, user.email, user.password);
    const beyond = await web.post('/api/v1/tokens', {
      name: 'too much',
      expires_in_days: 7,
      scope: [{ domain: 'configuration', level: 'review' }],
    });
    expect(beyond.status).toBe(403);
    expect(beyond.body).toMatchObject({ reason: 'scope_exceeds_grants' });
    const created = await web.post<{ token: string; session_id: string }>('/api/v1/tokens', {
      name: 'audit export',
      expires_in_days: 7,
      scope: [{ domain: 'audit', level: 'read' }],
    });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^axt_/);
    const listed = await web.get<{ sessions: Array<Record<string, unknown>> }>('/api/v1/sessions');
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token);
    expect(
      listed.body.sessions.some((x) => x.id === created.body.session_id && x.kind === 'api_token'),
    ).toBe(true);

    const cli = s().client();
    cli.bearer = created.body.token;
    expect((await cli.get('/api/v1/audit/events?limit=5')).status).toBe(200);
    // Within the person's grants but outside the token's scope.
    const outside = await cli.post('/api/v1/records/check_configuration', {
      facility_id: facility,
      content: { enabled: true },
      title: 'scope test',
      reason: 'beyond the token scope',
    });
    expect(outside.status).toBe(403);
    // A token cannot mint tokens.
    const mint = await cli.post('/api/v1/tokens', { name: 'child', expires_in_days: 1 });
    expect(mint.status).toBe(403);
    expect(mint.body).toMatchObject({ reason: 'token_from_token' });

    const revoke = await web.post(`/api/v1/sessions/${created.body.session_id}/revoke`, {
      reason: 'rotated',
    });
    expect(revoke.status).toBe(200);
    const after = await cli.get('/api/v1/audit/events?limit=5');
    expect(after.status).toBe(401);
    const denials = await t.api.call<Array<{ outcome: string; operation: string }>>(
      'session_event_list',
      org.admin.caller,
      { outcome: 'denied', principal_id: user.id, limit: 50 },
    );
    expect(denials.some((e) => e.operation === 'api_token.create')).toBe(true);
  });

  it('signs the CLI in without a cookie: the token comes back in the body', async () => {
    const org = await createOrg(s().db);
    const c = s().client();
    const res = await c.post<{ token: string }>('/api/v1/auth/login', {
      organization: org.slug,
      email: org.admin.email,
      password: org.admin.password,
      client: 'cli',
    });
    expect(res.status).toBe(200);
    expect(res.body.token).toMatch(/^axs_/);
    expect(res.headers['set-cookie']).toBeUndefined();
    const cli = s().client();
    cli.bearer = res.body.token;
    expect((await cli.post('/api/v1/tokens', { name: 'cli', expires_in_days: 30 })).status).toBe(
      201,
    );
  });
});

describe('bad input', () => {
  it('answers malformed, oversized, mistyped and hostile requests with a clear error', async () => {
    const org = await createOrg(s().db);
    const c = s().client();
    await c.login(org.slug, org.admin.email, org.admin.password);
    const malformed = await c.request('POST', '/api/v1/auth/login', {
      body: '{"organization": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'invalid_input', reason: 'malformed_json' });
    const schema = await c.post('/api/v1/auth/login', {
      organization: 'Not A Slug!',
      email: 'x@y',
      password: 'p',
    });
    expect(schema.status).toBe(400);
    expect(schema.body).toMatchObject({ code: 'invalid_input', reason: 'schema' });
    expect(String(schema.body.message)).toContain('organization');
    const big = await c.post('/api/v1/tokens', {
      name: 'x'.repeat(2 * 1024 * 1024),
      expires_in_days: 1,
    });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ code: 'payload_too_large' });
    const form = await c.request('POST', '/api/v1/tokens', {
      body: 'name=x&expires_in_days=1',
      headers: { 'content-type': 'text/plain' },
    });
    expect([400, 415]).toContain(form.status);
    expect(form.body).toMatchObject({ code: 'invalid_input' });
    const badAuth = s().client();
    const weird = await badAuth.request('GET', '/api/v1/auth/session', {
      headers: { authorization: 'Basic Zm9vOmJhcg==' },
    });
    expect(weird.status).toBe(401);
    expect(weird.body).toMatchObject({ reason: 'malformed_authorization' });
    const unknown = await c.get('/api/v1/no/such/route');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'not_found', reason: 'route_not_found' });
    const badId = await c.post('/api/v1/sessions/not-a-uuid/revoke', { reason: 'x' });
    expect(badId.status).toBe(400);
    // Every error carries the request id, for support.
    expect(badId.body.requestId).toBe(badId.headers['x-request-id']);
  });

  it('refuses AWS access keys anywhere in a request and does not log them', async () => {
    const org = await createOrg(s().db);
    const c = s().client();
    await c.login(org.slug, org.admin.email, org.admin.password);
    const key = 'AKIAIOSFODNN7EXAMPLE';
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const res = await c.post('/api/v1/tokens', {
      name: 'x',
      expires_in_days: 1,
      nested: { aws_access_key_id: key, aws_secret_access_key: secret },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'invalid_input', reason: 'credentials_refused' });
    expect(JSON.stringify(res.body)).not.toContain(key);
    const logs = s().logs.join('');
    expect(logs).not.toContain(key);
    expect(logs).not.toContain(secret);
  });

  it('never writes passwords, session tokens or API tokens to its logs', async () => {
    const t = s().db;
    const org = await createOrg(t);
    const c = s().client();
    await c.login(org.slug, org.admin.email, 'a-wrong-password-for-the-log-check');
    await c.login(org.slug, org.admin.email, org.admin.password);
    const token = (
      await c.post<{ token: string }>('/api/v1/tokens', { name: 'log check', expires_in_days: 1 })
    ).body.token;
    const session = c.cookies.get('__Host-axiom_session')!.value;
    const logs = s().logs.join('');
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [
      org.admin.password,
      'a-wrong-password-for-the-log-check',
      token,
      session,
      t.workerSecret,
    ]) {
      expect(logs).not.toContain(secret);
    }
  });

  it('publishes the OpenAPI description of every route', async () => {
    const c = s().client();
    const doc = await c.get<{ paths: Record<string, unknown> }>('/api/docs/json');
    expect(doc.status).toBe(200);
    for (const p of [
      '/api/v1/auth/login',
      '/api/v1/tokens',
      '/api/v1/signatures/challenges',
      '/api/v1/signatures/challenges/{id}/webauthn',
      '/api/v1/webauthn/registration/verify',
      '/api/v1/change-requests/{id}/approve',
      '/api/v1/auth/oidc/callback',
      '/api/v1/auth/saml/{id}/acs',
    ]) {
      expect(Object.keys(doc.body.paths)).toContain(p);
    }
  });
});
