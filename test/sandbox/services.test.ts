import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as rds from '@aws-sdk/client-rds';
import * as ct from '@aws-sdk/client-cloudtrail';
import * as cw from '@aws-sdk/client-cloudwatch';
import * as kms from '@aws-sdk/client-kms';
import * as sm from '@aws-sdk/client-secrets-manager';
import type { Sandbox } from '../../src/sandbox/index.js';
import { cfg, expectAwsError, sandbox } from './helpers.js';

let sb: Sandbox;
const admin = (region = 'us-east-1') => cfg(sb, sb.accounts[0]!.adminCredentials, region);
const regions = ['us-east-1', 'eu-west-1'];

beforeAll(async () => {
  sb = await sandbox();
});
afterAll(() => sb.stop());

describe('RDS', () => {
  it('describes instances and snapshots; attributes; modify; create snapshot; Marker paging', async () => {
    const all: rds.DBInstance[] = [];
    for (const r of regions)
      all.push(
        ...(await new rds.RDSClient(admin(r)).send(new rds.DescribeDBInstancesCommand({})))
          .DBInstances!,
      );
    expect(all.some((d) => d.PubliclyAccessible)).toBe(true);
    expect(all.some((d) => d.StorageEncrypted === false)).toBe(true);
    expect(all.some((d) => d.BackupRetentionPeriod === 0)).toBe(true);
    expect(all.some((d) => d.DeletionProtection === false)).toBe(true);
    const c = new rds.RDSClient(admin());
    const list = (await c.send(new rds.DescribeDBInstancesCommand({}))).DBInstances!;
    const d = list[0]!;
    expect(d.DBInstanceArn).toMatch(/^arn:aws:rds:us-east-1:\d{12}:db:/);
    expect(d.VpcSecurityGroups![0]!.VpcSecurityGroupId).toMatch(/^sg-/);
    const one = await c.send(
      new rds.DescribeDBInstancesCommand({ DBInstanceIdentifier: d.DBInstanceIdentifier }),
    );
    expect(one.DBInstances![0]!.DBInstanceIdentifier).toBe(d.DBInstanceIdentifier);
    await expectAwsError(
      c.send(new rds.DescribeDBInstancesCommand({ DBInstanceIdentifier: 'nope' })),
      'DBInstanceNotFound',
      404,
    );
    const mod = await c.send(
      new rds.ModifyDBInstanceCommand({
        DBInstanceIdentifier: d.DBInstanceIdentifier,
        PubliclyAccessible: false,
        BackupRetentionPeriod: 14,
        DeletionProtection: true,
        ApplyImmediately: true,
      }),
    );
    expect(mod.DBInstance).toMatchObject({
      PubliclyAccessible: false,
      BackupRetentionPeriod: 14,
      DeletionProtection: true,
    });
    const later = await c.send(
      new rds.ModifyDBInstanceCommand({
        DBInstanceIdentifier: d.DBInstanceIdentifier,
        DBInstanceClass: 'db.t3.small',
      }),
    );
    expect(later.DBInstance!.PendingModifiedValues!.DBInstanceClass).toBe('db.t3.small');
    const snap = await c.send(
      new rds.CreateDBSnapshotCommand({
        DBInstanceIdentifier: d.DBInstanceIdentifier,
        DBSnapshotIdentifier: 'preflight-1',
      }),
    );
    expect(snap.DBSnapshot!.Status).toBe('creating');
    const snaps = (
      await c.send(new rds.DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'preflight-1' }))
    ).DBSnapshots!;
    expect(snaps[0]!.Status).toBe('available');
    await expectAwsError(
      c.send(
        new rds.CreateDBSnapshotCommand({
          DBInstanceIdentifier: d.DBInstanceIdentifier,
          DBSnapshotIdentifier: 'preflight-1',
        }),
      ),
      'DBSnapshotAlreadyExists',
    );
    const attrs = await c.send(
      new rds.DescribeDBSnapshotAttributesCommand({ DBSnapshotIdentifier: 'preflight-1' }),
    );
    expect(attrs.DBSnapshotAttributesResult!.DBSnapshotAttributes).toEqual([
      { AttributeName: 'restore', AttributeValues: [] },
    ]);
    if (!snaps[0]!.Encrypted) {
      const m = await c.send(
        new rds.ModifyDBSnapshotAttributeCommand({
          DBSnapshotIdentifier: 'preflight-1',
          AttributeName: 'restore',
          ValuesToAdd: ['all'],
        }),
      );
      expect(m.DBSnapshotAttributesResult!.DBSnapshotAttributes![0]!.AttributeValues).toEqual([
        'all',
      ]);
    } else {
      await expectAwsError(
        c.send(
          new rds.ModifyDBSnapshotAttributeCommand({
            DBSnapshotIdentifier: 'preflight-1',
            AttributeName: 'restore',
            ValuesToAdd: ['all'],
          }),
        ),
        'InvalidParameterValue',
      );
    }
    const m2 = await c.send(
      new rds.ModifyDBSnapshotAttributeCommand({
        DBSnapshotIdentifier: 'preflight-1',
        AttributeName: 'restore',
        ValuesToAdd: ['123456789012'],
        ValuesToRemove: ['all'],
      }),
    );
    expect(m2.DBSnapshotAttributesResult!.DBSnapshotAttributes![0]!.AttributeValues).toEqual([
      '123456789012',
    ]);
    const big = await sandbox({
      accounts: [{ seed: 'rds-many', size: 4000, regions: ['us-east-1'] }],
    });
    try {
      const bc = new rds.RDSClient(cfg(big, big.accounts[0]!.adminCredentials));
      const ids: string[] = [];
      for await (const p of rds.paginateDescribeDBInstances({ client: bc, pageSize: 20 }, {}))
        ids.push(...p.DBInstances!.map((x) => x.DBInstanceIdentifier!));
      expect(ids.length).toBeGreaterThan(40);
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      await big.stop();
    }
  });
});

