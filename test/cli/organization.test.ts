// `axiom facility ...`, `axiom user ...`, `axiom grant ...` and `axiom delegation ...` in-process
// against the real HTTPS server and database: facilities listed and added; people listed, added and
// disabled; grants made, listed, revoked and traced; delegations made within the rules of invariant 9
// and refused with the rule named outside them.
// Every refusal is the database's (or, for bad usage, the CLI's before any request) and changes
// nothing: the tests look again after each one.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createFacility,
  createOrg,
  createUser,
  type TestOrg,
  type TestUser,
} from '../support/fixtures.js';
import { useCli, type CliResult } from '../support/cli.js';
import { useTestServer } from '../support/http.js';

const s = useTestServer();
const axiom = useCli(s);
let org: TestOrg;
let site: string;
let siteSlug: string;
let elsewhere: string;
let alice: TestUser;
let bob: TestUser;
let stranger: TestUser;

beforeAll(async () => {
  const t = s().db;
  org = await createOrg(t);
  siteSlug = `site-${Date.now().toString(36)}`;
  site = await createFacility(t, org, siteSlug);
  elsewhere = await createFacility(t, org);
  alice = await createUser(t, org, [{ domain: 'security', level: 'review', facility: site }]);
  bob = await createUser(t, org, [{ domain: 'security', level: 'operate', facility: elsewhere }]);
  stranger = await createUser(t, await createOrg(t), []);
});

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

