// Identity in the database: password policy, lockout alerts, sign-out everywhere, token scope, SSO's
// database rules, and the e-signature rules of 21 CFR Part 11 (§11.50, §11.70, §11.100, §11.200).
import { createHash } from 'node:crypto';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectionString } from '../../src/db/bootstrap.js';
import { useTestDatabase, type TestDatabase } from '../support/db.js';
import {
  agentSession,
  createFacility,
  createOrg,
  createUser,
  login,
  refused,
  signFor,
  type SignatureChallenge,
  type TestOrg,
  type TestUser,
} from '../support/fixtures.js';

const db = useTestDatabase();

async function events(
  t: TestDatabase,
  org: TestOrg,
  type: string,
): Promise<Array<{ reason: string; details: string }>> {
  return await t.api.call('audit_event_list', org.admin.caller, { event_type: type, limit: 500 });
}

async function asSuperuserWithoutTriggers(
  t: TestDatabase,
  sql: string,
  params: unknown[],
): Promise<void> {
  const c = new pg.Client({ connectionString: connectionString(t.target('superuser')) });
  await c.connect();
  await c.query('begin');
  await c.query('set local session_replication_role = replica');
  await c.query(sql, params);
  await c.query('commit');
  await c.end();
}

describe('passwords', () => {
  it('refuses short, common, e-mail-like and reused passwords, checked in the database', async () => {
    const t = db();
    const org = await createOrg(t);
    const u = await createUser(t, org, [], 'pat');
    await refused(
      t.api.call('password_change', u.caller, u.password, 'short'),
      'invalid_input',
      'weak_password',
    );
    await refused(
      t.api.call('password_change', u.caller, u.password, '1qaz2wsx3edc'),
      'invalid_input',
      'common_password',
    );
    await refused(
      t.api.call('password_change', u.caller, u.password, 'Password2024!!'),
      'invalid_input',
      'common_password',
    );
    await refused(
      t.api.call('password_change', u.caller, u.password, 'pat-is-my-name-2026'),
      'invalid_input',
      'weak_password',
    );
    await refused(
      t.api.call('password_change', u.caller, 'not-my-password', 'a-fine-new-password-1'),
      'unauthenticated',
      'invalid_credentials',
    );
    await t.api.call('password_change', u.caller, u.password, 'a-fine-new-password-1');
    await t.api.call('password_change', u.caller, 'a-fine-new-password-1', 'a-fine-new-password-2');
    // Back to an earlier one: refused (no reuse of the last N).
    await refused(
      t.api.call('password_change', u.caller, 'a-fine-new-password-2', u.password),
      'invalid_input',
      'password_reused',
    );
    await refused(
      t.api.call('password_change', u.caller, 'a-fine-new-password-2', 'a-fine-new-password-1'),
      'invalid_input',
      'password_reused',
    );
    // Three: the first sign-in replaced the administrator's initial password (fixtures), then two.
    expect((await events(t, org, 'password.changed')).length).toBe(3);
    // The application never sees a hash: no api answer carries one.
    const me = await t.api.call('session_whoami', u.caller);
    expect(JSON.stringify(me)).not.toMatch(/\$2[aby]\$/);
  });

  it('expires passwords when the organization asks, and lets the person choose a new one at sign-in', async () => {
    const t = db();
    const org = await createOrg(t);
    const u = await createUser(t, org);
    await t.api.call('organization_settings_update', org.admin.caller, {
      password_max_age_days: 30,
    });
    await asSuperuserWithoutTriggers(
      t,
      `update core.password_credentials set set_at = now() - interval '31 days' where principal_id = $1`,
      [u.id],
    );
    await refused(login(t, org.slug, u.email, u.password), 'unauthenticated', 'password_expired');
    await refused(
      t.api.raw('session_login_password_change', [org.slug, u.email, u.password, u.password, '{}']),
      'invalid_input',
      'password_reused',
    );
    const s = await t.api.raw<{ token: string }>('session_login_password_change', [
      org.slug,
      u.email,
      u.password,
      'renewed-password-2026',
      '{}',
    ]);
    expect(s.token).toMatch(/^axs_/);
  });

  it('makes a person replace a password an administrator set before it signs in (§11.200(a)(3))', async () => {
    const t = db();
    const org = await createOrg(t);
    const email = `newcomer@${org.slug}.example`;
    const p = await t.api.call<{ id: string }>(
      'principal_create',
      org.admin.caller,
      email,
      'Newcomer',
      'initial-password-from-the-admin',
    );
    await refused(
      login(t, org.slug, email, 'initial-password-from-the-admin'),
      'unauthenticated',
      'password_change_required',
    );
    const failed = await events(t, org, 'auth.login_failed');
    expect(failed[0]).toMatchObject({ reason: 'initial password not changed yet' });
    // The owner chooses their own password (with the initial one); from then on it signs in.
    await t.api.raw('session_login_password_change', [
      org.slug,
      email,
      'initial-password-from-the-admin',
      'my-own-chosen-password',
      '{}',
    ]);
    const token = await login(t, org.slug, email, 'my-own-chosen-password');
    // Changing it in one's own session keeps it one's own.
    await t.api.call(
      'password_change',
      { token },
      'my-own-chosen-password',
      'another-own-password',
    );
    await login(t, org.slug, email, 'another-own-password');
    // The superuser sees the flag where the database keeps it.
    const row = await t.superuser.query<{ must_change: boolean }>(
      'select must_change from core.password_credentials where principal_id = $1',
      [p.id],
    );
    expect(row.rows[0]!.must_change).toBe(false);
  });

  it('locks after the threshold with an audit event and an alert for security and management', async () => {
    const t = db();
    const org = await createOrg(t);
    const u = await createUser(t, org);
    await t.api.call('organization_settings_update', org.admin.caller, { lockout_threshold: 3 });
    for (let i = 0; i < 3; i++)
      await refused(login(t, org.slug, u.email, 'wrong-password-xyz'), 'unauthenticated');
    await refused(login(t, org.slug, u.email, u.password), 'locked', 'account_locked');
    expect((await events(t, org, 'auth.account_locked')).length).toBe(1);
    const alerts = await t.api.call<Array<{ kind: string; subject_id: string }>>(
      'alert_list',
      org.admin.caller,
      10,
    );
    expect(alerts).toEqual([
      expect.objectContaining({ kind: 'auth.account_locked', subject_id: u.id }),
    ]);
    // Alerts are for audit readers only.
    await refused(t.api.call('alert_list', u.caller, 10), 'forbidden', 'missing_grant');
  });
});

