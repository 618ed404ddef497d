// Collectors: read-only AWS calls → src/cloud/inventory.ts records, nothing more than the contract's
// allowlisted fields. One collector per (service, region) "unit"; S3 and IAM are global units.
import * as ct from '@aws-sdk/client-cloudtrail';
import * as cw from '@aws-sdk/client-cloudwatch';
import * as ec2 from '@aws-sdk/client-ec2';
import * as iam from '@aws-sdk/client-iam';
import * as kms from '@aws-sdk/client-kms';
import * as rds from '@aws-sdk/client-rds';
import * as s3 from '@aws-sdk/client-s3';
import * as s3c from '@aws-sdk/client-s3-control';
import type { AwsSession } from './aws.js';
import {
  arnFor,
  fingerprintAccessKeyId,
  type AnyInventoryResource,
  type InventoryResource,
  type PolicyDocument,
  type PublicAccessBlock,
  type ResourceType,
} from './inventory.js';
import { errorCode, type UnitCaller } from './limiter.js';

export interface CollectContext {
  session: AwsSession;
  accountId: string;
  region: string;
  call: UnitCaller['call'];
  now: Date;
  /** Roles that are Axiom's own access (the connection's roles): never inventoried. */
  ownRoleNames: ReadonlySet<string>;
}

const DAY = 86_400_000;
const UTILIZATION_DAYS = 14;
/**
 * Page size of the EC2 lists: small pages keep the scanner's memory flat (a 1000-item XML page and its
 * parsed forms are megabytes each, and many are in flight at once); the extra calls are cheap.
 */
const EC2_PAGE = 100;

const iso = (d: Date | undefined | null): string | null => (d ? d.toISOString() : null);

/** Tag values that look like secrets are redacted (keys are kept: they are metadata). */
const secretKey = /(secret|passw|token|credential|private.?key|api.?key|auth)/i;
const secretValue =
  /(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z0-9]{16}|(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+=]*[0-9])(?=[A-Za-z0-9/+=]*[A-Za-z])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])|-----BEGIN|eyJ[A-Za-z0-9_-]{10,}\.|xox[abp]-|gh[pousr]_[A-Za-z0-9]{20,}/;
export function cleanTags(
  tags: Array<{ Key?: string | undefined; Value?: string | undefined }> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) {
    if (!t.Key) continue;
    const v = t.Value ?? '';
    out[t.Key.slice(0, 128)] =
      secretKey.test(t.Key) || secretValue.test(v) ? '[redacted]' : v.slice(0, 256);
  }
  return out;
}

function res<T extends ResourceType>(
  ctx: CollectContext,
  type: T,
  arn: string,
  resourceId: string,
  region: string,
  data: InventoryResource<T>['data'],
  tags: Record<string, string> = {},
): InventoryResource<T> {
  return { arn, type, resourceId, accountId: ctx.accountId, region, tags, data };
}

/** Errors that mean "not configured" rather than a failure. */
async function absent<T>(p: Promise<T>, codes: string[]): Promise<T | null> {
  try {
    return await p;
  } catch (e) {
    if (codes.includes(errorCode(e))) return null;
    throw e;
  }
}

function pab(
  c: s3c.PublicAccessBlockConfiguration | s3.PublicAccessBlockConfiguration | undefined,
): PublicAccessBlock | null {
  if (!c) return null;
  return {
    blockPublicAcls: c.BlockPublicAcls ?? false,
    ignorePublicAcls: c.IgnorePublicAcls ?? false,
    blockPublicPolicy: c.BlockPublicPolicy ?? false,
    restrictPublicBuckets: c.RestrictPublicBuckets ?? false,
  };
}

