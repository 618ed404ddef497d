// `axiom finding ...` (alias `axiom findings`) in-process against the real HTTPS server and database:
// list with filters and pages, show with check, evidence and history, triage with the grants the
// database asks for (an operator may acknowledge, not suppress), and bad input refused with exit 2
// and nothing changed. Findings come from api.finding_sync as the agent records them after a scan.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  agentSession,
  createFacility,
  createOrg,
  createUser,
  type TestOrg,
  type TestUser,
} from '../support/fixtures.js';
import { useCli } from '../support/cli.js';
import { useTestServer } from '../support/http.js';
import { syncTwoFindings } from '../support/scans.js';

const s = useTestServer();
const axiom = useCli(s);
let site: string;
let operator: TestUser;
let author: TestUser;
let stranger: TestUser;
let sshId: string;
let org: TestOrg;

beforeAll(async () => {
  const t = s().db;
  org = await createOrg(t);
  site = await createFacility(t, org);
  operator = await createUser(t, org, [
    { domain: 'security', level: 'operate', facility: site },
    { domain: 'cost', level: 'operate', facility: site },
  ]);
  author = await createUser(t, org, [{ domain: 'security', level: 'author', facility: site }]);
  stranger = await createUser(t, await createOrg(t), []);
  const agent = await agentSession(t, org);
  await syncTwoFindings(t, org, agent, site, 'cli');
  const list = await axiom(operator, ['finding', 'list', '--check', 'sg_open_ssh', '--json']);
  sshId = (JSON.parse(list.stdout) as { items: Array<{ id: string }> }).items[0]!.id;
});

async function status(id: string): Promise<{ status: string; version: number }> {
  const r = await axiom(operator, ['finding', 'show', id, '--json']);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as { status: string; version: number };
}

