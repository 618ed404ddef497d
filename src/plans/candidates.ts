// Remediation candidates: from a finding (a check that fired on one inventory resource) and the
// action the catalog names for it, a typed candidate a reviewer can approve — the action and
// its parameters, the exact AWS CLI commands, a Terraform preview (or an honest "manual review
// required"), the rollback plan, the verification checklist, and the IAM permissions the
// execution needs (which become the execution's session policy). Executable candidates carry
// the plan step the executor runs, including the state the approvers saw.
import type {
  AnyInventoryResource,
  InventoryResource,
  ResourceType,
  SecurityGroupRule,
} from '../cloud/inventory.js';
import { AppError } from '../errors.js';
import {
  ACTION_FOR_CHECK,
  ACTIONS,
  isExecutableAction,
  type ActionClass,
  type ActionId,
  type ExecutableActionId,
  type Reversibility,
  type RiskLevel,
  type RiskTier,
} from '../execution/catalog.js';
import { HANDLERS } from '../execution/actions/index.js';
import { ruleContent, type RuleState } from '../execution/actions/ec2-security.js';
import type { Permission, PermissionNeed } from '../execution/actions/types.js';
import { PARAMS, type ParamsOf, type PasswordPolicy, type PlanStep } from '../execution/params.js';
import { PREVIEWS, type TerraformPreview } from './previews.js';

export interface Finding {
  checkId: string;
  resource: AnyInventoryResource;
}

/** Facility policy values some actions need. */
export interface CandidateOptions {
  /** Tag values to set for the required tags (drift); a missing value makes the fix manual. */
  requiredTags?: Record<string, string>;
  /** Where access logs go (facility policy); without it, access logging is manual. */
  loggingTarget?: { bucket: string; prefix?: string };
  /** The password policy to enforce; default CIS-like (14 characters, 24 remembered, all classes). */
  passwordPolicy?: Partial<PasswordPolicy>;
}

export interface RollbackPlan {
  reversibility: Reversibility;
  dataLossRisk: RiskLevel;
  downtimeRisk: RiskLevel;
  /** ISO 8601 duration, or 'none' for irreversible actions. */
  expectedRecoveryTime: string;
  /** How the change is undone (the executor does this on failure or on request). */
  strategy: string;
  caveats: string[];
}

export interface CandidateBase {
  checkId: string;
  actionId: ActionId;
  resourceArn: string;
  resourceType: ResourceType;
  resourceId: string;
  accountId: string;
  region: string;
}

export interface ExecutableCandidate extends CandidateBase {
  manualReviewRequired: false;
  actionId: ExecutableActionId;
  actionClass: ActionClass;
  parameters: unknown;
  cliPreview: string[];
  terraformPreview: TerraformPreview;
  rollbackPlan: RollbackPlan;
  verification: string[];
  /** Every IAM permission the execution needs (reads, pre-flight, apply, rollback). */
  permissions: (Permission & { phase: PermissionNeed['phase'] })[];
  /** EC2 actions check permissions with DryRun; the others by simulation. */
  dryRunAvailable: 'DryRun' | 'SimulatePrincipalPolicy';
  riskTier: RiskTier;
  /** What the executor runs. */
  step: PlanStep;
}

export interface ManualCandidate extends CandidateBase {
  manualReviewRequired: true;
  /** Why Axiom explains this fix instead of executing it. */
  reason: string;
  /** The action Axiom would run if the missing input were there (null: never executed). */
  wouldBe: ExecutableActionId | null;
}

export type RemediationCandidate = ExecutableCandidate | ManualCandidate;

export const DEFAULT_PASSWORD_POLICY = {
  minimumPasswordLength: 14,
  requireSymbols: true,
  requireNumbers: true,
  requireUppercaseCharacters: true,
  requireLowercaseCharacters: true,
  allowUsersToChangePassword: true,
  passwordReusePrevention: 24,
} as const;

type Built<K extends ExecutableActionId> =
  { params: ParamsOf<K>; approvedState: unknown } | { manual: string };

