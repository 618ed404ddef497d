// Findings in the database: deduplicated across scans, a versioned (hash-chained) lifecycle, resolution
// only by scans complete for the finding's services, reopening, suppression (author, reason, expiry),
// triage by people only, queries visible only where the caller may read, and bad input refused with
// nothing written.
import { randomUUID } from 'node:crypto';
import { collect, exportRows } from '../../src/audit/export.js';
import { verifyExport } from '../../src/audit/verifier.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../src/db/api.js';
import { scanFixture, type ScanFixture } from '../support/scans.js';
import { useTestDatabase } from '../support/db.js';
import {
  agentSession,
  createFacility,
  createOrg,
  createUser,
  refused,
  type TestOrg,
  type TestUser,
} from '../support/fixtures.js';

const db = useTestDatabase();
let org: TestOrg;
let site: string;
let agent: Caller;
let scans: ScanFixture;
let operator: TestUser;
let author: TestUser;
let securityReader: TestUser;
let viewer: TestUser;

interface Finding {
  id: string;
  status: string;
  version: number;
  check_id: string;
  resource_arn: string;
  domain: string;
  severity: string;
  last_scan_id: string;
  first_scan_id: string;
  evidence: Record<string, unknown>;
  estimated_monthly_saving_usd: string | number | null;
  suppressed_until: string | null;
}
interface Versions extends Finding {
  versions: Array<{
    version: number;
    content: { event: string; status: string };
    record_hash: string;
    previous_record_hash: string | null;
  }>;
}
interface SyncResult {
  seen: number;
  opened: number;
  reopened: number;
  resolved: number;
  suppression_expired: number;
}

const ALL = ['s3', 'ec2', 'rds', 'cloudtrail', 'iam', 'kms', 'cloudwatch'];

function cand(
  checkId: string,
  arn: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const types: Record<string, string> = {
    sg_open_ssh: 'AWS::EC2::SecurityGroup',
    ec2_idle: 'AWS::EC2::Instance',
    ebs_volume_unattached: 'AWS::EC2::Volume',
    s3_bucket_logging_off: 'AWS::S3::Bucket',
    iam_root_mfa_off: 'AWS::IAM::Root',
    tags_missing: 'AWS::EC2::Instance',
  };
  return {
    check_id: checkId,
    resource_arn: arn,
    resource_type: types[checkId] ?? 'AWS::EC2::Instance',
    resource_id: arn.split('/').pop() ?? arn,
    region: 'us-east-1',
    evidence: { reason: checkId },
    ...extra,
  };
}

async function sync(
  caller: Caller,
  connection: string,
  candidates: unknown[],
  complete: string[] = ALL,
  facility = site,
  scanLabel?: string,
): Promise<SyncResult> {
  const t = db();
  // The labels stand for a real connection (made at `site`) and a scan the agent is running.
  const real = await scans.scan(connection, site, scanLabel);
  return t.api.call<SyncResult>(
    'finding_sync',
    caller,
    facility,
    real.connectionId,
    real.scanId,
    complete,
    candidates,
  );
}

async function findings(caller: Caller, filter: Record<string, unknown> = {}): Promise<Finding[]> {
  const r = await db().api.call<{ items: Finding[] }>('finding_list', caller, {
    limit: 500,
    ...filter,
  });
  return r.items;
}

async function one(connection: string, checkId: string, arn: string): Promise<Finding> {
  const all = await findings(viewer.caller, {
    connection_id: await scans.connection(connection, site),
    check_id: checkId,
    resource_arn: arn,
  });
  expect(all).toHaveLength(1);
  return all[0]!;
}

