// The check catalog: every check Axiom runs, as data. The engine (engine.ts) implements each id; the
// database keeps a registry of the same ids with their domain, severity and the services they read
// (db/migrations/030, checked against this file by test/findings/catalog.test.ts); docs/findings.md
// lists them (also checked). Compliance references are CIS AWS Foundations Benchmark v3.0.0 item ids
// and AWS Foundational Security Best Practices (Security Hub) control ids, only where the control
// checks the same thing; a reference Axiom could not source is left empty rather than guessed.
import { z } from 'zod';
import { RESOURCE_TYPES, SCANNED_SERVICES } from '../cloud/inventory.js';
import { ACTION_IDS, REVERSIBILITY, RISK_TIERS, actionType } from './actions.js';
import { THRESHOLD_KEYS } from './thresholds.js';
import { DOMAINS, SEVERITIES } from './vocabulary.js';

export { DOMAINS, SEVERITIES, type FindingDomain, type Severity } from './vocabulary.js';

/** Resource types a finding can be about: the inventory's, and the account itself. */
export const FINDING_RESOURCE_TYPES = [...RESOURCE_TYPES, 'AWS::::Account'] as const;

export const checkSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9_]{2,60}$/),
    title: z.string().min(10).max(120),
    domain: z.enum(DOMAINS),
    severity: z.enum(SEVERITIES),
    /** The resource types its findings are about ('*' for checks over any type: drift). */
    resourceTypes: z.array(z.enum([...FINDING_RESOURCE_TYPES, '*'])).min(1),
    /**
     * The services whose collected data it reads. A finding is resolved only by a scan that was
     * complete for all of them; empty: the service of the finding's own resource type.
     */
    services: z.array(z.enum(SCANNED_SERVICES)),
    rationale: z.string().min(20).max(600),
    /** Inventory fields the check reads (paths under `data`, `tags`, or the context). */
    evidenceFields: z.array(z.string().min(1)).min(1),
    compliance: z
      .object({
        /** CIS AWS Foundations Benchmark v3.0.0 recommendation numbers. */
        cisAwsFoundationsV3: z.array(z.string().regex(/^\d+(\.\d+){1,2}$/)),
        /** AWS Foundational Security Best Practices control ids (Security Hub). */
        awsFsbp: z.array(z.string().regex(/^[A-Za-z0-9]+\.\d+$/)),
      })
      .strict(),
    remediation: z
      .object({
        action: z.enum(ACTION_IDS),
        reversibility: z.enum(REVERSIBILITY).nullable(),
        riskTier: z.enum(RISK_TIERS).nullable(),
        executionPermissions: z.array(z.string().regex(/^[a-z0-9-]+:[A-Za-z]+$/)),
        manualReviewRequired: z.boolean(),
        summary: z.string().min(10).max(400),
      })
      .strict(),
    thresholds: z.array(z.enum(THRESHOLD_KEYS)),
    /** Off-by-default checks run only when a check configuration enables them. */
    enabledByDefault: z.boolean(),
    /** Cost checks estimate a monthly saving from the price table (src/findings/prices.ts). */
    estimatesSavings: z.boolean(),
  })
  .strict();
export type Check = z.infer<typeof checkSchema>;

type Draft = Omit<
  Check,
  'remediation' | 'thresholds' | 'enabledByDefault' | 'estimatesSavings' | 'compliance'
> & {
  cis?: string[];
  fsbp?: string[];
  action: string;
  fix: string;
  thresholds?: Check['thresholds'];
  enabledByDefault?: boolean;
};

function check(d: Draft): Check {
  const a = actionType(d.action);
  const { cis, fsbp, action, fix, ...rest } = d;
  return checkSchema.parse({
    ...rest,
    compliance: { cisAwsFoundationsV3: cis ?? [], awsFsbp: fsbp ?? [] },
    remediation: {
      action,
      reversibility: a.reversibility,
      riskTier: a.riskTier,
      executionPermissions: a.executionPermissions,
      manualReviewRequired: action === 'manual',
      summary: fix,
    },
    thresholds: d.thresholds ?? [],
    enabledByDefault: d.enabledByDefault ?? true,
    estimatesSavings: d.domain === 'cost',
  });
}

