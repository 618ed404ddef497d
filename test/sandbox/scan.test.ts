// End to end: a minimal scanner that applies the documented definitions (docs/sandbox.md) using
// only read APIs, through the real SDK, as the default Axiom scan role (SecurityAudit +
// ViewOnlyAccess + the content-read deny). It must find exactly the answer key: every planted
// problem is observable, the role has the permissions, and the traps are not findings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ec2 from '@aws-sdk/client-ec2';
import * as s3 from '@aws-sdk/client-s3';
import * as s3c from '@aws-sdk/client-s3-control';
import * as iam from '@aws-sdk/client-iam';
import * as rds from '@aws-sdk/client-rds';
import * as ct from '@aws-sdk/client-cloudtrail';
import * as cw from '@aws-sdk/client-cloudwatch';
import * as kms from '@aws-sdk/client-kms';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { s3ControlEndpoint, type AwsCredentials, type Sandbox } from '../../src/sandbox/index.js';
import { sandbox } from './helpers.js';

const DAY = 86_400_000;
let sb: Sandbox;

beforeAll(async () => {
  sb = await sandbox({
    accounts: [{ seed: 'scan-e2e', size: 120, regions: ['eu-west-1', 'ap-southeast-2'] }],
  });
});
afterAll(() => sb.stop());

const errName = async <T>(p: Promise<T>): Promise<T | string> => {
  try {
    return await p;
  } catch (e) {
    return (e as Error).name;
  }
};

