import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as s3 from '@aws-sdk/client-s3';
import * as s3c from '@aws-sdk/client-s3-control';
import { s3ControlEndpoint, type Sandbox } from '../../src/sandbox/index.js';
import { cfg, expectAwsError, sandbox } from './helpers.js';

let sb: Sandbox;
let acct: string;
const client = (region = 'us-east-1') =>
  new s3.S3Client({ ...cfg(sb, sb.accounts[0]!.adminCredentials, region), forcePathStyle: true });
const control = () =>
  new s3c.S3ControlClient({
    ...cfg(sb, sb.accounts[0]!.adminCredentials),
    disableHostPrefix: true,
    ...s3ControlEndpoint(sb.endpoint),
  });

beforeAll(async () => {
  sb = await sandbox({
    accounts: [{ seed: 's3-test', size: 800, regions: ['us-east-1', 'eu-west-1'] }],
  });
  acct = sb.accounts[0]!.accountId;
});
afterAll(() => sb.stop());

async function bucketIn(
  region: string,
  predicate: (name: string) => boolean = () => true,
  nth = 0,
): Promise<string> {
  const list = await client().send(new s3.ListBucketsCommand({}));
  return list.Buckets!.filter((b) => b.BucketRegion === region && predicate(b.Name!))[nth]!.Name!;
}

