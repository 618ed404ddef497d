// What a reviewer reads for each action before approving it: the exact AWS CLI commands, a
// Terraform equivalent (or an honest "manual review required" when Terraform cannot express the
// change on its own), and the verification checklist of expected-state lines.
import type { ExecutableActionId } from '../execution/catalog.js';
import type { ParamsOf } from '../execution/params.js';
import { gp3Target } from '../execution/actions/ec2-cost.js';

export type TerraformPreview =
  { manualReviewRequired: false; hcl: string } | { manualReviewRequired: true; reason: string };

export interface Preview {
  cli: string[];
  terraform: TerraformPreview;
  verification: string[];
}

/** Quote a value for a POSIX shell when it needs quoting. */
export function shq(v: string): string {
  return /^[A-Za-z0-9_./:=@,+%-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}
/** A Terraform string literal. */
const tfs = (v: string) => JSON.stringify(v).replace(/\$\{/g, '$${').replace(/%\{/g, '%%{');
/** A Terraform resource name derived from an AWS name. */
export const tfName = (v: string): string => {
  const n = v.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(n) ? n : `r_${n}`;
};
const hcl = (lines: string[]): TerraformPreview => ({
  manualReviewRequired: false,
  hcl: lines.join('\n'),
});
const manual = (reason: string): TerraformPreview => ({ manualReviewRequired: true, reason });
const ownedBy = (what: string) =>
  manual(
    `${what} is an attribute of a resource that the configuration managing it owns; change it there (a standalone Terraform resource would fight that configuration)`,
  );

const PAB_ARGS = [
  '  block_public_acls       = true',
  '  ignore_public_acls      = true',
  '  block_public_policy     = true',
  '  restrict_public_buckets = true',
];
const PAB_CLI =
  'BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true';

type Previewer<K extends ExecutableActionId> = (
  p: ParamsOf<K>,
  ctx: {
    accountId: string;
    /** The configuration already exists (Terraform must import it). */
    exists: boolean;
    /** Access keys: the last four characters of the id (what consoles show). */
    lastFour?: string;
    /** Security groups: which of the rule ids are egress rules. */
    egressRuleIds?: string[];
    /** Volumes: the current size and IOPS (gp3 targets). */
    volume?: { sizeGiB: number; iops: number | null };
  },
) => Preview;

export const PREVIEWS: { [K in ExecutableActionId]: Previewer<K> } = {
  's3.put_account_public_access_block': (p, c) => ({
    cli: [
      `aws s3control put-public-access-block --account-id ${p.accountId} --public-access-block-configuration ${PAB_CLI}`,
    ],
    terraform: hcl([
      ...(c.exists
        ? [
            'import {',
            '  to = aws_s3_account_public_access_block.this',
            `  id = ${tfs(p.accountId)}`,
            '}',
            '',
          ]
        : []),
      'resource "aws_s3_account_public_access_block" "this" {',
      `  account_id              = ${tfs(p.accountId)}`,
      ...PAB_ARGS,
      '}',
    ]),
    verification: [
      `s3control GetPublicAccessBlock (account ${p.accountId}): BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy and RestrictPublicBuckets are all true`,
    ],
  }),
  's3.put_bucket_public_access_block': (p, c) => ({
    cli: [
      `aws s3api put-public-access-block --bucket ${shq(p.bucket)} --public-access-block-configuration ${PAB_CLI} --region ${p.region}`,
    ],
    terraform: hcl([
      ...(c.exists
        ? [
            'import {',
            `  to = aws_s3_bucket_public_access_block.${tfName(p.bucket)}`,
            `  id = ${tfs(p.bucket)}`,
            '}',
            '',
          ]
        : []),
      `resource "aws_s3_bucket_public_access_block" "${tfName(p.bucket)}" {`,
      `  bucket                  = ${tfs(p.bucket)}`,
      ...PAB_ARGS,
      '}',
    ]),
    verification: [
      `GetPublicAccessBlock (bucket ${p.bucket}): all four flags true`,
      `GetBucketPolicyStatus (bucket ${p.bucket}): no public access takes effect (IsPublic is ignored under RestrictPublicBuckets)`,
    ],
  }),
  's3.enable_default_encryption': (p) => ({
    cli: [
      `aws s3api put-bucket-encryption --bucket ${shq(p.bucket)} --server-side-encryption-configuration '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"},"BucketKeyEnabled":false}]}' --region ${p.region}`,
    ],
    terraform: hcl([
      `resource "aws_s3_bucket_server_side_encryption_configuration" "${tfName(p.bucket)}" {`,
      `  bucket = ${tfs(p.bucket)}`,
      '  rule {',
      '    apply_server_side_encryption_by_default {',
      '      sse_algorithm = "AES256"',
      '    }',
      '  }',
      '}',
    ]),
    verification: [`GetBucketEncryption (bucket ${p.bucket}): SSEAlgorithm AES256`],
  }),
  's3.enable_versioning': (p) => ({
    cli: [
      `aws s3api put-bucket-versioning --bucket ${shq(p.bucket)} --versioning-configuration Status=Enabled --region ${p.region}`,
    ],
    terraform: hcl([
      `resource "aws_s3_bucket_versioning" "${tfName(p.bucket)}" {`,
      `  bucket = ${tfs(p.bucket)}`,
      '  versioning_configuration {',
      '    status = "Enabled"',
      '  }',
      '}',
    ]),
    verification: [`GetBucketVersioning (bucket ${p.bucket}): Status Enabled`],
  }),
  's3.enable_access_logging': (p) => ({
    cli: [
      `aws s3api put-bucket-logging --bucket ${shq(p.bucket)} --bucket-logging-status ${shq(JSON.stringify({ LoggingEnabled: { TargetBucket: p.targetBucket, TargetPrefix: p.targetPrefix } }))} --region ${p.region}`,
    ],
    terraform: hcl([
      `resource "aws_s3_bucket_logging" "${tfName(p.bucket)}" {`,
      `  bucket        = ${tfs(p.bucket)}`,
      `  target_bucket = ${tfs(p.targetBucket)}`,
      `  target_prefix = ${tfs(p.targetPrefix)}`,
      '}',
    ]),
    verification: [
      `GetBucketLogging (bucket ${p.bucket}): LoggingEnabled with TargetBucket ${p.targetBucket} and TargetPrefix "${p.targetPrefix}"`,
    ],
  }),
  'ec2.revoke_security_group_rule': (p, c) => {
    const egress = p.ruleIds.filter((id) => c.egressRuleIds?.includes(id));
    const ingress = p.ruleIds.filter((id) => !egress.includes(id));
    return {
      cli: [
        ...(ingress.length
          ? [
              `aws ec2 revoke-security-group-ingress --group-id ${p.groupId} --security-group-rule-ids ${ingress.join(' ')} --region ${p.region}`,
            ]
          : []),
        ...(egress.length
          ? [
              `aws ec2 revoke-security-group-egress --group-id ${p.groupId} --security-group-rule-ids ${egress.join(' ')} --region ${p.region}`,
            ]
          : []),
      ],
      terraform: manual(
        "Terraform manages a security group's rules in the configuration that owns the group (aws_security_group or aws_vpc_security_group_ingress_rule); remove the rule there. A rule id cannot be revoked from a standalone configuration.",
      ),
      verification: [
        `DescribeSecurityGroupRules (group ${p.groupId}): none of ${p.ruleIds.join(', ')} exists and no rule with the same content is present`,
        `DescribeSecurityGroupRules (group ${p.groupId}): every other rule is unchanged`,
      ],
    };
  },
  'ec2.require_imdsv2': (p) => ({
    cli: [
      `aws ec2 modify-instance-metadata-options --instance-id ${p.instanceId} --http-tokens required --http-endpoint enabled --region ${p.region}`,
    ],
    terraform: ownedBy(`metadata_options.http_tokens of instance ${p.instanceId}`),
    verification: [
      `DescribeInstances (${p.instanceId}): MetadataOptions.HttpTokens required, HttpEndpoint enabled`,
    ],
  }),
  'ec2.enable_ebs_default_encryption': (p) => ({
    cli: [`aws ec2 enable-ebs-encryption-by-default --region ${p.region}`],
    terraform: hcl([
      `# provider region: ${p.region}`,
      'resource "aws_ebs_encryption_by_default" "this" {',
      '  enabled = true',
      '}',
    ]),
    verification: [`GetEbsEncryptionByDefault (${p.region}): true`],
  }),
  'ec2.disable_snapshot_public': (p) => ({
    cli: [
      `aws ec2 modify-snapshot-attribute --snapshot-id ${p.snapshotId} --attribute createVolumePermission --operation-type remove --group-names all --region ${p.region}`,
    ],
    terraform: manual(
      'Terraform can grant createVolumePermission (aws_snapshot_create_volume_permission) but has no resource that removes the public "all" group from an existing snapshot.',
    ),
    verification: [
      `DescribeSnapshotAttribute (${p.snapshotId}, createVolumePermission): no Group all; account shares unchanged`,
    ],
  }),
  'ec2.disable_image_public': (p) => ({
    cli: [
      `aws ec2 modify-image-attribute --image-id ${p.imageId} --launch-permission "Remove=[{Group=all}]" --region ${p.region}`,
    ],
    terraform: manual(
      'Terraform can add launch permissions (aws_ami_launch_permission) but cannot remove the public "all" group from an image it does not own.',
    ),
    verification: [
      `DescribeImageAttribute (${p.imageId}, launchPermission): no Group all; account shares unchanged`,
    ],
  }),
  'ec2.snapshot_and_delete_volume': (p) => ({
    cli: [
      `aws ec2 create-snapshot --volume-id ${p.volumeId} --description ${shq(`Axiom pre-flight of ${p.volumeId}`)} --tag-specifications 'ResourceType=snapshot,Tags=[{Key=axiom:source-volume,Value=${p.volumeId}}]' --region ${p.region}`,
      `aws ec2 wait snapshot-completed --snapshot-ids <SnapshotId from create-snapshot> --region ${p.region}`,
      `aws ec2 delete-volume --volume-id ${p.volumeId} --region ${p.region}`,
    ],
    terraform: manual(
      'Deleting a volume is removing its aws_ebs_volume from the configuration that owns it, after an aws_ebs_snapshot of it has completed; the snapshot-before-delete order cannot be expressed in one Terraform apply.',
    ),
    verification: [
      `DescribeSnapshots (the pre-flight snapshot of ${p.volumeId}): State completed, before the delete`,
      `DescribeVolumes (${p.volumeId}): InvalidVolume.NotFound`,
    ],
  }),
  'ec2.modify_volume_gp3': (p, c) => {
    const t = gp3Target({
      volumeType: 'gp2',
      sizeGiB: c.volume?.sizeGiB ?? 0,
      iops: c.volume?.iops ?? null,
      throughput: null,
    });
    return {
      cli: [
        `aws ec2 modify-volume --volume-id ${p.volumeId} --volume-type gp3 --iops ${t.iops} --throughput ${t.throughput} --region ${p.region}`,
      ],
      terraform: ownedBy(`type of volume ${p.volumeId}`),
      verification: [
        `DescribeVolumesModifications (${p.volumeId}): TargetVolumeType gp3, state optimizing or completed`,
        `DescribeVolumes (${p.volumeId}): VolumeType gp3, IOPS ${t.iops}, throughput ${t.throughput} MiB/s`,
      ],
    };
  },
  'ec2.release_address': (p) => ({
    cli: [`aws ec2 release-address --allocation-id ${p.allocationId} --region ${p.region}`],
    terraform: manual(
      'Releasing an Elastic IP is removing its aws_eip from the configuration that owns it; the address cannot be got back afterwards.',
    ),
    verification: [`DescribeAddresses (${p.allocationId}): InvalidAllocationID.NotFound`],
  }),
  'ec2.stop_instance': (p) => ({
    cli: [`aws ec2 stop-instances --instance-ids ${p.instanceId} --region ${p.region}`],
    terraform: hcl([
      `resource "aws_ec2_instance_state" "${tfName(p.instanceId)}" {`,
      `  instance_id = ${tfs(p.instanceId)}`,
      '  state       = "stopped"',
      '}',
    ]),
    verification: [`DescribeInstances (${p.instanceId}): State stopped`],
  }),
  'ec2.delete_snapshot': (p) => ({
    cli: [`aws ec2 delete-snapshot --snapshot-id ${p.snapshotId} --region ${p.region}`],
    terraform: manual(
      'Deleting a snapshot is removing its aws_ebs_snapshot from the configuration that owns it (snapshots taken outside Terraform have none).',
    ),
    verification: [`DescribeSnapshots (${p.snapshotId}): InvalidSnapshot.NotFound`],
  }),
  'rds.disable_public_access': (p) => ({
    cli: [
      `aws rds modify-db-instance --db-instance-identifier ${p.dbInstanceIdentifier} --no-publicly-accessible --apply-immediately --region ${p.region}`,
    ],
    terraform: ownedBy(`publicly_accessible of DB instance ${p.dbInstanceIdentifier}`),
    verification: [`DescribeDBInstances (${p.dbInstanceIdentifier}): PubliclyAccessible false`],
  }),
  'rds.enable_backups': (p) => ({
    cli: [
      `aws rds modify-db-instance --db-instance-identifier ${p.dbInstanceIdentifier} --backup-retention-period 7 --apply-immediately --region ${p.region}`,
    ],
    terraform: ownedBy(`backup_retention_period of DB instance ${p.dbInstanceIdentifier}`),
    verification: [`DescribeDBInstances (${p.dbInstanceIdentifier}): BackupRetentionPeriod 7`],
  }),
  'rds.enable_deletion_protection': (p) => ({
    cli: [
      `aws rds modify-db-instance --db-instance-identifier ${p.dbInstanceIdentifier} --deletion-protection --apply-immediately --region ${p.region}`,
    ],
    terraform: ownedBy(`deletion_protection of DB instance ${p.dbInstanceIdentifier}`),
    verification: [`DescribeDBInstances (${p.dbInstanceIdentifier}): DeletionProtection true`],
  }),
  'rds.disable_snapshot_public': (p) => ({
    cli: [
      `aws rds modify-db-snapshot-attribute --db-snapshot-identifier ${p.dbSnapshotIdentifier} --attribute-name restore --values-to-remove all --region ${p.region}`,
    ],
    terraform: manual(
      'Terraform has no resource for the restore attribute of an existing DB snapshot.',
    ),
    verification: [
      `DescribeDBSnapshotAttributes (${p.dbSnapshotIdentifier}): restore does not contain all; account shares unchanged`,
    ],
  }),
  'cloudtrail.enable_log_validation': (p) => ({
    cli: [
      `aws cloudtrail update-trail --name ${shq(p.trailName)} --enable-log-file-validation --region ${p.region}`,
    ],
    terraform: ownedBy(`enable_log_file_validation of trail ${p.trailName}`),
    verification: [`DescribeTrails (${p.trailName}): LogFileValidationEnabled true`],
  }),
  'cloudtrail.start_logging': (p) => ({
    cli: [`aws cloudtrail start-logging --name ${shq(p.trailName)} --region ${p.region}`],
    terraform: ownedBy(`enable_logging of trail ${p.trailName}`),
    verification: [`GetTrailStatus (${p.trailName}): IsLogging true`],
  }),
  'cloudtrail.enable_multi_region': (p) => ({
    cli: [
      `aws cloudtrail update-trail --name ${shq(p.trailName)} --is-multi-region-trail --include-global-service-events --region ${p.region}`,
    ],
    terraform: ownedBy(`is_multi_region_trail of trail ${p.trailName}`),
    verification: [
      `DescribeTrails (${p.trailName}): IsMultiRegionTrail true, IncludeGlobalServiceEvents true`,
    ],
  }),
  'iam.deactivate_access_key': (p, c) => ({
    // The key id is never stored: the command finds it by its last four characters.
    cli: [
      `aws iam update-access-key --user-name ${shq(p.userName)} --access-key-id "$(aws iam list-access-keys --user-name ${shq(p.userName)} --query "AccessKeyMetadata[?ends_with(AccessKeyId, '${c.lastFour ?? '????'}')].AccessKeyId | [0]" --output text)" --status Inactive`,
    ],
    terraform: manual(
      'Terraform would need the access key id (aws_iam_access_key status), which Axiom never stores; and a key created outside Terraform has no configuration to change.',
    ),
    verification: [
      `ListAccessKeys (${p.userName}): the key with fingerprint ${p.fingerprint} is Inactive; the user's other keys unchanged`,
    ],
  }),
  'iam.update_password_policy': (p, c) => {
    const x = p.policy;
    const flags = [
      `--minimum-password-length ${x.minimumPasswordLength}`,
      x.requireSymbols ? '--require-symbols' : '--no-require-symbols',
      x.requireNumbers ? '--require-numbers' : '--no-require-numbers',
      x.requireUppercaseCharacters
        ? '--require-uppercase-characters'
        : '--no-require-uppercase-characters',
      x.requireLowercaseCharacters
        ? '--require-lowercase-characters'
        : '--no-require-lowercase-characters',
      x.allowUsersToChangePassword
        ? '--allow-users-to-change-password'
        : '--no-allow-users-to-change-password',
      ...(x.passwordReusePrevention !== null
        ? [`--password-reuse-prevention ${x.passwordReusePrevention}`]
        : []),
      ...(x.maxPasswordAge !== null ? [`--max-password-age ${x.maxPasswordAge}`] : []),
      ...(x.hardExpiry !== null ? [x.hardExpiry ? '--hard-expiry' : '--no-hard-expiry'] : []),
    ];
    return {
      cli: [`aws iam update-account-password-policy ${flags.join(' ')}`],
      terraform: hcl([
        ...(c.exists
          ? [
              'import {',
              '  to = aws_iam_account_password_policy.this',
              '  id = "iam-account-password-policy"',
              '}',
              '',
            ]
          : []),
        'resource "aws_iam_account_password_policy" "this" {',
        `  minimum_password_length        = ${x.minimumPasswordLength}`,
        `  require_symbols                = ${x.requireSymbols}`,
        `  require_numbers                = ${x.requireNumbers}`,
        `  require_uppercase_characters   = ${x.requireUppercaseCharacters}`,
        `  require_lowercase_characters   = ${x.requireLowercaseCharacters}`,
        `  allow_users_to_change_password = ${x.allowUsersToChangePassword}`,
        ...(x.passwordReusePrevention !== null
          ? [`  password_reuse_prevention      = ${x.passwordReusePrevention}`]
          : []),
        ...(x.maxPasswordAge !== null
          ? [`  max_password_age               = ${x.maxPasswordAge}`]
          : []),
        ...(x.hardExpiry !== null ? [`  hard_expiry                    = ${x.hardExpiry}`] : []),
        '}',
      ]),
      verification: [
        `GetAccountPasswordPolicy: MinimumPasswordLength ${x.minimumPasswordLength}, PasswordReusePrevention ${x.passwordReusePrevention ?? 'unset'}, symbols/numbers/upper/lower required`,
      ],
    };
  },
  'kms.enable_key_rotation': (p) => ({
    cli: [`aws kms enable-key-rotation --key-id ${p.keyId} --region ${p.region}`],
    terraform: ownedBy(`enable_key_rotation of KMS key ${p.keyId}`),
    verification: [`GetKeyRotationStatus (${p.keyId}): KeyRotationEnabled true`],
  }),
  'tags.add_required_tags': (p) => ({
    cli: [
      `aws ec2 create-tags --resources ${p.resourceId} --tags ${Object.entries(p.tags)
        .map(([k, v]) => shq(`Key=${k},Value=${v}`))
        .join(' ')} --region ${p.region}`,
    ],
    terraform: hcl(
      Object.entries(p.tags).flatMap(([k, v], i) => [
        ...(i ? [''] : []),
        `resource "aws_ec2_tag" "${tfName(`${p.resourceId}_${k}`)}" {`,
        `  resource_id = ${tfs(p.resourceId)}`,
        `  key         = ${tfs(k)}`,
        `  value       = ${tfs(v)}`,
        '}',
      ]),
    ),
    verification: [
      `DescribeTags (${p.resourceId}): ${Object.entries(p.tags)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}; other tags unchanged`,
    ],
  }),
};
