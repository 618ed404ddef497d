// The remediation actions Axiom can execute: ids (shared with the findings catalog and plans, see
// docs/execution.md), action class (which opt-in execution role runs them), reversibility, the risk
// they carry before blast radius, and the honest recovery time of their rollback.

export const EXECUTABLE_ACTIONS = [
  's3.put_account_public_access_block',
  's3.put_bucket_public_access_block',
  's3.enable_default_encryption',
  's3.enable_versioning',
  's3.enable_access_logging',
  'ec2.revoke_security_group_rule',
  'ec2.require_imdsv2',
  'ec2.enable_ebs_default_encryption',
  'ec2.disable_snapshot_public',
  'ec2.disable_image_public',
  'ec2.snapshot_and_delete_volume',
  'ec2.modify_volume_gp3',
  'ec2.release_address',
  'ec2.stop_instance',
  'ec2.delete_snapshot',
  'rds.disable_public_access',
  'rds.enable_backups',
  'rds.enable_deletion_protection',
  'rds.disable_snapshot_public',
  'cloudtrail.enable_log_validation',
  'cloudtrail.start_logging',
  'cloudtrail.enable_multi_region',
  'iam.deactivate_access_key',
  'iam.update_password_policy',
  'kms.enable_key_rotation',
  'tags.add_required_tags',
] as const;
export type ExecutableActionId = (typeof EXECUTABLE_ACTIONS)[number];
/** `manual`: Axiom explains the fix and never executes it. */
export type ActionId = ExecutableActionId | 'manual';

export const ACTION_CLASSES = ['security', 'cost', 'drift'] as const;
export type ActionClass = (typeof ACTION_CLASSES)[number];

export type Reversibility =
  'reversible' | 'reversible_with_new_identity' | 'partially_reversible' | 'irreversible';
export type RiskTier = 'low' | 'medium' | 'high';
export type RiskLevel = 'none' | 'low' | 'medium' | 'high';

export interface ActionInfo {
  id: ExecutableActionId;
  actionClass: ActionClass;
  reversibility: Reversibility;
  /** Risk of the action alone (docs/execution.md; plans raise it with blast radius). */
  baseRisk: RiskTier;
  dataLossRisk: RiskLevel;
  downtimeRisk: RiskLevel;
  /** Expected time to recover by rollback, as an ISO 8601 duration ('none' for irreversible). */
  expectedRecoveryTime: string;
  /** What cannot be restored exactly, said plainly. */
  caveats: string[];
}

const a = (
  id: ExecutableActionId,
  actionClass: ActionClass,
  reversibility: Reversibility,
  o: Partial<Omit<ActionInfo, 'id' | 'actionClass' | 'reversibility'>> = {},
): ActionInfo => ({
  id,
  actionClass,
  reversibility,
  baseRisk:
    o.baseRisk ??
    (reversibility === 'irreversible'
      ? 'high'
      : reversibility === 'partially_reversible'
        ? 'medium'
        : 'low'),
  dataLossRisk: o.dataLossRisk ?? 'none',
  downtimeRisk: o.downtimeRisk ?? 'none',
  expectedRecoveryTime: o.expectedRecoveryTime ?? 'PT1M',
  caveats: o.caveats ?? [],
});

