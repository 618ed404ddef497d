// The sandbox's state: accounts, their global (IAM, S3) and per-region (EC2, RDS, CloudTrail,
// KMS, Secrets Manager) resources, and the credentials it has issued. Plain records, so that a
// dump is a straightforward projection.

export interface Tag {
  Key: string;
  Value: string;
}

// ---------- IAM ----------
export interface AccessKeyRecord {
  id: string;
  secret: string;
  status: 'Active' | 'Inactive';
  createDate: number;
  lastUsed?: { date: number; service: string; region: string };
}
export interface IamUser {
  name: string;
  id: string;
  arn: string;
  path: string;
  createDate: number;
  /** Console password present (login profile). */
  passwordEnabled: boolean;
  passwordLastUsed?: number;
  passwordLastChanged?: number;
  mfaDevices: { serial: string; enableDate: number }[];
  accessKeys: AccessKeyRecord[];
  inline: Record<string, string>;
  attached: string[];
  tags: Tag[];
}
export interface IamRole {
  name: string;
  id: string;
  arn: string;
  path: string;
  createDate: number;
  trustPolicy: string;
  description?: string;
  maxSessionDuration: number;
  inline: Record<string, string>;
  attached: string[];
  tags: Tag[];
}
export interface PasswordPolicy {
  MinimumPasswordLength: number;
  RequireSymbols: boolean;
  RequireNumbers: boolean;
  RequireUppercaseCharacters: boolean;
  RequireLowercaseCharacters: boolean;
  AllowUsersToChangePassword: boolean;
  ExpirePasswords: boolean;
  MaxPasswordAge?: number;
  PasswordReusePrevention?: number;
  HardExpiry?: boolean;
}
export interface RootIdentity {
  createDate: number;
  mfaEnabled: boolean;
  /** Number of active root access keys (0..2). */
  accessKeys: { active: boolean; lastRotated: number; lastUsed?: number }[];
  passwordLastUsed?: number;
}
export interface IamState {
  users: Map<string, IamUser>;
  roles: Map<string, IamRole>;
  passwordPolicy?: PasswordPolicy;
  root: RootIdentity;
  credentialReportAt?: number;
}

// ---------- S3 ----------
export interface PublicAccessBlock {
  BlockPublicAcls: boolean;
  IgnorePublicAcls: boolean;
  BlockPublicPolicy: boolean;
  RestrictPublicBuckets: boolean;
}
export interface Grant {
  grantee:
    { type: 'CanonicalUser'; id: string; displayName?: string } | { type: 'Group'; uri: string };
  permission: 'FULL_CONTROL' | 'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP';
}
export interface S3Object {
  body: Buffer;
  etag: string;
  lastModified: number;
  contentType: string;
  /** Absent for the "null" version (written while versioning was never enabled, or suspended). */
  versionId?: string;
  /** Object Lock retention; `until` is epoch ms. */
  retention?: { mode: 'GOVERNANCE' | 'COMPLIANCE'; until: number };
  /** Object Lock legal hold; absent when none was ever applied. */
  legalHold?: boolean;
}
/** A delete marker in a versioned bucket ('null' as the id of a marker made while suspended). */
export interface S3DeleteMarker {
  deleteMarker: true;
  versionId: string;
  lastModified: number;
}
export type S3Version = S3Object | S3DeleteMarker;
export interface LifecycleRule {
  ID?: string;
  Status: 'Enabled' | 'Disabled';
  Prefix?: string;
  Filter?: { Prefix?: string };
  Expiration?: { Days?: number };
  Transitions?: { Days?: number; StorageClass?: string }[];
  NoncurrentVersionExpiration?: { NoncurrentDays?: number };
  AbortIncompleteMultipartUpload?: { DaysAfterInitiation?: number };
}
export interface Bucket {
  name: string;
  region: string;
  creationDate: number;
  ownerId: string;
  grants: Grant[];
  policy?: string;
  publicAccessBlock?: PublicAccessBlock;
  /** undefined only on accounts modelled without default encryption (pre-2023 behaviour). */
  encryption?: {
    algorithm: 'AES256' | 'aws:kms' | 'aws:kms:dsse';
    kmsKeyId?: string;
    bucketKey: boolean;
  };
  versioning?: 'Enabled' | 'Suspended';
  lifecycle?: LifecycleRule[];
  logging?: { targetBucket: string; targetPrefix: string };
  ownership?: 'BucketOwnerEnforced' | 'BucketOwnerPreferred' | 'ObjectWriter';
  website?: { indexDocument: string; errorDocument?: string };
  /** Present when Object Lock is enabled (it can never be disabled); rule = default retention. */
  objectLock?: { rule?: { mode: 'GOVERNANCE' | 'COMPLIANCE'; days?: number; years?: number } };
  /** The current (latest, non-delete-marker) object of each key. */
  objects: Map<string, S3Object>;
  /**
   * Every version of each key, oldest first, once versioning has been enabled (built from
   * `objects` on first use: objects written before that are the "null" version).
   */
  versions?: Map<string, S3Version[]>;
  tags: Tag[];
}
export interface S3State {
  buckets: Map<string, Bucket>;
  accountPublicAccessBlock?: PublicAccessBlock;
  /** When true, buckets may have no default encryption (AWS before January 2023). */
  legacyNoDefaultEncryption: boolean;
}

