// Dry run: the whole plan executed without changing anything. Each step's pre-flight is read
// (no snapshot taken), compared with what was approved, and every permission the step would use
// (apply and rollback) is checked: EC2 operations for real with DryRun=true, the others with
// iam:SimulatePrincipalPolicy on the execution role, bounded by the plan's session policy.
import { SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { AppError } from '../errors.js';
import { redactSecrets } from '../security/redact.js';
import { handlerFor } from './actions/index.js';
import {
  sameState,
  type ActionContext,
  type ActionHandler,
  type PermissionNeed,
} from './actions/types.js';
import {
  AwsClients,
  awsErrorCode,
  isAwsError,
  type AwsEndpointOptions,
  type ExecutionCredentials,
} from './clients.js';
import { validatePlan } from './executor.js';
import type { ExecutableActionId } from './catalog.js';
import { sessionPolicyFor } from './permissions.js';
import { DEFAULT_WAIT } from './wait.js';

export interface PermissionCheck {
  phase: PermissionNeed['phase'];
  action: string;
  resource: string;
  decision: 'allowed' | 'denied' | 'not_checked';
  via: 'DryRun' | 'SimulatePrincipalPolicy';
  detail?: string;
}

export interface DryRunStep {
  index: number;
  actionId: ExecutableActionId;
  resourceArn: string;
  /** The state read now (what pre-flight would capture). */
  observed: unknown;
  matchesApproval: boolean;
  /** The state the action would produce. */
  expectedAfter: unknown;
  rollbackStrategy: string | null;
  permissions: PermissionCheck[];
  problems: string[];
}

export interface DryRunReport {
  planId: string;
  /** Nothing stands in the way of a live run. */
  ok: boolean;
  problems: string[];
  steps: DryRunStep[];
}

export interface DryRunOptions {
  plan: unknown;
  /** The execution role's credentials, assumed with sessionPolicyFor(plan, { simulateAsRoleArn }). */
  credentials: ExecutionCredentials;
  /** The execution role (default: derived from the caller identity, assuming path '/'). */
  executionRoleArn?: string;
  aws?: AwsEndpointOptions;
}

const describe = (e: unknown): string =>
  e instanceof AppError
    ? e.publicMessage
    : redactSecrets(`${awsErrorCode(e) ?? 'error'}: ${e instanceof Error ? e.message : String(e)}`);

export async function dryRunPlan(opts: DryRunOptions): Promise<DryRunReport> {
  const plan = validatePlan(opts.plan);
  const aws = new AwsClients(opts.credentials, opts.aws);
  const report: DryRunReport = { planId: plan.planId, ok: true, problems: [], steps: [] };
  try {
    let boundary: string | undefined;
    try {
      boundary = sessionPolicyFor(plan);
    } catch (e) {
      report.problems.push(describe(e));
    }
    let roleArn = opts.executionRoleArn;
    if (!roleArn) {
      const me = await aws.sts().send(new GetCallerIdentityCommand({}));
      const m = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\//.exec(me.Arn ?? '');
      if (m) roleArn = `arn:${m[1]}:iam::${m[2]}:role/${m[3]}`;
      else report.problems.push('the credentials are not an assumed execution role');
    }
    const toSimulate: { step: DryRunStep; need: PermissionNeed }[] = [];
    for (let i = 0; i < plan.steps.length; i++) {
      const step = plan.steps[i]!;
      const h = handlerFor(step.actionId) as unknown as ActionHandler;
      const ctx: ActionContext = {
        aws,
        accountId: plan.accountId,
        executionId: 'dry-run',
        stepIndex: i,
        wait: DEFAULT_WAIT,
        artifacts: {},
        checkpoint: async () => undefined,
        token: (purpose) => `dry-run-${i}-${purpose}`,
      };
      const out: DryRunStep = {
        index: i,
        actionId: step.actionId,
        resourceArn: step.resourceArn,
        observed: null,
        matchesApproval: false,
        expectedAfter: null,
        rollbackStrategy: null,
        permissions: [],
        problems: [],
      };
      report.steps.push(out);
      try {
        const pre = await h.preflight(ctx, step.params, true);
        out.observed = pre.state;
        out.matchesApproval = sameState(pre.state, step.approvedState);
        if (!out.matchesApproval)
          out.problems.push(`${step.resourceArn} is no longer in the state that was approved`);
        out.expectedAfter = h.expected(step.params, pre);
        out.rollbackStrategy = h.rollbackStrategy(step.params, pre);
      } catch (e) {
        out.problems.push(`pre-flight: ${describe(e)}`);
      }
      for (const need of h.permissions(step.params, plan.accountId)) {
        if (!need.dryRun) {
          toSimulate.push({ step: out, need });
          continue;
        }
        const check: PermissionCheck = {
          phase: need.phase,
          action: need.action,
          resource: need.resource,
          decision: 'not_checked',
          via: 'DryRun',
        };
        try {
          const r = await need.dryRun(ctx, out.observed);
          if (r === 'not_needed') continue; // e.g. no egress rule among those revoked
          if (r === 'allowed') check.decision = 'allowed';
          else check.detail = String(r);
        } catch (e) {
          if (isAwsError(e, 'UnauthorizedOperation')) check.decision = 'denied';
          else check.detail = describe(e);
        }
        out.permissions.push(check);
      }
    }
    // Everything without an EC2 DryRun: simulated, one call per resource.
    const byResource = new Map<string, typeof toSimulate>();
    for (const x of toSimulate) {
      const list = byResource.get(x.need.resource) ?? [];
      list.push(x);
      byResource.set(x.need.resource, list);
    }
    for (const [resource, list] of byResource) {
      const actions = [...new Set(list.map((x) => x.need.action))];
      const decisions = new Map<string, string>();
      let failure: string | undefined;
      if (roleArn) {
        try {
          const r = await aws.iam().send(
            new SimulatePrincipalPolicyCommand({
              PolicySourceArn: roleArn,
              ActionNames: actions,
              ResourceArns: [resource],
              ...(boundary ? { PermissionsBoundaryPolicyInputList: [boundary] } : {}),
            }),
          );
          for (const e of r.EvaluationResults ?? [])
            if (e.EvalActionName) decisions.set(e.EvalActionName, e.EvalDecision ?? '');
        } catch (e) {
          failure = isAwsError(e, 'AccessDenied', 'AccessDeniedException')
            ? 'cannot simulate: the execution role lacks iam:SimulatePrincipalPolicy on itself'
            : describe(e);
        }
      } else failure = 'no execution role to simulate';
      for (const { step, need } of list) {
        const d = decisions.get(need.action);
        step.permissions.push({
          phase: need.phase,
          action: need.action,
          resource,
          decision: d === 'allowed' ? 'allowed' : d ? 'denied' : 'not_checked',
          via: 'SimulatePrincipalPolicy',
          ...(failure ? { detail: failure } : d && d !== 'allowed' ? { detail: d } : {}),
        });
      }
    }
    for (const step of report.steps) {
      for (const c of step.permissions) {
        if (c.decision === 'denied')
          step.problems.push(
            `${c.phase}: ${c.action} on ${c.resource} is not allowed to the execution role within this plan`,
          );
        else if (c.decision === 'not_checked')
          step.problems.push(
            `${c.phase}: ${c.action} on ${c.resource} could not be checked${c.detail ? ` (${c.detail})` : ''}`,
          );
      }
    }
    report.ok = report.problems.length === 0 && report.steps.every((s) => s.problems.length === 0);
    return report;
  } finally {
    aws.destroy();
  }
}