beforeAll(async () => {
  const t = db();
  org = await createOrg(t);
  site = await createFacility(t, org);
  agent = await agentSession(t, org);
  scans = scanFixture(t, org, agent);
  // Someone who reads every finding of the organization.
  viewer = await createUser(t, org, [
    { domain: 'security', level: 'read', facility: null },
    { domain: 'cost', level: 'read', facility: null },
    { domain: 'drift', level: 'read', facility: null },
  ]);
  operator = await createUser(t, org, [
    { domain: 'security', level: 'operate', facility: site },
    { domain: 'cost', level: 'operate', facility: site },
    { domain: 'drift', level: 'operate', facility: site },
  ]);
  author = await createUser(t, org, [
    { domain: 'security', level: 'author', facility: site },
    { domain: 'cost', level: 'author', facility: site },
    { domain: 'drift', level: 'author', facility: site },
  ]);
  securityReader = await createUser(t, org, [
    { domain: 'security', level: 'read', facility: site },
  ]);
});

describe('finding_sync', () => {
  it('is the agent’s alone, from a scan it is running for that connection: a person with operate, a made-up scan and a finished scan are refused and write nothing', async () => {
    const t = db();
    const arn = `arn:aws:ec2:us-east-1:111122223333:security-group/sg-${randomUUID().slice(0, 8)}`;
    const label = randomUUID();
    await sync(agent, label, [cand('sg_open_ssh', arn)]);
    const run = await scans.scan(label, site);
    const before = (await one(label, 'sg_open_ssh', arn)).status;
    // An operator holds operate in every finding domain here, and claims a complete scan that saw nothing.
    await refused(
      t.api.call('finding_sync', operator.caller, site, run.connectionId, run.scanId, ALL, []),
      'forbidden',
      'agent_only',
    );
    await refused(
      t.api.call('finding_sync', agent, site, run.connectionId, randomUUID(), ALL, []),
      'conflict',
      'scan_not_running',
    );
    await t.api.call('scan_finish', agent, run.scanId, 'succeeded', [], {}, [], false);
    await refused(
      t.api.call('finding_sync', agent, site, run.connectionId, run.scanId, ALL, []),
      'conflict',
      'scan_not_running',
    );
    expect((await one(label, 'sg_open_ssh', arn)).status).toBe(before);
    expect(before).toBe('open');
  });

  it('opens a finding once, deduplicates it across scans, and keeps one version while nothing changes', async () => {
    const conn = randomUUID();
    const arn = `arn:aws:ec2:us-east-1:111122223333:security-group/sg-${randomUUID().slice(0, 8)}`;
    const r1 = await sync(agent, conn, [cand('sg_open_ssh', arn, { evidence: { rules: [1] } })]);
    expect(r1).toMatchObject({ seen: 1, opened: 1, resolved: 0 });
    const f1 = await one(conn, 'sg_open_ssh', arn);
    expect(f1).toMatchObject({ status: 'open', version: 1, domain: 'security', severity: 'high' });
    const r2 = await sync(agent, conn, [cand('sg_open_ssh', arn, { evidence: { rules: [1, 2] } })]);
    expect(r2).toMatchObject({ seen: 1, opened: 0, reopened: 0, resolved: 0 });
    const f2 = await one(conn, 'sg_open_ssh', arn);
    expect(f2.id).toBe(f1.id);
    expect(f2.version).toBe(1);
    expect(f2.first_scan_id).toBe(f1.first_scan_id);
    expect(f2.last_scan_id).not.toBe(f1.last_scan_id);
    expect(f2.evidence).toEqual({ rules: [1, 2] });
  });

  it('resolves only on a scan complete for every service the finding depends on, and reopens when it comes back', async () => {
    const conn = randomUUID();
    const idle = 'arn:aws:ec2:us-east-1:111122223333:instance/i-idle';
    const vol = 'arn:aws:ec2:us-east-1:111122223333:volume/vol-loose';
    await sync(agent, conn, [
      cand('ec2_idle', idle, { estimated_monthly_saving_usd: 70.08 }),
      cand('ebs_volume_unattached', vol, {
        resource_type: 'AWS::EC2::Volume',
        estimated_monthly_saving_usd: 8,
      }),
    ]);
    // EC2 complete but CloudWatch partial: the volume is resolved, the idle instance is not.
    const r = await sync(agent, conn, [], ['ec2']);
    expect(r).toMatchObject({ resolved: 1, opened: 0 });
    expect((await one(conn, 'ebs_volume_unattached', vol)).status).toBe('resolved');
    expect((await one(conn, 'ec2_idle', idle)).status).toBe('open');
    // A scan partial for EC2 resolves nothing.
    expect(await sync(agent, conn, [], ['s3', 'iam', 'cloudwatch'])).toMatchObject({ resolved: 0 });
    expect((await one(conn, 'ec2_idle', idle)).status).toBe('open');
    // Complete for both: resolved.
    expect(await sync(agent, conn, [], ['ec2', 'cloudwatch'])).toMatchObject({ resolved: 1 });
    // Back again: reopened, a new version.
    const back = await sync(agent, conn, [
      cand('ebs_volume_unattached', vol, { resource_type: 'AWS::EC2::Volume' }),
    ]);
    expect(back).toMatchObject({ reopened: 1, opened: 0 });
    const f = await one(conn, 'ebs_volume_unattached', vol);
    expect(f).toMatchObject({ status: 'open', version: 3 });
    const t = db();
    const history = await t.api.call<Versions>('finding_get', viewer.caller, f.id);
    expect(history.versions.map((v) => v.content.event)).toEqual([
      'opened',
      'resolved',
      'reopened',
    ]);
    for (let i = 1; i < history.versions.length; i++)
      expect(history.versions[i]!.previous_record_hash).toBe(history.versions[i - 1]!.record_hash);
    const verified = await t.api.call<{ intact: boolean }>('chain_verify', org.admin.caller);
    expect(verified.intact).toBe(true);
  });

  it('keeps an acknowledged finding acknowledged while it is seen, then resolves it', async () => {
    const conn = randomUUID();
    const arn = 'arn:aws:s3:::ack-bucket';
    await sync(agent, conn, [cand('s3_bucket_logging_off', arn)]);
    const f = await one(conn, 's3_bucket_logging_off', arn);
    const acked = await db().api.call<Finding>(
      'finding_acknowledge',
      operator.caller,
      f.id,
      'known, fixing next sprint',
    );
    expect(acked).toMatchObject({ status: 'acknowledged', version: 2 });
    await refused(
      db().api.call('finding_acknowledge', operator.caller, f.id, null),
      'conflict',
      'illegal_transition',
    );
    await sync(agent, conn, [cand('s3_bucket_logging_off', arn)]);
    expect((await one(conn, 's3_bucket_logging_off', arn)).status).toBe('acknowledged');
    await sync(agent, conn, [], ['s3']);
    expect((await one(conn, 's3_bucket_logging_off', arn)).status).toBe('resolved');
  });

  it('suppresses only with author, a reason and an expiry; never by the agent; an expired suppression reopens', async () => {
    const t = db();
    const conn = randomUUID();
    const arn = 'arn:aws:iam::111122223333:root';
    await sync(agent, conn, [
      cand('iam_root_mfa_off', arn, { resource_type: 'AWS::IAM::Root', region: 'global' }),
    ]);
    const f = await one(conn, 'iam_root_mfa_off', arn);
    const until = new Date(Date.now() + 7 * 86_400_000).toISOString();
    await refused(
      t.api.call('finding_suppress', operator.caller, f.id, 'accepted risk', until),
      'forbidden',
      'missing_grant',
    );
    await refused(
      t.api.call('finding_suppress', agent, f.id, 'hide it', until),
      'forbidden',
      'agent_cannot_triage',
    );
    await refused(
      t.api.call('finding_suppress', author.caller, f.id, null, until),
      'invalid_input',
      'invalid_reason',
    );
    await refused(
      t.api.call('finding_suppress', author.caller, f.id, 'accepted risk', null),
      'invalid_input',
      'invalid_expiry',
    );
    await refused(
      t.api.call(
        'finding_suppress',
        author.caller,
        f.id,
        'accepted risk',
        new Date(Date.now() - 1000).toISOString(),
      ),
      'invalid_input',
      'invalid_expiry',
    );
    await refused(
      t.api.call(
        'finding_suppress',
        author.caller,
        f.id,
        'forever',
        new Date(Date.now() + 400 * 86_400_000).toISOString(),
      ),
      'invalid_input',
      'invalid_expiry',
    );
    const s = await t.api.call<Finding>(
      'finding_suppress',
      author.caller,
      f.id,
      'break-glass account, MFA in a safe',
      until,
    );
    expect(s).toMatchObject({ status: 'suppressed', version: 2 });
    // Seen while suppressed: stays suppressed.
    await sync(agent, conn, [
      cand('iam_root_mfa_off', arn, { resource_type: 'AWS::IAM::Root', region: 'global' }),
    ]);
    expect((await one(conn, 'iam_root_mfa_off', arn)).status).toBe('suppressed');
    // Time passes (the expiry moves into the past): the list shows it open, and the next scan records it.
    await t.superuser.query(
      `update core.findings set suppressed_until = now() - interval '1 second' where id = $1`,
      [f.id],
    );
    expect((await one(conn, 'iam_root_mfa_off', arn)).status).toBe('open');
    const r = await sync(agent, conn, [
      cand('iam_root_mfa_off', arn, { resource_type: 'AWS::IAM::Root', region: 'global' }),
    ]);
    expect(r).toMatchObject({ suppression_expired: 1 });
    const history = await t.api.call<Versions>('finding_get', viewer.caller, f.id);
    expect(history.versions.map((v) => v.content.event)).toEqual([
      'opened',
      'suppressed',
      'suppression_expired',
    ]);
    expect(history.status).toBe('open');
  });

  it('reopens an expired suppression even on a partial scan that does not see it; unsuppress needs author', async () => {
    const t = db();
    const conn = randomUUID();
    const arn = 'arn:aws:s3:::suppressed-bucket';
    await sync(agent, conn, [cand('s3_bucket_logging_off', arn)]);
    const f = await one(conn, 's3_bucket_logging_off', arn);
    const until = new Date(Date.now() + 86_400_000).toISOString();
    await t.api.call('finding_suppress', author.caller, f.id, 'logs go elsewhere', until);
    await refused(
      t.api.call('finding_unsuppress', operator.caller, f.id, 'no'),
      'forbidden',
      'missing_grant',
    );
    const u = await t.api.call<Finding>(
      'finding_unsuppress',
      author.caller,
      f.id,
      'logging is required after all',
    );
    expect(u.status).toBe('open');
    await t.api.call('finding_suppress', author.caller, f.id, 'again', until);
    await t.superuser.query(
      `update core.findings set suppressed_until = now() - interval '1 second' where id = $1`,
      [f.id],
    );
    expect(await sync(agent, conn, [], ['ec2'])).toMatchObject({
      suppression_expired: 1,
      resolved: 0,
    });
    expect((await one(conn, 's3_bucket_logging_off', arn)).status).toBe('open');
  });

  it('refuses a repeated scan, a connection moving facility, and candidates outside the caller grants', async () => {
    const t = db();
    const conn = randomUUID();
    const scan = randomUUID();
    await sync(
      agent,
      conn,
      [cand('sg_open_ssh', 'arn:aws:ec2:us-east-1:1:security-group/sg-rep')],
      ALL,
      site,
      scan,
    );
    await refused(sync(agent, conn, [], ALL, site, scan), 'conflict', 'scan_already_synced');
    const other = await createFacility(t, org);
    const agent2 = await agentSession(t, org);
    await refused(sync(agent2, conn, [], ALL, other), 'conflict', 'connection_facility_mismatch');
    const secOnly = await createUser(t, org, [
      { domain: 'security', level: 'operate', facility: site },
    ]);
    await refused(
      sync(secOnly.caller, randomUUID(), [
        cand('ebs_volume_unattached', 'arn:aws:ec2:us-east-1:1:volume/vol-x', {
          resource_type: 'AWS::EC2::Volume',
        }),
      ]),
      'forbidden',
      'missing_grant',
    );
    // A security operator cannot resolve the cost findings of a connection either.
    const c2 = randomUUID();
    await sync(agent, c2, [
      cand('ebs_volume_unattached', 'arn:aws:ec2:us-east-1:1:volume/vol-y', {
        resource_type: 'AWS::EC2::Volume',
      }),
    ]);
    await refused(sync(secOnly.caller, c2, []), 'forbidden', 'missing_grant');
    await refused(
      sync(securityReader.caller, randomUUID(), [
        cand('sg_open_ssh', 'arn:aws:ec2:us-east-1:1:security-group/sg-r'),
      ]),
      'forbidden',
      'missing_grant',
    );
  });

  it('refuses bad candidates with a clear error and writes nothing', async () => {
    const t = db();
    const count = async () =>
      (await t.superuser.query<{ n: number }>('select count(*)::int as n from core.findings'))
        .rows[0]!.n +
      (
        await t.superuser.query<{ n: number }>(
          `select count(*)::int as n from core.records where kind = 'finding'`,
        )
      ).rows[0]!.n;
    const before = await count();
    const good = cand('sg_open_ssh', 'arn:aws:ec2:us-east-1:1:security-group/sg-ok');
    const bad: Array<[unknown, string]> = [
      [{ not: 'a list' }, 'invalid_candidates'],
      [[good, 'x'], 'invalid_candidate'],
      [[good, { ...good, check_id: 'no_such_check' }], 'invalid_candidate'],
      [[{ ...good, resource_arn: 'not-an-arn' }], 'invalid_candidate'],
      [[{ ...good, resource_arn: 'arn:' + 'x'.repeat(3000) }], 'invalid_candidate'],
      [[{ ...good, resource_type: 'AWS::S3::Bucket' }], 'invalid_candidate'],
      [[{ ...good, region: 'Not A Region!' }], 'invalid_candidate'],
      [[{ ...good, domain: 'cost' }], 'invalid_candidate'],
      [[{ ...good, severity: 'low' }], 'invalid_candidate'],
      [[{ ...good, evidence: 'text' }], 'invalid_candidate'],
      [[{ ...good, evidence: { big: 'x'.repeat(20000) } }], 'invalid_candidate'],
      [[{ ...good, estimated_monthly_saving_usd: -5 }], 'invalid_candidate'],
      [[{ ...good, estimated_monthly_saving_usd: 'free' }], 'invalid_candidate'],
      [[{ ...good, extra_field: 1 }], 'invalid_candidate'],
      [[{ ...good, resource_id: '' }], 'invalid_candidate'],
      [[{ ...good, evidence: { key: 'AKIAABCDEFGHIJKLMNOP' } }], 'invalid_candidate'],
      [[{ ...good, resource_id: 'ASIAABCDEFGHIJKLMNOP' }], 'invalid_candidate'],
      [[good, good], 'duplicate_candidate'],
    ];
    for (const [candidates, reason] of bad)
      await refused(
        t.api.call('finding_sync', agent, site, randomUUID(), randomUUID(), ALL, candidates),
        'invalid_input',
        reason,
      );
    await refused(
      t.api.call('finding_sync', agent, site, randomUUID(), randomUUID(), ['ec2', 'lambda'], []),
      'invalid_input',
      'invalid_services',
    );
    await refused(
      t.api.call('finding_sync', agent, site, randomUUID(), randomUUID(), null, []),
      'invalid_input',
      'invalid_services',
    );
    await refused(
      t.api.call('finding_sync', agent, site, null, randomUUID(), ALL, []),
      'invalid_input',
      'invalid_scan',
    );
    await refused(
      t.api.call('finding_sync', agent, null, randomUUID(), randomUUID(), ALL, []),
      'invalid_input',
      'invalid_facility',
    );
    await refused(
      t.api.call('finding_sync', agent, randomUUID(), randomUUID(), randomUUID(), ALL, []),
      'not_found',
      'facility_not_found',
    );
    const e = await refused(
      t.api.call('finding_sync', agent, site, randomUUID(), randomUUID(), ALL, [
        good,
        { ...good, resource_arn: 'x' },
      ]),
      'invalid_input',
    );
    expect(e.message).toContain('candidate 1');
    expect(await count()).toBe(before);
  });
});

