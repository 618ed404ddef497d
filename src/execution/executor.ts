// The executor: runs an approved plan's actions in order against AWS with the execution role's
// credentials, reports progress after every step so the caller can persist it, and on any
// failure rolls back the completed actions in reverse order and verifies the rollback.
//
// Pure inputs → callbacks + result, so a queue job can drive it:
//   executePlan({ plan, credentials, progress?, onProgress })
// With `progress` (what onProgress last persisted) it resumes after a crash: verified steps are
// skipped, a step caught between pre-flight and apply is re-read and its effect recognised
// (never applied twice), a rollback in progress continues. When onProgress fails (the progress
// could not be stored), the executor stops at once, as a crash would, and a later resume picks up.
import { createHash, randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { AppError } from '../errors.js';
import { redactSecrets } from '../security/redact.js';
import { ACTIONS, type ExecutableActionId, type Reversibility } from './catalog.js';
import {
  AwsClients,
  awsErrorCode,
  type AwsEndpointOptions,
  type ExecutionCredentials,
} from './clients.js';
import { handlerFor } from './actions/index.js';
import {
  sameState,
  stableStringify,
  type ActionContext,
  type ActionHandler,
  type Preflight,
} from './actions/types.js';
import { planSchema, stepTargetProblem, type ExecutionPlan, type PlanStep } from './params.js';
import { DEFAULT_WAIT, type WaitOptions } from './wait.js';

// ---------- the progress record ----------

export type StepState =
  'pending' | 'preflighted' | 'applied' | 'verified' | 'rolled_back' | 'failed';
export type ExecutionStatus =
  'running' | 'rolling_back' | 'succeeded' | 'failed' | 'rolled_back' | 'rollback_incomplete';
export type Phase =
  'validate' | 'preflight' | 'recheck' | 'apply' | 'verify' | 'rollback' | 'verify_rollback';

export interface StepError {
  phase: Phase;
  /** AppError code, or 'aws' for an AWS error. */
  code: string;
  /** AppError reason, or the AWS error code. */
  reason: string;
  message: string;
}

export interface StepProgress {
  index: number;
  actionId: ExecutableActionId;
  resourceArn: string;
  state: StepState;
  /** Pre-flight capture (the before-state) and its SHA-256 (canonical JSON). */
  preflight?: Preflight;
  preflightSha256?: string;
  /** What apply returned; { alreadyApplied: true } when a resume found the effect in place. */
  applied?: unknown;
  /** The verified state after the change. */
  after?: unknown;
  /** Ids created along the way (pre-flight snapshot, restored volume), stored before use. */
  artifacts: Record<string, string>;
  rollback?: {
    status: 'rolled_back' | 'not_needed' | 'irreversible' | 'failed';
    result?: unknown;
    /** The state read after the rollback. */
    state?: unknown;
    error?: StepError;
  };
  error?: StepError;
}

export interface ExecutionProgress {
  version: 1;
  executionId: string;
  planId: string;
  /** SHA-256 of the plan (canonical JSON): a resume must present the same plan. */
  planSha256: string;
  status: ExecutionStatus;
  /** The failure that started the rollback. */
  failure?: StepError & { stepIndex: number };
  /** A rollback asked for after success (itself approved). */
  rollbackRequested?: boolean;
  steps: StepProgress[];
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
}

/** One audit event per state change of an action: before, after and the rollback strategy. */
export interface ExecutionAuditEvent {
  type:
    | 'execution.action_applied'
    | 'execution.action_failed'
    | 'execution.action_rolled_back'
    | 'execution.action_rollback_failed'
    | 'execution.action_irreversible';
  executionId: string;
  planId: string;
  accountId: string;
  stepIndex: number;
  actionId: ExecutableActionId;
  resourceArn: string;
  before: unknown;
  after: unknown;
  rollbackStrategy: { reversibility: Reversibility; description: string };
  error?: StepError;
}

export interface ProgressUpdate {
  /** The whole record, to store (replacing the previous one). */
  progress: ExecutionProgress;
  /** The audit event this transition produced, to store in the same transaction. */
  audit?: ExecutionAuditEvent;
}

export interface ExecuteOptions {
  plan: ExecutionPlan;
  /** The execution role's credentials (assumeExecutionRole), or a provider that renews them. */
  credentials: ExecutionCredentials;
  /** The progress last persisted, to resume; absent for a new execution. */
  progress?: ExecutionProgress;
  /** A new execution's id; default a random UUID. */
  executionId?: string;
  /** Called after every transition; must persist before resolving. */
  onProgress?: (update: ProgressUpdate) => void | Promise<void>;
  aws?: AwsEndpointOptions;
  wait?: Partial<WaitOptions>;
}

export interface ExecutionResult {
  status: ExecutionStatus;
  progress: ExecutionProgress;
  /** The audit events of this run (also delivered through onProgress). */
  audit: ExecutionAuditEvent[];
}

// ---------- validation ----------

function issuesText(e: z.ZodError): string {
  return e.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(plan)'}: ${i.message}`)
    .join('; ');
}

/** Validate a plan (it may come from a job payload): shape, action class, order. */
export function validatePlan(input: unknown): ExecutionPlan {
  const r = planSchema.safeParse(input);
  if (!r.success)
    throw new AppError('invalid_input', `the plan is not valid: ${issuesText(r.error)}`, {
      reason: 'invalid_plan',
    });
  const plan = r.data as ExecutionPlan;
  const seen = new Set<string>();
  let irreversibleSeen = false;
  plan.steps.forEach((s, i) => {
    const info = ACTIONS[s.actionId];
    if (info.actionClass !== plan.actionClass)
      throw new AppError(
        'rule_violation',
        `step ${i} (${s.actionId}) belongs to the ${info.actionClass} class, not ${plan.actionClass}: one execution role runs one class`,
        { reason: 'action_class_mismatch' },
      );
    const key = `${s.actionId} ${s.resourceArn}`;
    if (seen.has(key))
      throw new AppError('invalid_input', `step ${i} repeats ${key}`, { reason: 'duplicate_step' });
    // The blast radius and the risk are derived from resourceArn; the action touches what params name.
    const problem = stepTargetProblem(s, plan.accountId);
    if (problem)
      throw new AppError(
        'rule_violation',
        `step ${i} (${s.actionId}): ${problem}: a step acts on the resource it names`,
        { reason: 'step_target_mismatch' },
      );
    seen.add(key);
    if (info.reversibility === 'irreversible') irreversibleSeen = true;
    else if (irreversibleSeen)
      throw new AppError(
        'rule_violation',
        `step ${i} (${s.actionId}) comes after an irreversible action: irreversible actions go last, so a later failure never needs them undone`,
        { reason: 'irreversible_not_last' },
      );
  });
  return plan;
}

const sha256 = (v: unknown) => createHash('sha256').update(stableStringify(v)).digest('hex');
export const planSha256 = (plan: ExecutionPlan): string => sha256(plan);

function checkProgress(p: unknown, plan: ExecutionPlan): ExecutionProgress {
  const x = p as Partial<ExecutionProgress> | null;
  if (
    !x ||
    x.version !== 1 ||
    typeof x.executionId !== 'string' ||
    !Array.isArray(x.steps) ||
    x.steps.length !== plan.steps.length ||
    typeof x.status !== 'string'
  )
    throw new AppError(
      'invalid_input',
      'the persisted progress is not an execution progress record',
      {
        reason: 'invalid_progress',
      },
    );
  if (x.planSha256 !== planSha256(plan))
    throw new AppError('conflict', 'the plan changed since this execution started', {
      reason: 'plan_changed',
    });
  return structuredClone(x as ExecutionProgress);
}

function newProgress(plan: ExecutionPlan, executionId: string): ExecutionProgress {
  const now = new Date().toISOString();
  return {
    version: 1,
    executionId,
    planId: plan.planId,
    planSha256: planSha256(plan),
    status: 'running',
    steps: plan.steps.map((s, index) => ({
      index,
      actionId: s.actionId,
      resourceArn: s.resourceArn,
      state: 'pending',
      artifacts: {},
    })),
    startedAt: now,
    updatedAt: now,
  };
}

function toStepError(phase: Phase, e: unknown): StepError {
  if (e instanceof AppError)
    return {
      phase,
      code: e.code,
      reason: e.reason ?? e.code,
      message: redactSecrets(e.publicMessage),
    };
  const aws = awsErrorCode(e);
  const message = e instanceof Error ? e.message : String(e);
  return {
    phase,
    code: aws ? 'aws' : 'internal',
    reason: aws ?? 'unexpected_error',
    message: redactSecrets(aws ? `${aws}: ${message}` : message).slice(0, 1000),
  };
}

/** The progress could not be stored: stop now, as a crash would. */
class Interrupted extends Error {}

// ---------- the run ----------

class Run {
  readonly audit: ExecutionAuditEvent[] = [];
  readonly aws: AwsClients;
  readonly wait: WaitOptions;

  constructor(
    readonly plan: ExecutionPlan,
    readonly progress: ExecutionProgress,
    private readonly opts: ExecuteOptions,
  ) {
    this.aws = new AwsClients(opts.credentials, opts.aws);
    this.wait = { ...DEFAULT_WAIT, ...opts.wait };
  }

  async persist(audit?: ExecutionAuditEvent): Promise<void> {
    this.progress.updatedAt = new Date().toISOString();
    if (audit) this.audit.push(audit);
    try {
      await this.opts.onProgress?.({ progress: structuredClone(this.progress), audit });
    } catch (e) {
      throw new Interrupted('progress not persisted', { cause: e });
    }
  }

  ctx(i: number): ActionContext {
    const s = this.progress.steps[i]!;
    return {
      aws: this.aws,
      accountId: this.plan.accountId,
      executionId: this.progress.executionId,
      stepIndex: i,
      wait: this.wait,
      get artifacts() {
        return s.artifacts;
      },
      checkpoint: async (update) => {
        s.artifacts = { ...s.artifacts, ...update };
        await this.persist();
      },
      token: (purpose) =>
        createHash('sha256')
          .update(`${this.progress.executionId}/${i}/${purpose}`)
          .digest('hex')
          .slice(0, 64),
    };
  }

  event(
    type: ExecutionAuditEvent['type'],
    i: number,
    after: unknown,
    error?: StepError,
  ): ExecutionAuditEvent {
    const step = this.plan.steps[i]!;
    const s = this.progress.steps[i]!;
    const h = handler(step);
    return {
      type,
      executionId: this.progress.executionId,
      planId: this.plan.planId,
      accountId: this.plan.accountId,
      stepIndex: i,
      actionId: step.actionId,
      resourceArn: step.resourceArn,
      before: s.preflight ?? null,
      after: after ?? null,
      rollbackStrategy: {
        reversibility: ACTIONS[step.actionId].reversibility,
        description: s.preflight
          ? h.rollbackStrategy(step.params, s.preflight)
          : 'nothing to undo (no pre-flight capture)',
      },
      ...(error ? { error } : {}),
    };
  }

  /** Pre-flight, recheck, apply, verify one step; resumes from its recorded state. */
  async forward(i: number): Promise<void> {
    const step = this.plan.steps[i]!;
    const s = this.progress.steps[i]!;
    const h = handler(step);
    const p = step.params;
    const ctx = this.ctx(i);
    let phase: Phase = 'preflight';
    try {
      if (s.state === 'pending') {
        const changed = (found: unknown) =>
          new AppError(
            'conflict',
            `${step.resourceArn} changed since the plan was approved: found ${stableStringify(found)}, approved ${stableStringify(step.approvedState)}`,
            { reason: 'state_changed_since_approval' },
          );
        // Checked before the capture, so no snapshot is taken of a resource that changed.
        const seen = await h.observe(ctx, p);
        if (!sameState(seen, step.approvedState)) throw changed(seen);
        const pre = await h.preflight(ctx, p, false);
        if (!sameState(pre.state, step.approvedState)) throw changed(pre.state);
        s.preflight = pre;
        s.preflightSha256 = sha256(pre);
        s.state = 'preflighted';
        await this.persist();
      }
      const pre = s.preflight!;
      if (s.state === 'preflighted') {
        // Compare-and-swap: re-read just before the change.
        phase = 'recheck';
        const now = await h.observe(ctx, p);
        let applyNow: boolean;
        if (sameState(now, pre.state)) applyNow = true;
        else if (h.isApplied(now, p, pre)) applyNow = false;
        else if (h.canContinue?.(now, p, pre)) applyNow = true;
        else
          throw new AppError(
            'conflict',
            `${step.resourceArn} changed between pre-flight and apply: found ${stableStringify(now)}, captured ${stableStringify(pre.state)}`,
            { reason: 'state_changed_since_preflight' },
          );
        phase = 'apply';
        s.applied = applyNow ? ((await h.apply(ctx, p, pre)) ?? null) : { alreadyApplied: true };
        s.state = 'applied';
        await this.persist();
      }
      if (s.state === 'applied') {
        phase = 'verify';
        s.after = await h.verify(ctx, p, pre, s.applied);
        s.state = 'verified';
        await this.persist(this.event('execution.action_applied', i, s.after));
      }
    } catch (e) {
      if (e instanceof Interrupted) throw e;
      const error = toStepError(phase, e);
      s.state = 'failed';
      s.error = error;
      this.progress.status = 'rolling_back';
      this.progress.failure = { ...error, stepIndex: i };
      await this.persist(this.event('execution.action_failed', i, null, error));
    }
  }

  /** Undo steps last..0 in reverse order; verify each undo. */
  async rollbackFrom(last: number): Promise<void> {
    let incomplete = false;
    for (let j = last; j >= 0; j--) {
      const step = this.plan.steps[j]!;
      const s = this.progress.steps[j]!;
      if (s.state === 'pending' || s.state === 'rolled_back') continue;
      if (s.rollback && s.rollback.status !== 'failed') {
        if (s.rollback.status === 'irreversible') incomplete = true;
        continue;
      }
      const h = handler(step);
      const p = step.params;
      const ctx = this.ctx(j);
      if (
        !s.preflight ||
        (s.state === 'failed' && ['preflight', 'recheck'].includes(s.error?.phase ?? ''))
      ) {
        // It failed before its apply was sent: Axiom changed nothing there (and whatever changed
        // the resource meanwhile is someone else's change, not Axiom's to undo).
        s.rollback = { status: 'not_needed' };
        await this.persist();
        continue;
      }
      const pre = s.preflight;
      let phase: Phase = 'rollback';
      try {
        if (s.state === 'failed' || s.state === 'preflighted' || s.rollback?.status === 'failed') {
          // A step that failed may or may not have changed anything: look before undoing.
          const now = await h.observe(ctx, p).catch(() => undefined);
          if (now !== undefined && sameState(now, pre.state)) {
            s.rollback = { status: 'not_needed', state: now };
            await this.persist();
            continue;
          }
        }
        if (!h.rollback || !h.verifyRollback) {
          s.rollback = { status: 'irreversible' };
          incomplete = true;
          await this.persist(this.event('execution.action_irreversible', j, s.after));
          continue;
        }
        const result = (await h.rollback(ctx, p, pre, s.applied)) ?? null;
        phase = 'verify_rollback';
        const state = await h.verifyRollback(ctx, p, pre, result);
        s.rollback = { status: 'rolled_back', result, state };
        if (s.state !== 'failed') s.state = 'rolled_back';
        await this.persist(this.event('execution.action_rolled_back', j, state));
      } catch (e) {
        if (e instanceof Interrupted) throw e;
        // The step keeps its state (a retry of the rollback may still succeed).
        const error = toStepError(phase, e);
        s.rollback = { status: 'failed', error };
        incomplete = true;
        await this.persist(this.event('execution.action_rollback_failed', j, null, error));
      }
    }
    this.finish(
      incomplete
        ? 'rollback_incomplete'
        : this.progress.rollbackRequested
          ? 'rolled_back'
          : 'failed',
    );
    await this.persist();
  }

  finish(status: ExecutionStatus): void {
    this.progress.status = status;
    this.progress.finishedAt = new Date().toISOString();
  }

  result(): ExecutionResult {
    return {
      status: this.progress.status,
      progress: structuredClone(this.progress),
      audit: this.audit,
    };
  }
}

function handler(step: PlanStep): ActionHandler {
  return handlerFor(step.actionId) as unknown as ActionHandler;
}

const TERMINAL: ExecutionStatus[] = ['succeeded', 'failed', 'rolled_back', 'rollback_incomplete'];

/** Run (or resume) an approved plan. */
export async function executePlan(opts: ExecuteOptions): Promise<ExecutionResult> {
  const plan = validatePlan(opts.plan);
  const progress = opts.progress
    ? checkProgress(opts.progress, plan)
    : newProgress(plan, opts.executionId ?? randomUUID());
  const run = new Run(plan, progress, opts);
  try {
    if (TERMINAL.includes(progress.status)) return run.result();
    if (!opts.progress) await run.persist();
    if (progress.status === 'running') {
      for (let i = 0; i < plan.steps.length; i++) {
        await run.forward(i);
        if (progress.status !== 'running') break;
      }
      if (progress.status === 'running') {
        run.finish('succeeded');
        await run.persist();
        return run.result();
      }
    }
    // rolling_back: from the failed step (or the last one, for a requested rollback) down.
    const from = progress.failure?.stepIndex ?? plan.steps.length - 1;
    await run.rollbackFrom(from);
    return run.result();
  } catch (e) {
    if (e instanceof Interrupted)
      throw new AppError(
        'unavailable',
        'the execution stopped because its progress could not be stored; resume it from the last stored progress',
        { reason: 'progress_not_persisted', cause: e.cause },
      );
    throw e;
  } finally {
    run.aws.destroy();
  }
}

/**
 * Roll back a finished execution on request (the request itself approved elsewhere): every
 * verified step in reverse order. Also resumes an interrupted rollback or retries an incomplete one.
 */
export async function rollbackExecution(
  opts: Omit<ExecuteOptions, 'progress' | 'executionId'> & { progress: ExecutionProgress },
): Promise<ExecutionResult> {
  const plan = validatePlan(opts.plan);
  const progress = checkProgress(opts.progress, plan);
  if (!['succeeded', 'rolling_back', 'rollback_incomplete'].includes(progress.status))
    throw new AppError(
      'conflict',
      `an execution that is ${progress.status} cannot be rolled back`,
      { reason: 'not_rollbackable' },
    );
  const run = new Run(plan, progress, opts);
  try {
    if (progress.status === 'succeeded') {
      progress.rollbackRequested = true;
      progress.status = 'rolling_back';
      delete progress.finishedAt;
      await run.persist();
    } else progress.status = 'rolling_back';
    await run.rollbackFrom(progress.failure?.stepIndex ?? plan.steps.length - 1);
    return run.result();
  } catch (e) {
    if (e instanceof Interrupted)
      throw new AppError(
        'unavailable',
        'the rollback stopped because its progress could not be stored',
        {
          reason: 'progress_not_persisted',
          cause: e.cause,
        },
      );
    throw e;
  } finally {
    run.aws.destroy();
  }
}
