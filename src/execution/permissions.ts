// What an execution may do, in IAM terms: the permissions a plan needs (from its actions), the
// session policy that narrows the execution role to exactly those resources for one execution,
// and the permission policy of each opt-in execution role (per action class).
import { AppError } from '../errors.js';
import { ACTIONS, EXECUTABLE_ACTIONS, type ActionClass } from './catalog.js';
import { HANDLERS, handlerFor } from './actions/index.js';
import type { Permission, PermissionNeed } from './actions/types.js';
import type { ExecutionPlan, PlanStep } from './params.js';

/** AWS's limit on a session policy passed to AssumeRole (plain text; STS also packs it). */
export const SESSION_POLICY_MAX_CHARS = 2048;

/** The permissions one step needs (reads, pre-flight, apply and rollback). */
export function stepPermissions(step: PlanStep, accountId: string): PermissionNeed[] {
  // The step's params were validated against its action id (planSchema).
  const h = handlerFor(step.actionId) as { permissions(p: unknown, a: string): PermissionNeed[] };
  return h.permissions(step.params, accountId);
}

export function planPermissions(plan: ExecutionPlan): PermissionNeed[] {
  return plan.steps.flatMap((s) => stepPermissions(s, plan.accountId));
}

interface Statement {
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
}

/** Group permissions into statements: actions that need the same resources share one. */
export function statementsFor(perms: Permission[]): Statement[] {
  const byAction = new Map<string, Set<string>>();
  for (const p of perms) {
    let set = byAction.get(p.action);
    if (!set) byAction.set(p.action, (set = new Set()));
    set.add(p.resource);
  }
  const byResources = new Map<string, { actions: string[]; resources: string[] }>();
  for (const [action, set] of byAction) {
    const resources = set.has('*') ? ['*'] : [...set].sort();
    const key = resources.join('\n');
    const entry = byResources.get(key) ?? { actions: [], resources };
    entry.actions.push(action);
    byResources.set(key, entry);
  }
  return [...byResources.values()]
    .map((e) => ({
      Effect: 'Allow' as const,
      Action: e.actions.sort(),
      Resource: e.resources,
    }))
    .sort((a, b) => (a.Action[0]! < b.Action[0]! ? -1 : 1));
}

/**
 * The session policy for one execution of `plan`: the intersection with the execution role lets
 * the session touch only the plan's resources (reads are '*': Describe calls have no resource
 * level). With `simulateAsRoleArn` (dry runs) it also allows iam:SimulatePrincipalPolicy on the
 * execution role itself. Refused when it would exceed STS's 2048 characters: the plan must be
 * split rather than the policy widened.
 */
export function sessionPolicyFor(
  plan: ExecutionPlan,
  opts: { simulateAsRoleArn?: string } = {},
): string {
  const perms: Permission[] = planPermissions(plan);
  if (opts.simulateAsRoleArn)
    perms.push({ action: 'iam:SimulatePrincipalPolicy', resource: opts.simulateAsRoleArn });
  const text = JSON.stringify({ Version: '2012-10-17', Statement: statementsFor(perms) });
  if (text.length > SESSION_POLICY_MAX_CHARS)
    throw new AppError(
      'rule_violation',
      `the plan's session policy would be ${text.length} characters, over AWS's ${SESSION_POLICY_MAX_CHARS}: split the plan into smaller ones`,
      { reason: 'session_policy_too_large' },
    );
  return text;
}

/**
 * The IAM actions an execution role of this class needs (its customer-side permission policy
 * lists exactly these, never '*'): every action's reads, pre-flight, apply and rollback, plus
 * iam:SimulatePrincipalPolicy for dry runs.
 */
export function executionRoleActions(actionClass: ActionClass): string[] {
  const actions = new Set<string>(['iam:SimulatePrincipalPolicy']);
  for (const id of EXECUTABLE_ACTIONS) {
    if (ACTIONS[id].actionClass !== actionClass) continue;
    for (const a of actionIamActions(id)) actions.add(a);
  }
  return [...actions].sort();
}