describe('finding queries', () => {
  let conn: string;
  beforeAll(async () => {
    const label = randomUUID();
    const c: unknown[] = [];
    for (let i = 0; i < 5; i++)
      c.push(cand('sg_open_ssh', `arn:aws:ec2:us-east-1:1:security-group/sg-q${i}`));
    for (let i = 0; i < 4; i++)
      c.push(
        cand('ebs_volume_unattached', `arn:aws:ec2:us-east-1:1:volume/vol-q${i}`, {
          resource_type: 'AWS::EC2::Volume',
          estimated_monthly_saving_usd: 10 + i,
        }),
      );
    c.push(cand('tags_missing', 'arn:aws:ec2:us-east-1:1:instance/i-q0'));
    await sync(agent, label, c);
    conn = await scans.connection(label, site);
  });

  it('filters by facility, domain, severity, status, check and resource, and sorts', async () => {
    expect(await findings(viewer.caller, { connection_id: conn })).toHaveLength(10);
    expect(await findings(viewer.caller, { connection_id: conn, domain: 'cost' })).toHaveLength(4);
    expect(await findings(viewer.caller, { connection_id: conn, severity: 'high' })).toHaveLength(
      5,
    );
    expect(
      await findings(viewer.caller, { connection_id: conn, check_id: 'tags_missing' }),
    ).toHaveLength(1);
    expect(await findings(viewer.caller, { connection_id: conn, resource: 'vol-q2' })).toHaveLength(
      1,
    );
    expect(await findings(viewer.caller, { connection_id: conn, resource: '%' })).toHaveLength(0);
    expect(
      await findings(viewer.caller, { connection_id: conn, status: 'open', facility_id: site }),
    ).toHaveLength(10);
    expect(await findings(viewer.caller, { connection_id: conn, status: 'resolved' })).toHaveLength(
      0,
    );
    const bySaving = await findings(viewer.caller, {
      connection_id: conn,
      domain: 'cost',
      sort: 'saving',
    });
    expect(bySaving.map((f) => Number(f.estimated_monthly_saving_usd))).toEqual([13, 12, 11, 10]);
    const bySeverity = await findings(viewer.caller, { connection_id: conn });
    expect(bySeverity[0]!.severity).toBe('high');
    expect(bySeverity.at(-1)!.severity).toBe('low');
  });

  it('pages with a keyset cursor without losing or repeating a finding', async () => {
    const t = db();
    for (const sort of ['severity', 'last_seen', 'first_seen', 'saving']) {
      const ids: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 10; page++) {
        const r: { items: Finding[]; next_cursor: string | null } = await t.api.call(
          'finding_list',
          viewer.caller,
          {
            connection_id: conn,
            sort,
            limit: 3,
            ...(cursor ? { cursor } : {}),
          },
        );
        ids.push(...r.items.map((f) => f.id));
        cursor = r.next_cursor;
        if (!cursor) break;
      }
      expect(ids).toHaveLength(10);
      expect(new Set(ids).size).toBe(10);
    }
    await refused(
      t.api.call('finding_list', viewer.caller, { cursor: 'bm90IGEgY3Vyc29y' }),
      'invalid_input',
      'invalid_cursor',
    );
  });

  it('refuses a cursor whose first key does not fit its sort (each sort reads its own index, 090)', async () => {
    const t = db();
    const page = await t.api.call<{ items: Finding[]; next_cursor: string }>(
      'finding_list',
      viewer.caller,
      { connection_id: conn, limit: 3 },
    );
    const [rank, at, id, sort] = JSON.parse(
      Buffer.from(page.next_cursor, 'base64').toString('utf8'),
    ) as [number, string, string, string];
    expect(sort).toBe('severity');
    const cursor = (k: unknown[]) => Buffer.from(JSON.stringify(k)).toString('base64');
    // The real cursor works; the same position with a first key no page of that sort can produce is
    // refused: a fractional or out-of-range severity rank, a non-zero key for the orders by time, a
    // saving below -1, a missing time.
    await t.api.call('finding_list', viewer.caller, {
      connection_id: conn,
      limit: 3,
      cursor: cursor([rank, at, id, sort]),
    });
    for (const k of [
      [2.5, at, id, 'severity'],
      [9, at, id, 'severity'],
      [3, at, id, 'last_seen'],
      [1, at, id, 'first_seen'],
      [-2, at, id, 'saving'],
      [rank, null, id, 'severity'],
    ])
      await refused(
        t.api.call('finding_list', viewer.caller, { connection_id: conn, cursor: cursor(k) }),
        'invalid_input',
        'invalid_cursor',
      );
  });

  it('shows each caller only the domains and facilities they may read', async () => {
    const t = db();
    const seen = await findings(securityReader.caller, { connection_id: conn });
    expect(seen).toHaveLength(5);
    expect(new Set(seen.map((f) => f.domain))).toEqual(new Set(['security']));
    const costFinding = (
      await findings(viewer.caller, { connection_id: conn, domain: 'cost' })
    )[0]!;
    await refused(
      t.api.call('finding_get', securityReader.caller, costFinding.id),
      'forbidden',
      'missing_grant',
    );
    const counts = await t.api.call<{ active: number; by_domain: Record<string, number> }>(
      'finding_counts',
      securityReader.caller,
      {
        connection_id: conn,
      },
    );
    expect(counts.active).toBe(5);
    expect(counts.by_domain).toEqual({ security: 5, cost: 0, drift: 0 });
    const stranger = await createUser(t, org, []);
    expect(await findings(stranger.caller, { connection_id: conn })).toHaveLength(0);
  });

  it('narrows the list to an API token’s scope, within its owner’s grants (095: one statement for three domains)', async () => {
    const t = db();
    const all = await findings(viewer.caller, { connection_id: conn });
    const domains = new Set(all.map((f) => f.domain));
    expect(domains.size).toBeGreaterThan(1);
    const costOnly = await t.api.call<{ token: string }>(
      'api_token_create',
      viewer.caller,
      'cost dashboards',
      1,
      [{ domain: 'cost', level: 'read', facility_id: site }],
    );
    const seen = await findings({ token: costOnly.token }, { connection_id: conn });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.map((f) => f.id).sort()).toEqual(
      all
        .filter((f) => f.domain === 'cost')
        .map((f) => f.id)
        .sort(),
    );
    // A scope naming another facility shows nothing here.
    const elsewhere = await createFacility(t, org);
    const other = await t.api.call<{ token: string }>(
      'api_token_create',
      viewer.caller,
      'another site',
      1,
      [{ domain: 'security', level: 'read', facility_id: elsewhere }],
    );
    expect(await findings({ token: other.token }, { connection_id: conn })).toHaveLength(0);
  });

  it('keeps finding versions out of reach of the generic record functions beyond the caller grants', async () => {
    const t = db();
    const configReader = await createUser(t, org, [
      { domain: 'configuration', level: 'read', facility: site },
    ]);
    expect(
      await t.api.call<unknown[]>('record_list', configReader.caller, 'finding', site),
    ).toEqual([]);
    const listed = await t.api.call<Array<{ domain: string }>>(
      'record_list',
      securityReader.caller,
      'finding',
      site,
    );
    expect(listed.length).toBeGreaterThan(0);
    expect(new Set(listed.map((r) => r.domain))).toEqual(new Set(['security']));
    await refused(
      t.api.call('record_propose', author.caller, 'finding', site, null, 'x', {}, 'forged', 'no'),
      'rule_violation',
      'not_change_managed',
    );
  });

  it('counts for dashboards: by status, severity, domain, and the estimated monthly savings', async () => {
    const counts = await db().api.call<Record<string, unknown>>('finding_counts', viewer.caller, {
      connection_id: conn,
    });
    expect(counts).toMatchObject({
      total: 10,
      active: 10,
      by_status: { open: 10, acknowledged: 0, suppressed: 0, resolved: 0 },
      by_severity: { critical: 0, high: 5, medium: 4, low: 1, informational: 0 },
      by_domain: { security: 5, cost: 4, drift: 1 },
    });
    expect(Number(counts.estimated_monthly_savings_usd)).toBe(46);
  });

  it('refuses bad filters', async () => {
    const t = db();
    for (const [filter, reason] of [
      [{ color: 'red' }, 'invalid_filter'],
      [{ domain: 'audit' }, 'invalid_domain'],
      [{ severity: 'huge' }, 'invalid_severity'],
      [{ status: 'gone' }, 'invalid_status'],
      [{ sort: 'random' }, 'invalid_sort'],
      [{ limit: 0 }, 'invalid_limit'],
      [{ limit: 'many' }, 'invalid_limit'],
      [{ facility_id: 'x' }, 'invalid_filter'],
      [{ check_id: 'DROP TABLE' }, 'invalid_check'],
      [{ resource: { nested: 1 } }, 'invalid_filter'],
    ] as const)
      await refused(t.api.call('finding_list', viewer.caller, filter), 'invalid_input', reason);
    await refused(
      t.api.call('finding_counts', viewer.caller, { domain: 'cost' }),
      'invalid_input',
      'invalid_filter',
    );
    await refused(
      t.api.call('finding_get', viewer.caller, randomUUID()),
      'not_found',
      'finding_not_found',
    );
  });
});

