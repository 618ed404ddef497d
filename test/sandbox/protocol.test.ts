// Hostile and unusual input: malformed bodies, unknown actions, missing parameters, oversized
// requests, unsigned requests; the endpoint from AWS_ENDPOINT_URL; the HTTP control API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ec2 from '@aws-sdk/client-ec2';
import * as iam from '@aws-sdk/client-iam';
import * as kms from '@aws-sdk/client-kms';
import * as s3 from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { diffStates, type Sandbox } from '../../src/sandbox/index.js';
import { cfg, expectAwsError, sandbox } from './helpers.js';

let sb: Sandbox;
let acct: string;
beforeAll(async () => {
  sb = await sandbox();
  acct = sb.accounts[0]!.accountId;
});
afterAll(() => sb.stop());

/** Replace the serialised body before signing, so the server sees a validly signed bad request. */
function corrupt<T extends { middlewareStack: { add: (...a: never[]) => void } }>(
  client: T,
  mutate: (req: {
    body: unknown;
    headers: Record<string, string>;
    query: Record<string, string>;
  }) => void,
): T {
  (client.middlewareStack.add as unknown as (mw: unknown, opts: unknown) => void)(
    (next: (a: { request: unknown }) => Promise<unknown>) => async (args: { request: unknown }) => {
      const req = args.request as {
        body: unknown;
        headers: Record<string, string>;
        query: Record<string, string>;
      };
      mutate(req);
      if (typeof req.body === 'string')
        req.headers['content-length'] = String(Buffer.byteLength(req.body));
      return next(args);
    },
    { step: 'build', name: 'corrupt', priority: 'low' },
  );
  return client;
}