function parsePolicy(text: string | undefined): PolicyDocument | null {
  if (!text) return null;
  try {
    let s = text;
    if (/^%7B/i.test(s)) s = decodeURIComponent(s);
    const doc = JSON.parse(s) as PolicyDocument & { Statement: unknown };
    const st = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
    return {
      ...(doc.Version ? { Version: doc.Version } : {}),
      Statement: st as PolicyDocument['Statement'],
    };
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- S3 (global unit)
export async function collectS3(ctx: CollectContext): Promise<AnyInventoryResource[]> {
  const out: AnyInventoryResource[] = [];
  const ctl = ctx.session.s3control();
  const account = await ctx.call(() =>
    absent(ctl.send(new s3c.GetPublicAccessBlockCommand({ AccountId: ctx.accountId })), [
      'NoSuchPublicAccessBlockConfiguration',
    ]),
  );
  out.push(
    res(
      ctx,
      'AWS::S3::AccountPublicAccessBlock',
      arnFor.accountPublicAccessBlock(ctx.accountId),
      ctx.accountId,
      'global',
      {
        publicAccessBlock: pab(account?.PublicAccessBlockConfiguration),
      },
    ),
  );
  const home = ctx.session.s3('us-east-1');
  const buckets: s3.Bucket[] = [];
  let token: string | undefined;
  do {
    const page = await ctx.call(() =>
      home.send(
        new s3.ListBucketsCommand({
          MaxBuckets: 1000,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      ),
    );
    buckets.push(...(page.Buckets ?? []));
    token = page.ContinuationToken;
  } while (token);
  await Promise.all(
    buckets.map(async (b) => {
      const Bucket = b.Name!;
      let region = b.BucketRegion;
      if (!region) {
        const loc = await ctx.call(() => home.send(new s3.GetBucketLocationCommand({ Bucket })));
        region = loc.LocationConstraint || 'us-east-1';
      }
      const c = ctx.session.s3(region);
      const [acl, own, bpab, policy, enc, ver, log, life, tags] = await Promise.all([
        ctx.call(() => c.send(new s3.GetBucketAclCommand({ Bucket }))),
        ctx.call(() =>
          absent(c.send(new s3.GetBucketOwnershipControlsCommand({ Bucket })), [
            'OwnershipControlsNotFoundError',
          ]),
        ),
        ctx.call(() =>
          absent(c.send(new s3.GetPublicAccessBlockCommand({ Bucket })), [
            'NoSuchPublicAccessBlockConfiguration',
          ]),
        ),
        ctx.call(() =>
          absent(c.send(new s3.GetBucketPolicyCommand({ Bucket })), ['NoSuchBucketPolicy']),
        ),
        ctx.call(() =>
          absent(c.send(new s3.GetBucketEncryptionCommand({ Bucket })), [
            'ServerSideEncryptionConfigurationNotFoundError',
          ]),
        ),
        ctx.call(() => c.send(new s3.GetBucketVersioningCommand({ Bucket }))),
        ctx.call(() => c.send(new s3.GetBucketLoggingCommand({ Bucket }))),
        ctx.call(() =>
          absent(c.send(new s3.GetBucketLifecycleConfigurationCommand({ Bucket })), [
            'NoSuchLifecycleConfiguration',
          ]),
        ),
        ctx.call(() =>
          absent(c.send(new s3.GetBucketTaggingCommand({ Bucket })), ['NoSuchTagSet']),
        ),
      ]);
      // Policy status only where there is a policy (one call fewer for most buckets).
      const status = policy?.Policy
        ? await ctx.call(() =>
            absent(c.send(new s3.GetBucketPolicyStatusCommand({ Bucket })), ['NoSuchBucketPolicy']),
          )
        : null;
      const rule = enc?.ServerSideEncryptionConfiguration?.Rules?.[0];
      out.push(
        res(
          ctx,
          'AWS::S3::Bucket',
          `arn:aws:s3:::${Bucket}`,
          Bucket,
          region,
          {
            name: Bucket,
            creationDate: iso(b.CreationDate),
            publicAccessBlock: pab(bpab?.PublicAccessBlockConfiguration),
            objectOwnership: own?.OwnershipControls?.Rules?.[0]?.ObjectOwnership ?? null,
            acl: (acl.Grants ?? []).map((g) => ({
              grantee: {
                type: (g.Grantee?.Type ?? 'CanonicalUser') as
                  'CanonicalUser' | 'Group' | 'AmazonCustomerByEmail',
                ...(g.Grantee?.URI ? { uri: g.Grantee.URI } : {}),
                ...(g.Grantee?.ID ? { id: g.Grantee.ID } : {}),
              },
              permission: g.Permission ?? '',
            })),
            policy: parsePolicy(policy?.Policy),
            policyIsPublic: status?.PolicyStatus ? (status.PolicyStatus.IsPublic ?? false) : null,
            encryption: rule?.ApplyServerSideEncryptionByDefault
              ? {
                  algorithm: rule.ApplyServerSideEncryptionByDefault.SSEAlgorithm ?? 'AES256',
                  kmsKeyId: rule.ApplyServerSideEncryptionByDefault.KMSMasterKeyID ?? null,
                  bucketKeyEnabled: rule.BucketKeyEnabled ?? false,
                }
              : null,
            versioning: (ver.Status as 'Enabled' | 'Suspended' | undefined) ?? null,
            mfaDelete: ver.MFADelete === 'Enabled',
            logging: log.LoggingEnabled
              ? {
                  targetBucket: log.LoggingEnabled.TargetBucket ?? '',
                  targetPrefix: log.LoggingEnabled.TargetPrefix ?? '',
                }
              : null,
            lifecycleRuleCount: life?.Rules?.length ?? 0,
          },
          cleanTags(tags?.TagSet),
        ),
      );
    }),
  );
  return out;
}

// ---------------------------------------------------------------- IAM (global unit)
export async function collectIam(ctx: CollectContext): Promise<AnyInventoryResource[]> {
  const c = ctx.session.iam();
  const out: AnyInventoryResource[] = [];
  const summary =
    (await ctx.call(() => c.send(new iam.GetAccountSummaryCommand({})))).SummaryMap ?? {};
  out.push(
    res(ctx, 'AWS::IAM::Root', arnFor.root(ctx.accountId), ctx.accountId, 'global', {
      accountAccessKeysPresent: (summary.AccountAccessKeysPresent ?? 0) > 0,
      accountMfaEnabled: (summary.AccountMFAEnabled ?? 0) > 0,
    }),
  );
  const pp = await ctx.call(() =>
    absent(c.send(new iam.GetAccountPasswordPolicyCommand({})), [
      'NoSuchEntity',
      'NoSuchEntityException',
    ]),
  );
  const p = pp?.PasswordPolicy;
  out.push(
    res(
      ctx,
      'AWS::IAM::PasswordPolicy',
      arnFor.passwordPolicy(ctx.accountId),
      ctx.accountId,
      'global',
      {
        policy: p
          ? {
              minimumPasswordLength: p.MinimumPasswordLength ?? 0,
              requireSymbols: p.RequireSymbols ?? false,
              requireNumbers: p.RequireNumbers ?? false,
              requireUppercaseCharacters: p.RequireUppercaseCharacters ?? false,
              requireLowercaseCharacters: p.RequireLowercaseCharacters ?? false,
              passwordReusePrevention: p.PasswordReusePrevention ?? null,
              maxPasswordAge: p.MaxPasswordAge ?? null,
            }
          : null,
      },
    ),
  );
  const users: iam.User[] = [];
  let marker: string | undefined;
  do {
    const page = await ctx.call(() =>
      c.send(new iam.ListUsersCommand({ MaxItems: 1000, Marker: marker })),
    );
    users.push(...(page.Users ?? []));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  await Promise.all(
    users.map(async (u) => {
      const UserName = u.UserName!;
      const [login, mfa, keys] = await Promise.all([
        ctx.call(() =>
          absent(c.send(new iam.GetLoginProfileCommand({ UserName })), [
            'NoSuchEntity',
            'NoSuchEntityException',
          ]),
        ),
        ctx.call(() => c.send(new iam.ListMFADevicesCommand({ UserName }))),
        ctx.call(() => c.send(new iam.ListAccessKeysCommand({ UserName }))),
      ]);
      out.push(
        res(
          ctx,
          'AWS::IAM::User',
          u.Arn!,
          UserName,
          'global',
          {
            userName: UserName,
            userId: u.UserId!,
            createDate: u.CreateDate!.toISOString(),
            consoleAccess: login !== null,
            mfaDeviceCount: mfa.MFADevices?.length ?? 0,
            passwordLastUsed: iso(u.PasswordLastUsed),
          },
          cleanTags(u.Tags),
        ),
      );
      await Promise.all(
        (keys.AccessKeyMetadata ?? []).map(async (k) => {
          const keyId = k.AccessKeyId!;
          const used = (
            await ctx.call(() =>
              c.send(new iam.GetAccessKeyLastUsedCommand({ AccessKeyId: keyId })),
            )
          ).AccessKeyLastUsed;
          const fp = fingerprintAccessKeyId(keyId);
          out.push(
            res(
              ctx,
              'AWS::IAM::AccessKey',
              arnFor.accessKey(ctx.accountId, UserName, fp),
              fp,
              'global',
              {
                userName: UserName,
                fingerprint: fp,
                lastFour: keyId.slice(-4),
                status: (k.Status as 'Active' | 'Inactive') ?? 'Inactive',
                createDate: k.CreateDate!.toISOString(),
                lastUsedDate: iso(used?.LastUsedDate),
                lastUsedService:
                  used?.ServiceName && used.ServiceName !== 'N/A' ? used.ServiceName : null,
              },
            ),
          );
        }),
      );
    }),
  );
  const roles: iam.Role[] = [];
  marker = undefined;
  do {
    const page = await ctx.call(() =>
      c.send(new iam.ListRolesCommand({ MaxItems: 1000, Marker: marker })),
    );
    roles.push(...(page.Roles ?? []));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  await Promise.all(
    roles
      .filter((r) => !ctx.ownRoleNames.has(r.RoleName!))
      .map(async (r) => {
        const attached: string[] = [];
        let m: string | undefined;
        do {
          const page = await ctx.call(() =>
            c.send(new iam.ListAttachedRolePoliciesCommand({ RoleName: r.RoleName, Marker: m })),
          );
          attached.push(...(page.AttachedPolicies ?? []).map((a) => a.PolicyArn!));
          m = page.IsTruncated ? page.Marker : undefined;
        } while (m);
        out.push(
          res(
            ctx,
            'AWS::IAM::Role',
            r.Arn!,
            r.RoleName!,
            'global',
            {
              roleName: r.RoleName!,
              roleId: r.RoleId!,
              createDate: r.CreateDate!.toISOString(),
              trustPolicy: parsePolicy(r.AssumeRolePolicyDocument) ?? { Statement: [] },
              maxSessionDuration: r.MaxSessionDuration ?? 3600,
              attachedPolicyArns: attached.sort(),
            },
            cleanTags(r.Tags),
          ),
        );
      }),
  );
  return out;
}

// ---------------------------------------------------------------- EC2 (regional)
async function pages<T, O extends { NextToken?: string | undefined }>(
  ctx: CollectContext,
  send: (token: string | undefined) => Promise<O>,
  items: (o: O) => T[] | undefined,
): Promise<T[]> {
  const all: T[] = [];
  let token: string | undefined;
  do {
    const page = await ctx.call(() => send(token));
    all.push(...(items(page) ?? []));
    token = page.NextToken;
  } while (token);
  return all;
}

export async function collectEc2(ctx: CollectContext): Promise<AnyInventoryResource[]> {
  const c = ctx.session.ec2(ctx.region);
  const r = ctx.region;
  const acct = ctx.accountId;
  const out: AnyInventoryResource[] = [];
  const ebs = await ctx.call(() => c.send(new ec2.GetEbsEncryptionByDefaultCommand({})));
  out.push(
    res(ctx, 'AWS::EC2::EbsEncryptionByDefault', arnFor.ebsEncryptionByDefault(acct, r), acct, r, {
      enabled: ebs.EbsEncryptionByDefault ?? false,
    }),
  );
  const [reservations, volumes, snapshots, groups, rules, enis, addresses, images] =
    await Promise.all([
      pages(
        ctx,
        (t) => c.send(new ec2.DescribeInstancesCommand({ MaxResults: EC2_PAGE, NextToken: t })),
        (o) => o.Reservations,
      ),
      pages(
        ctx,
        (t) => c.send(new ec2.DescribeVolumesCommand({ MaxResults: EC2_PAGE, NextToken: t })),
        (o) => o.Volumes,
      ),
      pages(
        ctx,
        (t) =>
          c.send(
            new ec2.DescribeSnapshotsCommand({
              OwnerIds: ['self'],
              MaxResults: EC2_PAGE,
              NextToken: t,
            }),
          ),
        (o) => o.Snapshots,
      ),
      pages(
        ctx,
        (t) =>
          c.send(new ec2.DescribeSecurityGroupsCommand({ MaxResults: EC2_PAGE, NextToken: t })),
        (o) => o.SecurityGroups,
      ),
      pages(
        ctx,
        (t) =>
          c.send(new ec2.DescribeSecurityGroupRulesCommand({ MaxResults: EC2_PAGE, NextToken: t })),
        (o) => o.SecurityGroupRules,
      ),
      pages(
        ctx,
        (t) =>
          c.send(new ec2.DescribeNetworkInterfacesCommand({ MaxResults: EC2_PAGE, NextToken: t })),
        (o) => o.NetworkInterfaces,
      ),
      ctx.call(() => c.send(new ec2.DescribeAddressesCommand({}))).then((o) => o.Addresses ?? []),
      ctx
        .call(() => c.send(new ec2.DescribeImagesCommand({ Owners: ['self'] })))
        .then((o) => o.Images ?? []),
    ]);
  for (const inst of reservations.flatMap((x) => x.Instances ?? [])) {
    const id = inst.InstanceId!;
    const state = inst.State?.Name ?? 'pending';
    const stopped = /\((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) GMT\)/.exec(
      inst.StateTransitionReason ?? '',
    )?.[1];
    out.push(
      res(
        ctx,
        'AWS::EC2::Instance',
        `arn:aws:ec2:${r}:${acct}:instance/${id}`,
        id,
        r,
        {
          instanceId: id,
          instanceType: inst.InstanceType ?? 'unknown',
          state,
          launchTime: (inst.LaunchTime ?? ctx.now).toISOString(),
          stoppedSince:
            state === 'stopped' && stopped
              ? new Date(`${stopped.replace(' ', 'T')}Z`).toISOString()
              : null,
          imageId: inst.ImageId ?? null,
          platform: inst.PlatformDetails ?? inst.Platform ?? null,
          metadataOptions: {
            httpTokens: (inst.MetadataOptions?.HttpTokens as 'optional' | 'required') ?? 'optional',
            httpEndpoint:
              (inst.MetadataOptions?.HttpEndpoint as 'enabled' | 'disabled') ?? 'enabled',
          },
          securityGroupIds: (inst.SecurityGroups ?? []).map((g) => g.GroupId!).sort(),
          networkInterfaceIds: (inst.NetworkInterfaces ?? [])
            .map((n) => n.NetworkInterfaceId!)
            .sort(),
          volumeIds: (inst.BlockDeviceMappings ?? [])
            .map((b) => b.Ebs?.VolumeId)
            .filter((v): v is string => !!v)
            .sort(),
          publicIp: inst.PublicIpAddress ?? null,
          utilization: null,
        },
        cleanTags(inst.Tags),
      ),
    );
  }
  for (const v of volumes) {
    const id = v.VolumeId!;
    out.push(
      res(
        ctx,
        'AWS::EC2::Volume',
        `arn:aws:ec2:${r}:${acct}:volume/${id}`,
        id,
        r,
        {
          volumeId: id,
          volumeType: v.VolumeType ?? 'standard',
          sizeGiB: v.Size ?? 0,
          iops: v.Iops ?? null,
          throughput: v.Throughput ?? null,
          encrypted: v.Encrypted ?? false,
          kmsKeyId: v.KmsKeyId ?? null,
          state: v.State ?? 'available',
          createTime: (v.CreateTime ?? ctx.now).toISOString(),
          snapshotId: v.SnapshotId || null,
          attachments: (v.Attachments ?? []).map((a) => ({
            instanceId: a.InstanceId!,
            device: a.Device ?? '',
            deleteOnTermination: a.DeleteOnTermination ?? false,
          })),
        },
        cleanTags(v.Tags),
      ),
    );
  }
  await Promise.all(
    snapshots.map(async (sn) => {
      const id = sn.SnapshotId!;
      const attr = await ctx.call(() =>
        c.send(
          new ec2.DescribeSnapshotAttributeCommand({
            SnapshotId: id,
            Attribute: 'createVolumePermission',
          }),
        ),
      );
      const perms = attr.CreateVolumePermissions ?? [];
      out.push(
        res(
          ctx,
          'AWS::EC2::Snapshot',
          `arn:aws:ec2:${r}::snapshot/${id}`,
          id,
          r,
          {
            snapshotId: id,
            volumeId: sn.VolumeId || null,
            volumeSizeGiB: sn.VolumeSize ?? 0,
            startTime: (sn.StartTime ?? ctx.now).toISOString(),
            state: sn.State ?? 'completed',
            encrypted: sn.Encrypted ?? false,
            createVolumePermission: {
              groups: perms
                .map((p) => p.Group)
                .filter((g): g is ec2.PermissionGroup => !!g)
                .sort(),
              userIds: perms
                .map((p) => p.UserId)
                .filter((u): u is string => !!u)
                .sort(),
            },
          },
          cleanTags(sn.Tags),
        ),
      );
    }),
  );
  const enisByGroup = new Map<string, string[]>();
  for (const n of enis)
    for (const g of n.Groups ?? [])
      enisByGroup.set(g.GroupId!, [...(enisByGroup.get(g.GroupId!) ?? []), n.NetworkInterfaceId!]);
  const rulesByGroup = new Map<string, ec2.SecurityGroupRule[]>();
  for (const rule of rules)
    rulesByGroup.set(rule.GroupId!, [...(rulesByGroup.get(rule.GroupId!) ?? []), rule]);
  for (const g of groups) {
    const id = g.GroupId!;
    out.push(
      res(
        ctx,
        'AWS::EC2::SecurityGroup',
        `arn:aws:ec2:${r}:${acct}:security-group/${id}`,
        id,
        r,
        {
          groupId: id,
          groupName: g.GroupName ?? '',
          vpcId: g.VpcId ?? null,
          description: g.Description ?? '',
          rules: (rulesByGroup.get(id) ?? [])
            .map((x) => ({
              ruleId: x.SecurityGroupRuleId!,
              isEgress: x.IsEgress ?? false,
              protocol: x.IpProtocol ?? '-1',
              fromPort: x.FromPort ?? null,
              toPort: x.ToPort ?? null,
              cidrIpv4: x.CidrIpv4 ?? null,
              cidrIpv6: x.CidrIpv6 ?? null,
              referencedGroupId: x.ReferencedGroupInfo?.GroupId ?? null,
              prefixListId: x.PrefixListId ?? null,
              description: x.Description ?? null,
            }))
            .sort((a, b) => a.ruleId.localeCompare(b.ruleId)),
          networkInterfaceIds: (enisByGroup.get(id) ?? []).sort(),
        },
        cleanTags(g.Tags),
      ),
    );
  }
  for (const n of enis) {
    const id = n.NetworkInterfaceId!;
    out.push(
      res(
        ctx,
        'AWS::EC2::NetworkInterface',
        `arn:aws:ec2:${r}:${acct}:network-interface/${id}`,
        id,
        r,
        {
          networkInterfaceId: id,
          instanceId: n.Attachment?.InstanceId ?? null,
          groupIds: (n.Groups ?? []).map((g) => g.GroupId!).sort(),
          privateIp: n.PrivateIpAddress ?? null,
          publicIp: n.Association?.PublicIp ?? null,
        },
        cleanTags(n.TagSet),
      ),
    );
  }
  for (const a of addresses) {
    const id = a.AllocationId!;
    out.push(
      res(
        ctx,
        'AWS::EC2::EIP',
        `arn:aws:ec2:${r}:${acct}:elastic-ip/${id}`,
        id,
        r,
        {
          allocationId: id,
          publicIp: a.PublicIp ?? '',
          associationId: a.AssociationId ?? null,
          instanceId: a.InstanceId ?? null,
          networkInterfaceId: a.NetworkInterfaceId ?? null,
        },
        cleanTags(a.Tags),
      ),
    );
  }
  await Promise.all(
    images.map(async (img) => {
      const id = img.ImageId!;
      const attr = await ctx.call(() =>
        c.send(
          new ec2.DescribeImageAttributeCommand({ ImageId: id, Attribute: 'launchPermission' }),
        ),
      );
      const perms = attr.LaunchPermissions ?? [];
      out.push(
        res(
          ctx,
          'AWS::EC2::Image',
          `arn:aws:ec2:${r}::image/${id}`,
          id,
          r,
          {
            imageId: id,
            name: img.Name ?? null,
            creationDate: img.CreationDate ? new Date(img.CreationDate).toISOString() : null,
            state: img.State ?? 'available',
            launchPermission: {
              groups: perms
                .map((p) => p.Group)
                .filter((g): g is ec2.PermissionGroup => !!g)
                .sort(),
              userIds: perms
                .map((p) => p.UserId)
                .filter((u): u is string => !!u)
                .sort(),
            },
          },
          cleanTags(img.Tags),
        ),
      );
    }),
  );
  return out;
}

// ---------------------------------------------------------------- RDS (regional)
export async function collectRds(ctx: CollectContext): Promise<AnyInventoryResource[]> {
  const c = ctx.session.rds(ctx.region);
  const r = ctx.region;
  const out: AnyInventoryResource[] = [];
  const dbs: rds.DBInstance[] = [];
  let marker: string | undefined;
  do {
    const page = await ctx.call(() =>
      c.send(new rds.DescribeDBInstancesCommand({ MaxRecords: 100, Marker: marker })),
    );
    dbs.push(...(page.DBInstances ?? []));
    marker = page.Marker;
  } while (marker);
  for (const db of dbs) {
    const id = db.DBInstanceIdentifier!;
    out.push(
      res(
        ctx,
        'AWS::RDS::DBInstance',
        db.DBInstanceArn ?? `arn:aws:rds:${r}:${ctx.accountId}:db:${id}`,
        id,
        r,
        {
          dbInstanceIdentifier: id,
          engine: db.Engine ?? '',
          engineVersion: db.EngineVersion ?? '',
          instanceClass: db.DBInstanceClass ?? '',
          status: db.DBInstanceStatus ?? '',
          allocatedStorageGiB: db.AllocatedStorage ?? 0,
          multiAz: db.MultiAZ ?? false,
          publiclyAccessible: db.PubliclyAccessible ?? false,
          storageEncrypted: db.StorageEncrypted ?? false,
          backupRetentionPeriod: db.BackupRetentionPeriod ?? 0,
          deletionProtection: db.DeletionProtection ?? false,
          createTime: iso(db.InstanceCreateTime),
          securityGroupIds: (db.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId!).sort(),
          utilization: null,
        },
        cleanTags(db.TagList),
      ),
    );
  }
  const snaps: rds.DBSnapshot[] = [];
  marker = undefined;
  do {
    const page = await ctx.call(() =>
      c.send(new rds.DescribeDBSnapshotsCommand({ MaxRecords: 100, Marker: marker })),
    );
    snaps.push(...(page.DBSnapshots ?? []));
    marker = page.Marker;
  } while (marker);
  await Promise.all(
    snaps.map(async (sn) => {
      const id = sn.DBSnapshotIdentifier!;
      const attrs = await ctx.call(() =>
        c.send(new rds.DescribeDBSnapshotAttributesCommand({ DBSnapshotIdentifier: id })),
      );
      const restore =
        attrs.DBSnapshotAttributesResult?.DBSnapshotAttributes?.find(
          (a) => a.AttributeName === 'restore',
        )?.AttributeValues ?? [];
      out.push(
        res(
          ctx,
          'AWS::RDS::DBSnapshot',
          sn.DBSnapshotArn ?? `arn:aws:rds:${r}:${ctx.accountId}:snapshot:${id}`,
          id,
          r,
          {
            dbSnapshotIdentifier: id,
            dbInstanceIdentifier: sn.DBInstanceIdentifier ?? null,
            snapshotType: sn.SnapshotType ?? 'manual',
            createTime: iso(sn.SnapshotCreateTime),
            encrypted: sn.Encrypted ?? false,
            allocatedStorageGiB: sn.AllocatedStorage ?? 0,
            restoreAttribute: [...restore].sort(),
          },
          cleanTags(sn.TagList),
        ),
      );
    }),
  );
  return out;
}

// ---------------------------------------------------------------- CloudTrail (regional; configuration only)
export async function collectCloudTrail(ctx: CollectContext): Promise<AnyInventoryResource[]> {
  const c = ctx.session.cloudtrail(ctx.region);
  const trails =
    (await ctx.call(() => c.send(new ct.DescribeTrailsCommand({ includeShadowTrails: false }))))
      .trailList ?? [];
  return await Promise.all(
    trails.map(async (t) => {
      const status = await ctx.call(() =>
        c.send(new ct.GetTrailStatusCommand({ Name: t.TrailARN })),
      );
      return res(ctx, 'AWS::CloudTrail::Trail', t.TrailARN!, t.Name!, t.HomeRegion ?? ctx.region, {
        name: t.Name!,
        homeRegion: t.HomeRegion ?? ctx.region,
        isMultiRegionTrail: t.IsMultiRegionTrail ?? false,
        logFileValidationEnabled: t.LogFileValidationEnabled ?? false,
        isLogging: status.IsLogging ?? false,
        s3BucketName: t.S3BucketName ?? null,
        kmsKeyId: t.KmsKeyId ?? null,
        isOrganizationTrail: t.IsOrganizationTrail ?? false,
      });
    }),
  );
}

// ---------------------------------------------------------------- KMS (regional)
export async function collectKms(ctx: CollectContext): Promise<AnyInventoryResource[]> {
  const c = ctx.session.kms(ctx.region);
  const keys: kms.KeyListEntry[] = [];
  const aliases: kms.AliasListEntry[] = [];
  let marker: string | undefined;
  do {
    const page = await ctx.call(() =>
      c.send(new kms.ListKeysCommand({ Limit: 1000, Marker: marker })),
    );
    keys.push(...(page.Keys ?? []));
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  do {
    const page = await ctx.call(() =>
      c.send(new kms.ListAliasesCommand({ Limit: 100, Marker: marker })),
    );
    aliases.push(...(page.Aliases ?? []));
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  return await Promise.all(
    keys.map(async (k) => {
      const md = (await ctx.call(() => c.send(new kms.DescribeKeyCommand({ KeyId: k.KeyId }))))
        .KeyMetadata!;
      const customer = md.KeyManager === 'CUSTOMER';
      const rotation =
        customer && md.KeyState === 'Enabled'
          ? ((await ctx.call(() => c.send(new kms.GetKeyRotationStatusCommand({ KeyId: k.KeyId }))))
              .KeyRotationEnabled ?? false)
          : null;
      return res(ctx, 'AWS::KMS::Key', md.Arn ?? k.KeyArn!, md.KeyId!, ctx.region, {
        keyId: md.KeyId!,
        keyManager: customer ? 'CUSTOMER' : 'AWS',
        keyState: md.KeyState ?? 'Enabled',
        keySpec: md.KeySpec ?? 'SYMMETRIC_DEFAULT',
        keyUsage: md.KeyUsage ?? 'ENCRYPT_DECRYPT',
        rotationEnabled: rotation,
        aliases: aliases
          .filter((a) => a.TargetKeyId === md.KeyId)
          .map((a) => a.AliasName!)
          .sort(),
      });
    }),
  );
}

// ---------------------------------------------------------------- CloudWatch utilization (regional)
/**
 * Fills the utilization of running instances and available DB instances in place. Queries are batched
 * (up to 500 per GetMetricData call, AWS's limit), so a region costs a handful of calls.
 */
export async function collectUtilization(
  ctx: CollectContext,
  regional: AnyInventoryResource[],
): Promise<void> {
  const c = ctx.session.cloudwatch(ctx.region);
  const end = new Date(Math.floor(ctx.now.getTime() / DAY) * DAY);
  const start = new Date(end.getTime() - UTILIZATION_DAYS * DAY);
  const queries: cw.MetricDataQuery[] = [];
  const q = (ns: string, metric: string, dim: string, value: string, stat: string): string => {
    const id = `q${queries.length}`;
    queries.push({
      Id: id,
      MetricStat: {
        Metric: { Namespace: ns, MetricName: metric, Dimensions: [{ Name: dim, Value: value }] },
        Period: 86400,
        Stat: stat,
      },
    });
    return id;
  };
  const fills: Array<(values: (id: string) => number[]) => void> = [];
  for (const x of regional) {
    if (x.type === 'AWS::EC2::Instance' && x.data.state === 'running') {
      const d = x.data;
      const cpu = q('AWS/EC2', 'CPUUtilization', 'InstanceId', d.instanceId, 'Average');
      const nin = q('AWS/EC2', 'NetworkIn', 'InstanceId', d.instanceId, 'Sum');
      const nout = q('AWS/EC2', 'NetworkOut', 'InstanceId', d.instanceId, 'Sum');
      fills.push((v) => {
        const i = v(nin);
        const o = v(nout);
        d.utilization = {
          windowDays: UTILIZATION_DAYS,
          cpuAverageDaily: v(cpu),
          networkBytesDaily: i.map((n, k) => n + (o[k] ?? 0)),
        };
      });
    } else if (x.type === 'AWS::RDS::DBInstance' && x.data.status === 'available') {
      const d = x.data;
      const conn = q(
        'AWS/RDS',
        'DatabaseConnections',
        'DBInstanceIdentifier',
        d.dbInstanceIdentifier,
        'Maximum',
      );
      const cpu = q(
        'AWS/RDS',
        'CPUUtilization',
        'DBInstanceIdentifier',
        d.dbInstanceIdentifier,
        'Average',
      );
      fills.push((v) => {
        d.utilization = {
          windowDays: UTILIZATION_DAYS,
          maxConnectionsDaily: v(conn),
          cpuAverageDaily: v(cpu),
        };
      });
    }
  }
  const series = new Map<string, Array<readonly [number, number]>>();
  const chunks: cw.MetricDataQuery[][] = [];
  for (let i = 0; i < queries.length; i += 500) chunks.push(queries.slice(i, i + 500));
  await Promise.all(
    chunks.map(async (chunk) => {
      let token: string | undefined;
      do {
        const o = await ctx.call(() =>
          c.send(
            new cw.GetMetricDataCommand({
              StartTime: start,
              EndTime: end,
              MetricDataQueries: chunk,
              NextToken: token,
            }),
          ),
        );
        for (const r of o.MetricDataResults ?? []) {
          const pairs = (r.Timestamps ?? []).map((t, i) => [t.getTime(), r.Values![i]!] as const);
          series.set(r.Id!, [...(series.get(r.Id!) ?? []), ...pairs]);
        }
        token = o.NextToken;
      } while (token);
    }),
  );
  const values = (id: string): number[] =>
    [...(series.get(id) ?? [])]
      .sort((a, b) => a[0] - b[0])
      .map((p) => Math.round(p[1] * 1000) / 1000);
  for (const fill of fills) fill(values);
}