// Last: it breaks the organization's chain on purpose.
describe('finding versions and the chains', () => {
  it('are exported and verified offline, and a changed version is detected', async () => {
    const t = db();
    const conn = randomUUID();
    const arn = 'arn:aws:ec2:us-east-1:1:security-group/sg-chain';
    await sync(agent, conn, [cand('sg_open_ssh', arn)]);
    await sync(agent, conn, [], ['ec2']);
    const offline = verifyExport(await collect(exportRows(t.api, org.admin.caller)));
    expect(offline.intact).toBe(true);
    expect(offline.counts['core.finding_versions'] ?? 0).toBeGreaterThanOrEqual(2);
    const f = await one(conn, 'sg_open_ssh', arn);
    // A superuser with triggers disabled rewrites the history of the finding: both verifiers notice.
    const c = await t.superuser.connect();
    try {
      await c.query('begin');
      await c.query('set local session_replication_role = replica');
      await c.query(
        `update core.records set content = jsonb_set(content, '{status}', '"open"')
          where kind = 'finding' and id = $1 and version = 2`,
        [f.id],
      );
      await c.query('commit');
    } finally {
      c.release();
    }
    const sql = await t.api.call<{ intact: boolean; problems: Array<{ problem: string }> }>(
      'chain_verify',
      org.admin.caller,
    );
    expect(sql.intact).toBe(false);
    expect(sql.problems.map((p) => p.problem)).toContain('hash_mismatch');
    const ts = verifyExport(await collect(exportRows(t.api, org.admin.caller)));
    expect(ts.intact).toBe(false);
  });
});
