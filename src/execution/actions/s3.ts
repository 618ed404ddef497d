// S3: Block Public Access (account and bucket), default encryption, versioning, access logging.
import {
  DeletePublicAccessBlockCommand,
  GetBucketEncryptionCommand,
  GetBucketLoggingCommand,
  GetBucketPolicyStatusCommand,
  GetBucketVersioningCommand,
  GetBucketWebsiteCommand,
  GetPublicAccessBlockCommand,
  PutBucketEncryptionCommand,
  PutBucketLoggingCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  DeleteBucketEncryptionCommand,
} from '@aws-sdk/client-s3';
import {
  DeletePublicAccessBlockCommand as DeleteAccountPabCommand,
  GetPublicAccessBlockCommand as GetAccountPabCommand,
  PutPublicAccessBlockCommand as PutAccountPabCommand,
} from '@aws-sdk/client-s3-control';
import { isAwsError } from '../clients.js';
import { settingAction, type ActionContext, type PermissionNeed } from './types.js';

export interface PabState {
  blockPublicAcls: boolean;
  ignorePublicAcls: boolean;
  blockPublicPolicy: boolean;
  restrictPublicBuckets: boolean;
}
const FULL_BLOCK: PabState = {
  blockPublicAcls: true,
  ignorePublicAcls: true,
  blockPublicPolicy: true,
  restrictPublicBuckets: true,
};
const pabFrom = (c: {
  BlockPublicAcls?: boolean;
  IgnorePublicAcls?: boolean;
  BlockPublicPolicy?: boolean;
  RestrictPublicBuckets?: boolean;
}): PabState => ({
  blockPublicAcls: c.BlockPublicAcls ?? false,
  ignorePublicAcls: c.IgnorePublicAcls ?? false,
  blockPublicPolicy: c.BlockPublicPolicy ?? false,
  restrictPublicBuckets: c.RestrictPublicBuckets ?? false,
});
const pabTo = (s: PabState) => ({
  BlockPublicAcls: s.blockPublicAcls,
  IgnorePublicAcls: s.ignorePublicAcls,
  BlockPublicPolicy: s.blockPublicPolicy,
  RestrictPublicBuckets: s.restrictPublicBuckets,
});
const pabFlags = (s: PabState) =>
  `BlockPublicAcls=${s.blockPublicAcls},IgnorePublicAcls=${s.ignorePublicAcls},BlockPublicPolicy=${s.blockPublicPolicy},RestrictPublicBuckets=${s.restrictPublicBuckets}`;

const bucketArn = (b: string) => `arn:aws:s3:::${b}`;
const bucketPerms = (
  bucket: string,
  reads: string[],
  writes: string[],
  rollbackWrites = writes,
): PermissionNeed[] => [
  ...reads.map((action) => ({ phase: 'read' as const, action, resource: bucketArn(bucket) })),
  ...writes.map((action) => ({ phase: 'apply' as const, action, resource: bucketArn(bucket) })),
  ...rollbackWrites.map((action) => ({
    phase: 'rollback' as const,
    action,
    resource: bucketArn(bucket),
  })),
];

// ---------- account-level Block Public Access (S3 Control) ----------

export const putAccountPublicAccessBlock = settingAction({
  id: 's3.put_account_public_access_block',
  what: (p) => `the account public access block of ${p.accountId}`,
  async observe(ctx: ActionContext, p): Promise<{ publicAccessBlock: PabState | null }> {
    try {
      const r = await ctx.aws
        .s3control()
        .send(new GetAccountPabCommand({ AccountId: p.accountId }));
      return { publicAccessBlock: pabFrom(r.PublicAccessBlockConfiguration ?? {}) };
    } catch (e) {
      if (isAwsError(e, 'NoSuchPublicAccessBlockConfiguration')) return { publicAccessBlock: null };
      throw e;
    }
  },
  target: () => ({ publicAccessBlock: FULL_BLOCK }),
  async write(ctx, p, desired) {
    if (desired.publicAccessBlock)
      await ctx.aws.s3control().send(
        new PutAccountPabCommand({
          AccountId: p.accountId,
          PublicAccessBlockConfiguration: pabTo(desired.publicAccessBlock),
        }),
      );
    else await ctx.aws.s3control().send(new DeleteAccountPabCommand({ AccountId: p.accountId }));
  },
  permissions: () => [
    { phase: 'read', action: 's3:GetAccountPublicAccessBlock', resource: '*' },
    { phase: 'apply', action: 's3:PutAccountPublicAccessBlock', resource: '*' },
    { phase: 'rollback', action: 's3:PutAccountPublicAccessBlock', resource: '*' },
  ],
  rollbackStrategy: (p, pre) =>
    pre.state.publicAccessBlock
      ? `aws s3control put-public-access-block --account-id ${p.accountId} --public-access-block-configuration ${pabFlags(pre.state.publicAccessBlock)}`
      : `aws s3control delete-public-access-block --account-id ${p.accountId} (there was no account block)`,
});

