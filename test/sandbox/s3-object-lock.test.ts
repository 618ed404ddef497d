// S3 versioning and Object Lock in the sandbox, driven with the real SDK: write-once objects
// (COMPLIANCE), GOVERNANCE and its bypass, legal holds, default retention, delete markers,
// conditional writes and ListObjectVersions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as s3 from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { Sandbox } from '../../src/sandbox/index.js';
import { cfg, expectAwsError, sandbox } from './helpers.js';

let sb: Sandbox;
let acct: string;
const DAY = 86_400_000;
const client = (extra: Partial<s3.S3ClientConfig> = {}) =>
  new s3.S3Client({ ...cfg(sb, sb.accounts[0]!.adminCredentials), forcePathStyle: true, ...extra });
/** A date relative to the sandbox clock (which the last test moves forward). */
const fromNow = (ms: number) => new Date(sb.control.clock.now() + ms);

beforeAll(async () => {
  sb = await sandbox({ accounts: [{ seed: 's3-lock', size: 150, regions: ['us-east-1'] }] });
  acct = sb.accounts[0]!.accountId;
});
afterAll(() => sb.stop());

let n = 0;
async function lockBucket(rule?: s3.DefaultRetention): Promise<string> {
  const Bucket = `lock-${n++}-${acct}`;
  await client().send(new s3.CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true }));
  if (rule)
    await client().send(
      new s3.PutObjectLockConfigurationCommand({
        Bucket,
        ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: rule } },
      }),
    );
  return Bucket;
}

async function plainBucket(versioning?: 'Enabled' | 'Suspended'): Promise<string> {
  const Bucket = `plain-${n++}-${acct}`;
  await client().send(new s3.CreateBucketCommand({ Bucket }));
  if (versioning)
    await client().send(
      new s3.PutBucketVersioningCommand({
        Bucket,
        VersioningConfiguration: { Status: versioning },
      }),
    );
  return Bucket;
}

async function body(out: Promise<s3.GetObjectCommandOutput>): Promise<string> {
  return (await out).Body!.transformToString();
}

async function versionsOf(Bucket: string, Prefix?: string) {
  const out = await client().send(new s3.ListObjectVersionsCommand({ Bucket, Prefix }));
  return {
    versions: (out.Versions ?? []).map((v) => ({
      key: v.Key,
      id: v.VersionId,
      latest: v.IsLatest,
    })),
    markers: (out.DeleteMarkers ?? []).map((v) => ({
      key: v.Key,
      id: v.VersionId,
      latest: v.IsLatest,
    })),
  };
}

