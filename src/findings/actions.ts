// Remediation action types: the shared vocabulary of findings (which action fixes a check), plans
// (candidates, blast radius, risk) and execution (capture, apply, verify, rollback). The ids are fixed
// by the team's action list; `manual` means Axiom explains the fix and never executes it.
export const REVERSIBILITY = [
  'reversible',
  'reversible_with_new_identity',
  'partially_reversible',
  'irreversible',
] as const;
export type Reversibility = (typeof REVERSIBILITY)[number];

export const RISK_TIERS = ['low', 'medium', 'high'] as const;
export type RiskTier = (typeof RISK_TIERS)[number];

export type ActionClass = 'security' | 'cost' | 'drift';

export interface ActionType {
  id: string;
  actionClass: ActionClass | null;
  /** null for `manual` (never executed). */
  reversibility: Reversibility | null;
  /** Before blast radius; plans raise it (moderate → at least medium, broad → high). */
  riskTier: RiskTier | null;
  /** IAM actions the execution role of the class needs (apply, verify and rollback). */
  executionPermissions: string[];
  note: string;
}

/** Risk tier per action before blast radius: irreversible → high; partially reversible → medium;
 * reversible (with or without a new identity) → low, except stopping an instance and deleting a
 * volume after its snapshot (downtime / data-loss risk) → medium. */
export function baseRiskTier(id: string, reversibility: Reversibility): RiskTier {
  if (reversibility === 'irreversible') return 'high';
  if (reversibility === 'partially_reversible') return 'medium';
  if (id === 'ec2.stop_instance' || id === 'ec2.snapshot_and_delete_volume') return 'medium';
  return 'low';
}

function action(
  id: string,
  actionClass: ActionClass,
  reversibility: Reversibility,
  executionPermissions: string[],
  note = '',
): ActionType {
  return {
    id,
    actionClass,
    reversibility,
    riskTier: baseRiskTier(id, reversibility),
    executionPermissions,
    note,
  };
}