// ---------- EC2 ----------
export type InstanceStateName =
  'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';
export interface Instance {
  id: string;
  reservationId: string;
  type: string;
  state: InstanceStateName;
  /** A pending transition (stopping → stopped, pending → running) and when it completes. */
  transition?: { to: InstanceStateName; at: number };
  stateTransitionReason: string;
  /** When the instance last stopped (no metrics after this). */
  stoppedAt?: number;
  launchTime: number;
  imageId: string;
  az: string;
  vpcId: string;
  subnetId: string;
  privateIp: string;
  publicIp?: string;
  /** The subnet auto-assigns a public IPv4 (a new one after each stop/start). */
  assignPublicIp: boolean;
  eniId: string;
  keyName?: string;
  architecture: 'x86_64' | 'arm64';
  blockDevices: {
    device: string;
    volumeId: string;
    attachTime: number;
    deleteOnTermination: boolean;
  }[];
  metadata: {
    httpTokens: 'optional' | 'required';
    httpEndpoint: 'enabled' | 'disabled';
    hopLimit: number;
    instanceMetadataTags: 'enabled' | 'disabled';
  };
  tags: Tag[];
  /** Utilisation profile for generated CloudWatch series. */
  profile: 'idle' | 'normal';
}
export interface SecurityGroupRule {
  id: string;
  egress: boolean;
  protocol: string;
  fromPort: number;
  toPort: number;
  cidrIpv4?: string;
  cidrIpv6?: string;
  referencedGroupId?: string;
  prefixListId?: string;
  description?: string;
  tags: Tag[];
}
export interface SecurityGroup {
  id: string;
  name: string;
  description: string;
  vpcId: string;
  rules: SecurityGroupRule[];
  tags: Tag[];
}
export interface NetworkInterface {
  id: string;
  instanceId?: string;
  groupIds: string[];
  subnetId: string;
  vpcId: string;
  az: string;
  privateIp: string;
  description: string;
  macAddress: string;
}
export interface Address {
  allocationId: string;
  publicIp: string;
  associationId?: string;
  instanceId?: string;
  eniId?: string;
  tags: Tag[];
}
export interface VolumeModification {
  state: 'modifying' | 'optimizing' | 'completed' | 'failed';
  startTime: number;
  /** When the modification reaches 'completed'. */
  completeAt: number;
  original: { type: string; size: number; iops?: number; throughput?: number };
  target: { type: string; size: number; iops?: number; throughput?: number };
}
export interface Volume {
  id: string;
  size: number;
  type: string;
  iops?: number;
  throughput?: number;
  az: string;
  encrypted: boolean;
  kmsKeyId?: string;
  state: 'creating' | 'available' | 'in-use' | 'deleting' | 'deleted' | 'error';
  createTime: number;
  snapshotId?: string;
  attachment?: {
    instanceId: string;
    device: string;
    attachTime: number;
    deleteOnTermination: boolean;
  };
  modification?: VolumeModification;
  tags: Tag[];
}
export interface Snapshot {
  id: string;
  volumeId: string;
  volumeSize: number;
  state: 'pending' | 'completed' | 'error';
  startTime: number;
  completeAt: number;
  encrypted: boolean;
  kmsKeyId?: string;
  description: string;
  createVolumeGroups: string[];
  createVolumeUserIds: string[];
  tags: Tag[];
}
export interface Image {
  id: string;
  name: string;
  description?: string;
  creationDate: number;
  architecture: 'x86_64' | 'arm64';
  rootDeviceName: string;
  snapshotId?: string;
  launchGroups: string[];
  launchUserIds: string[];
  tags: Tag[];
}
export interface Ec2Region {
  instances: Map<string, Instance>;
  volumes: Map<string, Volume>;
  snapshots: Map<string, Snapshot>;
  securityGroups: Map<string, SecurityGroup>;
  networkInterfaces: Map<string, NetworkInterface>;
  addresses: Map<string, Address>;
  images: Map<string, Image>;
  ebsEncryptionByDefault: boolean;
  vpcId: string;
  subnets: { id: string; az: string }[];
}