const mismatch = (action: string, r: AnyInventoryResource): AppError =>
  new AppError('invalid_input', `${action} does not apply to a ${r.type} (${r.resourceId})`, {
    reason: 'action_resource_mismatch',
  });

function expect<T extends ResourceType>(
  action: string,
  r: AnyInventoryResource,
  ...types: T[]
): InventoryResource<T> {
  if (!types.includes(r.type as T)) throw mismatch(action, r);
  return r as InventoryResource<T>;
}

/** Inventory rules in the shape the executor observes (ports -1 → null, empty description → null). */
export function ruleState(r: SecurityGroupRule): RuleState {
  return {
    ruleId: r.ruleId,
    isEgress: r.isEgress,
    protocol: r.protocol,
    fromPort: r.fromPort === null || r.fromPort === -1 ? null : r.fromPort,
    toPort: r.toPort === null || r.toPort === -1 ? null : r.toPort,
    cidrIpv4: r.cidrIpv4,
    cidrIpv6: r.cidrIpv6,
    referencedGroupId: r.referencedGroupId,
    prefixListId: r.prefixListId,
    description: r.description ? r.description : null,
  };
}
const sortedRules = (rules: RuleState[]) =>
  [...rules].sort((a, b) =>
    ruleContent(a) < ruleContent(b) ? -1 : ruleContent(a) > ruleContent(b) ? 1 : 0,
  );

const WORLD = new Set(['0.0.0.0/0', '::/0']);
const fromWorld = (r: RuleState) =>
  !r.isEgress && (WORLD.has(r.cidrIpv4 ?? '') || WORLD.has(r.cidrIpv6 ?? ''));
const covers = (r: RuleState, port: number) =>
  r.protocol === '-1' ||
  (r.protocol === 'tcp' && (r.fromPort ?? 0) <= port && port <= (r.toPort ?? 65535));

/** The rules a security-group finding is about (documented check definitions). */
export function offendingRules(
  checkId: string,
  groupName: string,
  rules: RuleState[],
): RuleState[] {
  switch (checkId) {
    case 'sg_open_ssh':
      return rules.filter((r) => fromWorld(r) && covers(r, 22));
    case 'sg_open_rdp':
      return rules.filter((r) => fromWorld(r) && covers(r, 3389));
    case 'sg_open_all_ports':
      return rules.filter(
        (r) => fromWorld(r) && (r.protocol === '-1' || (r.fromPort === 0 && r.toPort === 65535)),
      );
    case 'sg_default_has_rules':
      return groupName === 'default' ? rules : [];
    default:
      return [];
  }
}

