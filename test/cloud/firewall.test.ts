// The read-only firewall (DESIGN.md invariant 14): with a role that allows everything, content reads
// and every write are refused in the SDK middleware before any request leaves the process, and the
// refusal is an audit event.
import * as ct from '@aws-sdk/client-cloudtrail';
import * as cw from '@aws-sdk/client-cloudwatch';
import * as ec2 from '@aws-sdk/client-ec2';
import * as iam from '@aws-sdk/client-iam';
import * as kms from '@aws-sdk/client-kms';
import * as rds from '@aws-sdk/client-rds';
import * as s3 from '@aws-sdk/client-s3';
import * as s3c from '@aws-sdk/client-s3-control';
import * as sm from '@aws-sdk/client-secrets-manager';
import * as sts from '@aws-sdk/client-sts';
import { beforeAll, describe, expect, it } from 'vitest';
import { AwsSession, assumeRole, platformSts, type AwsCredentials } from '../../src/cloud/aws.js';
import { createConnection } from '../../src/cloud/connections.js';
import {
  FirewallRefusal,
  READ_ALLOWLIST,
  installFirewall,
  isAllowed,
} from '../../src/cloud/firewall.js';
import { useTestDatabase } from '../support/db.js';
import { createFacility, createOrg, type TestOrg } from '../support/fixtures.js';
import { cloudDeps, customerRole, useSandbox } from '../support/cloud.js';

const db = useTestDatabase();
const sandbox = useSandbox({ accounts: [{ seed: 'firewall', size: 20, regions: ['us-east-1'] }] });
let creds: AwsCredentials;
let org: TestOrg;
let connectionId: string;

beforeAll(async () => {
  const sb = sandbox();
  const acct = sb.accounts[0]!.accountId;
  org = await createOrg(db());
  const facility = await createFacility(db(), org);
  const deps = cloudDeps(db().api, sb);
  const c = await createConnection(deps, org.admin.caller, {
    facilityId: facility,
    accountId: acct,
    roleArn: `arn:aws:iam::${acct}:role/TooPermissive`,
  });
  connectionId = c.id;
  // A role that would allow anything at all.
  await customerRole(sb, acct, {
    name: 'TooPermissive',
    externalIds: [c.external_ids[0]!.external_id],
    permissions: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
    },
  });
  const a = await assumeRole(
    platformSts(deps.settings),
    `arn:aws:iam::${acct}:role/TooPermissive`,
    [c.external_ids[0]!.external_id],
    'axiom-firewall-test',
  );
  if (!a.ok) throw new Error(a.code);
  creds = a.credentials;
});

async function refusedBefore(p: Promise<unknown>): Promise<FirewallRefusal> {
  try {
    await p;
  } catch (e) {
    if (e instanceof FirewallRefusal) return e;
    throw new Error(
      `expected the firewall to refuse, got ${(e as Error).name}: ${(e as Error).message}`,
    );
  }
  throw new Error('expected the firewall to refuse, but the call went through');
}

