// Generated inventory for the benchmarks: a realistic mix of resource types, about 3% of them with a
// planted problem (used by the findings engine benchmark and to seed findings for the HTTP benchmark).
import {
  arnFor,
  type AnyInventoryResource,
  type PolicyDocument,
  type PolicyStatement,
} from '../src/cloud/inventory.js';

export const NOW = Date.UTC(2026, 10, 30);
const DAY = 86_400_000;
const ACCOUNT = '123456789012';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A realistic mix of resource types; about 3% of the resources carry one planted problem. */
export function generateInventory(n: number, seed = 1): AnyInventoryResource[] {
  const r = rng(seed);
  const bad = (): boolean => r() < 0.03;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const ago = (min: number, max: number): string =>
    new Date(NOW - (min + r() * (max - min)) * DAY).toISOString();
  const regions = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
  const tags = (): Record<string, string> =>
    bad()
      ? { Owner: 'web' }
      : {
          Owner: pick(['web', 'data', 'ml']),
          Environment: pick(['prod', 'dev']),
          CostCenter: 'cc-1',
        };
  const out: AnyInventoryResource[] = [];
  const base = (
    type: string,
    arn: string,
    id: string,
    region: string,
    tg: Record<string, string> = {},
  ) => ({
    arn,
    type,
    resourceId: id,
    accountId: ACCOUNT,
    region,
    tags: tg,
  });
  out.push({
    ...base(
      'AWS::S3::AccountPublicAccessBlock',
      arnFor.accountPublicAccessBlock(ACCOUNT),
      ACCOUNT,
      'global',
    ),
    type: 'AWS::S3::AccountPublicAccessBlock',
    data: { publicAccessBlock: null },
  });
  out.push({
    ...base('AWS::IAM::Root', arnFor.root(ACCOUNT), ACCOUNT, 'global'),
    type: 'AWS::IAM::Root',
    data: { accountAccessKeysPresent: false, accountMfaEnabled: true },
  });
  out.push({
    ...base('AWS::IAM::PasswordPolicy', arnFor.passwordPolicy(ACCOUNT), ACCOUNT, 'global'),
    type: 'AWS::IAM::PasswordPolicy',
    data: {
      policy: {
        minimumPasswordLength: 14,
        requireSymbols: true,
        requireNumbers: true,
        requireUppercaseCharacters: true,
        requireLowercaseCharacters: true,
        passwordReusePrevention: 24,
        maxPasswordAge: 90,
      },
    },
  });
  for (const region of regions)
    out.push({
      ...base(
        'AWS::EC2::EbsEncryptionByDefault',
        arnFor.ebsEncryptionByDefault(ACCOUNT, region),
        ACCOUNT,
        region,
      ),
      type: 'AWS::EC2::EbsEncryptionByDefault',
      data: { enabled: !bad() },
    });
  const mix: Array<[number, (i: number) => AnyInventoryResource]> = [
    [
      0.25,
      (i) => {
        const region = pick(regions);
        const id = `i-${i.toString(16).padStart(17, '0')}`;
        const idle = bad();
        const stopped = !idle && bad();
        return {
          ...base(
            'AWS::EC2::Instance',
            `arn:aws:ec2:${region}:${ACCOUNT}:instance/${id}`,
            id,
            region,
            tags(),
          ),
          type: 'AWS::EC2::Instance',
          data: {
            instanceId: id,
            instanceType: pick(['t3.micro', 'm5.large', 'c5.large', 'r5.large']),
            state: stopped ? 'stopped' : 'running',
            launchTime: ago(20, 700),
            stoppedSince: stopped ? ago(31, 200) : null,
            imageId: 'ami-1',
            platform: null,
            metadataOptions: {
              httpTokens: bad() ? 'optional' : 'required',
              httpEndpoint: 'enabled',
            },
            securityGroupIds: ['sg-1'],
            networkInterfaceIds: [`eni-${i}`],
            volumeIds: [`vol-${i}`],
            publicIp: null,
            utilization: stopped
              ? null
              : {
                  windowDays: 14,
                  cpuAverageDaily: Array.from({ length: 14 }, () =>
                    idle ? 0.5 + r() : 15 + r() * 40,
                  ),
                  networkBytesDaily: Array.from({ length: 14 }, () =>
                    idle ? 1e6 * r() : 1e9 * (1 + r()),
                  ),
                },
          },
        };
      },
    ],
    [
      0.16,
      (i) => {
        const region = pick(regions);
        const id = `snap-${i.toString(16)}`;
        return {
          ...base('AWS::EC2::Snapshot', `arn:aws:ec2:${region}::snapshot/${id}`, id, region),
          type: 'AWS::EC2::Snapshot',
          data: {
            snapshotId: id,
            volumeId: 'vol-1',
            volumeSizeGiB: pick([8, 50, 100]),
            startTime: bad() ? ago(91, 700) : ago(1, 80),
            state: 'completed',
            encrypted: true,
            createVolumePermission: { groups: bad() ? ['all'] : [], userIds: [] },
          },
        };
      },
    ],
    [
      0.06,
      (i) => {
        const region = pick(regions);
        const id = `sg-${i.toString(16)}`;
        const open = bad();
        return {
          ...base(
            'AWS::EC2::SecurityGroup',
            `arn:aws:ec2:${region}:${ACCOUNT}:security-group/${id}`,
            id,
            region,
          ),
          type: 'AWS::EC2::SecurityGroup',
          data: {
            groupId: id,
            groupName: `app-${i}`,
            vpcId: 'vpc-1',
            description: 'app',
            networkInterfaceIds: [],
            rules: [
              {
                ruleId: `sgr-a${i}`,
                isEgress: false,
                protocol: 'tcp',
                fromPort: 443,
                toPort: 443,
                cidrIpv4: '0.0.0.0/0',
                cidrIpv6: null,
                referencedGroupId: null,
                prefixListId: null,
                description: null,
              },
              {
                ruleId: `sgr-b${i}`,
                isEgress: false,
                protocol: 'tcp',
                fromPort: open ? 22 : 5432,
                toPort: open ? 22 : 5432,
                cidrIpv4: open ? '0.0.0.0/0' : '10.0.0.0/8',
                cidrIpv6: null,
                referencedGroupId: null,
                prefixListId: null,
                description: null,
              },
              {
                ruleId: `sgr-c${i}`,
                isEgress: true,
                protocol: '-1',
                fromPort: -1,
                toPort: -1,
                cidrIpv4: '0.0.0.0/0',
                cidrIpv6: null,
                referencedGroupId: null,
                prefixListId: null,
                description: null,
              },
            ],
          },
        };
      },
    ],
    [
      0.05,
      (i) => {
        const name = `bucket-${i}`;
        const policy: PolicyDocument = {
          Version: '2012-10-17',
          Statement: [
            bad()
              ? {
                  Sid: 'Public',
                  Effect: 'Allow',
                  Principal: '*',
                  Action: 's3:GetObject',
                  Resource: `arn:aws:s3:::${name}/*`,
                }
              : {
                  Sid: 'Tls',
                  Effect: 'Deny',
                  Principal: '*',
                  Action: 's3:*',
                  Resource: `arn:aws:s3:::${name}/*`,
                  Condition: { Bool: { 'aws:SecureTransport': 'false' } },
                },
          ],
        };
        const full = {
          blockPublicAcls: true,
          ignorePublicAcls: true,
          blockPublicPolicy: true,
          restrictPublicBuckets: true,
        };
        return {
          ...base('AWS::S3::Bucket', `arn:aws:s3:::${name}`, name, pick(regions), tags()),
          type: 'AWS::S3::Bucket',
          data: {
            name,
            creationDate: ago(30, 900),
            publicAccessBlock: bad() ? null : full,
            objectOwnership: 'BucketOwnerEnforced',
            acl: [],
            policy,
            policyIsPublic: null,
            encryption: { algorithm: 'AES256', kmsKeyId: null, bucketKeyEnabled: false },
            versioning: bad() ? null : 'Enabled',
            mfaDelete: false,
            logging: bad() ? null : { targetBucket: 'logs', targetPrefix: name },
            lifecycleRuleCount: 1,
          },
        };
      },
    ],
    [
      0.025,
      (i) => {
        const region = pick(regions);
        const id = `eipalloc-${i}`;
        const loose = bad();
        return {
          ...base('AWS::EC2::EIP', `arn:aws:ec2:${region}:${ACCOUNT}:elastic-ip/${id}`, id, region),
          type: 'AWS::EC2::EIP',
          data: {
            allocationId: id,
            publicIp: '3.3.3.3',
            associationId: loose ? null : `eipassoc-${i}`,
            instanceId: null,
            networkInterfaceId: null,
          },
        };
      },
    ],
    [
      0.025,
      (i) => {
        const region = pick(regions);
        const id = `ami-${i}`;
        return {
          ...base('AWS::EC2::Image', `arn:aws:ec2:${region}::image/${id}`, id, region),
          type: 'AWS::EC2::Image',
          data: {
            imageId: id,
            name: 'golden',
            creationDate: ago(1, 300),
            state: 'available',
            launchPermission: { groups: bad() ? ['all'] : [], userIds: [] },
          },
        };
      },
    ],
    [
      0.03,
      (i) => {
        const region = pick(regions);
        const id = `db-${i}`;
        const idle = bad();
        return {
          ...base(
            'AWS::RDS::DBInstance',
            `arn:aws:rds:${region}:${ACCOUNT}:db:${id}`,
            id,
            region,
            tags(),
          ),
          type: 'AWS::RDS::DBInstance',
          data: {
            dbInstanceIdentifier: id,
            engine: pick(['postgres', 'mysql']),
            engineVersion: '16',
            instanceClass: pick(['db.t3.medium', 'db.m5.large']),
            status: 'available',
            allocatedStorageGiB: 100,
            multiAz: false,
            publiclyAccessible: bad(),
            storageEncrypted: !bad(),
            backupRetentionPeriod: bad() ? 0 : 7,
            deletionProtection: !bad(),
            createTime: ago(20, 700),
            securityGroupIds: [],
            utilization: {
              windowDays: 14,
              maxConnectionsDaily: Array.from({ length: 14 }, () =>
                idle ? 0 : 5 + Math.floor(r() * 30),
              ),
              cpuAverageDaily: [],
            },
          },
        };
      },
    ],
    [
      0.025,
      (i) => {
        const region = pick(regions);
        const id = `rds-snap-${i}`;
        return {
          ...base(
            'AWS::RDS::DBSnapshot',
            `arn:aws:rds:${region}:${ACCOUNT}:snapshot:${id}`,
            id,
            region,
          ),
          type: 'AWS::RDS::DBSnapshot',
          data: {
            dbSnapshotIdentifier: id,
            dbInstanceIdentifier: 'db-1',
            snapshotType: 'manual',
            createTime: ago(1, 60),
            encrypted: true,
            allocatedStorageGiB: 100,
            restoreAttribute: bad() ? ['all'] : [],
          },
        };
      },
    ],
    [
      0.02,
      (i) => {
        const name = `user-${i}`;
        return {
          ...base('AWS::IAM::User', `arn:aws:iam::${ACCOUNT}:user/${name}`, name, 'global'),
          type: 'AWS::IAM::User',
          data: {
            userName: name,
            userId: `AIDA${i}`,
            createDate: ago(100, 900),
            consoleAccess: r() < 0.5,
            mfaDeviceCount: bad() ? 0 : 1,
            passwordLastUsed: null,
          },
        };
      },
    ],
    [
      0.03,
      (i) => {
        const fp = (i * 2654435761).toString(16).padStart(16, '0').slice(-16);
        return {
          ...base('AWS::IAM::AccessKey', arnFor.accessKey(ACCOUNT, `user-${i}`, fp), fp, 'global'),
          type: 'AWS::IAM::AccessKey',
          data: {
            userName: `user-${i}`,
            fingerprint: fp,
            lastFour: 'ABCD',
            status: 'Active',
            createDate: bad() ? ago(91, 800) : ago(1, 40),
            lastUsedDate: bad() ? null : ago(0, 2),
            lastUsedService: 's3',
          },
        };
      },
    ],
    [
      0.02,
      (i) => {
        const name = `role-${i}`;
        const vendor = bad();
        return {
          ...base('AWS::IAM::Role', `arn:aws:iam::${ACCOUNT}:role/${name}`, name, 'global'),
          type: 'AWS::IAM::Role',
          data: {
            roleName: name,
            roleId: `AROA${i}`,
            createDate: ago(10, 900),
            maxSessionDuration: 3600,
            attachedPolicyArns: [],
            trustPolicy: {
              Version: '2012-10-17',
              Statement: [
                (vendor
                  ? {
                      Effect: 'Allow',
                      Principal: { AWS: 'arn:aws:iam::999988887777:root' },
                      Action: 'sts:AssumeRole',
                    }
                  : {
                      Effect: 'Allow',
                      Principal: { Service: 'ec2.amazonaws.com' },
                      Action: 'sts:AssumeRole',
                    }) as PolicyStatement,
              ],
            },
          },
        };
      },
    ],
    [
      0.012,
      (i) => {
        const region = pick(regions);
        const id = `key-${i}`;
        return {
          ...base('AWS::KMS::Key', `arn:aws:kms:${region}:${ACCOUNT}:key/${id}`, id, region),
          type: 'AWS::KMS::Key',
          data: {
            keyId: id,
            keyManager: 'CUSTOMER',
            keyState: 'Enabled',
            keySpec: 'SYMMETRIC_DEFAULT',
            keyUsage: 'ENCRYPT_DECRYPT',
            rotationEnabled: !bad(),
            aliases: [],
          },
        };
      },
    ],
    [
      0.0005,
      (i) => {
        const name = `trail-${i}`;
        return {
          ...base(
            'AWS::CloudTrail::Trail',
            `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/${name}`,
            name,
            'us-east-1',
          ),
          type: 'AWS::CloudTrail::Trail',
          data: {
            name,
            homeRegion: 'us-east-1',
            isMultiRegionTrail: true,
            logFileValidationEnabled: !bad(),
            isLogging: true,
            s3BucketName: 'logs',
            kmsKeyId: null,
            isOrganizationTrail: false,
          },
        };
      },
    ],
  ];
  const volume = (i: number): AnyInventoryResource => {
    const region = pick(regions);
    const id = `vol-${i}`;
    const loose = bad();
    return {
      ...base(
        'AWS::EC2::Volume',
        `arn:aws:ec2:${region}:${ACCOUNT}:volume/${id}`,
        id,
        region,
        tags(),
      ),
      type: 'AWS::EC2::Volume',
      data: {
        volumeId: id,
        volumeType: bad() ? 'gp2' : 'gp3',
        sizeGiB: pick([8, 20, 100, 500]),
        iops: 3000,
        throughput: 125,
        encrypted: !bad(),
        kmsKeyId: null,
        state: loose ? 'available' : 'in-use',
        createTime: ago(1, 700),
        snapshotId: null,
        attachments: loose
          ? []
          : [{ instanceId: 'i-1', device: '/dev/xvda', deleteOnTermination: true }],
      },
    };
  };
  let i = 0;
  for (const [share, make] of mix)
    for (let k = Math.round(share * n); k > 0 && out.length < n; k--) out.push(make(i++));
  while (out.length < n) out.push(volume(i++));
  return out;
}
