// Hand-built inventory resources for the engine's unit tests: each builder gives a clean resource (no
// check fires on it) that a test changes one field at a time.
import {
  arnFor,
  type AnyInventoryResource,
  type InventoryResource,
  type PolicyDocument,
  type PublicAccessBlock,
  type ResourceDataByType,
  type ResourceType,
} from '../../src/cloud/inventory.js';

export const ACCOUNT = '123456789012';
export const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
export const DAY = 86_400_000;
export const ago = (days: number, extraMs = 0): string =>
  new Date(NOW - days * DAY - extraMs).toISOString();
export const FULL: PublicAccessBlock = {
  blockPublicAcls: true,
  ignorePublicAcls: true,
  blockPublicPolicy: true,
  restrictPublicBuckets: true,
};
export const OFF: PublicAccessBlock = {
  blockPublicAcls: false,
  ignorePublicAcls: false,
  blockPublicPolicy: false,
  restrictPublicBuckets: false,
};
const TAGS = { Owner: 'web-team', Environment: 'prod', CostCenter: 'cc-100' };

type Patch<T extends ResourceType> = Partial<ResourceDataByType[T]>;

function res<T extends ResourceType>(
  type: T,
  arn: string,
  resourceId: string,
  region: string,
  data: ResourceDataByType[T],
  tags: Record<string, string> = {},
): InventoryResource<T> {
  return { arn, type, resourceId, accountId: ACCOUNT, region, tags, data };
}

export const accountBlock = (b: PublicAccessBlock | null = FULL) =>
  res(
    'AWS::S3::AccountPublicAccessBlock',
    arnFor.accountPublicAccessBlock(ACCOUNT),
    ACCOUNT,
    'global',
    {
      publicAccessBlock: b,
    },
  );

export const tlsOnlyPolicy = (name: string): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: [`arn:aws:s3:::${name}`, `arn:aws:s3:::${name}/*`],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
  ],
});

export const bucket = (name = 'data-bucket', patch: Patch<'AWS::S3::Bucket'> = {}) =>
  res(
    'AWS::S3::Bucket',
    `arn:aws:s3:::${name}`,
    name,
    'us-east-1',
    {
      name,
      creationDate: ago(400),
      publicAccessBlock: FULL,
      objectOwnership: 'BucketOwnerEnforced',
      acl: [{ grantee: { type: 'CanonicalUser', id: 'owner' }, permission: 'FULL_CONTROL' }],
      policy: tlsOnlyPolicy(name),
      policyIsPublic: false,
      encryption: { algorithm: 'AES256', kmsKeyId: null, bucketKeyEnabled: false },
      versioning: 'Enabled',
      mfaDelete: false,
      logging: { targetBucket: 'logs', targetPrefix: `${name}/` },
      lifecycleRuleCount: 1,
      ...patch,
    },
    TAGS,
  );

export const group = (id = 'sg-1', patch: Patch<'AWS::EC2::SecurityGroup'> = {}) =>
  res(
    'AWS::EC2::SecurityGroup',
    `arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/${id}`,
    id,
    'us-east-1',
    {
      groupId: id,
      groupName: `app-${id}`,
      vpcId: 'vpc-1',
      description: 'app',
      rules: [
        rule({
          ruleId: 'sgr-https',
          protocol: 'tcp',
          fromPort: 443,
          toPort: 443,
          cidrIpv4: '10.0.0.0/8',
        }),
        rule({
          ruleId: 'sgr-egress',
          isEgress: true,
          protocol: '-1',
          fromPort: -1,
          toPort: -1,
          cidrIpv4: '0.0.0.0/0',
        }),
      ],
      networkInterfaceIds: [],
      ...patch,
    },
  );

export function rule(
  r: Partial<ResourceDataByType['AWS::EC2::SecurityGroup']['rules'][number]>,
): ResourceDataByType['AWS::EC2::SecurityGroup']['rules'][number] {
  return {
    ruleId: 'sgr-x',
    isEgress: false,
    protocol: 'tcp',
    fromPort: 443,
    toPort: 443,
    cidrIpv4: null,
    cidrIpv6: null,
    referencedGroupId: null,
    prefixListId: null,
    description: null,
    ...r,
  };
}

export const busy = (days = 14) => ({
  windowDays: days,
  cpuAverageDaily: Array.from({ length: days }, () => 35),
  networkBytesDaily: Array.from({ length: days }, () => 4e9),
});
export const idleUse = (days = 14) => ({
  windowDays: days,
  cpuAverageDaily: Array.from({ length: days }, () => 0.8),
  networkBytesDaily: Array.from({ length: days }, () => 1.5e6),
});

