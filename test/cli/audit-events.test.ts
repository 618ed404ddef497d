// `axiom audit events` and `axiom audit sessions` in-process against the real HTTPS server and
// database: the changes and the calls of an organization, newest first, filtered and paged, for
// someone with audit:read organization-wide only (the database refuses anyone else), and bad
// arguments refused before any request.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createFacility,
  createOrg,
  createUser,
  type TestOrg,
  type TestUser,
} from '../support/fixtures.js';
import { useCli } from '../support/cli.js';
import { useTestServer } from '../support/http.js';

const s = useTestServer();
const axiom = useCli(s);
let org: TestOrg;
let auditor: TestUser;
let bob: TestUser;
let grantId: string;

beforeAll(async () => {
  const t = s().db;
  org = await createOrg(t);
  const site = await createFacility(t, org);
  auditor = await createUser(t, org, [{ domain: 'audit', level: 'read', facility: null }]);
  bob = await createUser(t, org, [{ domain: 'security', level: 'operate', facility: site }]);
  // One change (a grant) and one refused call (bob asks for another person's grants).
  const g = await axiom(org.admin, [
    'grant',
    'create',
    '--principal',
    bob.email,
    '--domain',
    'cost',
    '--level',
    'read',
    '--reason',
    'quarterly cost review',
    '--json',
  ]);
  expect(g.code, g.stderr).toBe(0);
  grantId = (JSON.parse(g.stdout) as { id: string }).id;
  const denied = await axiom(bob, ['grant', 'list', '--principal', auditor.email]);
  expect(denied.code).toBe(2);
});

