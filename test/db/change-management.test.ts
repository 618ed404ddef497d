// Controlled records (SCD Type 2, invariant 7) and change management: a change becomes effective only
// through review and approval by someone other than its author; every step is in the audit chain.
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectionString } from '../../src/db/bootstrap.js';
import { useTestDatabase } from '../support/db.js';
import {
  agentSession,
  approveChange,
  createFacility,
  createOrg,
  createUser,
  refused,
  rejectChange,
  type TestOrg,
  type TestUser,
} from '../support/fixtures.js';

const db = useTestDatabase();

interface Cr {
  id: string;
  state: string;
  proposed_record_id: string;
  proposed_record_hash: string;
  target_item_id: string;
  version: number;
}
interface RecordView {
  effective: {
    record_id: string;
    version: number;
    content: Record<string, unknown>;
    lifecycle_state: string;
  } | null;
  latest: { record_id: string; version: number; lifecycle_state: string };
  versions: Array<{ version: number; lifecycle_state: string; record_hash: string }>;
}

let org: TestOrg;
let site: string;
let author: TestUser;
let reviewer: TestUser;
let approver: TestUser;

beforeAll(async () => {
  const t = db();
  org = await createOrg(t);
  site = await createFacility(t, org, 'plant-1', 'production');
  author = await createUser(
    t,
    org,
    [{ domain: 'configuration', level: 'author', facility: site }],
    'author',
  );
  reviewer = await createUser(
    t,
    org,
    [{ domain: 'configuration', level: 'review', facility: site }],
    'reviewer',
  );
  approver = await createUser(
    t,
    org,
    [{ domain: 'configuration', level: 'review', facility: site }],
    'approver',
  );
});

async function facilityConfig(t: ReturnType<typeof db>): Promise<{ id: string; view: RecordView }> {
  const list = await t.api.call<Array<{ id: string }>>(
    'record_list',
    author.caller,
    'facility_configuration',
    site,
  );
  expect(list).toHaveLength(1);
  return {
    id: list[0]!.id,
    view: await t.api.call<RecordView>(
      'record_get',
      author.caller,
      'facility_configuration',
      list[0]!.id,
    ),
  };
}