async function scan(accountId: string, credentials: AwsCredentials): Promise<string[]> {
  const now = Date.now();
  const out: string[] = [];
  const add = (p: string, id: string, region: string) => out.push(`${p}|${id}|${region}`);
  const base = (region: string) => ({ endpoint: sb.endpoint, region, credentials });
  const required = ['Owner', 'Environment', 'CostCenter'];
  const tagsOk = (tags: { Key?: string }[] | undefined) =>
    required.every((k) => (tags ?? []).some((t) => t.Key === k));

  // ---- S3 ----
  const ctl = new s3c.S3ControlClient({
    ...base('us-east-1'),
    disableHostPrefix: true,
    ...s3ControlEndpoint(sb.endpoint),
  });
  const acctPab = await errName(
    ctl.send(new s3c.GetPublicAccessBlockCommand({ AccountId: accountId })),
  );
  const ap = typeof acctPab === 'string' ? undefined : acctPab.PublicAccessBlockConfiguration;
  const full = (p?: {
    BlockPublicAcls?: boolean;
    IgnorePublicAcls?: boolean;
    BlockPublicPolicy?: boolean;
    RestrictPublicBuckets?: boolean;
  }) =>
    !!(p?.BlockPublicAcls && p.IgnorePublicAcls && p.BlockPublicPolicy && p.RestrictPublicBuckets);
  if (!full(ap)) add('s3_account_public_access_block_off', accountId, 'global');
  const buckets = (
    await new s3.S3Client({ ...base('us-east-1'), forcePathStyle: true }).send(
      new s3.ListBucketsCommand({}),
    )
  ).Buckets!;
  for (const b of buckets) {
    const c = new s3.S3Client({ ...base(b.BucketRegion!), forcePathStyle: true });
    const Bucket = b.Name!;
    const r = b.BucketRegion!;
    const acl = await c.send(new s3.GetBucketAclCommand({ Bucket }));
    const own = await errName(c.send(new s3.GetBucketOwnershipControlsCommand({ Bucket })));
    const enforced =
      typeof own !== 'string' &&
      own.OwnershipControls!.Rules![0]!.ObjectOwnership === 'BucketOwnerEnforced';
    const pab = await errName(c.send(new s3.GetPublicAccessBlockCommand({ Bucket })));
    const bp = typeof pab === 'string' ? undefined : pab.PublicAccessBlockConfiguration;
    const publicGrant = acl.Grants!.some((g) =>
      /global\/(AllUsers|AuthenticatedUsers)$/.test(g.Grantee?.URI ?? ''),
    );
    if (publicGrant && !(ap?.IgnorePublicAcls || bp?.IgnorePublicAcls) && !enforced)
      add('s3_bucket_public_acl', Bucket, r);
    const status = await errName(c.send(new s3.GetBucketPolicyStatusCommand({ Bucket })));
    if (
      typeof status !== 'string' &&
      status.PolicyStatus!.IsPublic &&
      !(ap?.RestrictPublicBuckets || bp?.RestrictPublicBuckets)
    )
      add('s3_bucket_public_policy', Bucket, r);
    if (!full(bp) && !full(ap)) add('s3_bucket_no_public_access_block', Bucket, r);
    const enc = await errName(c.send(new s3.GetBucketEncryptionCommand({ Bucket })));
    if (enc === 'ServerSideEncryptionConfigurationNotFoundError')
      add('s3_bucket_no_encryption', Bucket, r);
    if ((await c.send(new s3.GetBucketVersioningCommand({ Bucket }))).Status !== 'Enabled')
      add('s3_bucket_versioning_off', Bucket, r);
    if (!(await c.send(new s3.GetBucketLoggingCommand({ Bucket }))).LoggingEnabled)
      add('s3_bucket_logging_off', Bucket, r);
  }

  // ---- IAM ----
  const i = new iam.IAMClient(base('us-east-1'));
  const summary = (await i.send(new iam.GetAccountSummaryCommand({}))).SummaryMap!;
  if (summary.AccountAccessKeysPresent) add('iam_root_access_keys', accountId, 'global');
  if (!summary.AccountMFAEnabled) add('iam_root_mfa_off', accountId, 'global');
  const pp = await errName(i.send(new iam.GetAccountPasswordPolicyCommand({})));
  if (
    typeof pp === 'string' ||
    pp.PasswordPolicy!.MinimumPasswordLength! < 14 ||
    (pp.PasswordPolicy!.PasswordReusePrevention ?? 0) < 24
  )
    add('iam_password_policy_weak', accountId, 'global');
  for await (const page of iam.paginateListUsers({ client: i }, {})) {
    for (const u of page.Users!) {
      const login = await errName(i.send(new iam.GetLoginProfileCommand({ UserName: u.UserName })));
      const mfa = (await i.send(new iam.ListMFADevicesCommand({ UserName: u.UserName })))
        .MFADevices!;
      if (typeof login !== 'string' && mfa.length === 0)
        add('iam_user_console_no_mfa', u.UserName!, 'global');
      for (const k of (await i.send(new iam.ListAccessKeysCommand({ UserName: u.UserName })))
        .AccessKeyMetadata!) {
        if (k.Status !== 'Active') continue;
        const age = now - k.CreateDate!.getTime();
        if (age > 90 * DAY) add('iam_access_key_old', k.AccessKeyId!, 'global');
        const used = (
          await i.send(new iam.GetAccessKeyLastUsedCommand({ AccessKeyId: k.AccessKeyId }))
        ).AccessKeyLastUsed!.LastUsedDate;
        if (age > 45 * DAY && (!used || now - used.getTime() > 45 * DAY))
          add('iam_access_key_unused', k.AccessKeyId!, 'global');
      }
    }
  }
  for await (const page of iam.paginateListRoles({ client: i }, {})) {
    for (const role of page.Roles!) {
      const doc = JSON.parse(decodeURIComponent(role.AssumeRolePolicyDocument!)) as {
        Statement: {
          Effect: string;
          Principal?: { AWS?: string | string[] };
          Condition?: Record<string, Record<string, unknown>>;
        }[];
      };
      const bad = doc.Statement.some((st) => {
        const aws = st.Principal?.AWS;
        const principals = aws === undefined ? [] : Array.isArray(aws) ? aws : [aws];
        const foreign = principals.some(
          (p) => (/(\d{12})/.exec(p)?.[1] ?? accountId) !== accountId,
        );
        const ext = Object.entries(st.Condition ?? {}).some(
          ([op, e]) =>
            op.startsWith('StringEquals') &&
            Object.keys(e).some((k) => k.toLowerCase() === 'sts:externalid'),
        );
        return st.Effect === 'Allow' && foreign && !ext;
      });
      if (bad) add('iam_role_third_party_trust_no_external_id', role.RoleName!, 'global');
    }
  }

  // ---- regional ----
  const regions = (
    await new ec2.EC2Client(base('us-east-1')).send(new ec2.DescribeRegionsCommand({}))
  ).Regions!.map((r) => r.RegionName!);
  let multiLogging = false;
  const end = new Date(Math.floor(now / DAY) * DAY);
  const start = new Date(end.getTime() - 14 * DAY);
  for (const r of regions) {
    const e = new ec2.EC2Client(base(r));
    if (!(await e.send(new ec2.GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault)
      add('ebs_default_encryption_off', accountId, r);
    const groups = new Map<string, string>();
    for await (const p of ec2.paginateDescribeSecurityGroups({ client: e }, {}))
      for (const g of p.SecurityGroups!) groups.set(g.GroupId!, g.GroupName!);
    const byGroup = new Map<string, ec2.SecurityGroupRule[]>();
    for await (const p of ec2.paginateDescribeSecurityGroupRules({ client: e }, {}))
      for (const rule of p.SecurityGroupRules!)
        byGroup.set(rule.GroupId!, [...(byGroup.get(rule.GroupId!) ?? []), rule]);
    for (const [gid, rules] of byGroup) {
      const open = rules.filter(
        (x) => !x.IsEgress && (x.CidrIpv4 === '0.0.0.0/0' || x.CidrIpv6 === '::/0'),
      );
      const covers = (port: number) =>
        open.some(
          (x) =>
            x.IpProtocol === '-1' ||
            (x.IpProtocol === 'tcp' && x.FromPort! <= port && port <= x.ToPort!),
        );
      if (covers(22)) add('sg_open_ssh', gid, r);
      if (covers(3389)) add('sg_open_rdp', gid, r);
      if (open.some((x) => x.IpProtocol === '-1' || (x.FromPort! <= 0 && x.ToPort! >= 65535)))
        add('sg_open_all_ports', gid, r);
      if (groups.get(gid) === 'default' && rules.length) add('sg_default_has_rules', gid, r);
    }
    const watch = new cw.CloudWatchClient(base(r));
    for await (const p of ec2.paginateDescribeInstances({ client: e }, {})) {
      for (const inst of p.Reservations!.flatMap((x) => x.Instances!)) {
        const id = inst.InstanceId!;
        if (
          inst.MetadataOptions!.HttpTokens === 'optional' &&
          inst.MetadataOptions!.HttpEndpoint === 'enabled'
        )
          add('ec2_imdsv2_not_required', id, r);
        if (!tagsOk(inst.Tags)) add('tags_missing', id, r);
        const stoppedAt = /\((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) GMT\)/.exec(
          inst.StateTransitionReason ?? '',
        )?.[1];
        if (
          inst.State!.Name === 'stopped' &&
          stoppedAt &&
          now - Date.parse(`${stoppedAt.replace(' ', 'T')}Z`) > 30 * DAY
        )
          add('ec2_stopped_long', id, r);
        if (inst.State!.Name === 'running' && now - inst.LaunchTime!.getTime() >= 14 * DAY) {
          const q = (qid: string, metric: string, stat: string) => ({
            Id: qid,
            MetricStat: {
              Metric: {
                Namespace: 'AWS/EC2',
                MetricName: metric,
                Dimensions: [{ Name: 'InstanceId', Value: id }],
              },
              Period: 86400,
              Stat: stat,
            },
          });
          const m = await watch.send(
            new cw.GetMetricDataCommand({
              StartTime: start,
              EndTime: end,
              MetricDataQueries: [
                q('c', 'CPUUtilization', 'Average'),
                q('i', 'NetworkIn', 'Sum'),
                q('o', 'NetworkOut', 'Sum'),
              ],
            }),
          );
          const [cpu, nin, nout] = m.MetricDataResults!;
          if (
            Math.max(...cpu!.Values!) < 5 &&
            Math.max(...nin!.Values!.map((v, k) => v + nout!.Values![k]!)) < 5e6
          )
            add('ec2_idle', id, r);
        }
      }
    }
    for await (const p of ec2.paginateDescribeVolumes({ client: e }, {})) {
      for (const v of p.Volumes!) {
        if (!v.Encrypted) add('ebs_volume_unencrypted', v.VolumeId!, r);
        if (v.State === 'available') add('ebs_volume_unattached', v.VolumeId!, r);
        if (v.VolumeType === 'gp2') add('ebs_volume_gp2', v.VolumeId!, r);
        if (!tagsOk(v.Tags)) add('tags_missing', v.VolumeId!, r);
      }
    }
    for await (const p of ec2.paginateDescribeSnapshots({ client: e }, { OwnerIds: ['self'] })) {
      for (const sn of p.Snapshots!) {
        const a = await e.send(
          new ec2.DescribeSnapshotAttributeCommand({
            SnapshotId: sn.SnapshotId,
            Attribute: 'createVolumePermission',
          }),
        );
        if (a.CreateVolumePermissions!.some((x) => x.Group === 'all'))
          add('ebs_snapshot_public', sn.SnapshotId!, r);
        if (now - sn.StartTime!.getTime() > 90 * DAY) add('ebs_snapshot_old', sn.SnapshotId!, r);
      }
    }
    for (const img of (await e.send(new ec2.DescribeImagesCommand({ Owners: ['self'] }))).Images!) {
      const a = await e.send(
        new ec2.DescribeImageAttributeCommand({
          ImageId: img.ImageId,
          Attribute: 'launchPermission',
        }),
      );
      if (a.LaunchPermissions!.some((x) => x.Group === 'all')) add('ami_public', img.ImageId!, r);
    }
    for (const ad of (await e.send(new ec2.DescribeAddressesCommand({}))).Addresses!)
      if (!ad.AssociationId) add('eip_unassociated', ad.AllocationId!, r);
    const d = new rds.RDSClient(base(r));
    for await (const p of rds.paginateDescribeDBInstances({ client: d }, {})) {
      for (const db of p.DBInstances!) {
        const id = db.DBInstanceIdentifier!;
        if (db.PubliclyAccessible) add('rds_public', id, r);
        if (!db.StorageEncrypted) add('rds_unencrypted', id, r);
        if (db.BackupRetentionPeriod === 0) add('rds_no_backups', id, r);
        if (!db.DeletionProtection) add('rds_no_deletion_protection', id, r);
        if (!tagsOk(db.TagList)) add('tags_missing', id, r);
        if (
          db.DBInstanceStatus === 'available' &&
          now - db.InstanceCreateTime!.getTime() >= 14 * DAY
        ) {
          const s = await watch.send(
            new cw.GetMetricStatisticsCommand({
              Namespace: 'AWS/RDS',
              MetricName: 'DatabaseConnections',
              Dimensions: [{ Name: 'DBInstanceIdentifier', Value: id }],
              StartTime: start,
              EndTime: end,
              Period: 86400,
              Statistics: ['Maximum'],
            }),
          );
          if (s.Datapoints!.length && Math.max(...s.Datapoints!.map((x) => x.Maximum!)) === 0)
            add('rds_idle', id, r);
        }
      }
    }
    for await (const p of rds.paginateDescribeDBSnapshots({ client: d }, {})) {
      for (const sn of p.DBSnapshots!) {
        const a = await d.send(
          new rds.DescribeDBSnapshotAttributesCommand({
            DBSnapshotIdentifier: sn.DBSnapshotIdentifier,
          }),
        );
        if (
          a.DBSnapshotAttributesResult!.DBSnapshotAttributes!.some(
            (x) => x.AttributeName === 'restore' && x.AttributeValues!.includes('all'),
          )
        )
          add('rds_snapshot_public', sn.DBSnapshotIdentifier!, r);
      }
    }
    const trail = new ct.CloudTrailClient(base(r));
    for (const t of (await trail.send(new ct.DescribeTrailsCommand({ includeShadowTrails: false })))
      .trailList!) {
      const st = await trail.send(new ct.GetTrailStatusCommand({ Name: t.TrailARN }));
      if (!t.IsMultiRegionTrail) add('cloudtrail_single_region', t.Name!, r);
      if (!t.LogFileValidationEnabled) add('cloudtrail_no_log_validation', t.Name!, r);
      if (!st.IsLogging) add('cloudtrail_not_logging', t.Name!, r);
      if (t.IsMultiRegionTrail && st.IsLogging) multiLogging = true;
    }
    const k = new kms.KMSClient(base(r));
    for await (const p of kms.paginateListKeys({ client: k }, {})) {
      for (const key of p.Keys!) {
        const md = (await k.send(new kms.DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!;
        if (md.KeyManager !== 'CUSTOMER' || md.KeyState !== 'Enabled') continue;
        if (
          !(await k.send(new kms.GetKeyRotationStatusCommand({ KeyId: key.KeyId })))
            .KeyRotationEnabled
        )
          add('kms_rotation_off', key.KeyId!, r);
      }
    }
  }
  if (!multiLogging) add('cloudtrail_missing', accountId, 'global');
  return out.sort();
}

describe('the answer key through the read APIs', () => {
  it('a scanner using the scan role finds exactly the planted problems', async () => {
    const acct = sb.accounts[0]!.accountId;
    const role = sb.control.createScanRole(acct, { externalId: 'e2e-ext' });
    const c = (
      await new STSClient({
        endpoint: sb.endpoint,
        region: 'us-east-1',
        credentials: sb.platform.credentials,
      }).send(
        new AssumeRoleCommand({
          RoleArn: role.roleArn,
          RoleSessionName: 'axiom-scan',
          ExternalId: 'e2e-ext',
        }),
      )
    ).Credentials!;
    sb.control.clearCalls();
    const found = await scan(acct, {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken!,
    });
    const expected = sb.control
      .answerKey(acct)
      .map((e) => `${e.problem}|${e.resourceId}|${e.region}`)
      .sort();
    expect(found).toEqual(expected);
    const refused = sb.control
      .calls()
      .filter(
        (x) => x.status >= 400 && !/^NoSuch|NotFoundError$|^NoSuchEntity$/.test(x.errorCode ?? ''),
      );
    expect(refused).toEqual([]);
    expect(sb.control.calls({ operation: 'GetObject' })).toEqual([]);
  });
});
