// The parameters of each executable action (what a plan step names) and the state each action
// observes (what pre-flight captures, what approval is checked against). Plans arrive from job
// payloads, so every field is validated here before any AWS call is made.
import { z } from 'zod';
import type { ExecutableActionId } from './catalog.js';

const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1');
const accountId = z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id');
const bucket = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3-63 lower-case characters)');
const ec2 = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}-[0-9a-f]{8,17}$`), `an EC2 id such as ${prefix}-0abc…`);
const rdsId = z
  .string()
  .regex(/^[a-zA-Z][a-zA-Z0-9-]{0,254}$/, 'an RDS identifier (letters, digits, hyphens)');
const trailName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$/, 'a CloudTrail trail name');
const iamName = z.string().regex(/^[\w+=,.@-]{1,64}$/, 'an IAM user name');
const kmsKeyId = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a KMS key id (uuid)');
const tagKey = z
  .string()
  .min(1)
  .max(127)
  .refine((k) => !k.toLowerCase().startsWith('aws:'), 'tag keys starting with aws: are reserved');
const tagValue = z.string().max(255);

export const passwordPolicySchema = z.strictObject({
  minimumPasswordLength: z.number().int().min(6).max(128),
  requireSymbols: z.boolean(),
  requireNumbers: z.boolean(),
  requireUppercaseCharacters: z.boolean(),
  requireLowercaseCharacters: z.boolean(),
  allowUsersToChangePassword: z.boolean(),
  passwordReusePrevention: z.number().int().min(1).max(24).nullable(),
  maxPasswordAge: z.number().int().min(1).max(1095).nullable(),
  hardExpiry: z.boolean().nullable(),
});
export type PasswordPolicy = z.infer<typeof passwordPolicySchema>;

const onBucket = z.strictObject({ bucket, region });
const onRegion = z.strictObject({ region });
const onInstance = z.strictObject({ region, instanceId: ec2('i') });
const onVolume = z.strictObject({ region, volumeId: ec2('vol') });
const onSnapshot = z.strictObject({ region, snapshotId: ec2('snap') });
const onDb = z.strictObject({ region, dbInstanceIdentifier: rdsId });
const onTrail = z.strictObject({ region, trailName });

/** zod schema of each action's parameters. */
export const PARAMS = {
  's3.put_account_public_access_block': z.strictObject({ accountId }),
  's3.put_bucket_public_access_block': onBucket,
  's3.enable_default_encryption': onBucket,
  's3.enable_versioning': onBucket,
  's3.enable_access_logging': z.strictObject({
    bucket,
    region,
    targetBucket: bucket,
    targetPrefix: z.string().max(512),
  }),
  'ec2.revoke_security_group_rule': z.strictObject({
    region,
    groupId: ec2('sg'),
    ruleIds: z.array(ec2('sgr')).min(1).max(50),
  }),
  'ec2.require_imdsv2': onInstance,
  'ec2.enable_ebs_default_encryption': onRegion,
  'ec2.disable_snapshot_public': onSnapshot,
  'ec2.disable_image_public': z.strictObject({ region, imageId: ec2('ami') }),
  'ec2.snapshot_and_delete_volume': onVolume,
  'ec2.modify_volume_gp3': onVolume,
  'ec2.release_address': z.strictObject({ region, allocationId: ec2('eipalloc') }),
  'ec2.stop_instance': onInstance,
  'ec2.delete_snapshot': onSnapshot,
  'rds.disable_public_access': onDb,
  'rds.enable_backups': onDb,
  'rds.enable_deletion_protection': onDb,
  'rds.disable_snapshot_public': z.strictObject({ region, dbSnapshotIdentifier: rdsId }),
  'cloudtrail.enable_log_validation': onTrail,
  'cloudtrail.start_logging': onTrail,
  'cloudtrail.enable_multi_region': onTrail,
  'iam.deactivate_access_key': z.strictObject({
    userName: iamName,
    fingerprint: z.string().regex(/^[0-9a-f]{16}$/, 'a 16-hex-digit access-key fingerprint'),
  }),
  'iam.update_password_policy': z.strictObject({ policy: passwordPolicySchema }),
  'kms.enable_key_rotation': z.strictObject({ region, keyId: kmsKeyId }),
  'tags.add_required_tags': z.strictObject({
    region,
    resourceId: z.string().regex(/^(i|vol)-[0-9a-f]{8,17}$/, 'an instance or volume id'),
    tags: z
      .record(tagKey, tagValue)
      .refine((t) => Object.keys(t).length >= 1 && Object.keys(t).length <= 40, '1 to 40 tags'),
  }),
} satisfies Record<ExecutableActionId, z.ZodType>;

export type ParamsOf<K extends ExecutableActionId> = z.infer<(typeof PARAMS)[K]>;

/** What a step's parameters act on, in an ARN's terms: the service, region ('' for global) and resource. */
export interface StepTarget {
  service: string;
  region: string;
  resource: string;
  /** The account the parameters name (the account-level public access block). */
  account?: string;
}

/**
 * The target of an action's (validated) parameters, in the inventory's ARN forms
 * (src/cloud/collectors.ts, arnFor in src/cloud/inventory.ts). Migration 102 holds the same rule in the
 * database, which refuses a plan version whose step's resourceArn is not what its params act on.
 */
export function stepTarget(actionId: ExecutableActionId, params: unknown): StepTarget {
  const p = params as Record<string, string>;
  const r = p.region ?? '';
  switch (actionId) {
    case 's3.put_account_public_access_block':
      return {
        service: 's3',
        region: '',
        resource: 'account-public-access-block',
        account: p.accountId!,
      };
    case 's3.put_bucket_public_access_block':
    case 's3.enable_default_encryption':
    case 's3.enable_versioning':
    case 's3.enable_access_logging':
      return { service: 's3', region: '', resource: p.bucket! };
    case 'ec2.revoke_security_group_rule':
      return { service: 'ec2', region: r, resource: `security-group/${p.groupId!}` };
    case 'ec2.require_imdsv2':
    case 'ec2.stop_instance':
      return { service: 'ec2', region: r, resource: `instance/${p.instanceId!}` };
    case 'ec2.enable_ebs_default_encryption':
      return { service: 'ec2', region: r, resource: 'ebs-encryption-by-default' };
    case 'ec2.disable_snapshot_public':
    case 'ec2.delete_snapshot':
      return { service: 'ec2', region: r, resource: `snapshot/${p.snapshotId!}` };
    case 'ec2.disable_image_public':
      return { service: 'ec2', region: r, resource: `image/${p.imageId!}` };
    case 'ec2.snapshot_and_delete_volume':
    case 'ec2.modify_volume_gp3':
      return { service: 'ec2', region: r, resource: `volume/${p.volumeId!}` };
    case 'ec2.release_address':
      return { service: 'ec2', region: r, resource: `elastic-ip/${p.allocationId!}` };
    case 'rds.disable_public_access':
    case 'rds.enable_backups':
    case 'rds.enable_deletion_protection':
      // RDS keeps identifiers in lower case; its ARNs do too.
      return { service: 'rds', region: r, resource: `db:${p.dbInstanceIdentifier!.toLowerCase()}` };
    case 'rds.disable_snapshot_public':
      return {
        service: 'rds',
        region: r,
        resource: `snapshot:${p.dbSnapshotIdentifier!.toLowerCase()}`,
      };
    case 'cloudtrail.enable_log_validation':
    case 'cloudtrail.start_logging':
    case 'cloudtrail.enable_multi_region':
      return { service: 'cloudtrail', region: r, resource: `trail/${p.trailName!}` };
    case 'iam.deactivate_access_key':
      return {
        service: 'iam',
        region: '',
        resource: `user/${p.userName!}/access-key/${p.fingerprint!}`,
      };
    case 'iam.update_password_policy':
      return { service: 'iam', region: '', resource: 'account-password-policy' };
    case 'kms.enable_key_rotation':
      return { service: 'kms', region: r, resource: `key/${p.keyId!}` };
    case 'tags.add_required_tags':
      return {
        service: 'ec2',
        region: r,
        resource: `${p.resourceId!.startsWith('i-') ? 'instance' : 'volume'}/${p.resourceId!}`,
      };
  }
}

const ARN = /^arn:aws[a-z-]*:([a-z0-9-]+):([a-z0-9-]*):(\d{12})?:(.+)$/;

/**
 * Why a step's resourceArn is not what its params act on, or is outside the plan's `account`; null
 * when it is neither. The params must have been validated against the action's schema.
 */
export function stepTargetProblem(
  step: { actionId: ExecutableActionId; resourceArn: string; params: unknown },
  account: string,
): string | null {
  const m = ARN.exec(step.resourceArn);
  if (!m) return `resourceArn ${step.resourceArn.slice(0, 200)} is not an ARN of a resource`;
  const [, service, region, arnAccount, resource] = m;
  if (arnAccount !== undefined && arnAccount !== account)
    return `resourceArn ${step.resourceArn} is in account ${arnAccount}, not the plan's account ${account}`;
  const t = stepTarget(step.actionId, step.params);
  if (t.account !== undefined && t.account !== account)
    return "params.accountId is the plan's account";
  const named = service === 'rds' ? resource!.toLowerCase() : resource;
  if (service !== t.service || region !== t.region || named !== t.resource)
    return `resourceArn ${step.resourceArn} is not what its params act on (${t.service} ${t.region ? `${t.region} ` : ''}${t.resource})`;
  return null;
}

