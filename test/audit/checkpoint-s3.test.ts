// Signed checkpoints published to an object-locked S3 bucket: the sandbox cloud over HTTP with the real
// AWS SDK v3, the real HTTPS server, a fresh database. What the server publishes is locked in COMPLIANCE
// mode: not deleted, not overwritten, its retention not shortened — not even by the administrator of the
// bucket's account; a checkpoint hidden behind a delete marker, or covered by a forged later version, is
// still read back (and the forgery rejected); a chain rewritten after a checkpoint is caught from an
// export; the server refuses to start on a bucket without Object Lock.
//
// The installation's identity is a role in the sandbox account holding only the permissions
// docs/hashing.md lists for the checkpoint writer (assumed here with the account administrator's key:
// the sandbox's platform user may only assume customer roles).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
  S3Client,
  CreateBucketCommand,
} from '@aws-sdk/client-s3';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { S3CheckpointStore } from '../../src/audit/checkpoint-s3.js';
import { openCheckpointStore } from '../../src/audit/checkpoint-s3.js';
import {
  CheckpointKey,
  CheckpointService,
  openCheckpoint,
  trustedKeys,
  type CheckpointBody,
  type CheckpointResult,
  type SignedCheckpoint,
} from '../../src/audit/checkpoints.js';
import { verifyFile } from '../../src/audit/verify-file.js';
import type { AwsCredentials } from '../../src/cloud/aws.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { AppError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { startServer } from '../../src/server/index.js';
import { connectionString } from '../../src/db/bootstrap.js';
import { expectAwsError } from '../sandbox/helpers.js';
import { runCli } from '../support/cli.js';
import { createOrg } from '../support/fixtures.js';
import { useTestServer } from '../support/http.js';
import { exportToFile, rewriteBusiestLane, tempDir } from './helpers.js';

vi.setConfig({ testTimeout: 60_000 });

const dir = tempDir('axiom-checkpoint-s3-');
const keyFile = path.join(dir, 'checkpoint-key.pem');
const suffix = randomUUID().slice(0, 8);
const BUCKET = `axiom-evidence-${suffix}`;
const PLAIN = `axiom-plain-${suffix}`;
const PREFIX = 'axiom-checkpoints/';

let sb: Sandbox;
let admin: S3Client;
let writer: AwsCredentials;

beforeAll(async () => {
  sb = await startSandbox({
    accounts: [{ seed: 'checkpoint-s3', size: 20, regions: ['us-east-1'] }],
  });
  const base = {
    endpoint: sb.endpoint,
    region: 'us-east-1',
    credentials: sb.accounts[0]!.adminCredentials,
  };
  admin = new S3Client({ ...base, forcePathStyle: true, maxAttempts: 1 });
  await admin.send(new CreateBucketCommand({ Bucket: BUCKET, ObjectLockEnabledForBucket: true }));
  await admin.send(new CreateBucketCommand({ Bucket: PLAIN }));
  const iam = new IAMClient(base);
  const role = await iam.send(
    new CreateRoleCommand({
      RoleName: 'axiom-checkpoint-writer',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${sb.accounts[0]!.accountId}:root` },
            Action: 'sts:AssumeRole',
          },
        ],
      }),
    }),
  );
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: 'axiom-checkpoint-writer',
      PolicyName: 'publish-checkpoints',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['s3:GetBucketObjectLockConfiguration', 's3:ListBucketVersions'],
            Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${PLAIN}`],
          },
          {
            Effect: 'Allow',
            Action: [
              's3:PutObject',
              's3:PutObjectRetention',
              's3:GetObject',
              's3:GetObjectVersion',
            ],
            Resource: [`arn:aws:s3:::${BUCKET}/${PREFIX}*`, `arn:aws:s3:::${PLAIN}/${PREFIX}*`],
          },
        ],
      }),
    }),
  );
  iam.destroy();
  const sts = new STSClient(base);
  const c = (
    await sts.send(
      new AssumeRoleCommand({ RoleArn: role.Role!.Arn!, RoleSessionName: 'checkpoints' }),
    )
  ).Credentials!;
  sts.destroy();
  writer = {
    accessKeyId: c.AccessKeyId!,
    secretAccessKey: c.SecretAccessKey!,
    sessionToken: c.SessionToken!,
  };
});

afterAll(async () => {
  admin?.destroy();
  await sb?.stop();
});