// ---------- bucket-level Block Public Access ----------

export const putBucketPublicAccessBlock = settingAction({
  id: 's3.put_bucket_public_access_block',
  what: (p) => `the public access block of bucket ${p.bucket}`,
  async observe(ctx, p): Promise<{ publicAccessBlock: PabState | null }> {
    try {
      const r = await ctx.aws
        .s3(p.region)
        .send(new GetPublicAccessBlockCommand({ Bucket: p.bucket }));
      return { publicAccessBlock: pabFrom(r.PublicAccessBlockConfiguration ?? {}) };
    } catch (e) {
      if (isAwsError(e, 'NoSuchPublicAccessBlockConfiguration')) return { publicAccessBlock: null };
      throw e;
    }
  },
  // What the block is about to cut: recorded for the audit trail (a public website breaks).
  async capture(ctx, p) {
    const s3 = ctx.aws.s3(p.region);
    let policyIsPublic: boolean | null = null;
    try {
      policyIsPublic =
        (await s3.send(new GetBucketPolicyStatusCommand({ Bucket: p.bucket }))).PolicyStatus
          ?.IsPublic ?? false;
    } catch (e) {
      if (!isAwsError(e, 'NoSuchBucketPolicy')) throw e;
    }
    let website = false;
    try {
      await s3.send(new GetBucketWebsiteCommand({ Bucket: p.bucket }));
      website = true;
    } catch (e) {
      if (!isAwsError(e, 'NoSuchWebsiteConfiguration')) throw e;
    }
    return { policyIsPublic, website };
  },
  target: () => ({ publicAccessBlock: FULL_BLOCK }),
  async write(ctx, p, desired) {
    const s3 = ctx.aws.s3(p.region);
    if (desired.publicAccessBlock)
      await s3.send(
        new PutPublicAccessBlockCommand({
          Bucket: p.bucket,
          PublicAccessBlockConfiguration: pabTo(desired.publicAccessBlock),
        }),
      );
    else await s3.send(new DeletePublicAccessBlockCommand({ Bucket: p.bucket }));
  },
  permissions: (p) =>
    bucketPerms(
      p.bucket,
      ['s3:GetBucketPublicAccessBlock', 's3:GetBucketPolicyStatus', 's3:GetBucketWebsite'],
      ['s3:PutBucketPublicAccessBlock'],
    ),
  rollbackStrategy: (p, pre) =>
    pre.state.publicAccessBlock
      ? `aws s3api put-public-access-block --bucket ${p.bucket} --public-access-block-configuration ${pabFlags(pre.state.publicAccessBlock)}`
      : `aws s3api delete-public-access-block --bucket ${p.bucket} (there was no bucket block)`,
});

// ---------- default encryption ----------

export interface EncryptionState {
  encryption: { algorithm: string; kmsKeyId: string | null; bucketKeyEnabled: boolean } | null;
}
const SSE_S3 = { algorithm: 'AES256', kmsKeyId: null, bucketKeyEnabled: false };

