import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import * as iam from '@aws-sdk/client-iam';
import { DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { Sandbox } from '../../src/sandbox/index.js';
import { cfg, expectAwsError, sandbox } from './helpers.js';

let sb: Sandbox;
let acct: string;
const EXT = 'ext-4b1d9c';

beforeAll(async () => {
  sb = await sandbox();
  acct = sb.accounts[0]!.accountId;
  sb.control.createScanRole(acct, { externalId: EXT });
});
afterAll(() => sb.stop());

const platformSts = () => new STSClient(cfg(sb, sb.platform.credentials));
const admin = () => sb.accounts[0]!.adminCredentials;

async function assume(
  extra: Partial<{
    ExternalId: string;
    DurationSeconds: number;
    Policy: string;
    RoleArn: string;
  }> = {},
) {
  const out = await platformSts().send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${acct}:role/AxiomScanRole`,
      RoleSessionName: 'axiom-test',
      ExternalId: EXT,
      ...extra,
    }),
  );
  const c = out.Credentials!;
  return {
    out,
    creds: {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken!,
    },
  };
}

describe('STS', () => {
  it('GetCallerIdentity answers for users and sessions', async () => {
    const me = await platformSts().send(new GetCallerIdentityCommand({}));
    expect(me.Account).toBe('111111111111');
    expect(me.Arn).toBe('arn:aws:iam::111111111111:user/axiom-platform');
    const { out, creds } = await assume();
    expect(out.Credentials!.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(out.Credentials!.SecretAccessKey).toHaveLength(40);
    const who = await new STSClient(cfg(sb, creds)).send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe(`arn:aws:sts::${acct}:assumed-role/AxiomScanRole/axiom-test`);
    expect(who.Account).toBe(acct);
    expect(sb.platform.credentials.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
  });

  it('refuses a wrong External ID, a missing one, and a role that does not exist', async () => {
    const e = await expectAwsError(assume({ ExternalId: 'wrong-id' }), 'AccessDenied', 403);
    expect(e.message).toBe(
      `User: arn:aws:iam::111111111111:user/axiom-platform is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${acct}:role/AxiomScanRole`,
    );
    await expectAwsError(
      platformSts().send(
        new AssumeRoleCommand({
          RoleArn: `arn:aws:iam::${acct}:role/AxiomScanRole`,
          RoleSessionName: 'x1',
        }),
      ),
      'AccessDenied',
      403,
    );
    await expectAwsError(
      assume({ RoleArn: `arn:aws:iam::${acct}:role/NoSuchRole` }),
      'AccessDenied',
      403,
    );
  });

  it('refuses a caller from an account the trust policy does not name', async () => {
    // The customer's own admin is in another account than the trusted platform account.
    await expectAwsError(
      new STSClient(cfg(sb, admin())).send(
        new AssumeRoleCommand({
          RoleArn: `arn:aws:iam::${acct}:role/AxiomScanRole`,
          RoleSessionName: 'xx',
          ExternalId: EXT,
        }),
      ),
      'AccessDenied',
      403,
    );
  });

  it('refuses once the role is deleted', async () => {
    sb.control.createScanRole(acct, { externalId: EXT, roleName: 'Doomed' });
    await assume({ RoleArn: `arn:aws:iam::${acct}:role/Doomed` });
    sb.control.deleteRole(acct, 'Doomed');
    await expectAwsError(
      assume({ RoleArn: `arn:aws:iam::${acct}:role/Doomed` }),
      'AccessDenied',
      403,
    );
  });

  it('enforces DurationSeconds limits', async () => {
    await expectAwsError(assume({ DurationSeconds: 899 }), 'ValidationError', 400);
    const e = await expectAwsError(assume({ DurationSeconds: 7200 }), 'ValidationError', 400);
    expect(e.message).toMatch(/MaxSessionDuration/);
    const { out } = await assume({ DurationSeconds: 900 });
    expect(out.Credentials!.Expiration!.getTime() - sb.control.now()).toBeLessThanOrEqual(900_000);
  });

  it('temporary credentials really expire', async () => {
    const { creds } = await assume({ DurationSeconds: 900 });
    const ec2 = new EC2Client(cfg(sb, creds));
    const ok = await ec2.send(new DescribeVolumesCommand({ MaxResults: 5 }));
    expect(ok.Volumes!.length).toBe(5);
    sb.control.advanceTime(901_000);
    await expectAwsError(
      ec2.send(new DescribeVolumesCommand({ MaxResults: 5 })),
      'RequestExpired',
      400,
    );
    await expectAwsError(
      new STSClient(cfg(sb, creds)).send(new GetCallerIdentityCommand({})),
      'ExpiredToken',
      403,
    );
    await expectAwsError(
      new iam.IAMClient(cfg(sb, creds)).send(new iam.ListRolesCommand({})),
      'ExpiredToken',
      403,
    );
  });

  it('rejects bad signatures and unknown keys in each protocol shape', async () => {
    const bad = { ...sb.platform.credentials, secretAccessKey: 'x'.repeat(40) };
    await expectAwsError(
      new STSClient(cfg(sb, bad)).send(new GetCallerIdentityCommand({})),
      'SignatureDoesNotMatch',
      403,
    );
    const unknown = { accessKeyId: 'AKIA' + 'Q'.repeat(16), secretAccessKey: 'y'.repeat(40) };
    await expectAwsError(
      new STSClient(cfg(sb, unknown)).send(new GetCallerIdentityCommand({})),
      'InvalidClientTokenId',
      403,
    );
    await expectAwsError(
      new EC2Client(cfg(sb, unknown)).send(new DescribeVolumesCommand({})),
      'AuthFailure',
      401,
    );
    const { creds } = await assume();
    await expectAwsError(
      new STSClient(cfg(sb, { ...creds, sessionToken: 'forged' })).send(
        new GetCallerIdentityCommand({}),
      ),
      'InvalidClientTokenId',
      403,
    );
    const { KMSClient, ListKeysCommand } = await import('@aws-sdk/client-kms');
    const { S3Client, ListBucketsCommand } = await import('@aws-sdk/client-s3');
    await expectAwsError(
      new KMSClient(cfg(sb, unknown)).send(new ListKeysCommand({})),
      'UnrecognizedClientException',
      400,
    );
    await expectAwsError(
      new KMSClient(cfg(sb, { ...admin(), secretAccessKey: 'z'.repeat(40) })).send(
        new ListKeysCommand({}),
      ),
      'InvalidSignatureException',
      400,
    );
    await expectAwsError(
      new S3Client({ ...cfg(sb, unknown), forcePathStyle: true }).send(new ListBucketsCommand({})),
      'InvalidAccessKeyId',
      403,
    );
    await expectAwsError(
      new S3Client({
        ...cfg(sb, { ...admin(), secretAccessKey: 'z'.repeat(40) }),
        forcePathStyle: true,
      }).send(new ListBucketsCommand({})),
      'SignatureDoesNotMatch',
      403,
    );
    const short = await assume({ DurationSeconds: 900 });
    sb.control.advanceTime(900_001);
    await expectAwsError(
      new KMSClient(cfg(sb, short.creds)).send(new ListKeysCommand({})),
      'ExpiredTokenException',
      400,
    );
    await expectAwsError(
      new S3Client({ ...cfg(sb, short.creds), forcePathStyle: true }).send(
        new ListBucketsCommand({}),
      ),
      'ExpiredToken',
      400,
    );
  });

  it('role chaining is limited to one hour', async () => {
    const client = new iam.IAMClient(cfg(sb, admin()));
    await client.send(
      new iam.CreateRoleCommand({
        RoleName: 'ChainTarget',
        MaxSessionDuration: 7200,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${acct}:role/AxiomScanRole` },
              Action: 'sts:AssumeRole',
            },
          ],
        }),
      }),
    );
    await client.send(
      new iam.AttachRolePolicyCommand({
        RoleName: 'AxiomScanRole',
        PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
      }),
    );
    const { creds } = await assume();
    const sts = new STSClient(cfg(sb, creds));
    const arn = `arn:aws:iam::${acct}:role/ChainTarget`;
    await expectAwsError(
      sts.send(
        new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'chain', DurationSeconds: 7200 }),
      ),
      'ValidationError',
      400,
    );
    const ok = await sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'chain' }));
    expect(ok.AssumedRoleUser!.Arn).toBe(`arn:aws:sts::${acct}:assumed-role/ChainTarget/chain`);
    await client.send(
      new iam.DetachRolePolicyCommand({
        RoleName: 'AxiomScanRole',
        PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
      }),
    );
  });
});