describe('sessions and tokens', () => {
  it('signs out everywhere: every web session ends, API tokens stay', async () => {
    const t = db();
    const org = await createOrg(t);
    const u = await createUser(t, org);
    const second = { token: await login(t, org.slug, u.email, u.password) };
    const tok = await t.api.call<{ token: string }>('api_token_create', u.caller, 'cli', 7, null);
    const r = await t.api.call<{ revoked: number }>('session_revoke_all', second);
    expect(r.revoked).toBe(2);
    await refused(t.api.call('session_whoami', u.caller), 'unauthenticated');
    await refused(t.api.call('session_whoami', second), 'unauthenticated');
    await t.api.call('session_whoami', { token: tok.token });
  });

  it('refuses a token beyond its scope and after its revocation', async () => {
    const t = db();
    const org = await createOrg(t);
    const f = await createFacility(t, org);
    const u = await createUser(t, org, [
      { domain: 'configuration', level: 'author', facility: f },
      { domain: 'security', level: 'review', facility: f },
    ]);
    const tok = await t.api.call<{ token: string; session_id: string }>(
      'api_token_create',
      u.caller,
      'read-only',
      7,
      [{ domain: 'configuration', level: 'read', facility_id: f }],
    );
    const caller = { token: tok.token };
    await t.api.call('record_list', caller, 'policy', f);
    await refused(
      t.api.call(
        'record_propose',
        caller,
        'policy',
        f,
        null,
        'k1',
        { type: 'xx' },
        'title',
        'beyond scope',
      ),
      'forbidden',
      'missing_grant',
    );
    // The same person, in their session, can.
    await t.api.call(
      'record_propose',
      u.caller,
      'policy',
      f,
      null,
      'k1',
      { type: 'xx' },
      'title',
      'within grants',
    );
    await t.api.call('session_revoke', u.caller, tok.session_id, 'rotated');
    await refused(t.api.call('record_list', caller, 'policy', f), 'unauthenticated');
    // Tokens never sign.
    const tok2 = await t.api.call<{ token: string }>(
      'api_token_create',
      u.caller,
      'signer',
      7,
      null,
    );
    const cr = await t.api.call<{ proposed_record_id: string }>(
      'record_propose',
      u.caller,
      'policy',
      f,
      null,
      'k2',
      { type: 'xx' },
      'title',
      'second proposal',
    );
    await refused(
      t.api.call(
        'signature_challenge_create',
        { token: tok2.token },
        { type: 'record', id: cr.proposed_record_id, kind: 'policy' },
        'authored',
      ),
      'forbidden',
      'token_cannot_sign',
    );
  });
  it('reads grant history and operational memory only within a token’s scope (101)', async () => {
    const t = db();
    const org = await createOrg(t);
    const u = await createUser(t, org, [
      { domain: 'audit', level: 'read', facility: null },
      { domain: 'security', level: 'read', facility: null },
    ]);
    const grantId = (
      await t.superuser.query<{ id: string }>(
        `select id from core.grants where principal_id = $1 and domain = 'security'`,
        [u.id],
      )
    ).rows[0]!.id;
    const token = async (domain: string): Promise<{ token: string }> => ({
      token: (
        await t.api.call<{ token: string }>('api_token_create', u.caller, domain, 7, [
          { domain, level: 'read', facility_id: null },
        ])
      ).token,
    });
    const security = await token('security');
    const audit = await token('audit');
    // The person, in a session: both.
    await t.api.call('grant_history', u.caller, grantId);
    await t.api.call('memory_get', u.caller, null);
    // Scoped to security:read: memory, not the grant history that audit:read opens.
    await refused(t.api.call('grant_history', security, grantId), 'forbidden', 'missing_grant');
    await t.api.call('memory_get', security, null);
    // Scoped to audit:read: the grant history, not memory that security:read opens.
    await t.api.call('grant_history', audit, grantId);
    await refused(t.api.call('memory_get', audit, null), 'forbidden', 'missing_grant');
  });
});

