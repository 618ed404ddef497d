import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ec2 from '@aws-sdk/client-ec2';
import * as s3 from '@aws-sdk/client-s3';
import { diffStates, type Sandbox } from '../../src/sandbox/index.js';
import { cfg, sandbox } from './helpers.js';

let sb: Sandbox;
let acct: string;
beforeAll(async () => {
  sb = await sandbox();
  acct = sb.accounts[0]!.accountId;
});
afterAll(() => sb.stop());

describe('dumpState / diffStates', () => {
  it('a change shows up in the diff and a faithful rollback empties it', async () => {
    const before = sb.control.dumpState(acct);
    expect(diffStates(before, sb.control.dumpState(acct))).toEqual([]);
    const c = new ec2.EC2Client(cfg(sb, sb.accounts[0]!.adminCredentials));
    const rule = (
      await c.send(new ec2.DescribeSecurityGroupRulesCommand({}))
    ).SecurityGroupRules!.find(
      (r) => !r.IsEgress && r.FromPort === 22 && r.CidrIpv4 === '0.0.0.0/0',
    )!;
    await c.send(
      new ec2.RevokeSecurityGroupIngressCommand({
        GroupId: rule.GroupId!,
        SecurityGroupRuleIds: [rule.SecurityGroupRuleId!],
      }),
    );
    const during = sb.control.dumpState(acct);
    const d = diffStates(before, during);
    expect(d).toEqual([
      expect.objectContaining({
        kind: 'removed',
        path: `/regions/us-east-1/ec2/securityGroups/${rule.GroupId}/rules/ingress:tcp:22-22:0.0.0.0~10`,
      }),
    ]);
    await c.send(
      new ec2.AuthorizeSecurityGroupIngressCommand({
        GroupId: rule.GroupId!,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 22,
            ToPort: 22,
            IpRanges: [{ CidrIp: '0.0.0.0/0', Description: rule.Description }],
          },
        ],
      }),
    );
    const after = sb.control.dumpState(acct);
    // AWS gives the re-authorised rule a new id; everything else is back.
    const rest = diffStates(before, after);
    expect(rest.map((x) => x.path)).toEqual([
      `/regions/us-east-1/ec2/securityGroups/${rule.GroupId}/rules/ingress:tcp:22-22:0.0.0.0~10/id`,
    ]);
    expect(
      diffStates(before, after, { ignore: ['/regions/*/ec2/securityGroups/*/rules/*/id'] }),
    ).toEqual([]);
  });

  it('S3 configuration changes and their inverse', async () => {
    const before = sb.control.dumpState(acct);
    const c = new s3.S3Client({
      ...cfg(sb, sb.accounts[0]!.adminCredentials),
      forcePathStyle: true,
    });
    const b = (await c.send(new s3.ListBucketsCommand({}))).Buckets!.find(
      (x) => x.BucketRegion === 'us-east-1' && x.Name!.startsWith('scratch-'),
    )!.Name!;
    const prior = await c.send(new s3.GetBucketVersioningCommand({ Bucket: b }));
    await c.send(
      new s3.PutBucketVersioningCommand({
        Bucket: b,
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    await c.send(new s3.PutBucketLoggingCommand({ Bucket: b, BucketLoggingStatus: {} }));
    const d = diffStates(before, sb.control.dumpState(acct)).map((x) => x.path);
    expect(d).toContain(`/s3/buckets/${b}/versioning`);
    expect(d).toContain(`/s3/buckets/${b}/logging`);
    const log = before.s3 as {
      buckets: Record<string, { logging: { targetBucket: string; targetPrefix: string } }>;
    };
    await c.send(
      new s3.PutBucketLoggingCommand({
        Bucket: b,
        BucketLoggingStatus: {
          LoggingEnabled: {
            TargetBucket: log.buckets[b]!.logging.targetBucket,
            TargetPrefix: log.buckets[b]!.logging.targetPrefix,
          },
        },
      }),
    );
    const left = diffStates(before, sb.control.dumpState(acct));
    // Versioning can only go back to Suspended, never to "never enabled" (as on AWS).
    if (prior.Status === 'Suspended') {
      await c.send(
        new s3.PutBucketVersioningCommand({
          Bucket: b,
          VersioningConfiguration: { Status: 'Suspended' },
        }),
      );
      expect(diffStates(before, sb.control.dumpState(acct))).toEqual([]);
    } else expect(left.map((x) => x.path)).toEqual([`/s3/buckets/${b}/versioning`]);
  });

  it('the dump leaves out secrets and key material', () => {
    const text = JSON.stringify(sb.control.dumpState(acct));
    expect(text).not.toContain(sb.accounts[0]!.adminCredentials.secretAccessKey);
    expect(text).not.toMatch(/"material"|"secret"|"secretAccessKey"|"value"/);
  });
});
