// Every check of the catalog on hand-built resources mirroring the documented definitions
// (docs/sandbox.md, docs/findings.md): the problem found, its traps not found, and each threshold
// just inside and just outside.
import { afterAll, describe, expect, it } from 'vitest';
import type { AnyInventoryResource } from '../../src/cloud/inventory.js';
import { CHECKS } from '../../src/findings/catalog.js';
import { effectiveConfiguration, type ConfigurationRecord } from '../../src/findings/config.js';
import { catalogDefaults, evaluate, type FindingCandidate } from '../../src/findings/engine.js';
import { fingerprintResource } from '../../src/findings/fingerprint.js';
import * as b from './builders.js';

const fired = new Set<string>();

function run(
  resources: AnyInventoryResource[],
  opts: {
    records?: ConfigurationRecord[];
    completeServices?: Parameters<typeof evaluate>[1]['completeServices'];
  } = {},
): FindingCandidate[] {
  const configuration = effectiveConfiguration(catalogDefaults(), opts.records ?? []);
  const found = evaluate(resources, {
    now: b.NOW,
    configuration,
    ...(opts.completeServices ? { completeServices: opts.completeServices } : {}),
  });
  for (const f of found) fired.add(f.checkId);
  return found;
}
const ids = (found: FindingCandidate[]): string[] =>
  found.map((f) => `${f.checkId}:${f.resourceId}`);
const only = (
  resources: AnyInventoryResource[],
  checkId: string,
  opts?: Parameters<typeof run>[1],
) => run(resources, opts).filter((f) => f.checkId === checkId);
const config = (content: unknown, facility: string | null = 'f'): ConfigurationRecord => ({
  kind: 'check_configuration',
  facility_id: facility,
  item_key: 'checks',
  content,
});

afterAll(() => {
  // Each check of the catalog was seen firing somewhere in this file.
  expect(CHECKS.map((c) => c.id).filter((id) => !fired.has(id))).toEqual([]);
});

describe('a clean account', () => {
  it('has no finding at all', () => {
    expect(run(b.cleanAccount())).toEqual([]);
  });
});