describe('change management', () => {
  it('makes a change effective only after an approval by someone other than the author', async () => {
    const t = db();
    const before = await facilityConfig(t);
    expect(before.view.effective?.version).toBe(1);
    expect(before.view.effective?.content).toMatchObject({
      blast_radius_cap: 2,
      autonomy_tier: 'execute_with_approval',
      auto_apply_after: 25,
    });

    const cr = await t.api.call<Cr>(
      'record_propose',
      author.caller,
      'facility_configuration',
      site,
      before.id,
      null,
      { ...before.view.effective!.content, blast_radius_cap: 1 },
      'tighten the blast radius',
      'production incident review',
    );
    expect(cr).toMatchObject({ state: 'draft', version: 2, target_item_id: before.id });
    // Still the old version in force.
    expect((await facilityConfig(t)).view.effective?.version).toBe(1);

    await refused(
      t.api.call(
        'change_request_approve',
        approver.caller,
        cr.id,
        cr.proposed_record_hash,
        null,
        null,
      ),
      'conflict',
      'not_in_review',
    );
    await refused(
      t.api.call('change_request_submit', reviewer.caller, cr.id),
      'forbidden',
      'not_author',
    );
    await t.api.call('change_request_submit', author.caller, cr.id);
    await refused(
      t.api.call(
        'change_request_approve',
        author.caller,
        cr.id,
        cr.proposed_record_hash,
        null,
        null,
      ),
      'forbidden',
    );
    await t.api.call(
      'change_request_review',
      reviewer.caller,
      cr.id,
      cr.proposed_record_hash,
      'checked against the incident report',
    );
    await refused(
      t.api.call('change_request_approve', approver.caller, cr.id, '0'.repeat(64), null, null),
      'conflict',
      'record_changed',
    );
    // Approving is signing: without an e-signature the approval is refused.
    await refused(
      t.api.call(
        'change_request_approve',
        approver.caller,
        cr.id,
        cr.proposed_record_hash,
        null,
        null,
      ),
      'unauthenticated',
      'signature_required',
    );
    const approved = await approveChange<
      Cr & { decisions: Array<{ decision: string; signature_id: string }> }
    >(t, approver, cr, 'approved in CAB');
    expect(approved.decisions.find((d) => d.decision === 'approved')?.signature_id).toBeTruthy();
    expect(approved.state).toBe('approved');
    expect(approved.decisions.map((d) => d.decision)).toEqual(['reviewed', 'approved']);

    const after = await facilityConfig(t);
    expect(after.view.effective).toMatchObject({ version: 2, content: { blast_radius_cap: 1 } });
    expect(after.view.versions.map((v) => [v.version, v.lifecycle_state])).toEqual([
      [1, 'superseded'],
      [2, 'effective'],
    ]);

    const trail = await t.api.call<Array<{ event_type: string }>>(
      'audit_event_list',
      org.admin.caller,
      { target_id: cr.id },
    );
    // The change request's trail also holds the proposed version's own events (they name the request).
    expect(trail.map((e) => e.event_type)).toEqual(
      expect.arrayContaining(['record.version_created', 'record.lifecycle_changed']),
    );
    expect(
      trail
        .map((e) => e.event_type)
        .filter((e) => e.startsWith('change_request.'))
        .reverse(),
    ).toEqual([
      'change_request.created',
      'change_request.submitted',
      'change_request.reviewed',
      'change_request.approved',
    ]);
    const versionEvents = await t.api.call<Array<{ event_type: string; details: string }>>(
      'audit_event_list',
      org.admin.caller,
      {
        target_id: before.id,
      },
    );
    expect(versionEvents.map((e) => e.event_type)).toEqual(
      expect.arrayContaining(['record.version_created', 'record.lifecycle_changed']),
    );
  });

  it('rejects and withdraws, leaving the effective version alone', async () => {
    const t = db();
    const { id, view } = await facilityConfig(t);
    const cr = await t.api.call<Cr>(
      'record_propose',
      author.caller,
      'facility_configuration',
      site,
      id,
      null,
      { ...view.effective!.content, autonomy_tier: 'auto_apply_low_risk' },
      'let the agent loose',
      'faster fixes',
    );
    await t.api.call('change_request_submit', author.caller, cr.id);
    await refused(
      t.api.call(
        'change_request_reject',
        author.caller,
        cr.id,
        cr.proposed_record_hash,
        'nope',
        null,
      ),
      'forbidden',
    );
    const rejected = await rejectChange<Cr>(t, approver, cr, 'not before 25 successes');
    expect(rejected.state).toBe('rejected');
    await refused(
      t.api.call(
        'change_request_approve',
        reviewer.caller,
        cr.id,
        cr.proposed_record_hash,
        null,
        null,
      ),
      'conflict',
      'not_in_review',
    );

    const cr2 = await t.api.call<Cr>(
      'record_propose',
      author.caller,
      'facility_configuration',
      site,
      id,
      null,
      { ...view.effective!.content, approval_expiry_hours: 12 },
      'shorter approvals',
      'policy',
    );
    await refused(
      t.api.call(
        'record_propose',
        author.caller,
        'facility_configuration',
        site,
        id,
        null,
        view.effective!.content,
        'second',
        'parallel',
      ),
      'conflict',
      'open_change_exists',
    );
    await refused(
      t.api.call('change_request_withdraw', reviewer.caller, cr2.id, 'not yours'),
      'forbidden',
      'not_author',
    );
    await t.api.call(
      'change_request_withdraw',
      author.caller,
      cr2.id,
      'superseded by the quarterly review',
    );
    const after = await facilityConfig(t);
    expect(after.view.effective?.version).toBe(view.effective!.version);
    expect(after.view.versions.slice(-2).map((v) => v.lifecycle_state)).toEqual([
      'rejected',
      'retired',
    ]);
  });

  it('keeps the agent out of configuration changes', async () => {
    const t = db();
    const agent = await agentSession(t, org);
    const { id, view } = await facilityConfig(t);
    await refused(
      t.api.call(
        'record_propose',
        agent,
        'facility_configuration',
        site,
        id,
        null,
        { ...view.effective!.content, autonomy_tier: 'auto_apply_low_risk' },
        'raise my autonomy',
        'because',
      ),
      'forbidden',
      'missing_grant',
    );
  });

  it('creates new items and refuses duplicates of a key', async () => {
    const t = db();
    const cr = await t.api.call<Cr>(
      'record_propose',
      author.caller,
      'check_configuration',
      site,
      null,
      's3.public',
      { disabled_checks: ['s3_bucket_logging_off'], thresholds: {} },
      'enable the S3 public check',
      'baseline',
    );
    expect(cr.version).toBe(1);
    await refused(
      t.api.call(
        'record_propose',
        author.caller,
        'check_configuration',
        site,
        null,
        's3.public',
        { disabled_checks: [] },
        'again',
        'dup',
      ),
      'conflict',
      'item_exists',
    );
  });
});

