// Real connections and running scans for tests that reconcile findings: api.finding_sync accepts only
// the agent, reconciling a scan it is running for that connection (migration 060). Tests name
// connections and scans by labels of their own; each label maps to a real connection or scan here.
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createConnection } from '../../src/cloud/connections.js';
import type { Caller } from '../../src/db/api.js';
import { DataKeys } from '../../src/security/datakeys.js';
import { LocalKeyFile } from '../../src/security/kek.js';
import { KekRing } from '../../src/security/kms.js';
import type { TestDatabase } from './db.js';
import type { TestOrg } from './fixtures.js';

export interface ScanFixture {
  /** The real connection behind a label (created at `facility` the first time). */
  connection(label: string, facility: string): Promise<string>;
  /**
   * A running scan of the labelled connection: the same one for the same scan label, else the previous
   * scan is finished and a new one started and claimed by the agent.
   */
  scan(
    connectionLabel: string,
    facility: string,
    scanLabel?: string,
  ): Promise<{ connectionId: string; scanId: string }>;
}

/** The organization's data keys and the deps connection functions take, as the server has them. */
export function connectionDeps(t: TestDatabase): {
  api: TestDatabase['api'];
  dataKeys: DataKeys;
  settings: { platformAccountId: string };
} {
  const keys = new DataKeys(t.api, new KekRing(LocalKeyFile.open(inject('cluster').kekFile)));
  return { api: t.api, dataKeys: keys, settings: { platformAccountId: '111111111111' } };
}

/**
 * A connection of `facility` made as the organization's administrator and marked tested (active):
 * to `accountId` (random unless given) through `roleArn` (a scan role of that account unless given).
 */
export async function activeConnection(
  t: TestDatabase,
  org: TestOrg,
  facility: string,
  opts: { accountId?: string; roleArn?: string } = {},
): Promise<
  Awaited<ReturnType<typeof createConnection>> & { accountId: string; dataKeyId: string }
> {
  const deps = connectionDeps(t);
  const accountId =
    opts.accountId ?? String(100_000_000_000 + Math.floor(Math.random() * 899_999_999_999));
  const conn = await createConnection(deps, org.admin.caller, {
    facilityId: facility,
    accountId,
    roleArn:
      opts.roleArn ?? `arn:aws:iam::${accountId}:role/axiom-scan-${randomUUID().slice(0, 8)}`,
  });
  const report = await deps.dataKeys.seal(
    org.admin.caller,
    org.id,
    '{}',
    `connection:${org.id}:${conn.id}:state`,
  );
  await t.api.call(
    'connection_test_result',
    org.admin.caller,
    conn.id,
    true,
    { code: 'ok' },
    report.sealed,
    report.dataKeyId,
  );
  return { ...conn, accountId, dataKeyId: report.dataKeyId };
}

export function scanFixture(t: TestDatabase, org: TestOrg, agent: Caller): ScanFixture {
  const connections = new Map<string, { id: string; running?: string }>();
  const scans = new Map<string, { connectionId: string; scanId: string }>();

  const connection = async (label: string, facility: string): Promise<string> => {
    const known = connections.get(label);
    if (known) return known.id;
    const conn = await activeConnection(t, org, facility);
    connections.set(label, { id: conn.id });
    return conn.id;
  };

  const scan = async (
    connectionLabel: string,
    facility: string,
    scanLabel?: string,
  ): Promise<{ connectionId: string; scanId: string }> => {
    if (scanLabel && scans.has(scanLabel)) return scans.get(scanLabel)!;
    const connectionId = await connection(connectionLabel, facility);
    const c = connections.get(connectionLabel)!;
    if (c.running)
      await t.api.call('scan_finish', agent, c.running, 'succeeded', [], {}, [], false);
    const s = await t.api.call<{ id: string }>(
      'scan_start',
      org.admin.caller,
      connectionId,
      'manual',
    );
    await t.api.call('scan_claim', agent, s.id);
    c.running = s.id;
    const r = { connectionId, scanId: s.id };
    if (scanLabel) scans.set(scanLabel, r);
    return r;
  };

  return { connection, scan };
}

/**
 * Two findings at `facility` as the agent records them after a scan labelled `tag`: an SSH-open
 * security group (high, security) and an unassociated Elastic IP (low, cost, $3.65 a month).
 */
export async function syncTwoFindings(
  t: TestDatabase,
  org: TestOrg,
  agent: Caller,
  facility: string,
  tag: string,
): Promise<void> {
  const run = await scanFixture(t, org, agent).scan(tag, facility);
  await t.api.call(
    'finding_sync',
    agent,
    facility,
    run.connectionId,
    run.scanId,
    ['ec2'],
    [
      {
        check_id: 'sg_open_ssh',
        resource_arn: `arn:aws:ec2:us-east-1:123456789012:security-group/sg-${tag}`,
        resource_type: 'AWS::EC2::SecurityGroup',
        resource_id: `sg-${tag}`,
        region: 'us-east-1',
        evidence: { rules: [{ ruleId: `sgr-${tag}-1` }] },
      },
      {
        check_id: 'eip_unassociated',
        resource_arn: `arn:aws:ec2:us-east-1:123456789012:elastic-ip/eipalloc-${tag}`,
        resource_type: 'AWS::EC2::EIP',
        resource_id: `eipalloc-${tag}`,
        region: 'us-east-1',
        evidence: { associationId: null },
        estimated_monthly_saving_usd: 3.65,
      },
    ],
  );
}
