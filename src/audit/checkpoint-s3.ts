// Signed checkpoints published to an S3 bucket with Object Lock (docs/hashing.md "Object-locked S3"):
// every checkpoint is a new object written with If-None-Match: * (never over another) and a COMPLIANCE
// retention, so that for the retention period nobody — not the installation, not the bucket's account
// root — can delete or change it. Listing reads every object version, including versions hidden behind
// a delete marker or overwritten by a later version: what was published once stays in the evidence.
//
// The bucket must have Object Lock enabled (checked when the store opens: publishing evidence to a
// bucket that can be emptied would be a false assurance). Credentials are the platform identity's (the
// SDK's default chain in production; never an access key given to Axiom).
import {
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { CloudSettings } from '../cloud/aws.js';
import type { Config } from '../config/index.js';
import { AppError } from '../errors.js';
import {
  DirectoryCheckpointStore,
  type CheckpointBody,
  type CheckpointKey,
  type CheckpointStore,
  type SignedCheckpoint,
} from './checkpoints.js';

const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A checkpoint of an organization with every lane of three tables is a few hundred KiB at most. */
export const MAX_CHECKPOINT_BYTES = 4 * 1024 * 1024;
/** Versions read for one organization before the listing is refused as implausible. */
export const MAX_CHECKPOINT_VERSIONS = 200_000;

export interface S3CheckpointOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix, ending in '/' (or empty). */
  prefix: string;
  /** How long each checkpoint is locked (COMPLIANCE mode). */
  retentionDays: number;
  now?: () => Date;
}

/** Bucket names as S3 allows them (3–63 characters; lowercase letters, digits, dots and hyphens). */
export const bucketNameRe = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function awsName(e: unknown): string {
  return (e as { name?: string } | null)?.name ?? 'Error';
}

