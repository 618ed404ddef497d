// `axiom record list|show|propose` in-process against the real HTTPS server and database: a policy is
// proposed from standard input (a draft change request, or submitted with --submit), becomes effective
// only once someone else approves it, is listed and shown with every version, and a new version is
// proposed from a file (at its item's facility). The database refuses readers without the grant and
// other organizations; malformed arguments and content are refused before any request, and content
// the database rejects changes nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approveChange,
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
let site: string;
let author: TestUser;
let approver: TestUser;
let costOnly: TestUser;
let stranger: TestUser;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-cli-records-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Cr {
  id: string;
  state: string;
  target_item_id: string;
  proposed_record_hash: string;
}

beforeAll(async () => {
  const t = s().db;
  org = await createOrg(t);
  site = await createFacility(t, org);
  author = await createUser(t, org, [{ domain: 'configuration', level: 'author', facility: site }]);
  approver = await createUser(t, org, [
    { domain: 'configuration', level: 'review', facility: site },
  ]);
  costOnly = await createUser(t, org, [{ domain: 'cost', level: 'read', facility: site }]);
  stranger = await createUser(t, await createOrg(t), []);
});

/** Change requests of the organization (as the superuser: counts what any refusal left behind). */
async function changeRequests(): Promise<number> {
  return (
    await s().db.superuser.query<{ n: number }>(
      'select count(*)::int as n from core.change_requests where organization_id = $1',
      [org.id],
    )
  ).rows[0]!.n;
}

const propose = (who: TestUser, args: string[], stdin?: string) =>
  axiom(
    who,
    [
      'record',
      'propose',
      'policy',
      '--title',
      'Cap the blast radius',
      '--reason',
      'CAB 12',
      ...args,
    ],
    stdin,
  );

