// The inventory contract: what a scan keeps about each cloud resource, and nothing more.
//
// Collectors (src/cloud/collectors) produce these records from read-only AWS calls; the findings
// engine (src/findings) evaluates checks over them; plans (src/plans) compute blast radius from the
// references they carry. Every field is an explicit allowlist of metadata: no object content, no
// secret values, no environment variables, no access-key ids (keys are named by a fingerprint, see
// AccessKeyData).
import { createHash } from 'node:crypto';

/** Resource types, named as CloudFormation names them (Axiom's own names for account-level settings). */
export const RESOURCE_TYPES = [
  'AWS::S3::AccountPublicAccessBlock',
  'AWS::S3::Bucket',
  'AWS::EC2::Instance',
  'AWS::EC2::Volume',
  'AWS::EC2::Snapshot',
  'AWS::EC2::SecurityGroup',
  'AWS::EC2::NetworkInterface',
  'AWS::EC2::EIP',
  'AWS::EC2::Image',
  'AWS::EC2::EbsEncryptionByDefault',
  'AWS::RDS::DBInstance',
  'AWS::RDS::DBSnapshot',
  'AWS::CloudTrail::Trail',
  'AWS::IAM::Root',
  'AWS::IAM::PasswordPolicy',
  'AWS::IAM::User',
  'AWS::IAM::AccessKey',
  'AWS::IAM::Role',
  'AWS::KMS::Key',
] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** Services a scan covers; a failure is recorded per (service, region). */
export const SCANNED_SERVICES = [
  's3',
  'ec2',
  'rds',
  'cloudtrail',
  'iam',
  'kms',
  'cloudwatch',
] as const;
export type ScannedService = (typeof SCANNED_SERVICES)[number];

/** The service whose collector produces each type (a partial scan of a service never resolves its findings). */
export const SERVICE_OF: Record<ResourceType, ScannedService> = {
  'AWS::S3::AccountPublicAccessBlock': 's3',
  'AWS::S3::Bucket': 's3',
  'AWS::EC2::Instance': 'ec2',
  'AWS::EC2::Volume': 'ec2',
  'AWS::EC2::Snapshot': 'ec2',
  'AWS::EC2::SecurityGroup': 'ec2',
  'AWS::EC2::NetworkInterface': 'ec2',
  'AWS::EC2::EIP': 'ec2',
  'AWS::EC2::Image': 'ec2',
  'AWS::EC2::EbsEncryptionByDefault': 'ec2',
  'AWS::RDS::DBInstance': 'rds',
  'AWS::RDS::DBSnapshot': 'rds',
  'AWS::CloudTrail::Trail': 'cloudtrail',
  'AWS::IAM::Root': 'iam',
  'AWS::IAM::PasswordPolicy': 'iam',
  'AWS::IAM::User': 'iam',
  'AWS::IAM::AccessKey': 'iam',
  'AWS::IAM::Role': 'iam',
  'AWS::KMS::Key': 'kms',
};

/** ISO 8601 UTC time, e.g. 2026-11-30T12:00:00.000Z. */
export type IsoTime = string;

export interface PublicAccessBlock {
  blockPublicAcls: boolean;
  ignorePublicAcls: boolean;
  blockPublicPolicy: boolean;
  restrictPublicBuckets: boolean;
}

/** An IAM-style policy document as parsed JSON (bucket policies, trust policies). */
export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement[];
}
export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | Record<string, string | string[]>;
  NotPrincipal?: '*' | Record<string, string | string[]>;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, string | string[] | boolean | number>>;
}

export interface AccountPublicAccessBlockData {
  /** null: no account-level block configured. */
  publicAccessBlock: PublicAccessBlock | null;
}

export interface BucketData {
  name: string;
  creationDate: IsoTime | null;
  /** null: no bucket-level block configured. */
  publicAccessBlock: PublicAccessBlock | null;
  /** 'BucketOwnerEnforced' | 'BucketOwnerPreferred' | 'ObjectWriter'; null when not configured. */
  objectOwnership: string | null;
  acl: Array<{
    grantee: {
      type: 'CanonicalUser' | 'Group' | 'AmazonCustomerByEmail';
      uri?: string;
      id?: string;
    };
    permission: string;
  }>;
  policy: PolicyDocument | null;
  /** GetBucketPolicyStatus.IsPublic (null: no policy). */
  policyIsPublic: boolean | null;
  /** null: no default encryption (pre-2023 buckets only). */
  encryption: { algorithm: string; kmsKeyId: string | null; bucketKeyEnabled: boolean } | null;
  /** 'Enabled' | 'Suspended' | null (never enabled). */
  versioning: 'Enabled' | 'Suspended' | null;
  mfaDelete: boolean;
  logging: { targetBucket: string; targetPrefix: string } | null;
  lifecycleRuleCount: number;
}