export const ACTIONS: Record<ExecutableActionId, ActionInfo> = {
  's3.put_account_public_access_block': a(
    's3.put_account_public_access_block',
    'security',
    'reversible',
    {
      downtimeRisk: 'low',
      caveats: [
        'Every bucket in the account stops serving public ACLs and policies at once (public websites break).',
      ],
    },
  ),
  's3.put_bucket_public_access_block': a(
    's3.put_bucket_public_access_block',
    'security',
    'reversible',
    {
      downtimeRisk: 'low',
      caveats: ['A public website or public object link on the bucket stops working.'],
    },
  ),
  's3.enable_default_encryption': a('s3.enable_default_encryption', 'security', 'reversible', {
    caveats: [
      'Only new objects are encrypted. Since January 2023 AWS keeps SSE-S3 as the minimum: deleting the configuration resets to SSE-S3 rather than "none".',
    ],
  }),
  's3.enable_versioning': a('s3.enable_versioning', 'security', 'partially_reversible', {
    caveats: [
      'Versioning can only go back to Suspended, never to "never enabled"; versions written meanwhile stay.',
    ],
  }),
  's3.enable_access_logging': a('s3.enable_access_logging', 'security', 'reversible', {
    caveats: ['Log objects already delivered to the target bucket stay there.'],
  }),
  'ec2.revoke_security_group_rule': a(
    'ec2.revoke_security_group_rule',
    'security',
    'reversible_with_new_identity',
    {
      downtimeRisk: 'low',
      caveats: [
        'Re-authorising the rule gives it a new rule id.',
        'Traffic that relied on the rule is cut while it is revoked; an intrusion during the exposure is not undone.',
      ],
    },
  ),
  'ec2.require_imdsv2': a('ec2.require_imdsv2', 'security', 'reversible', {
    downtimeRisk: 'low',
    caveats: ['Software on the instance that still uses IMDSv1 loses metadata access.'],
  }),
  'ec2.enable_ebs_default_encryption': a(
    'ec2.enable_ebs_default_encryption',
    'security',
    'reversible',
    { caveats: ['Per region; only volumes created afterwards are affected.'] },
  ),
  'ec2.disable_snapshot_public': a('ec2.disable_snapshot_public', 'security', 'reversible', {
    caveats: ['Copies other accounts made while it was public are not undone.'],
  }),
  'ec2.disable_image_public': a('ec2.disable_image_public', 'security', 'reversible', {
    caveats: ['Instances other accounts launched while it was public are not undone.'],
  }),
  'ec2.snapshot_and_delete_volume': a(
    'ec2.snapshot_and_delete_volume',
    'cost',
    'reversible_with_new_identity',
    {
      baseRisk: 'medium',
      dataLossRisk: 'low',
      expectedRecoveryTime: 'PT15M',
      caveats: [
        'The restored volume has a new id; references to the old id break.',
        'Blocks of a restored volume hydrate from the snapshot on first read (slow first reads).',
        'The pre-flight snapshot is kept (storage cost) as the restore point.',
      ],
    },
  ),
  'ec2.modify_volume_gp3': a('ec2.modify_volume_gp3', 'cost', 'partially_reversible', {
    expectedRecoveryTime: 'PT6H',
    caveats: [
      'AWS allows one modification per volume every 6 hours: the rollback cannot start before that.',
      'Performance settles over hours (about 6 h per fully used TiB).',
    ],
  }),
  'ec2.release_address': a('ec2.release_address', 'cost', 'irreversible', {
    dataLossRisk: 'none',
    downtimeRisk: 'low',
    expectedRecoveryTime: 'none',
    caveats: [
      'The public IP cannot be reclaimed once released (AllocateAddress with the same address works only if nobody took it).',
    ],
  }),
  'ec2.stop_instance': a('ec2.stop_instance', 'cost', 'reversible', {
    baseRisk: 'medium',
    dataLossRisk: 'low',
    downtimeRisk: 'high',
    expectedRecoveryTime: 'PT5M',
    caveats: [
      'An auto-assigned public IPv4 address changes on stop/start (an Elastic IP stays).',
      'RAM and instance-store contents are lost.',
    ],
  }),
  'ec2.delete_snapshot': a('ec2.delete_snapshot', 'cost', 'irreversible', {
    dataLossRisk: 'high',
    expectedRecoveryTime: 'none',
    caveats: [
      'The snapshot data is gone; only a Recycle Bin retention rule (if any) could bring it back.',
    ],
  }),
  'rds.disable_public_access': a('rds.disable_public_access', 'security', 'reversible', {
    downtimeRisk: 'medium',
    caveats: ['The endpoint resolves to a private address: clients outside the VPC lose access.'],
  }),
  'rds.enable_backups': a('rds.enable_backups', 'security', 'reversible', {
    downtimeRisk: 'low',
    caveats: [
      'On AWS, turning automated backups on from 0 causes a brief outage; backups taken meanwhile stay until they expire.',
    ],
  }),
  'rds.enable_deletion_protection': a('rds.enable_deletion_protection', 'security', 'reversible'),
  'rds.disable_snapshot_public': a('rds.disable_snapshot_public', 'security', 'reversible', {
    caveats: ['Copies other accounts made while it was public are not undone.'],
  }),
  'cloudtrail.enable_log_validation': a(
    'cloudtrail.enable_log_validation',
    'security',
    'reversible',
  ),
  'cloudtrail.start_logging': a('cloudtrail.start_logging', 'security', 'reversible', {
    caveats: ['Log files delivered while logging are kept in the bucket.'],
  }),
  'cloudtrail.enable_multi_region': a('cloudtrail.enable_multi_region', 'security', 'reversible', {
    caveats: ['Log files from other regions delivered meanwhile stay in the bucket.'],
  }),
  'iam.deactivate_access_key': a('iam.deactivate_access_key', 'security', 'reversible', {
    downtimeRisk: 'medium',
    caveats: [
      'Anything still using the key fails until it is reactivated. Axiom never deletes keys (a deleted secret cannot be recovered).',
    ],
  }),
  'iam.update_password_policy': a('iam.update_password_policy', 'security', 'reversible', {
    caveats: ['Applies to passwords set afterwards; users are not forced to change at once.'],
  }),
  'kms.enable_key_rotation': a('kms.enable_key_rotation', 'security', 'reversible', {
    caveats: [
      'Key material rotated meanwhile stays available for decryption (AWS keeps it).',
      'A custom rotation period set before rotation was turned off is not reported by AWS, so it cannot be restored (365 days is used).',
    ],
  }),
  'tags.add_required_tags': a('tags.add_required_tags', 'drift', 'reversible'),
};

