// Test support: the inventory records (src/cloud/inventory.ts) of a sandbox account, read off its
// deterministic state dump, so candidates can be built from findings the way the scanner's
// records will feed them. Only the fields candidates and blast radius read are derived with care.
import {
  arnFor,
  fingerprintAccessKeyId,
  type AnyInventoryResource,
  type SecurityGroupRule,
} from '../../src/cloud/inventory.js';
import type { AnswerKeyEntry, StateDump } from '../../src/sandbox/index.js';
import type { Finding } from '../../src/plans/candidates.js';

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});
const entries = (v: unknown): [string, Obj][] => Object.entries(o(v)).map(([k, x]) => [k, o(x)]);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
const tags = (v: unknown): Record<string, string> => o(v) as Record<string, string>;
const pab = (v: unknown) =>
  v
    ? {
        blockPublicAcls: o(v).BlockPublicAcls === true,
        ignorePublicAcls: o(v).IgnorePublicAcls === true,
        blockPublicPolicy: o(v).BlockPublicPolicy === true,
        restrictPublicBuckets: o(v).RestrictPublicBuckets === true,
      }
    : null;

/** `ingress:tcp:22-22:0.0.0.0/0` → a rule (the dump keys rules by content). */
function parseRule(signature: string, id: string, description: unknown): SecurityGroupRule {
  const m = /^(ingress|egress):([^:]+):(-?\d+)-(-?\d+):(.+)$/.exec(signature);
  if (!m) throw new Error(`unparsable rule ${signature}`);
  const peer = m[5]!;
  const port = (x: string) => (Number(x) === -1 ? null : Number(x));
  return {
    ruleId: id,
    isEgress: m[1] === 'egress',
    protocol: m[2]!,
    fromPort: port(m[3]!),
    toPort: port(m[4]!),
    cidrIpv4: !peer.includes(':') && peer.includes('/') ? peer : null,
    cidrIpv6: peer.includes(':') ? peer : null,
    referencedGroupId: peer.startsWith('sg-') ? peer : null,
    prefixListId: peer.startsWith('pl-') ? peer : null,
    description: str(description),
  };
}