const BUILDERS: {
  [K in ExecutableActionId]: (f: Finding, o: CandidateOptions) => Built<K>;
} = {
  's3.put_account_public_access_block': (f) => {
    const r = expect(
      's3.put_account_public_access_block',
      f.resource,
      'AWS::S3::AccountPublicAccessBlock',
    );
    return {
      params: { accountId: r.accountId },
      approvedState: { publicAccessBlock: r.data.publicAccessBlock },
    };
  },
  's3.put_bucket_public_access_block': (f) => {
    const r = expect('s3.put_bucket_public_access_block', f.resource, 'AWS::S3::Bucket');
    return {
      params: { bucket: r.data.name, region: r.region },
      approvedState: { publicAccessBlock: r.data.publicAccessBlock },
    };
  },
  's3.enable_default_encryption': (f) => {
    const r = expect('s3.enable_default_encryption', f.resource, 'AWS::S3::Bucket');
    const e = r.data.encryption;
    return {
      params: { bucket: r.data.name, region: r.region },
      approvedState: {
        encryption: e
          ? { algorithm: e.algorithm, kmsKeyId: e.kmsKeyId, bucketKeyEnabled: e.bucketKeyEnabled }
          : null,
      },
    };
  },
  's3.enable_versioning': (f) => {
    const r = expect('s3.enable_versioning', f.resource, 'AWS::S3::Bucket');
    return {
      params: { bucket: r.data.name, region: r.region },
      approvedState: { versioning: r.data.versioning },
    };
  },
  's3.enable_access_logging': (f, o) => {
    const r = expect('s3.enable_access_logging', f.resource, 'AWS::S3::Bucket');
    if (!o.loggingTarget)
      return {
        manual:
          'access logging needs a target bucket, and the facility policy names none: set one, or enable logging by hand',
      };
    if (o.loggingTarget.bucket === r.data.name)
      return { manual: 'a bucket must not log into itself (every log write would create another)' };
    return {
      params: {
        bucket: r.data.name,
        region: r.region,
        targetBucket: o.loggingTarget.bucket,
        targetPrefix: o.loggingTarget.prefix ?? `${r.data.name}/`,
      },
      approvedState: { logging: r.data.logging },
    };
  },
  'ec2.revoke_security_group_rule': (f) => {
    const r = expect('ec2.revoke_security_group_rule', f.resource, 'AWS::EC2::SecurityGroup');
    const rules = sortedRules(r.data.rules.map(ruleState));
    const offending = offendingRules(f.checkId, r.data.groupName, rules);
    if (!offending.length)
      throw new AppError('invalid_input', `no rule of ${r.data.groupId} matches ${f.checkId}`, {
        reason: 'nothing_to_remediate',
      });
    if (offending.length > 50)
      return { manual: `${offending.length} rules match; revoke them in smaller plans` };
    return {
      params: {
        region: r.region,
        groupId: r.data.groupId,
        ruleIds: offending.map((x) => x.ruleId),
      },
      approvedState: { rules },
    };
  },
  'ec2.require_imdsv2': (f) => {
    const r = expect('ec2.require_imdsv2', f.resource, 'AWS::EC2::Instance');
    return {
      params: { region: r.region, instanceId: r.data.instanceId },
      approvedState: {
        httpTokens: r.data.metadataOptions.httpTokens,
        httpEndpoint: r.data.metadataOptions.httpEndpoint,
      },
    };
  },
  'ec2.enable_ebs_default_encryption': (f) => {
    const r = expect(
      'ec2.enable_ebs_default_encryption',
      f.resource,
      'AWS::EC2::EbsEncryptionByDefault',
    );
    return { params: { region: r.region }, approvedState: { enabled: r.data.enabled } };
  },
  'ec2.disable_snapshot_public': (f) => {
    const r = expect('ec2.disable_snapshot_public', f.resource, 'AWS::EC2::Snapshot');
    const c = r.data.createVolumePermission;
    return {
      params: { region: r.region, snapshotId: r.data.snapshotId },
      approvedState: { groups: [...c.groups].sort(), userIds: [...c.userIds].sort() },
    };
  },
  'ec2.disable_image_public': (f) => {
    const r = expect('ec2.disable_image_public', f.resource, 'AWS::EC2::Image');
    const c = r.data.launchPermission;
    return {
      params: { region: r.region, imageId: r.data.imageId },
      approvedState: { groups: [...c.groups].sort(), userIds: [...c.userIds].sort() },
    };
  },
  'ec2.snapshot_and_delete_volume': (f) => {
    const r = expect('ec2.snapshot_and_delete_volume', f.resource, 'AWS::EC2::Volume');
    const d = r.data;
    if (d.attachments.length || d.state !== 'available')
      return {
        manual: `volume ${d.volumeId} is attached (${d.state}); only unattached volumes are deleted`,
      };
    return {
      params: { region: r.region, volumeId: d.volumeId },
      approvedState: {
        state: d.state,
        volumeType: d.volumeType,
        sizeGiB: d.sizeGiB,
        iops: d.iops,
        throughput: d.throughput,
        encrypted: d.encrypted,
        kmsKeyId: d.kmsKeyId,
        attachments: [],
      },
    };
  },
  'ec2.modify_volume_gp3': (f) => {
    const r = expect('ec2.modify_volume_gp3', f.resource, 'AWS::EC2::Volume');
    const d = r.data;
    if (d.volumeType !== 'gp2')
      return { manual: `volume ${d.volumeId} is ${d.volumeType}, not gp2` };
    return {
      params: { region: r.region, volumeId: d.volumeId },
      approvedState: {
        volumeType: d.volumeType,
        sizeGiB: d.sizeGiB,
        iops: d.iops,
        throughput: d.throughput,
      },
    };
  },
  'ec2.release_address': (f) => {
    const r = expect('ec2.release_address', f.resource, 'AWS::EC2::EIP');
    if (r.data.associationId) return { manual: `${r.data.publicIp} is associated; it is in use` };
    return {
      params: { region: r.region, allocationId: r.data.allocationId },
      approvedState: { publicIp: r.data.publicIp, associationId: null },
    };
  },
  'ec2.stop_instance': (f) => {
    const r = expect('ec2.stop_instance', f.resource, 'AWS::EC2::Instance');
    if (r.tags['aws:autoscaling:groupName'] !== undefined)
      return {
        manual:
          'the instance belongs to an Auto Scaling group, which would replace it: scale the group instead',
      };
    return {
      params: { region: r.region, instanceId: r.data.instanceId },
      approvedState: { state: r.data.state },
    };
  },
  'ec2.delete_snapshot': (f) => {
    const r = expect('ec2.delete_snapshot', f.resource, 'AWS::EC2::Snapshot');
    return {
      params: { region: r.region, snapshotId: r.data.snapshotId },
      approvedState: {
        volumeId: r.data.volumeId,
        volumeSizeGiB: r.data.volumeSizeGiB,
        encrypted: r.data.encrypted,
      },
    };
  },
  'rds.disable_public_access': (f) => {
    const r = expect('rds.disable_public_access', f.resource, 'AWS::RDS::DBInstance');
    return {
      params: { region: r.region, dbInstanceIdentifier: r.data.dbInstanceIdentifier },
      approvedState: { publiclyAccessible: r.data.publiclyAccessible },
    };
  },
  'rds.enable_backups': (f) => {
    const r = expect('rds.enable_backups', f.resource, 'AWS::RDS::DBInstance');
    return {
      params: { region: r.region, dbInstanceIdentifier: r.data.dbInstanceIdentifier },
      approvedState: { backupRetentionPeriod: r.data.backupRetentionPeriod },
    };
  },
  'rds.enable_deletion_protection': (f) => {
    const r = expect('rds.enable_deletion_protection', f.resource, 'AWS::RDS::DBInstance');
    return {
      params: { region: r.region, dbInstanceIdentifier: r.data.dbInstanceIdentifier },
      approvedState: { deletionProtection: r.data.deletionProtection },
    };
  },
  'rds.disable_snapshot_public': (f) => {
    const r = expect('rds.disable_snapshot_public', f.resource, 'AWS::RDS::DBSnapshot');
    return {
      params: { region: r.region, dbSnapshotIdentifier: r.data.dbSnapshotIdentifier },
      approvedState: { restore: [...r.data.restoreAttribute].sort() },
    };
  },
  'cloudtrail.enable_log_validation': (f) => {
    const r = expect('cloudtrail.enable_log_validation', f.resource, 'AWS::CloudTrail::Trail');
    return {
      params: { region: r.data.homeRegion, trailName: r.data.name },
      approvedState: { logFileValidationEnabled: r.data.logFileValidationEnabled },
    };
  },
  'cloudtrail.start_logging': (f) => {
    const r = expect('cloudtrail.start_logging', f.resource, 'AWS::CloudTrail::Trail');
    return {
      params: { region: r.data.homeRegion, trailName: r.data.name },
      approvedState: { isLogging: r.data.isLogging },
    };
  },
  'cloudtrail.enable_multi_region': (f) => {
    const r = expect('cloudtrail.enable_multi_region', f.resource, 'AWS::CloudTrail::Trail');
    return {
      params: { region: r.data.homeRegion, trailName: r.data.name },
      approvedState: { isMultiRegionTrail: r.data.isMultiRegionTrail },
    };
  },
  'iam.deactivate_access_key': (f) => {
    const r = expect('iam.deactivate_access_key', f.resource, 'AWS::IAM::AccessKey');
    return {
      params: { userName: r.data.userName, fingerprint: r.data.fingerprint },
      approvedState: { status: r.data.status },
    };
  },
  'iam.update_password_policy': (f, o) => {
    const r = expect('iam.update_password_policy', f.resource, 'AWS::IAM::PasswordPolicy');
    const cur = r.data.policy;
    const policy: PasswordPolicy = {
      ...DEFAULT_PASSWORD_POLICY,
      minimumPasswordLength: Math.max(14, cur?.minimumPasswordLength ?? 0),
      maxPasswordAge: cur?.maxPasswordAge ?? null,
      hardExpiry: null,
      ...o.passwordPolicy,
    };
    return { params: { policy }, approvedState: { policy: cur } };
  },
  'kms.enable_key_rotation': (f) => {
    const r = expect('kms.enable_key_rotation', f.resource, 'AWS::KMS::Key');
    if (r.data.keyManager !== 'CUSTOMER')
      return {
        manual: "AWS managed keys rotate on AWS's schedule; their rotation cannot be changed",
      };
    return {
      params: { region: r.region, keyId: r.data.keyId },
      approvedState: { rotationEnabled: r.data.rotationEnabled === true },
    };
  },
  'tags.add_required_tags': (f, o) => {
    const r = f.resource;
    if (r.type === 'AWS::RDS::DBInstance')
      return {
        manual:
          'RDS tags are changed with AddTagsToResource, which Axiom does not run yet: tag the DB instance by hand',
      };
    const res = expect('tags.add_required_tags', r, 'AWS::EC2::Instance', 'AWS::EC2::Volume');
    const required = o.requiredTags ?? {};
    const missing = Object.keys(required).filter((k) => res.tags[k] === undefined);
    if (!Object.keys(required).length)
      return { manual: 'the facility policy gives no values for the required tags' };
    if (!missing.length)
      throw new AppError('invalid_input', `${res.resourceId} already has every required tag`, {
        reason: 'nothing_to_remediate',
      });
    const id =
      res.type === 'AWS::EC2::Instance'
        ? (res as InventoryResource<'AWS::EC2::Instance'>).data.instanceId
        : (res as InventoryResource<'AWS::EC2::Volume'>).data.volumeId;
    return {
      params: {
        region: res.region,
        resourceId: id,
        tags: Object.fromEntries(missing.sort().map((k) => [k, required[k]!])),
      },
      approvedState: { tags: Object.fromEntries(missing.sort().map((k) => [k, null])) },
    };
  },
};

