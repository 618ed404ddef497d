// `axiom organization show|set` and `axiom alert list` in-process against the real HTTPS server and
// database: every member reads the identity settings; only configuration:review organization-wide
// changes them (audited), with malformed settings refused before any request and out-of-range ones by
// the database, nothing changed either way; a lockout shows up as an alert for audit readers only.
import { beforeAll, describe, expect, it } from 'vitest';
import { createOrg, createUser, type TestOrg, type TestUser } from '../support/fixtures.js';
import { useCli } from '../support/cli.js';
import { useTestServer } from '../support/http.js';

const s = useTestServer();
const axiom = useCli(s);
let org: TestOrg;
let member: TestUser;
let auditor: TestUser;

beforeAll(async () => {
  org = await createOrg(s().db);
  member = await createUser(s().db, org, []);
  auditor = await createUser(s().db, org, [{ domain: 'audit', level: 'read', facility: null }]);
});

async function threshold(): Promise<number> {
  return (
    await s().db.superuser.query<{ lockout_threshold: number }>(
      'select lockout_threshold from core.organizations where id = $1',
      [org.id],
    )
  ).rows[0]!.lockout_threshold;
}

describe('axiom organization', () => {
  it('shows the settings to every member, with what each means', async () => {
    const r = await axiom(member, ['organization', 'show']);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`\\(${org.slug}\\)  plan growth$`));
    expect(lines).toContain(
      '  lockout_threshold                 5  wrong passwords in a row before the account locks',
    );
    expect(lines).toHaveLength(10);
  });

  it('changes settings for an administrator only, and refuses malformed or out-of-range values', async () => {
    const refused = await axiom(member, ['organization', 'set', 'lockout_threshold=3']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/forbidden\/missing_grant/);
    for (const arg of [
      'lockout_threshold',
      'lockout_threshold=three',
      'lockout_threshold=-3',
      'lockout_threshold=none',
      'nonsense=1',
      "lockout_threshold=3'; update core.organizations set plan_tier='enterprise'; --",
    ]) {
      const r = await axiom(org.admin, ['org', 'set', arg]);
      expect({ arg, code: r.code }).toEqual({ arg, code: 2 });
      expect(r.stderr).toMatch(/invalid_input\/usage/);
    }
    // Well-formed, but outside what the database allows (3 to 20).
    const range = await axiom(org.admin, ['org', 'set', 'lockout_threshold=2']);
    expect(range.code).toBe(2);
    expect(await threshold()).toBe(5);

    const ok = await axiom(org.admin, [
      'organization',
      'set',
      'lockout_threshold=3',
      'password_max_age_days=none',
      '--json',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      lockout_threshold: 3,
      password_max_age_days: null,
    });
    expect(await threshold()).toBe(3);
    const audited = await s().db.superuser.query<{ actor_id: string; sealed: boolean }>(
      `select actor_id, state_ciphertext is not null as sealed from audit.audit_events
        where organization_id = $1 and event_type = 'organization.settings_changed'`,
      [org.id],
    );
    expect(audited.rows).toEqual([{ actor_id: org.admin.id, sealed: true }]);
  });
});

describe('axiom alert list', () => {
  it('shows a lockout to audit readers, and to no one else', async () => {
    const victim = await createUser(s().db, org, []);
    // Five wrong passwords lock the account at the default threshold as at the one set above.
    for (let i = 0; i < 5; i++)
      await s()
        .db.api.raw('session_login_password', [org.slug, victim.email, 'not-the-password', '{}'])
        .catch(() => undefined);
    const r = await axiom(auditor, ['alert', 'list']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\S+ {2}\S+ +auth\.account_locked +\S/m);
    const json = JSON.parse((await axiom(auditor, ['alerts', 'list', '--json'])).stdout) as Array<{
      kind: string;
      subject_id: string;
    }>;
    expect(json).toContainEqual(
      expect.objectContaining({ kind: 'auth.account_locked', subject_id: victim.id }),
    );
    const denied = await axiom(member, ['alert', 'list']);
    expect(denied.code).toBe(2);
    expect(denied.stderr).toMatch(/forbidden\/missing_grant/);
    expect((await axiom(auditor, ['alert', 'list', '--limit', '501'])).code).toBe(2);
  });
});