export const ACTIONS: readonly ActionType[] = [
  action(
    's3.put_account_public_access_block',
    'security',
    'reversible',
    ['s3:GetAccountPublicAccessBlock', 's3:PutAccountPublicAccessBlock'],
    'pre-flight: the account block, or "absent" (rollback deletes it)',
  ),
  action(
    's3.put_bucket_public_access_block',
    'security',
    'reversible',
    ['s3:GetBucketPublicAccessBlock', 's3:PutBucketPublicAccessBlock'],
    'pre-flight: the bucket block, or "absent" (rollback deletes it)',
  ),
  action('s3.enable_default_encryption', 'security', 'reversible', [
    's3:GetEncryptionConfiguration',
    's3:PutEncryptionConfiguration',
  ]),
  action(
    's3.enable_versioning',
    'security',
    'partially_reversible',
    ['s3:GetBucketVersioning', 's3:PutBucketVersioning'],
    'can only go back to Suspended, never to "never enabled"',
  ),
  action(
    's3.enable_access_logging',
    'security',
    'reversible',
    ['s3:GetBucketLogging', 's3:PutBucketLogging'],
    'needs a target bucket: from the facility policy, else manual',
  ),
  action(
    'ec2.revoke_security_group_rule',
    'security',
    'reversible_with_new_identity',
    [
      'ec2:DescribeSecurityGroupRules',
      'ec2:RevokeSecurityGroupIngress',
      'ec2:RevokeSecurityGroupEgress',
      'ec2:AuthorizeSecurityGroupIngress',
      'ec2:AuthorizeSecurityGroupEgress',
    ],
    'by rule id; re-authorizing gives a new rule id',
  ),
  action('ec2.require_imdsv2', 'security', 'reversible', [
    'ec2:DescribeInstances',
    'ec2:ModifyInstanceMetadataOptions',
  ]),
  action(
    'ec2.enable_ebs_default_encryption',
    'security',
    'reversible',
    [
      'ec2:GetEbsEncryptionByDefault',
      'ec2:EnableEbsEncryptionByDefault',
      'ec2:DisableEbsEncryptionByDefault',
    ],
    'per region',
  ),
  action('ec2.disable_snapshot_public', 'security', 'reversible', [
    'ec2:DescribeSnapshotAttribute',
    'ec2:ModifySnapshotAttribute',
  ]),
  action('ec2.disable_image_public', 'security', 'reversible', [
    'ec2:DescribeImageAttribute',
    'ec2:ModifyImageAttribute',
  ]),
  action(
    'ec2.snapshot_and_delete_volume',
    'cost',
    'reversible_with_new_identity',
    [
      'ec2:DescribeVolumes',
      'ec2:CreateSnapshot',
      'ec2:DescribeSnapshots',
      'ec2:CreateTags',
      'ec2:DeleteVolume',
      'ec2:CreateVolume',
    ],
    'the snapshot is waited to completion first; restore = CreateVolume from it (new id)',
  ),
  action(
    'ec2.modify_volume_gp3',
    'cost',
    'partially_reversible',
    ['ec2:DescribeVolumes', 'ec2:ModifyVolume', 'ec2:DescribeVolumesModifications'],
    'AWS allows one modification per 6 hours per volume',
  ),
  action(
    'ec2.release_address',
    'cost',
    'irreversible',
    ['ec2:DescribeAddresses', 'ec2:ReleaseAddress'],
    'the public IP cannot be reclaimed',
  ),
  action(
    'ec2.stop_instance',
    'cost',
    'reversible',
    ['ec2:DescribeInstances', 'ec2:StopInstances', 'ec2:StartInstances'],
    'an auto-assigned public IP changes',
  ),
  action('ec2.delete_snapshot', 'cost', 'irreversible', [
    'ec2:DescribeSnapshots',
    'ec2:DeleteSnapshot',
  ]),
  action('rds.disable_public_access', 'security', 'reversible', [
    'rds:DescribeDBInstances',
    'rds:ModifyDBInstance',
  ]),
  action(
    'rds.enable_backups',
    'security',
    'reversible',
    ['rds:DescribeDBInstances', 'rds:ModifyDBInstance'],
    'BackupRetentionPeriod 7, ApplyImmediately',
  ),
  action('rds.enable_deletion_protection', 'security', 'reversible', [
    'rds:DescribeDBInstances',
    'rds:ModifyDBInstance',
  ]),
  action('rds.disable_snapshot_public', 'security', 'reversible', [
    'rds:DescribeDBSnapshotAttributes',
    'rds:ModifyDBSnapshotAttribute',
  ]),
  action(
    'cloudtrail.enable_log_validation',
    'security',
    'reversible',
    ['cloudtrail:DescribeTrails', 'cloudtrail:UpdateTrail'],
    'UpdateTrail in the home region',
  ),
  action('cloudtrail.start_logging', 'security', 'reversible', [
    'cloudtrail:GetTrailStatus',
    'cloudtrail:StartLogging',
    'cloudtrail:StopLogging',
  ]),
  action('cloudtrail.enable_multi_region', 'security', 'reversible', [
    'cloudtrail:DescribeTrails',
    'cloudtrail:UpdateTrail',
  ]),
  action(
    'iam.deactivate_access_key',
    'security',
    'reversible',
    ['iam:ListAccessKeys', 'iam:UpdateAccessKey'],
    'the key is found by fingerprint (ListAccessKeys), never stored by id',
  ),
  action(
    'iam.update_password_policy',
    'security',
    'reversible',
    [
      'iam:GetAccountPasswordPolicy',
      'iam:UpdateAccountPasswordPolicy',
      'iam:DeleteAccountPasswordPolicy',
    ],
    'restore = the previous policy, or delete when there was none',
  ),
  action('kms.enable_key_rotation', 'security', 'reversible', [
    'kms:GetKeyRotationStatus',
    'kms:EnableKeyRotation',
    'kms:DisableKeyRotation',
  ]),
  action(
    'tags.add_required_tags',
    'drift',
    'reversible',
    ['ec2:CreateTags', 'ec2:DeleteTags', 'rds:AddTagsToResource', 'rds:RemoveTagsFromResource'],
    'RDS tags: manual where the target lacks AddTagsToResource',
  ),
  {
    id: 'manual',
    actionClass: null,
    reversibility: null,
    riskTier: null,
    executionPermissions: [],
    note: 'explained, never executed',
  },
];

const byId = new Map(ACTIONS.map((a) => [a.id, a]));

export const ACTION_IDS = ACTIONS.map((a) => a.id) as [string, ...string[]];

export function actionType(id: string): ActionType {
  const a = byId.get(id);
  if (!a) throw new Error(`unknown remediation action ${id}`);
  return a;
}