/** The candidate for one finding (the action defaults to the catalog's for its check). */
export function buildCandidate(
  finding: Finding,
  actionId: ActionId | undefined = ACTION_FOR_CHECK[finding.checkId],
  opts: CandidateOptions = {},
): RemediationCandidate {
  const r = finding.resource;
  const base: CandidateBase = {
    checkId: finding.checkId,
    actionId: actionId ?? 'manual',
    resourceArn: r.arn,
    resourceType: r.type,
    resourceId: r.resourceId,
    accountId: r.accountId,
    region: r.region,
  };
  if (!actionId || actionId === 'manual' || !isExecutableAction(actionId))
    return {
      ...base,
      actionId: 'manual',
      manualReviewRequired: true,
      reason: actionId
        ? 'this fix needs people (root credentials, encryption of existing data, a new trail, or a judgement about the workload): Axiom explains it and never executes it'
        : `no remediation is catalogued for ${finding.checkId}`,
      wouldBe: null,
    };
  const built = (
    BUILDERS[actionId] as (f: Finding, o: CandidateOptions) => Built<ExecutableActionId>
  )(finding, opts);
  if ('manual' in built)
    return { ...base, manualReviewRequired: true, reason: built.manual, wouldBe: actionId };
  return executableCandidate({ ...base, actionId }, r, built.params, built.approvedState);
}