const srv = useTestServer(
  {
    AXIOM_CHECKPOINT_S3_BUCKET: BUCKET,
    AXIOM_CHECKPOINT_KEY_FILE: keyFile,
    // Never written: the bucket replaces the directory.
    AXIOM_CHECKPOINT_DIR: path.join(dir, 'unused'),
  },
  () => ({ cloud: { settings: { endpointUrl: sb.endpoint, platformCredentials: writer } } }),
);

function settings() {
  return { endpointUrl: sb.endpoint, platformCredentials: writer };
}

async function store(bucket = BUCKET): Promise<S3CheckpointStore> {
  const config = loadConfig({ AXIOM_DATA_DIR: dir, AXIOM_CHECKPOINT_S3_BUCKET: bucket });
  return (await openCheckpointStore(config, settings())) as S3CheckpointStore;
}

function parseLocation(location: string): { key: string; versionId: string } {
  const m = /^s3:\/\/([^/]+)\/([^?]+)\?versionId=(.+)$/.exec(location);
  expect(m, location).not.toBeNull();
  expect(m![1]).toBe(BUCKET);
  return { key: m![2]!, versionId: decodeURIComponent(m![3]!) };
}

/** A checkpoint of the organization made now through the store, as the server's timer makes it. */
async function checkpointed(
  organizationId: string,
): Promise<{ s: S3CheckpointStore; made: CheckpointResult }> {
  const s = await store();
  const made = await new CheckpointService({
    api: srv().db.api,
    serviceSecret: srv().db.workerSecret,
    key: CheckpointKey.open(keyFile),
    store: s,
  }).forOrganization(organizationId);
  return { s, made };
}

const publicPem = (): string => CheckpointKey.open(keyFile).publicKeyPem();

