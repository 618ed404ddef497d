import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/db.js';
import {
  agentSession,
  createFacility,
  createOrg,
  createUser,
  login,
  refused,
} from '../support/fixtures.js';

const db = useTestDatabase();

describe('sign-in and sessions', () => {
  it('signs in with the password checked inside the database and resolves the session', async () => {
    const t = db();
    const org = await createOrg(t);
    const me = await t.api.call<{
      principal: { id: string };
      organization: { id: string };
      grants: unknown[];
    }>('session_whoami', org.admin.caller);
    expect(me.principal.id).toBe(org.admin.id);
    expect(me.organization.id).toBe(org.id);
    expect(me.grants).toHaveLength(2);
  });

  it('refuses a wrong password without saying whether the account exists, and records the attempt', async () => {
    const t = db();
    const org = await createOrg(t);
    const a = await refused(
      login(t, org.slug, org.admin.email, 'wrong-password-123'),
      'unauthenticated',
      'invalid_credentials',
    );
    const b = await refused(
      login(t, org.slug, 'nobody@x.example', 'wrong-password-123'),
      'unauthenticated',
      'invalid_credentials',
    );
    expect(a.message).toBe(b.message);
    const events = await t.api.call<Array<{ event_type: string; reason: string }>>(
      'audit_event_list',
      org.admin.caller,
      {
        event_type: 'auth.login_failed',
      },
    );
    expect(events.map((e) => e.reason).sort()).toEqual([
      'unknown or non-interactive account',
      'wrong password',
    ]);
  });

  it('locks the account after five failures, even for the right password', async () => {
    const t = db();
    const org = await createOrg(t);
    const u = await createUser(t, org);
    for (let i = 0; i < 5; i++)
      await refused(login(t, org.slug, u.email, 'not-the-password!'), 'unauthenticated');
    await refused(login(t, org.slug, u.email, u.password), 'locked', 'account_locked');
  });

  it('ends a session on sign-out', async () => {
    const t = db();
    const org = await createOrg(t);
    const u = await createUser(t, org);
    await t.api.call('session_logout', u.caller);
    await refused(t.api.call('session_whoami', u.caller), 'unauthenticated', 'no_session');
  });

  it('lets an administrator revoke anyone’s session, and nobody else', async () => {
    const t = db();
    const org = await createOrg(t);
    const u = await createUser(t, org);
    const v = await createUser(t, org);
    const uSession = (await t.api.call<{ session: { id: string } }>('session_whoami', u.caller))
      .session.id;
    await refused(
      t.api.call('session_revoke', v.caller, uSession, 'not mine to end'),
      'forbidden',
      'missing_grant',
    );
    await t.api.call('session_revoke', org.admin.caller, uSession, 'offboarding');
    await refused(t.api.call('session_whoami', u.caller), 'unauthenticated');
  });

  it('issues API tokens scoped within the creator’s grants, shown once and stored hashed', async () => {
    const t = db();
    const org = await createOrg(t);
    const f = await createFacility(t, org);
    const u = await createUser(t, org, [{ domain: 'security', level: 'author', facility: f }]);
    await refused(
      t.api.call('api_token_create', u.caller, 'too much', 30, [
        { domain: 'security', level: 'review', facility_id: f },
      ]),
      'forbidden',
      'scope_exceeds_grants',
    );
    const tok = await t.api.call<{ token: string; session_id: string }>(
      'api_token_create',
      u.caller,
      'ci',
      30,
      [{ domain: 'security', level: 'read', facility_id: f }],
    );
    expect(tok.token).toMatch(/^axt_/);
    const stored = await t.superuser.query('select token_hash from core.sessions where id = $1', [
      tok.session_id,
    ]);
    expect(Buffer.from(stored.rows[0].token_hash).toString('hex')).not.toContain(
      Buffer.from(tok.token).toString('hex'),
    );
    // A token cannot mint tokens, and cannot act beyond its scope.
    await refused(
      t.api.call('api_token_create', { token: tok.token }, 'again', 1, null),
      'forbidden',
      'token_from_token',
    );
    const list = await t.api.call<Array<{ name: string | null }>>('session_list', {
      token: tok.token,
    });
    expect(list.some((s) => s.name === 'ci')).toBe(true);
  });

  it('opens agent sessions only with the worker secret', async () => {
    const t = db();
    const org = await createOrg(t);
    await refused(
      t.api.raw('agent_session_open', ['axw_wrong-secret-xxxxxxxxxxxxxxxxxxxxxxxxx', org.id]),
      'unauthenticated',
    );
    const agent = await agentSession(t, org);
    const me = await t.api.call<{ principal: { is_agent: boolean } }>('session_whoami', agent);
    expect(me.principal.is_agent).toBe(true);
  });
});