export function isExecutableAction(id: string): id is ExecutableActionId {
  return (EXECUTABLE_ACTIONS as readonly string[]).includes(id);
}

/** The checks (sandbox problem ids / findings catalog ids) each action remediates. */
export const ACTION_FOR_CHECK: Record<string, ActionId> = {
  s3_account_public_access_block_off: 's3.put_account_public_access_block',
  s3_bucket_no_public_access_block: 's3.put_bucket_public_access_block',
  s3_bucket_public_acl: 's3.put_bucket_public_access_block',
  s3_bucket_public_policy: 's3.put_bucket_public_access_block',
  s3_bucket_no_encryption: 's3.enable_default_encryption',
  s3_bucket_versioning_off: 's3.enable_versioning',
  s3_bucket_logging_off: 's3.enable_access_logging',
  sg_open_ssh: 'ec2.revoke_security_group_rule',
  sg_open_rdp: 'ec2.revoke_security_group_rule',
  sg_open_all_ports: 'ec2.revoke_security_group_rule',
  sg_default_has_rules: 'ec2.revoke_security_group_rule',
  ec2_imdsv2_not_required: 'ec2.require_imdsv2',
  ebs_default_encryption_off: 'ec2.enable_ebs_default_encryption',
  ebs_snapshot_public: 'ec2.disable_snapshot_public',
  ami_public: 'ec2.disable_image_public',
  ebs_volume_unattached: 'ec2.snapshot_and_delete_volume',
  ebs_volume_gp2: 'ec2.modify_volume_gp3',
  eip_unassociated: 'ec2.release_address',
  ec2_idle: 'ec2.stop_instance',
  ebs_snapshot_old: 'ec2.delete_snapshot',
  ec2_stopped_long: 'manual',
  rds_public: 'rds.disable_public_access',
  rds_no_backups: 'rds.enable_backups',
  rds_no_deletion_protection: 'rds.enable_deletion_protection',
  rds_snapshot_public: 'rds.disable_snapshot_public',
  cloudtrail_no_log_validation: 'cloudtrail.enable_log_validation',
  cloudtrail_not_logging: 'cloudtrail.start_logging',
  cloudtrail_single_region: 'cloudtrail.enable_multi_region',
  iam_access_key_old: 'iam.deactivate_access_key',
  iam_access_key_unused: 'iam.deactivate_access_key',
  iam_password_policy_weak: 'iam.update_password_policy',
  kms_rotation_off: 'kms.enable_key_rotation',
  tags_missing: 'tags.add_required_tags',
  iam_root_access_keys: 'manual',
  iam_root_mfa_off: 'manual',
  iam_user_console_no_mfa: 'manual',
  iam_role_third_party_trust_no_external_id: 'manual',
  rds_unencrypted: 'manual',
  ebs_volume_unencrypted: 'manual',
  cloudtrail_missing: 'manual',
  rds_idle: 'manual',
};
