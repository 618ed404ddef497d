// Migration 096: a reconciliation that has more than doubled core.findings or its versions has their
// planner statistics refreshed (core.findings, and all of core.records for the versions — autovacuum
// never analyzes a partitioned table as a whole), so the scans that follow are not planned for empty
// tables. Its speed is in bench/findings.ts; here, that the refresh happens, only when the tables have
// grown, only from a reconciliation, and only as the database's own step.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../src/db/api.js';
import { useTestDatabase } from '../support/db.js';
import { agentSession, createFacility, createOrg, type TestOrg } from '../support/fixtures.js';
import { scanFixture, type ScanFixture } from '../support/scans.js';

const db = useTestDatabase();
const ALL = ['s3', 'ec2', 'rds', 'cloudtrail', 'iam', 'kms', 'cloudwatch'];
let org: TestOrg;
let agent: Caller;
let site: string;
let scans: ScanFixture;

beforeAll(async () => {
  const t = db();
  org = await createOrg(t);
  agent = await agentSession(t, org);
  site = await createFacility(t, org);
  scans = scanFixture(t, org, agent);
});

function volumes(from: number, n: number): unknown[] {
  return Array.from({ length: n }, (_, k) => {
    const id = `vol-${(from + k).toString(16).padStart(17, '0')}`;
    return {
      check_id: 'ebs_volume_unattached',
      resource_arn: `arn:aws:ec2:us-east-1:1:volume/${id}`,
      resource_type: 'AWS::EC2::Volume',
      resource_id: id,
      region: 'us-east-1',
      evidence: { state: 'available' },
      estimated_monthly_saving_usd: 1,
    };
  });
}

async function sync(candidates: unknown[]): Promise<{ opened: number }> {
  const run = await scans.scan('stats', site);
  return await db().api.call<{ opened: number }>(
    'finding_sync',
    agent,
    site,
    run.connectionId,
    run.scanId,
    ALL,
    candidates,
  );
}

type Stats = Record<'findings' | 'versions' | 'records', { analyzed: number; reltuples: number }>;

async function stats(): Promise<Stats> {
  const r = await db().superuser.query<{ name: string; analyzed: string; reltuples: number }>(
    `select c.relname as name, pg_stat_get_analyze_count(c.oid) as analyzed, c.reltuples
       from pg_class c
      where c.oid in ('core.findings'::regclass, 'core.finding_versions'::regclass, 'core.records'::regclass)`,
  );
  const by = new Map(
    r.rows.map((x) => [x.name, { analyzed: Number(x.analyzed), reltuples: x.reltuples }]),
  );
  return {
    findings: by.get('findings')!,
    versions: by.get('finding_versions')!,
    records: by.get('records')!,
  };
}

describe('finding statistics after a reconciliation', () => {
  it('are refreshed once a sync has more than doubled the tables, not for every sync', async () => {
    const before = await stats();
    // A small sync: below the threshold, nothing is analyzed.
    await sync(volumes(0, 50));
    const small = await stats();
    expect(small.findings.analyzed).toBe(before.findings.analyzed);
    expect(small.versions.analyzed).toBe(before.versions.analyzed);
    // 300 more findings opened in one sync: 350 findings and versions the statistics do not know.
    const r = await sync(volumes(0, 350));
    expect(r.opened).toBe(300);
    const after = await stats();
    expect(after.findings.analyzed).toBe(before.findings.analyzed + 1);
    expect(after.findings.reltuples).toBe(350);
    // The versions' growth has the whole partitioned table analyzed, with each partition.
    expect(after.versions.analyzed).toBe(before.versions.analyzed + 1);
    expect(after.versions.reltuples).toBe(350);
    expect(after.records.reltuples).toBeGreaterThanOrEqual(350);
    // Seen again (no growth), then 50 more: not doubled since, so no second refresh.
    await sync(volumes(0, 350));
    await sync(volumes(0, 400));
    const later = await stats();
    expect(later.findings.analyzed).toBe(after.findings.analyzed);
    expect(later.versions.analyzed).toBe(after.versions.analyzed);
  });

  it('is the database’s own step: axiom_user cannot run the refresh, and it refreshes those tables only', async () => {
    const t = db();
    await expect(
      t.user.query(`select internal.refresh_finding_statistics('core.findings')`),
    ).rejects.toThrow(/permission denied/);
    const c = await t.superuser.connect();
    try {
      await c.query('begin');
      await c.query('set local role axiom_definer');
      await expect(
        c.query(`select internal.refresh_finding_statistics('core.sessions')`),
      ).rejects.toThrow(/core.findings and core.finding_versions only/);
      await c.query('rollback');
    } finally {
      c.release();
    }
  });
});
