// The remaining operations, each once through the SDK.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as iam from '@aws-sdk/client-iam';
import * as s3 from '@aws-sdk/client-s3';
import * as ct from '@aws-sdk/client-cloudtrail';
import * as kms from '@aws-sdk/client-kms';
import * as sm from '@aws-sdk/client-secrets-manager';
import type { Sandbox } from '../../src/sandbox/index.js';
import { cfg, expectAwsError, sandbox } from './helpers.js';

let sb: Sandbox;
const admin = () => cfg(sb, sb.accounts[0]!.adminCredentials);
beforeAll(async () => {
  sb = await sandbox();
});
afterAll(() => sb.stop());

describe('remaining operations', () => {
  it('IAM: managed policy metadata, user policies, access key lifecycle, aliases, role tags', async () => {
    const c = new iam.IAMClient(admin());
    const p = await c.send(
      new iam.GetPolicyCommand({
        PolicyArn: 'arn:aws:iam::aws:policy/job-function/ViewOnlyAccess',
      }),
    );
    expect(p.Policy).toMatchObject({
      PolicyName: 'ViewOnlyAccess',
      DefaultVersionId: 'v1',
      Path: '/job-function/',
    });
    await expectAwsError(
      c.send(new iam.GetPolicyCommand({ PolicyArn: 'arn:aws:iam::aws:policy/Nope' })),
      'NoSuchEntity',
      404,
    );
    expect(
      (await c.send(new iam.ListUserPoliciesCommand({ UserName: 'sandbox-admin' }))).PolicyNames,
    ).toEqual([]);
    expect(
      (await c.send(new iam.ListAttachedUserPoliciesCommand({ UserName: 'sandbox-admin' })))
        .AttachedPolicies,
    ).toEqual([
      {
        PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
        PolicyName: 'AdministratorAccess',
      },
    ]);
    const k = await c.send(new iam.CreateAccessKeyCommand({ UserName: 'sandbox-admin' }));
    expect(k.AccessKey!.AccessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(k.AccessKey!.SecretAccessKey).toHaveLength(40);
    const fresh = new iam.IAMClient(
      cfg(sb, {
        accessKeyId: k.AccessKey!.AccessKeyId!,
        secretAccessKey: k.AccessKey!.SecretAccessKey!,
      }),
    );
    expect((await fresh.send(new iam.GetUserCommand({}))).User!.UserName).toBe('sandbox-admin');
    await expectAwsError(
      c.send(new iam.CreateAccessKeyCommand({ UserName: 'sandbox-admin' })),
      'LimitExceeded',
      409,
    );
    await c.send(
      new iam.UpdateAccessKeyCommand({
        UserName: 'sandbox-admin',
        AccessKeyId: k.AccessKey!.AccessKeyId!,
        Status: 'Inactive',
      }),
    );
    await expectAwsError(fresh.send(new iam.GetUserCommand({})), 'InvalidClientTokenId', 403);
    await c.send(
      new iam.DeleteAccessKeyCommand({
        UserName: 'sandbox-admin',
        AccessKeyId: k.AccessKey!.AccessKeyId!,
      }),
    );
    expect(
      (await c.send(new iam.ListAccessKeysCommand({ UserName: 'sandbox-admin' })))
        .AccessKeyMetadata,
    ).toHaveLength(1);
    expect((await c.send(new iam.ListAccountAliasesCommand({}))).AccountAliases).toEqual([
      sb.accounts[0]!.name,
    ]);
    const role = (await c.send(new iam.ListRolesCommand({}))).Roles![0]!;
    await c.send(
      new iam.TagRoleCommand({
        RoleName: role.RoleName!,
        Tags: [{ Key: 'axiom:owner', Value: 'secops' }],
      }),
    );
    expect(
      (await c.send(new iam.GetRoleCommand({ RoleName: role.RoleName! }))).Role!.Tags,
    ).toContainEqual({ Key: 'axiom:owner', Value: 'secops' });
  });

  it('S3: HeadBucket, HeadObject, PutBucketTagging', async () => {
    const c = new s3.S3Client({ ...admin(), forcePathStyle: true });
    const b = (await c.send(new s3.ListBucketsCommand({}))).Buckets!.find(
      (x) => x.BucketRegion === 'us-east-1',
    )!.Name!;
    expect((await c.send(new s3.HeadBucketCommand({ Bucket: b }))).BucketRegion).toBe('us-east-1');
    const h = await c.send(new s3.HeadObjectCommand({ Bucket: b, Key: 'data/report.csv' }));
    expect(h.ContentLength).toBeGreaterThan(0);
    expect(h.ContentType).toBe('text/csv');
    await expectAwsError(
      c.send(new s3.HeadObjectCommand({ Bucket: b, Key: 'missing' })),
      'NotFound',
      404,
    );
    await c.send(
      new s3.PutBucketTaggingCommand({
        Bucket: b,
        Tagging: { TagSet: [{ Key: 'Owner', Value: 'secops' }] },
      }),
    );
    expect((await c.send(new s3.GetBucketTaggingCommand({ Bucket: b }))).TagSet).toEqual([
      { Key: 'Owner', Value: 'secops' },
    ]);
  });

  it('CloudTrail: GetTrail, ListTrails, PutEventSelectors', async () => {
    const c = new ct.CloudTrailClient(admin());
    expect(
      (await c.send(new ct.GetTrailCommand({ Name: 'organization-audit' }))).Trail!
        .IsMultiRegionTrail,
    ).toBe(true);
    const list = (await c.send(new ct.ListTrailsCommand({}))).Trails!;
    expect(list.map((t) => t.Name)).toContain('organization-audit');
    const sel = await c.send(
      new ct.PutEventSelectorsCommand({
        TrailName: 'organization-audit',
        EventSelectors: [
          {
            ReadWriteType: 'WriteOnly',
            IncludeManagementEvents: true,
            DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3'] }],
          },
        ],
      }),
    );
    expect(sel.EventSelectors![0]!.ReadWriteType).toBe('WriteOnly');
    expect(
      (await c.send(new ct.GetEventSelectorsCommand({ TrailName: 'organization-audit' })))
        .EventSelectors![0]!.DataResources![0]!.Type,
    ).toBe('AWS::S3::Object');
  });

  it('KMS: ListAliases and alias lookups; Secrets Manager: DescribeSecret', async () => {
    const c = new kms.KMSClient(admin());
    const aliases = (await c.send(new kms.ListAliasesCommand({}))).Aliases!;
    expect(aliases.map((a) => a.AliasName)).toContain('alias/aws/ebs');
    const ebs = await c.send(new kms.DescribeKeyCommand({ KeyId: 'alias/aws/ebs' }));
    expect(ebs.KeyMetadata!.KeyManager).toBe('AWS');
    expect(
      (await c.send(new kms.GetKeyRotationStatusCommand({ KeyId: 'alias/aws/ebs' })))
        .KeyRotationEnabled,
    ).toBe(true);
    await expectAwsError(
      c.send(new kms.DisableKeyRotationCommand({ KeyId: 'alias/aws/ebs' })),
      'AccessDeniedException',
    );
    const s = new sm.SecretsManagerClient(admin());
    const name = (await s.send(new sm.ListSecretsCommand({}))).SecretList![0]!.Name!;
    const d = await s.send(new sm.DescribeSecretCommand({ SecretId: name }));
    expect(d.Name).toBe(name);
    expect(d.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:\d{12}:secret:/);
  });
});
