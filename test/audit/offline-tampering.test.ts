// Every tampering case of test/db/tampering.test.ts (a superuser with the triggers bypassed), detected
// offline from an export file — the full evidence export, signatures included — naming the same first
// broken entry and the same problems as the SQL verifier (internal.verify_all via api.chain_verify).
import { beforeEach, describe, expect, it } from 'vitest';
import { verifyFile } from '../../src/audit/verify-file.js';
import { useTestDatabase } from '../support/db.js';
import {
  approveChange,
  createFacility,
  createOrg,
  createUser,
  type TestOrg,
} from '../support/fixtures.js';
import { exportToFile, tamper } from './helpers.js';

const db = useTestDatabase();

let org: TestOrg;
let item: string;
let versions: string[];

beforeEach(async () => {
  const t = db();
  org = await createOrg(t);
  const site = await createFacility(t, org);
  const author = await createUser(t, org, [
    { domain: 'configuration', level: 'author', facility: site },
  ]);
  const approver = await createUser(t, org, [
    { domain: 'configuration', level: 'review', facility: site },
  ]);
  let id: string | null = null;
  for (let i = 1; i <= 3; i++) {
    const cr: { id: string; proposed_record_hash: string; target_item_id: string } =
      await t.api.call(
        'record_propose',
        author.caller,
        'policy',
        site,
        id,
        'blast_radius',
        { type: 'blast_radius', cap: i },
        `cap ${i}`,
        'tuning',
      );
    id = cr.target_item_id;
    await t.api.call('change_request_submit', author.caller, cr.id);
    await approveChange(t, approver, cr);
  }
  item = id!;
  versions = (
    await t.superuser.query<{ record_id: string }>(
      `select record_id from core.policies where id = $1 order by version`,
      [item],
    )
  ).rows.map((r) => r.record_id);
});

/** The SQL verifier's problems and the offline verifier's, from a file, are the same list. */
async function bothVerifiers(format: 'jsonl' | 'csv' = 'jsonl'): Promise<string[]> {
  const t = db();
  const sql = await t.api.call<{
    intact: boolean;
    problems: Array<{ table: string; record_id: string; problem: string }>;
  }>('chain_verify', org.admin.caller);
  const file = await exportToFile(t.api, org.admin.caller, format);
  const offline = await verifyFile(file);
  const a = sql.problems.map((p) => `${p.table}/${p.record_id}/${p.problem}`);
  const b = offline.problems.map((p) => `${p.table}/${p.recordId}/${p.problem}`);
  expect(sql.intact).toBe(false);
  expect(offline.intact).toBe(false);
  expect(b).toEqual(a);
  return b;
}

async function busiestLane(): Promise<{ lane: number; ids: string[] }> {
  const t = db();
  const lane = (
    await t.superuser.query<{ lane: number }>(
      `select lane from audit.audit_events where organization_id = $1 group by lane order by count(*) desc, lane limit 1`,
      [org.id],
    )
  ).rows[0]!.lane;
  const ids = (
    await t.superuser.query<{ id: string }>(
      `select id from audit.audit_events where organization_id = $1 and lane = $2 order by seq`,
      [org.id, lane],
    )
  ).rows.map((r) => r.id);
  return { lane, ids };
}