describe('S3', () => {
  it('s3_account_public_access_block_off: absent, or any flag off', () => {
    expect(ids(only([b.accountBlock(null)], 's3_account_public_access_block_off'))).toEqual([
      `s3_account_public_access_block_off:${b.ACCOUNT}`,
    ]);
    expect(
      only(
        [b.accountBlock({ ...b.FULL, restrictPublicBuckets: false })],
        's3_account_public_access_block_off',
      ),
    ).toHaveLength(1);
    expect(only([b.accountBlock(b.FULL)], 's3_account_public_access_block_off')).toHaveLength(0);
  });

  const publicAcl = {
    grantee: { type: 'Group' as const, uri: 'http://acs.amazonaws.com/groups/global/AllUsers' },
    permission: 'READ',
  };
  const aclBucket = (patch = {}) =>
    b.bucket('acl', {
      publicAccessBlock: null,
      objectOwnership: 'ObjectWriter',
      acl: [publicAcl],
      ...patch,
    });

  it('s3_bucket_public_acl: a public grant counts only when no block ignores it and ACLs are enabled', () => {
    const f = only([b.accountBlock(b.OFF), aclBucket()], 's3_bucket_public_acl');
    expect(f).toHaveLength(1);
    expect(f[0]!.evidence.publicGrants).toEqual([{ grantee: 'AllUsers', permission: 'READ' }]);
    const authUsers = {
      grantee: {
        type: 'Group' as const,
        uri: 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers',
      },
      permission: 'WRITE',
    };
    expect(
      only([b.accountBlock(null), aclBucket({ acl: [authUsers] })], 's3_bucket_public_acl'),
    ).toHaveLength(1);
    // Traps: neutralised by the bucket's block, the account's block, or BucketOwnerEnforced.
    expect(
      only(
        [
          b.accountBlock(b.OFF),
          aclBucket({ publicAccessBlock: { ...b.OFF, ignorePublicAcls: true } }),
        ],
        's3_bucket_public_acl',
      ),
    ).toEqual([]);
    expect(
      only(
        [b.accountBlock({ ...b.OFF, ignorePublicAcls: true }), aclBucket()],
        's3_bucket_public_acl',
      ),
    ).toEqual([]);
    expect(
      only(
        [b.accountBlock(b.OFF), aclBucket({ objectOwnership: 'BucketOwnerEnforced' })],
        's3_bucket_public_acl',
      ),
    ).toEqual([]);
  });

  const policyBucket = (statement: Record<string, unknown>, patch = {}) =>
    b.bucket('web', {
      publicAccessBlock: null,
      policy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'PublicRead',
            Effect: 'Allow',
            Principal: '*',
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::web/*',
            ...statement,
          },
        ],
      } as never,
      ...patch,
    });

  it('s3_bucket_public_policy: Principal "*" without a pinning Condition, unless RestrictPublicBuckets', () => {
    const f = only([b.accountBlock(b.OFF), policyBucket({})], 's3_bucket_public_policy');
    expect(f).toHaveLength(1);
    expect(f[0]!.evidence.publicStatements).toEqual([
      { sid: 'PublicRead', principal: ['*'], actions: ['s3:GetObject'] },
    ]);
    expect(
      only(
        [b.accountBlock(b.OFF), policyBucket({ Principal: { AWS: '*' } })],
        's3_bucket_public_policy',
      ),
    ).toHaveLength(1);
    expect(
      only(
        [
          b.accountBlock(b.OFF),
          policyBucket({ Principal: { AWS: ['arn:aws:iam::111122223333:root', '*'] } }),
        ],
        's3_bucket_public_policy',
      ),
    ).toHaveLength(1);
    // Traps: conditions that pin the statement.
    for (const cond of [
      { StringEquals: { 'aws:SourceVpce': 'vpce-0123456789abcdef0' } },
      { StringEquals: { 'aws:PrincipalOrgID': 'o-abcdefghij' } },
      {
        ArnEquals: {
          'aws:SourceArn': 'arn:aws:cloudfront::123456789012:distribution/EABCDEFGHIJKL',
        },
      },
      { StringEquals: { 'aws:SourceAccount': '123456789012' } },
      { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } },
      { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
    ])
      expect(
        only([b.accountBlock(b.OFF), policyBucket({ Condition: cond })], 's3_bucket_public_policy'),
      ).toEqual([]);
    // Conditions that do not pin: wildcards, IfExists, huge ranges, unrelated keys.
    for (const cond of [
      { StringLike: { 'aws:SourceArn': 'arn:aws:cloudfront::*' } },
      { StringEqualsIfExists: { 'aws:SourceVpce': 'vpce-1' } },
      { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } },
      { IpAddress: { 'aws:SourceIp': '0.0.0.0/7' } },
      { Bool: { 'aws:SecureTransport': 'true' } },
    ])
      expect(
        only([b.accountBlock(b.OFF), policyBucket({ Condition: cond })], 's3_bucket_public_policy'),
      ).toHaveLength(1);
    // Neutralised by RestrictPublicBuckets at either level; a Deny is never public.
    expect(
      only(
        [b.accountBlock({ ...b.OFF, restrictPublicBuckets: true }), policyBucket({})],
        's3_bucket_public_policy',
      ),
    ).toEqual([]);
    expect(
      only(
        [
          b.accountBlock(b.OFF),
          policyBucket({}, { publicAccessBlock: { ...b.OFF, restrictPublicBuckets: true } }),
        ],
        's3_bucket_public_policy',
      ),
    ).toEqual([]);
    expect(
      only([b.accountBlock(b.OFF), policyBucket({ Effect: 'Deny' })], 's3_bucket_public_policy'),
    ).toEqual([]);
  });

  it('s3_bucket_no_public_access_block: the bucket is not fully blocked and the account does not cover it', () => {
    expect(
      only(
        [b.accountBlock(b.OFF), b.bucket('x', { publicAccessBlock: null })],
        's3_bucket_no_public_access_block',
      ),
    ).toHaveLength(1);
    expect(
      only(
        [
          b.accountBlock(null),
          b.bucket('x', { publicAccessBlock: { ...b.FULL, blockPublicPolicy: false } }),
        ],
        's3_bucket_no_public_access_block',
      ),
    ).toHaveLength(1);
    // Trap: the account-level block covers a bucket without its own block.
    expect(
      only(
        [b.accountBlock(b.FULL), b.bucket('x', { publicAccessBlock: null })],
        's3_bucket_no_public_access_block',
      ),
    ).toEqual([]);
  });

  it('encryption, versioning, logging', () => {
    expect(ids(only([b.bucket('e', { encryption: null })], 's3_bucket_no_encryption'))).toEqual([
      's3_bucket_no_encryption:e',
    ]);
    expect(only([b.bucket('v', { versioning: null })], 's3_bucket_versioning_off')).toHaveLength(1);
    expect(
      only([b.bucket('v', { versioning: 'Suspended' })], 's3_bucket_versioning_off')[0]!.evidence,
    ).toEqual({ versioning: 'Suspended' });
    expect(only([b.bucket('l', { logging: null })], 's3_bucket_logging_off')).toHaveLength(1);
  });
});

describe('security groups', () => {
  const g = (...rules: Parameters<typeof b.rule>[0][]) =>
    b.group('sg-t', { rules: rules.map(b.rule) });
  const checks = (resources: AnyInventoryResource[]) =>
    run(resources)
      .filter((f) => f.checkId.startsWith('sg_'))
      .map((f) => f.checkId)
      .sort();

  it('22 and 3389 from anywhere, all ports, and the 443-only trap', () => {
    expect(
      checks([g({ protocol: 'tcp', fromPort: 22, toPort: 22, cidrIpv4: '0.0.0.0/0' })]),
    ).toEqual(['sg_open_ssh']);
    expect(checks([g({ protocol: 'tcp', fromPort: 20, toPort: 25, cidrIpv6: '::/0' })])).toEqual([
      'sg_open_ssh',
    ]);
    expect(checks([g({ protocol: '6', fromPort: 22, toPort: 22, cidrIpv4: '0.0.0.0/0' })])).toEqual(
      ['sg_open_ssh'],
    );
    expect(
      checks([g({ protocol: 'tcp', fromPort: 3389, toPort: 3389, cidrIpv6: '::/0' })]),
    ).toEqual(['sg_open_rdp']);
    expect(
      checks([g({ protocol: '-1', fromPort: -1, toPort: -1, cidrIpv4: '0.0.0.0/0' })]),
    ).toEqual(['sg_open_all_ports', 'sg_open_rdp', 'sg_open_ssh']);
    expect(
      checks([g({ protocol: 'tcp', fromPort: 0, toPort: 65535, cidrIpv4: '0.0.0.0/0' })]),
    ).toEqual(['sg_open_all_ports', 'sg_open_rdp', 'sg_open_ssh']);
    // Not open: 443 only (v4 and v6), a private source, egress, UDP, a port next to 22.
    expect(
      checks([
        g(
          { protocol: 'tcp', fromPort: 443, toPort: 443, cidrIpv4: '0.0.0.0/0' },
          { protocol: 'tcp', fromPort: 443, toPort: 443, cidrIpv6: '::/0' },
          { protocol: 'tcp', fromPort: 22, toPort: 22, cidrIpv4: '10.0.0.0/8' },
          { isEgress: true, protocol: '-1', fromPort: -1, toPort: -1, cidrIpv4: '0.0.0.0/0' },
          { protocol: 'udp', fromPort: 22, toPort: 22, cidrIpv4: '0.0.0.0/0' },
          { protocol: 'tcp', fromPort: 23, toPort: 3388, cidrIpv4: '0.0.0.0/0' },
        ),
      ]),
    ).toEqual([]);
  });

  it('evidence names only the rules that triggered', () => {
    const f = only(
      [
        g(
          { ruleId: 'sgr-ok', protocol: 'tcp', fromPort: 443, toPort: 443, cidrIpv4: '0.0.0.0/0' },
          { ruleId: 'sgr-bad', protocol: 'tcp', fromPort: 22, toPort: 22, cidrIpv4: '0.0.0.0/0' },
        ),
      ],
      'sg_open_ssh',
    );
    expect(f[0]!.evidence).toEqual({
      rules: [
        { ruleId: 'sgr-bad', protocol: 'tcp', fromPort: 22, toPort: 22, source: '0.0.0.0/0' },
      ],
    });
  });

  it('sg_default_has_rules: any rule in a group named default', () => {
    const def = b.group('sg-def', {
      groupName: 'default',
      rules: [b.rule({ protocol: '-1', referencedGroupId: 'sg-def' })],
    });
    expect(only([def], 'sg_default_has_rules')).toHaveLength(1);
    expect(
      only([b.group('sg-def', { groupName: 'default', rules: [] })], 'sg_default_has_rules'),
    ).toEqual([]);
  });
});

describe('EC2 instances, volumes, snapshots, images, addresses', () => {
  it('ec2_imdsv2_not_required: optional tokens with the endpoint enabled, unless terminated', () => {
    const opt = { httpTokens: 'optional' as const, httpEndpoint: 'enabled' as const };
    expect(
      only([b.instance('i-a', { metadataOptions: opt })], 'ec2_imdsv2_not_required'),
    ).toHaveLength(1);
    expect(
      only(
        [b.instance('i-a', { metadataOptions: { ...opt, httpEndpoint: 'disabled' } })],
        'ec2_imdsv2_not_required',
      ),
    ).toEqual([]);
    expect(
      only(
        [b.instance('i-a', { metadataOptions: opt, state: 'terminated' })],
        'ec2_imdsv2_not_required',
      ),
    ).toEqual([]);
  });

  it('ebs_default_encryption_off and ebs_volume_unencrypted', () => {
    expect(ids(only([b.ebsDefault(false, 'eu-west-1')], 'ebs_default_encryption_off'))).toEqual([
      `ebs_default_encryption_off:${b.ACCOUNT}`,
    ]);
    expect(only([b.volume('v', { encrypted: false })], 'ebs_volume_unencrypted')).toHaveLength(1);
  });

  it('ebs_snapshot_public: group all; the one-account share is not public', () => {
    expect(
      only(
        [b.snapshot('s', { createVolumePermission: { groups: ['all'], userIds: [] } })],
        'ebs_snapshot_public',
      ),
    ).toHaveLength(1);
    expect(
      only(
        [b.snapshot('s', { createVolumePermission: { groups: [], userIds: ['444455556666'] } })],
        'ebs_snapshot_public',
      ),
    ).toEqual([]);
  });

  it('ebs_snapshot_old: more than 90 days, with the snapshot storage as the saving', () => {
    expect(only([b.snapshot('s', { startTime: b.ago(90) })], 'ebs_snapshot_old')).toEqual([]);
    const f = only([b.snapshot('s', { startTime: b.ago(90, 1000) })], 'ebs_snapshot_old');
    expect(f).toHaveLength(1);
    expect(f[0]!.estimatedMonthlySavingUsd).toBe(5);
    const custom = only([b.snapshot('s', { startTime: b.ago(40) })], 'ebs_snapshot_old', {
      records: [config({ thresholds: { ebs_snapshot_age_days: 30 } })],
    });
    expect(custom).toHaveLength(1);
  });

  it('ami_public', () => {
    expect(
      only(
        [b.image('ami-p', { launchPermission: { groups: ['all'], userIds: [] } })],
        'ami_public',
      ),
    ).toHaveLength(1);
    expect(
      only(
        [b.image('ami-p', { launchPermission: { groups: [], userIds: ['111122223333'] } })],
        'ami_public',
      ),
    ).toEqual([]);
  });

  it('eip_unassociated, priced as a public IPv4 address', () => {
    const f = only(
      [b.eip('eipalloc-x', { associationId: null, instanceId: null, networkInterfaceId: null })],
      'eip_unassociated',
    );
    expect(f[0]!.estimatedMonthlySavingUsd).toBe(3.65);
    expect(only([b.eip()], 'eip_unassociated')).toEqual([]);
  });

  it('ebs_volume_unattached and ebs_volume_gp2 with their savings', () => {
    const loose = only(
      [b.volume('v', { state: 'available', attachments: [] })],
      'ebs_volume_unattached',
    );
    expect(loose[0]!.estimatedMonthlySavingUsd).toBe(8);
    const gp2 = only(
      [b.volume('v', { volumeType: 'gp2', iops: 300, throughput: null })],
      'ebs_volume_gp2',
    );
    expect(gp2[0]!.estimatedMonthlySavingUsd).toBe(2);
    // A 2 TiB gp2 volume has 6,000 IOPS; gp3 must provision the extra 3,000 (USD 15), saving 40.96 - 15.
    const big = only(
      [b.volume('v', { volumeType: 'gp2', sizeGiB: 2048, iops: 6000 })],
      'ebs_volume_gp2',
    );
    expect(big[0]!.estimatedMonthlySavingUsd).toBe(25.96);
    // Outside us-east-1 the regional multiplier applies.
    const eu = b.volume('v', { state: 'available', attachments: [] });
    expect(
      only([{ ...eu, region: 'eu-west-1' }], 'ebs_volume_unattached')[0]!.estimatedMonthlySavingUsd,
    ).toBe(8.8);
  });

  describe('ec2_idle', () => {
    const idle = (patch: Parameters<typeof b.instance>[1] = {}) =>
      only([b.instance('i-idle', { utilization: b.idleUse(), ...patch })], 'ec2_idle');
    it('running, launched at least 14 days ago, and every day below 5 % CPU and 5 MB of traffic', () => {
      const f = idle();
      expect(f).toHaveLength(1);
      expect(f[0]!.estimatedMonthlySavingUsd).toBe(70.08);
      expect(f[0]!.evidence).toMatchObject({
        windowDays: 14,
        thresholds: { cpuPercent: 5, networkBytesPerDay: 5_000_000 },
      });
      expect(idle({ launchTime: b.ago(14) })).toHaveLength(1);
      expect(idle({ launchTime: b.ago(14, -1000) })).toEqual([]);
    });
    it('thresholds just inside and just outside', () => {
      const u = b.idleUse();
      expect(
        idle({
          utilization: {
            ...u,
            cpuAverageDaily: u.cpuAverageDaily.map((_, i) => (i === 3 ? 4.99 : 1)),
          },
        }),
      ).toHaveLength(1);
      expect(
        idle({
          utilization: {
            ...u,
            cpuAverageDaily: u.cpuAverageDaily.map((_, i) => (i === 3 ? 5 : 1)),
          },
        }),
      ).toEqual([]);
      expect(
        idle({
          utilization: {
            ...u,
            networkBytesDaily: u.networkBytesDaily.map((_, i) => (i === 0 ? 4_999_999 : 1)),
          },
        }),
      ).toHaveLength(1);
      expect(
        idle({
          utilization: {
            ...u,
            networkBytesDaily: u.networkBytesDaily.map((_, i) => (i === 13 ? 5_000_000 : 1)),
          },
        }),
      ).toEqual([]);
    });
    it('not without 14 days of data, not when stopped, and a configured window', () => {
      expect(idle({ utilization: b.idleUse(13) })).toEqual([]);
      const u = b.idleUse();
      expect(idle({ utilization: { ...u, cpuAverageDaily: u.cpuAverageDaily.slice(1) } })).toEqual(
        [],
      );
      expect(idle({ utilization: null })).toEqual([]);
      expect(idle({ state: 'stopped' })).toEqual([]);
      const week = only(
        [
          b.instance('i-idle', {
            utilization: {
              ...b.busy(),
              cpuAverageDaily: [...Array(7).fill(30), ...Array(7).fill(1)],
              networkBytesDaily: [...Array(7).fill(9e9), ...Array(7).fill(10)],
            },
          }),
        ],
        'ec2_idle',
        {
          records: [config({ thresholds: { ec2_idle_window_days: 7 } })],
        },
      );
      expect(week).toHaveLength(1);
      expect(
        only(
          [b.instance('i-idle', { instanceType: 'x9.unknown', utilization: b.idleUse() })],
          'ec2_idle',
        )[0]!.estimatedMonthlySavingUsd,
      ).toBeUndefined();
    });
  });

  it('ec2_stopped_long: stopped more than 30 days; the attached volumes are the saving', () => {
    const stopped = (days: number, extra = 0) =>
      only(
        [
          b.instance('i-s', {
            state: 'stopped',
            stoppedSince: b.ago(days, extra),
            utilization: null,
          }),
          b.volume('vol-i-s'),
        ],
        'ec2_stopped_long',
      );
    expect(stopped(30)).toEqual([]);
    const f = stopped(30, 1000);
    expect(f).toHaveLength(1);
    expect(f[0]!.estimatedMonthlySavingUsd).toBe(8);
    expect(
      only(
        [b.instance('i-s', { state: 'stopped', stoppedSince: null, utilization: null })],
        'ec2_stopped_long',
      ),
    ).toEqual([]);
  });
});

describe('RDS', () => {
  it('public, unencrypted, no backups, no deletion protection, public snapshot', () => {
    expect(only([b.db('d', { publiclyAccessible: true })], 'rds_public')).toHaveLength(1);
    expect(only([b.db('d', { storageEncrypted: false })], 'rds_unencrypted')).toHaveLength(1);
    expect(only([b.db('d', { backupRetentionPeriod: 0 })], 'rds_no_backups')).toHaveLength(1);
    expect(only([b.db('d', { backupRetentionPeriod: 1 })], 'rds_no_backups')).toEqual([]);
    expect(
      only([b.db('d', { deletionProtection: false })], 'rds_no_deletion_protection'),
    ).toHaveLength(1);
    expect(
      only([b.dbSnapshot('s', { restoreAttribute: ['all'] })], 'rds_snapshot_public'),
    ).toHaveLength(1);
    expect(
      only([b.dbSnapshot('s', { restoreAttribute: ['111122223333'] })], 'rds_snapshot_public'),
    ).toEqual([]);
  });

  it('rds_idle: available, created at least 14 days ago, no connection on any of the last 14 days', () => {
    const zero = {
      windowDays: 14,
      maxConnectionsDaily: Array(14).fill(0) as number[],
      cpuAverageDaily: [],
    };
    const f = only([b.db('d', { utilization: zero })], 'rds_idle');
    expect(f).toHaveLength(1);
    expect(f[0]!.estimatedMonthlySavingUsd).toBe(129.94);
    expect(
      only([b.db('d', { utilization: zero, multiAz: true })], 'rds_idle')[0]!
        .estimatedMonthlySavingUsd,
    ).toBe(259.88);
    expect(
      only(
        [b.db('d', { utilization: { ...zero, maxConnectionsDaily: [...Array(13).fill(0), 1] } })],
        'rds_idle',
      ),
    ).toEqual([]);
    expect(only([b.db('d', { utilization: zero, createTime: b.ago(13) })], 'rds_idle')).toEqual([]);
    expect(only([b.db('d', { utilization: zero, status: 'stopped' })], 'rds_idle')).toEqual([]);
    expect(
      only(
        [b.db('d', { utilization: { ...zero, maxConnectionsDaily: Array(13).fill(0) } })],
        'rds_idle',
      ),
    ).toEqual([]);
  });
});

describe('CloudTrail', () => {
  it('single region, no log validation, not logging', () => {
    expect(
      only([b.trail('t', { isMultiRegionTrail: false })], 'cloudtrail_single_region'),
    ).toHaveLength(1);
    expect(
      only([b.trail('t', { logFileValidationEnabled: false })], 'cloudtrail_no_log_validation'),
    ).toHaveLength(1);
    expect(only([b.trail('t', { isLogging: false })], 'cloudtrail_not_logging')).toHaveLength(1);
  });

  it('cloudtrail_missing: no multi-region trail that is logging, about the account, only when CloudTrail was fully scanned', () => {
    const f = only([b.root()], 'cloudtrail_missing');
    expect(f).toEqual([
      expect.objectContaining({
        resourceType: 'AWS::::Account',
        resourceArn: `arn:aws:iam::${b.ACCOUNT}:root`,
        resourceId: b.ACCOUNT,
        region: 'global',
      }),
    ]);
    expect(only([b.root(), b.trail('t', { isLogging: false })], 'cloudtrail_missing')).toHaveLength(
      1,
    );
    expect(
      only([b.root(), b.trail('t', { isMultiRegionTrail: false })], 'cloudtrail_missing'),
    ).toHaveLength(1);
    expect(only([b.root(), b.trail('t')], 'cloudtrail_missing')).toEqual([]);
    expect(only([b.root()], 'cloudtrail_missing', { completeServices: ['iam', 'ec2'] })).toEqual(
      [],
    );
  });
});

describe('IAM and KMS', () => {
  it('root keys, root MFA, console users without MFA', () => {
    expect(only([b.root({ accountAccessKeysPresent: true })], 'iam_root_access_keys')).toHaveLength(
      1,
    );
    expect(only([b.root({ accountMfaEnabled: false })], 'iam_root_mfa_off')).toHaveLength(1);
    expect(only([b.user('u', { mfaDeviceCount: 0 })], 'iam_user_console_no_mfa')).toHaveLength(1);
    expect(
      only([b.user('u', { mfaDeviceCount: 0, consoleAccess: false })], 'iam_user_console_no_mfa'),
    ).toEqual([]);
  });

  it('iam_access_key_old: an active key older than 90 days; an inactive old key is not', () => {
    expect(only([b.accessKey('a', { createDate: b.ago(90) })], 'iam_access_key_old')).toEqual([]);
    expect(
      only([b.accessKey('a', { createDate: b.ago(90, 1000) })], 'iam_access_key_old'),
    ).toHaveLength(1);
    expect(
      only(
        [b.accessKey('a', { createDate: b.ago(300), status: 'Inactive' })],
        'iam_access_key_old',
      ),
    ).toEqual([]);
  });

  it('iam_access_key_unused: never used and older than 45 days, or last used more than 45 days ago', () => {
    expect(
      only(
        [b.accessKey('a', { createDate: b.ago(45), lastUsedDate: null })],
        'iam_access_key_unused',
      ),
    ).toEqual([]);
    expect(
      only(
        [b.accessKey('a', { createDate: b.ago(45, 1000), lastUsedDate: null })],
        'iam_access_key_unused',
      ),
    ).toHaveLength(1);
    expect(
      only(
        [b.accessKey('a', { createDate: b.ago(60), lastUsedDate: b.ago(45, 1000) })],
        'iam_access_key_unused',
      ),
    ).toHaveLength(1);
    expect(
      only(
        [b.accessKey('a', { createDate: b.ago(60), lastUsedDate: b.ago(44) })],
        'iam_access_key_unused',
      ),
    ).toEqual([]);
    expect(
      only(
        [b.accessKey('a', { createDate: b.ago(60), lastUsedDate: null, status: 'Inactive' })],
        'iam_access_key_unused',
      ),
    ).toEqual([]);
  });

  it('iam_password_policy_weak: none, shorter than 14, or reuse prevention under 24', () => {
    expect(
      only([b.passwordPolicy(null)], 'iam_password_policy_weak')[0]!.evidence.problems,
    ).toEqual(['no_password_policy']);
    expect(
      only(
        [b.passwordPolicy({ ...b.STRONG_POLICY, minimumPasswordLength: 13 })],
        'iam_password_policy_weak',
      )[0]!.evidence.problems,
    ).toEqual(['minimum_length']);
    expect(
      only(
        [b.passwordPolicy({ ...b.STRONG_POLICY, passwordReusePrevention: 23 })],
        'iam_password_policy_weak',
      ),
    ).toHaveLength(1);
    expect(
      only(
        [b.passwordPolicy({ ...b.STRONG_POLICY, passwordReusePrevention: null })],
        'iam_password_policy_weak',
      ),
    ).toHaveLength(1);
    expect(
      only(
        [b.passwordPolicy({ ...b.STRONG_POLICY, minimumPasswordLength: 12 })],
        'iam_password_policy_weak',
        {
          records: [config({ thresholds: { password_min_length: 12 } })],
        },
      ),
    ).toEqual([]);
  });

  it('iam_role_third_party_trust_no_external_id: another account without StringEquals sts:ExternalId', () => {
    const vendor = {
      Effect: 'Allow' as const,
      Principal: { AWS: 'arn:aws:iam::999988887777:root' },
      Action: 'sts:AssumeRole',
    };
    expect(only([b.role('v', [vendor])], 'iam_role_third_party_trust_no_external_id')).toHaveLength(
      1,
    );
    expect(
      only(
        [b.role('v', [{ ...vendor, Principal: { AWS: '999988887777' } }])],
        'iam_role_third_party_trust_no_external_id',
      ),
    ).toHaveLength(1);
    expect(
      only(
        [b.role('v', [{ ...vendor, Principal: '*' }])],
        'iam_role_third_party_trust_no_external_id',
      ),
    ).toHaveLength(1);
    expect(
      only(
        [b.role('v', [{ ...vendor, Condition: { StringLike: { 'sts:ExternalId': 'ext-*' } } }])],
        'iam_role_third_party_trust_no_external_id',
      ),
    ).toHaveLength(1);
    // Traps: with an External ID; the own account; a service.
    expect(
      only(
        [
          b.role('v', [
            { ...vendor, Condition: { StringEquals: { 'sts:ExternalId': 'ext-0123' } } },
          ]),
        ],
        'iam_role_third_party_trust_no_external_id',
      ),
    ).toEqual([]);
    expect(
      only(
        [b.role('v', [{ ...vendor, Principal: { AWS: `arn:aws:iam::${b.ACCOUNT}:root` } }])],
        'iam_role_third_party_trust_no_external_id',
      ),
    ).toEqual([]);
    expect(
      only(
        [b.role('v', [{ ...vendor, Principal: { Service: 'ec2.amazonaws.com' } }])],
        'iam_role_third_party_trust_no_external_id',
      ),
    ).toEqual([]);
  });

  it('kms_rotation_off: customer-managed, enabled, rotation off', () => {
    expect(only([b.kmsKey('k', { rotationEnabled: false })], 'kms_rotation_off')).toHaveLength(1);
    expect(
      only([b.kmsKey('k', { rotationEnabled: false, keyManager: 'AWS' })], 'kms_rotation_off'),
    ).toEqual([]);
    expect(
      only([b.kmsKey('k', { rotationEnabled: false, keyState: 'Disabled' })], 'kms_rotation_off'),
    ).toEqual([]);
    expect(only([b.kmsKey('k', { rotationEnabled: null })], 'kms_rotation_off')).toEqual([]);
  });
});

describe('drift', () => {
  it('tags_missing: the default required tags on instances, volumes and databases', () => {
    const { Owner: _o, ...noOwner } = { Owner: 'x', Environment: 'prod', CostCenter: 'cc' };
    void _o;
    const f = only(
      [
        b.instance('i-t', {}, noOwner),
        b.volume('v-t', {}, {}),
        b.db('d-t', {}, noOwner),
        b.bucket('no-tags'),
      ],
      'tags_missing',
    );
    expect(ids(f).sort()).toEqual(['tags_missing:d-t', 'tags_missing:i-t', 'tags_missing:v-t']);
    expect(f.find((x) => x.resourceId === 'v-t')!.evidence).toEqual({
      missing: ['Owner', 'Environment', 'CostCenter'],
      invalid: [],
    });
    expect(only([b.instance('i-t', { state: 'terminated' }, noOwner)], 'tags_missing')).toEqual([]);
  });

  it('tags_missing follows the required_tags policy, allowed values included', () => {
    const policy: ConfigurationRecord = {
      kind: 'policy',
      facility_id: 'f',
      item_key: 'tags',
      content: {
        type: 'required_tags',
        tags: [{ key: 'Environment', allowed_values: ['prod', 'dev'] }],
        resource_types: ['AWS::S3::Bucket'],
      },
    };
    const found = only(
      [b.bucket('b1'), b.bucket('b2'), b.instance('i-x', {}, {})],
      'tags_missing',
      { records: [policy] },
    );
    expect(found).toEqual([]);
    const bad = { ...b.bucket('b3'), tags: { Environment: 'staging' } };
    expect(only([bad], 'tags_missing', { records: [policy] })[0]!.evidence).toEqual({
      missing: [],
      invalid: [{ key: 'Environment', value: 'staging' }],
    });
  });

  it('tags_missing takes tag keys as plain strings, on the default resource types', () => {
    const policy: ConfigurationRecord = {
      kind: 'policy',
      facility_id: null,
      item_key: 'required_tags',
      content: { type: 'required_tags', tags: ['Owner', 'CostCenter'] },
    };
    const found = only(
      [b.instance('i-s', {}, { Owner: 'a', Environment: 'dev' }), b.bucket('untagged')],
      'tags_missing',
      { records: [policy] },
    );
    expect(found.map((f) => f.evidence)).toEqual([{ missing: ['CostCenter'], invalid: [] }]);
  });

  it('drift_configuration_baseline: each rule of the baseline against the metadata', () => {
    const baseline: ConfigurationRecord = {
      kind: 'baseline',
      facility_id: 'f',
      item_key: 'configuration',
      content: {
        type: 'configuration',
        rules: [
          {
            id: 'imdsv2',
            resource_type: 'AWS::EC2::Instance',
            path: 'metadataOptions.httpTokens',
            equals: 'required',
          },
          {
            id: 'small',
            resource_type: 'AWS::EC2::Instance',
            path: 'instanceType',
            in: ['t3.micro', 't3.small'],
          },
          {
            id: 'no-gp2',
            resource_type: 'AWS::EC2::Volume',
            path: 'volumeType',
            not_in: ['gp2', 'standard'],
          },
          { id: 'has-kms', resource_type: 'AWS::EC2::Volume', path: 'kmsKeyId', exists: true },
        ],
      },
    };
    const f = only(
      [
        b.instance('i-b', { instanceType: 't3.micro' }),
        b.instance('i-c'),
        b.volume('v-b', { volumeType: 'gp2', kmsKeyId: null }),
      ],
      'drift_configuration_baseline',
      {
        records: [baseline],
      },
    );
    expect(ids(f)).toEqual([
      'drift_configuration_baseline:i-c',
      'drift_configuration_baseline:v-b',
    ]);
    expect(f[0]!.evidence).toEqual({
      violations: [
        {
          rule: 'small',
          path: 'instanceType',
          expected: { in: ['t3.micro', 't3.small'] },
          actual: 'm5.large',
        },
      ],
    });
    expect((f[1]!.evidence.violations as unknown[]).length).toBe(2);
  });

  it('drift_changed_since_baseline and drift_new_since_baseline against the accepted fingerprints', () => {
    const kept = b.instance('i-kept');
    const changed = b.instance('i-chg');
    const accepted: ConfigurationRecord = {
      kind: 'baseline',
      facility_id: 'f',
      item_key: 'inventory',
      content: {
        type: 'accepted_inventory',
        accepted_at: '2026-11-01T00:00:00Z',
        resources: {
          [kept.arn]: fingerprintResource(kept),
          [changed.arn]: fingerprintResource(changed),
        },
      },
    };
    const now = [
      { ...kept, data: { ...kept.data, utilization: b.idleUse() } }, // usage changed: not a configuration change
      { ...changed, data: { ...changed.data, instanceType: 'm5.xlarge' } },
      b.instance('i-new'),
    ];
    expect(ids(only(now, 'drift_changed_since_baseline', { records: [accepted] }))).toEqual([
      'drift_changed_since_baseline:i-chg',
    ]);
    expect(only(now, 'drift_new_since_baseline', { records: [accepted] })).toEqual([]); // off by default
    const on = [accepted, config({ enabled_checks: ['drift_new_since_baseline'] })];
    expect(ids(only(now, 'drift_new_since_baseline', { records: on }))).toEqual([
      'drift_new_since_baseline:i-new',
    ]);
  });
});

describe('configuration and determinism', () => {
  it('runs only the enabled checks; the facility layer overrides the organization layer', () => {
    const r = [b.bucket('l', { logging: null })];
    expect(
      only(r, 's3_bucket_logging_off', {
        records: [config({ disabled_checks: ['s3_bucket_logging_off'] }, null)],
      }),
    ).toEqual([]);
    expect(
      only(r, 's3_bucket_logging_off', {
        records: [
          config({ thresholds: {} }, 'f'),
          config({ disabled_checks: ['s3_bucket_logging_off'] }, null),
        ],
      }),
    ).toEqual([]);
    const org = config({ thresholds: { ebs_snapshot_age_days: 10 } }, null);
    const site = config({ thresholds: { ebs_snapshot_age_days: 60 } }, 'f');
    expect(
      only([b.snapshot('s', { startTime: b.ago(30) })], 'ebs_snapshot_old', {
        records: [site, org],
      }),
    ).toEqual([]);
  });

  it('gives the same candidates in the same order for any input order, one per (check, ARN)', () => {
    const resources = [
      b.accountBlock(null),
      b.bucket('a', { logging: null, versioning: null }),
      b.bucket('b', { logging: null }),
      b.instance(
        'i-1',
        { metadataOptions: { httpTokens: 'optional', httpEndpoint: 'enabled' } },
        {},
      ),
      b.volume('v-1', { volumeType: 'gp2', state: 'available', attachments: [] }),
      b.trail('t1', { isMultiRegionTrail: false }),
    ];
    const a = run(resources);
    const reversed = run([...resources].reverse());
    expect(reversed).toEqual(a);
    expect(run([...resources, ...resources])).toEqual(a);
    expect(a.map((f) => `${f.checkId}|${f.resourceArn}`)).toEqual(
      [...a.map((f) => `${f.checkId}|${f.resourceArn}`)].sort(),
    );
  });
});