/** One step of a plan as the executor receives it. */
export type PlanStep = {
  [K in ExecutableActionId]: {
    actionId: K;
    /** The resource acted on (inventory ARN; synthetic for account-level settings). */
    resourceArn: string;
    params: ParamsOf<K>;
    /**
     * The state the approvers saw (from the inventory the candidate was built from), in the
     * action's observed-state shape. Pre-flight must find exactly this, or the step is aborted.
     */
    approvedState: unknown;
  };
}[ExecutableActionId];

const stepSchema = z
  .strictObject({
    actionId: z.string(),
    resourceArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:[a-z0-9-]+:/, 'an ARN')
      .max(2048),
    params: z.unknown(),
    approvedState: z.unknown(),
  })
  .superRefine((s, ctx) => {
    const schema = (PARAMS as Record<string, z.ZodType>)[s.actionId];
    if (!schema) {
      ctx.addIssue({ code: 'custom', path: ['actionId'], message: `unknown action ${s.actionId}` });
      return;
    }
    const r = schema.safeParse(s.params);
    if (!r.success)
      for (const issue of r.error.issues)
        ctx.addIssue({
          code: 'custom',
          path: ['params', ...issue.path.map(String)],
          message: issue.message,
        });
    if (s.approvedState === undefined)
      ctx.addIssue({ code: 'custom', path: ['approvedState'], message: 'required' });
  });

export const planSchema = z.strictObject({
  /** The plan's id (and the record hash approvals were bound to, when there is one). */
  planId: z.string().min(1).max(200),
  planHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  accountId,
  actionClass: z.enum(['security', 'cost', 'drift']),
  steps: z.array(stepSchema).min(1).max(100),
});

export interface ExecutionPlan {
  planId: string;
  planHash?: string;
  accountId: string;
  actionClass: 'security' | 'cost' | 'drift';
  steps: PlanStep[];
}