describe('axiom record', () => {
  let itemId: string;

  it('proposes a policy as a draft, and it takes effect only once another person approves it', async () => {
    const draft = await propose(
      author,
      ['--key', 'blast-radius', '--facility', site, '--content-file', '-'],
      JSON.stringify({ type: 'blast_radius', max_resources: 5 }),
    );
    expect(draft.stderr).toBe('');
    expect(draft.code).toBe(0);
    const id = /^change request (\S+): draft$/m.exec(draft.stdout)?.[1];
    expect(draft.stdout).toContain(`Then: axiom change-request submit ${id}`);
    // Nothing effective yet.
    expect((await axiom(author, ['record', 'list', 'policy', '--facility', site])).stdout).toBe(
      'no effective policy records here',
    );

    const submitted = await axiom(author, ['change-request', 'submit', id!, '--json']);
    expect(submitted.code).toBe(0);
    const cr = await s().db.api.call<Cr>('change_request_get', author.caller, id);
    await approveChange(s().db, approver, cr);
    itemId = cr.target_item_id;

    const list = await axiom(author, ['record', 'list', 'policy', '--facility', site]);
    expect(list.stdout).toMatch(
      new RegExp(
        `^${itemId}  v1  blast-radius +[0-9a-f]{12}  \\{"type":"blast_radius","max_resources":5\\}$`,
      ),
    );
    // Organization-wide (no --facility) is another place, where the author holds no grant.
    const orgWide = await axiom(author, ['record', 'list', 'policy']);
    expect(orgWide.code).toBe(2);
    expect(orgWide.stderr).toMatch(/forbidden\/missing_grant/);
    const shown = await axiom(author, ['records', 'show', 'policy', itemId]);
    expect(shown.stdout).toContain(`policy ${itemId}  blast-radius  facility ${site}`);
    expect(shown.stdout).toMatch(/^effective: version 1, record hash [0-9a-f]{64}$/m);
    expect(shown.stdout).toContain('"max_resources": 5');
    expect(shown.stdout).toMatch(
      new RegExp(
        `^ {2}v1  effective +\\S+  by ${author.id}  change request ${cr.id}  CAB 12$`,
        'm',
      ),
    );
  });

  it('proposes a new version from a file at its item’s facility, and --submit sends it for review', async () => {
    const file = path.join(dir, 'policy.json');
    fs.writeFileSync(file, JSON.stringify({ type: 'blast_radius', max_resources: 3 }));
    const r = await propose(author, [
      '--item',
      itemId,
      '--content-file',
      file,
      '--submit',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    const cr = JSON.parse(r.stdout) as Cr;
    expect(cr).toMatchObject({ state: 'in_review', target_item_id: itemId });
    const detail = await axiom(author, ['change-request', 'show', cr.id]);
    expect(detail.stdout).toContain('"max_resources": 3');
    // Still version 1 in force until it is approved.
    const json = await axiom(author, ['record', 'show', 'policy', itemId, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      effective: { version: 1, content: { max_resources: 5 } },
    });
  });

  it('is refused without the grant and to another organization', async () => {
    const before = await changeRequests();
    const forbidden = await axiom(costOnly, ['record', 'list', 'policy', '--facility', site]);
    expect(forbidden.code).toBe(2);
    expect(forbidden.stderr).toMatch(/forbidden\/missing_grant/);
    expect((await axiom(costOnly, ['record', 'show', 'policy', itemId])).code).toBe(2);
    const noAuthor = await propose(
      costOnly,
      ['--key', 'other', '--facility', site, '--content-file', '-'],
      JSON.stringify({ type: 'blast_radius', max_resources: 1 }),
    );
    expect(noAuthor.stderr).toMatch(/missing_grant/);
    const hidden = await axiom(stranger, ['record', 'show', 'policy', itemId]);
    expect(hidden.code).toBe(2);
    expect(hidden.stderr).toMatch(/not_found/);
    const elsewhere = await propose(
      stranger,
      ['--item', itemId, '--content-file', '-'],
      JSON.stringify({ type: 'blast_radius', max_resources: 1 }),
    );
    expect(elsewhere.code).toBe(2);
    expect(await changeRequests()).toBe(before);
  });

  it('refuses malformed arguments and content before any request, and content the database rejects', async () => {
    const big = path.join(dir, 'big.json');
    fs.writeFileSync(big, JSON.stringify({ type: 'blast_radius', pad: 'x'.repeat(300_000) }));
    const before = await changeRequests();
    const cases: Array<[string[], string | undefined, RegExp]> = [
      [['--key', 'k', '--content-file', '-'], 'not json', /not valid JSON/],
      [['--key', 'k', '--content-file', '-'], '[1, 2]', /a JSON object/],
      [['--key', 'k', '--content-file', '-'], 'null', /a JSON object/],
      [
        ['--key', 'k', '--content-file', path.join(dir, 'missing.json')],
        undefined,
        /cannot be read/,
      ],
      [['--key', 'k', '--content-file', big], undefined, /larger than 256 KiB/],
      [['--key', 'k', '--content-file', '-'], `"${'x'.repeat(300 * 1024)}"`, /larger than 256 KiB/],
      [['--content-file', '-'], '{}', /give --key .* or --item/],
      [['--key', 'k', '--item', itemId, '--content-file', '-'], '{}', /not both/],
      [['--item', "x' or '1'='1", '--content-file', '-'], '{}', /not an id/],
    ];
    for (const [args, stdin, message] of cases) {
      const r = await propose(author, args, stdin);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
    }
    for (const kind of ['Policy', 'policy;drop table core.records', '../plans']) {
      const r = await axiom(author, ['record', 'list', kind]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/is not a record kind/);
    }
    // Well-formed, but not what the database accepts: an unknown kind, content that breaks the rules.
    const unknown = await axiom(author, ['record', 'list', 'nonsense']);
    expect(unknown.code).toBe(2);
    const invalid = await propose(
      author,
      ['--key', 'bad', '--facility', site, '--content-file', '-'],
      JSON.stringify({ type: 'Blast Radius!', max_resources: 5 }),
    );
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/invalid_input\/invalid_content/);
    expect(await changeRequests()).toBe(before);
  });
});