describe('the read-only firewall', () => {
  it('refuses content reads the role would allow, before sending, and audits each refusal', async () => {
    const sb = sandbox();
    const base = { endpoint: sb.endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1 };
    // Without the firewall, the role really can read a secret value (the sandbox proves it).
    const raw = new sm.SecretsManagerClient(base);
    const list = await raw.send(new sm.ListSecretsCommand({}));
    const secretId = list.SecretList![0]!.ARN!;
    expect(
      (await raw.send(new sm.GetSecretValueCommand({ SecretId: secretId }))).SecretString,
    ).toBeTruthy();
    raw.destroy();

    const refusals: string[] = [];
    const session = new AwsSession({ endpointUrl: sb.endpoint }, creds, (service, operation) => {
      refusals.push(`${service}:${operation}`);
      void db().api.call(
        'cloud_call_refused',
        org.admin.caller,
        connectionId,
        null,
        service,
        operation,
      );
    });
    const secrets = installFirewall(new sm.SecretsManagerClient(base), (service, operation) => {
      refusals.push(`${service}:${operation}`);
      void db().api.call(
        'cloud_call_refused',
        org.admin.caller,
        connectionId,
        null,
        service,
        operation,
      );
    });
    sb.control.clearCalls();
    await refusedBefore(
      session.s3('us-east-1').send(new s3.GetObjectCommand({ Bucket: 'any', Key: 'k' })),
    );
    await refusedBefore(secrets.send(new sm.GetSecretValueCommand({ SecretId: secretId })));
    await refusedBefore(
      session.kms('us-east-1').send(new kms.DecryptCommand({ CiphertextBlob: Buffer.alloc(64) })),
    );
    await refusedBefore(session.cloudtrail('us-east-1').send(new ct.LookupEventsCommand({})));
    expect(sb.control.calls()).toEqual([]);
    expect(refusals).toEqual([
      's3:GetObject',
      'secretsmanager:GetSecretValue',
      'kms:Decrypt',
      'cloudtrail:LookupEvents',
    ]);
    // The refusals are recorded asynchronously: wait for them (not for a fixed time).
    const recorded = async (): Promise<string[]> =>
      (
        await db().superuser.query<{ reason: string }>(
          `select reason from audit.audit_events where event_type = 'cloud.call_refused' and target_id = $1 order by occurred_at`,
          [connectionId],
        )
      ).rows.map((r) => r.reason.split(' ')[0]!);
    await expect.poll(async () => (await recorded()).length, { timeout: 15_000 }).toBe(4);
    expect((await recorded()).sort()).toEqual(
      [
        'cloudtrail:LookupEvents',
        'kms:Decrypt',
        's3:GetObject',
        'secretsmanager:GetSecretValue',
      ].sort(),
    );
    secrets.destroy();
    session.close();
  });

  it('refuses every operation of every SDK client that is not on the read allowlist', async () => {
    const sb = sandbox();
    const base = { endpoint: sb.endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1 };
    const modules: Array<
      [
        string,
        Record<string, unknown>,
        { send(c: unknown): Promise<unknown>; destroy(): void; middlewareStack: unknown },
      ]
    > = [
      ['ec2', ec2, new ec2.EC2Client(base)],
      ['s3', s3, new s3.S3Client({ ...base, forcePathStyle: true })],
      ['s3control', s3c, new s3c.S3ControlClient(base)],
      ['rds', rds, new rds.RDSClient(base)],
      ['cloudtrail', ct, new ct.CloudTrailClient(base)],
      ['iam', iam, new iam.IAMClient(base)],
      ['kms', kms, new kms.KMSClient(base)],
      ['cloudwatch', cw, new cw.CloudWatchClient(base)],
      ['sts', sts, new sts.STSClient(base)],
      ['secretsmanager', sm, new sm.SecretsManagerClient(base)],
    ];
    sb.control.clearCalls();
    let refusedCount = 0;
    const allowedSeen: string[] = [];
    for (const [service, mod, client] of modules) {
      installFirewall(client, () => {});
      for (const [name, Cmd] of Object.entries(mod)) {
        if (!name.endsWith('Command') || typeof Cmd !== 'function') continue;
        if (
          typeof (Cmd as { prototype?: { resolveMiddleware?: unknown } }).prototype
            ?.resolveMiddleware !== 'function'
        )
          continue;
        const operation = name.replace(/Command$/, '');
        if (isAllowed(service, operation)) {
          allowedSeen.push(`${service}:${operation}`);
          continue;
        }
        const command = new (Cmd as new (input: object) => unknown)({});
        const e = await refusedBefore(client.send(command));
        expect(e.operation).toBe(operation);
        refusedCount++;
      }
      client.destroy();
    }
    // Thousands of operations, all refused; not one request reached the cloud.
    expect(refusedCount).toBeGreaterThan(1000);
    expect(sb.control.calls()).toEqual([]);
    // Every allowlisted operation exists in the SDK (no typo in the allowlist).
    expect(allowedSeen.sort()).toEqual(
      Object.entries(READ_ALLOWLIST)
        .flatMap(([s, ops]) => ops.map((o) => `${s}:${o}`))
        .sort(),
    );
  });
});
