// Issue 6 end to end: the real scanner (assume-role, the read-only firewall, the collectors, the AWS
// SDK against the sandbox over HTTP), then the findings engine over what it collected and the findings
// reconciled in the database. For generated accounts the stored findings are exactly the sandbox's
// answer key — every planted problem, nothing on a clean resource or a trap. Then a problem fixed in
// the account is resolved by the next complete scan, and a region that fails keeps its findings.
import {
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { createConnection, testConnection, type CloudDeps } from '../../src/cloud/connections.js';
import { fingerprintAccessKeyId } from '../../src/cloud/inventory.js';
import { runScan, type ScannerDeps } from '../../src/cloud/scanner.js';
import type { Caller } from '../../src/db/api.js';
import { createLogger } from '../../src/logger.js';
import type { AnswerKeyEntry } from '../../src/sandbox/index.js';
import { useTestDatabase } from '../support/db.js';
import {
  agentSession,
  createFacility,
  createOrg,
  createUser,
  type TestOrg,
  type TestUser,
} from '../support/fixtures.js';
import { cloudDeps, customerRole, useSandbox } from '../support/cloud.js';

const db = useTestDatabase();
const sandbox = useSandbox({
  accounts: [
    {
      seed: 'e2e-findings',
      size: 120,
      regions: ['us-east-1', 'eu-west-1'],
      include: ['cloudtrail_missing', 's3_bucket_no_encryption'],
    },
    {
      seed: 'e2e-traps',
      size: 90,
      regions: ['eu-west-1'],
      omit: ['s3_account_public_access_block_off'],
    },
  ],
});
let org: TestOrg;
let deps: CloudDeps;
let scanner: ScannerDeps;
let agent: Caller;
/** Reads every finding domain organization-wide (the administrator holds configuration and audit). */
let viewer: TestUser;

interface Finding {
  id: string;
  check_id: string;
  resource_type: string;
  resource_id: string;
  region: string;
  status: string;
  domain: string;
}

beforeAll(async () => {
  const t = db();
  org = await createOrg(t);
  deps = cloudDeps(t.api, sandbox());
  agent = await agentSession(t, org);
  viewer = await createUser(t, org, [
    { domain: 'security', level: 'read', facility: null },
    { domain: 'cost', level: 'read', facility: null },
    { domain: 'drift', level: 'read', facility: null },
  ]);
  scanner = {
    ...deps,
    logger: createLogger({
      level: 'warn',
      destination: new Writable({ write: (_c, _e, cb) => cb() }),
    }),
    limits: { concurrency: 8, ratePerSecond: 1000, serviceBudgetMs: 60_000 },
  };
});

async function connect(accountId: string, roleName: string): Promise<string> {
  const facility = await createFacility(db(), org);
  const c = await createConnection(deps, org.admin.caller, {
    facilityId: facility,
    accountId,
    roleArn: `arn:aws:iam::${accountId}:role/${roleName}`,
  });
  await customerRole(sandbox(), accountId, {
    name: roleName,
    externalIds: [c.external_ids[0]!.external_id],
  });
  const { connection } = await testConnection(deps, org.admin.caller, c.id);
  expect(connection.status).toBe('active');
  return c.id;
}

async function scan(
  connectionId: string,
): Promise<{ status: string; summary: Record<string, unknown> }> {
  const s = await db().api.call<{ id: string }>(
    'scan_start',
    org.admin.caller,
    connectionId,
    'manual',
  );
  await runScan(scanner, agent, org.id, s.id);
  return await db().api.call('scan_get', org.admin.caller, s.id);
}

async function findings(connectionId: string, status = 'active'): Promise<Finding[]> {
  const all: Finding[] = [];
  let cursor: string | undefined;
  do {
    const page: { items: Finding[]; next_cursor: string | null } = await db().api.call(
      'finding_list',
      viewer.caller,
      {
        connection_id: connectionId,
        status,
        limit: 500,
        ...(cursor ? { cursor } : {}),
      },
    );
    all.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return all;
}

const key = (check: string, type: string, id: string, region: string): string =>
  `${check}|${type}|${id}|${region}`;

function expected(answer: AnswerKeyEntry[]): string[] {
  return answer
    .map((a) =>
      key(
        a.problem,
        a.resourceType,
        a.resourceType === 'AWS::IAM::AccessKey'
          ? fingerprintAccessKeyId(a.resourceId)
          : a.resourceId,
        a.region,
      ),
    )
    .sort();
}

describe('scan → findings, against the answer key', () => {
  it('stores exactly the planted problems of an account, opt-in problems included', async () => {
    const acct = sandbox().accounts[0]!.accountId;
    const conn = await connect(acct, 'AxiomScanE2E');
    const s = await scan(conn);
    expect(s.status).toBe('succeeded');
    const answer = sandbox().control.answerKey(acct);
    expect(answer.length).toBeGreaterThan(30);
    const got = (await findings(conn))
      .map((f) => key(f.check_id, f.resource_type, f.resource_id, f.region))
      .sort();
    expect(got).toEqual(expected(answer));
    // The scan's summary carries what the dashboard charts: findings by severity and domain.
    const summary = s.summary as {
      findings?: { bySeverity: Record<string, number>; sync: { opened: number } };
    };
    expect(summary.findings?.sync.opened).toBe(answer.length);
    expect(Object.values(summary.findings?.bySeverity ?? {}).reduce((a, b) => a + b, 0)).toBe(
      answer.length,
    );
  });

  it('flags no trap: the account block masks public ACLs and policies, restricted policies are not public', async () => {
    const acct = sandbox().accounts[1]!.accountId;
    const conn = await connect(acct, 'AxiomScanTraps');
    expect((await scan(conn)).status).toBe('succeeded');
    const got = (await findings(conn))
      .map((f) => key(f.check_id, f.resource_type, f.resource_id, f.region))
      .sort();
    expect(got).toEqual(expected(sandbox().control.answerKey(acct)));
    const traps = sandbox().control.traps(acct);
    expect(traps.length).toBeGreaterThan(3);
    for (const trap of traps) {
      const hit = got.filter(
        (k) => k.startsWith(`${trap.looksLike}|`) && k.includes(`|${trap.resourceId}|`),
      );
      expect({ trap: trap.trap, hit }).toEqual({ trap: trap.trap, hit: [] });
    }
  });

  it('resolves a fixed problem on the next complete scan, and keeps the findings of a region that failed', async () => {
    const acct = sandbox().accounts[0]!.accountId;
    const conn = (
      await db().api.call<Array<{ id: string; account_id: string }>>(
        'connection_list',
        org.admin.caller,
        null,
      )
    ).find((c) => c.account_id === acct)!.id;
    const before = await findings(conn);
    const ssh = before.find((f) => f.check_id === 'sg_open_ssh' && f.region === 'us-east-1')!;
    expect(ssh).toBeDefined();
    // The customer closes the group's open ingress rules (as their administrator, not through Axiom).
    const sb = sandbox();
    const ec2 = new EC2Client({
      endpoint: sb.endpoint,
      region: 'us-east-1',
      credentials: sb.control.adminCredentials(acct),
    });
    const rules = await ec2.send(
      new DescribeSecurityGroupRulesCommand({
        Filters: [{ Name: 'group-id', Values: [ssh.resource_id] }],
      }),
    );
    const open = (rules.SecurityGroupRules ?? []).filter(
      (r) => !r.IsEgress && (r.CidrIpv4 === '0.0.0.0/0' || r.CidrIpv6 === '::/0'),
    );
    expect(open.length).toBeGreaterThan(0);
    await ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: ssh.resource_id,
        SecurityGroupRuleIds: open.map((r) => r.SecurityGroupRuleId!),
      }),
    );
    // eu-west-1's EC2 fails during the next scan: its EC2 findings must stay as they were.
    const fault = sb.control.injectFault({
      kind: 'error',
      service: 'ec2',
      operation: '*',
      region: 'eu-west-1',
      status: 503,
      rate: 1,
    });
    try {
      const s = await scan(conn);
      expect(s.status).toBe('partial');
    } finally {
      sb.control.removeFault(fault);
    }
    const after = await findings(conn, 'resolved');
    // EC2 was not complete in every region: nothing of EC2 is resolved yet, in either region.
    expect(
      after.filter((f) => f.domain !== 'drift' && f.resource_type.startsWith('AWS::EC2::')),
    ).toEqual([]);
    const complete = await scan(conn);
    expect(complete.status).toBe('succeeded');
    const resolved = await findings(conn, 'resolved');
    expect(resolved.map((f) => f.id)).toContain(ssh.id);
    const euBefore = before.filter((f) => f.region === 'eu-west-1').map((f) => f.id);
    const stillActive = (await findings(conn)).map((f) => f.id);
    for (const id of euBefore) expect(stillActive).toContain(id);
  });
});