export interface InstanceData {
  instanceId: string;
  instanceType: string;
  /** pending | running | stopping | stopped | shutting-down | terminated */
  state: string;
  launchTime: IsoTime;
  /** When the instance was last stopped (parsed from StateTransitionReason), null otherwise. */
  stoppedSince: IsoTime | null;
  imageId: string | null;
  platform: string | null;
  metadataOptions: { httpTokens: 'optional' | 'required'; httpEndpoint: 'enabled' | 'disabled' };
  securityGroupIds: string[];
  networkInterfaceIds: string[];
  volumeIds: string[];
  publicIp: string | null;
  /**
   * Daily utilization over the last `windowDays` days (oldest first), from CloudWatch; null when
   * not collected (e.g. not running). Missing days are absent from the arrays' tail only.
   */
  utilization: {
    windowDays: number;
    cpuAverageDaily: number[];
    /** NetworkIn + NetworkOut, bytes per day. */
    networkBytesDaily: number[];
  } | null;
}

export interface VolumeData {
  volumeId: string;
  volumeType: string;
  sizeGiB: number;
  iops: number | null;
  throughput: number | null;
  encrypted: boolean;
  kmsKeyId: string | null;
  /** creating | available | in-use | deleting | deleted | error */
  state: string;
  createTime: IsoTime;
  snapshotId: string | null;
  attachments: Array<{ instanceId: string; device: string; deleteOnTermination: boolean }>;
}

export interface SnapshotData {
  snapshotId: string;
  volumeId: string | null;
  volumeSizeGiB: number;
  startTime: IsoTime;
  state: string;
  encrypted: boolean;
  /** DescribeSnapshotAttribute(createVolumePermission). */
  createVolumePermission: { groups: string[]; userIds: string[] };
}

export interface SecurityGroupRule {
  ruleId: string;
  isEgress: boolean;
  /** '-1' for all protocols, else 'tcp' | 'udp' | 'icmp' | a number. */
  protocol: string;
  fromPort: number | null;
  toPort: number | null;
  cidrIpv4: string | null;
  cidrIpv6: string | null;
  referencedGroupId: string | null;
  prefixListId: string | null;
  description: string | null;
}

export interface SecurityGroupData {
  groupId: string;
  groupName: string;
  vpcId: string | null;
  description: string;
  rules: SecurityGroupRule[];
  /** Network interfaces the group is attached to (blast radius). */
  networkInterfaceIds: string[];
}

export interface NetworkInterfaceData {
  networkInterfaceId: string;
  instanceId: string | null;
  groupIds: string[];
  privateIp: string | null;
  publicIp: string | null;
}

export interface EipData {
  allocationId: string;
  publicIp: string;
  associationId: string | null;
  instanceId: string | null;
  networkInterfaceId: string | null;
}

export interface ImageData {
  imageId: string;
  name: string | null;
  creationDate: IsoTime | null;
  state: string;
  /** DescribeImageAttribute(launchPermission). */
  launchPermission: { groups: string[]; userIds: string[] };
}

export interface EbsEncryptionByDefaultData {
  enabled: boolean;
}

export interface DbInstanceData {
  dbInstanceIdentifier: string;
  engine: string;
  engineVersion: string;
  instanceClass: string;
  status: string;
  allocatedStorageGiB: number;
  multiAz: boolean;
  publiclyAccessible: boolean;
  storageEncrypted: boolean;
  backupRetentionPeriod: number;
  deletionProtection: boolean;
  createTime: IsoTime | null;
  securityGroupIds: string[];
  /** Daily maximum of DatabaseConnections over the last `windowDays` days, oldest first. */
  utilization: {
    windowDays: number;
    maxConnectionsDaily: number[];
    cpuAverageDaily: number[];
  } | null;
}

export interface DbSnapshotData {
  dbSnapshotIdentifier: string;
  dbInstanceIdentifier: string | null;
  snapshotType: string;
  createTime: IsoTime | null;
  encrypted: boolean;
  allocatedStorageGiB: number;
  /** DescribeDBSnapshotAttributes 'restore' values ('all' = public). */
  restoreAttribute: string[];
}

export interface TrailData {
  name: string;
  homeRegion: string;
  isMultiRegionTrail: boolean;
  logFileValidationEnabled: boolean;
  isLogging: boolean;
  s3BucketName: string | null;
  kmsKeyId: string | null;
  isOrganizationTrail: boolean;
}

export interface RootData {
  accountAccessKeysPresent: boolean;
  accountMfaEnabled: boolean;
}