describe('CloudTrail', () => {
  it('trails, status, selectors, update, start/stop, create/delete, lookup', async () => {
    const c = new ct.CloudTrailClient(admin());
    const trails = (await c.send(new ct.DescribeTrailsCommand({}))).trailList!;
    const names = trails.map((t) => t.Name);
    expect(names).toEqual(
      expect.arrayContaining(['organization-audit', 'ops-trail', 'paused-trail']),
    );
    const euTrails = (
      await new ct.CloudTrailClient(admin('eu-west-1')).send(new ct.DescribeTrailsCommand({}))
    ).trailList!;
    expect(euTrails.map((t) => t.Name)).toEqual(
      expect.arrayContaining(['organization-audit', 'regional-eu-west-1']),
    );
    expect(euTrails.find((t) => t.Name === 'organization-audit')!.HomeRegion).toBe('us-east-1');
    const st = await c.send(new ct.GetTrailStatusCommand({ Name: 'paused-trail' }));
    expect(st.IsLogging).toBe(false);
    expect(
      (await c.send(new ct.GetTrailStatusCommand({ Name: 'organization-audit' }))).IsLogging,
    ).toBe(true);
    const sel = await c.send(new ct.GetEventSelectorsCommand({ TrailName: 'ops-trail' }));
    expect(sel.EventSelectors![0]!.ReadWriteType).toBe('All');
    const up = await c.send(
      new ct.UpdateTrailCommand({ Name: 'ops-trail', EnableLogFileValidation: true }),
    );
    expect(up.LogFileValidationEnabled).toBe(true);
    await c.send(new ct.StartLoggingCommand({ Name: 'paused-trail' }));
    expect((await c.send(new ct.GetTrailStatusCommand({ Name: 'paused-trail' }))).IsLogging).toBe(
      true,
    );
    await c.send(new ct.StopLoggingCommand({ Name: 'paused-trail' }));
    expect((await c.send(new ct.GetTrailStatusCommand({ Name: 'paused-trail' }))).IsLogging).toBe(
      false,
    );
    const bucket = trails[0]!.S3BucketName!;
    const created = await c.send(
      new ct.CreateTrailCommand({
        Name: 'axiom-trail',
        S3BucketName: bucket,
        IsMultiRegionTrail: true,
      }),
    );
    expect(created.IsMultiRegionTrail).toBe(true);
    await expectAwsError(
      c.send(new ct.CreateTrailCommand({ Name: 'axiom-trail', S3BucketName: bucket })),
      'TrailAlreadyExistsException',
    );
    await expectAwsError(
      c.send(new ct.CreateTrailCommand({ Name: 'other', S3BucketName: 'missing-bucket-xyz' })),
      'S3BucketDoesNotExistException',
    );
    await expectAwsError(
      new ct.CloudTrailClient(admin('eu-west-1')).send(
        new ct.UpdateTrailCommand({ Name: 'axiom-trail', EnableLogFileValidation: true }),
      ),
      'InvalidHomeRegionException',
    );
    await c.send(new ct.DeleteTrailCommand({ Name: 'axiom-trail' }));
    await expectAwsError(
      c.send(new ct.GetTrailStatusCommand({ Name: 'axiom-trail' })),
      'TrailNotFoundException',
    );
    const ev = await c.send(new ct.LookupEventsCommand({ MaxResults: 10 }));
    expect(ev.Events!.length).toBe(10);
    expect(ev.NextToken).toBeTruthy();
    expect(sb.control.calls({ service: 'cloudtrail', operation: 'LookupEvents' }).length).toBe(1);
  });
});