export const enableDefaultEncryption = settingAction({
  id: 's3.enable_default_encryption',
  what: (p) => `the default encryption of bucket ${p.bucket}`,
  async observe(ctx, p): Promise<EncryptionState> {
    try {
      const r = await ctx.aws
        .s3(p.region)
        .send(new GetBucketEncryptionCommand({ Bucket: p.bucket }));
      const rule = r.ServerSideEncryptionConfiguration?.Rules?.[0];
      const d = rule?.ApplyServerSideEncryptionByDefault;
      if (!d?.SSEAlgorithm) return { encryption: null };
      return {
        encryption: {
          algorithm: d.SSEAlgorithm,
          kmsKeyId: d.KMSMasterKeyID ?? null,
          bucketKeyEnabled: rule?.BucketKeyEnabled ?? false,
        },
      };
    } catch (e) {
      if (isAwsError(e, 'ServerSideEncryptionConfigurationNotFoundError'))
        return { encryption: null };
      throw e;
    }
  },
  target: () => ({ encryption: SSE_S3 }),
  async write(ctx, p, desired) {
    const s3 = ctx.aws.s3(p.region);
    const e = desired.encryption;
    if (!e) {
      await s3.send(new DeleteBucketEncryptionCommand({ Bucket: p.bucket }));
      return;
    }
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: p.bucket,
        ServerSideEncryptionConfiguration: {
          Rules: [
            {
              ApplyServerSideEncryptionByDefault: {
                SSEAlgorithm: e.algorithm as 'AES256',
                ...(e.kmsKeyId ? { KMSMasterKeyID: e.kmsKeyId } : {}),
              },
              BucketKeyEnabled: e.bucketKeyEnabled,
            },
          ],
        },
      }),
    );
  },
  // Since January 2023 AWS keeps SSE-S3 as the floor: "no configuration" comes back as SSE-S3.
  rolledBack: (s, pre) =>
    pre.encryption === null
      ? s.encryption === null ||
        (s.encryption.algorithm === 'AES256' && s.encryption.kmsKeyId === null)
      : JSON.stringify(s) === JSON.stringify(pre),
  permissions: (p) =>
    bucketPerms(p.bucket, ['s3:GetEncryptionConfiguration'], ['s3:PutEncryptionConfiguration']),
  rollbackStrategy: (p, pre) =>
    pre.state.encryption
      ? `aws s3api put-bucket-encryption --bucket ${p.bucket} (restore ${pre.state.encryption.algorithm})`
      : `aws s3api delete-bucket-encryption --bucket ${p.bucket} (there was none; AWS keeps SSE-S3 as the minimum since 2023)`,
});

// ---------- versioning ----------

export interface VersioningState {
  versioning: 'Enabled' | 'Suspended' | null;
}

export const enableVersioning = settingAction({
  id: 's3.enable_versioning',
  what: (p) => `the versioning of bucket ${p.bucket}`,
  async observe(ctx, p): Promise<VersioningState> {
    const r = await ctx.aws.s3(p.region).send(new GetBucketVersioningCommand({ Bucket: p.bucket }));
    return { versioning: r.Status === 'Enabled' || r.Status === 'Suspended' ? r.Status : null };
  },
  target: (): VersioningState => ({ versioning: 'Enabled' }),
  async write(ctx, p, desired) {
    // A bucket can never return to "never versioned": the closest state is Suspended.
    await ctx.aws.s3(p.region).send(
      new PutBucketVersioningCommand({
        Bucket: p.bucket,
        VersioningConfiguration: { Status: desired.versioning ?? 'Suspended' },
      }),
    );
  },
  rolledBack: (s, pre) =>
    pre.versioning === null ? s.versioning === 'Suspended' : s.versioning === pre.versioning,
  permissions: (p) => bucketPerms(p.bucket, ['s3:GetBucketVersioning'], ['s3:PutBucketVersioning']),
  rollbackStrategy: (p, pre) =>
    `aws s3api put-bucket-versioning --bucket ${p.bucket} --versioning-configuration Status=Suspended` +
    (pre.state.versioning === null
      ? ' (it was never enabled; Suspended is as close as AWS allows)'
      : ''),
});

// ---------- access logging ----------

export interface LoggingState {
  logging: { targetBucket: string; targetPrefix: string } | null;
}

export const enableAccessLogging = settingAction({
  id: 's3.enable_access_logging',
  what: (p) => `the access logging of bucket ${p.bucket}`,
  async observe(ctx, p): Promise<LoggingState> {
    const r = await ctx.aws.s3(p.region).send(new GetBucketLoggingCommand({ Bucket: p.bucket }));
    const le = r.LoggingEnabled;
    return {
      logging: le?.TargetBucket
        ? { targetBucket: le.TargetBucket, targetPrefix: le.TargetPrefix ?? '' }
        : null,
    };
  },
  target: (_pre, p) => ({
    logging: { targetBucket: p.targetBucket, targetPrefix: p.targetPrefix },
  }),
  async write(ctx, p, desired) {
    await ctx.aws.s3(p.region).send(
      new PutBucketLoggingCommand({
        Bucket: p.bucket,
        BucketLoggingStatus: desired.logging
          ? {
              LoggingEnabled: {
                TargetBucket: desired.logging.targetBucket,
                TargetPrefix: desired.logging.targetPrefix,
              },
            }
          : {},
      }),
    );
  },
  permissions: (p) => bucketPerms(p.bucket, ['s3:GetBucketLogging'], ['s3:PutBucketLogging']),
  rollbackStrategy: (p, pre) =>
    pre.state.logging
      ? `aws s3api put-bucket-logging --bucket ${p.bucket} (restore target ${pre.state.logging.targetBucket})`
      : `aws s3api put-bucket-logging --bucket ${p.bucket} --bucket-logging-status '{}' (logging was off)`,
});