/**
 * The executable candidate for an action with these parameters on an inventory resource: what
 * reviewers read (the exact AWS CLI commands, Terraform, the rollback plan, the verification
 * checklist) and what the execution needs, all derived from the parameters and the resource. Used for
 * a finding's candidate and to describe the steps of a revised plan (src/plans/service.ts).
 */
export function executableCandidate(
  base: CandidateBase & { actionId: ExecutableActionId },
  r: AnyInventoryResource,
  rawParams: unknown,
  approvedState: unknown,
): ExecutableCandidate {
  const actionId = base.actionId;
  // The same validation the executor applies: a candidate never carries a bad step.
  const params = (PARAMS[actionId] as { parse(x: unknown): unknown }).parse(rawParams);
  const info = ACTIONS[actionId];
  const handler = HANDLERS[actionId] as {
    permissions(p: unknown, a: string): PermissionNeed[];
    rollbackStrategy(p: unknown, pre: { state: unknown; capture: unknown }): string;
  };
  const preview = (
    PREVIEWS[actionId] as (
      p: unknown,
      c: Parameters<(typeof PREVIEWS)['s3.enable_versioning']>[1],
    ) => ReturnType<(typeof PREVIEWS)['s3.enable_versioning']>
  )(params, {
    accountId: r.accountId,
    exists: existing(r),
    ...(r.type === 'AWS::IAM::AccessKey' ? { lastFour: r.data.lastFour } : {}),
    ...(r.type === 'AWS::EC2::SecurityGroup'
      ? { egressRuleIds: r.data.rules.filter((x) => x.isEgress).map((x) => x.ruleId) }
      : {}),
    ...(r.type === 'AWS::EC2::Volume'
      ? { volume: { sizeGiB: r.data.sizeGiB, iops: r.data.iops } }
      : {}),
  });
  const permissions = handler
    .permissions(params, r.accountId)
    .map(({ phase, action, resource }) => ({ phase, action, resource }));
  return {
    ...base,
    actionId,
    manualReviewRequired: false,
    actionClass: info.actionClass,
    parameters: params,
    cliPreview: preview.cli,
    terraformPreview: preview.terraform,
    rollbackPlan: {
      reversibility: info.reversibility,
      dataLossRisk: info.dataLossRisk,
      downtimeRisk: info.downtimeRisk,
      expectedRecoveryTime: info.expectedRecoveryTime,
      // The strategy from the state the approvers saw (the executor restates it from the
      // pre-flight capture).
      strategy: handler.rollbackStrategy(params, { state: approvedState, capture: null }),
      caveats: info.caveats,
    },
    verification: preview.verification,
    permissions,
    dryRunAvailable:
      actionId.startsWith('ec2.') || actionId === 'tags.add_required_tags'
        ? 'DryRun'
        : 'SimulatePrincipalPolicy',
    riskTier: info.baseRisk,
    step: {
      actionId,
      resourceArn: r.arn,
      params,
      approvedState,
    } as PlanStep,
  };
}

/** Does the configuration the action writes already exist (Terraform must import it)? */
function existing(r: AnyInventoryResource): boolean {
  switch (r.type) {
    case 'AWS::S3::AccountPublicAccessBlock':
      return r.data.publicAccessBlock !== null;
    case 'AWS::S3::Bucket':
      return r.data.publicAccessBlock !== null;
    case 'AWS::IAM::PasswordPolicy':
      return r.data.policy !== null;
    default:
      return false;
  }
}

/** Build the executable plan steps of a set of candidates (manual ones are left out). */
export function planStepsOf(candidates: RemediationCandidate[]): PlanStep[] {
  // Irreversible actions last, so a later failure never needs them undone.
  const exec = candidates.filter((c): c is ExecutableCandidate => !c.manualReviewRequired);
  const rank = (c: ExecutableCandidate) =>
    ACTIONS[c.actionId].reversibility === 'irreversible' ? 1 : 0;
  return exec
    .map((c, i) => ({ c, i }))
    .sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i)
    .map(({ c }) => c.step);
}