describe('policy evaluation for sessions', () => {
  it('explicit Deny beats Allow; a session policy intersects', async () => {
    const client = new iam.IAMClient(cfg(sb, admin()));
    await client.send(
      new iam.CreateRoleCommand({
        RoleName: 'PolicyLab',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { AWS: '111111111111' }, Action: 'sts:AssumeRole' },
          ],
        }),
      }),
    );
    await client.send(
      new iam.PutRolePolicyCommand({
        RoleName: 'PolicyLab',
        PolicyName: 'p',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: ['ec2:Describe*', 'iam:List*'], Resource: '*' },
            { Effect: 'Deny', Action: 'ec2:DescribeVolumes', Resource: '*' },
          ],
        }),
      }),
    );
    const arn = `arn:aws:iam::${acct}:role/PolicyLab`;
    const { creds } = await assume({ RoleArn: arn, ExternalId: undefined });
    const ec2 = new EC2Client(cfg(sb, creds));
    const e = await expectAwsError(
      ec2.send(new DescribeVolumesCommand({})),
      'UnauthorizedOperation',
      403,
    );
    expect(e.message).toMatch(/ec2:DescribeVolumes/);
    const regions = await ec2.send(
      new (await import('@aws-sdk/client-ec2')).DescribeRegionsCommand({}),
    );
    expect(regions.Regions!.map((r) => r.RegionName).sort()).toEqual(['eu-west-1', 'us-east-1']);
    // A session policy that only allows IAM: EC2 is now refused even though the role allows it.
    const session = await assume({
      RoleArn: arn,
      ExternalId: undefined,
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'iam:*', Resource: '*' }],
      }),
    });
    expect(session.out.PackedPolicySize).toBeGreaterThan(0);
    const ec2b = new EC2Client(cfg(sb, session.creds));
    await expectAwsError(
      ec2b.send(new (await import('@aws-sdk/client-ec2')).DescribeRegionsCommand({})),
      'UnauthorizedOperation',
      403,
    );
    const roles = await new iam.IAMClient(cfg(sb, session.creds)).send(
      new iam.ListRolesCommand({}),
    );
    expect(roles.Roles!.some((r) => r.RoleName === 'PolicyLab')).toBe(true);
    await expectAwsError(
      new iam.IAMClient(cfg(sb, session.creds)).send(
        new iam.GetRoleCommand({ RoleName: 'PolicyLab' }),
      ),
      'AccessDenied',
      403,
    );
    await expectAwsError(
      assume({ RoleArn: arn, ExternalId: undefined, Policy: '{not json' }),
      'MalformedPolicyDocument',
      400,
    );
  });
});