/** A client for a role whose only permissions are `statements`. */
async function roleClient(name: string, statements: object[]): Promise<s3.S3Client> {
  sb.control.createScanRole(acct, {
    externalId: `${name}-ext`,
    roleName: name,
    managedPolicyArns: [],
    inlinePolicy: { Version: '2012-10-17', Statement: statements },
  });
  const c = (
    await new STSClient(cfg(sb, sb.platform.credentials)).send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${acct}:role/${name}`,
        RoleSessionName: name,
        ExternalId: `${name}-ext`,
      }),
    )
  ).Credentials!;
  return new s3.S3Client({
    ...cfg(sb, {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken!,
    }),
    forcePathStyle: true,
  });
}

/** Send with one request header replaced on the wire (after the SDK has serialised it). */
function withHeader<T extends s3.S3Client>(c: T, name: string, value: string): T {
  c.middlewareStack.add(
    (next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers[name] = value;
      return next(args);
    },
    { step: 'build', name: 'overrideHeader', priority: 'low' },
  );
  return c;
}

describe('S3 Object Lock configuration', () => {
  it('CreateBucket with Object Lock enables versioning for good; the configuration and its checks', async () => {
    const b = await lockBucket();
    expect((await client().send(new s3.GetBucketVersioningCommand({ Bucket: b }))).Status).toBe(
      'Enabled',
    );
    const conf = await client().send(new s3.GetObjectLockConfigurationCommand({ Bucket: b }));
    expect(conf.ObjectLockConfiguration).toEqual({ ObjectLockEnabled: 'Enabled' });
    const e = await expectAwsError(
      client().send(
        new s3.PutBucketVersioningCommand({
          Bucket: b,
          VersioningConfiguration: { Status: 'Suspended' },
        }),
      ),
      'InvalidBucketState',
      409,
    );
    expect(e.message).toBe(
      'An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.',
    );
    expect((await client().send(new s3.GetBucketVersioningCommand({ Bucket: b }))).Status).toBe(
      'Enabled',
    );

    // Rules: a mode and exactly one positive period.
    const put = (Rule: s3.ObjectLockRule | undefined, ObjectLockEnabled: 'Enabled' | undefined) =>
      client().send(
        new s3.PutObjectLockConfigurationCommand({
          Bucket: b,
          ObjectLockConfiguration: { ObjectLockEnabled, Rule },
        }),
      );
    const rule = (d: Record<string, unknown>) => ({ DefaultRetention: d }) as s3.ObjectLockRule;
    await expectAwsError(
      put(rule({ Mode: 'COMPLIANCE', Days: 1, Years: 1 }), 'Enabled'),
      'MalformedXML',
      400,
    );
    await expectAwsError(put(rule({ Mode: 'COMPLIANCE' }), 'Enabled'), 'MalformedXML', 400);
    await expectAwsError(put(rule({ Days: 1 }), 'Enabled'), 'MalformedXML', 400);
    await expectAwsError(put(rule({ Mode: 'FOREVER', Days: 1 }), 'Enabled'), 'MalformedXML', 400);
    await expectAwsError(
      put(rule({ Mode: 'COMPLIANCE', Days: 1 }), undefined),
      'MalformedXML',
      400,
    );
    const zero = await expectAwsError(
      put(rule({ Mode: 'COMPLIANCE', Days: 0 }), 'Enabled'),
      'InvalidArgument',
      400,
    );
    expect(zero.message).toBe('Default retention period must be a positive integer value.');
    await expectAwsError(
      put(rule({ Mode: 'GOVERNANCE', Years: -1 }), 'Enabled'),
      'InvalidArgument',
      400,
    );
    await expectAwsError(
      put(rule({ Mode: 'GOVERNANCE', Years: 101 }), 'Enabled'),
      'InvalidArgument',
      400,
    );
    expect(
      (await client().send(new s3.GetObjectLockConfigurationCommand({ Bucket: b })))
        .ObjectLockConfiguration,
    ).toEqual({ ObjectLockEnabled: 'Enabled' });

    await put(rule({ Mode: 'GOVERNANCE', Days: 7 }), 'Enabled');
    expect(
      (await client().send(new s3.GetObjectLockConfigurationCommand({ Bucket: b })))
        .ObjectLockConfiguration,
    ).toEqual({
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 7 } },
    });
    // Without a rule, the default retention goes; Object Lock stays.
    await put(undefined, 'Enabled');
    expect(
      (await client().send(new s3.GetObjectLockConfigurationCommand({ Bucket: b })))
        .ObjectLockConfiguration,
    ).toEqual({ ObjectLockEnabled: 'Enabled' });
  });

  it('a bucket without Object Lock: no configuration, and one needs versioning Enabled first', async () => {
    const plain = await plainBucket();
    const e = await expectAwsError(
      client().send(new s3.GetObjectLockConfigurationCommand({ Bucket: plain })),
      'ObjectLockConfigurationNotFoundError',
      404,
    );
    expect(e.message).toBe('Object Lock configuration does not exist for this bucket');
    const conf = {
      ObjectLockEnabled: 'Enabled' as const,
      Rule: { DefaultRetention: { Mode: 'COMPLIANCE' as const, Days: 1 } },
    };
    await expectAwsError(
      client().send(
        new s3.PutObjectLockConfigurationCommand({ Bucket: plain, ObjectLockConfiguration: conf }),
      ),
      'InvalidBucketState',
      409,
    );
    const suspended = await plainBucket('Suspended');
    await expectAwsError(
      client().send(
        new s3.PutObjectLockConfigurationCommand({
          Bucket: suspended,
          ObjectLockConfiguration: conf,
        }),
      ),
      'InvalidBucketState',
      409,
    );
    await expectAwsError(
      client().send(new s3.GetObjectLockConfigurationCommand({ Bucket: suspended })),
      'ObjectLockConfigurationNotFoundError',
      404,
    );
    // As on AWS since November 2023: an existing bucket with versioning Enabled can take it.
    const versioned = await plainBucket('Enabled');
    await client().send(
      new s3.PutObjectLockConfigurationCommand({
        Bucket: versioned,
        ObjectLockConfiguration: conf,
      }),
    );
    expect(
      (await client().send(new s3.GetObjectLockConfigurationCommand({ Bucket: versioned })))
        .ObjectLockConfiguration,
    ).toEqual(conf);
    await expectAwsError(
      client().send(
        new s3.PutBucketVersioningCommand({
          Bucket: versioned,
          VersioningConfiguration: { Status: 'Suspended' },
        }),
      ),
      'InvalidBucketState',
      409,
    );
  });
});

describe('S3 Object Lock on objects', () => {
  it('a COMPLIANCE-locked version is write-once: not deleted, not shortened; overwrites and deletes only add versions', async () => {
    const b = await lockBucket();
    const Key = 'checkpoints/0001.json';
    const until = fromNow(DAY);
    const v1 = await client().send(
      new s3.PutObjectCommand({
        Bucket: b,
        Key,
        Body: '{"seq":1}',
        ContentType: 'application/json',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: until,
      }),
    );
    expect(v1.VersionId).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(v1.ETag).toBeDefined();

    const head = await client().send(new s3.HeadObjectCommand({ Bucket: b, Key }));
    expect(head.VersionId).toBe(v1.VersionId);
    expect(head.ObjectLockMode).toBe('COMPLIANCE');
    expect(head.ObjectLockRetainUntilDate!.getTime()).toBe(until.getTime());
    expect(head.ObjectLockLegalHoldStatus).toBeUndefined();
    const got = await client().send(new s3.GetObjectCommand({ Bucket: b, Key }));
    expect(got.VersionId).toBe(v1.VersionId);
    expect(got.ObjectLockMode).toBe('COMPLIANCE');
    expect(got.ObjectLockRetainUntilDate!.getTime()).toBe(until.getTime());
    expect(await got.Body!.transformToString()).toBe('{"seq":1}');
    const ret = await client().send(new s3.GetObjectRetentionCommand({ Bucket: b, Key }));
    expect(ret.Retention).toEqual({ Mode: 'COMPLIANCE', RetainUntilDate: until });
    await expectAwsError(
      client().send(new s3.GetObjectLegalHoldCommand({ Bucket: b, Key })),
      'NoSuchObjectLockConfiguration',
      404,
    );

    // Not deletable by version, with or without the governance bypass.
    for (const BypassGovernanceRetention of [undefined, true]) {
      const e = await expectAwsError(
        client().send(
          new s3.DeleteObjectCommand({
            Bucket: b,
            Key,
            VersionId: v1.VersionId,
            BypassGovernanceRetention,
          }),
        ),
        'AccessDenied',
        403,
      );
      expect(e.message).toBe('Access Denied because object protected by object lock.');
    }
    // Retention: no shortening, no removal, no change of mode; extending is allowed.
    const retention = (Retention: s3.ObjectLockRetention | undefined, bypass?: boolean) =>
      client().send(
        new s3.PutObjectRetentionCommand({
          Bucket: b,
          Key,
          VersionId: v1.VersionId,
          Retention,
          BypassGovernanceRetention: bypass,
        }),
      );
    await expectAwsError(
      retention({ Mode: 'COMPLIANCE', RetainUntilDate: fromNow(DAY / 2) }),
      'AccessDenied',
      403,
    );
    await expectAwsError(
      retention({ Mode: 'COMPLIANCE', RetainUntilDate: fromNow(DAY / 2) }, true),
      'AccessDenied',
      403,
    );
    await expectAwsError(retention({}), 'AccessDenied', 403);
    await expectAwsError(retention(undefined, true), 'AccessDenied', 403);
    await expectAwsError(
      retention({ Mode: 'GOVERNANCE', RetainUntilDate: fromNow(3 * DAY) }, true),
      'AccessDenied',
      403,
    );
    expect(
      (await client().send(new s3.GetObjectRetentionCommand({ Bucket: b, Key }))).Retention,
    ).toEqual({ Mode: 'COMPLIANCE', RetainUntilDate: until });
    const longer = fromNow(2 * DAY);
    await retention({ Mode: 'COMPLIANCE', RetainUntilDate: longer });
    expect(
      (
        await client().send(
          new s3.GetObjectRetentionCommand({ Bucket: b, Key, VersionId: v1.VersionId }),
        )
      ).Retention,
    ).toEqual({ Mode: 'COMPLIANCE', RetainUntilDate: longer });

    // An overwrite is a new version; the locked one stays readable by its id.
    const v2 = await client().send(new s3.PutObjectCommand({ Bucket: b, Key, Body: '{"seq":2}' }));
    expect(v2.VersionId).toBeDefined();
    expect(v2.VersionId).not.toBe(v1.VersionId);
    expect(await body(client().send(new s3.GetObjectCommand({ Bucket: b, Key })))).toBe(
      '{"seq":2}',
    );
    const old = await client().send(
      new s3.GetObjectCommand({ Bucket: b, Key, VersionId: v1.VersionId }),
    );
    expect(old.VersionId).toBe(v1.VersionId);
    expect(old.ContentType).toBe('application/json');
    expect(await old.Body!.transformToString()).toBe('{"seq":1}');
    // The new version carries no lock of its own (the bucket has no default rule).
    const head2 = await client().send(new s3.HeadObjectCommand({ Bucket: b, Key }));
    expect(head2.VersionId).toBe(v2.VersionId);
    expect(head2.ObjectLockMode).toBeUndefined();

    // A simple delete only adds a delete marker.
    const del = await client().send(new s3.DeleteObjectCommand({ Bucket: b, Key }));
    expect(del.DeleteMarker).toBe(true);
    expect(del.VersionId).toBeDefined();
    expect([v1.VersionId, v2.VersionId]).not.toContain(del.VersionId);
    await expectAwsError(
      client().send(new s3.GetObjectCommand({ Bucket: b, Key })),
      'NoSuchKey',
      404,
    );
    await expectAwsError(
      client().send(new s3.HeadObjectCommand({ Bucket: b, Key })),
      'NotFound',
      404,
    );
    await expectAwsError(
      client().send(new s3.GetObjectCommand({ Bucket: b, Key, VersionId: del.VersionId })),
      'MethodNotAllowed',
      405,
    );
    await expectAwsError(
      client().send(new s3.GetObjectRetentionCommand({ Bucket: b, Key })),
      'NoSuchKey',
      404,
    );
    expect(
      (await client().send(new s3.ListObjectsV2Command({ Bucket: b }))).Contents,
    ).toBeUndefined();
    expect(await versionsOf(b)).toEqual({
      versions: [
        { key: Key, id: v2.VersionId, latest: false },
        { key: Key, id: v1.VersionId, latest: false },
      ],
      markers: [{ key: Key, id: del.VersionId, latest: true }],
    });
    expect(
      await body(
        client().send(new s3.GetObjectCommand({ Bucket: b, Key, VersionId: v1.VersionId })),
      ),
    ).toBe('{"seq":1}');
    // The bucket cannot go while versions remain.
    await expectAwsError(
      client().send(new s3.DeleteBucketCommand({ Bucket: b })),
      'BucketNotEmpty',
      409,
    );

    // Removing the marker (a permanent delete of that version) brings v2 back.
    const undo = await client().send(
      new s3.DeleteObjectCommand({ Bucket: b, Key, VersionId: del.VersionId }),
    );
    expect(undo).toMatchObject({ DeleteMarker: true, VersionId: del.VersionId });
    expect(await body(client().send(new s3.GetObjectCommand({ Bucket: b, Key })))).toBe(
      '{"seq":2}',
    );
    // An unlocked version can be removed for good; the locked one still cannot.
    const gone = await client().send(
      new s3.DeleteObjectCommand({ Bucket: b, Key, VersionId: v2.VersionId }),
    );
    expect(gone.VersionId).toBe(v2.VersionId);
    expect(gone.DeleteMarker).toBeUndefined();
    expect(await body(client().send(new s3.GetObjectCommand({ Bucket: b, Key })))).toBe(
      '{"seq":1}',
    );
    await expectAwsError(
      client().send(new s3.DeleteObjectCommand({ Bucket: b, Key, VersionId: v1.VersionId })),
      'AccessDenied',
      403,
    );
    await expectAwsError(
      client().send(new s3.GetObjectCommand({ Bucket: b, Key, VersionId: v2.VersionId })),
      'NoSuchVersion',
      404,
    );
    expect(await versionsOf(b)).toEqual({
      versions: [{ key: Key, id: v1.VersionId, latest: true }],
      markers: [],
    });
  });

  it("IfNoneMatch '*' refuses to overwrite a current object and writes nothing", async () => {
    for (const b of [await lockBucket(), await plainBucket()]) {
      const Key = 'once.json';
      const first = await client().send(
        new s3.PutObjectCommand({ Bucket: b, Key, Body: 'first', IfNoneMatch: '*' }),
      );
      const e = await expectAwsError(
        client().send(
          new s3.PutObjectCommand({ Bucket: b, Key, Body: 'second', IfNoneMatch: '*' }),
        ),
        'PreconditionFailed',
        412,
      );
      expect(e.message).toBe('At least one of the pre-conditions you specified did not hold');
      const got = await client().send(new s3.GetObjectCommand({ Bucket: b, Key }));
      expect(await got.Body!.transformToString()).toBe('first');
      expect(got.ETag).toBe(first.ETag);
      expect(got.VersionId).toBe(first.VersionId);
      expect((await versionsOf(b)).versions).toHaveLength(1);
      // Only '*' is supported.
      await expectAwsError(
        client().send(
          new s3.PutObjectCommand({ Bucket: b, Key, Body: 'third', IfNoneMatch: first.ETag }),
        ),
        'NotImplemented',
        501,
      );
      // IfMatch: the current ETag or nothing.
      await expectAwsError(
        client().send(
          new s3.PutObjectCommand({ Bucket: b, Key, Body: 'x', IfMatch: '"0123456789abcdef"' }),
        ),
        'PreconditionFailed',
        412,
      );
      await client().send(
        new s3.PutObjectCommand({ Bucket: b, Key, Body: 'x', IfMatch: first.ETag }),
      );
      expect(await body(client().send(new s3.GetObjectCommand({ Bucket: b, Key })))).toBe('x');
    }
    // Behind a delete marker there is no current object: the conditional write goes through.
    const b = await lockBucket();
    await client().send(new s3.PutObjectCommand({ Bucket: b, Key: 'k', Body: '1' }));
    await client().send(new s3.DeleteObjectCommand({ Bucket: b, Key: 'k' }));
    await client().send(
      new s3.PutObjectCommand({ Bucket: b, Key: 'k', Body: '2', IfNoneMatch: '*' }),
    );
    expect(await body(client().send(new s3.GetObjectCommand({ Bucket: b, Key: 'k' })))).toBe('2');
  });

  it('GOVERNANCE gives way only to the bypass flag, with s3:BypassGovernanceRetention; legal holds to nothing', async () => {
    const b = await lockBucket();
    const Key = 'gov.txt';
    const v = await client().send(
      new s3.PutObjectCommand({
        Bucket: b,
        Key,
        Body: 'g',
        ObjectLockMode: 'GOVERNANCE',
        ObjectLockRetainUntilDate: fromNow(DAY),
      }),
    );
    const VersionId = v.VersionId!;
    await expectAwsError(
      client().send(new s3.DeleteObjectCommand({ Bucket: b, Key, VersionId })),
      'AccessDenied',
      403,
    );
    await expectAwsError(
      client().send(
        new s3.DeleteObjectCommand({ Bucket: b, Key, VersionId, BypassGovernanceRetention: false }),
      ),
      'AccessDenied',
      403,
    );
    const retention = (Retention: s3.ObjectLockRetention, bypass?: boolean, c = client()) =>
      c.send(
        new s3.PutObjectRetentionCommand({
          Bucket: b,
          Key,
          VersionId,
          Retention,
          BypassGovernanceRetention: bypass,
        }),
      );
    // Shortening, removing or hardening to COMPLIANCE need the bypass; extending does not.
    await expectAwsError(
      retention({ Mode: 'GOVERNANCE', RetainUntilDate: fromNow(DAY / 2) }),
      'AccessDenied',
      403,
    );
    await expectAwsError(retention({}), 'AccessDenied', 403);
    await expectAwsError(
      retention({ Mode: 'COMPLIANCE', RetainUntilDate: fromNow(2 * DAY) }),
      'AccessDenied',
      403,
    );
    await retention({ Mode: 'GOVERNANCE', RetainUntilDate: fromNow(2 * DAY) });
    const shorter = fromNow(DAY / 2);
    await retention({ Mode: 'GOVERNANCE', RetainUntilDate: shorter }, true);
    expect(
      (await client().send(new s3.GetObjectRetentionCommand({ Bucket: b, Key }))).Retention,
    ).toEqual({ Mode: 'GOVERNANCE', RetainUntilDate: shorter });

    // The flag is not enough without the permission.
    const noBypass = await roleClient('LockNoBypass', [
      {
        Effect: 'Allow',
        Action: ['s3:DeleteObjectVersion', 's3:PutObjectRetention', 's3:GetObject'],
        Resource: `arn:aws:s3:::${b}/*`,
      },
    ]);
    const denied = await expectAwsError(
      noBypass.send(
        new s3.DeleteObjectCommand({ Bucket: b, Key, VersionId, BypassGovernanceRetention: true }),
      ),
      'AccessDenied',
      403,
    );
    expect(denied.message).toMatch(/s3:BypassGovernanceRetention/);
    await expectAwsError(retention({}, true, noBypass), 'AccessDenied', 403);
    // Lock headers are shown only to callers that may read them.
    const seen = await noBypass.send(new s3.HeadObjectCommand({ Bucket: b, Key }));
    expect(seen.VersionId).toBe(VersionId);
    expect(seen.ObjectLockMode).toBeUndefined();
    expect(seen.ObjectLockRetainUntilDate).toBeUndefined();
    // A specific version is read with s3:GetObjectVersion.
    const ver = await expectAwsError(
      noBypass.send(new s3.GetObjectCommand({ Bucket: b, Key, VersionId })),
      'AccessDenied',
      403,
    );
    expect(ver.message).toMatch(/s3:GetObjectVersion/);

    // A legal hold blocks even the bypass, until it is lifted.
    await client().send(
      new s3.PutObjectLegalHoldCommand({ Bucket: b, Key, VersionId, LegalHold: { Status: 'ON' } }),
    );
    expect(
      (await client().send(new s3.GetObjectLegalHoldCommand({ Bucket: b, Key }))).LegalHold,
    ).toEqual({ Status: 'ON' });
    expect(
      (await client().send(new s3.HeadObjectCommand({ Bucket: b, Key }))).ObjectLockLegalHoldStatus,
    ).toBe('ON');
    await expectAwsError(
      client().send(
        new s3.DeleteObjectCommand({ Bucket: b, Key, VersionId, BypassGovernanceRetention: true }),
      ),
      'AccessDenied',
      403,
    );
    await expectAwsError(
      client().send(
        new s3.PutObjectLegalHoldCommand({
          Bucket: b,
          Key,
          LegalHold: { Status: 'MAYBE' as s3.ObjectLockLegalHoldStatus },
        }),
      ),
      'MalformedXML',
      400,
    );
    await client().send(
      new s3.PutObjectLegalHoldCommand({ Bucket: b, Key, LegalHold: { Status: 'OFF' } }),
    );
    expect(
      (await client().send(new s3.HeadObjectCommand({ Bucket: b, Key }))).ObjectLockLegalHoldStatus,
    ).toBe('OFF');
    const del = await client().send(
      new s3.DeleteObjectCommand({ Bucket: b, Key, VersionId, BypassGovernanceRetention: true }),
    );
    expect(del.VersionId).toBe(VersionId);
    expect(await versionsOf(b)).toEqual({ versions: [], markers: [] });
    await client().send(new s3.DeleteBucketCommand({ Bucket: b }));
  });

  it("the bucket's default retention applies to writes without lock headers", async () => {
    const b = await lockBucket({ Mode: 'COMPLIANCE', Days: 1 });
    const before = sb.control.clock.now();
    const v = await client().send(new s3.PutObjectCommand({ Bucket: b, Key: 'd', Body: 'd' }));
    const head = await client().send(new s3.HeadObjectCommand({ Bucket: b, Key: 'd' }));
    expect(head.ObjectLockMode).toBe('COMPLIANCE');
    const until = head.ObjectLockRetainUntilDate!.getTime();
    expect(until).toBeGreaterThanOrEqual(before + DAY);
    expect(until).toBeLessThanOrEqual(sb.control.clock.now() + DAY);
    await expectAwsError(
      client().send(new s3.DeleteObjectCommand({ Bucket: b, Key: 'd', VersionId: v.VersionId })),
      'AccessDenied',
      403,
    );
    // Explicit headers win over the default.
    const explicit = fromNow(3 * DAY);
    await client().send(
      new s3.PutObjectCommand({
        Bucket: b,
        Key: 'e',
        Body: 'e',
        ObjectLockMode: 'GOVERNANCE',
        ObjectLockRetainUntilDate: explicit,
      }),
    );
    expect(
      (await client().send(new s3.GetObjectRetentionCommand({ Bucket: b, Key: 'e' }))).Retention,
    ).toEqual({ Mode: 'GOVERNANCE', RetainUntilDate: explicit });
    // Years count 365 days.
    const y = await lockBucket({ Mode: 'GOVERNANCE', Years: 1 });
    const t0 = sb.control.clock.now();
    await client().send(new s3.PutObjectCommand({ Bucket: y, Key: 'y', Body: 'y' }));
    const ry = (await client().send(new s3.GetObjectRetentionCommand({ Bucket: y, Key: 'y' })))
      .Retention!;
    expect(ry.Mode).toBe('GOVERNANCE');
    expect(ry.RetainUntilDate!.getTime()).toBeGreaterThanOrEqual(t0 + 365 * DAY);
    expect(ry.RetainUntilDate!.getTime()).toBeLessThanOrEqual(sb.control.clock.now() + 365 * DAY);
  });

  it('lock headers on upload need s3:PutObjectRetention / s3:PutObjectLegalHold; the default rule needs neither', async () => {
    const b = await lockBucket({ Mode: 'COMPLIANCE', Days: 1 });
    const writer = await roleClient('put-only', [
      { Effect: 'Allow', Action: ['s3:PutObject'], Resource: `arn:aws:s3:::${b}/*` },
    ]);
    await expectAwsError(
      writer.send(
        new s3.PutObjectCommand({
          Bucket: b,
          Key: 'r',
          Body: 'r',
          ObjectLockMode: 'COMPLIANCE',
          ObjectLockRetainUntilDate: fromNow(2 * DAY),
        }),
      ),
      'AccessDenied',
      403,
    );
    await expectAwsError(
      writer.send(
        new s3.PutObjectCommand({
          Bucket: b,
          Key: 'h',
          Body: 'h',
          ObjectLockLegalHoldStatus: 'ON',
        }),
      ),
      'AccessDenied',
      403,
    );
    expect((await versionsOf(b)).versions).toEqual([]);
    await writer.send(new s3.PutObjectCommand({ Bucket: b, Key: 'd', Body: 'd' }));
    expect(
      (await client().send(new s3.GetObjectRetentionCommand({ Bucket: b, Key: 'd' }))).Retention
        ?.Mode,
    ).toBe('COMPLIANCE');
    const locker = await roleClient('put-and-lock', [
      {
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:PutObjectRetention'],
        Resource: `arn:aws:s3:::${b}/*`,
      },
    ]);
    await locker.send(
      new s3.PutObjectCommand({
        Bucket: b,
        Key: 'r',
        Body: 'r',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: fromNow(2 * DAY),
      }),
    );
    writer.destroy();
    locker.destroy();
  });

  it('lock headers on a bucket without Object Lock, and bad lock input, are refused with 400s', async () => {
    const plain = await plainBucket();
    const missing = await expectAwsError(
      client().send(
        new s3.PutObjectCommand({
          Bucket: plain,
          Key: 'x',
          Body: 'x',
          ObjectLockMode: 'COMPLIANCE',
          ObjectLockRetainUntilDate: fromNow(DAY),
        }),
      ),
      'InvalidRequest',
      400,
    );
    expect(missing.message).toBe('Bucket is missing Object Lock Configuration');
    await expectAwsError(
      client().send(
        new s3.PutObjectCommand({
          Bucket: plain,
          Key: 'x',
          Body: 'x',
          ObjectLockLegalHoldStatus: 'ON',
        }),
      ),
      'InvalidRequest',
      400,
    );
    await client().send(new s3.PutObjectCommand({ Bucket: plain, Key: 'y', Body: 'y' }));
    for (const cmd of [
      new s3.GetObjectRetentionCommand({ Bucket: plain, Key: 'y' }),
      new s3.GetObjectLegalHoldCommand({ Bucket: plain, Key: 'y' }),
      new s3.PutObjectLegalHoldCommand({ Bucket: plain, Key: 'y', LegalHold: { Status: 'ON' } }),
      new s3.PutObjectRetentionCommand({
        Bucket: plain,
        Key: 'y',
        Retention: { Mode: 'GOVERNANCE', RetainUntilDate: fromNow(DAY) },
      }),
    ])
      await expectAwsError(client().send(cmd as never), 'InvalidRequest', 400);
    const bypass = await expectAwsError(
      client().send(
        new s3.DeleteObjectCommand({ Bucket: plain, Key: 'y', BypassGovernanceRetention: true }),
      ),
      'InvalidArgument',
      400,
    );
    expect(bypass.message).toMatch(/only applicable to Object Lock enabled buckets/);
    expect((await client().send(new s3.ListObjectsV2Command({ Bucket: plain }))).KeyCount).toBe(1);

    const b = await lockBucket();
    const Key = 'bad';
    const put = (extra: Partial<s3.PutObjectCommandInput>, c = client()) =>
      c.send(new s3.PutObjectCommand({ Bucket: b, Key, Body: 'b', ...extra }));
    const cases: [Partial<s3.PutObjectCommandInput>, RegExp][] = [
      [{ ObjectLockMode: 'COMPLIANCE' }, /must both be supplied/],
      [{ ObjectLockRetainUntilDate: fromNow(DAY) }, /must both be supplied/],
      [
        {
          ObjectLockMode: 'FOREVER' as s3.ObjectLockMode,
          ObjectLockRetainUntilDate: fromNow(DAY),
        },
        /^Unknown wormMode directive\.$/,
      ],
      [
        { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: fromNow(-60_000) },
        /^The retain until date must be in the future!$/,
      ],
      [
        { ObjectLockLegalHoldStatus: 'MAYBE' as s3.ObjectLockLegalHoldStatus },
        /Legal Hold must be either of 'ON' or 'OFF'/,
      ],
    ];
    for (const [extra, message] of cases) {
      const e = await expectAwsError(put(extra), 'InvalidArgument', 400);
      expect(e.message).toMatch(message);
    }
    // Dates on the wire: not a date at all, or a date that is not ISO 8601.
    const lockHeaders = {
      ObjectLockMode: 'COMPLIANCE' as const,
      ObjectLockRetainUntilDate: fromNow(DAY),
    };
    const garbage = await expectAwsError(
      put(lockHeaders, withHeader(client(), 'x-amz-object-lock-retain-until-date', 'not-a-date')),
      'MalformedXML',
      400,
    );
    expect(garbage.message).toMatch(/Invalid timestamp 'not-a-date' for ObjectLockRetainUntilDate/);
    const rfc1123 = await expectAwsError(
      put(
        lockHeaders,
        withHeader(client(), 'x-amz-object-lock-retain-until-date', fromNow(DAY).toUTCString()),
      ),
      'InvalidArgument',
      400,
    );
    expect(rfc1123.message).toBe('The retain until date must be provided in ISO 8601 format');
    // A locking write must carry Content-MD5 or a checksum (the SDK sends one by default).
    const noChecksum = await expectAwsError(
      put(lockHeaders, client({ requestChecksumCalculation: 'WHEN_REQUIRED' })),
      'InvalidRequest',
      400,
    );
    expect(noChecksum.message).toMatch(/Content-MD5 OR x-amz-checksum- HTTP header is required/);
    expect(await versionsOf(b)).toEqual({ versions: [], markers: [] });

    // PutObjectRetention's document.
    const v = await put({});
    const retention = (Retention: Record<string, unknown>) =>
      client().send(
        new s3.PutObjectRetentionCommand({
          Bucket: b,
          Key,
          Retention: Retention as s3.ObjectLockRetention,
        }),
      );
    await expectAwsError(
      retention({ Mode: 'FOREVER', RetainUntilDate: fromNow(DAY) }),
      'MalformedXML',
      400,
    );
    await expectAwsError(retention({ Mode: 'GOVERNANCE' }), 'MalformedXML', 400);
    await expectAwsError(retention({ RetainUntilDate: fromNow(DAY) }), 'MalformedXML', 400);
    const past = await expectAwsError(
      retention({ Mode: 'GOVERNANCE', RetainUntilDate: fromNow(-DAY) }),
      'InvalidArgument',
      400,
    );
    expect(past.message).toBe('The retain until date must be in the future!');
    await expectAwsError(
      client().send(new s3.GetObjectRetentionCommand({ Bucket: b, Key })),
      'NoSuchObjectLockConfiguration',
      404,
    );
    await expectAwsError(
      client().send(
        new s3.PutObjectRetentionCommand({
          Bucket: b,
          Key,
          VersionId: 'no-such-version',
          Retention: { Mode: 'GOVERNANCE', RetainUntilDate: fromNow(DAY) },
        }),
      ),
      'NoSuchVersion',
      404,
    );
    // Retention can be set on an existing version after the fact.
    await retention({ Mode: 'GOVERNANCE', RetainUntilDate: fromNow(DAY) });
    await expectAwsError(
      client().send(new s3.DeleteObjectCommand({ Bucket: b, Key, VersionId: v.VersionId })),
      'AccessDenied',
      403,
    );
  });
});

describe('S3 versioning', () => {
  it('ListObjectVersions: newest first per key, keys ascending, prefix, delimiter and pagination', async () => {
    const b = await lockBucket();
    const ids: Record<string, string[]> = {};
    const put = async (Key: string) => {
      const v = await client().send(new s3.PutObjectCommand({ Bucket: b, Key, Body: Key }));
      (ids[Key] ??= []).unshift(v.VersionId!);
    };
    for (const k of ['a/2', 'a/1', 'b/1', 'a/1', 'a/2', 'a/1', 'c']) await put(k);
    const marker = (await client().send(new s3.DeleteObjectCommand({ Bucket: b, Key: 'a/2' })))
      .VersionId!;

    const full = await client().send(new s3.ListObjectVersionsCommand({ Bucket: b }));
    expect(full.IsTruncated).toBe(false);
    expect(full.Name).toBe(b);
    expect(full.Versions!.map((v) => [v.Key, v.VersionId, v.IsLatest])).toEqual([
      ['a/1', ids['a/1']![0], true],
      ['a/1', ids['a/1']![1], false],
      ['a/1', ids['a/1']![2], false],
      ['a/2', ids['a/2']![0], false],
      ['a/2', ids['a/2']![1], false],
      ['b/1', ids['b/1']![0], true],
      ['c', ids['c']![0], true],
    ]);
    expect(full.DeleteMarkers!.map((v) => [v.Key, v.VersionId, v.IsLatest])).toEqual([
      ['a/2', marker, true],
    ]);
    const first = full.Versions![0]!;
    expect(first.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(first.Size).toBe(3);
    expect(first.StorageClass).toBe('STANDARD');
    expect(first.LastModified).toBeInstanceOf(Date);

    const prefixed = await versionsOf(b, 'a/');
    expect(prefixed.versions.map((v) => v.key)).toEqual(['a/1', 'a/1', 'a/1', 'a/2', 'a/2']);
    expect(prefixed.markers).toHaveLength(1);
    const deli = await client().send(
      new s3.ListObjectVersionsCommand({ Bucket: b, Delimiter: '/' }),
    );
    expect(deli.CommonPrefixes!.map((p) => p.Prefix)).toEqual(['a/', 'b/']);
    expect(deli.Versions!.map((v) => v.Key)).toEqual(['c']);

    // Page by two through everything: the same entries in the same order (markers and versions
    // of a key interleave by age, so compare per key with markers merged in).
    const all = [...full.Versions!.map((v) => `${v.Key}:${v.VersionId}`), `a/2:${marker}`].sort();
    const paged: string[] = [];
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await client().send(
        new s3.ListObjectVersionsCommand({ Bucket: b, MaxKeys: 2, KeyMarker, VersionIdMarker }),
      );
      pages++;
      const entries = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])];
      expect(entries.length).toBeLessThanOrEqual(2);
      paged.push(...entries.map((v) => `${v.Key}:${v.VersionId}`));
      if (!page.IsTruncated) break;
      expect(page.NextKeyMarker).toBeDefined();
      KeyMarker = page.NextKeyMarker;
      VersionIdMarker = page.NextVersionIdMarker;
    }
    expect(pages).toBe(4);
    expect(new Set(paged).size).toBe(paged.length);
    expect([...paged].sort()).toEqual(all);
    // A key marker alone starts after that key.
    const after = await client().send(
      new s3.ListObjectVersionsCommand({ Bucket: b, KeyMarker: 'a/2' }),
    );
    expect(after.Versions!.map((v) => v.Key)).toEqual(['b/1', 'c']);
    expect(after.DeleteMarkers).toBeUndefined();
    // Paging by delimiter: a common prefix is listed once.
    const p1 = await client().send(
      new s3.ListObjectVersionsCommand({ Bucket: b, Delimiter: '/', MaxKeys: 1 }),
    );
    expect(p1.CommonPrefixes!.map((p) => p.Prefix)).toEqual(['a/']);
    expect(p1.NextKeyMarker).toBe('a/');
    const p2 = await client().send(
      new s3.ListObjectVersionsCommand({
        Bucket: b,
        Delimiter: '/',
        MaxKeys: 1,
        KeyMarker: p1.NextKeyMarker,
      }),
    );
    expect(p2.CommonPrefixes!.map((p) => p.Prefix)).toEqual(['b/']);
    // MaxKeys 0 lists nothing and is not a page to follow.
    const none = await client().send(
      new s3.ListObjectVersionsCommand({ Bucket: b, Delimiter: '/', MaxKeys: 0 }),
    );
    expect(none).toMatchObject({ IsTruncated: false, MaxKeys: 0 });
    expect(none.Versions ?? none.CommonPrefixes).toBeUndefined();
    await expectAwsError(
      client().send(new s3.ListObjectVersionsCommand({ Bucket: b, VersionIdMarker: ids['c']![0] })),
      'InvalidArgument',
      400,
    );

    // A bucket that was never versioned lists its objects as "null" versions.
    const plain = await plainBucket();
    await client().send(new s3.PutObjectCommand({ Bucket: plain, Key: 'p', Body: 'p' }));
    expect(await versionsOf(plain)).toEqual({
      versions: [{ key: 'p', id: 'null', latest: true }],
      markers: [],
    });
  });

  it('a plain bucket: delete removes, enabling versioning keeps versions, suspending writes "null" versions', async () => {
    const b = await plainBucket();
    const put = (Body: string, Key = 'k') =>
      client().send(new s3.PutObjectCommand({ Bucket: b, Key, Body }));
    const v0 = await put('zero');
    expect(v0.VersionId).toBeUndefined();
    const g0 = await client().send(new s3.GetObjectCommand({ Bucket: b, Key: 'k' }));
    expect(g0.VersionId).toBeUndefined();
    await put('gone', 'tmp');
    const d = await client().send(new s3.DeleteObjectCommand({ Bucket: b, Key: 'tmp' }));
    expect(d.DeleteMarker).toBeUndefined();
    await expectAwsError(
      client().send(new s3.GetObjectCommand({ Bucket: b, Key: 'tmp' })),
      'NoSuchKey',
      404,
    );

    await client().send(
      new s3.PutBucketVersioningCommand({
        Bucket: b,
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    const v1 = await put('one');
    expect(v1.VersionId).toBeDefined();
    expect(await versionsOf(b)).toEqual({
      versions: [
        { key: 'k', id: v1.VersionId, latest: true },
        { key: 'k', id: 'null', latest: false },
      ],
      markers: [],
    });
    expect(
      await body(
        client().send(new s3.GetObjectCommand({ Bucket: b, Key: 'k', VersionId: 'null' })),
      ),
    ).toBe('zero');
    expect((await client().send(new s3.HeadObjectCommand({ Bucket: b, Key: 'k' }))).VersionId).toBe(
      v1.VersionId,
    );

    await client().send(
      new s3.PutBucketVersioningCommand({
        Bucket: b,
        VersioningConfiguration: { Status: 'Suspended' },
      }),
    );
    // While suspended, a write replaces the "null" version and keeps the others.
    const s1 = await put('suspended-1');
    expect(s1.VersionId).toBeUndefined();
    await put('suspended-2');
    expect(await versionsOf(b)).toEqual({
      versions: [
        { key: 'k', id: 'null', latest: true },
        { key: 'k', id: v1.VersionId, latest: false },
      ],
      markers: [],
    });
    expect((await client().send(new s3.GetObjectCommand({ Bucket: b, Key: 'k' }))).VersionId).toBe(
      'null',
    );
    const dm = await client().send(new s3.DeleteObjectCommand({ Bucket: b, Key: 'k' }));
    expect(dm).toMatchObject({ DeleteMarker: true, VersionId: 'null' });
    expect(await versionsOf(b)).toEqual({
      versions: [{ key: 'k', id: v1.VersionId, latest: false }],
      markers: [{ key: 'k', id: 'null', latest: true }],
    });
    await expectAwsError(
      client().send(new s3.DeleteBucketCommand({ Bucket: b })),
      'BucketNotEmpty',
      409,
    );
    await client().send(new s3.DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: 'null' }));
    expect(await body(client().send(new s3.GetObjectCommand({ Bucket: b, Key: 'k' })))).toBe('one');
    await client().send(
      new s3.DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: v1.VersionId }),
    );
    expect(await versionsOf(b)).toEqual({ versions: [], markers: [] });
    await client().send(new s3.DeleteBucketCommand({ Bucket: b }));
  });

  // Last: it moves the sandbox clock forward.
  it('once the retain-until date has passed (sandbox clock), the version can be deleted', async () => {
    const b = await lockBucket();
    const Key = 'expiring';
    const lock = (Body: string) =>
      client().send(
        new s3.PutObjectCommand({
          Bucket: b,
          Key,
          Body,
          ObjectLockMode: 'COMPLIANCE',
          ObjectLockRetainUntilDate: fromNow(DAY),
        }),
      );
    const v1 = await lock('one');
    const v2 = await lock('two');
    await expectAwsError(
      client().send(new s3.DeleteObjectCommand({ Bucket: b, Key, VersionId: v1.VersionId })),
      'AccessDenied',
      403,
    );
    await expectAwsError(
      client().send(
        new s3.PutObjectRetentionCommand({
          Bucket: b,
          Key,
          VersionId: v2.VersionId,
          Retention: {},
        }),
      ),
      'AccessDenied',
      403,
    );
    sb.control.advanceTime(DAY + 1000);
    // The expired retention is still reported, but no longer protects the version.
    expect(
      (
        await client().send(
          new s3.GetObjectRetentionCommand({ Bucket: b, Key, VersionId: v1.VersionId }),
        )
      ).Retention!.Mode,
    ).toBe('COMPLIANCE');
    const del = await client().send(
      new s3.DeleteObjectCommand({ Bucket: b, Key, VersionId: v1.VersionId }),
    );
    expect(del.VersionId).toBe(v1.VersionId);
    await expectAwsError(
      client().send(new s3.GetObjectCommand({ Bucket: b, Key, VersionId: v1.VersionId })),
      'NoSuchVersion',
      404,
    );
    // An expired retention can be removed like any unprotected setting.
    await client().send(
      new s3.PutObjectRetentionCommand({ Bucket: b, Key, VersionId: v2.VersionId, Retention: {} }),
    );
    await expectAwsError(
      client().send(new s3.GetObjectRetentionCommand({ Bucket: b, Key })),
      'NoSuchObjectLockConfiguration',
      404,
    );
    expect(await versionsOf(b)).toEqual({
      versions: [{ key: Key, id: v2.VersionId, latest: true }],
      markers: [],
    });
    await client().send(new s3.DeleteObjectCommand({ Bucket: b, Key, VersionId: v2.VersionId }));
    await client().send(new s3.DeleteBucketCommand({ Bucket: b }));
  });
});
