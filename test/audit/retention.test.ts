// Retention per plan tier (starter 30 days of viewable history, growth 90, enterprise unlimited): old
// entries become archived — not listed, still exported and verified — and no chained row is ever
// changed or dropped; a legal hold (audit:review, audited) stops archival; RLS and the chains hold.
import { beforeAll, describe, expect, it } from 'vitest';
import { retentionTask } from '../../src/audit/maintenance.js';
import { verifyFile } from '../../src/audit/verify-file.js';
import { useTestDatabase } from '../support/db.js';
import { createOrg, createUser, refused, type TestOrg } from '../support/fixtures.js';
import { exportToFile, recomputeChains } from './helpers.js';

const db = useTestDatabase();

interface Retention {
  plan_tier: string;
  retention_days: number | null;
  legal_hold: boolean;
  archived_before: string | null;
  advanced?: boolean;
  why?: string;
}

let S: TestOrg; // starter
let G: TestOrg; // growth, untouched
let fingerprint: string;

/** What the organization's chains hold, row by row (to prove archival changes none of it). */
async function rowsOf(org: string): Promise<string> {
  const r = await db().superuser.query<{ f: string }>(
    `select md5(string_agg(hash::text, ',' order by lane, seq)) || ':' || count(*) as f from (
       select lane, seq, hash from audit.audit_events where organization_id = $1 and occurred_at < now() - interval '35 days'
       union all
       select lane + 100, seq, hash from audit.session_events where organization_id = $1 and occurred_at < now() - interval '35 days') x`,
    [org],
  );
  return r.rows[0]!.f;
}

beforeAll(async () => {
  const t = db();
  S = await createOrg(t, { tier: 'starter' });
  G = await createOrg(t, { tier: 'growth' });
  // Age S's trail by 40 days, as if it had been written then (the superuser re-hashes the chains: the
  // point here is archival, not tampering).
  const age = (table: string): string =>
    `update ${table} set occurred_at = occurred_at - interval '40 days' where organization_id = '${S.id}';`;
  await recomputeChains(t, 'audit.audit_events', S.id, { before: age('audit.audit_events') });
  await recomputeChains(t, 'audit.session_events', S.id, { before: age('audit.session_events') });
  fingerprint = await rowsOf(S.id);
  expect(fingerprint).toMatch(/:[1-9]\d*$/);
});

async function events(org: TestOrg): Promise<Array<{ id: string; occurred_at: string }>> {
  return await db().api.call('audit_event_list', org.admin.caller, { limit: 500 });
}

describe('retention', () => {
  it('keeps everything while a legal hold is set, and records who set it and why', async () => {
    const t = db();
    const before = await events(S);
    expect(
      before.some((e) => e.occurred_at < new Date(Date.now() - 30 * 86_400_000).toISOString()),
    ).toBe(true);
    const held = await t.api.call<Retention>(
      'audit_legal_hold_set',
      S.admin.caller,
      true,
      'litigation LIT-7',
    );
    expect(held).toMatchObject({ legal_hold: true, plan_tier: 'starter', retention_days: 30 });
    const run = await t.api.raw<Retention>('retention_archive', [t.workerSecret, S.id]);
    expect(run).toMatchObject({ advanced: false, why: 'legal_hold', archived_before: null });
    expect((await events(S)).length).toBe(before.length + 1);
    const set = (await events(S)).find(
      (e) => (e as unknown as { event_type: string }).event_type === 'audit.legal_hold_set',
    ) as unknown as {
      actor_id: string;
      reason: string;
    };
    expect(set).toMatchObject({ actor_id: S.admin.id, reason: 'litigation LIT-7' });
  });

  it('is changed only with audit:review organization-wide, and never to the same state twice', async () => {
    const t = db();
    const reader = await createUser(t, S, [{ domain: 'audit', level: 'read', facility: null }]);
    await refused(
      t.api.call('audit_legal_hold_set', reader.caller, false, 'not mine to lift'),
      'forbidden',
      'missing_grant',
    );
    await refused(
      t.api.call('audit_legal_hold_set', S.admin.caller, true, 'again'),
      'conflict',
      'legal_hold_unchanged',
    );
    await refused(
      t.api.call('audit_legal_hold_set', S.admin.caller, false, ''),
      'invalid_input',
      'invalid_reason',
    );
    await refused(
      t.api.raw('retention_archive', [S.admin.token, S.id]),
      'unauthenticated',
      'bad_service_secret',
    );
    expect((await t.api.call<Retention>('audit_retention_get', reader.caller)).legal_hold).toBe(
      true,
    );
  });

  it('archives what is past the plan once the hold is lifted: not listed, still exported and verified, nothing changed', async () => {
    const t = db();
    await t.api.call('audit_legal_hold_set', S.admin.caller, false, 'case closed');
    // The server's timer task, for every organization.
    const results = (await retentionTask(t.api, t.workerSecret).run()) as Retention[];
    expect(results.length).toBeGreaterThanOrEqual(2);
    const s = await t.api.call<Retention>('audit_retention_get', S.admin.caller);
    expect(s.archived_before).not.toBeNull();
    const watermark = Date.parse(s.archived_before!);
    // Whole days: the start of today (UTC) less the plan's 30 days.
    const today = new Date();
    expect(watermark).toBe(
      Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) - 30 * 86_400_000,
    );

    const listed = await events(S);
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((e) => Date.parse(e.occurred_at) >= watermark)).toBe(true);
    const sessions = await t.api.call<Array<{ occurred_at: string }>>(
      'session_event_list',
      S.admin.caller,
      { limit: 500 },
    );
    expect(sessions.every((e) => Date.parse(e.occurred_at) >= watermark)).toBe(true);
    const archivedEvent = listed.find(
      (e) => (e as unknown as { event_type: string }).event_type === 'audit.archived',
    );
    expect(archivedEvent).toBeDefined();

    // Not one chained row changed or went missing; both verifiers still find the chains intact.
    expect(await rowsOf(S.id)).toBe(fingerprint);
    expect((await t.api.call<{ intact: boolean }>('chain_verify', S.admin.caller)).intact).toBe(
      true,
    );
    const file = await exportToFile(t.api, S.admin.caller);
    const offline = await verifyFile(file);
    expect(offline.problems).toEqual([]);
    const text = (await import('node:fs')).readFileSync(file, 'utf8');
    expect(text).toContain('"archived":true');
    expect(offline.manifest).toMatchObject({ archived_before: expect.any(String) });

    // A second run has nothing to do; the watermark never moves back.
    const again = await t.api.raw<Retention>('retention_archive', [t.workerSecret, S.id]);
    expect(again.advanced).toBe(false);
  });

  it('leaves other organizations alone and keeps everything on enterprise', async () => {
    const t = db();
    const g = await t.api.call<Retention>('audit_retention_get', G.admin.caller);
    expect(g).toMatchObject({
      plan_tier: 'growth',
      retention_days: 90,
      archived_before: expect.any(String),
    });
    expect((await events(G)).length).toBeGreaterThan(0);
    const E = await createOrg(t, { tier: 'enterprise' });
    const e = await t.api.raw<Retention>('retention_archive', [t.workerSecret, E.id]);
    expect(e).toMatchObject({ advanced: false, why: 'unlimited', retention_days: null });
    // The reporting role still sees only what RLS lets it see (nothing, without a session).
    const seen = await t.reporting.query<{ n: number }>(
      `select count(*)::int as n from core.organizations`,
    );
    expect(seen.rows[0]!.n).toBe(0);
  });
});