export function inventoryFromDump(dump: StateDump): AnyInventoryResource[] {
  const account = String(dump.accountId);
  const out: AnyInventoryResource[] = [];
  const base = (
    arn: string,
    resourceId: string,
    region: string,
    t: Record<string, string> = {},
  ) => ({
    arn,
    resourceId,
    accountId: account,
    region,
    tags: t,
  });
  const s3 = o(dump.s3);
  out.push({
    ...base(arnFor.accountPublicAccessBlock(account), account, 'global'),
    type: 'AWS::S3::AccountPublicAccessBlock',
    data: { publicAccessBlock: pab(s3.accountPublicAccessBlock) },
  });
  for (const [name, b] of entries(s3.buckets)) {
    const enc = b.encryption ? o(b.encryption) : null;
    const logging = b.logging ? o(b.logging) : null;
    out.push({
      ...base(`arn:aws:s3:::${name}`, name, String(b.region), tags(b.tags)),
      type: 'AWS::S3::Bucket',
      data: {
        name,
        creationDate: null,
        publicAccessBlock: pab(b.publicAccessBlock),
        objectOwnership: str(b.ownership),
        acl: [],
        policy: b.policy ? JSON.parse(String(b.policy)) : null,
        policyIsPublic: null,
        encryption: enc
          ? {
              algorithm: String(enc.algorithm),
              kmsKeyId: str(enc.kmsKeyId),
              bucketKeyEnabled: enc.bucketKey === true,
            }
          : null,
        versioning: (str(b.versioning) as 'Enabled' | 'Suspended' | null) ?? null,
        mfaDelete: false,
        logging: logging
          ? {
              targetBucket: String(logging.targetBucket),
              targetPrefix: String(logging.targetPrefix),
            }
          : null,
        lifecycleRuleCount: Array.isArray(b.lifecycle) ? b.lifecycle.length : 0,
      },
    });
  }
  const iam = o(dump.iam);
  const pp = iam.passwordPolicy ? o(iam.passwordPolicy) : null;
  out.push({
    ...base(arnFor.passwordPolicy(account), account, 'global'),
    type: 'AWS::IAM::PasswordPolicy',
    data: {
      policy: pp
        ? {
            minimumPasswordLength: Number(pp.MinimumPasswordLength),
            requireSymbols: pp.RequireSymbols === true,
            requireNumbers: pp.RequireNumbers === true,
            requireUppercaseCharacters: pp.RequireUppercaseCharacters === true,
            requireLowercaseCharacters: pp.RequireLowercaseCharacters === true,
            passwordReusePrevention: num(pp.PasswordReusePrevention),
            maxPasswordAge: num(pp.MaxPasswordAge),
          }
        : null,
    },
  });
  for (const [userName, u] of entries(iam.users)) {
    out.push({
      ...base(`arn:aws:iam::${account}:user/${userName}`, userName, 'global', tags(u.tags)),
      type: 'AWS::IAM::User',
      data: {
        userName,
        userId: String(u.id),
        createDate: String(u.createDate),
        consoleAccess: u.passwordEnabled === true,
        mfaDeviceCount: Array.isArray(u.mfaDevices) ? u.mfaDevices.length : 0,
        passwordLastUsed: null,
      },
    });
    for (const [keyId, k] of entries(u.accessKeys)) {
      const fp = fingerprintAccessKeyId(keyId);
      out.push({
        ...base(arnFor.accessKey(account, userName, fp), fp, 'global'),
        type: 'AWS::IAM::AccessKey',
        data: {
          userName,
          fingerprint: fp,
          lastFour: keyId.slice(-4),
          status: k.status === 'Active' ? 'Active' : 'Inactive',
          createDate: String(k.createDate),
          lastUsedDate: str(k.lastUsed),
          lastUsedService: null,
        },
      });
    }
  }
  for (const [region, r] of entries(dump.regions)) {
    const ec2 = o(r.ec2);
    out.push({
      ...base(arnFor.ebsEncryptionByDefault(account, region), account, region),
      type: 'AWS::EC2::EbsEncryptionByDefault',
      data: { enabled: ec2.ebsEncryptionByDefault === true },
    });
    const enis = entries(ec2.networkInterfaces);
    const arn = (type: string, id: string) => `arn:aws:ec2:${region}:${account}:${type}/${id}`;
    for (const [id, n] of enis)
      out.push({
        ...base(arn('network-interface', id), id, region),
        type: 'AWS::EC2::NetworkInterface',
        data: {
          networkInterfaceId: id,
          instanceId: str(n.instanceId),
          groupIds: (n.groupIds as string[]) ?? [],
          privateIp: str(n.privateIp),
          publicIp: null,
        },
      });
    for (const [id, i] of entries(ec2.instances)) {
      const eni = enis.find(([eid]) => eid === i.eniId)?.[1];
      const md = o(i.metadata);
      out.push({
        ...base(arn('instance', id), id, region, tags(i.tags)),
        type: 'AWS::EC2::Instance',
        data: {
          instanceId: id,
          instanceType: String(i.type),
          state: String(i.state),
          launchTime: String(i.launchTime),
          stoppedSince: null,
          imageId: str(i.imageId),
          platform: null,
          metadataOptions: {
            httpTokens: md.httpTokens === 'required' ? 'required' : 'optional',
            httpEndpoint: md.httpEndpoint === 'disabled' ? 'disabled' : 'enabled',
          },
          securityGroupIds: (eni?.groupIds as string[]) ?? [],
          networkInterfaceIds: i.eniId ? [String(i.eniId)] : [],
          volumeIds: Object.values(o(i.blockDevices)).map(String),
          publicIp: str(i.publicIp),
          utilization: null,
        },
      });
    }
    for (const [id, v] of entries(ec2.volumes)) {
      const att = v.attachment ? o(v.attachment) : null;
      out.push({
        ...base(arn('volume', id), id, region, tags(v.tags)),
        type: 'AWS::EC2::Volume',
        data: {
          volumeId: id,
          volumeType: String(v.type),
          sizeGiB: Number(v.size),
          iops: num(v.iops),
          throughput: num(v.throughput),
          encrypted: v.encrypted === true,
          kmsKeyId: str(v.kmsKeyId),
          state: String(v.state),
          createTime: String(v.createTime),
          snapshotId: str(v.snapshotId),
          attachments: att
            ? [
                {
                  instanceId: String(att.instanceId),
                  device: String(att.device),
                  deleteOnTermination: false,
                },
              ]
            : [],
        },
      });
    }
    for (const [id, s] of entries(ec2.snapshots)) {
      const cvp = o(s.createVolumePermission);
      out.push({
        ...base(`arn:aws:ec2:${region}::snapshot/${id}`, id, region, tags(s.tags)),
        type: 'AWS::EC2::Snapshot',
        data: {
          snapshotId: id,
          volumeId: str(s.volumeId),
          volumeSizeGiB: Number(s.volumeSize),
          startTime: String(s.startTime),
          state: String(s.state),
          encrypted: s.encrypted === true,
          createVolumePermission: {
            groups: (cvp.groups as string[]) ?? [],
            userIds: (cvp.userIds as string[]) ?? [],
          },
        },
      });
    }
    for (const [id, g] of entries(ec2.securityGroups))
      out.push({
        ...base(arn('security-group', id), id, region, tags(g.tags)),
        type: 'AWS::EC2::SecurityGroup',
        data: {
          groupId: id,
          groupName: String(g.name),
          vpcId: str(g.vpcId),
          description: String(g.description),
          rules: entries(g.rules).map(([sig, x]) => parseRule(sig, String(x.id), x.description)),
          networkInterfaceIds: enis
            .filter(([, n]) => ((n.groupIds as string[]) ?? []).includes(id))
            .map(([eid]) => eid),
        },
      });
    for (const [id, a] of entries(ec2.addresses))
      out.push({
        ...base(arn('elastic-ip', id), id, region, tags(a.tags)),
        type: 'AWS::EC2::EIP',
        data: {
          allocationId: id,
          publicIp: String(a.publicIp),
          associationId: str(a.associationId),
          instanceId: str(a.instanceId),
          networkInterfaceId: null,
        },
      });
    for (const [id, img] of entries(ec2.images)) {
      const lp = o(img.launchPermission);
      out.push({
        ...base(`arn:aws:ec2:${region}::image/${id}`, id, region, tags(img.tags)),
        type: 'AWS::EC2::Image',
        data: {
          imageId: id,
          name: str(img.name),
          creationDate: str(img.creationDate),
          state: 'available',
          launchPermission: {
            groups: (lp.groups as string[]) ?? [],
            userIds: (lp.userIds as string[]) ?? [],
          },
        },
      });
    }
    const rds = o(r.rds);
    for (const [id, d] of entries(rds.instances))
      out.push({
        ...base(`arn:aws:rds:${region}:${account}:db:${id}`, id, region, tags(d.tags)),
        type: 'AWS::RDS::DBInstance',
        data: {
          dbInstanceIdentifier: id,
          engine: String(d.engine),
          engineVersion: String(d.engineVersion),
          instanceClass: String(d.instanceClass),
          status: String(d.status),
          allocatedStorageGiB: Number(d.allocatedStorage),
          multiAz: d.multiAZ === true,
          publiclyAccessible: d.publiclyAccessible === true,
          storageEncrypted: d.storageEncrypted === true,
          backupRetentionPeriod: Number(d.backupRetentionPeriod),
          deletionProtection: d.deletionProtection === true,
          createTime: null,
          securityGroupIds: [],
          utilization: null,
        },
      });
    for (const [id, s] of entries(rds.snapshots))
      out.push({
        ...base(`arn:aws:rds:${region}:${account}:snapshot:${id}`, id, region, tags(s.tags)),
        type: 'AWS::RDS::DBSnapshot',
        data: {
          dbSnapshotIdentifier: id,
          dbInstanceIdentifier: str(s.dbInstanceId),
          snapshotType: String(s.type),
          createTime: str(s.createTime),
          encrypted: s.encrypted === true,
          allocatedStorageGiB: 0,
          restoreAttribute: (s.restore as string[]) ?? [],
        },
      });
    for (const [name, t] of entries(r.cloudtrail))
      out.push({
        ...base(`arn:aws:cloudtrail:${region}:${account}:trail/${name}`, name, region),
        type: 'AWS::CloudTrail::Trail',
        data: {
          name,
          homeRegion: region,
          isMultiRegionTrail: t.isMultiRegion === true,
          logFileValidationEnabled: t.logFileValidation === true,
          isLogging: t.isLogging === true,
          s3BucketName: str(t.s3BucketName),
          kmsKeyId: str(t.kmsKeyId),
          isOrganizationTrail: false,
        },
      });
    for (const [id, k] of entries(r.kms))
      out.push({
        ...base(`arn:aws:kms:${region}:${account}:key/${id}`, id, region, tags(k.tags)),
        type: 'AWS::KMS::Key',
        data: {
          keyId: id,
          keyManager: k.manager === 'AWS' ? 'AWS' : 'CUSTOMER',
          keyState: String(k.state),
          keySpec: 'SYMMETRIC_DEFAULT',
          keyUsage: 'ENCRYPT_DECRYPT',
          rotationEnabled: k.rotationEnabled === true,
          aliases: (k.aliases as string[]) ?? [],
        },
      });
  }
  return out;
}

/** The finding an answer-key entry stands for, on its inventory record. */
export function findingFor(inventory: AnyInventoryResource[], e: AnswerKeyEntry): Finding {
  const id =
    e.resourceType === 'AWS::IAM::AccessKey' ? fingerprintAccessKeyId(e.resourceId) : e.resourceId;
  const resource = inventory.find(
    (r) =>
      r.type === e.resourceType &&
      r.resourceId === id &&
      (r.region === e.region || e.region === 'global'),
  );
  if (!resource) throw new Error(`no inventory record for ${e.problem} ${e.resourceId}`);
  return { checkId: e.problem, resource };
}
