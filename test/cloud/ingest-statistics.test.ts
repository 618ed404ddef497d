// Migration 093: while a scan grows core.inventory_resources, api.scan_ingest has the table's planner
// statistics refreshed whenever it has doubled, so the foreign-key checks of each batch's observations
// are planned for the table as it is (an index lookup), not as it was when the connection first checked
// one (a sequential scan of a then-empty table, ~1 ms a row at 10,000 resources). Its speed is in
// bench/scan.ts; here, that the refresh happens, only when the table has grown, and only through the api.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../src/db/api.js';
import { useTestDatabase } from '../support/db.js';
import { agentSession, createFacility, createOrg, type TestOrg } from '../support/fixtures.js';
import { scanFixture } from '../support/scans.js';

const db = useTestDatabase();
let org: TestOrg;
let agent: Caller;
let scanId: string;
let account: string;

beforeAll(async () => {
  const t = db();
  org = await createOrg(t);
  agent = await agentSession(t, org);
  const run = await scanFixture(t, org, agent).scan('stats', await createFacility(t, org));
  scanId = run.scanId;
  account = (
    await t.api.call<{ account_id: string }>('connection_get', org.admin.caller, run.connectionId)
  ).account_id;
});

function volumes(from: number, n: number): unknown[] {
  return Array.from({ length: n }, (_, k) => {
    const id = `vol-${(from + k).toString(16).padStart(17, '0')}`;
    return {
      arn: `arn:aws:ec2:us-east-1:${account}:volume/${id}`,
      type: 'AWS::EC2::Volume',
      resourceId: id,
      accountId: account,
      region: 'us-east-1',
      unit: 'ec2:us-east-1',
      tags: { Name: id },
      data: { volumeId: id, sizeGiB: 8, encrypted: true, state: 'in-use' },
    };
  });
}

async function analyzed(): Promise<{ manual: number; reltuples: number }> {
  const r = await db().superuser.query<{ manual: string; reltuples: number }>(
    `select pg_stat_get_analyze_count(c.oid) as manual, c.reltuples
       from pg_class c where c.oid = 'core.inventory_resources'::regclass`,
  );
  return { manual: Number(r.rows[0]!.manual), reltuples: r.rows[0]!.reltuples };
}

describe('inventory statistics during a scan', () => {
  it('are refreshed once the batches have more than doubled the table, not for every batch', async () => {
    const t = db();
    const before = await analyzed();
    // A small batch: below the threshold, nothing is analyzed.
    await t.api.call('scan_ingest', agent, scanId, volumes(0, 50));
    expect((await analyzed()).manual).toBe(before.manual);
    // 300 new resources in one batch: the table now holds 350 rows it has no statistics for.
    const r = await t.api.call<{ added: number }>('scan_ingest', agent, scanId, volumes(50, 300));
    expect(r.added).toBe(300);
    const after = await analyzed();
    expect(after.manual).toBe(before.manual + 1);
    expect(after.reltuples).toBe(350);
    // 50 more: the table has not doubled since, so no second refresh.
    await t.api.call('scan_ingest', agent, scanId, volumes(350, 50));
    expect((await analyzed()).manual).toBe(after.manual);
  });

  it('is the database’s own step: axiom_user cannot run the refresh, nor ANALYZE the table', async () => {
    const t = db();
    await expect(t.user.query('select internal.refresh_inventory_statistics()')).rejects.toThrow(
      /permission denied/,
    );
    const before = await analyzed();
    // A non-owner's ANALYZE is skipped with a warning: the statistics do not change.
    await t.user.query('analyze core.inventory_resources').catch(() => undefined);
    expect((await analyzed()).manual).toBe(before.manual);
  });
});