describe('IAM', () => {
  const c = () => new iam.IAMClient(cfg(sb, admin()));

  it('roles: create, get (URL-encoded trust), update trust, inline and managed policies, delete', async () => {
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ],
    });
    const created = await c().send(
      new iam.CreateRoleCommand({
        RoleName: 'app-role',
        AssumeRolePolicyDocument: trust,
        MaxSessionDuration: 7200,
      }),
    );
    expect(created.Role!.Arn).toBe(`arn:aws:iam::${acct}:role/app-role`);
    await expectAwsError(
      c().send(
        new iam.CreateRoleCommand({ RoleName: 'app-role', AssumeRolePolicyDocument: trust }),
      ),
      'EntityAlreadyExists',
      409,
    );
    await expectAwsError(
      c().send(
        new iam.CreateRoleCommand({ RoleName: 'bad', AssumeRolePolicyDocument: '{"Statement":' }),
      ),
      'MalformedPolicyDocument',
      400,
    );
    const got = await c().send(new iam.GetRoleCommand({ RoleName: 'app-role' }));
    expect(decodeURIComponent(got.Role!.AssumeRolePolicyDocument!)).toBe(trust);
    expect(got.Role!.MaxSessionDuration).toBe(7200);
    const trust2 = trust.replace('ec2', 'lambda');
    await c().send(
      new iam.UpdateAssumeRolePolicyCommand({ RoleName: 'app-role', PolicyDocument: trust2 }),
    );
    expect(
      decodeURIComponent(
        (await c().send(new iam.GetRoleCommand({ RoleName: 'app-role' }))).Role!
          .AssumeRolePolicyDocument!,
      ),
    ).toBe(trust2);
    const doc = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*' }],
    });
    await c().send(
      new iam.PutRolePolicyCommand({
        RoleName: 'app-role',
        PolicyName: 'inline1',
        PolicyDocument: doc,
      }),
    );
    expect(
      (await c().send(new iam.ListRolePoliciesCommand({ RoleName: 'app-role' }))).PolicyNames,
    ).toEqual(['inline1']);
    expect(
      decodeURIComponent(
        (
          await c().send(
            new iam.GetRolePolicyCommand({ RoleName: 'app-role', PolicyName: 'inline1' }),
          )
        ).PolicyDocument!,
      ),
    ).toBe(doc);
    await c().send(
      new iam.AttachRolePolicyCommand({
        RoleName: 'app-role',
        PolicyArn: 'arn:aws:iam::aws:policy/SecurityAudit',
      }),
    );
    const att = await c().send(new iam.ListAttachedRolePoliciesCommand({ RoleName: 'app-role' }));
    expect(att.AttachedPolicies).toEqual([
      { PolicyArn: 'arn:aws:iam::aws:policy/SecurityAudit', PolicyName: 'SecurityAudit' },
    ]);
    const pv = await c().send(
      new iam.GetPolicyVersionCommand({
        PolicyArn: 'arn:aws:iam::aws:policy/SecurityAudit',
        VersionId: 'v1',
      }),
    );
    expect(JSON.parse(decodeURIComponent(pv.PolicyVersion!.Document!)).Statement[0].Effect).toBe(
      'Allow',
    );
    await expectAwsError(
      c().send(new iam.DeleteRoleCommand({ RoleName: 'app-role' })),
      'DeleteConflict',
      409,
    );
    await c().send(
      new iam.DeleteRolePolicyCommand({ RoleName: 'app-role', PolicyName: 'inline1' }),
    );
    await c().send(
      new iam.DetachRolePolicyCommand({
        RoleName: 'app-role',
        PolicyArn: 'arn:aws:iam::aws:policy/SecurityAudit',
      }),
    );
    await c().send(new iam.DeleteRoleCommand({ RoleName: 'app-role' }));
    await expectAwsError(
      c().send(new iam.GetRoleCommand({ RoleName: 'app-role' })),
      'NoSuchEntity',
      404,
    );
  });

  it('ListRoles pages with Marker and returns trust policies', async () => {
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await c().send(new iam.ListRolesCommand({ MaxItems: 2, Marker: marker }));
      for (const r of page.Roles!) {
        seen.push(r.RoleName!);
        expect(JSON.parse(decodeURIComponent(r.AssumeRolePolicyDocument!)).Statement).toBeTruthy();
      }
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toContain('AxiomScanRole');
  });

  it('users, access keys, last used, MFA devices, login profiles', async () => {
    const users = (await c().send(new iam.ListUsersCommand({}))).Users!;
    expect(users.length).toBeGreaterThan(3);
    const adminUser = await c().send(new iam.GetUserCommand({}));
    expect(adminUser.User!.UserName).toBe('sandbox-admin');
    const keys = await c().send(new iam.ListAccessKeysCommand({ UserName: 'sandbox-admin' }));
    expect(keys.AccessKeyMetadata![0]!.AccessKeyId).toBe(admin().accessKeyId);
    const used = await c().send(
      new iam.GetAccessKeyLastUsedCommand({ AccessKeyId: admin().accessKeyId }),
    );
    expect(used.UserName).toBe('sandbox-admin');
    expect(used.AccessKeyLastUsed!.LastUsedDate!.getTime()).toBeGreaterThan(Date.now() - 60_000);
    const consoleUser = users.find((u) => u.PasswordLastUsed)!;
    const mfa = await c().send(new iam.ListMFADevicesCommand({ UserName: consoleUser.UserName }));
    expect(Array.isArray(mfa.MFADevices)).toBe(true);
    const lp = await c().send(new iam.GetLoginProfileCommand({ UserName: consoleUser.UserName }));
    expect(lp.LoginProfile!.UserName).toBe(consoleUser.UserName);
    await expectAwsError(
      c().send(new iam.GetLoginProfileCommand({ UserName: 'sandbox-admin' })),
      'NoSuchEntity',
      404,
    );
    const other = users.find((u) => u.UserName !== 'sandbox-admin')!;
    const k =
      (await c().send(new iam.ListAccessKeysCommand({ UserName: other.UserName })))
        .AccessKeyMetadata ?? [];
    if (k[0]) {
      await c().send(
        new iam.UpdateAccessKeyCommand({
          UserName: other.UserName,
          AccessKeyId: k[0].AccessKeyId,
          Status: 'Inactive',
        }),
      );
      const after = await c().send(new iam.ListAccessKeysCommand({ UserName: other.UserName }));
      expect(after.AccessKeyMetadata![0]!.Status).toBe('Inactive');
      await c().send(
        new iam.UpdateAccessKeyCommand({
          UserName: other.UserName,
          AccessKeyId: k[0].AccessKeyId,
          Status: 'Active',
        }),
      );
    }
    await expectAwsError(
      c().send(
        new iam.UpdateAccessKeyCommand({
          UserName: 'sandbox-admin',
          AccessKeyId: 'AKIA' + 'Z'.repeat(16),
          Status: 'Inactive',
        }),
      ),
      'NoSuchEntity',
      404,
    );
  });

  it('password policy get/update/delete and the account summary', async () => {
    await c().send(
      new iam.UpdateAccountPasswordPolicyCommand({
        MinimumPasswordLength: 14,
        RequireSymbols: true,
        PasswordReusePrevention: 24,
        MaxPasswordAge: 90,
      }),
    );
    const p = await c().send(new iam.GetAccountPasswordPolicyCommand({}));
    expect(p.PasswordPolicy).toMatchObject({
      MinimumPasswordLength: 14,
      RequireSymbols: true,
      PasswordReusePrevention: 24,
      MaxPasswordAge: 90,
      ExpirePasswords: true,
    });
    await c().send(new iam.DeleteAccountPasswordPolicyCommand({}));
    await expectAwsError(
      c().send(new iam.GetAccountPasswordPolicyCommand({})),
      'NoSuchEntity',
      404,
    );
    const summary = await c().send(new iam.GetAccountSummaryCommand({}));
    expect(summary.SummaryMap!.AccountMFAEnabled).toBe(0);
    expect(summary.SummaryMap!.AccountAccessKeysPresent).toBe(1);
    expect(summary.SummaryMap!.Users).toBeGreaterThan(3);
  });

  it('credential report: generate, then a real CSV', async () => {
    await expectAwsError(c().send(new iam.GetCredentialReportCommand({})), 'ReportNotPresent', 410);
    const g = await c().send(new iam.GenerateCredentialReportCommand({}));
    expect(g.State).toBe('STARTED');
    expect((await c().send(new iam.GenerateCredentialReportCommand({}))).State).toBe('COMPLETE');
    const r = await c().send(new iam.GetCredentialReportCommand({}));
    expect(r.ReportFormat).toBe('text/csv');
    const csv = Buffer.from(r.Content!).toString('utf8').split('\n');
    expect(csv[0]!.split(',').slice(0, 8)).toEqual([
      'user',
      'arn',
      'user_creation_time',
      'password_enabled',
      'password_last_used',
      'password_last_changed',
      'password_next_rotation',
      'mfa_active',
    ]);
    const root = csv[1]!.split(',');
    expect(root[0]).toBe('<root_account>');
    expect(root[7]).toBe('false');
    expect(root[8]).toBe('true');
    expect(csv.some((l) => l.startsWith('sandbox-admin,'))).toBe(true);
  });
});