describe('CloudWatch', () => {
  it('GetMetricData and GetMetricStatistics give deterministic series; idle instances are low', async () => {
    const key = sb.control.answerKey(sb.accounts[0]!.accountId);
    const idle = key.find((e) => e.problem === 'ec2_idle')!;
    const c = new cw.CloudWatchClient(admin(idle.region));
    const end = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000);
    const start = new Date(end.getTime() - 14 * 86_400_000);
    const q = (id: string, metric: string, stat: string) => ({
      Id: id,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/EC2',
          MetricName: metric,
          Dimensions: [{ Name: 'InstanceId', Value: idle.resourceId }],
        },
        Period: 86400,
        Stat: stat,
      },
    });
    const r = await c.send(
      new cw.GetMetricDataCommand({
        StartTime: start,
        EndTime: end,
        MetricDataQueries: [
          q('cpu', 'CPUUtilization', 'Average'),
          q('nin', 'NetworkIn', 'Sum'),
          q('nout', 'NetworkOut', 'Sum'),
        ],
      }),
    );
    const [cpu, nin, nout] = r.MetricDataResults!;
    expect(cpu!.Values!.length).toBe(14);
    expect(Math.max(...cpu!.Values!)).toBeLessThan(2);
    expect(Math.max(...nin!.Values!.map((v, i) => v + nout!.Values![i]!))).toBeLessThan(5e6);
    expect(cpu!.Timestamps![0]!.getTime()).toBeGreaterThan(cpu!.Timestamps![1]!.getTime());
    const again = await c.send(
      new cw.GetMetricDataCommand({
        StartTime: start,
        EndTime: end,
        MetricDataQueries: [q('cpu', 'CPUUtilization', 'Average')],
      }),
    );
    expect(again.MetricDataResults![0]!.Values).toEqual(cpu!.Values);
    const stats = await c.send(
      new cw.GetMetricStatisticsCommand({
        Namespace: 'AWS/EC2',
        MetricName: 'CPUUtilization',
        Dimensions: [{ Name: 'InstanceId', Value: idle.resourceId }],
        StartTime: start,
        EndTime: end,
        Period: 86400,
        Statistics: ['Average', 'Maximum'],
      }),
    );
    expect(stats.Datapoints!.length).toBe(14);
    expect(stats.Datapoints![0]!.Unit).toBe('Percent');
    const dbIdle = key.find((e) => e.problem === 'rds_idle')!;
    const conn = await new cw.CloudWatchClient(admin(dbIdle.region)).send(
      new cw.GetMetricStatisticsCommand({
        Namespace: 'AWS/RDS',
        MetricName: 'DatabaseConnections',
        Dimensions: [{ Name: 'DBInstanceIdentifier', Value: dbIdle.resourceId }],
        StartTime: start,
        EndTime: end,
        Period: 86400,
        Statistics: ['Maximum'],
      }),
    );
    expect(conn.Datapoints!.every((p) => p.Maximum === 0)).toBe(true);
    await expectAwsError(
      c.send(
        new cw.GetMetricStatisticsCommand({
          Namespace: 'AWS/EC2',
          MetricName: 'CPUUtilization',
          StartTime: start,
          EndTime: end,
          Period: 90,
          Statistics: ['Average'],
        }),
      ),
      'InvalidParameterValue',
      400,
    );
  });
});

