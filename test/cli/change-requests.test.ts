// `axiom change-request ...` (alias `axiom cr`) in-process against the real HTTPS server and database:
// a policy change is listed and shown with its proposed content and record hash,
// reviewed, then approved with an e-signature (the password, from standard input) by someone other
// than its author, and becomes effective; another is rejected, another withdrawn. The author's own
// approval, a wrong password, a stale record hash and malformed input exit 2 and change nothing.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  approveChange,
  createFacility,
  createOrg,
  createUser,
  type TestUser,
} from '../support/fixtures.js';
import { useCli } from '../support/cli.js';
import { useTestServer } from '../support/http.js';

const s = useTestServer();
const axiom = useCli(s);
let site: string;
let author: TestUser;
let reviewer: TestUser;
let approver: TestUser;
let stranger: TestUser;
let itemId: string;

interface RecordView {
  effective: { version: number; content: Record<string, unknown> } | null;
}
interface Cr {
  id: string;
  state: string;
  proposed_record_hash: string;
}

beforeAll(async () => {
  const t = s().db;
  const org = await createOrg(t);
  site = await createFacility(t, org);
  author = await createUser(t, org, [{ domain: 'configuration', level: 'author', facility: site }]);
  reviewer = await createUser(t, org, [
    { domain: 'configuration', level: 'review', facility: site },
  ]);
  approver = await createUser(t, org, [
    { domain: 'configuration', level: 'review', facility: site },
  ]);
  stranger = await createUser(t, await createOrg(t), []);
  // The policy's first version, approved through the api functions.
  const first = await t.api.call<Cr & { target_item_id: string }>(
    'record_propose',
    author.caller,
    'policy',
    site,
    null,
    'blast_radius',
    { type: 'blast_radius', max_resources: 5 },
    'Five resources at most',
    'change advisory board',
  );
  await t.api.call('change_request_submit', author.caller, first.id);
  await approveChange(t, approver, first);
  itemId = first.target_item_id;
});

async function effective(): Promise<{ version: number; content: Record<string, unknown> }> {
  const v = await s().db.api.call<RecordView>('record_get', author.caller, 'policy', itemId);
  return v.effective!;
}

/** A submitted change of the facility's blast-radius policy. */
async function propose(cap: number, title: string): Promise<Cr> {
  const t = s().db;
  const current = await effective();
  const cr = await t.api.call<Cr>(
    'record_propose',
    author.caller,
    'policy',
    site,
    itemId,
    null,
    { ...current.content, max_resources: cap },
    title,
    'incident review',
  );
  return await t.api.call<Cr>('change_request_submit', author.caller, cr.id);
}

async function state(id: string): Promise<string> {
  return (await s().db.api.call<Cr>('change_request_get', author.caller, id)).state;
}

describe('axiom change-request', () => {
  it('lists, shows, reviews and approves with a password signature; the change takes effect', async () => {
    const before = await effective();
    const cr = await propose(1, 'One resource at a time');

    const list = await axiom(reviewer, ['cr', 'list', '--state', 'in_review']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(`^${cr.id}  in_review +policy +approvals 0/1  One resource`, 'm'),
    );
    expect(await axiom(stranger, ['change-request', 'list'])).toMatchObject({
      code: 0,
      stdout: 'no change requests',
    });

    const shown = await axiom(reviewer, ['change-request', 'show', cr.id]);
    expect(shown.stdout).toContain(`record hash ${cr.proposed_record_hash}`);
    expect(shown.stdout).toMatch(/proposed content:\n[\s\S]*"max_resources": 1/);
    // Before signing: what the new version changes against the effective one, setting by setting.
    expect(shown.stdout).toContain(
      `  what changes against version ${before.version} (effective):\n` +
        `    max_resources: ${JSON.stringify(before.content.max_resources)} -> 1\n`,
    );

    const reviewed = await axiom(reviewer, [
      'cr',
      'review',
      cr.id,
      '--comment',
      'matches the incident report',
      '--record-hash',
      cr.proposed_record_hash,
    ]);
    expect(reviewed.code).toBe(0);

    // The author cannot approve their own change; a wrong password signs nothing.
    const own = await axiom(
      author,
      ['cr', 'approve', cr.id, '--password-stdin'],
      `${author.password}\n`,
    );
    expect(own.code).toBe(2);
    const wrong = await axiom(approver, ['cr', 'approve', cr.id, '--password-stdin'], 'not-it\n');
    expect(wrong.code).toBe(2);
    expect(await state(cr.id)).toBe('in_review');
    expect((await effective()).version).toBe(before.version);

    const approved = await axiom(
      approver,
      ['cr', 'approve', cr.id, '--password-stdin', '--comment', 'approved in CAB'],
      `${approver.password}\n`,
    );
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);
    expect(approved.stdout).toMatch(new RegExp(`^${cr.id}  approved `));
    const after = await effective();
    expect(after.version).toBe(before.version + 1);
    expect(after.content.max_resources).toBe(1);
  });

  it('rejects with a reason and a signature, and withdraws', async () => {
    const a = await propose(9, 'Loosen the cap');
    const rejected = await axiom(
      approver,
      ['cr', 'reject', a.id, '--reason', 'too broad', '--password-stdin'],
      `${approver.password}\n`,
    );
    expect(rejected.code).toBe(0);
    expect(await state(a.id)).toBe('rejected');

    const b = await propose(3, 'Three resources');
    const withdrawn = await axiom(author, ['cr', 'withdraw', b.id, '--reason', 'not needed']);
    expect(withdrawn.code).toBe(0);
    expect(await state(b.id)).toBe('withdrawn');
  });

  it('refuses malformed input, a stale record hash and strangers with exit 2, changing nothing', async () => {
    const cr = await propose(4, 'Four resources');
    const before = await effective();
    const cases: Array<[TestUser, string[], RegExp]> = [
      [approver, ['cr', 'show', 'not-an-id'], /not an id/],
      [approver, ['cr', 'show', randomUUID()], /not_found/],
      [stranger, ['cr', 'show', cr.id], /not_found/],
      [approver, ['cr', 'list', '--state', 'merged'], /Allowed choices/],
      [
        approver,
        ['cr', 'review', cr.id, '--comment', 'looks right', '--record-hash', 'abc'],
        /--record-hash/,
      ],
      [
        approver,
        ['cr', 'review', cr.id, '--comment', 'looks right', '--record-hash', 'f'.repeat(64)],
        /modified/,
      ],
      [
        approver,
        ['cr', 'approve', cr.id, '--record-hash', '0'.repeat(64), '--password-stdin'],
        /modified/,
      ],
      [approver, ['cr', 'reject', cr.id, '--password-stdin'], /--reason/],
      [stranger, ['cr', 'approve', cr.id, '--password-stdin'], /not_found/],
    ];
    for (const [user, args, message] of cases) {
      const r = await axiom(user, args, `${user.password}\n`);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect(await state(cr.id)).toBe('in_review');
    expect(await effective()).toEqual(before);
  });
});