describe('axiom finding', () => {
  it('lists the findings one may read, filtered, most severe first, page by page', async () => {
    const all = await axiom(operator, ['findings', 'list', '--facility', site]);
    expect(all.code).toBe(0);
    const lines = all.stdout.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      new RegExp(`^${sshId}  high +open +sg_open_ssh +sg-cli \\(us-east-1\\)$`),
    );
    expect(lines[1]).toMatch(/low +open +eip_unassociated +eipalloc-cli .*~\$3\.65\/month$/);

    const cost = await axiom(operator, ['finding', 'list', '--domain', 'cost', '--json']);
    const costItems = (JSON.parse(cost.stdout) as { items: Array<{ check_id: string }> }).items;
    expect(costItems.map((f) => f.check_id)).toEqual(['eip_unassociated']);

    // One per page: the first page says how to get the next; --all follows every cursor.
    const first = await axiom(operator, ['finding', 'list', '--limit', '1']);
    const cursor = /--cursor (\S+)/.exec(first.stdout)?.[1];
    expect(cursor).toBeDefined();
    const second = await axiom(operator, ['finding', 'list', '--limit', '1', '--cursor', cursor!]);
    expect(second.stdout).toMatch(/eip_unassociated/);
    expect(second.stdout).not.toMatch(/sg_open_ssh|--cursor/);
    const every = await axiom(operator, ['finding', 'list', '--limit', '1', '--all', '--json']);
    const everything = JSON.parse(every.stdout) as { items: unknown[]; next_cursor: unknown };
    expect(everything.items).toHaveLength(2);
    expect(everything.next_cursor).toBeNull();

    // Every severity the server knows is offered, and only those ('informational', not 'info').
    const low = await axiom(operator, ['finding', 'list', '--severity', 'low', '--json']);
    expect((JSON.parse(low.stdout) as { items: unknown[] }).items).toHaveLength(1);
    expect(await axiom(operator, ['finding', 'list', '--severity', 'informational'])).toMatchObject(
      {
        code: 0,
        stdout: 'no findings',
      },
    );
    expect((await axiom(operator, ['finding', 'list', '--severity', 'info'])).code).toBe(2);

    // Another organization's person sees none of them.
    const other = await axiom(stranger, ['finding', 'list']);
    expect(other).toMatchObject({ code: 0, stdout: 'no findings' });
  });

  it('shows a finding with its check, evidence, references, fix and history', async () => {
    const r = await axiom(operator, ['finding', 'show', sshId]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^finding ${sshId} v1  high  open  security`));
    expect(r.stdout).toMatch(/check: +sg_open_ssh: /);
    expect(r.stdout).toContain('"ruleId": "sgr-cli-1"');
    expect(r.stdout).toMatch(/controls: .*cisAwsFoundationsV3/);
    expect(r.stdout).toContain(`axiom plan create --finding ${sshId}`);
    expect(r.stdout).toMatch(/history:\n +v1 .* opened /);
    // Not another organization's.
    const hidden = await axiom(stranger, ['finding', 'show', sshId]);
    expect(hidden.code).toBe(2);
    expect(hidden.stderr).toMatch(/not_found/);
    expect(hidden.stdout).toBe('');
  });

  it('triages with the grants each step needs; a refusal changes nothing', async () => {
    const refused = await axiom(operator, [
      'finding',
      'suppress',
      sshId,
      '--reason',
      'accepted risk',
      '--days',
      '7',
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/forbidden/);
    expect(await status(sshId)).toMatchObject({ status: 'open', version: 1 });

    const ack = await axiom(operator, ['finding', 'acknowledge', sshId, '--note', 'looking']);
    expect(ack.code).toBe(0);
    expect(ack.stdout).toMatch(/ acknowledged +sg_open_ssh /);

    const until = new Date(Date.now() + 10 * 86_400_000);
    const sup = await axiom(author, [
      'finding',
      'suppress',
      sshId,
      '--reason',
      'bastion behind a VPN next week',
      '--until',
      until.toISOString(),
      '--json',
    ]);
    expect(sup.code).toBe(0);
    const suppressed = JSON.parse(sup.stdout) as { status: string; suppressed_until: string };
    expect(suppressed.status).toBe('suppressed');
    expect(Date.parse(suppressed.suppressed_until)).toBe(until.getTime());
    const listed = await axiom(operator, ['finding', 'list', '--status', 'suppressed']);
    expect(listed.stdout).toMatch(new RegExp(`^${sshId} .* suppressed until `));

    const un = await axiom(author, ['finding', 'unsuppress', sshId, '--reason', 'VPN is late']);
    expect(un.code).toBe(0);
    expect(un.stdout).toMatch(/ open +sg_open_ssh /);
  });

  it('refuses bad input with exit 2 before or at the server, changing nothing', async () => {
    const before = await status(sshId);
    const cases: Array<[string[], RegExp]> = [
      [['finding', 'show', 'not-an-id'], /not an id/],
      [['finding', 'show', randomUUID()], /not_found/],
      [['finding', 'list', '--severity', 'huge'], /Allowed choices/],
      [['finding', 'list', '--limit', '0'], /--limit is a whole number/],
      [['finding', 'list', '--limit', '12abc'], /--limit is a whole number/],
      [['finding', 'list', '--cursor', 'bm9wZQ'], /invalid_input/],
      [['finding', 'list', '--all', '--cursor', 'x'], /leave out --cursor/],
      [['finding', 'list', '--check', "x'; drop table core.findings; --"], /invalid_input/],
      [['finding', 'suppress', sshId, '--reason', 'why not'], /either --until or --days/],
      [
        ['finding', 'suppress', sshId, '--reason', 'why not', '--days', '3', '--until', 'x'],
        /either --until or --days/,
      ],
      [['finding', 'suppress', sshId, '--reason', 'why not', '--days', '400'], /--days/],
      [['finding', 'suppress', sshId, '--reason', 'x', '--days', '3'], /reason/],
      [
        ['finding', 'suppress', sshId, '--reason', 'why not', '--until', '2020-01-01T00:00:00Z'],
        /invalid_expiry/,
      ],
      [['finding', 'acknowledge', sshId, '--note', 'n'.repeat(5000)], /note/],
    ];
    for (const [args, message] of cases) {
      const r = await axiom(author, args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect(await status(sshId)).toEqual(before);
    // A session the server no longer knows (here: signed out): refused, with the way back.
    const t = s().db;
    const gone = await createUser(t, org, []);
    await t.api.call('session_logout', gone.caller);
    const signedOut = await axiom(gone, ['finding', 'list']);
    expect(signedOut.code).toBe(2);
    expect(signedOut.stderr).toMatch(/no_session\)\nhint: sign in again with `axiom login`/);
    // Without credentials the CLI refuses before any request.
    const anonymous = await axiom(null, ['finding', 'list']);
    expect(anonymous.code).toBe(2);
    expect(anonymous.stderr).toMatch(/AXIOM_TOKEN|axiom login/);
  });
});