describe('malformed input', () => {
  it('answers with the service’s own error and changes nothing', async () => {
    const before = sb.control.dumpState(acct);
    const admin = sb.accounts[0]!.adminCredentials;
    await expectAwsError(
      corrupt(
        new ec2.EC2Client(cfg(sb, admin)),
        (r) => (r.body = 'Action=DescribeUnicorns&Version=2016-11-15'),
      ).send(new ec2.DescribeVolumesCommand({})),
      'InvalidAction',
      400,
    );
    await expectAwsError(
      corrupt(new iam.IAMClient(cfg(sb, admin)), (r) => (r.body = 'Version=2010-05-08')).send(
        new iam.ListRolesCommand({}),
      ),
      'MissingAction',
      400,
    );
    await expectAwsError(
      new ec2.EC2Client(cfg(sb, admin)).send(
        new ec2.StopInstancesCommand({ InstanceIds: undefined as unknown as string[] }),
      ),
      'MissingParameter',
      400,
    );
    await expectAwsError(
      new iam.IAMClient(cfg(sb, admin)).send(
        new iam.GetRoleCommand({ RoleName: undefined as unknown as string }),
      ),
      'ValidationError',
      400,
    );
    await expectAwsError(
      corrupt(
        new ec2.EC2Client(cfg(sb, admin)),
        (r) => (r.body = 'Action=DescribeVolumes&Version=2016-11-15&MaxResults=lots'),
      ).send(new ec2.DescribeVolumesCommand({})),
      'InvalidParameterValue',
      400,
    );
    await expectAwsError(
      corrupt(new kms.KMSClient(cfg(sb, admin)), (r) => (r.body = '{"KeyId": ')).send(
        new kms.DescribeKeyCommand({ KeyId: 'x' }),
      ),
      'SerializationException',
      400,
    );
    await expectAwsError(
      corrupt(
        new kms.KMSClient(cfg(sb, admin)),
        (r) => (r.headers['x-amz-target'] = 'TrentService.MintMoney'),
      ).send(new kms.ListKeysCommand({})),
      'UnknownOperationException',
      400,
    );
    await expectAwsError(
      new kms.KMSClient(cfg(sb, admin)).send(
        new kms.DescribeKeyCommand({ KeyId: undefined as unknown as string }),
      ),
      'ValidationException',
      400,
    );
    const s3c = new s3.S3Client({ ...cfg(sb, admin), forcePathStyle: true });
    const bucket = (await s3c.send(new s3.ListBucketsCommand({}))).Buckets!.find(
      (b) => b.BucketRegion === 'us-east-1',
    )!.Name!;
    await expectAwsError(
      corrupt(new s3.S3Client({ ...cfg(sb, admin), forcePathStyle: true }), (r) => {
        r.body = '<VersioningConfiguration><Status>Enabled</Status>';
        delete r.headers['content-md5'];
        for (const h of Object.keys(r.headers))
          if (h.startsWith('x-amz-checksum')) delete r.headers[h];
      }).send(
        new s3.PutBucketVersioningCommand({
          Bucket: bucket,
          VersioningConfiguration: { Status: 'Suspended' },
        }),
      ),
      'MalformedXML',
      400,
    );
    await expectAwsError(
      s3c.send(
        new s3.PutObjectCommand({
          Bucket: bucket,
          Key: 'big',
          Body: Buffer.alloc(10 * 1024 * 1024 + 1),
        }),
      ),
      'EntityTooLarge',
      400,
    );
    await expectAwsError(
      new iam.IAMClient(cfg(sb, admin)).send(
        new iam.PutRolePolicyCommand({
          RoleName: 'AnyRole',
          PolicyName: 'p',
          PolicyDocument: 'x'.repeat(11 * 1024 * 1024),
        }),
      ),
      'RequestEntityTooLarge',
      413,
    );
    expect(diffStates(before, sb.control.dumpState(acct))).toEqual([]);
    // Still serving.
    expect(
      (await new STSClient(cfg(sb, admin)).send(new GetCallerIdentityCommand({}))).Account,
    ).toBe(acct);
  });

  it('unsigned and garbled requests get an error, not a crash', async () => {
    const r1 = await fetch(`${sb.endpoint}/`, {
      method: 'POST',
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(r1.status).toBe(403);
    expect(await r1.text()).toContain('<Code>MissingAuthenticationToken</Code>');
    const r2 = await fetch(`${sb.endpoint}/`, {
      method: 'POST',
      headers: {
        authorization: 'AWS4-HMAC-SHA256 garbage',
        'x-amz-target': 'TrentService.ListKeys',
      },
      body: '{}',
    });
    expect(r2.status).toBe(400);
    expect(await r2.json()).toMatchObject({ __type: 'IncompleteSignatureException' });
    const r3 = await fetch(`${sb.endpoint}/some-bucket/key`);
    expect(r3.status).toBe(403);
  });
});

describe('endpoint from AWS_ENDPOINT_URL', () => {
  it('the SDK picks the sandbox endpoint from the environment', async () => {
    const saved = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = sb.endpoint;
    try {
      const c = new STSClient({ region: 'us-east-1', credentials: sb.platform.credentials });
      const me = await c.send(new GetCallerIdentityCommand({}));
      expect(me.Account).toBe('111111111111');
      const e = new ec2.EC2Client({
        region: 'us-east-1',
        credentials: sb.accounts[0]!.adminCredentials,
      });
      expect((await e.send(new ec2.DescribeRegionsCommand({}))).Regions!.length).toBe(2);
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL;
      else process.env.AWS_ENDPOINT_URL = saved;
    }
  });
});

describe('HTTP control API', () => {
  it('info, accounts, answer key, scan role, faults, clock, state and diff', async () => {
    const j = async (path: string, init?: RequestInit) => {
      const r = await fetch(`${sb.endpoint}/_sandbox/${path}`, init);
      return { status: r.status, body: (await r.json()) as Record<string, unknown> & unknown[] };
    };
    const info = await j('info');
    expect(info.status).toBe(200);
    expect(info.body.endpoint).toBe(sb.endpoint);
    const added = await j('accounts', {
      method: 'POST',
      body: JSON.stringify({ seed: 'http-added', size: 40, regions: ['us-east-1'] }),
    });
    expect(added.status).toBe(201);
    const id = added.body.accountId as string;
    const key = await j(`accounts/${id}/answer-key`);
    expect((key.body as unknown[]).length).toBeGreaterThan(10);
    const role = await j(`accounts/${id}/scan-role`, {
      method: 'POST',
      body: JSON.stringify({ externalId: 'http-ext' }),
    });
    expect(role.body.roleArn).toBe(`arn:aws:iam::${id}:role/AxiomScanRole`);
    const fault = await j('faults', {
      method: 'POST',
      body: JSON.stringify({ kind: 'throttle', service: 'sts', rate: 1 }),
    });
    expect(fault.status).toBe(201);
    await expectAwsError(
      new STSClient(cfg(sb, sb.platform.credentials)).send(new GetCallerIdentityCommand({})),
      'Throttling',
      400,
    );
    expect((await j(`faults/${fault.body.id as string}`, { method: 'DELETE' })).status).toBe(200);
    const s1 = await j(`accounts/${id}/state`);
    const clock = await j('clock/advance', { method: 'POST', body: JSON.stringify({ ms: 1000 }) });
    expect(clock.status).toBe(200);
    expect((await j(`accounts/${id}/roles/AxiomScanRole`, { method: 'DELETE' })).status).toBe(200);
    const s2 = await j(`accounts/${id}/state`);
    const diff = await j('diff', {
      method: 'POST',
      body: JSON.stringify({ a: s1.body, b: s2.body }),
    });
    expect((diff.body as unknown as { path: string }[]).map((d) => d.path)).toEqual([
      '/iam/roles/AxiomScanRole',
    ]);
    expect((await j('nope')).status).toBe(404);
  });
});