export const instance = (
  id = 'i-1',
  patch: Patch<'AWS::EC2::Instance'> = {},
  tags: Record<string, string> = TAGS,
) =>
  res(
    'AWS::EC2::Instance',
    `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/${id}`,
    id,
    'us-east-1',
    {
      instanceId: id,
      instanceType: 'm5.large',
      state: 'running',
      launchTime: ago(200),
      stoppedSince: null,
      imageId: 'ami-1',
      platform: null,
      metadataOptions: { httpTokens: 'required', httpEndpoint: 'enabled' },
      securityGroupIds: ['sg-1'],
      networkInterfaceIds: ['eni-1'],
      volumeIds: [`vol-${id}`],
      publicIp: null,
      utilization: busy(),
      ...patch,
    },
    tags,
  );

export const volume = (
  id = 'vol-1',
  patch: Patch<'AWS::EC2::Volume'> = {},
  tags: Record<string, string> = TAGS,
) =>
  res(
    'AWS::EC2::Volume',
    `arn:aws:ec2:us-east-1:${ACCOUNT}:volume/${id}`,
    id,
    'us-east-1',
    {
      volumeId: id,
      volumeType: 'gp3',
      sizeGiB: 100,
      iops: 3000,
      throughput: 125,
      encrypted: true,
      kmsKeyId: 'alias/aws/ebs',
      state: 'in-use',
      createTime: ago(100),
      snapshotId: null,
      attachments: [{ instanceId: 'i-1', device: '/dev/xvda', deleteOnTermination: true }],
      ...patch,
    },
    tags,
  );

export const snapshot = (id = 'snap-1', patch: Patch<'AWS::EC2::Snapshot'> = {}) =>
  res('AWS::EC2::Snapshot', `arn:aws:ec2:us-east-1::snapshot/${id}`, id, 'us-east-1', {
    snapshotId: id,
    volumeId: 'vol-1',
    volumeSizeGiB: 100,
    startTime: ago(30),
    state: 'completed',
    encrypted: true,
    createVolumePermission: { groups: [], userIds: [] },
    ...patch,
  });

export const image = (id = 'ami-1', patch: Patch<'AWS::EC2::Image'> = {}) =>
  res('AWS::EC2::Image', `arn:aws:ec2:us-east-1::image/${id}`, id, 'us-east-1', {
    imageId: id,
    name: 'golden',
    creationDate: ago(10),
    state: 'available',
    launchPermission: { groups: [], userIds: [] },
    ...patch,
  });

export const eip = (id = 'eipalloc-1', patch: Patch<'AWS::EC2::EIP'> = {}) =>
  res('AWS::EC2::EIP', `arn:aws:ec2:us-east-1:${ACCOUNT}:elastic-ip/${id}`, id, 'us-east-1', {
    allocationId: id,
    publicIp: '3.3.3.3',
    associationId: 'eipassoc-1',
    instanceId: 'i-1',
    networkInterfaceId: 'eni-1',
    ...patch,
  });

export const ebsDefault = (enabled = true, region = 'us-east-1') =>
  res(
    'AWS::EC2::EbsEncryptionByDefault',
    arnFor.ebsEncryptionByDefault(ACCOUNT, region),
    ACCOUNT,
    region,
    {
      enabled,
    },
  );

export const db = (
  id = 'db-1',
  patch: Patch<'AWS::RDS::DBInstance'> = {},
  tags: Record<string, string> = TAGS,
) =>
  res(
    'AWS::RDS::DBInstance',
    `arn:aws:rds:us-east-1:${ACCOUNT}:db:${id}`,
    id,
    'us-east-1',
    {
      dbInstanceIdentifier: id,
      engine: 'postgres',
      engineVersion: '16.3',
      instanceClass: 'db.m5.large',
      status: 'available',
      allocatedStorageGiB: 100,
      multiAz: false,
      publiclyAccessible: false,
      storageEncrypted: true,
      backupRetentionPeriod: 7,
      deletionProtection: true,
      createTime: ago(300),
      securityGroupIds: ['sg-1'],
      utilization: {
        windowDays: 14,
        maxConnectionsDaily: Array.from({ length: 14 }, () => 12),
        cpuAverageDaily: [],
      },
      ...patch,
    },
    tags,
  );

