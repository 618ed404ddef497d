// The sandbox operations execution needs beyond the scanner's: DeleteSnapshot, egress rule
// revoke/authorize, per-resource CreateTags/DeleteTags authorisation (DryRun included), and
// iam:SimulatePrincipalPolicy with a permissions boundary (how a session policy is simulated).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ec2 from '@aws-sdk/client-ec2';
import * as iam from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentials, Sandbox } from '../../src/sandbox/index.js';
import { cfg, expectAwsError, sandbox } from './helpers.js';

let sb: Sandbox;
let accountId: string;
let admin: AwsCredentials;
beforeAll(async () => {
  sb = await sandbox({
    accounts: [{ seed: 'exec-ops', size: 60, regions: ['us-east-1'] }],
  });
  accountId = sb.accounts[0]!.accountId;
  admin = sb.accounts[0]!.adminCredentials;
});
afterAll(() => sb.stop());

const client = () => new ec2.EC2Client(cfg(sb, admin));
const region = () =>
  (
    sb.control.dumpState(accountId).regions as Record<
      string,
      { ec2: Record<string, Record<string, unknown>> }
    >
  )['us-east-1']!.ec2;

async function roleSession(policy: object, sessionPolicy?: object): Promise<AwsCredentials> {
  const name = `ops-${Math.random().toString(36).slice(2, 8)}`;
  const role = sb.control.createScanRole(accountId, {
    externalId: 'x-ext-id',
    roleName: name,
    managedPolicyArns: [],
    inlinePolicy: policy,
  });
  const sts = new STSClient(cfg(sb, sb.platform.credentials));
  const r = await sts.send(
    new AssumeRoleCommand({
      RoleArn: role.roleArn,
      RoleSessionName: 'ops-session',
      ExternalId: 'x-ext-id',
      ...(sessionPolicy ? { Policy: JSON.stringify(sessionPolicy) } : {}),
    }),
  );
  return {
    accessKeyId: r.Credentials!.AccessKeyId!,
    secretAccessKey: r.Credentials!.SecretAccessKey!,
    sessionToken: r.Credentials!.SessionToken!,
  };
}

describe('DeleteSnapshot', () => {
  it('deletes an own snapshot; a missing one is InvalidSnapshot.NotFound; DryRun changes nothing', async () => {
    const snaps = Object.keys(region().snapshots!);
    const free = snaps[0]!;
    await client().send(new ec2.DeleteSnapshotCommand({ SnapshotId: free }));
    expect(region().snapshots![free]).toBeUndefined();
    await expectAwsError(
      client().send(new ec2.DeleteSnapshotCommand({ SnapshotId: free })),
      'InvalidSnapshot.NotFound',
      400,
    );
    await expectAwsError(
      client().send(new ec2.DeleteSnapshotCommand({ SnapshotId: snaps[1]!, DryRun: true })),
      'DryRunOperation',
      412,
    );
    expect(region().snapshots![snaps[1]!]).toBeDefined();
  });
});

describe('egress rules', () => {
  it('revokes an egress rule by id and authorises it back (new id, duplicate refused)', async () => {
    const groups = region().securityGroups as Record<
      string,
      { rules: Record<string, { id: string }> }
    >;
    const [groupId, g] = Object.entries(groups).find(([, x]) =>
      Object.keys(x.rules).some((k) => k.startsWith('egress:')),
    )!;
    const [sig, rule] = Object.entries(g.rules).find(([k]) => k.startsWith('egress:'))!;
    const out = await client().send(
      new ec2.RevokeSecurityGroupEgressCommand({
        GroupId: groupId,
        SecurityGroupRuleIds: [rule.id],
      }),
    );
    expect(out.RevokedSecurityGroupRules?.[0]?.IsEgress).toBe(true);
    expect((region().securityGroups as typeof groups)[groupId]!.rules[sig]).toBeUndefined();
    // An egress id is not an ingress rule.
    await expectAwsError(
      client().send(
        new ec2.RevokeSecurityGroupIngressCommand({
          GroupId: groupId,
          SecurityGroupRuleIds: [rule.id],
        }),
      ),
      'InvalidSecurityGroupRuleId.NotFound',
    );
    const perm = { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] };
    const back = await client().send(
      new ec2.AuthorizeSecurityGroupEgressCommand({ GroupId: groupId, IpPermissions: [perm] }),
    );
    expect(back.SecurityGroupRules?.[0]?.IsEgress).toBe(true);
    expect(back.SecurityGroupRules?.[0]?.SecurityGroupRuleId).not.toBe(rule.id);
    expect((region().securityGroups as typeof groups)[groupId]!.rules[sig]).toBeDefined();
    await expectAwsError(
      client().send(
        new ec2.AuthorizeSecurityGroupEgressCommand({ GroupId: groupId, IpPermissions: [perm] }),
      ),
      'InvalidPermission.Duplicate',
    );
  });
});