/** The IAM actions one remediation action needs (reads, pre-flight, apply and rollback), sorted. */
export function actionIamActions(id: (typeof EXECUTABLE_ACTIONS)[number]): string[] {
  const actions = new Set<string>();
  const h = HANDLERS[id] as { permissions(p: unknown, a: string): PermissionNeed[] };
  for (const sample of SAMPLE_PARAMS[id])
    for (const p of h.permissions(sample, '123456789012')) actions.add(p.action);
  return [...actions].sort();
}

/** The permission policy document of the execution role for one action class. */
export function executionRolePolicy(actionClass: ActionClass): {
  Version: string;
  Statement: { Sid: string; Effect: 'Allow'; Action: string[]; Resource: string }[];
} {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: `Axiom${actionClass[0]!.toUpperCase()}${actionClass.slice(1)}Execution`,
        Effect: 'Allow',
        Action: executionRoleActions(actionClass),
        // Narrowed per execution by the session policy to the plan's resources.
        Resource: '*',
      },
    ],
  };
}

/** Representative parameters, only to enumerate each action's IAM actions. */
const SAMPLE_PARAMS: Record<(typeof EXECUTABLE_ACTIONS)[number], unknown[]> = {
  's3.put_account_public_access_block': [{ accountId: '123456789012' }],
  's3.put_bucket_public_access_block': [{ bucket: 'b', region: 'us-east-1' }],
  's3.enable_default_encryption': [{ bucket: 'b', region: 'us-east-1' }],
  's3.enable_versioning': [{ bucket: 'b', region: 'us-east-1' }],
  's3.enable_access_logging': [
    {
      bucket: 'b',
      region: 'us-east-1',
      targetBucket: 't',
      targetPrefix: '',
    },
  ],
  'ec2.revoke_security_group_rule': [{ region: 'us-east-1', groupId: 'sg-0', ruleIds: ['sgr-0'] }],
  'ec2.require_imdsv2': [{ region: 'us-east-1', instanceId: 'i-0' }],
  'ec2.enable_ebs_default_encryption': [{ region: 'us-east-1' }],
  'ec2.disable_snapshot_public': [{ region: 'us-east-1', snapshotId: 'snap-0' }],
  'ec2.disable_image_public': [{ region: 'us-east-1', imageId: 'ami-0' }],
  'ec2.snapshot_and_delete_volume': [{ region: 'us-east-1', volumeId: 'vol-0' }],
  'ec2.modify_volume_gp3': [{ region: 'us-east-1', volumeId: 'vol-0' }],
  'ec2.release_address': [{ region: 'us-east-1', allocationId: 'eipalloc-0' }],
  'ec2.stop_instance': [{ region: 'us-east-1', instanceId: 'i-0' }],
  'ec2.delete_snapshot': [{ region: 'us-east-1', snapshotId: 'snap-0' }],
  'rds.disable_public_access': [{ region: 'us-east-1', dbInstanceIdentifier: 'db' }],
  'rds.enable_backups': [{ region: 'us-east-1', dbInstanceIdentifier: 'db' }],
  'rds.enable_deletion_protection': [{ region: 'us-east-1', dbInstanceIdentifier: 'db' }],
  'rds.disable_snapshot_public': [{ region: 'us-east-1', dbSnapshotIdentifier: 's' }],
  'cloudtrail.enable_log_validation': [{ region: 'us-east-1', trailName: 't' }],
  'cloudtrail.start_logging': [{ region: 'us-east-1', trailName: 't' }],
  'cloudtrail.enable_multi_region': [{ region: 'us-east-1', trailName: 't' }],
  'iam.deactivate_access_key': [{ userName: 'u', fingerprint: '0000000000000000' }],
  'iam.update_password_policy': [{ policy: {} }],
  'kms.enable_key_rotation': [
    { region: 'us-east-1', keyId: '00000000-0000-0000-0000-000000000000' },
  ],
  'tags.add_required_tags': [
    { region: 'us-east-1', resourceId: 'i-0', tags: { Owner: 'x' } },
    { region: 'us-east-1', resourceId: 'vol-0', tags: { Owner: 'x' } },
  ],
};
