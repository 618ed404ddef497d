// A test-only reader that turns a generated sandbox account (its in-memory state) into the inventory
// contract, field by field as the documented read APIs expose it. It lets the engine be checked
// against the sandbox's answer key without the scanner (which lands on another branch; the end-to-end
// test through the real SDK is written at merge).
import {
  arnFor,
  fingerprintAccessKeyId,
  type AnyInventoryResource,
  type PolicyDocument,
} from '../../src/cloud/inventory.js';
import type { Account, Tag } from '../../src/sandbox/state.js';
import { series, statistic } from '../../src/sandbox/metrics.js';

const DAY = 86_400_000;
const iso = (ms: number | undefined | null): string | null =>
  ms === undefined || ms === null ? null : new Date(ms).toISOString();
const tags = (t: Tag[]): Record<string, string> =>
  Object.fromEntries(t.map((x) => [x.Key, x.Value]));
const pab = (
  b:
    | {
        BlockPublicAcls: boolean;
        IgnorePublicAcls: boolean;
        BlockPublicPolicy: boolean;
        RestrictPublicBuckets: boolean;
      }
    | undefined,
) =>
  b
    ? {
        blockPublicAcls: b.BlockPublicAcls,
        ignorePublicAcls: b.IgnorePublicAcls,
        blockPublicPolicy: b.BlockPublicPolicy,
        restrictPublicBuckets: b.RestrictPublicBuckets,
      }
    : null;

function daily(
  account: Account,
  region: string,
  ns: string,
  metric: string,
  dims: Record<string, string>,
  now: number,
  days: number,
  stat: string,
): number[] {
  const points = series(account, region, ns, metric, dims, now - days * DAY, now, 86_400);
  return points.map((p) => statistic(p.values, stat));
}