describe('versions', () => {
  it('chain every version to the previous one, and two concurrent writers never fork the chain', async () => {
    const t = db();
    const { id } = await facilityConfig(t);
    const other = await createUser(t, org, [
      { domain: 'configuration', level: 'author', facility: site },
    ]);
    const c1 = new pg.Client({ connectionString: connectionString(t.target('axiom_user')) });
    const c2 = new pg.Client({ connectionString: connectionString(t.target('axiom_user')) });
    await c1.connect();
    await c2.connect();
    const pid2 = (await c2.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const call = (
      c: pg.Client,
      token: string,
      n: number,
    ): Promise<{ ok: boolean; error?: { sqlstate: string; reason: string } }> =>
      c
        .query(
          `select api.record_propose($1, 'facility_configuration', $2, $3, null, $4, 'concurrent edit', 'race') as r`,
          [
            JSON.stringify({ token }),
            site,
            id,
            JSON.stringify({ autonomy_tier: 'recommend', blast_radius_cap: n }),
          ],
        )
        .then((r) => r.rows[0].r);
    try {
      await c1.query('begin');
      const first = await call(c1, author.token, 3);
      expect(first.ok).toBe(true);
      // The second writer starts while the first has not committed: it waits on the chain, then loses.
      const second = call(c2, other.token, 4);
      // Commit only once the second writer is waiting for a lock (under load it may take a while to
      // get there; committing earlier would test something else).
      await expect
        .poll(
          async () =>
            (
              await t.superuser.query<{ w: string | null }>(
                'select wait_event_type as w from pg_stat_activity where pid = $1',
                [pid2],
              )
            ).rows[0]?.w,
          { timeout: 15_000, interval: 20 },
        )
        .toBe('Lock');
      await c1.query('commit');
      const lost = await second;
      expect(lost.ok).toBe(false);
      expect(lost.error?.sqlstate).toBe('23505');
    } finally {
      await c1.end();
      await c2.end();
    }
    const chain = (
      await t.superuser.query<{
        version: number;
        previous_record_id: string | null;
        record_id: string;
      }>(
        `select version, previous_record_id, record_id from core.facility_configurations where id = $1 order by version`,
        [id],
      )
    ).rows;
    // One row per version, each pointing at the one before: no fork.
    expect(chain.map((r) => r.version)).toEqual(chain.map((_, i) => i + 1));
    for (let i = 1; i < chain.length; i++)
      expect(chain[i]!.previous_record_id).toBe(chain[i - 1]!.record_id);
    const verified = await t.api.call<{ intact: boolean }>('chain_verify', org.admin.caller);
    expect(verified.intact).toBe(true);
  });

  it('never lets a new version move to another facility or change its data afterwards', async () => {
    const t = db();
    const other = await createFacility(t, org, `other-${Date.now()}`);
    const { id, view } = await facilityConfig(t);
    await refused(
      t.api.call(
        'record_propose',
        org.admin.caller,
        'facility_configuration',
        other,
        id,
        null,
        view.effective!.content,
        'move it',
        'move',
      ),
      'rule_violation',
      'item_identity_changed',
    );
  });
});