describe('single sign-on in the database', () => {
  it('refuses to configure SSO for a starter organization, in the function and in the table', async () => {
    const t = db();
    const starter = await createOrg(t, { tier: 'starter' });
    await refused(
      t.api.call('sso_provider_configure', starter.admin.caller, {
        kind: 'oidc',
        name: 'IdP',
        issuer: 'https://idp.test',
        client_id: 'c',
      }),
      'forbidden',
      'plan_tier',
    );
    const c = new pg.Client({ connectionString: connectionString(t.target('superuser')) });
    await c.connect();
    try {
      await c.query('begin');
      await c.query('set local role axiom_definer');
      await c.query(`select set_config('axiom.session_token', $1, true)`, [starter.admin.token]);
      const err = await c
        .query(
          `insert into core.sso_providers (organization_id, kind, name, issuer, client_id, created_by) values ($1, 'oidc', 'x', 'https://x', 'c', $2)`,
          [starter.id, starter.admin.id],
        )
        .then(
          () => null,
          (e: { code?: string; detail?: string }) => `${e.code}/${e.detail}`,
        );
      expect(err).toBe('AX403/plan_tier');
    } finally {
      await c.query('rollback');
      await c.end();
    }
  });

  it('provisions just in time only for verified domains, with the default grants and nothing more', async () => {
    const t = db();
    const org = await createOrg(t);
    const f = await createFacility(t, org);
    const provider = await t.api.call<{ id: string }>('sso_provider_configure', org.admin.caller, {
      kind: 'oidc',
      name: 'IdP',
      issuer: 'https://idp.test',
      client_id: 'c',
      default_grants: [{ domain: 'security', level: 'read', facility_id: f }],
    });
    await refused(
      t.api.call('sso_provider_configure', org.admin.caller, {
        kind: 'oidc',
        name: 'IdP2',
        issuer: 'https://idp.test',
        client_id: 'c',
        default_grants: [{ domain: 'security', level: 'review', facility_id: f }],
      }),
      'rule_violation',
      'default_grant_too_high',
    );
    const sso = (identity: object): Promise<{ token: string; principal_id: string }> =>
      t.api.raw('session_login_sso', [t.workerSecret, provider.id, identity, '{}']);
    await refused(
      sso({ subject: 'u1', email: 'new@corp.example', email_verified: true }),
      'unauthenticated',
      'domain_not_verified',
    );
    await t.api.call('domain_verify', org.admin.caller, 'corp.example', 'TXT record checked');
    await refused(
      sso({ subject: 'u1', email: 'new@corp.example', email_verified: false }),
      'unauthenticated',
      'email_unverified',
    );
    const s = await sso({
      subject: 'u1',
      email: 'new@corp.example',
      email_verified: true,
      name: 'New Person',
    });
    const me = await t.api.call<{
      grants: Array<{ domain: string; level: string }>;
      session: { auth_method: string };
    }>('session_whoami', { token: s.token });
    expect(me.session.auth_method).toBe('oidc');
    expect(me.grants.map((g) => `${g.domain}:${g.level}`)).toEqual(['security:read']);
    // The same subject again is the same person.
    const again = await sso({ subject: 'u1', email: 'renamed@corp.example', email_verified: true });
    expect(again.principal_id).toBe(s.principal_id);
    // Only the server (the service secret) may assert an SSO sign-in.
    await refused(
      t.api.raw('session_login_sso', [org.admin.token, provider.id, { subject: 'u1' }, '{}']),
      'unauthenticated',
      'bad_service_secret',
    );
    expect((await events(t, org, 'sso.login_failed')).map((e) => e.reason).sort()).toEqual([
      'domain_not_verified',
      'email_unverified',
    ]);
  });

  it('accepts each SAML assertion once, and each request state once', async () => {
    const t = db();
    const org = await createOrg(t);
    const u = await createUser(t, org);
    const provider = await t.api.call<{ id: string }>('sso_provider_configure', org.admin.caller, {
      kind: 'saml',
      name: 'SAML IdP',
      idp_entity_id: 'https://idp.test/saml',
      idp_sso_url: 'https://idp.test/sso',
      idp_certificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
      sp_entity_id: 'https://axiom.test/saml',
    });
    // Linking the existing account by its address needs the address's domain verified (018).
    await t.api.call(
      'domain_verify',
      org.admin.caller,
      `${org.slug}.example`,
      'TXT record checked',
    );
    const identity = {
      subject: u.email,
      email: u.email,
      email_verified: true,
      assertion_id: '_a1',
      not_on_or_after: new Date(Date.now() + 60_000).toISOString(),
    };
    await t.api.raw('session_login_sso', [t.workerSecret, provider.id, identity, '{}']);
    await refused(
      t.api.raw('session_login_sso', [t.workerSecret, provider.id, identity, '{}']),
      'conflict',
      'assertion_replayed',
    );
    await t.api.raw('sso_request_begin', [
      t.workerSecret,
      provider.id,
      { purpose: 'login', state: 's'.repeat(40), nonce: 'n'.repeat(40) },
    ]);
    await t.api.raw('sso_request_consume', [t.workerSecret, provider.id, 's'.repeat(40)]);
    await refused(
      t.api.raw('sso_request_consume', [t.workerSecret, provider.id, 's'.repeat(40)]),
      'unauthenticated',
      'state_mismatch',
    );
    await refused(
      t.api.raw('sso_request_consume', [t.workerSecret, provider.id, 'x'.repeat(40)]),
      'unauthenticated',
      'state_mismatch',
    );
  });
});