export interface PasswordPolicyData {
  /** null: the account has no password policy. */
  policy: {
    minimumPasswordLength: number;
    requireSymbols: boolean;
    requireNumbers: boolean;
    requireUppercaseCharacters: boolean;
    requireLowercaseCharacters: boolean;
    passwordReusePrevention: number | null;
    maxPasswordAge: number | null;
  } | null;
}

export interface UserData {
  userName: string;
  userId: string;
  createDate: IsoTime;
  /** Has a console password (GetLoginProfile). */
  consoleAccess: boolean;
  mfaDeviceCount: number;
  passwordLastUsed: IsoTime | null;
}

/**
 * Access keys are named by a fingerprint, never by their id: Axiom stores no access-key ids.
 * fingerprint = first 16 hex digits of SHA-256 over the UTF-8 key id (see fingerprintAccessKeyId).
 * An execution that must act on the key lists the user's keys and matches the fingerprint.
 */
export interface AccessKeyData {
  userName: string;
  fingerprint: string;
  /** The last four characters of the key id, as AWS consoles show them. */
  lastFour: string;
  status: 'Active' | 'Inactive';
  createDate: IsoTime;
  lastUsedDate: IsoTime | null;
  lastUsedService: string | null;
}

export interface RoleData {
  roleName: string;
  roleId: string;
  createDate: IsoTime;
  trustPolicy: PolicyDocument;
  maxSessionDuration: number;
  attachedPolicyArns: string[];
}

export interface KmsKeyData {
  keyId: string;
  keyManager: 'AWS' | 'CUSTOMER';
  keyState: string;
  keySpec: string;
  keyUsage: string;
  rotationEnabled: boolean | null;
  aliases: string[];
}

export interface ResourceDataByType {
  'AWS::S3::AccountPublicAccessBlock': AccountPublicAccessBlockData;
  'AWS::S3::Bucket': BucketData;
  'AWS::EC2::Instance': InstanceData;
  'AWS::EC2::Volume': VolumeData;
  'AWS::EC2::Snapshot': SnapshotData;
  'AWS::EC2::SecurityGroup': SecurityGroupData;
  'AWS::EC2::NetworkInterface': NetworkInterfaceData;
  'AWS::EC2::EIP': EipData;
  'AWS::EC2::Image': ImageData;
  'AWS::EC2::EbsEncryptionByDefault': EbsEncryptionByDefaultData;
  'AWS::RDS::DBInstance': DbInstanceData;
  'AWS::RDS::DBSnapshot': DbSnapshotData;
  'AWS::CloudTrail::Trail': TrailData;
  'AWS::IAM::Root': RootData;
  'AWS::IAM::PasswordPolicy': PasswordPolicyData;
  'AWS::IAM::User': UserData;
  'AWS::IAM::AccessKey': AccessKeyData;
  'AWS::IAM::Role': RoleData;
  'AWS::KMS::Key': KmsKeyData;
}

/**
 * One resource as a scan saw it. `arn` is the key within a connection: the real ARN where AWS has
 * one; for account-level settings and access keys, Axiom's documented synthetic form (see arnFor).
 */
export interface InventoryResource<T extends ResourceType = ResourceType> {
  arn: string;
  type: T;
  /** The identifier people know it by (bucket name, instance id, user name, access-key fingerprint, ...). */
  resourceId: string;
  accountId: string;
  /** An AWS region, or 'global' (IAM, account-wide S3 settings). */
  region: string;
  /** Tags (keys and values are metadata; values are redacted when they look like secrets). */
  tags: Record<string, string>;
  data: ResourceDataByType[T];
}

export type AnyInventoryResource = { [T in ResourceType]: InventoryResource<T> }[ResourceType];

/** Synthetic ARNs for things AWS gives none. */
export const arnFor = {
  accountPublicAccessBlock: (account: string): string =>
    `arn:aws:s3::${account}:account-public-access-block`,
  ebsEncryptionByDefault: (account: string, region: string): string =>
    `arn:aws:ec2:${region}:${account}:ebs-encryption-by-default`,
  root: (account: string): string => `arn:aws:iam::${account}:root`,
  passwordPolicy: (account: string): string => `arn:aws:iam::${account}:account-password-policy`,
  accessKey: (account: string, userName: string, fingerprint: string): string =>
    `arn:aws:iam::${account}:user/${userName}/access-key/${fingerprint}`,
};

/** How an access key is named in the inventory: never its id. */
export function fingerprintAccessKeyId(accessKeyId: string): string {
  return createHash('sha256').update(accessKeyId, 'utf8').digest('hex').slice(0, 16);
}
