// `axiom signature list|verify` in-process against the real HTTPS server and database: the approval of
// a policy change is a signature listed under its change request and under the signer's own, which
// verifies (exit 0) until the signed record is changed behind the database's back (as the superuser,
// triggers off), when it no longer does (exit 1). Who may see or verify it is the database's rule.
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
let author: TestUser;
let approver: TestUser;
let auditor: TestUser;
let costOnly: TestUser;
let stranger: TestUser;
let crId: string;
let recordId: string;

interface Sig {
  id: string;
  meaning: string;
  signer_email: string;
  record_id: string;
  factors: string[];
}

beforeAll(async () => {
  const t = s().db;
  const org = await createOrg(t);
  const site = await createFacility(t, org);
  author = await createUser(t, org, [{ domain: 'configuration', level: 'author', facility: site }]);
  approver = await createUser(t, org, [
    { domain: 'configuration', level: 'review', facility: site },
  ]);
  auditor = await createUser(t, org, [{ domain: 'audit', level: 'read', facility: null }]);
  costOnly = await createUser(t, org, [{ domain: 'cost', level: 'read', facility: site }]);
  stranger = await createUser(t, await createOrg(t), [
    { domain: 'audit', level: 'read', facility: null },
  ]);
  const cr = await t.api.call<{ id: string; proposed_record_id: string }>(
    'record_propose',
    author.caller,
    'policy',
    site,
    null,
    'blast-radius',
    { type: 'blast_radius', max_resources: 5 },
    'Five resources at most',
    'change advisory board',
  );
  const submitted = await t.api.call<{ id: string; proposed_record_hash: string }>(
    'change_request_submit',
    author.caller,
    cr.id,
  );
  await approveChange(t, approver, submitted, 'as agreed');
  crId = cr.id;
  recordId = cr.proposed_record_id;
});

describe('axiom signature', () => {
  let sigId: string;

  it('lists the approval under its change request, its record and the signer’s own', async () => {
    const r = await axiom(author, ['signature', 'list', '--change-request', crId]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(
      new RegExp(
        `^[0-9a-f-]{36}  \\S+  approved +\\S.* <${approver.email}>  password  core\\.policies ${recordId}$`,
      ),
    );
    const json = await axiom(auditor, ['signatures', 'list', '--record', recordId, '--json']);
    const sigs = JSON.parse(json.stdout) as Sig[];
    expect(sigs).toHaveLength(1);
    expect(sigs[0]).toMatchObject({ meaning: 'approved', record_id: recordId });
    sigId = sigs[0]!.id;
    const own = await axiom(approver, ['signature', 'list', '--json']);
    expect((JSON.parse(own.stdout) as Sig[]).map((x) => x.id)).toEqual([sigId]);
    expect((await axiom(author, ['signature', 'list'])).stdout).toBe('no signatures');
  });

  it('verifies it, for whom the database allows', async () => {
    const r = await axiom(auditor, ['signature', 'verify', sigId]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('the signed record is unchanged');
    expect(r.stdout.split('\n').at(-1)).toBe('valid');
    expect((await axiom(author, ['signature', 'verify', sigId])).code).toBe(0);

    const refused = await axiom(costOnly, ['signature', 'verify', sigId]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/forbidden\/missing_grant/);
    for (const args of [
      ['signature', 'verify', sigId],
      ['signature', 'list', '--record', recordId],
      ['signature', 'list', '--change-request', crId],
    ]) {
      const other = await axiom(stranger, args);
      expect(other.code).toBe(2);
      expect(other.stderr).toMatch(/not_found/);
      expect(other.stdout).not.toContain(sigId);
    }
  });

  it('refuses bad arguments before any request', async () => {
    for (const args of [
      ['verify', 'not-an-id'],
      ['list', '--record', "x' or '1'='1"],
      ['list', '--change-request', crId, '--record', recordId],
    ]) {
      const r = await axiom(auditor, ['signature', ...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(/invalid_input\/(invalid_id|usage)/);
    }
  });

  it('no longer verifies once the signed record is changed behind the database’s back (exit 1)', async () => {
    const su = s().db.superuser;
    await su.query('begin');
    await su.query('set local session_replication_role = replica');
    await su.query(
      `update core.records set content = jsonb_set(content, '{max_resources}', '50')
        where record_id = $1`,
      [recordId],
    );
    await su.query('commit');
    const r = await axiom(auditor, ['signature', 'verify', sigId]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('the signature is as it was recorded');
    expect(r.stdout).toContain('BROKEN: the signed record has changed since it was signed');
    expect(r.stdout.split('\n').at(-1)).toBe('NOT valid');
    const json = await axiom(auditor, ['signature', 'verify', sigId, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      signature_hash_valid: true,
      record_unchanged: false,
      valid: false,
    });
  });
});
