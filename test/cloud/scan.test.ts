// Scans end to end against the sandbox (issue 5): assume the role made from Axiom's generated
// policies, collect every service in every region, ingest, record what changed; throttling, a
// regional outage, a deleted role, one scan at a time; credentials never stored.
import { DeleteVolumeCommand, CreateTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createConnection,
  testConnection,
  type CloudDeps,
  type Connection,
} from '../../src/cloud/connections.js';
import { READ_ALLOWLIST } from '../../src/cloud/firewall.js';
import type { AnyInventoryResource } from '../../src/cloud/inventory.js';
import { runScan, type ScannerDeps } from '../../src/cloud/scanner.js';
import type { Caller } from '../../src/db/api.js';
import { createLogger } from '../../src/logger.js';
import { useTestDatabase } from '../support/db.js';
import {
  agentSession,
  createFacility,
  createOrg,
  refused,
  type TestOrg,
} from '../support/fixtures.js';
import { cloudDeps, customerRole, searchEveryTable, useSandbox } from '../support/cloud.js';

const db = useTestDatabase();
const sandbox = useSandbox({
  accounts: [{ seed: 'scan-test', size: 30, regions: ['us-east-1', 'eu-west-1'] }],
});
let org: TestOrg;
let deps: CloudDeps;
let scanner: ScannerDeps;
let acct: string;
let agent: Caller;
const logs: string[] = [];

type Item = AnyInventoryResource & {
  removed_at: string | null;
  first_seen_scan_id: string;
  last_seen_scan_id: string;
};

beforeAll(async () => {
  const t = db();
  org = await createOrg(t);
  deps = cloudDeps(t.api, sandbox());
  acct = sandbox().accounts[0]!.accountId;
  agent = await agentSession(t, org);
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  scanner = {
    ...deps,
    logger: createLogger({ level: 'debug', destination: sink }),
    limits: { concurrency: 8, ratePerSecond: 1000, serviceBudgetMs: 60_000 },
  };
});

async function activeConnection(roleName: string): Promise<Connection> {
  const facility = await createFacility(db(), org);
  const c = await createConnection(deps, org.admin.caller, {
    facilityId: facility,
    accountId: acct,
    roleArn: `arn:aws:iam::${acct}:role/${roleName}`,
  });
  await customerRole(sandbox(), acct, {
    name: roleName,
    externalIds: [c.external_ids[0]!.external_id],
  });
  const { connection } = await testConnection(deps, org.admin.caller, c.id);
  expect(connection.status).toBe('active');
  return connection;
}

async function scan(c: Connection) {
  const s = await db().api.call<{ id: string }>('scan_start', org.admin.caller, c.id, 'manual');
  const outcome = await runScan(scanner, agent, org.id, s.id);
  const stored = await db().api.call<{
    status: string;
    errors: Array<{ unit: string; code: string; message: string }>;
    summary: {
      changes: { added: number; changed: number; removed: number; resources: number };
      throttles: number;
    };
    progress: { units_total: number; units_done: number; resources_found: number };
  }>('scan_get', org.admin.caller, s.id);
  return { id: s.id, outcome, stored };
}

async function inventory(c: Connection, filters: Record<string, unknown> = {}): Promise<Item[]> {
  const all: Item[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: Item[]; next_cursor: string | null } = await db().api.call(
      'inventory_list',
      org.admin.caller,
      c.id,
      filters,
      cursor,
      1000,
    );
    all.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return all;
}

let main: Connection;
let first: Awaited<ReturnType<typeof scan>>;