const S3 = ['s3'] as Check['services'];
const EC2 = ['ec2'] as Check['services'];
const RDS = ['rds'] as Check['services'];
const TRAIL = ['cloudtrail'] as Check['services'];
const IAM = ['iam'] as Check['services'];

export const CHECKS: readonly Check[] = [
  // ------------------------------------------------------------------ security: S3
  check({
    id: 's3_account_public_access_block_off',
    title: 'S3 Block Public Access is not fully on for the account',
    domain: 'security',
    severity: 'high',
    resourceTypes: ['AWS::S3::AccountPublicAccessBlock'],
    services: S3,
    rationale:
      'The account-level block is the one switch that keeps every bucket, present and future, from being made public by an ACL or policy. Without all four settings a single mistaken grant exposes data.',
    evidenceFields: ['data.publicAccessBlock'],
    cis: ['2.1.4'],
    fsbp: ['S3.1'],
    action: 's3.put_account_public_access_block',
    fix: 'Turn on all four Block Public Access settings for the account (check for intentionally public websites first).',
  }),
  check({
    id: 's3_bucket_public_acl',
    title: 'S3 bucket is public through its ACL',
    domain: 'security',
    severity: 'critical',
    resourceTypes: ['AWS::S3::Bucket'],
    services: S3,
    rationale:
      'An ACL grant to AllUsers or AuthenticatedUsers lets anyone (or any AWS account holder) read or write the bucket, unless IgnorePublicAcls at the account or bucket, or BucketOwnerEnforced ownership, neutralises it.',
    evidenceFields: [
      'data.acl',
      'data.objectOwnership',
      'data.publicAccessBlock.ignorePublicAcls',
      'account block ignorePublicAcls',
    ],
    fsbp: ['S3.2', 'S3.3'],
    action: 's3.put_bucket_public_access_block',
    fix: "Turn on the bucket's Block Public Access (IgnorePublicAcls neutralises the grant at once); then remove the grant.",
  }),
  check({
    id: 's3_bucket_public_policy',
    title: 'S3 bucket is public through its bucket policy',
    domain: 'security',
    severity: 'critical',
    resourceTypes: ['AWS::S3::Bucket'],
    services: S3,
    rationale:
      'An Allow statement for Principal "*" that no Condition pins to a source (VPC endpoint, organization, source ARN or account, narrow IP range, ...) opens the bucket to everyone, unless RestrictPublicBuckets at the account or bucket applies.',
    evidenceFields: [
      'data.policy.Statement[].Principal',
      'data.policy.Statement[].Condition',
      'data.publicAccessBlock.restrictPublicBuckets',
      'account block restrictPublicBuckets',
    ],
    fsbp: ['S3.2', 'S3.3'],
    action: 's3.put_bucket_public_access_block',
    fix: "Turn on the bucket's Block Public Access (RestrictPublicBuckets stops the public statement); then narrow the policy.",
  }),
  check({
    id: 's3_bucket_no_public_access_block',
    title: 'S3 bucket has no full Block Public Access, and the account block does not cover it',
    domain: 'security',
    severity: 'high',
    resourceTypes: ['AWS::S3::Bucket'],
    services: S3,
    rationale:
      "Without the bucket's own block (or the account's), nothing stops the next ACL or policy change from making the bucket public.",
    evidenceFields: ['data.publicAccessBlock', 'account block'],
    cis: ['2.1.4'],
    fsbp: ['S3.8'],
    action: 's3.put_bucket_public_access_block',
    fix: 'Turn on all four Block Public Access settings for the bucket.',
  }),
  check({
    id: 's3_bucket_no_encryption',
    title: 'S3 bucket has no default encryption',
    domain: 'security',
    severity: 'medium',
    resourceTypes: ['AWS::S3::Bucket'],
    services: S3,
    rationale:
      'Buckets created before January 2023 may have no default encryption, so objects written without an encryption header are stored unencrypted.',
    evidenceFields: ['data.encryption'],
    action: 's3.enable_default_encryption',
    fix: 'Set default encryption (SSE-S3, or SSE-KMS with a customer key).',
  }),
  check({
    id: 's3_bucket_versioning_off',
    title: 'S3 bucket versioning is not enabled',
    domain: 'security',
    severity: 'medium',
    resourceTypes: ['AWS::S3::Bucket'],
    services: S3,
    rationale:
      'Without versioning an overwrite or delete (by mistake or by ransomware) cannot be undone.',
    evidenceFields: ['data.versioning'],
    action: 's3.enable_versioning',
    fix: 'Enable versioning (it can later be suspended, never removed; consider lifecycle rules for old versions).',
  }),
  check({
    id: 's3_bucket_logging_off',
    title: 'S3 bucket server access logging is off',
    domain: 'security',
    severity: 'medium',
    resourceTypes: ['AWS::S3::Bucket'],
    services: S3,
    rationale:
      'Access logs are the record of who read and wrote what; without them an exposure cannot be investigated.',
    evidenceFields: ['data.logging'],
    fsbp: ['S3.9'],
    action: 's3.enable_access_logging',
    fix: "Enable server access logging to the facility's log bucket.",
  }),
  // ------------------------------------------------------------------ security: EC2 / VPC
  check({
    id: 'sg_open_ssh',
    title: 'Security group allows SSH (22) from the internet',
    domain: 'security',
    severity: 'high',
    resourceTypes: ['AWS::EC2::SecurityGroup'],
    services: EC2,
    rationale:
      'An ingress rule from 0.0.0.0/0 or ::/0 covering port 22 (tcp, or all protocols) exposes SSH to brute force and exploits.',
    evidenceFields: [
      'data.rules[].protocol',
      'data.rules[].fromPort',
      'data.rules[].toPort',
      'data.rules[].cidrIpv4',
      'data.rules[].cidrIpv6',
    ],
    cis: ['5.2', '5.3'],
    fsbp: ['EC2.19'],
    action: 'ec2.revoke_security_group_rule',
    fix: 'Revoke the rule by its id; reach hosts through a bastion, VPN or Session Manager.',
  }),
  check({
    id: 'sg_open_rdp',
    title: 'Security group allows RDP (3389) from the internet',
    domain: 'security',
    severity: 'high',
    resourceTypes: ['AWS::EC2::SecurityGroup'],
    services: EC2,
    rationale:
      'An ingress rule from 0.0.0.0/0 or ::/0 covering port 3389 (tcp, or all protocols) exposes RDP to brute force and exploits.',
    evidenceFields: [
      'data.rules[].protocol',
      'data.rules[].fromPort',
      'data.rules[].toPort',
      'data.rules[].cidrIpv4',
      'data.rules[].cidrIpv6',
    ],
    cis: ['5.2', '5.3'],
    fsbp: ['EC2.19'],
    action: 'ec2.revoke_security_group_rule',
    fix: 'Revoke the rule by its id; reach hosts through a VPN or Session Manager.',
  }),
  check({
    id: 'sg_open_all_ports',
    title: 'Security group allows every port from the internet',
    domain: 'security',
    severity: 'critical',
    resourceTypes: ['AWS::EC2::SecurityGroup'],
    services: EC2,
    rationale:
      'An ingress rule from 0.0.0.0/0 or ::/0 for all protocols or ports 0-65535 exposes every service on the attached interfaces.',
    evidenceFields: [
      'data.rules[].protocol',
      'data.rules[].fromPort',
      'data.rules[].toPort',
      'data.rules[].cidrIpv4',
      'data.rules[].cidrIpv6',
    ],
    cis: ['5.2', '5.3'],
    fsbp: ['EC2.18', 'EC2.19'],
    action: 'ec2.revoke_security_group_rule',
    fix: 'Revoke the rule by its id and authorize only the ports the application needs (often breaks apps: review the attached interfaces).',
  }),
  check({
    id: 'sg_default_has_rules',
    title: 'Default security group has rules',
    domain: 'security',
    severity: 'high',
    resourceTypes: ['AWS::EC2::SecurityGroup'],
    services: EC2,
    rationale:
      'Resources launched without a group land in the default group; any rule there gives them network access nobody chose.',
    evidenceFields: ['data.groupName', 'data.rules[]'],
    cis: ['5.4'],
    fsbp: ['EC2.2'],
    action: 'ec2.revoke_security_group_rule',
    fix: 'Revoke every rule of the default group (check its attached interfaces first).',
  }),
  check({
    id: 'ec2_imdsv2_not_required',
    title: 'EC2 instance does not require IMDSv2',
    domain: 'security',
    severity: 'high',
    resourceTypes: ['AWS::EC2::Instance'],
    services: EC2,
    rationale:
      'IMDSv1 answers unauthenticated GETs, so an SSRF bug in any application on the host can steal the instance role credentials.',
    evidenceFields: [
      'data.state',
      'data.metadataOptions.httpTokens',
      'data.metadataOptions.httpEndpoint',
    ],
    cis: ['5.6'],
    fsbp: ['EC2.8'],
    action: 'ec2.require_imdsv2',
    fix: 'Set HttpTokens=required (very old SDKs on the host may need an update).',
  }),
  check({
    id: 'ebs_default_encryption_off',
    title: 'EBS encryption by default is off in a region',
    domain: 'security',
    severity: 'medium',
    resourceTypes: ['AWS::EC2::EbsEncryptionByDefault'],
    services: EC2,
    rationale:
      'Without encryption by default, every new volume and snapshot copy in the region is unencrypted unless its creator remembers to ask.',
    evidenceFields: ['data.enabled'],
    cis: ['2.2.1'],
    fsbp: ['EC2.7'],
    action: 'ec2.enable_ebs_default_encryption',
    fix: 'Enable EBS encryption by default in the region (affects new volumes only).',
  }),
  check({
    id: 'ebs_volume_unencrypted',
    title: 'EBS volume is not encrypted',
    domain: 'security',
    severity: 'medium',
    resourceTypes: ['AWS::EC2::Volume'],
    services: EC2,
    rationale:
      'An unencrypted volume, its snapshots and their copies hold the data in the clear at rest.',
    evidenceFields: ['data.encrypted'],
    fsbp: ['EC2.3'],
    action: 'manual',
    fix: 'Snapshot, copy the snapshot with encryption, create a volume from it and swap it in during a maintenance window.',
  }),
  check({
    id: 'ebs_snapshot_public',
    title: 'EBS snapshot is public',
    domain: 'security',
    severity: 'critical',
    resourceTypes: ['AWS::EC2::Snapshot'],
    services: EC2,
    rationale:
      'A snapshot with createVolumePermission for group "all" can be restored by any AWS account: the whole disk is exposed.',
    evidenceFields: ['data.createVolumePermission.groups'],
    fsbp: ['EC2.1'],
    action: 'ec2.disable_snapshot_public',
    fix: 'Remove the "all" group from the snapshot\'s createVolumePermission.',
  }),
  check({
    id: 'ami_public',
    title: 'AMI is public',
    domain: 'security',
    severity: 'critical',
    resourceTypes: ['AWS::EC2::Image'],
    services: EC2,
    rationale:
      'A public image can be launched by anyone, with whatever data, keys and configuration were baked into it.',
    evidenceFields: ['data.launchPermission.groups'],
    action: 'ec2.disable_image_public',
    fix: 'Remove the "all" group from the image\'s launch permission.',
  }),
  // ------------------------------------------------------------------ security: RDS
  check({
    id: 'rds_public',
    title: 'RDS DB instance is publicly accessible',
    domain: 'security',
    severity: 'critical',
    resourceTypes: ['AWS::RDS::DBInstance'],
    services: RDS,
    rationale:
      'A publicly accessible instance resolves to a public address; its security groups are then the only barrier against the internet.',
    evidenceFields: ['data.publiclyAccessible'],
    cis: ['2.3.3'],
    fsbp: ['RDS.2'],
    action: 'rds.disable_public_access',
    fix: 'Set PubliclyAccessible=false (external clients lose access; the endpoint resolves to a private address).',
  }),
  check({
    id: 'rds_unencrypted',
    title: 'RDS DB instance storage is not encrypted',
    domain: 'security',
    severity: 'high',
    resourceTypes: ['AWS::RDS::DBInstance'],
    services: RDS,
    rationale: 'The database files, automated backups and snapshots are stored unencrypted.',
    evidenceFields: ['data.storageEncrypted'],
    cis: ['2.3.1'],
    fsbp: ['RDS.3'],
    action: 'manual',
    fix: 'Snapshot, copy the snapshot with encryption, restore and cut over (downtime).',
  }),
  check({
    id: 'rds_no_backups',
    title: 'RDS DB instance has automated backups off',
    domain: 'security',
    severity: 'medium',
    resourceTypes: ['AWS::RDS::DBInstance'],
    services: RDS,
    rationale:
      'With a backup retention of 0 there is no point-in-time recovery: a bad write or a deletion is permanent.',
    evidenceFields: ['data.backupRetentionPeriod'],
    fsbp: ['RDS.11'],
    action: 'rds.enable_backups',
    fix: 'Set BackupRetentionPeriod to 7 days or more.',
  }),
  check({
    id: 'rds_no_deletion_protection',
    title: 'RDS DB instance has deletion protection off',
    domain: 'security',
    severity: 'low',
    resourceTypes: ['AWS::RDS::DBInstance'],
    services: RDS,
    rationale: 'Without deletion protection one API call or console click deletes the database.',
    evidenceFields: ['data.deletionProtection'],
    fsbp: ['RDS.8'],
    action: 'rds.enable_deletion_protection',
    fix: 'Enable deletion protection.',
  }),
  check({
    id: 'rds_snapshot_public',
    title: 'RDS snapshot is public',
    domain: 'security',
    severity: 'critical',
    resourceTypes: ['AWS::RDS::DBSnapshot'],
    services: RDS,
    rationale: 'A snapshot restorable by "all" lets any AWS account restore the whole database.',
    evidenceFields: ['data.restoreAttribute'],
    fsbp: ['RDS.1'],
    action: 'rds.disable_snapshot_public',
    fix: 'Remove "all" from the snapshot\'s restore attribute.',
  }),
  // ------------------------------------------------------------------ security: CloudTrail
  check({
    id: 'cloudtrail_missing',
    title: 'No multi-region CloudTrail trail is logging',
    domain: 'security',
    severity: 'high',
    resourceTypes: ['AWS::::Account'],
    services: TRAIL,
    rationale:
      'Without a logging multi-region trail, API activity in some or all regions is not recorded: an intrusion leaves no trace.',
    evidenceFields: ['trails: data.isMultiRegionTrail', 'trails: data.isLogging'],
    cis: ['3.1'],
    fsbp: ['CloudTrail.1'],
    action: 'manual',
    fix: 'Create a multi-region trail delivering to a protected log bucket, with log file validation, and start logging.',
  }),
  check({
    id: 'cloudtrail_single_region',
    title: 'CloudTrail trail covers a single region',
    domain: 'security',
    severity: 'medium',
    resourceTypes: ['AWS::CloudTrail::Trail'],
    services: TRAIL,
    rationale: 'A single-region trail misses activity in every other region, including new ones.',
    evidenceFields: ['data.isMultiRegionTrail'],
    action: 'cloudtrail.enable_multi_region',
    fix: 'Make the trail multi-region (UpdateTrail in its home region).',
  }),
  check({
    id: 'cloudtrail_no_log_validation',
    title: 'CloudTrail log file validation is off',
    domain: 'security',
    severity: 'medium',
    resourceTypes: ['AWS::CloudTrail::Trail'],
    services: TRAIL,
    rationale:
      'Without digest files nobody can prove that a delivered log file was not changed or deleted afterwards.',
    evidenceFields: ['data.logFileValidationEnabled'],
    cis: ['3.2'],
    fsbp: ['CloudTrail.4'],
    action: 'cloudtrail.enable_log_validation',
    fix: 'Enable log file validation on the trail.',
  }),
  check({
    id: 'cloudtrail_not_logging',
    title: 'CloudTrail trail is not logging',
    domain: 'security',
    severity: 'high',
    resourceTypes: ['AWS::CloudTrail::Trail'],
    services: TRAIL,
    rationale: 'A stopped trail records nothing; stopping logging is a classic step of an attack.',
    evidenceFields: ['data.isLogging'],
    action: 'cloudtrail.start_logging',
    fix: 'Start logging on the trail, and find out who stopped it.',
  }),
  // ------------------------------------------------------------------ security: IAM, KMS
  check({
    id: 'iam_root_access_keys',
    title: 'The root user has access keys',
    domain: 'security',
    severity: 'critical',
    resourceTypes: ['AWS::IAM::Root'],
    services: IAM,
    rationale: 'Root keys cannot be limited by any policy; a leaked root key is the whole account.',
    evidenceFields: ['data.accountAccessKeysPresent'],
    cis: ['1.4'],
    fsbp: ['IAM.4'],
    action: 'manual',
    fix: 'Sign in as root and delete the root access keys (a role cannot manage root credentials).',
  }),
  check({
    id: 'iam_root_mfa_off',
    title: 'The root user has no MFA',
    domain: 'security',
    severity: 'critical',
    resourceTypes: ['AWS::IAM::Root'],
    services: IAM,
    rationale: 'A root password alone protects the whole account.',
    evidenceFields: ['data.accountMfaEnabled'],
    cis: ['1.5'],
    action: 'manual',
    fix: 'Sign in as root and enable MFA (a hardware key or passkey).',
  }),
  check({
    id: 'iam_user_console_no_mfa',
    title: 'IAM user with a console password has no MFA',
    domain: 'security',
    severity: 'high',
    resourceTypes: ['AWS::IAM::User'],
    services: IAM,
    rationale: 'A phished or reused password is enough to sign in to the console as this user.',
    evidenceFields: ['data.consoleAccess', 'data.mfaDeviceCount'],
    cis: ['1.10'],
    fsbp: ['IAM.5'],
    action: 'manual',
    fix: 'Have the user enrol an MFA device, or remove the console password.',
  }),
  check({
    id: 'iam_access_key_old',
    title: 'Active IAM access key is older than the rotation period',
    domain: 'security',
    severity: 'medium',
    resourceTypes: ['AWS::IAM::AccessKey'],
    services: IAM,
    rationale:
      'Long-lived keys end up in scripts, laptops and repositories; the older the key the more places it has leaked to.',
    evidenceFields: ['data.status', 'data.createDate'],
    cis: ['1.14'],
    fsbp: ['IAM.3'],
    action: 'iam.deactivate_access_key',
    fix: 'Rotate the key (create a new one, switch the consumers), then deactivate the old one.',
    thresholds: ['iam_access_key_max_age_days'],
  }),
  check({
    id: 'iam_access_key_unused',
    title: 'Active IAM access key is unused',
    domain: 'security',
    severity: 'medium',
    resourceTypes: ['AWS::IAM::AccessKey'],
    services: IAM,
    rationale:
      'An active key nobody uses is pure risk: it can only be used by someone who should not.',
    evidenceFields: ['data.status', 'data.createDate', 'data.lastUsedDate'],
    cis: ['1.12'],
    action: 'iam.deactivate_access_key',
    fix: 'Deactivate the key (reversible; never delete it automatically).',
    thresholds: ['iam_access_key_unused_days'],
  }),
  check({
    id: 'iam_password_policy_weak',
    title: 'The account password policy is missing or weak',
    domain: 'security',
    severity: 'medium',
    resourceTypes: ['AWS::IAM::PasswordPolicy'],
    services: IAM,
    rationale:
      'Short or reused passwords for IAM users are easy to guess or already known from other breaches.',
    evidenceFields: ['data.policy.minimumPasswordLength', 'data.policy.passwordReusePrevention'],
    cis: ['1.8', '1.9'],
    fsbp: ['IAM.7'],
    action: 'iam.update_password_policy',
    fix: 'Require at least 14 characters and prevent reuse of the last 24 passwords.',
    thresholds: ['password_min_length', 'password_reuse_prevention'],
  }),
  check({
    id: 'iam_role_third_party_trust_no_external_id',
    title: 'Role trusts another account without an External ID',
    domain: 'security',
    severity: 'high',
    resourceTypes: ['AWS::IAM::Role'],
    services: IAM,
    rationale:
      "A third party's account trusted without sts:ExternalId is open to the confused-deputy attack: any of that party's customers can make it assume your role.",
    evidenceFields: [
      'data.trustPolicy.Statement[].Principal',
      'data.trustPolicy.Statement[].Condition',
    ],
    action: 'manual',
    fix: 'Agree an External ID with the vendor and add a StringEquals sts:ExternalId condition to the trust policy.',
  }),
  check({
    id: 'kms_rotation_off',
    title: 'Customer-managed KMS key rotation is off',
    domain: 'security',
    severity: 'medium',
    resourceTypes: ['AWS::KMS::Key'],
    services: ['kms'],
    rationale:
      'Without rotation the same key material protects data for as long as the key exists.',
    evidenceFields: ['data.keyManager', 'data.keyState', 'data.rotationEnabled'],
    cis: ['3.6'],
    action: 'kms.enable_key_rotation',
    fix: 'Enable automatic key rotation.',
  }),
  // ------------------------------------------------------------------ cost
  check({
    id: 'ebs_volume_unattached',
    title: 'EBS volume is not attached',
    domain: 'cost',
    severity: 'medium',
    resourceTypes: ['AWS::EC2::Volume'],
    services: EC2,
    rationale: 'An available volume is billed for its full provisioned size while nothing uses it.',
    evidenceFields: ['data.state', 'data.attachments', 'data.volumeType', 'data.sizeGiB'],
    action: 'ec2.snapshot_and_delete_volume',
    fix: 'Snapshot it (kept as the way back), then delete it.',
  }),
  check({
    id: 'ebs_volume_gp2',
    title: 'EBS volume is gp2 (gp3 is cheaper)',
    domain: 'cost',
    severity: 'low',
    resourceTypes: ['AWS::EC2::Volume'],
    services: EC2,
    rationale: 'gp3 costs 20% less per GB than gp2 with a 3,000 IOPS baseline at any size.',
    evidenceFields: ['data.volumeType', 'data.sizeGiB', 'data.iops'],
    action: 'ec2.modify_volume_gp3',
    fix: 'Modify the volume to gp3 in place (no downtime; the next change must wait 6 hours).',
  }),
  check({
    id: 'eip_unassociated',
    title: 'Elastic IP is not associated',
    domain: 'cost',
    severity: 'low',
    resourceTypes: ['AWS::EC2::EIP'],
    services: EC2,
    rationale: 'Every public IPv4 address is billed by the hour, associated or not.',
    evidenceFields: ['data.associationId'],
    action: 'ec2.release_address',
    fix: 'Release the address (irreversible: the IP cannot be reclaimed; check DNS and allow-lists first).',
  }),
  check({
    id: 'ec2_idle',
    title: 'EC2 instance is idle',
    domain: 'cost',
    severity: 'medium',
    resourceTypes: ['AWS::EC2::Instance'],
    services: ['ec2', 'cloudwatch'],
    rationale:
      'An instance with low CPU and almost no network traffic on every day of the window is paid for and not used.',
    evidenceFields: [
      'data.state',
      'data.launchTime',
      'data.utilization.cpuAverageDaily',
      'data.utilization.networkBytesDaily',
    ],
    action: 'ec2.stop_instance',
    fix: 'Stop the instance (reversible; an auto-assigned public IP changes), then decide whether to terminate it.',
    thresholds: ['ec2_idle_cpu_percent', 'ec2_idle_network_bytes_per_day', 'ec2_idle_window_days'],
  }),
  check({
    id: 'ec2_stopped_long',
    title: 'EC2 instance has been stopped for a long time',
    domain: 'cost',
    severity: 'low',
    resourceTypes: ['AWS::EC2::Instance'],
    services: EC2,
    rationale: 'A long-stopped instance still pays for its volumes and usually is not coming back.',
    evidenceFields: ['data.state', 'data.stoppedSince', 'data.volumeIds'],
    fsbp: ['EC2.4'],
    action: 'manual',
    fix: 'Create an AMI (the way back), then terminate the instance and its volumes.',
    thresholds: ['ec2_stopped_days'],
  }),
  check({
    id: 'ebs_snapshot_old',
    title: 'EBS snapshot is old',
    domain: 'cost',
    severity: 'low',
    resourceTypes: ['AWS::EC2::Snapshot'],
    services: EC2,
    rationale: 'Old snapshots keep accruing storage charges long after anyone could use them.',
    evidenceFields: ['data.startTime', 'data.volumeSizeGiB'],
    action: 'ec2.delete_snapshot',
    fix: 'Delete the snapshot after confirming no AMI or retention rule needs it (a Recycle Bin rule gives a grace period).',
    thresholds: ['ebs_snapshot_age_days'],
  }),
  check({
    id: 'rds_idle',
    title: 'RDS DB instance has no connections',
    domain: 'cost',
    severity: 'medium',
    resourceTypes: ['AWS::RDS::DBInstance'],
    services: ['rds', 'cloudwatch'],
    rationale: 'A database nobody connected to for the whole window is paid for by the hour.',
    evidenceFields: ['data.status', 'data.createTime', 'data.utilization.maxConnectionsDaily'],
    action: 'manual',
    fix: 'Confirm with the owner, take a final snapshot, then stop or delete the instance.',
    thresholds: ['rds_idle_window_days', 'rds_idle_max_connections'],
  }),
  // ------------------------------------------------------------------ drift
  check({
    id: 'tags_missing',
    title: 'Resource lacks required tags',
    domain: 'drift',
    severity: 'low',
    resourceTypes: ['AWS::EC2::Instance', 'AWS::EC2::Volume', 'AWS::RDS::DBInstance'],
    services: [],
    rationale:
      "Without the tags the facility's policy requires (owner, environment, cost centre by default) nobody can be asked about the resource or charged for it.",
    evidenceFields: ['tags', 'policy required_tags'],
    action: 'tags.add_required_tags',
    fix: 'Add the missing tags (values from the owner).',
  }),
  check({
    id: 'drift_configuration_baseline',
    title: "Configuration differs from the facility's baseline",
    domain: 'drift',
    severity: 'medium',
    resourceTypes: ['*'],
    services: [],
    rationale:
      "The facility's configuration baseline (a controlled record) says what a setting must be; this resource has another value.",
    evidenceFields: ['data.<baseline rule path>', 'baseline rules'],
    action: 'manual',
    fix: 'Bring the setting back to the baseline, or change the baseline through a change request.',
  }),
  check({
    id: 'drift_changed_since_baseline',
    title: 'Resource changed since the last accepted baseline',
    domain: 'drift',
    severity: 'low',
    resourceTypes: ['*'],
    services: [],
    rationale:
      'The metadata differs from the state accepted as the baseline: either an intended change to accept, or drift to correct.',
    evidenceFields: ['fingerprint of data and tags', 'accepted inventory baseline'],
    action: 'manual',
    fix: 'Review the change; accept a new baseline through a change request, or revert it.',
  }),
  check({
    id: 'drift_new_since_baseline',
    title: 'Resource appeared since the last accepted baseline',
    domain: 'drift',
    severity: 'informational',
    resourceTypes: ['*'],
    services: [],
    rationale:
      'The resource was not part of the accepted baseline: it was created outside the change process, or the baseline is out of date.',
    evidenceFields: ['arn', 'accepted inventory baseline'],
    action: 'manual',
    fix: 'Review the resource; accept a new baseline through a change request, or remove it.',
    enabledByDefault: false,
  }),
];

const byId = new Map(CHECKS.map((c) => [c.id, c]));

export function checkById(id: string): Check | undefined {
  return byId.get(id);
}

export const CHECK_IDS: readonly string[] = CHECKS.map((c) => c.id);
