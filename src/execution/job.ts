// The execute_plan job: runs one execution as the agent. It loads the execution (the plan version it
// was started for, and the progress stored so far), releases the connection's execution role for the
// plan's action class (sealed ARN, opened in memory), assumes it with the plan's session policy, runs
// the executor — or, for a rollback execution, rollbackExecution over the original's progress — with
// every progress update (and the audit event of that transition) stored through
// api.execution_progress in one transaction, and ends with api.execution_finish, which writes the
// outcomes operational memory is made of. A worker that dies mid-execution leaves the last stored
// progress; the job run again resumes from it and never applies an action twice (docs/execution.md).
import type { Api, Caller } from '../db/api.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CloudSettings } from '../cloud/aws.js';
import { sealContext } from '../cloud/scanner.js';
import type { DataKeys } from '../security/datakeys.js';
import { redactSecrets } from '../security/redact.js';
import {
  executePlan,
  planSha256,
  rollbackExecution,
  validatePlan,
  type ExecutionProgress,
  type ExecutionResult,
  type ExecutionStatus,
} from './executor.js';
import type { ExecutionPlan } from './params.js';
import { sessionPolicyFor } from './permissions.js';
import { assumeExecutionRole } from './role.js';
import type { WaitOptions } from './wait.js';

export interface ExecutionJobDeps {
  /** Calls api.* (as the agent: the caller is passed to runExecution). */
  api: Pick<Api, 'call'>;
  dataKeys: DataKeys;
  settings: CloudSettings;
  logger: Logger;
  wait?: Partial<WaitOptions>;
}

/** An execution as api.execution_get returns it. */
export interface ExecutionView {
  id: string;
  facility_id: string;
  connection_id: string;
  plan_id: string;
  plan_record_hash: string;
  action_class: 'security' | 'cost' | 'drift';
  kind: 'apply' | 'rollback';
  rollback_of: string | null;
  auto_applied: boolean;
  status: ExecutionStatus | 'queued';
  progress: ExecutionProgress | null;
  plan: {
    account_id: string;
    action_class: string;
    steps: Array<{
      actionId: string;
      resourceArn: string;
      params: unknown;
      approvedState: unknown;
      region?: string;
    }>;
  };
  original: { execution_id: string; plan_id: string; status: string } | null;
}

const TERMINAL = ['succeeded', 'failed', 'rolled_back', 'rollback_incomplete'];

/** The executor's plan for an execution (a rollback runs the original plan backwards). */
export function executorPlan(e: ExecutionView): ExecutionPlan {
  return validatePlan({
    planId: e.kind === 'rollback' ? e.original!.plan_id : e.plan_id,
    accountId: e.plan.account_id,
    actionClass: e.action_class,
    steps: e.plan.steps.map((s) => ({
      actionId: s.actionId,
      resourceArn: s.resourceArn,
      params: s.params,
      approvedState: s.approvedState,
    })),
  });
}

/** A progress record for an execution that could not begin (nothing was changed). */
function refusedProgress(
  e: ExecutionView,
  plan: ExecutionPlan | null,
  err: AppError,
): ExecutionProgress {
  const now = new Date().toISOString();
  return {
    version: 1,
    executionId: e.id,
    planId: e.plan_id,
    planSha256: plan ? planSha256(plan) : '',
    status: 'failed',
    failure: {
      stepIndex: -1,
      phase: 'validate',
      code: err.code,
      reason: err.reason ?? err.code,
      message: redactSecrets(err.publicMessage),
    },
    steps: e.plan.steps.map((s, index) => ({
      index,
      actionId: s.actionId as ExecutionProgress['steps'][number]['actionId'],
      resourceArn: s.resourceArn,
      state: 'pending',
      artifacts: {},
    })),
    startedAt: now,
    updatedAt: now,
    finishedAt: now,
  };
}

function asAppError(e: unknown): AppError {
  return e instanceof AppError
    ? e
    : new AppError('internal', 'the execution could not start', {
        reason: 'unexpected_error',
        internal: redactSecrets(e instanceof Error ? e.message : String(e)),
      });
}

/**
 * Run (or resume) one execution as the agent. Throws only when the progress could not be stored
 * (the job fails and is retried: the next attempt resumes); every other outcome is recorded.
 */
export async function runExecution(
  deps: ExecutionJobDeps,
  agent: Caller,
  organizationId: string,
  executionId: string,
): Promise<{ status: string }> {
  const { api } = deps;
  const log = deps.logger.child({ executionId });
  const e = await api.call<ExecutionView>('execution_get', agent, executionId);
  if (TERMINAL.includes(e.status)) {
    log.info({ status: e.status }, 'execution already finished');
    return { status: e.status };
  }
  const finish = async (status: string, progress: ExecutionProgress) => {
    await api.call('execution_finish', agent, e.id, status, progress);
    return { status };
  };

  let plan: ExecutionPlan | null = null;
  let credentials;
  try {
    plan = executorPlan(e);
    const creds = await api.call<{ role_arn_sealed: string; external_ids: string[] }>(
      'connection_credentials',
      agent,
      e.connection_id,
      e.action_class,
    );
    const roleArn = await deps.dataKeys.open(
      agent,
      organizationId,
      creds.role_arn_sealed,
      sealContext(organizationId, e.connection_id, e.action_class),
    );
    credentials = await assumeExecutionRole({
      ...(deps.settings.platformCredentials
        ? { platformCredentials: deps.settings.platformCredentials }
        : {}),
      ...(deps.settings.endpointUrl ? { endpoint: deps.settings.endpointUrl } : {}),
      roleArn,
      externalId: creds.external_ids[0] ?? '',
      executionId: e.id,
      sessionPolicy: sessionPolicyFor(plan),
    });
  } catch (err) {
    // A resumed execution may have changed things: it is never closed here, the job retries.
    if (e.progress) throw err;
    const appErr = asAppError(err);
    log.warn({ code: appErr.code, reason: appErr.reason }, 'execution could not start');
    const progress = refusedProgress(e, plan, appErr);
    return await finish(progress.status, progress);
  }

  const onProgress = async ({
    progress,
    audit,
  }: {
    progress: ExecutionProgress;
    audit?: unknown;
  }): Promise<void> => {
    await api.call('execution_progress', agent, e.id, progress, audit ?? null);
  };
  const common = {
    plan,
    credentials,
    onProgress,
    ...(deps.settings.endpointUrl ? { aws: { endpoint: deps.settings.endpointUrl } } : {}),
    ...(deps.wait ? { wait: deps.wait } : {}),
  };
  let result: ExecutionResult;
  if (e.kind === 'rollback') {
    if (!e.progress)
      throw new AppError('conflict', 'a rollback needs the progress of the execution it undoes', {
        reason: 'not_rollbackable',
      });
    result = await rollbackExecution({ ...common, progress: e.progress });
  } else {
    result = await executePlan({
      ...common,
      executionId: e.id,
      ...(e.progress ? { progress: e.progress } : {}),
    });
  }
  log.info({ status: result.status }, 'execution done');
  return await finish(result.status, result.progress);
}
