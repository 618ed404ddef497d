// Every executable action id → its implementation.
import type { ExecutableActionId } from '../catalog.js';
import {
  deleteSnapshot,
  modifyVolumeGp3,
  releaseAddress,
  snapshotAndDeleteVolume,
  stopInstance,
} from './ec2-cost.js';
import {
  disableImagePublic,
  disableSnapshotPublic,
  enableEbsDefaultEncryption,
  requireImdsv2,
  revokeSecurityGroupRule,
} from './ec2-security.js';
import { enableLogValidation, enableMultiRegion, startLogging } from './cloudtrail.js';
import { deactivateAccessKey, updatePasswordPolicy } from './iam.js';
import { enableKeyRotation } from './kms.js';
import {
  disableDbSnapshotPublic,
  disablePublicAccess,
  enableBackups,
  enableDeletionProtection,
} from './rds.js';
import {
  enableAccessLogging,
  enableDefaultEncryption,
  enableVersioning,
  putAccountPublicAccessBlock,
  putBucketPublicAccessBlock,
} from './s3.js';
import { addRequiredTags } from './tags.js';
import type { ActionHandler } from './types.js';

export const HANDLERS: { [K in ExecutableActionId]: ActionHandler<K> } = {
  's3.put_account_public_access_block': putAccountPublicAccessBlock,
  's3.put_bucket_public_access_block': putBucketPublicAccessBlock,
  's3.enable_default_encryption': enableDefaultEncryption,
  's3.enable_versioning': enableVersioning,
  's3.enable_access_logging': enableAccessLogging,
  'ec2.revoke_security_group_rule': revokeSecurityGroupRule,
  'ec2.require_imdsv2': requireImdsv2,
  'ec2.enable_ebs_default_encryption': enableEbsDefaultEncryption,
  'ec2.disable_snapshot_public': disableSnapshotPublic,
  'ec2.disable_image_public': disableImagePublic,
  'ec2.snapshot_and_delete_volume': snapshotAndDeleteVolume,
  'ec2.modify_volume_gp3': modifyVolumeGp3,
  'ec2.release_address': releaseAddress,
  'ec2.stop_instance': stopInstance,
  'ec2.delete_snapshot': deleteSnapshot,
  'rds.disable_public_access': disablePublicAccess,
  'rds.enable_backups': enableBackups,
  'rds.enable_deletion_protection': enableDeletionProtection,
  'rds.disable_snapshot_public': disableDbSnapshotPublic,
  'cloudtrail.enable_log_validation': enableLogValidation,
  'cloudtrail.start_logging': startLogging,
  'cloudtrail.enable_multi_region': enableMultiRegion,
  'iam.deactivate_access_key': deactivateAccessKey,
  'iam.update_password_policy': updatePasswordPolicy,
  'kms.enable_key_rotation': enableKeyRotation,
  'tags.add_required_tags': addRequiredTags,
};

export function handlerFor<K extends ExecutableActionId>(id: K): ActionHandler<K> {
  return HANDLERS[id];
}