// ---------- RDS ----------
export interface DbInstance {
  id: string;
  resourceId: string;
  instanceClass: string;
  engine: string;
  engineVersion: string;
  status: string;
  publiclyAccessible: boolean;
  storageEncrypted: boolean;
  kmsKeyId?: string;
  backupRetentionPeriod: number;
  deletionProtection: boolean;
  multiAZ: boolean;
  allocatedStorage: number;
  az: string;
  createTime: number;
  masterUsername: string;
  port: number;
  securityGroupIds: string[];
  /** Changes waiting for the maintenance window (ModifyDBInstance without ApplyImmediately). */
  pending?: { instanceClass?: string; backupRetentionPeriod?: number };
  tags: Tag[];
  profile: 'idle' | 'normal';
}
export interface DbSnapshot {
  id: string;
  dbInstanceId: string;
  type: 'manual' | 'automated';
  status: 'creating' | 'available';
  createTime: number;
  completeAt: number;
  encrypted: boolean;
  engine: string;
  engineVersion: string;
  allocatedStorage: number;
  az: string;
  restoreAttrs: string[];
  tags: Tag[];
}

// ---------- CloudTrail ----------
export interface EventSelector {
  ReadWriteType: 'ReadOnly' | 'WriteOnly' | 'All';
  IncludeManagementEvents: boolean;
  DataResources: { Type: string; Values: string[] }[];
  ExcludeManagementEventSources: string[];
}
export interface Trail {
  name: string;
  homeRegion: string;
  s3BucketName: string;
  s3KeyPrefix?: string;
  isMultiRegion: boolean;
  includeGlobalServiceEvents: boolean;
  logFileValidation: boolean;
  kmsKeyId?: string;
  isLogging: boolean;
  startLoggingTime?: number;
  stopLoggingTime?: number;
  eventSelectors: EventSelector[];
  tags: Tag[];
}

// ---------- KMS / Secrets ----------
export interface KmsKey {
  id: string;
  arn: string;
  description: string;
  state: 'Enabled' | 'Disabled' | 'PendingDeletion';
  manager: 'CUSTOMER' | 'AWS';
  creationDate: number;
  rotationEnabled: boolean;
  rotationPeriodDays: number;
  /** 32 bytes of AES-256 key material; never leaves the sandbox. */
  material: Buffer;
  aliases: string[];
  tags: Tag[];
}
export interface Secret {
  name: string;
  arn: string;
  value: string;
  description?: string;
  createdDate: number;
  lastChangedDate: number;
  tags: Tag[];
}

export interface RegionState {
  name: string;
  ec2: Ec2Region;
  rds: { instances: Map<string, DbInstance>; snapshots: Map<string, DbSnapshot> };
  trails: Map<string, Trail>;
  kms: Map<string, KmsKey>;
  secrets: Map<string, Secret>;
  /** CloudTrail events that LookupEvents returns. */
  events: { id: string; name: string; time: number; source: string; username: string }[];
}

export interface Account {
  id: string;
  name: string;
  /** Deterministic fields from the generator, so ids stay stable across runs. */
  seed: string;
  iam: IamState;
  s3: S3State;
  regions: Map<string, RegionState>;
  /** Regions where the account is enabled (regional services answer only there). */
  enabledRegions: string[];
  /** The name of the IAM user that plays the customer's administrator. */
  adminUserName?: string;
}

// ---------- credentials ----------
export interface SessionInfo {
  roleName: string;
  roleArn: string;
  roleId: string;
  sessionName: string;
  sessionPolicy?: string;
  expiresAt: number;
  token: string;
  /** True when the session came from another session (role chaining). */
  chained: boolean;
}
export interface Credential {
  accessKeyId: string;
  secret: string;
  accountId: string;
  /** An IAM user's key, or an STS session. */
  userName?: string;
  session?: SessionInfo;
}

export function newRegion(
  name: string,
  vpcId: string,
  subnets: { id: string; az: string }[],
): RegionState {
  return {
    name,
    ec2: {
      instances: new Map(),
      volumes: new Map(),
      snapshots: new Map(),
      securityGroups: new Map(),
      networkInterfaces: new Map(),
      addresses: new Map(),
      images: new Map(),
      ebsEncryptionByDefault: false,
      vpcId,
      subnets,
    },
    rds: { instances: new Map(), snapshots: new Map() },
    trails: new Map(),
    kms: new Map(),
    secrets: new Map(),
    events: [],
  };
}