describe('KMS', () => {
  it('keys, rotation, real encryption', async () => {
    const c = new kms.KMSClient(admin());
    const keys = (await c.send(new kms.ListKeysCommand({}))).Keys!;
    expect(keys.length).toBeGreaterThan(1);
    const created = await c.send(new kms.CreateKeyCommand({ Description: 'axiom envelope key' }));
    const id = created.KeyMetadata!.KeyId!;
    expect(created.KeyMetadata!.KeyManager).toBe('CUSTOMER');
    expect(
      (await c.send(new kms.DescribeKeyCommand({ KeyId: created.KeyMetadata!.Arn }))).KeyMetadata!
        .Description,
    ).toBe('axiom envelope key');
    expect(
      (await c.send(new kms.GetKeyRotationStatusCommand({ KeyId: id }))).KeyRotationEnabled,
    ).toBe(false);
    await c.send(new kms.EnableKeyRotationCommand({ KeyId: id }));
    expect(
      (await c.send(new kms.GetKeyRotationStatusCommand({ KeyId: id }))).KeyRotationEnabled,
    ).toBe(true);
    await c.send(new kms.DisableKeyRotationCommand({ KeyId: id }));
    expect(
      (await c.send(new kms.GetKeyRotationStatusCommand({ KeyId: id }))).KeyRotationEnabled,
    ).toBe(false);
    const dk = await c.send(
      new kms.GenerateDataKeyCommand({
        KeyId: id,
        KeySpec: 'AES_256',
        EncryptionContext: { org: 'o1' },
      }),
    );
    expect(dk.Plaintext!.length).toBe(32);
    const back = await c.send(
      new kms.DecryptCommand({
        CiphertextBlob: dk.CiphertextBlob,
        EncryptionContext: { org: 'o1' },
      }),
    );
    expect(Buffer.from(back.Plaintext!).equals(Buffer.from(dk.Plaintext!))).toBe(true);
    expect(back.KeyId).toBe(created.KeyMetadata!.Arn);
    await expectAwsError(
      c.send(
        new kms.DecryptCommand({
          CiphertextBlob: dk.CiphertextBlob,
          EncryptionContext: { org: 'o2' },
        }),
      ),
      'InvalidCiphertextException',
    );
    const enc = await c.send(
      new kms.EncryptCommand({ KeyId: id, Plaintext: Buffer.from('secret text') }),
    );
    expect(Buffer.from(enc.CiphertextBlob!).includes(Buffer.from('secret text'))).toBe(false);
    const tampered = Buffer.from(enc.CiphertextBlob!);
    tampered[tampered.length - 1]! ^= 1;
    await expectAwsError(
      c.send(new kms.DecryptCommand({ CiphertextBlob: tampered })),
      'InvalidCiphertextException',
    );
    const re = await c.send(
      new kms.ReEncryptCommand({
        CiphertextBlob: enc.CiphertextBlob,
        DestinationKeyId: keys[0]!.KeyId,
      }),
    );
    expect(
      Buffer.from(
        (await c.send(new kms.DecryptCommand({ CiphertextBlob: re.CiphertextBlob }))).Plaintext!,
      ).toString(),
    ).toBe('secret text');
    // Another account cannot decrypt it.
    const other = await sandbox({
      accounts: [{ seed: 'other', size: 40, regions: ['us-east-1'] }],
    });
    try {
      sb.control.addAccount({ seed: 'second-account', size: 40, regions: ['us-east-1'] });
      const second = sb.control.accounts().find((a) => a.accountId !== sb.accounts[0]!.accountId)!;
      await expectAwsError(
        new kms.KMSClient(cfg(sb, second.adminCredentials)).send(
          new kms.DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }),
        ),
        'InvalidCiphertextException',
      );
    } finally {
      await other.stop();
    }
    await expectAwsError(
      c.send(new kms.DescribeKeyCommand({ KeyId: '00000000-0000-0000-0000-000000000000' })),
      'NotFoundException',
    );
  });
});

describe('Secrets Manager', () => {
  it('lists secrets and returns a value (so a test can prove Axiom never asks)', async () => {
    const c = new sm.SecretsManagerClient(admin());
    const list = (await c.send(new sm.ListSecretsCommand({}))).SecretList!;
    expect(list.length).toBeGreaterThan(0);
    const v = await c.send(new sm.GetSecretValueCommand({ SecretId: list[0]!.Name }));
    expect(JSON.parse(v.SecretString!).username).toBe('app');
    await expectAwsError(
      c.send(new sm.GetSecretValueCommand({ SecretId: 'nope' })),
      'ResourceNotFoundException',
    );
    expect(
      sb.control.calls({ service: 'secretsmanager', operation: 'GetSecretValue' }).length,
    ).toBe(2);
  });
});