describe('e-signatures', () => {
  let org: TestOrg;
  let site: string;
  let author: TestUser;
  let signer: TestUser;
  let cr: { id: string; proposed_record_id: string; proposed_record_hash: string };

  beforeAll(async () => {
    const t = db();
    org = await createOrg(t);
    site = await createFacility(t, org);
    author = await createUser(
      t,
      org,
      [{ domain: 'configuration', level: 'author', facility: site }],
      'author',
    );
    signer = await createUser(
      t,
      org,
      [{ domain: 'configuration', level: 'review', facility: site }],
      'signer',
    );
  });

  async function proposal(t: TestDatabase): Promise<typeof cr> {
    const c = await t.api.call<typeof cr>(
      'record_propose',
      author.caller,
      'policy',
      site,
      null,
      `p-${Date.now()}-${Math.random()}`,
      { type: 'approval_rules', min: 1 },
      'approval rules',
      'signing test',
    );
    await t.api.call('change_request_submit', author.caller, c.id);
    return c;
  }

  it('records the printed name, time, meaning, factors and the record it is bound to (§11.50, §11.70)', async () => {
    const t = db();
    cr = await proposal(t);
    const { challenge_id } = await signFor(
      t,
      signer,
      { type: 'change_request', id: cr.id },
      'approved',
    );
    await t.api.call(
      'change_request_approve',
      signer.caller,
      cr.id,
      cr.proposed_record_hash,
      { challenge_id },
      null,
    );
    const sigs = await t.api.call<Array<Record<string, unknown>>>(
      'signature_list',
      signer.caller,
      cr.proposed_record_id,
    );
    expect(sigs).toEqual([
      expect.objectContaining({
        signer_name: 'signer',
        signer_email: signer.email,
        meaning: 'approved',
        record_id: cr.proposed_record_id,
        record_hash: cr.proposed_record_hash,
        factors: ['password'],
        continuous: false,
      }),
    ]);
    const v = await t.api.call<{ valid: boolean }>(
      'signature_verify',
      org.admin.caller,
      sigs[0]!.id,
    );
    expect(v.valid).toBe(true);
  });

  it('lets audit:read list and verify a record’s signatures, and a token only within its scope (100)', async () => {
    const t = db();
    const auditor = await createUser(
      t,
      org,
      [
        { domain: 'audit', level: 'read', facility: null },
        { domain: 'security', level: 'read', facility: null },
      ],
      'auditor',
    );
    const sigs = await t.api.call<Array<{ id: string }>>(
      'signature_list',
      auditor.caller,
      cr.proposed_record_id,
    );
    expect(sigs).toHaveLength(1);
    const v = await t.api.call<{ valid: boolean }>('signature_verify', auditor.caller, sigs[0]!.id);
    expect(v.valid).toBe(true);
    // The same person's token, scoped to security:read: no audit:read to borrow, no configuration read.
    const tok = await t.api.call<{ token: string }>('api_token_create', auditor.caller, 'sec', 7, [
      { domain: 'security', level: 'read', facility_id: null },
    ]);
    const scoped = { token: tok.token };
    await refused(
      t.api.call('signature_list', scoped, cr.proposed_record_id),
      'forbidden',
      'missing_grant',
    );
    await refused(
      t.api.call('signature_verify', scoped, sigs[0]!.id),
      'forbidden',
      'missing_grant',
    );
    // Scoped to audit:read, it may.
    const audit = await t.api.call<{ token: string }>(
      'api_token_create',
      auditor.caller,
      'aud',
      7,
      [{ domain: 'audit', level: 'read', facility_id: null }],
    );
    const both = await t.api.call<unknown[]>(
      'signature_list',
      { token: audit.token },
      cr.proposed_record_id,
    );
    expect(both).toHaveLength(1);
  });

  it('asks for every component at the first signing of a session and only the password within it (§11.200)', async () => {
    const t = db();
    const s = await createUser(t, org, [
      { domain: 'configuration', level: 'review', facility: site },
    ]);
    const c1 = await proposal(t);
    const ch1 = await t.api.call<SignatureChallenge>(
      'signature_challenge_create',
      s.caller,
      { type: 'change_request', id: c1.id },
      'approved',
    );
    expect(ch1.identification_required).toBe(true);
    await refused(
      t.api.call('signature_factor_password', s.caller, ch1.id, null, s.password),
      'unauthenticated',
      'identification_missing',
    );
    await t.api.call('signature_factor_password', s.caller, ch1.id, s.email, s.password);
    await t.api.call(
      'change_request_approve',
      s.caller,
      c1.id,
      c1.proposed_record_hash,
      { challenge_id: ch1.id },
      null,
    );
    const c2 = await proposal(t);
    const ch2 = await t.api.call<SignatureChallenge>(
      'signature_challenge_create',
      s.caller,
      { type: 'change_request', id: c2.id },
      'approved',
    );
    expect(ch2.identification_required).toBe(false);
    await t.api.call('signature_factor_password', s.caller, ch2.id, null, s.password);
    await t.api.call(
      'change_request_approve',
      s.caller,
      c2.id,
      c2.proposed_record_hash,
      { challenge_id: ch2.id },
      null,
    );
    // Outside the continuity window (or in a new session) every component again.
    await asSuperuserWithoutTriggers(
      t,
      `update core.sessions set last_signed_at = now() - interval '2 hours' where principal_id = $1`,
      [s.id],
    );
    const c3 = await proposal(t);
    const ch3 = await t.api.call<SignatureChallenge>(
      'signature_challenge_create',
      s.caller,
      { type: 'change_request', id: c3.id },
      'approved',
    );
    expect(ch3.identification_required).toBe(true);
  });

  it('refuses a wrong password (counted toward the lockout), a reused challenge, and someone else’s challenge', async () => {
    const t = db();
    const c = await proposal(t);
    const ch = await t.api.call<SignatureChallenge>(
      'signature_challenge_create',
      signer.caller,
      { type: 'change_request', id: c.id },
      'approved',
    );
    await refused(
      t.api.call(
        'signature_factor_password',
        signer.caller,
        ch.id,
        ch.identification_required ? signer.email : null,
        'not-my-password',
      ),
      'unauthenticated',
      'invalid_credentials',
    );
    await refused(
      t.api.call(
        'change_request_approve',
        signer.caller,
        c.id,
        c.proposed_record_hash,
        { challenge_id: ch.id },
        null,
      ),
      'unauthenticated',
      'factors_missing',
    );
    // Nobody signs for another: the author cannot answer the signer's challenge.
    await refused(
      t.api.call('signature_factor_password', author.caller, ch.id, author.email, author.password),
      'not_found',
      'challenge_not_found',
    );
    await t.api.call(
      'signature_factor_password',
      signer.caller,
      ch.id,
      ch.identification_required ? signer.email : null,
      signer.password,
    );
    await t.api.call(
      'change_request_approve',
      signer.caller,
      c.id,
      c.proposed_record_hash,
      { challenge_id: ch.id },
      null,
    );
    const c2 = await proposal(t);
    await refused(
      t.api.call(
        'change_request_approve',
        signer.caller,
        c2.id,
        c2.proposed_record_hash,
        { challenge_id: ch.id },
        null,
      ),
      'conflict',
      'challenge_used',
    );
    const failed = await events(t, org, 'esignature.failed');
    expect(failed.some((e) => e.reason === 'wrong password')).toBe(true);
  });

  it('refuses a challenge for another record, an expired one, and a record that changed since the challenge', async () => {
    const t = db();
    const c1 = await proposal(t);
    const c2 = await proposal(t);
    const s1 = await signFor(t, signer, { type: 'change_request', id: c1.id }, 'approved');
    await refused(
      t.api.call('change_request_approve', signer.caller, c2.id, c2.proposed_record_hash, s1, null),
      'conflict',
      'challenge_mismatch',
    );
    await asSuperuserWithoutTriggers(
      t,
      `update core.signature_challenges set expires_at = now() - interval '1 second' where id = $1`,
      [s1.challenge_id],
    );
    await refused(
      t.api.call('change_request_approve', signer.caller, c1.id, c1.proposed_record_hash, s1, null),
      'gone',
      'challenge_expired',
    );
    const s2 = await signFor(t, signer, { type: 'change_request', id: c1.id }, 'approved');
    await asSuperuserWithoutTriggers(
      t,
      `update core.records set record_hash = sha256('changed') where record_id = $1`,
      [c1.proposed_record_id],
    );
    await asSuperuserWithoutTriggers(
      t,
      `update core.change_requests set proposed_record_hash = sha256('changed') where id = $1`,
      [c1.id],
    );
    await refused(
      t.api.call(
        'change_request_approve',
        signer.caller,
        c1.id,
        createHash('sha256').update('changed').digest('hex'),
        s2,
        null,
      ),
      'conflict',
      'record_changed',
    );
  });

  it('never lets the agent sign, nor the author approve their own change', async () => {
    const t = db();
    const c = await proposal(t);
    const agent = await agentSession(t, org);
    await refused(
      t.api.call(
        'signature_challenge_create',
        agent,
        { type: 'change_request', id: c.id },
        'approved',
      ),
      'forbidden',
      'agent_cannot_sign',
    );
    await refused(
      t.api.call(
        'signature_challenge_create',
        author.caller,
        { type: 'change_request', id: c.id },
        'approved',
      ),
      'forbidden',
    );
  });

  it('checks the authenticator sign counter and raises an alert on a clone', async () => {
    const t = db();
    const facilityConfig = (
      await t.api.call<Array<{ id: string; content: object }>>(
        'record_list',
        author.caller,
        'facility_configuration',
        site,
      )
    )[0]!;
    const c = await t.api.call<typeof cr>(
      'record_propose',
      author.caller,
      'facility_configuration',
      site,
      facilityConfig.id,
      null,
      { ...facilityConfig.content, approval_expiry_hours: 12 },
      'shorter approvals',
      'high-risk change',
    );
    await t.api.call('change_request_submit', author.caller, c.id);
    const ch = await t.api.call<SignatureChallenge>(
      'signature_challenge_create',
      signer.caller,
      { type: 'change_request', id: c.id },
      'approved',
    );
    expect(ch.required_factors).toEqual([['webauthn'], ['oidc_reauth']]);
    // The password does not satisfy a high-risk signature.
    await t.api.call(
      'signature_factor_password',
      signer.caller,
      ch.id,
      signer.email,
      signer.password,
    );
    await refused(
      t.api.call(
        'change_request_approve',
        signer.caller,
        c.id,
        c.proposed_record_hash,
        { challenge_id: ch.id },
        null,
      ),
      'unauthenticated',
      'factors_missing',
    );
    const begin = await t.api.call<{ challenge_id: string; challenge: string }>(
      'webauthn_registration_begin',
      signer.caller,
    );
    await t.api.call(
      'webauthn_registration_finish',
      signer.caller,
      t.workerSecret,
      begin.challenge_id,
      {
        challenge: begin.challenge,
        credential_id: 'yubikey-0123456789abcdef',
        public_key: Buffer.from('a public key of the right size').toString('base64'),
        sign_count: 10,
        name: 'YubiKey',
      },
    );
    await refused(
      t.api.call(
        'signature_factor_webauthn',
        signer.caller,
        t.workerSecret,
        ch.id,
        'yubikey-0123456789abcdef',
        10,
      ),
      'conflict',
      'counter_replayed',
    );
    const alerts = await t.api.call<Array<{ kind: string }>>('alert_list', org.admin.caller, 10);
    expect(alerts.some((a) => a.kind === 'webauthn.counter_replayed')).toBe(true);
    await t.api.call(
      'signature_factor_webauthn',
      signer.caller,
      t.workerSecret,
      ch.id,
      'yubikey-0123456789abcdef',
      11,
    );
    const done = await t.api.call<{ state: string }>(
      'change_request_approve',
      signer.caller,
      c.id,
      c.proposed_record_hash,
      { challenge_id: ch.id },
      null,
    );
    expect(done.state).toBe('approved');
  });

  it('accepts OpenID re-authentication only for the signer and only when fresh', async () => {
    const t = db();
    const provider = await t.api.call<{ id: string }>('sso_provider_configure', org.admin.caller, {
      kind: 'oidc',
      name: 'IdP',
      issuer: 'https://idp.test',
      client_id: 'c',
    });
    await t.api.call('domain_verify', org.admin.caller, `${org.slug}.example`, 'checked');
    await t.api.raw('session_login_sso', [
      t.workerSecret,
      provider.id,
      { subject: 'signer-sub', email: signer.email, email_verified: true },
      '{}',
    ]);
    const c = await proposal(t);
    const ch = await t.api.call<SignatureChallenge>(
      'signature_challenge_create',
      signer.caller,
      { type: 'change_request', id: c.id },
      'approved',
    );
    await refused(
      t.api.raw('signature_factor_oidc', [
        t.workerSecret,
        ch.id,
        signer.id,
        provider.id,
        'someone-else',
        new Date().toISOString(),
      ]),
      'unauthenticated',
      'identity_mismatch',
    );
    await refused(
      t.api.raw('signature_factor_oidc', [
        t.workerSecret,
        ch.id,
        signer.id,
        provider.id,
        'signer-sub',
        new Date(Date.now() - 3_600_000).toISOString(),
      ]),
      'unauthenticated',
      'stale_auth_time',
    );
    // The secret alone is not enough: the challenge must belong to the principal named.
    await refused(
      t.api.raw('signature_factor_oidc', [
        t.workerSecret,
        ch.id,
        org.admin.id,
        provider.id,
        'signer-sub',
        new Date().toISOString(),
      ]),
      'not_found',
      'challenge_not_found',
    );
    await refused(
      t.api.raw('signature_factor_oidc', [
        'not-the-secret',
        ch.id,
        signer.id,
        provider.id,
        'signer-sub',
        new Date().toISOString(),
      ]),
      'unauthenticated',
    );
    const ok = await t.api.raw<SignatureChallenge>('signature_factor_oidc', [
      t.workerSecret,
      ch.id,
      signer.id,
      provider.id,
      'signer-sub',
      new Date().toISOString(),
    ]);
    expect(ok.satisfied_factors).toEqual(['oidc_reauth']);
    const seen = await t.api.call<SignatureChallenge>(
      'signature_challenge_get',
      signer.caller,
      ch.id,
    );
    expect(seen.satisfied_factors).toEqual(['oidc_reauth']);
    await refused(
      t.api.call('signature_challenge_get', org.admin.caller, ch.id),
      'not_found',
      'challenge_not_found',
    );
  });
});