describe('a scan', () => {
  it('finds every planted resource through the generated read-only policy, and nothing is refused or read', async () => {
    const sb = sandbox();
    main = await activeConnection('AxiomScanMain');
    sb.control.clearCalls();
    first = await scan(main);
    expect(first.stored.errors).toEqual([]);
    expect(first.stored.status).toBe('succeeded');
    expect(first.stored.progress.units_done).toBe(first.stored.progress.units_total);
    const items = await inventory(main);
    expect(items.length).toBe(first.outcome.resources);
    expect(first.stored.summary.changes).toMatchObject({
      added: items.length,
      changed: 0,
      removed: 0,
    });
    const have = new Set(items.map((i) => `${i.type}|${i.resourceId}`));
    const key = sb.control.answerKey(acct).filter((e) => e.resourceType !== 'AWS::::Account');
    const missing = key
      .map((e) =>
        e.resourceType === 'AWS::IAM::AccessKey' ? null : `${e.resourceType}|${e.resourceId}`,
      )
      .filter((k): k is string => k !== null && !have.has(k));
    expect(missing).toEqual([]);
    for (const type of [
      'AWS::S3::AccountPublicAccessBlock',
      'AWS::IAM::Root',
      'AWS::IAM::PasswordPolicy',
      'AWS::EC2::EbsEncryptionByDefault',
    ])
      expect(
        items.some((i) => i.type === type),
        type,
      ).toBe(true);
    // Utilization came from CloudWatch.
    expect(items.some((i) => i.type === 'AWS::EC2::Instance' && i.data.utilization !== null)).toBe(
      true,
    );
    // Only allowlisted reads left the process; nothing was refused; no content was read.
    const calls = sb.control.calls({ accountId: acct });
    const allowed = new Set(Object.values(READ_ALLOWLIST).flat());
    expect(
      calls
        .filter((x) => x.operation !== 'AssumeRole' && !allowed.has(x.operation))
        .map((x) => x.operation),
    ).toEqual([]);
    expect(
      calls.filter((x) => x.status >= 400 && !/^NoSuch|NotFound/.test(x.errorCode ?? '')),
    ).toEqual([]);
    // Access keys are named by fingerprint, and Axiom's own role is not inventoried.
    expect(items.some((i) => i.type === 'AWS::IAM::Role' && i.resourceId === 'AxiomScanMain')).toBe(
      false,
    );
    expect(JSON.stringify(items)).not.toMatch(/(AKIA|ASIA)[A-Z0-9]{16}/);
  });

  it('leaves no trace of the session credentials or the role ARN in the database or the logs', async () => {
    const sb = sandbox();
    const engine = (
      sb.control as unknown as {
        engine: {
          credentials: Map<
            string,
            { accessKeyId: string; secret: string; session?: { roleName: string; token: string } }
          >;
        };
      }
    ).engine;
    const sessions = [...engine.credentials.values()].filter(
      (c) => c.session?.roleName === 'AxiomScanMain',
    );
    expect(sessions.length).toBeGreaterThan(0);
    const needles = sessions.flatMap((c) => [c.accessKeyId, c.secret, c.session!.token]);
    expect(
      await searchEveryTable(db(), [...needles, `arn:aws:iam::${acct}:role/AxiomScanMain`]),
    ).toEqual([]);
    const text = logs.join('');
    expect(text).toContain('scan finished');
    for (const n of [...needles, 'AxiomScanMain']) expect(text).not.toContain(n);
    // Nor in what the API answers about the scan.
    const answer = JSON.stringify(await db().api.call('scan_get', org.admin.caller, first.id));
    for (const n of needles) expect(answer).not.toContain(n);
  });

  it('records nothing changed on a rescan, then exactly what changed in the cloud', async () => {
    const sb = sandbox();
    const again = await scan(main);
    expect(again.stored.summary.changes).toMatchObject({ added: 0, changed: 0, removed: 0 });
    const before = await inventory(main);
    const volume = before.find(
      (i) =>
        i.type === 'AWS::EC2::Volume' && i.region === 'us-east-1' && i.data.state === 'available',
    )!;
    const instance = before.find(
      (i) => i.type === 'AWS::EC2::Instance' && i.region === 'us-east-1',
    )!;
    const ec2 = new EC2Client({
      endpoint: sb.endpoint,
      region: 'us-east-1',
      credentials: sb.accounts[0]!.adminCredentials,
    });
    await ec2.send(new DeleteVolumeCommand({ VolumeId: volume.resourceId }));
    await ec2.send(
      new CreateTagsCommand({
        Resources: [instance.resourceId],
        Tags: [{ Key: 'Owner', Value: 'team-x' }],
      }),
    );
    ec2.destroy();
    const third = await scan(main);
    const changes = await db().api.call<{
      items: Array<{ arn: string; type: string; change: string }>;
    }>('scan_changes', org.admin.caller, third.id);
    // The customer admin's own key was used to make the change: its last-used date changed too.
    const admin = changes.items.filter(
      (c) => c.type === 'AWS::IAM::AccessKey' && c.arn.includes(':user/sandbox-admin/'),
    );
    expect(admin.map((c) => c.change)).toEqual(['changed']);
    expect(
      changes.items
        .filter((c) => !admin.includes(c))
        .map((c) => [c.arn, c.change])
        .sort(),
    ).toEqual(
      [
        [instance.arn, 'changed'],
        [volume.arn, 'removed'],
      ].sort(),
    );
    expect(third.stored.summary.changes).toMatchObject({ added: 0, changed: 2, removed: 1 });
    const after = await inventory(main, { removed: true });
    const gone = after.find((i) => i.arn === volume.arn)!;
    expect(gone.removed_at).not.toBeNull();
    const tagged = after.find((i) => i.arn === instance.arn)!;
    expect(tagged.tags.Owner).toBe('team-x');
    expect(tagged.first_seen_scan_id).toBe(first.id);
    expect(tagged.last_seen_scan_id).toBe(third.id);
    expect((await inventory(main)).some((i) => i.arn === volume.arn)).toBe(false);
  });

  it('completes with complete results when 30% of calls are throttled', async () => {
    const sb = sandbox();
    const expected = (await inventory(main)).length;
    const fault = sb.control.injectFault({
      kind: 'throttle',
      service: '*',
      accountId: acct,
      rate: 0.3,
    });
    try {
      const s = await scan(main);
      expect(s.stored.errors).toEqual([]);
      expect(s.stored.status).toBe('succeeded');
      expect(s.stored.summary.throttles).toBeGreaterThan(10);
      expect(s.stored.summary.changes).toMatchObject({ added: 0, removed: 0, resources: expected });
    } finally {
      sb.control.removeFault(fault);
    }
  });

  it('is partial when a region answers 5xx: the exact AWS error is kept, the other regions complete', async () => {
    const sb = sandbox();
    const fault = sb.control.injectFault({
      kind: 'error',
      service: 'ec2',
      accountId: acct,
      region: 'eu-west-1',
      status: 503,
    });
    let s: Awaited<ReturnType<typeof scan>>;
    try {
      s = await scan(main);
    } finally {
      sb.control.removeFault(fault);
    }
    expect(s.stored.status).toBe('partial');
    expect(s.stored.errors.map((e) => [e.unit, e.code])).toEqual([
      ['ec2:eu-west-1', 'Unavailable'],
    ]);
    const items = await inventory(main);
    const ec2Us = items.filter((i) => i.type === 'AWS::EC2::Volume' && i.region === 'us-east-1');
    const ec2Eu = items.filter((i) => i.type === 'AWS::EC2::Volume' && i.region === 'eu-west-1');
    expect(ec2Us.length).toBeGreaterThan(0);
    expect(ec2Us.every((i) => i.last_seen_scan_id === s.id)).toBe(true);
    // Not seen, but not removed either: their region was not collected.
    expect(ec2Eu.length).toBeGreaterThan(0);
    expect(ec2Eu.every((i) => i.last_seen_scan_id !== s.id && i.removed_at === null)).toBe(true);
    expect(s.stored.summary.changes.removed).toBe(0);
  });

  it('one scan per connection at a time', async () => {
    const t = db();
    const s = await t.api.call<{ id: string }>('scan_start', org.admin.caller, main.id, 'manual');
    await refused(
      t.api.call('scan_start', org.admin.caller, main.id, 'manual'),
      'conflict',
      'scan_in_progress',
    );
    await runScan(scanner, agent, org.id, s.id);
    await refused(runScan(scanner, agent, org.id, s.id), 'conflict', 'scan_not_queued');
  });

  it('marks the connection revoked when the role was deleted, audited; other connections go on', async () => {
    const t = db();
    const sb = sandbox();
    const doomed = await activeConnection('AxiomScanDoomed');
    expect(sb.control.deleteRole(acct, 'AxiomScanDoomed')).toBe(true);
    const s = await scan(doomed);
    expect(s.stored.status).toBe('failed');
    expect(s.stored.errors).toMatchObject([{ unit: 'sts:global', code: 'AccessDenied' }]);
    expect(s.stored.errors[0]!.message).not.toContain('AxiomScanDoomed');
    const c = await t.api.call<Connection>('connection_get', org.admin.caller, doomed.id);
    expect(c.status).toBe('revoked');
    const { rows } = await t.superuser.query<{ event_type: string }>(
      `select event_type from audit.audit_events where target_id = $1 and event_type in ('connection.status_changed', 'connection.assume_failed')`,
      [doomed.id],
    );
    expect(rows.map((r) => r.event_type).sort()).toEqual([
      'connection.assume_failed',
      'connection.status_changed',
      'connection.status_changed',
    ]);
    await refused(
      t.api.call('scan_start', org.admin.caller, doomed.id, 'manual'),
      'conflict',
      'connection_not_active',
    );
    expect((await t.api.call<Connection>('connection_get', org.admin.caller, main.id)).status).toBe(
      'active',
    );
  });
});
