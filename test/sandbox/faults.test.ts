import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { IAMClient, ListRolesCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Sandbox } from '../../src/sandbox/index.js';
import { FaultEngine } from '../../src/sandbox/faults.js';
import { cfg, expectAwsError, sandbox } from './helpers.js';

let sb: Sandbox;
let acct: string;
const admin = () => sb.accounts[0]!.adminCredentials;

beforeAll(async () => {
  sb = await sandbox();
  acct = sb.accounts[0]!.accountId;
});
afterAll(() => sb.stop());
afterEach(() => sb.control.clearFaults());

describe('fault injection', () => {
  it('throttling reaches the caller with each protocol’s real code and status (maxAttempts 1)', async () => {
    sb.control.injectFault({ kind: 'throttle', service: '*', rate: 1 });
    const e1 = await expectAwsError(
      new EC2Client(cfg(sb, admin())).send(new DescribeVolumesCommand({})),
      'RequestLimitExceeded',
      503,
    );
    expect(e1.$metadata.httpStatusCode).toBe(503);
    await expectAwsError(
      new KMSClient(cfg(sb, admin())).send(new ListKeysCommand({})),
      'ThrottlingException',
      400,
    );
    await expectAwsError(
      new S3Client({ ...cfg(sb, admin()), forcePathStyle: true }).send(new ListBucketsCommand({})),
      'SlowDown',
      503,
    );
    await expectAwsError(
      new IAMClient(cfg(sb, admin())).send(new ListRolesCommand({})),
      'Throttling',
      400,
    );
  });

  it('with default retries, calls at a 30% throttle rate eventually succeed', async () => {
    const id = sb.control.injectFault({
      kind: 'throttle',
      service: 'kms',
      operation: 'ListKeys',
      rate: 0.3,
    });
    const c = new KMSClient({
      endpoint: sb.endpoint,
      region: 'us-east-1',
      credentials: admin(),
      maxAttempts: 6,
    });
    let retried = 0;
    for (let i = 0; i < 8; i++) {
      const r = await c.send(new ListKeysCommand({}));
      expect(r.Keys!.length).toBeGreaterThan(0);
      if (r.$metadata.attempts! > 1) retried++;
    }
    expect(retried).toBeGreaterThan(0);
    const f = sb.control.faults().find((x) => x.id === id)!;
    expect(f.hits).toBeGreaterThan(0);
    expect(f.hits).toBeLessThan(f.calls);
  });

  it('the same seed gives the same decisions', () => {
    const run = () => {
      const f = new FaultEngine('seed-x');
      f.add({ kind: 'throttle', service: 'ec2', rate: 0.3 });
      return Array.from(
        { length: 50 },
        () => f.decide('ec2', 'DescribeVolumes', '1').error ?? '-',
      ).join('');
    };
    expect(run()).toBe(run());
    expect(run()).toMatch(/throttle/);
  });

  it('latency, 5xx errors, and AccessDenied for chosen actions', async () => {
    sb.control.injectFault({
      kind: 'latency',
      service: 'ec2',
      operation: 'DescribeVolumes',
      latencyMs: 150,
    });
    const ec2 = new EC2Client(cfg(sb, admin()));
    const t0 = Date.now();
    await ec2.send(new DescribeVolumesCommand({ MaxResults: 5 }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(145);
    sb.control.clearFaults();
    sb.control.injectFault({ kind: 'error', service: 'ec2', status: 500 });
    await expectAwsError(ec2.send(new DescribeVolumesCommand({})), 'InternalError', 500);
    sb.control.clearFaults();
    sb.control.injectFault({ kind: 'error', service: 'kms', status: 503 });
    await expectAwsError(
      new KMSClient(cfg(sb, admin())).send(new ListKeysCommand({})),
      'ServiceUnavailableException',
      503,
    );
    sb.control.clearFaults();
    sb.control.injectFault({ kind: 'accessDenied', service: 'iam', operation: 'ListRoles' });
    await expectAwsError(
      new IAMClient(cfg(sb, admin())).send(new ListRolesCommand({})),
      'AccessDenied',
      403,
    );
    await expectAwsError(
      new IAMClient(cfg(sb, admin())).send(new ListRolesCommand({})),
      'AccessDenied',
      403,
    );
  });

  it('a role deleted after N calls; credentials expiring early', async () => {
    sb.control.createScanRole(acct, { externalId: 'f-ext', roleName: 'FaultRole' });
    const assume = async () => {
      const c = (
        await new STSClient(cfg(sb, sb.platform.credentials)).send(
          new AssumeRoleCommand({
            RoleArn: `arn:aws:iam::${acct}:role/FaultRole`,
            RoleSessionName: 'ff',
            ExternalId: 'f-ext',
          }),
        )
      ).Credentials!;
      return {
        accessKeyId: c.AccessKeyId!,
        secretAccessKey: c.SecretAccessKey!,
        sessionToken: c.SessionToken!,
      };
    };
    sb.control.injectFault({
      kind: 'deleteRole',
      service: 'ec2',
      accountId: acct,
      roleName: 'FaultRole',
      afterCalls: 3,
    });
    const ec2 = new EC2Client(cfg(sb, await assume()));
    for (let i = 0; i < 3; i++) await ec2.send(new DescribeVolumesCommand({ MaxResults: 5 }));
    await expectAwsError(
      ec2.send(new DescribeVolumesCommand({ MaxResults: 5 })),
      'UnauthorizedOperation',
      403,
    );
    await expectAwsError(assume(), 'AccessDenied', 403);
    sb.control.clearFaults();
    sb.control.createScanRole(acct, { externalId: 'f-ext', roleName: 'FaultRole' });
    sb.control.injectFault({
      kind: 'expireCredentials',
      service: '*',
      accountId: acct,
      afterCalls: 2,
    });
    const sts = new STSClient(cfg(sb, await assume()));
    await sts.send(new GetCallerIdentityCommand({}));
    await sts.send(new GetCallerIdentityCommand({}));
    await expectAwsError(sts.send(new GetCallerIdentityCommand({})), 'ExpiredToken', 403);
  });
});