describe('axiom facility', () => {
  it('lists the facilities with their slugs, which every --facility accepts', async () => {
    const r = await axiom(bob, ['facility', 'list']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^${site}  ${siteSlug} +staging +Facility ${siteSlug}$`, 'm'),
    );
    expect(r.stdout.split('\n')).toHaveLength(2);
    const other = JSON.parse((await axiom(stranger, ['facilities', 'list', '--json'])).stdout);
    expect(other).toEqual([]);
    // A slug where an id was asked for: looked up, and the list is filtered by it.
    for (const args of [
      ['finding', 'list', '--facility', siteSlug],
      ['plan', 'list', '--facility', siteSlug],
      ['change-request', 'list', '--facility', siteSlug],
    ]) {
      const ok = await axiom(bob, args);
      expect({ args, code: ok.code, stderr: ok.stderr }).toEqual({ args, code: 0, stderr: '' });
      expect(ok.stdout).toMatch(/^no /);
      // Another organization's slug is no facility of this one.
      refused(await axiom(stranger, args), /no facility has the slug/);
    }
  });
});

describe('axiom facility create', () => {
  it('adds a facility with its default grants, only for configuration:review organization-wide', async () => {
    const count = async (): Promise<number> =>
      (
        await s().db.superuser.query<{ n: number }>(
          'select count(*)::int as n from core.facilities where organization_id = $1',
          [org.id],
        )
      ).rows[0]!.n;
    const before = await count();
    const args = ['--slug', 'eu-prod', '--name', 'EU production', '--environment', 'production'];
    // Alice reviews security at one facility: not enough to add facilities.
    refused(await axiom(alice, ['facility', 'create', ...args]), /forbidden\/missing_grant/);
    for (const [bad, message] of [
      [['--slug', 'EU Prod', '--name', 'x', '--environment', 'production'], /--slug: lowercase/],
      [
        [
          '--slug',
          "x'; drop table core.facilities; --",
          '--name',
          'x',
          '--environment',
          'production',
        ],
        /--slug/,
      ],
      [['--slug', 'eu-prod', '--name', 'x', '--environment', 'prod'], /Allowed choices are/],
      [['--slug', 'eu-prod', '--name', 'x'], /required option '--environment/],
    ] as Array<[string[], RegExp]>) {
      const r = await axiom(org.admin, ['facility', 'create', ...bad]);
      expect({ bad, code: r.code }).toEqual({ bad, code: 2 });
      expect(r.stderr).toMatch(message);
    }
    expect(await count()).toBe(before);

    const made = await axiom(org.admin, ['facility', 'create', ...args]);
    expect(made.stderr).toBe('');
    expect(made.stdout).toMatch(
      /^facility [0-9a-f-]{36} {2}eu-prod {2}production {2}EU production$/,
    );
    const id = made.stdout.split(' ')[1]!;
    const listed = await axiom(org.admin, ['facility', 'list']);
    expect(listed.stdout).toMatch(new RegExp(`^${id}  eu-prod +production +EU production$`, 'm'));
    // The slug is taken now, and the refusal changes nothing.
    refused(await axiom(org.admin, ['facility', 'create', ...args]), /conflict\/duplicate_slug/);
    expect(await count()).toBe(before + 1);
    const audit = await s().db.superuser.query<{ actor_id: string }>(
      `select actor_id from audit.audit_events where event_type = 'facility.created' and target_id = $1`,
      [id],
    );
    expect(audit.rows).toEqual([{ actor_id: org.admin.id }]);
  });
});

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
    expect(history.stdout).toMatch(
      new RegExp(`events:\n +\\S+ +grant\\.created +by ${org.admin.email}  cost reviews`),
    );

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
  /** `axiom delegation create` by `who` of `grant` to `to`; `ends` as --days N, or none. */
  const delegate = (
    who: TestUser,
    grant: string,
    to: TestUser,
    type: 'vertical' | 'horizontal',
    days: string | null,
  ): Promise<CliResult> =>
    axiom(who, [
      'delegation',
      'create',
      '--grant',
      grant,
      '--to',
      to.email,
      '--type',
      type,
      ...(days === null ? [] : ['--days', days]),
      '--reason',
      'holiday cover',
    ]);

  it('delegates within the rules, names the rule it breaks otherwise, and revokes', async () => {
    const source = (await grantsOf(alice))[0]!;
    expect(source).toMatchObject({ domain: 'security', level: 'review', facility_id: site });

    // A delegation always ends: refused before any request without --until or --days.
    refused(await delegate(alice, source.id, bob, 'vertical', null), /a delegation always ends/);
    // The database's rules, named: to oneself; horizontal to someone who does not hold the level
    // elsewhere (bob holds security:operate, alice's is review); beyond the policy's longest.
    refused(
      await delegate(alice, source.id, alice, 'vertical', '7'),
      /rule_violation\/self_delegation/,
    );
    refused(await delegate(alice, source.id, bob, 'horizontal', '7'), /horizontal_requires_peer/);
    refused(
      await delegate(alice, source.id, bob, 'vertical', '3000'),
      /at most 14 days \(rule_violation\/expiry_beyond_policy\)/,
    );
    expect(await grantsOf(bob)).toHaveLength(1);

    const made = await delegate(alice, source.id, bob, 'vertical', '7');
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
    expect(history.stdout).toMatch(
      new RegExp(`delegations:\n +${delegated.id} .* to ${bob.email}`),
    );
    expect(history.stdout).toMatch(new RegExp(`holder: +${alice.email}\n`));

    // Bob cannot pass it on (no re-delegation), nor end it; alice, who made it, can.
    refused(
      await delegate(bob, delegated.id, alice, 'vertical', '1'),
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

describe('errors with --json', () => {
  it('are one JSON object on stderr, with the same exit code; without --json a line of text', async () => {
    const args = [
      'user',
      'add',
      '--email',
      `x-${Date.now()}@example.com`,
      '--name',
      'X',
      '--sso-only',
    ];
    const text = await axiom(alice, args);
    expect(text.code).toBe(2);
    expect(text.stderr).toMatch(
      /^error: principal\.create requires .* \(forbidden\/missing_grant\)$/,
    );
    const json = await axiom(alice, [...args, '--json']);
    expect(json.code).toBe(2);
    expect(json.stdout).toBe('');
    expect(JSON.parse(json.stderr)).toEqual({
      error: {
        code: 'forbidden',
        reason: 'missing_grant',
        message: expect.stringMatching(/^principal\.create requires review in configuration/),
      },
    });
    // Refused before any request (usage), and a session the server does not know (with its hint).
    const usage = await axiom(alice, ['grant', 'revoke', 'not-an-id', '--reason', 'abc', '--json']);
    expect(JSON.parse(usage.stderr)).toMatchObject({
      error: { code: 'invalid_input', reason: 'invalid_id' },
    });
    const unknown = await axiom({ token: 'axs_' + 'a'.repeat(43) }, ['user', 'list', '--json']);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stderr)).toMatchObject({
      error: {
        code: 'unauthenticated',
        reason: 'no_session',
        hint: expect.stringMatching(/axiom login/),
      },
    });
  });
});