export function inventoryFromState(
  account: Account,
  now: number,
  windowDays = 14,
): AnyInventoryResource[] {
  const id = account.id;
  const out: AnyInventoryResource[] = [];
  out.push({
    arn: arnFor.accountPublicAccessBlock(id),
    type: 'AWS::S3::AccountPublicAccessBlock',
    resourceId: id,
    accountId: id,
    region: 'global',
    tags: {},
    data: { publicAccessBlock: pab(account.s3.accountPublicAccessBlock) },
  });
  for (const b of account.s3.buckets.values()) {
    const policy = b.policy ? (JSON.parse(b.policy) as PolicyDocument) : null;
    out.push({
      arn: `arn:aws:s3:::${b.name}`,
      type: 'AWS::S3::Bucket',
      resourceId: b.name,
      accountId: id,
      region: b.region,
      tags: tags(b.tags),
      data: {
        name: b.name,
        creationDate: iso(b.creationDate),
        publicAccessBlock: pab(b.publicAccessBlock),
        objectOwnership: b.ownership ?? null,
        acl: b.grants.map((g) =>
          g.grantee.type === 'Group'
            ? { grantee: { type: 'Group' as const, uri: g.grantee.uri }, permission: g.permission }
            : {
                grantee: { type: 'CanonicalUser' as const, id: g.grantee.id },
                permission: g.permission,
              },
        ),
        policy,
        policyIsPublic: null,
        encryption: b.encryption
          ? {
              algorithm: b.encryption.algorithm,
              kmsKeyId: b.encryption.kmsKeyId ?? null,
              bucketKeyEnabled: b.encryption.bucketKey,
            }
          : null,
        versioning: b.versioning ?? null,
        mfaDelete: false,
        logging: b.logging ?? null,
        lifecycleRuleCount: b.lifecycle?.length ?? 0,
      },
    });
  }
  for (const [region, st] of account.regions) {
    out.push({
      arn: arnFor.ebsEncryptionByDefault(id, region),
      type: 'AWS::EC2::EbsEncryptionByDefault',
      resourceId: id,
      accountId: id,
      region,
      tags: {},
      data: { enabled: st.ec2.ebsEncryptionByDefault },
    });
    for (const i of st.ec2.instances.values()) {
      const running = i.state === 'running';
      const cpu = running
        ? daily(
            account,
            region,
            'AWS/EC2',
            'CPUUtilization',
            { InstanceId: i.id },
            now,
            windowDays,
            'Average',
          )
        : [];
      const netIn = running
        ? daily(
            account,
            region,
            'AWS/EC2',
            'NetworkIn',
            { InstanceId: i.id },
            now,
            windowDays,
            'Sum',
          )
        : [];
      const netOut = running
        ? daily(
            account,
            region,
            'AWS/EC2',
            'NetworkOut',
            { InstanceId: i.id },
            now,
            windowDays,
            'Sum',
          )
        : [];
      const m = /\((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) GMT\)/.exec(i.stateTransitionReason);
      out.push({
        arn: `arn:aws:ec2:${region}:${id}:instance/${i.id}`,
        type: 'AWS::EC2::Instance',
        resourceId: i.id,
        accountId: id,
        region,
        tags: tags(i.tags),
        data: {
          instanceId: i.id,
          instanceType: i.type,
          state: i.state,
          launchTime: iso(i.launchTime)!,
          stoppedSince:
            i.state === 'stopped' && m
              ? new Date(`${m[1]!.replace(' ', 'T')}Z`).toISOString()
              : null,
          imageId: i.imageId,
          platform: null,
          metadataOptions: {
            httpTokens: i.metadata.httpTokens,
            httpEndpoint: i.metadata.httpEndpoint,
          },
          securityGroupIds: st.ec2.networkInterfaces.get(i.eniId)?.groupIds ?? [],
          networkInterfaceIds: [i.eniId],
          volumeIds: i.blockDevices.map((b) => b.volumeId),
          publicIp: i.publicIp ?? null,
          utilization: running
            ? {
                windowDays,
                cpuAverageDaily: cpu,
                networkBytesDaily: netIn.map((x, k) => x + (netOut[k] ?? 0)),
              }
            : null,
        },
      });
    }
    for (const v of st.ec2.volumes.values())
      out.push({
        arn: `arn:aws:ec2:${region}:${id}:volume/${v.id}`,
        type: 'AWS::EC2::Volume',
        resourceId: v.id,
        accountId: id,
        region,
        tags: tags(v.tags),
        data: {
          volumeId: v.id,
          volumeType: v.type,
          sizeGiB: v.size,
          iops: v.iops ?? null,
          throughput: v.throughput ?? null,
          encrypted: v.encrypted,
          kmsKeyId: v.kmsKeyId ?? null,
          state: v.state,
          createTime: iso(v.createTime)!,
          snapshotId: v.snapshotId ?? null,
          attachments: v.attachment
            ? [
                {
                  instanceId: v.attachment.instanceId,
                  device: v.attachment.device,
                  deleteOnTermination: v.attachment.deleteOnTermination,
                },
              ]
            : [],
        },
      });
    for (const s of st.ec2.snapshots.values())
      out.push({
        arn: `arn:aws:ec2:${region}::snapshot/${s.id}`,
        type: 'AWS::EC2::Snapshot',
        resourceId: s.id,
        accountId: id,
        region,
        tags: tags(s.tags),
        data: {
          snapshotId: s.id,
          volumeId: s.volumeId,
          volumeSizeGiB: s.volumeSize,
          startTime: iso(s.startTime)!,
          state: s.state,
          encrypted: s.encrypted,
          createVolumePermission: {
            groups: [...s.createVolumeGroups],
            userIds: [...s.createVolumeUserIds],
          },
        },
      });
    for (const g of st.ec2.securityGroups.values())
      out.push({
        arn: `arn:aws:ec2:${region}:${id}:security-group/${g.id}`,
        type: 'AWS::EC2::SecurityGroup',
        resourceId: g.id,
        accountId: id,
        region,
        tags: tags(g.tags),
        data: {
          groupId: g.id,
          groupName: g.name,
          vpcId: g.vpcId,
          description: g.description,
          rules: g.rules.map((r) => ({
            ruleId: r.id,
            isEgress: r.egress,
            protocol: r.protocol,
            fromPort: r.fromPort,
            toPort: r.toPort,
            cidrIpv4: r.cidrIpv4 ?? null,
            cidrIpv6: r.cidrIpv6 ?? null,
            referencedGroupId: r.referencedGroupId ?? null,
            prefixListId: r.prefixListId ?? null,
            description: r.description ?? null,
          })),
          networkInterfaceIds: [...st.ec2.networkInterfaces.values()]
            .filter((n) => n.groupIds.includes(g.id))
            .map((n) => n.id),
        },
      });
    for (const a of st.ec2.addresses.values())
      out.push({
        arn: `arn:aws:ec2:${region}:${id}:elastic-ip/${a.allocationId}`,
        type: 'AWS::EC2::EIP',
        resourceId: a.allocationId,
        accountId: id,
        region,
        tags: tags(a.tags),
        data: {
          allocationId: a.allocationId,
          publicIp: a.publicIp,
          associationId: a.associationId ?? null,
          instanceId: a.instanceId ?? null,
          networkInterfaceId: a.eniId ?? null,
        },
      });
    for (const img of st.ec2.images.values())
      out.push({
        arn: `arn:aws:ec2:${region}::image/${img.id}`,
        type: 'AWS::EC2::Image',
        resourceId: img.id,
        accountId: id,
        region,
        tags: tags(img.tags),
        data: {
          imageId: img.id,
          name: img.name,
          creationDate: iso(img.creationDate),
          state: 'available',
          launchPermission: { groups: [...img.launchGroups], userIds: [...img.launchUserIds] },
        },
      });
    for (const d of st.rds.instances.values()) {
      const conns = daily(
        account,
        region,
        'AWS/RDS',
        'DatabaseConnections',
        { DBInstanceIdentifier: d.id },
        now,
        windowDays,
        'Maximum',
      );
      out.push({
        arn: `arn:aws:rds:${region}:${id}:db:${d.id}`,
        type: 'AWS::RDS::DBInstance',
        resourceId: d.id,
        accountId: id,
        region,
        tags: tags(d.tags),
        data: {
          dbInstanceIdentifier: d.id,
          engine: d.engine,
          engineVersion: d.engineVersion,
          instanceClass: d.instanceClass,
          status: d.status,
          allocatedStorageGiB: d.allocatedStorage,
          multiAz: d.multiAZ,
          publiclyAccessible: d.publiclyAccessible,
          storageEncrypted: d.storageEncrypted,
          backupRetentionPeriod: d.backupRetentionPeriod,
          deletionProtection: d.deletionProtection,
          createTime: iso(d.createTime),
          securityGroupIds: d.securityGroupIds,
          utilization: { windowDays, maxConnectionsDaily: conns, cpuAverageDaily: [] },
        },
      });
    }
    for (const s of st.rds.snapshots.values())
      out.push({
        arn: `arn:aws:rds:${region}:${id}:snapshot:${s.id}`,
        type: 'AWS::RDS::DBSnapshot',
        resourceId: s.id,
        accountId: id,
        region,
        tags: tags(s.tags),
        data: {
          dbSnapshotIdentifier: s.id,
          dbInstanceIdentifier: s.dbInstanceId,
          snapshotType: s.type,
          createTime: iso(s.createTime),
          encrypted: s.encrypted,
          allocatedStorageGiB: s.allocatedStorage,
          restoreAttribute: [...s.restoreAttrs],
        },
      });
    for (const tr of st.trails.values())
      out.push({
        arn: `arn:aws:cloudtrail:${region}:${id}:trail/${tr.name}`,
        type: 'AWS::CloudTrail::Trail',
        resourceId: tr.name,
        accountId: id,
        region: tr.homeRegion,
        tags: tags(tr.tags),
        data: {
          name: tr.name,
          homeRegion: tr.homeRegion,
          isMultiRegionTrail: tr.isMultiRegion,
          logFileValidationEnabled: tr.logFileValidation,
          isLogging: tr.isLogging,
          s3BucketName: tr.s3BucketName,
          kmsKeyId: tr.kmsKeyId ?? null,
          isOrganizationTrail: false,
        },
      });
    for (const k of st.kms.values())
      out.push({
        arn: k.arn,
        type: 'AWS::KMS::Key',
        resourceId: k.id,
        accountId: id,
        region,
        tags: tags(k.tags),
        data: {
          keyId: k.id,
          keyManager: k.manager,
          keyState: k.state,
          keySpec: 'SYMMETRIC_DEFAULT',
          keyUsage: 'ENCRYPT_DECRYPT',
          rotationEnabled: k.rotationEnabled,
          aliases: [...k.aliases],
        },
      });
  }
  const iam = account.iam;
  out.push({
    arn: arnFor.root(id),
    type: 'AWS::IAM::Root',
    resourceId: id,
    accountId: id,
    region: 'global',
    tags: {},
    data: {
      accountAccessKeysPresent: iam.root.accessKeys.some((k) => k.active),
      accountMfaEnabled: iam.root.mfaEnabled,
    },
  });
  const p = iam.passwordPolicy;
  out.push({
    arn: arnFor.passwordPolicy(id),
    type: 'AWS::IAM::PasswordPolicy',
    resourceId: id,
    accountId: id,
    region: 'global',
    tags: {},
    data: {
      policy: p
        ? {
            minimumPasswordLength: p.MinimumPasswordLength,
            requireSymbols: p.RequireSymbols,
            requireNumbers: p.RequireNumbers,
            requireUppercaseCharacters: p.RequireUppercaseCharacters,
            requireLowercaseCharacters: p.RequireLowercaseCharacters,
            passwordReusePrevention: p.PasswordReusePrevention ?? null,
            maxPasswordAge: p.MaxPasswordAge ?? null,
          }
        : null,
    },
  });
  for (const u of iam.users.values()) {
    out.push({
      arn: u.arn,
      type: 'AWS::IAM::User',
      resourceId: u.name,
      accountId: id,
      region: 'global',
      tags: tags(u.tags),
      data: {
        userName: u.name,
        userId: u.id,
        createDate: iso(u.createDate)!,
        consoleAccess: u.passwordEnabled,
        mfaDeviceCount: u.mfaDevices.length,
        passwordLastUsed: iso(u.passwordLastUsed),
      },
    });
    for (const k of u.accessKeys) {
      const fp = fingerprintAccessKeyId(k.id);
      out.push({
        arn: arnFor.accessKey(id, u.name, fp),
        type: 'AWS::IAM::AccessKey',
        resourceId: fp,
        accountId: id,
        region: 'global',
        tags: {},
        data: {
          userName: u.name,
          fingerprint: fp,
          lastFour: k.id.slice(-4),
          status: k.status,
          createDate: iso(k.createDate)!,
          lastUsedDate: iso(k.lastUsed?.date),
          lastUsedService: k.lastUsed?.service ?? null,
        },
      });
    }
  }
  for (const r of iam.roles.values())
    out.push({
      arn: r.arn,
      type: 'AWS::IAM::Role',
      resourceId: r.name,
      accountId: id,
      region: 'global',
      tags: tags(r.tags),
      data: {
        roleName: r.name,
        roleId: r.id,
        createDate: iso(r.createDate)!,
        trustPolicy: JSON.parse(r.trustPolicy) as PolicyDocument,
        maxSessionDuration: r.maxSessionDuration,
        attachedPolicyArns: [...r.attached],
      },
    });
  return out;
}