describe('axiom audit events', () => {
  it('lists the changes, newest first, by type and by target, page by page', async () => {
    const r = await axiom(auditor, ['audit', 'events', '--type', 'grant.created']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    // The grant just made comes first (newest), with who made it and why.
    expect(lines[0]).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z  grant\\.created +by ${org.admin.email}  core\\.grants ${grantId}  "quarterly cost review"$`,
      ),
    );
    expect(lines.every((l) => l.includes('grant.created'))).toBe(true);

    const about = await axiom(auditor, ['audit', 'events', '--target', grantId, '--json']);
    const events = JSON.parse(about.stdout) as Array<{ event_type: string; target_id: string }>;
    expect(events.map((e) => e.event_type)).toEqual(['grant.created']);

    // Pages: a full page says how to get the next; the next starts after it.
    const first = await axiom(auditor, ['audit', 'events', '--limit', '2']);
    expect(first.stdout.split('\n')).toHaveLength(3);
    const cursor = /--before '([^']+)'/.exec(first.stdout)?.[1];
    expect(cursor).toBeDefined();
    const all = JSON.parse((await axiom(auditor, ['audit', 'events', '--json'])).stdout) as Array<{
      cursor: string;
    }>;
    expect(all.length).toBeGreaterThan(3);
    const next = JSON.parse(
      (await axiom(auditor, ['audit', 'events', '--limit', '2', '--before', cursor!, '--json']))
        .stdout,
    ) as Array<{ cursor: string }>;
    expect(next.map((e) => e.cursor)).toEqual(all.slice(2, 4).map((e) => e.cursor));
  });

  it('lists the calls, refused ones among them, by outcome and by person', async () => {
    const r = await axiom(auditor, [
      'audit',
      'sessions',
      '--outcome',
      'denied',
      '--principal',
      bob.email,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^\\S+  denied  grant\\.list +by ${bob.email}  missing_grant`),
    );
    const json = JSON.parse(
      (await axiom(auditor, ['audit', 'sessions', '--principal', bob.id, '--json'])).stdout,
    ) as Array<{ principal_id: string; outcome: string }>;
    expect(json.length).toBeGreaterThan(1);
    expect(new Set(json.map((e) => e.principal_id))).toEqual(new Set([bob.id]));
  });

  it('is refused without audit:read, and bad arguments before any request', async () => {
    for (const args of [
      ['audit', 'events'],
      ['audit', 'sessions'],
    ]) {
      const r = await axiom(bob, args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /requires read in audit organization-wide \(forbidden\/missing_grant\)/,
      );
      expect(r.stdout).toBe('');
    }
    const before = JSON.parse(
      (await axiom(auditor, ['audit', 'sessions', '--limit', '1', '--json'])).stdout,
    ) as unknown[];
    for (const [args, why] of [
      [['audit', 'events', '--limit', '0'], /--limit is a whole number/],
      [['audit', 'events', '--limit', '501'], /--limit is a whole number/],
      [['audit', 'events', '--before', "x'; drop table audit.audit_events; --"], /--before is/],
      [['audit', 'events', '--target', 'not-an-id'], /not an id/],
      [['audit', 'sessions', '--outcome', 'maybe'], /Allowed choices/],
      [['audit', 'sessions', '--principal', 'nobody@example.com'], /no one in the organization/],
    ] as const) {
      const r = await axiom(auditor, [...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(why);
    }
    // The refused arguments sent nothing: since the first look, the only calls are that look and
    // the e-mail lookup of the unknown person.
    const after = JSON.parse(
      (await axiom(auditor, ['audit', 'sessions', '--limit', '5', '--json'])).stdout,
    ) as Array<{ id: string; operation: string }>;
    const seen = after.findIndex((e) => e.id === (before[0] as { id: string }).id);
    expect(after.slice(0, seen).map((e) => e.operation)).toEqual([
      'principal.list',
      'audit.session_event_list',
    ]);
  });
});

describe('axiom audit retention and axiom audit legal-hold', () => {
  it('shows the retention, and places and lifts a legal hold only with audit:review', async () => {
    const r = await axiom(auditor, ['audit', 'retention']);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual([
      'plan growth: 90 days of the trail stay viewable',
      'legal hold: none',
      expect.stringMatching(/^archived: /),
    ]);
    const held = async (): Promise<boolean> =>
      (
        await s().db.superuser.query<{ legal_hold: boolean }>(
          'select legal_hold from core.organizations where id = $1',
          [org.id],
        )
      ).rows[0]!.legal_hold;
    // audit:read is not enough; a bad state and a missing reason are refused before any request.
    const refused = await axiom(auditor, ['audit', 'legal-hold', 'on', '--reason', 'litigation']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/requires review in audit.*forbidden\/missing_grant/);
    for (const args of [
      ['audit', 'legal-hold', 'maybe', '--reason', 'litigation'],
      ['audit', 'legal-hold', 'on'],
    ]) {
      const bad = await axiom(org.admin, args);
      expect({ args, code: bad.code }).toEqual({ args, code: 2 });
    }
    expect(await held()).toBe(false);

    const on = await axiom(org.admin, ['audit', 'legal-hold', 'on', '--reason', 'litigation 42']);
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout).toContain('legal hold: set (nothing is archived while it is)');
    expect(await held()).toBe(true);
    const again = await axiom(org.admin, ['audit', 'legal-hold', 'on', '--reason', 'twice']);
    expect(again.stderr).toMatch(/already set.*conflict\/legal_hold_unchanged/);
    const off = await axiom(org.admin, [
      'audit',
      'legal-hold',
      'off',
      '--reason',
      'settled',
      '--json',
    ]);
    expect(JSON.parse(off.stdout)).toMatchObject({ legal_hold: false, retention_days: 90 });
    expect(await held()).toBe(false);
    const events = await axiom(auditor, ['audit', 'events', '--type', 'audit.legal_hold_set']);
    expect(events.stdout).toMatch(/audit\.legal_hold_set .*"litigation 42"$/);
  });
});

describe('axiom audit chains', () => {
  it('has the server verify the chains: exit 0 intact, exit 1 naming a changed event', async () => {
    const ok = await axiom(auditor, ['audit', 'chains']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^ +\d+ {2}audit\.audit_events$/m);
    expect(ok.stdout.split('\n').at(-1)).toBe('intact');
    const refused = await axiom(bob, ['audit', 'chains']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/forbidden\/missing_grant/);

    // Change one event's reason behind the database's back (as the superuser, triggers off).
    const su = s().db.superuser;
    const target = (
      await su.query<{ id: string }>(
        `select id from audit.audit_events where organization_id = $1 and event_type = 'grant.created'
          order by occurred_at desc limit 1`,
        [org.id],
      )
    ).rows[0]!.id;
    await su.query('begin');
    await su.query('set local session_replication_role = replica');
    await su.query(`update audit.audit_events set reason = 'nothing to see' where id = $1`, [
      target,
    ]);
    await su.query('commit');
    const broken = await axiom(auditor, ['audit', 'chains', '--json']);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({
      intact: false,
      problems: [{ table: 'audit.audit_events', record_id: target, problem: 'hash_mismatch' }],
    });
    const text = await axiom(auditor, ['audit', 'chains']);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`BROKEN audit.audit_events ${target} (hash_mismatch)`);
  });
});
