// `axiom user ...`, `axiom grant ...` and `axiom delegation ...` in-process against the real HTTPS
// server and database: people listed, added and disabled; grants made, listed, revoked and traced;
// delegations made within the rules of invariant 9 and refused with the rule named outside them.
// Every refusal is the database's (or, for bad usage, the CLI's before any request) and changes
// nothing: the tests look again after each one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFacility,
  createOrg,
  createUser,
  type TestOrg,
  type TestUser,
} from '../support/fixtures.js';
import { runInProcess, type CliResult } from '../support/cli.js';
import { useTestServer } from '../support/http.js';

const s = useTestServer();
let org: TestOrg;
let site: string;
let siteSlug: string;
let elsewhere: string;
let alice: TestUser;
let bob: TestUser;
let stranger: TestUser;
let dir: string;

beforeAll(async () => {
  const t = s().db;
  org = await createOrg(t);
  siteSlug = `site-${Date.now().toString(36)}`;
  site = await createFacility(t, org, siteSlug);
  elsewhere = await createFacility(t, org);
  alice = await createUser(t, org, [{ domain: 'security', level: 'review', facility: site }]);
  bob = await createUser(t, org, [{ domain: 'security', level: 'operate', facility: elsewhere }]);
  stranger = await createUser(t, await createOrg(t), []);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-people-cli-'));
  fs.mkdirSync(path.join(dir, 'tls'));
  fs.writeFileSync(path.join(dir, 'tls', 'cert.pem'), s().server.tls.cert);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function axiom(user: TestUser, args: string[], stdin?: string): Promise<CliResult> {
  return await runInProcess(
    args,
    { AXIOM_DATA_DIR: dir, AXIOM_URL: s().server.url, AXIOM_TOKEN: user.token },
    stdin,
  );
}

interface GrantOut {
  id: string;
  principal_id: string;
  domain: string;
  level: string;
  facility_id: string | null;
  delegation_type: string | null;
  source_grant_id: string | null;
  revoked_at: string | null;
  valid_until: string | null;
  in_force: boolean;
}

async function grantsOf(who: TestUser, all = false): Promise<GrantOut[]> {
  const r = await axiom(org.admin, [
    'grant',
    'list',
    '--principal',
    who.email,
    ...(all ? ['--all'] : []),
    '--json',
  ]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as GrantOut[];
}

function refused(r: CliResult, pattern: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(pattern);
}

describe('axiom user', () => {
  it('lists the organization’s people, and only its own', async () => {
    const r = await axiom(bob, ['users', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${alice.id}  ${alice.email}`);
    expect(r.stdout).toMatch(new RegExp(`${org.agentId} .* agent `));
    expect(r.stdout).not.toContain(stranger.email);
    const json = JSON.parse((await axiom(stranger, ['user', 'list', '--json'])).stdout) as Array<{
      email: string;
    }>;
    expect(json.map((p) => p.email)).toContain(stranger.email);
    expect(json.map((p) => p.email)).not.toContain(alice.email);
  });

  it('adds a person with an initial password or for SSO only, and disables them', async () => {
    const email = `carol-${Date.now().toString(36)}@${org.slug}.example`;
    // Without configuration:review: refused by the database, nobody added.
    refused(
      await axiom(alice, ['user', 'add', '--email', email, '--name', 'Carol', '--sso-only']),
      /forbidden\/missing_grant/,
    );
    // Usage mistakes are refused before any request.
    refused(
      await axiom(org.admin, ['user', 'add', '--email', email, '--name', 'Carol']),
      /--sso-only/,
    );
    refused(
      await axiom(org.admin, ['user', 'add', '--email', 'carol', '--name', 'C', '--sso-only']),
      /name@domain/,
    );
    refused(
      await axiom(
        org.admin,
        ['user', 'add', '--email', email, '--name', 'C', '--password-stdin'],
        '',
      ),
      /no password/,
    );
    let list = (await axiom(org.admin, ['user', 'list'])).stdout;
    expect(list).not.toContain(email);

    const added = await axiom(
      org.admin,
      ['user', 'add', '--email', email, '--name', 'Carol Example', '--password-stdin', '--json'],
      'initial-Secret-Phrase-91q\n',
    );
    expect(added.code, added.stderr).toBe(0);
    const carol = JSON.parse(added.stdout) as { id: string; email: string; disabled_at: null };
    expect(carol).toMatchObject({ email, disabled_at: null });
    // The same e-mail twice: refused.
    refused(
      await axiom(org.admin, ['user', 'add', '--email', email, '--name', 'Again', '--sso-only']),
      /conflict\/duplicate_email/,
    );

    refused(
      await axiom(alice, ['user', 'disable', email, '--reason', 'left the team']),
      /forbidden\/missing_grant/,
    );
    const disabled = await axiom(org.admin, [
      'user',
      'disable',
      email,
      '--reason',
      'left the team',
    ]);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(disabled.stdout).toMatch(new RegExp(`^${carol.id}  ${email} .* disabled `));
    list = (await axiom(org.admin, ['user', 'list'])).stdout;
    expect(list).toMatch(new RegExp(`${email} .*Carol Example  disabled `));
    // An e-mail no one has, and a malformed id: exit 2, nothing sent for the id.
    refused(
      await axiom(org.admin, ['user', 'disable', 'nobody@example.com', '--reason', 'x-x']),
      /no one in the organization has the e-mail/,
    );
    refused(
      await axiom(org.admin, ['user', 'disable', 'not-an-id', '--reason', 'abc']),
      /not an id/,
    );
  });
});

describe('axiom grant', () => {
  it('grants, lists, traces and revokes, with the grants each step needs', async () => {
    // Alice holds security:review at one facility only: she cannot grant, nor read others' grants.
    refused(
      await axiom(alice, [
        'grant',
        'create',
        '--principal',
        bob.email,
        '--domain',
        'cost',
        '--level',
        'read',
        '--reason',
        'cost reviews',
      ]),
      /forbidden\/missing_grant/,
    );
    refused(
      await axiom(alice, ['grant', 'list', '--principal', bob.email]),
      /forbidden\/missing_grant/,
    );
    expect((await grantsOf(bob)).map((g) => `${g.domain}:${g.level}`)).toEqual([
      'security:operate',
    ]);

    const created = await axiom(org.admin, [
      'grant',
      'create',
      '--principal',
      bob.email,
      '--domain',
      'cost',
      '--level',
      'read',
      '--facility',
      siteSlug,
      '--days',
      '30',
      '--reason',
      'cost reviews',
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(
      new RegExp(`^[0-9a-f-]{36}  cost:read +at ${siteSlug} +in force until 20`),
    );
    const id = created.stdout.slice(0, 36);
    const mine = await axiom(bob, ['grants', 'list', '--json']);
    const bobs = JSON.parse(mine.stdout) as GrantOut[];
    expect(bobs.find((g) => g.id === id)).toMatchObject({ facility_id: site, in_force: true });

    // Bad input: refused before any request, nothing granted.
    for (const [args, why] of [
      [['--domain', 'everything', '--level', 'read'], /Allowed choices/],
      [['--domain', 'cost', '--level', 'god'], /Allowed choices/],
      [['--domain', 'cost', '--level', 'read', '--until', 'tomorrow'], /ISO 8601/],
      [['--domain', 'cost', '--level', 'read', '--days', '0'], /--days/],
      [['--domain', 'cost', '--level', 'read', '--facility', 'no-such-site'], /no facility/],
    ] as const) {
      const r = await axiom(org.admin, [
        'grant',
        'create',
        '--principal',
        bob.email,
        ...args,
        '--reason',
        'bad input',
      ]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(why);
    }
    expect(await grantsOf(bob)).toHaveLength(2);

    const history = await axiom(org.admin, ['grant', 'history', id]);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(/reason: +cost reviews/);
    expect(history.stdout).toMatch(/events:\n +\S+ +grant\.created +by /);

    refused(
      await axiom(bob, ['grant', 'revoke', id, '--reason', 'not mine to end']),
      /forbidden\/missing_grant/,
    );
    const revoked = await axiom(org.admin, ['grant', 'revoke', id, '--reason', 'review over']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/cost:read .* revoked/);
    expect((await grantsOf(bob)).map((g) => g.id)).not.toContain(id);
    expect((await grantsOf(bob, true)).find((g) => g.id === id)?.revoked_at).toBeTruthy();
    refused(
      await axiom(org.admin, ['grant', 'revoke', id, '--reason', 'again']),
      /already revoked/,
    );
  });
});

describe('axiom delegation', () => {
  it('delegates within the rules, names the rule it breaks otherwise, and revokes', async () => {
    const source = (await grantsOf(alice))[0]!;
    expect(source).toMatchObject({ domain: 'security', level: 'review', facility_id: site });

    // A delegation always ends: refused before any request without --until or --days.
    refused(
      await axiom(alice, [
        'delegation',
        'create',
        '--grant',
        source.id,
        '--to',
        bob.email,
        '--type',
        'vertical',
        '--reason',
        'holiday cover',
      ]),
      /a delegation always ends/,
    );
    // The database's rules, named: to oneself; horizontal to someone who does not hold the level
    // elsewhere (bob holds security:operate, alice's is review).
    refused(
      await axiom(alice, [
        'delegation',
        'create',
        '--grant',
        source.id,
        '--to',
        alice.email,
        '--type',
        'vertical',
        '--days',
        '7',
        '--reason',
        'holiday cover',
      ]),
      /rule_violation\/self_delegation/,
    );
    const horizontal = await axiom(alice, [
      'delegation',
      'create',
      '--grant',
      source.id,
      '--to',
      bob.email,
      '--type',
      'horizontal',
      '--days',
      '7',
      '--reason',
      'holiday cover',
    ]);
    refused(horizontal, /horizontal_requires_peer/);
    // Beyond the policy's longest delegation.
    refused(
      await axiom(alice, [
        'delegation',
        'create',
        '--grant',
        source.id,
        '--to',
        bob.email,
        '--type',
        'vertical',
        '--days',
        '3000',
        '--reason',
        'holiday cover',
      ]),
      /at most 14 days \(rule_violation\/expiry_beyond_policy\)/,
    );
    expect(await grantsOf(bob)).toHaveLength(1);

    const made = await axiom(alice, [
      'delegation',
      'create',
      '--grant',
      source.id,
      '--to',
      bob.email,
      '--type',
      'vertical',
      '--days',
      '7',
      '--reason',
      'holiday cover',
    ]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(
      new RegExp(
        `^[0-9a-f-]{36}  security:author +at ${siteSlug} +in force until .*\\(vertical delegation of ${source.id}\\)$`,
      ),
    );
    const delegated = (await grantsOf(bob)).find((g) => g.delegation_type === 'vertical')!;
    expect(delegated).toMatchObject({
      source_grant_id: source.id,
      level: 'author',
      in_force: true,
    });
    const history = await axiom(org.admin, ['grant', 'history', source.id]);
    expect(history.stdout).toMatch(new RegExp(`delegations:\n +${delegated.id} .* to ${bob.id}`));

    // Bob cannot pass it on (no re-delegation), nor end it; alice, who made it, can.
    refused(
      await axiom(bob, [
        'delegation',
        'create',
        '--grant',
        delegated.id,
        '--to',
        alice.email,
        '--type',
        'vertical',
        '--days',
        '1',
        '--reason',
        'pass it on',
      ]),
      /rule_violation\/re_delegation/,
    );
    refused(
      await axiom(bob, ['delegation', 'revoke', delegated.id, '--reason', 'done early']),
      /forbidden\/missing_grant/,
    );
    const ended = await axiom(alice, ['delegation', 'revoke', delegated.id, '--reason', 'back']);
    expect(ended.code, ended.stderr).toBe(0);
    expect(ended.stdout).toMatch(/security:author .* revoked/);
    expect((await grantsOf(bob)).some((g) => g.delegation_type)).toBe(false);
  });
});