export const dbSnapshot = (id = 'rds-snap-1', patch: Patch<'AWS::RDS::DBSnapshot'> = {}) =>
  res('AWS::RDS::DBSnapshot', `arn:aws:rds:us-east-1:${ACCOUNT}:snapshot:${id}`, id, 'us-east-1', {
    dbSnapshotIdentifier: id,
    dbInstanceIdentifier: 'db-1',
    snapshotType: 'manual',
    createTime: ago(5),
    encrypted: true,
    allocatedStorageGiB: 100,
    restoreAttribute: [],
    ...patch,
  });

export const trail = (name = 'org-trail', patch: Patch<'AWS::CloudTrail::Trail'> = {}) =>
  res(
    'AWS::CloudTrail::Trail',
    `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/${name}`,
    name,
    'us-east-1',
    {
      name,
      homeRegion: 'us-east-1',
      isMultiRegionTrail: true,
      logFileValidationEnabled: true,
      isLogging: true,
      s3BucketName: 'logs',
      kmsKeyId: null,
      isOrganizationTrail: false,
      ...patch,
    },
  );

export const root = (patch: Patch<'AWS::IAM::Root'> = {}) =>
  res('AWS::IAM::Root', arnFor.root(ACCOUNT), ACCOUNT, 'global', {
    accountAccessKeysPresent: false,
    accountMfaEnabled: true,
    ...patch,
  });

export const STRONG_POLICY = {
  minimumPasswordLength: 14,
  requireSymbols: true,
  requireNumbers: true,
  requireUppercaseCharacters: true,
  requireLowercaseCharacters: true,
  passwordReusePrevention: 24,
  maxPasswordAge: 90,
};
export const passwordPolicy = (
  policy: ResourceDataByType['AWS::IAM::PasswordPolicy']['policy'] = STRONG_POLICY,
) => res('AWS::IAM::PasswordPolicy', arnFor.passwordPolicy(ACCOUNT), ACCOUNT, 'global', { policy });

export const user = (name = 'alice', patch: Patch<'AWS::IAM::User'> = {}) =>
  res('AWS::IAM::User', `arn:aws:iam::${ACCOUNT}:user/${name}`, name, 'global', {
    userName: name,
    userId: 'AIDA1',
    createDate: ago(300),
    consoleAccess: true,
    mfaDeviceCount: 1,
    passwordLastUsed: ago(1),
    ...patch,
  });

export const accessKey = (fp = '0123456789abcdef', patch: Patch<'AWS::IAM::AccessKey'> = {}) =>
  res('AWS::IAM::AccessKey', arnFor.accessKey(ACCOUNT, 'alice', fp), fp, 'global', {
    userName: 'alice',
    fingerprint: fp,
    lastFour: 'WXYZ',
    status: 'Active',
    createDate: ago(20),
    lastUsedDate: ago(1),
    lastUsedService: 's3',
    ...patch,
  });

export const role = (name = 'app-role', trust: PolicyDocument['Statement']) =>
  res('AWS::IAM::Role', `arn:aws:iam::${ACCOUNT}:role/${name}`, name, 'global', {
    roleName: name,
    roleId: 'AROA1',
    createDate: ago(100),
    trustPolicy: { Version: '2012-10-17', Statement: trust },
    maxSessionDuration: 3600,
    attachedPolicyArns: [],
  });

export const kmsKey = (id = 'key-1', patch: Patch<'AWS::KMS::Key'> = {}) =>
  res('AWS::KMS::Key', `arn:aws:kms:us-east-1:${ACCOUNT}:key/${id}`, id, 'us-east-1', {
    keyId: id,
    keyManager: 'CUSTOMER',
    keyState: 'Enabled',
    keySpec: 'SYMMETRIC_DEFAULT',
    keyUsage: 'ENCRYPT_DECRYPT',
    rotationEnabled: true,
    aliases: ['alias/app'],
    ...patch,
  });

/** A clean account: every resource type, nothing wrong. */
export function cleanAccount(): AnyInventoryResource[] {
  return [
    accountBlock(),
    bucket(),
    group(),
    instance(),
    volume('vol-i-1'),
    snapshot(),
    image(),
    eip(),
    ebsDefault(),
    db(),
    dbSnapshot(),
    trail(),
    root(),
    passwordPolicy(),
    user(),
    accessKey(),
    role('ec2-role', [
      { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ]),
    kmsKey(),
  ];
}