describe('checkpoints in an object-locked bucket', () => {
  it('are published by the server, locked in COMPLIANCE mode for the retention period, and read back', async () => {
    const org = await createOrg(srv().db);
    const c = srv().client();
    c.bearer = org.admin.token;
    const res = await c.post<{ id: string; location: string; root: string }>(
      '/api/v1/audit/checkpoints',
    );
    expect(res.status).toBe(201);
    const { key, versionId } = parseLocation(res.body.location);
    expect(key.startsWith(`${PREFIX}${org.id}/`)).toBe(true);
    const head = await admin.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: key, VersionId: versionId }),
    );
    expect(head.ObjectLockMode).toBe('COMPLIANCE');
    const days = (head.ObjectLockRetainUntilDate!.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(2556);
    expect(days).toBeLessThan(2558);
    // The public key is published beside the checkpoints, locked too.
    const keyId = CheckpointKey.open(keyFile).keyId;
    const pem = await admin.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}keys/${keyId}.pem` }),
    );
    expect(await pem.Body!.transformToString()).toBe(publicPem());
    expect(pem.ObjectLockMode).toBe('COMPLIANCE');

    const listed = await (await store()).list(org.id);
    expect(listed).toHaveLength(1);
    const opened = openCheckpoint(listed[0], trustedKeys([publicPem()]));
    expect(opened.ok && opened.body.id).toBe(res.body.id);
    expect(opened.ok && opened.body.root).toBe(res.body.root);
    // Nothing of the writer's credentials reached the logs.
    const logs = srv().logs.join('');
    for (const secret of [writer.secretAccessKey, writer.sessionToken!, writer.accessKeyId])
      expect(logs).not.toContain(secret);
  });

  it('cannot be deleted, replaced or unlocked, even by the administrator of the bucket’s account', async () => {
    const org = await createOrg(srv().db);
    const { s, made } = await checkpointed(org.id);
    const { key, versionId } = parseLocation(made.location);
    const original = await (
      await admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, VersionId: versionId }))
    ).Body!.transformToString();

    await expectAwsError(
      admin.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key, VersionId: versionId })),
      'AccessDenied',
      403,
    );
    await expectAwsError(
      admin.send(
        new DeleteObjectCommand({
          Bucket: BUCKET,
          Key: key,
          VersionId: versionId,
          BypassGovernanceRetention: true,
        }),
      ),
      'AccessDenied',
      403,
    );
    for (const retention of [
      { Mode: 'COMPLIANCE' as const, RetainUntilDate: new Date(Date.now() + 86_400_000) },
      { Mode: 'GOVERNANCE' as const, RetainUntilDate: new Date(Date.now() + 9999 * 86_400_000) },
    ])
      await expectAwsError(
        admin.send(
          new PutObjectRetentionCommand({
            Bucket: BUCKET,
            Key: key,
            VersionId: versionId,
            Retention: retention,
          }),
        ),
        'AccessDenied',
        403,
      );
    // Publishing onto an existing key is refused (If-None-Match), and nothing changed.
    const signed = JSON.parse(original) as SignedCheckpoint;
    const body = JSON.parse(signed.body) as CheckpointBody;
    await expect(s.publish(signed, body)).rejects.toMatchObject({
      code: 'conflict',
      reason: 'checkpoint_exists',
    });
    const after = await admin.send(
      new GetObjectRetentionCommand({ Bucket: BUCKET, Key: key, VersionId: versionId }),
    );
    expect(after.Retention?.Mode).toBe('COMPLIANCE');
    const again = await admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(again.VersionId).toBe(versionId);
    expect(await again.Body!.transformToString()).toBe(original);
    s.close();
  });

  it('are still read back when hidden behind a delete marker or covered by a forged version, and the forgery is rejected', async () => {
    const org = await createOrg(srv().db);
    const { s, made } = await checkpointed(org.id);
    const { key } = parseLocation(made.location);
    // "Deleting" without a version id only adds a delete marker: the object seems gone ...
    const marker = await admin.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(marker.DeleteMarker).toBe(true);
    await expectAwsError(
      admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })),
      'NoSuchKey',
      404,
    );
    // ... but the store lists versions, so the checkpoint is still evidence.
    let listed = await s.list(org.id);
    expect(listed.map((x) => openCheckpoint(x, trustedKeys([publicPem()])).ok)).toEqual([true]);

    // A forged checkpoint written over the key (a new version, with another key) is listed beside
    // the original and fails its signature check; the original still verifies.
    const forger = CheckpointKey.open(path.join(dir, 'forger.pem'), { create: true });
    const forged = forger.sign(JSON.parse((listed[0] as SignedCheckpoint).body) as CheckpointBody);
    await admin.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: JSON.stringify(forged) }),
    );
    listed = await s.list(org.id);
    const verdicts = listed.map((x) => openCheckpoint(x, trustedKeys([publicPem()])).ok).sort();
    expect(verdicts).toEqual([false, true]);
    // The export embeds both; the offline verifier reports the forgery and checks the original.
    const file = await exportToFile(srv().db.api, org.admin.caller, 'jsonl', s);
    const v = await verifyFile(file, { publicKeys: [publicPem()] });
    expect(v.checkpoints).toMatchObject({ verified: 1, invalid: 1 });
    expect(v.problems.map((p) => p.problem)).toEqual(['checkpoint_invalid']);
    s.close();
  });

  it('catch a chain rewritten after the checkpoint, from an export, with every hash recomputed', async () => {
    const t = srv().db;
    const org = await createOrg(t);
    const { s } = await checkpointed(org.id);
    await rewriteBusiestLane(t, org.id);
    const file = await exportToFile(t.api, org.admin.caller, 'jsonl', s);
    expect((await verifyFile(file)).problems).toEqual([]);
    const v = await verifyFile(file, { publicKeys: [publicPem()] });
    expect(v.problems[0]).toMatchObject({
      table: 'audit.audit_events',
      problem: 'checkpoint_mismatch',
    });
    s.close();
  });
});

describe('the checkpoint bucket', () => {
  it('without Object Lock, or missing, stops the server from starting, with a message that says why', async () => {
    const refused = await store(PLAIN).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'rule_violation', reason: 'checkpoint_bucket_unlocked' });
    expect((refused as AppError).publicMessage).toContain('Object Lock');

    const missing = await store(`axiom-missing-${suffix}`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(missing).toMatchObject({ code: 'unavailable', reason: 'checkpoint_bucket' });
    // (NoSuchBucket, or AccessDenied where the identity may not even ask: S3 answers either.)
    expect((missing as AppError).publicMessage).toMatch(
      /could not be read \((NoSuchBucket|AccessDenied), HTTP 40[34]\)/,
    );
    for (const e of [refused, missing])
      expect(JSON.stringify(e) + String(e)).not.toContain(writer.secretAccessKey);

    const t = srv().db;
    await expect(
      startServer({
        config: loadConfig({
          AXIOM_DATA_DIR: tempDir(),
          AXIOM_HTTP_HOST: '127.0.0.1',
          AXIOM_HTTP_PORT: '0',
          AXIOM_CHECKPOINT_S3_BUCKET: PLAIN,
        }),
        logger: createLogger({ level: 'silent' }),
        db: {
          targets: { user: t.target('axiom_user') } as never,
          secrets: { workerSecret: t.workerSecret } as never,
        },
        cloud: { settings: settings() },
      }),
    ).rejects.toMatchObject({ reason: 'checkpoint_bucket_unlocked' });
  });

  it('is configured with a valid name, prefix, region and retention, or not at all', () => {
    for (const env of [
      { AXIOM_CHECKPOINT_S3_BUCKET: 'Not_A_Bucket' },
      { AXIOM_CHECKPOINT_S3_BUCKET: 'ok-bucket', AXIOM_CHECKPOINT_S3_PREFIX: 'no-slash' },
      { AXIOM_CHECKPOINT_S3_BUCKET: 'ok-bucket', AXIOM_CHECKPOINT_S3_REGION: 'mars' },
      { AXIOM_CHECKPOINT_S3_BUCKET: 'ok-bucket', AXIOM_CHECKPOINT_RETENTION_DAYS: '0' },
      { AXIOM_CHECKPOINT_S3_BUCKET: 'ok-bucket', AXIOM_CHECKPOINT_RETENTION_DAYS: '1e9' },
    ])
      expect(() => loadConfig({ AXIOM_DATA_DIR: dir, ...env }), JSON.stringify(env)).toThrow(
        ConfigError,
      );
    expect(loadConfig({ AXIOM_DATA_DIR: dir }).audit.checkpointS3).toBeUndefined();
    expect(
      loadConfig({ AXIOM_DATA_DIR: dir, AXIOM_CHECKPOINT_S3_BUCKET: 'ok-bucket' }).audit
        .checkpointS3,
    ).toEqual({
      bucket: 'ok-bucket',
      prefix: 'axiom-checkpoints/',
      region: 'us-east-1',
      retentionDays: 2557,
    });
  });
});

describe('`axiom audit checkpoint` (the operator command)', () => {
  it('publishes every organization’s checkpoint to the bucket with the platform identity of the environment, and exits 2 on an unlocked bucket', async () => {
    const t = srv().db;
    const org = await createOrg(t);
    const cluster = inject('cluster');
    const data = tempDir('axiom-checkpoint-cli-');
    // The suite's role passwords and key-encryption key (the bootstrap step would set others).
    fs.copyFileSync(path.join(cluster.workDir, 'secrets.json'), path.join(data, 'secrets.json'));
    fs.copyFileSync(cluster.kekFile, path.join(data, 'kek.json'));
    const env = {
      AXIOM_DATA_DIR: data,
      DATABASE_URL: connectionString(t.target('superuser')),
      AXIOM_CHECKPOINT_S3_BUCKET: BUCKET,
      AXIOM_CHECKPOINT_KEY_FILE: keyFile,
      AWS_ENDPOINT_URL: sb.endpoint,
      // The SDK's default chain, as an instance role would provide it.
      AWS_ACCESS_KEY_ID: writer.accessKeyId,
      AWS_SECRET_ACCESS_KEY: writer.secretAccessKey,
      AWS_SESSION_TOKEN: writer.sessionToken!,
    };
    const r = await runCli(['audit', 'checkpoint', '--json'], env);
    // (On Node 20 the AWS SDK warns on stderr that its 2027 releases need Node 22.)
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const results = JSON.parse(r.stdout) as Array<{ organization_id: string; location: string }>;
    const mine = results.find((x) => x.organization_id === org.id);
    expect(mine).toBeDefined();
    const { key } = parseLocation(mine!.location);
    expect(key.startsWith(`${PREFIX}${org.id}/`)).toBe(true);
    expect(results.every((x) => x.location.startsWith(`s3://${BUCKET}/`))).toBe(true);
    const s = await store();
    expect(await s.list(org.id)).toHaveLength(1);

    const refused = await runCli(['audit', 'checkpoint'], {
      ...env,
      AXIOM_CHECKPOINT_S3_BUCKET: PLAIN,
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('has no Object Lock');
    expect(await s.list(org.id)).toHaveLength(1);
    for (const out of [r.stdout, refused.stdout, refused.stderr])
      expect(out).not.toContain(writer.secretAccessKey);
    s.close();
  });
});