function status(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

export class S3CheckpointStore implements CheckpointStore {
  private constructor(private readonly opts: S3CheckpointOptions) {}

  /**
   * Open the store: the bucket must exist and have Object Lock enabled. Refuses otherwise, with a
   * message that says what to fix (never the credentials).
   */
  static async open(opts: S3CheckpointOptions): Promise<S3CheckpointStore> {
    if (!bucketNameRe.test(opts.bucket))
      throw new AppError(
        'invalid_input',
        `"${opts.bucket.slice(0, 70)}" is not an S3 bucket name`,
        {
          reason: 'checkpoint_bucket',
        },
      );
    if (opts.prefix !== '' && (!opts.prefix.endsWith('/') || opts.prefix.length > 200))
      throw new AppError(
        'invalid_input',
        'the checkpoint key prefix ends with "/" (at most 200 characters)',
        {
          reason: 'checkpoint_bucket',
        },
      );
    if (
      !Number.isInteger(opts.retentionDays) ||
      opts.retentionDays < 1 ||
      opts.retentionDays > 36500
    )
      throw new AppError('invalid_input', 'the checkpoint retention is 1 to 36,500 days', {
        reason: 'checkpoint_bucket',
      });
    let enabled: string | undefined;
    try {
      const out = await opts.client.send(
        new GetObjectLockConfigurationCommand({ Bucket: opts.bucket }),
      );
      enabled = out.ObjectLockConfiguration?.ObjectLockEnabled;
    } catch (e) {
      const name = awsName(e);
      if (name === 'ObjectLockConfigurationNotFoundError') enabled = undefined;
      else
        throw new AppError(
          'unavailable',
          `the checkpoint bucket ${opts.bucket} could not be read (${name}${status(e) ? `, HTTP ${status(e)}` : ''})`,
          { reason: 'checkpoint_bucket', cause: e },
        );
    }
    if (enabled !== 'Enabled')
      throw new AppError(
        'rule_violation',
        `the checkpoint bucket ${opts.bucket} has no Object Lock: create it with Object Lock enabled (checkpoints in a bucket that can be emptied prove nothing)`,
        { reason: 'checkpoint_bucket_unlocked' },
      );
    return new S3CheckpointStore(opts);
  }

  get bucket(): string {
    return this.opts.bucket;
  }

  close(): void {
    this.opts.client.destroy();
  }

  private retainUntil(): Date {
    const now = this.opts.now?.() ?? new Date();
    return new Date(now.getTime() + this.opts.retentionDays * 86_400_000);
  }

  /** Write a new object, locked; false when the key already holds an object (If-None-Match). */
  private async putOnce(key: string, body: string, contentType: string): Promise<string | false> {
    try {
      const out = await this.opts.client.send(
        new PutObjectCommand({
          Bucket: this.opts.bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          IfNoneMatch: '*',
          ObjectLockMode: 'COMPLIANCE',
          ObjectLockRetainUntilDate: this.retainUntil(),
          ChecksumAlgorithm: 'SHA256',
        }),
      );
      return out.VersionId ?? 'null';
    } catch (e) {
      if (awsName(e) === 'PreconditionFailed' || status(e) === 412) return false;
      throw new AppError(
        'unavailable',
        `publishing to the checkpoint bucket ${this.opts.bucket} failed (${awsName(e)})`,
        { reason: 'checkpoint_publish', cause: e },
      );
    }
  }

  async publish(signed: SignedCheckpoint, body: CheckpointBody): Promise<string> {
    const key = `${this.opts.prefix}${body.organization_id}/${body.created_at.replace(/[-:.]/g, '')}-${body.id}.json`;
    const version = await this.putOnce(key, JSON.stringify(signed) + '\n', 'application/json');
    if (version === false)
      throw new AppError(
        'conflict',
        `a checkpoint already exists at ${key}; nothing was replaced`,
        {
          reason: 'checkpoint_exists',
        },
      );
    return `s3://${this.opts.bucket}/${key}?versionId=${encodeURIComponent(version)}`;
  }

  async publishKey(key: CheckpointKey): Promise<void> {
    // The same key id is the same public key (its hash): one already there is this one.
    await this.putOnce(
      `${this.opts.prefix}keys/${key.keyId}.pem`,
      key.publicKeyPem(),
      'application/x-pem-file',
    );
  }

  /** Every version of every checkpoint object of the organization, oldest key first. */
  async list(organizationId: string): Promise<SignedCheckpoint[]> {
    if (!uuidRe.test(organizationId)) return [];
    const prefix = `${this.opts.prefix}${organizationId}/`;
    const versions: Array<{ key: string; versionId: string; size: number }> = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (;;) {
      const page = await this.opts.client.send(
        new ListObjectVersionsCommand({
          Bucket: this.opts.bucket,
          Prefix: prefix,
          ...(keyMarker ? { KeyMarker: keyMarker } : {}),
          ...(versionMarker ? { VersionIdMarker: versionMarker } : {}),
        }),
      );
      for (const v of page.Versions ?? []) {
        if (typeof v.Key !== 'string' || !v.Key.startsWith(prefix) || !v.Key.endsWith('.json'))
          continue;
        versions.push({ key: v.Key, versionId: v.VersionId ?? 'null', size: v.Size ?? 0 });
      }
      if (versions.length > MAX_CHECKPOINT_VERSIONS)
        throw new AppError(
          'unavailable',
          `the checkpoint bucket lists more than ${MAX_CHECKPOINT_VERSIONS} versions for one organization`,
          { reason: 'checkpoint_listing' },
        );
      if (!page.IsTruncated) break;
      if (!page.NextKeyMarker && !page.NextVersionIdMarker)
        throw new AppError(
          'unavailable',
          'the checkpoint bucket listing is truncated with no marker',
          {
            reason: 'checkpoint_listing',
          },
        );
      keyMarker = page.NextKeyMarker;
      versionMarker = page.NextVersionIdMarker;
    }
    versions.sort((a, b) =>
      a.key < b.key ? -1 : a.key > b.key ? 1 : a.versionId < b.versionId ? -1 : 1,
    );
    const out: SignedCheckpoint[] = [];
    for (const v of versions) {
      const text = await this.read(v.key, v.versionId, v.size);
      try {
        out.push(JSON.parse(text) as SignedCheckpoint);
      } catch {
        // Passed on as it is: the verifier reports it as not a checkpoint (checkpoint_invalid).
        out.push({
          format: 'unreadable',
          key_id: '',
          body: text.slice(0, 200),
          signature: '',
        } as never);
      }
    }
    return out;
  }

  private async read(key: string, versionId: string, size: number): Promise<string> {
    if (size > MAX_CHECKPOINT_BYTES) return `(an object of ${size} bytes)`;
    const out = await this.opts.client.send(
      new GetObjectCommand({
        Bucket: this.opts.bucket,
        Key: key,
        ...(versionId !== 'null' ? { VersionId: versionId } : {}),
      }),
    );
    const bytes = (await out.Body?.transformToByteArray()) ?? new Uint8Array();
    if (bytes.length > MAX_CHECKPOINT_BYTES) return `(an object of ${bytes.length} bytes)`;
    return Buffer.from(bytes).toString('utf8');
  }
}

/**
 * The configured store: the object-locked bucket when AXIOM_CHECKPOINT_S3_BUCKET is set (opened and
 * checked now), else the append-only directory.
 */
export async function openCheckpointStore(
  config: Config,
  settings: Pick<CloudSettings, 'endpointUrl' | 'platformCredentials'>,
): Promise<CheckpointStore> {
  const s3 = config.audit.checkpointS3;
  if (!s3) return new DirectoryCheckpointStore(config.audit.checkpointDir);
  const client = new S3Client({
    region: s3.region,
    ...(settings.endpointUrl ? { endpoint: settings.endpointUrl, forcePathStyle: true } : {}),
    ...(settings.platformCredentials ? { credentials: settings.platformCredentials } : {}),
    maxAttempts: 3,
  });
  try {
    return await S3CheckpointStore.open({
      client,
      bucket: s3.bucket,
      prefix: s3.prefix,
      retentionDays: s3.retentionDays,
    });
  } catch (e) {
    client.destroy();
    throw e;
  }
}