describe('offline, from an export file', () => {
  it('an untouched organization verifies intact', async () => {
    const t = db();
    const offline = await verifyFile(await exportToFile(t.api, org.admin.caller));
    expect(offline.problems).toEqual([]);
    expect(offline.counts['core.policies']).toBe(3);
    expect(offline.counts['audit.signatures']).toBe(3);
  });

  it('one changed byte of a version row', async () => {
    await tamper(db(), [
      `update core.policies set change_reason = 'tuninG' where record_id = $1`,
      [versions[1]],
    ]);
    expect((await bothVerifiers())[0]).toBe(`core.policies/${versions[1]}/hash_mismatch`);
  });

  it('a changed row whose hash was recomputed; its approval signature no longer binds', async () => {
    await tamper(db(), [
      `update core.policies set content = '{"type":"blast_radius","cap":99}',
         record_hash = internal.controlled_record_hash('core.policies', record_id, id, organization_id, facility_id, domain,
           item_key, version, previous_record_id, '{"type":"blast_radius","cap":99}', created_at, created_by, change_reason,
           change_request_id, previous_record_hash)
       where record_id = $1`,
      [versions[1]],
    ]);
    const problems = await bothVerifiers('csv');
    expect(problems[0]).toMatch(/^audit\.signatures\/.*\/record_missing$/);
    expect(problems).toEqual(
      expect.arrayContaining([
        `core.policies/${versions[1]}/record_missing`,
        `core.policies/${versions[1]}/audit_event_missing`,
        `core.policies/${versions[2]}/broken_link`,
      ]),
    );
  });

  it('a deleted middle version', async () => {
    await tamper(db(), [`delete from core.policies where record_id = $1`, [versions[1]]]);
    const problems = await bothVerifiers();
    expect(problems).toContain(`core.policies/${versions[1]}/record_missing`);
    expect(problems).toContain(`core.policies/${versions[2]}/sequence_gap`);
  });

  it('two versions swapped', async () => {
    await tamper(
      db(),
      [`update core.policies set version = 100 where record_id = $1`, [versions[1]]],
      [`update core.policies set version = 2 where record_id = $1`, [versions[2]]],
      [`update core.policies set version = 3 where record_id = $1`, [versions[1]]],
    );
    expect(await bothVerifiers()).toContain(`core.policies/${versions[2]}/hash_mismatch`);
  });

  it('a whole item deleted with all its versions', async () => {
    await tamper(db(), [`delete from core.policies where id = $1`, [item]]);
    const problems = await bothVerifiers();
    for (const v of versions) expect(problems).toContain(`core.policies/${v}/record_missing`);
  });

  it('a changed audit event', async () => {
    const { lane, ids } = await busiestLane();
    await tamper(db(), [
      `update audit.audit_events set reason = 'rewritten' where organization_id = $1 and lane = $2 and seq = 3`,
      [org.id, lane],
    ]);
    expect((await bothVerifiers())[0]).toBe(`audit.audit_events/${ids[2]}/hash_mismatch`);
  });

  it('a deleted middle audit event', async () => {
    const { lane, ids } = await busiestLane();
    await tamper(db(), [
      `delete from audit.audit_events where organization_id = $1 and lane = $2 and seq = 4`,
      [org.id, lane],
    ]);
    expect((await bothVerifiers())[0]).toBe(`audit.audit_events/${ids[4]}/sequence_gap`);
  });

  it('two audit events swapped', async () => {
    const { lane, ids } = await busiestLane();
    await tamper(
      db(),
      [
        `update audit.audit_events set seq = 1000000 where organization_id = $1 and lane = $2 and seq = 3`,
        [org.id, lane],
      ],
      [
        `update audit.audit_events set seq = 3 where organization_id = $1 and lane = $2 and seq = 4`,
        [org.id, lane],
      ],
      [
        `update audit.audit_events set seq = 4 where organization_id = $1 and lane = $2 and seq = 1000000`,
        [org.id, lane],
      ],
    );
    expect((await bothVerifiers())[0]).toBe(`audit.audit_events/${ids[3]}/hash_mismatch`);
  });

  it('dropped newest audit events that recorded versions', async () => {
    const t = db();
    const newest = (
      await t.superuser.query<{ lane: number; seq: number }>(
        `select lane, seq from audit.audit_events where organization_id = $1 and target_record_id = $2 and event_type = 'record.version_created'`,
        [org.id, versions[2]],
      )
    ).rows[0]!;
    await tamper(t, [
      `delete from audit.audit_events where organization_id = $1 and lane = $2 and seq >= $3`,
      [org.id, newest.lane, newest.seq],
    ]);
    expect(await bothVerifiers()).toContain(`core.policies/${versions[2]}/audit_event_missing`);
  });

  it('a changed signature', async () => {
    const t = db();
    const sig = (
      await t.superuser.query<{ id: string }>(
        `select id from audit.signatures where organization_id = $1 order by signed_at limit 1`,
        [org.id],
      )
    ).rows[0]!;
    await tamper(t, [`update audit.signatures set meaning = 'reviewed' where id = $1`, [sig.id]]);
    expect((await bothVerifiers())[0]).toBe(`audit.signatures/${sig.id}/hash_mismatch`);
  });
});