describe('CreateTags / DeleteTags are authorised per resource', () => {
  it('a session allowed to tag one instance tags it, and not another (DryRun too)', async () => {
    const [a, b] = Object.keys(region().instances!);
    const arn = (id: string) => `arn:aws:ec2:us-east-1:${accountId}:instance/${id}`;
    const creds = await roleSession({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['ec2:CreateTags', 'ec2:DeleteTags'], Resource: arn(a!) },
      ],
    });
    const c = new ec2.EC2Client(cfg(sb, creds));
    await c.send(new ec2.CreateTagsCommand({ Resources: [a!], Tags: [{ Key: 'k', Value: 'v' }] }));
    expect((region().instances![a!] as { tags: Record<string, string> }).tags.k).toBe('v');
    await expectAwsError(
      c.send(
        new ec2.CreateTagsCommand({
          Resources: [a!],
          Tags: [{ Key: 'k', Value: 'v' }],
          DryRun: true,
        }),
      ),
      'DryRunOperation',
    );
    await expectAwsError(
      c.send(new ec2.CreateTagsCommand({ Resources: [b!], Tags: [{ Key: 'k', Value: 'v' }] })),
      'UnauthorizedOperation',
      403,
    );
    await expectAwsError(
      c.send(new ec2.CreateTagsCommand({ Resources: [a!, b!], Tags: [{ Key: 'k', Value: 'w' }] })),
      'UnauthorizedOperation',
    );
    expect((region().instances![a!] as { tags: Record<string, string> }).tags.k).toBe('v');
    await c.send(new ec2.DeleteTagsCommand({ Resources: [a!], Tags: [{ Key: 'k' }] }));
    expect((region().instances![a!] as { tags: Record<string, string> }).tags.k).toBeUndefined();
  });
});

describe('SimulatePrincipalPolicy', () => {
  it("evaluates a role's policies, bounded by a permissions boundary", async () => {
    const name = 'SimulatedRole';
    sb.control.createScanRole(accountId, {
      externalId: 'y-ext-id',
      roleName: name,
      managedPolicyArns: [],
      inlinePolicy: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['s3:PutBucketVersioning', 'rds:ModifyDBInstance'],
            Resource: '*',
          },
          {
            Effect: 'Deny',
            Action: 'rds:ModifyDBInstance',
            Resource: 'arn:aws:rds:*:*:db:protected',
          },
        ],
      },
    });
    const roleArn = `arn:aws:iam::${accountId}:role/${name}`;
    const c = new iam.IAMClient(cfg(sb, admin));
    const decide = async (action: string, resource: string, boundary?: object) => {
      const r = await c.send(
        new iam.SimulatePrincipalPolicyCommand({
          PolicySourceArn: roleArn,
          ActionNames: [action],
          ResourceArns: [resource],
          ...(boundary ? { PermissionsBoundaryPolicyInputList: [JSON.stringify(boundary)] } : {}),
        }),
      );
      return r.EvaluationResults?.[0]?.EvalDecision;
    };
    expect(await decide('s3:PutBucketVersioning', 'arn:aws:s3:::a')).toBe('allowed');
    expect(await decide('s3:PutBucketLogging', 'arn:aws:s3:::a')).toBe('implicitDeny');
    expect(await decide('rds:ModifyDBInstance', 'arn:aws:rds:us-east-1:1:db:protected')).toBe(
      'explicitDeny',
    );
    const onlyA = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::a' }],
    };
    expect(await decide('s3:PutBucketVersioning', 'arn:aws:s3:::a', onlyA)).toBe('allowed');
    expect(await decide('s3:PutBucketVersioning', 'arn:aws:s3:::b', onlyA)).toBe('implicitDeny');
    await expectAwsError(
      c.send(
        new iam.SimulatePrincipalPolicyCommand({
          PolicySourceArn: `arn:aws:iam::${accountId}:role/Nope`,
          ActionNames: ['s3:GetObject'],
        }),
      ),
      'NoSuchEntity',
      404,
    );
    // It is itself a permission: a session without it is refused.
    const creds = await roleSession({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetBucketVersioning', Resource: '*' }],
    });
    await expectAwsError(
      new iam.IAMClient(cfg(sb, creds)).send(
        new iam.SimulatePrincipalPolicyCommand({
          PolicySourceArn: roleArn,
          ActionNames: ['s3:GetObject'],
        }),
      ),
      'AccessDenied',
      403,
    );
  });
});