describe('S3', () => {
  it('ListBuckets, GetBucketLocation, and the region check', async () => {
    const list = await client().send(new s3.ListBucketsCommand({}));
    expect(list.Buckets!.length).toBeGreaterThan(8);
    expect(list.Owner!.ID).toMatch(/^[0-9a-f]{64}$/);
    const eu = await bucketIn('eu-west-1');
    expect(
      (await client().send(new s3.GetBucketLocationCommand({ Bucket: eu }))).LocationConstraint,
    ).toBe('eu-west-1');
    const us = await bucketIn('us-east-1');
    expect(
      (await client().send(new s3.GetBucketLocationCommand({ Bucket: us }))).LocationConstraint,
    ).toBeUndefined();
    const e = await expectAwsError(
      client().send(new s3.GetBucketVersioningCommand({ Bucket: eu })),
      'AuthorizationHeaderMalformed',
      400,
    );
    expect(e.message).toMatch(/expecting 'eu-west-1'/);
    expect(
      (await client('eu-west-1').send(new s3.GetBucketVersioningCommand({ Bucket: eu }))).Status,
    ).toBeDefined();
    await expectAwsError(
      client().send(new s3.GetBucketAclCommand({ Bucket: 'no-such-bucket-here' })),
      'NoSuchBucket',
      404,
    );
  });

  it('ACL get/put (canned and explicit grants), ownership controls', async () => {
    // A partial account-level block would refuse public grants (as AWS does): clear it first.
    await control().send(new s3c.DeletePublicAccessBlockCommand({ AccountId: acct }));
    const b = await bucketIn('us-east-1', (n) => n.startsWith('data-'));
    const acl = await client().send(new s3.GetBucketAclCommand({ Bucket: b }));
    expect(acl.Grants).toEqual([
      { Grantee: { Type: 'CanonicalUser', ID: acl.Owner!.ID }, Permission: 'FULL_CONTROL' },
    ]);
    await expectAwsError(
      client().send(new s3.PutBucketAclCommand({ Bucket: b, ACL: 'public-read' })),
      'AccessControlListNotSupported',
      400,
    );
    expect(
      (await client().send(new s3.GetBucketOwnershipControlsCommand({ Bucket: b })))
        .OwnershipControls!.Rules![0]!.ObjectOwnership,
    ).toBe('BucketOwnerEnforced');
    await client().send(
      new s3.PutBucketOwnershipControlsCommand({
        Bucket: b,
        OwnershipControls: { Rules: [{ ObjectOwnership: 'ObjectWriter' }] },
      }),
    );
    await client().send(new s3.DeletePublicAccessBlockCommand({ Bucket: b }));
    await client().send(new s3.PutBucketAclCommand({ Bucket: b, ACL: 'public-read' }));
    const pub = await client().send(new s3.GetBucketAclCommand({ Bucket: b }));
    expect(pub.Grants).toContainEqual({
      Grantee: { Type: 'Group', URI: 'http://acs.amazonaws.com/groups/global/AllUsers' },
      Permission: 'READ',
    });
    await client().send(
      new s3.PutBucketAclCommand({
        Bucket: b,
        AccessControlPolicy: { Owner: acl.Owner, Grants: acl.Grants },
      }),
    );
    expect((await client().send(new s3.GetBucketAclCommand({ Bucket: b }))).Grants).toEqual(
      acl.Grants,
    );
    await client().send(new s3.DeleteBucketOwnershipControlsCommand({ Bucket: b }));
    await expectAwsError(
      client().send(new s3.GetBucketOwnershipControlsCommand({ Bucket: b })),
      'OwnershipControlsNotFoundError',
      404,
    );
  });

  it('bucket policy, policy status computed from the policy, public access block', async () => {
    await control().send(new s3c.DeletePublicAccessBlockCommand({ AccountId: acct }));
    const b = await bucketIn('us-east-1', (n) => n.startsWith('data-'), 1);
    const policy = (await client().send(new s3.GetBucketPolicyCommand({ Bucket: b }))).Policy!;
    expect(JSON.parse(policy).Statement[0].Sid).toBe('DenyInsecureTransport');
    expect(
      (await client().send(new s3.GetBucketPolicyStatusCommand({ Bucket: b }))).PolicyStatus!
        .IsPublic,
    ).toBe(false);
    const pab = await client().send(new s3.GetPublicAccessBlockCommand({ Bucket: b }));
    expect(pab.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
    const pub = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: `arn:aws:s3:::${b}/*`,
        },
      ],
    });
    await expectAwsError(
      client().send(new s3.PutBucketPolicyCommand({ Bucket: b, Policy: pub })),
      'AccessDenied',
      403,
    );
    await client().send(
      new s3.PutPublicAccessBlockCommand({
        Bucket: b,
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: false,
          RestrictPublicBuckets: false,
        },
      }),
    );
    await client().send(new s3.PutBucketPolicyCommand({ Bucket: b, Policy: pub }));
    expect(
      (await client().send(new s3.GetBucketPolicyStatusCommand({ Bucket: b }))).PolicyStatus!
        .IsPublic,
    ).toBe(true);
    const restricted = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: `arn:aws:s3:::${b}/*`,
          Condition: { StringEquals: { 'aws:SourceVpce': 'vpce-1a2b3c4d' } },
        },
      ],
    });
    await client().send(new s3.PutBucketPolicyCommand({ Bucket: b, Policy: restricted }));
    expect(
      (await client().send(new s3.GetBucketPolicyStatusCommand({ Bucket: b }))).PolicyStatus!
        .IsPublic,
    ).toBe(false);
    await expectAwsError(
      client().send(new s3.PutBucketPolicyCommand({ Bucket: b, Policy: '{"Statement": [' })),
      'MalformedPolicy',
      400,
    );
    await client().send(new s3.DeleteBucketPolicyCommand({ Bucket: b }));
    await expectAwsError(
      client().send(new s3.GetBucketPolicyCommand({ Bucket: b })),
      'NoSuchBucketPolicy',
      404,
    );
    await expectAwsError(
      client().send(new s3.GetBucketPolicyStatusCommand({ Bucket: b })),
      'NoSuchBucketPolicy',
      404,
    );
    await client().send(new s3.DeletePublicAccessBlockCommand({ Bucket: b }));
    await expectAwsError(
      client().send(new s3.GetPublicAccessBlockCommand({ Bucket: b })),
      'NoSuchPublicAccessBlockConfiguration',
      404,
    );
  });

  it('account-level public access block through S3 Control', async () => {
    const before = await control()
      .send(new s3c.GetPublicAccessBlockCommand({ AccountId: acct }))
      .catch((e: Error) => e);
    if (before instanceof Error)
      expect(before.name).toMatch(/NoSuchPublicAccessBlockConfiguration/);
    await control().send(
      new s3c.PutPublicAccessBlockCommand({
        AccountId: acct,
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: true,
          RestrictPublicBuckets: true,
        },
      }),
    );
    const got = await control().send(new s3c.GetPublicAccessBlockCommand({ AccountId: acct }));
    expect(got.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
    await control().send(new s3c.DeletePublicAccessBlockCommand({ AccountId: acct }));
    await expectAwsError(
      control().send(new s3c.GetPublicAccessBlockCommand({ AccountId: acct })),
      'NoSuchPublicAccessBlockConfiguration',
      404,
    );
    await expectAwsError(
      control().send(new s3c.GetPublicAccessBlockCommand({ AccountId: '999999999999' })),
      'AccessDenied',
      403,
    );
  });

  it('encryption (SSE-S3 is the floor), versioning, lifecycle, logging, website, tagging', async () => {
    const b = await bucketIn('us-east-1', (n) => n.startsWith('data-'), 2);
    const enc = await client().send(new s3.GetBucketEncryptionCommand({ Bucket: b }));
    expect(
      enc.ServerSideEncryptionConfiguration!.Rules![0]!.ApplyServerSideEncryptionByDefault!
        .SSEAlgorithm,
    ).toMatch(/AES256|aws:kms/);
    await client().send(
      new s3.PutBucketEncryptionCommand({
        Bucket: b,
        ServerSideEncryptionConfiguration: {
          Rules: [
            {
              ApplyServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: 'alias/app',
              },
              BucketKeyEnabled: true,
            },
          ],
        },
      }),
    );
    expect(
      (await client().send(new s3.GetBucketEncryptionCommand({ Bucket: b })))
        .ServerSideEncryptionConfiguration!.Rules![0]!.ApplyServerSideEncryptionByDefault!
        .KMSMasterKeyID,
    ).toBe('alias/app');
    await client().send(new s3.DeleteBucketEncryptionCommand({ Bucket: b }));
    expect(
      (await client().send(new s3.GetBucketEncryptionCommand({ Bucket: b })))
        .ServerSideEncryptionConfiguration!.Rules![0]!.ApplyServerSideEncryptionByDefault!
        .SSEAlgorithm,
    ).toBe('AES256');
    expect((await client().send(new s3.GetBucketVersioningCommand({ Bucket: b }))).Status).toBe(
      'Enabled',
    );
    await client().send(
      new s3.PutBucketVersioningCommand({
        Bucket: b,
        VersioningConfiguration: { Status: 'Suspended' },
      }),
    );
    expect((await client().send(new s3.GetBucketVersioningCommand({ Bucket: b }))).Status).toBe(
      'Suspended',
    );
    const lc = await client().send(new s3.GetBucketLifecycleConfigurationCommand({ Bucket: b }));
    expect(lc.Rules![0]!.Status).toBe('Enabled');
    await client().send(
      new s3.PutBucketLifecycleConfigurationCommand({
        Bucket: b,
        LifecycleConfiguration: {
          Rules: [
            {
              ID: 'ia',
              Status: 'Enabled',
              Filter: { Prefix: 'logs/' },
              Transitions: [{ Days: 30, StorageClass: 'STANDARD_IA' }],
            },
          ],
        },
      }),
    );
    expect(
      (await client().send(new s3.GetBucketLifecycleConfigurationCommand({ Bucket: b }))).Rules![0]!
        .ID,
    ).toBe('ia');
    await client().send(new s3.DeleteBucketLifecycleCommand({ Bucket: b }));
    await expectAwsError(
      client().send(new s3.GetBucketLifecycleConfigurationCommand({ Bucket: b })),
      'NoSuchLifecycleConfiguration',
      404,
    );
    const log = await client().send(new s3.GetBucketLoggingCommand({ Bucket: b }));
    expect(log.LoggingEnabled!.TargetBucket).toMatch(/^logs-/);
    await client().send(new s3.PutBucketLoggingCommand({ Bucket: b, BucketLoggingStatus: {} }));
    expect(
      (await client().send(new s3.GetBucketLoggingCommand({ Bucket: b }))).LoggingEnabled,
    ).toBeUndefined();
    await client().send(
      new s3.PutBucketLoggingCommand({
        Bucket: b,
        BucketLoggingStatus: { LoggingEnabled: log.LoggingEnabled },
      }),
    );
    expect(
      (await client().send(new s3.GetBucketLoggingCommand({ Bucket: b }))).LoggingEnabled,
    ).toEqual(log.LoggingEnabled);
    await expectAwsError(
      client().send(new s3.GetBucketWebsiteCommand({ Bucket: b })),
      'NoSuchWebsiteConfiguration',
      404,
    );
    const tags = await client().send(new s3.GetBucketTaggingCommand({ Bucket: b }));
    expect(tags.TagSet!.map((t) => t.Key)).toEqual(['Owner', 'Environment', 'CostCenter']);
    const site = (await client().send(new s3.ListBucketsCommand({}))).Buckets!.find((x) =>
      x.Name!.startsWith('website-'),
    )!;
    const w = await client(site.BucketRegion).send(
      new s3.GetBucketWebsiteCommand({ Bucket: site.Name! }),
    );
    expect(w.IndexDocument!.Suffix).toBe('index.html');
  });

  it('objects: list, put, get; a role denied content reads is refused', async () => {
    const b = await bucketIn('us-east-1', (n) => n.startsWith('data-'), 3);
    await client().send(
      new s3.PutObjectCommand({
        Bucket: b,
        Key: 'reports/2026/q3.csv',
        Body: 'a,b\n1,2\n',
        ContentType: 'text/csv',
      }),
    );
    const list = await client().send(
      new s3.ListObjectsV2Command({ Bucket: b, Prefix: 'reports/' }),
    );
    expect(list.Contents!.map((o) => o.Key)).toEqual(['reports/2026/q3.csv']);
    expect(list.KeyCount).toBe(1);
    const deli = await client().send(new s3.ListObjectsV2Command({ Bucket: b, Delimiter: '/' }));
    expect(deli.CommonPrefixes!.map((p) => p.Prefix).sort()).toEqual(['data/', 'reports/']);
    const o = await client().send(
      new s3.GetObjectCommand({ Bucket: b, Key: 'reports/2026/q3.csv' }),
    );
    expect(await o.Body!.transformToString()).toBe('a,b\n1,2\n');
    expect(o.ContentType).toBe('text/csv');
    await expectAwsError(
      client().send(new s3.GetObjectCommand({ Bucket: b, Key: 'nope' })),
      'NoSuchKey',
      404,
    );
    for (let i = 0; i < 5; i++)
      await client().send(
        new s3.PutObjectCommand({ Bucket: b, Key: `many/${i}`, Body: String(i) }),
      );
    const keys: string[] = [];
    for await (const p of s3.paginateListObjectsV2(
      { client: client(), pageSize: 2 },
      { Bucket: b, Prefix: 'many/' },
    ))
      keys.push(...(p.Contents ?? []).map((x) => x.Key!));
    expect(keys).toEqual(['many/0', 'many/1', 'many/2', 'many/3', 'many/4']);
    sb.control.createScanRole(acct, { externalId: 'obj-ext', roleName: 'ObjScan' });
    const { STSClient, AssumeRoleCommand } = await import('@aws-sdk/client-sts');
    const c = (
      await new STSClient(cfg(sb, sb.platform.credentials)).send(
        new AssumeRoleCommand({
          RoleArn: `arn:aws:iam::${acct}:role/ObjScan`,
          RoleSessionName: 'obj',
          ExternalId: 'obj-ext',
        }),
      )
    ).Credentials!;
    const scan = new s3.S3Client({
      ...cfg(sb, {
        accessKeyId: c.AccessKeyId!,
        secretAccessKey: c.SecretAccessKey!,
        sessionToken: c.SessionToken!,
      }),
      forcePathStyle: true,
    });
    expect(
      (await scan.send(new s3.GetBucketVersioningCommand({ Bucket: b }))).Status,
    ).toBeDefined();
    const e = await expectAwsError(
      scan.send(new s3.GetObjectCommand({ Bucket: b, Key: 'reports/2026/q3.csv' })),
      'AccessDenied',
      403,
    );
    expect(e.message).toMatch(/s3:GetObject/);
  });

  it('create and delete buckets', async () => {
    await client('eu-west-1').send(
      new s3.CreateBucketCommand({
        Bucket: `fresh-${acct}`,
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );
    expect(
      (await client().send(new s3.GetBucketLocationCommand({ Bucket: `fresh-${acct}` })))
        .LocationConstraint,
    ).toBe('eu-west-1');
    await expectAwsError(
      client('eu-west-1').send(
        new s3.CreateBucketCommand({
          Bucket: `fresh-${acct}`,
          CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
        }),
      ),
      'BucketAlreadyOwnedByYou',
      409,
    );
    await client('eu-west-1').send(new s3.DeleteBucketCommand({ Bucket: `fresh-${acct}` }));
    await expectAwsError(
      client().send(new s3.GetBucketLocationCommand({ Bucket: `fresh-${acct}` })),
      'NoSuchBucket',
      404,
    );
  });
});
