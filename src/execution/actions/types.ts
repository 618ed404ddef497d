// What every remediation action implements, and the helpers most of them share.
//
// The life of one action in an execution:
//   preflight  — read the exact state the inverse needs ("absent" recorded as such); destructive
//                actions also take a snapshot here and wait for it to complete
//   recheck    — (executor) read again just before applying; abort when it differs
//   apply      — make the change, unless its effect is already there (idempotent re-apply)
//   verify     — wait for and check the expected state
//   rollback   — the inverse, from the pre-flight capture (idempotent too)
//   verifyRollback — check that the pre-flight state is back
import { AppError } from '../../errors.js';
import type { AwsClients } from '../clients.js';
import type { ExecutableActionId } from '../catalog.js';
import type { ParamsOf } from '../params.js';
import { waitFor, type WaitOptions } from '../wait.js';

export interface ActionContext {
  aws: AwsClients;
  accountId: string;
  executionId: string;
  stepIndex: number;
  wait: WaitOptions;
  /** Artifacts this step recorded so far (a snapshot id, a restored volume id); survive a crash. */
  artifacts: Readonly<Record<string, string>>;
  /** Persist artifacts before anything depends on them (the caller's progress store). */
  checkpoint(update: Record<string, string>): Promise<void>;
  /** A deterministic idempotency token for one purpose of this step (AWS ClientToken). */
  token(purpose: string): string;
}

/** An IAM permission the action needs. */
export interface Permission {
  action: string;
  resource: string;
}

export interface PermissionNeed extends Permission {
  phase: 'read' | 'preflight' | 'apply' | 'rollback';
  /**
   * EC2 checks the permission for real with DryRun=true (DryRunOperation = allowed,
   * UnauthorizedOperation = refused). Other services are simulated (iam:SimulatePrincipalPolicy).
   */
  dryRun?: (ctx: ActionContext, observed: unknown) => Promise<unknown>;
}

export interface Preflight<S = unknown, C = unknown> {
  /** The observed state (compared with the approval and at recheck). */
  state: S;
  /** Everything else the inverse needs, exactly as AWS returned it. */
  capture: C;
}

export interface ActionHandler<K extends ExecutableActionId = ExecutableActionId> {
  id: K;
  /** Read the current state, in the shape approvals are checked against. */
  observe(ctx: ActionContext, p: ParamsOf<K>): Promise<unknown>;
  /** Capture the pre-flight state. Live runs may create a snapshot here (dryRun: reads only). */
  preflight(ctx: ActionContext, p: ParamsOf<K>, dryRun: boolean): Promise<Preflight>;
  /** Is the effect of the action present in this observed state? */
  isApplied(state: unknown, p: ParamsOf<K>, pre: Preflight): boolean;
  /**
   * An apply of several calls interrupted half-way (a crash) leaves a state that is neither the
   * pre-flight state nor the effect; may apply continue from it? Default: no (abort).
   */
  canContinue?(state: unknown, p: ParamsOf<K>, pre: Preflight): boolean;
  /** Make the change (the executor only calls it when the effect is not there yet). */
  apply(ctx: ActionContext, p: ParamsOf<K>, pre: Preflight): Promise<unknown>;
  /** Wait for and check the expected state; returns the state after the change. */
  verify(ctx: ActionContext, p: ParamsOf<K>, pre: Preflight, applied: unknown): Promise<unknown>;
  /** The state the change is expected to produce (dry run). */
  expected(p: ParamsOf<K>, pre: Preflight): unknown;
  /** The inverse; absent for irreversible actions. Idempotent: does nothing when already undone. */
  rollback?(ctx: ActionContext, p: ParamsOf<K>, pre: Preflight, applied: unknown): Promise<unknown>;
  /** Check the rollback restored the pre-flight state; returns the state read. */
  verifyRollback?(
    ctx: ActionContext,
    p: ParamsOf<K>,
    pre: Preflight,
    rolledBack: unknown,
  ): Promise<unknown>;
  /** Every permission the action needs, for the session policy and the dry run. */
  permissions(p: ParamsOf<K>, accountId: string): PermissionNeed[];
  /** How the change is undone, in words, for the audit event. */
  rollbackStrategy(p: ParamsOf<K>, pre: Preflight): string;
}

// ---------- helpers ----------

/** JSON with sorted keys: the comparison and hashing form of observed states. */
export function stableStringify(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}
export const sameState = (a: unknown, b: unknown): boolean =>
  stableStringify(a) === stableStringify(b);

export const ec2Arn = (region: string, account: string, type: string, id: string): string =>
  `arn:aws:ec2:${region}:${account}:${type}/${id}`;
/** Snapshots and AMIs are named without an account in IAM ARNs. */
export const ec2ArnNoAccount = (region: string, type: string, id: string): string =>
  `arn:aws:ec2:${region}::${type}/${id}`;

/** The resource no longer exists (or never did). */
export function resourceGone(what: string): AppError {
  return new AppError('not_found', `${what} does not exist`, { reason: 'resource_not_found' });
}

export function verificationFailed(what: string, expected: unknown, actual: unknown): AppError {
  return new AppError(
    'conflict',
    `verification failed: ${what} is ${stableStringify(actual)}, expected ${stableStringify(expected)}`,
    { reason: 'verification_failed' },
  );
}

/** Poll `observe` until the predicate holds; throws verification_failed with the last value. */
export async function expectState<S>(
  ctx: ActionContext,
  what: string,
  observe: () => Promise<S>,
  ok: (s: S) => boolean,
  expected: unknown,
): Promise<S> {
  let last: S | undefined;
  try {
    return await waitFor(
      what,
      async () => (last = await observe()),
      ok,
      // Configuration reads are eventually consistent on AWS: poll briefly, not for minutes.
      { pollMs: ctx.wait.pollMs, timeoutMs: Math.min(ctx.wait.timeoutMs, 120_000) },
    );
  } catch (e) {
    if (e instanceof AppError && e.reason === 'wait_timeout')
      throw verificationFailed(what, expected, last);
    throw e;
  }
}

/**
 * An action that sets a piece of configuration and whose inverse sets it back: `write(desired)`
 * makes the observed state equal to `desired` (the target on apply, the pre-flight state on
 * rollback). Most of Axiom's actions are of this kind.
 */
export function settingAction<K extends ExecutableActionId, S, C = null>(def: {
  id: K;
  what: (p: ParamsOf<K>) => string;
  observe(ctx: ActionContext, p: ParamsOf<K>): Promise<S>;
  capture?(ctx: ActionContext, p: ParamsOf<K>, state: S): Promise<C>;
  target(pre: S, p: ParamsOf<K>): S;
  write(
    ctx: ActionContext,
    p: ParamsOf<K>,
    desired: S,
    phase: 'apply' | 'rollback',
    pre: Preflight<S, C>,
  ): Promise<void>;
  /** Is a rollback verified? Default: the state equals the pre-flight state. */
  rolledBack?(state: S, pre: S): boolean;
  permissions(p: ParamsOf<K>, accountId: string): PermissionNeed[];
  rollbackStrategy(p: ParamsOf<K>, pre: Preflight<S, C>): string;
}): ActionHandler<K> {
  const rolledBack = def.rolledBack ?? ((s: S, pre: S) => sameState(s, pre));
  return {
    id: def.id,
    observe: (ctx, p) => def.observe(ctx, p),
    async preflight(ctx, p) {
      const state = await def.observe(ctx, p);
      const capture = def.capture ? await def.capture(ctx, p, state) : null;
      return { state, capture };
    },
    isApplied: (state, p, pre) => sameState(state, def.target(pre.state as S, p)),
    async apply(ctx, p, pre) {
      await def.write(ctx, p, def.target(pre.state as S, p), 'apply', pre as Preflight<S, C>);
      return null;
    },
    async verify(ctx, p, pre) {
      const target = def.target(pre.state as S, p);
      return expectState(
        ctx,
        def.what(p),
        () => def.observe(ctx, p),
        (s) => sameState(s, target),
        target,
      );
    },
    expected: (p, pre) => def.target(pre.state as S, p),
    async rollback(ctx, p, pre) {
      const now = await def.observe(ctx, p);
      // Exactly the pre-flight state: nothing to undo. (A state that only *counts* as rolled
      // back, like SSE-S3 for "no encryption", is still written back as closely as AWS allows.)
      if (sameState(now, pre.state)) return { alreadyRolledBack: true };
      await def.write(ctx, p, pre.state as S, 'rollback', pre as Preflight<S, C>);
      return null;
    },
    async verifyRollback(ctx, p, pre) {
      return expectState(
        ctx,
        def.what(p),
        () => def.observe(ctx, p),
        (s) => rolledBack(s, pre.state as S),
        pre.state,
      );
    },
    permissions: (p, accountId) => def.permissions(p, accountId),
    rollbackStrategy: (p, pre) => def.rollbackStrategy(p, pre as Preflight<S, C>),
  };
}

/** EC2 DryRun: send the command with DryRun=true; DryRunOperation means it would be allowed. */
export async function ec2DryRun(send: () => Promise<unknown>): Promise<'allowed'> {
  try {
    await send();
  } catch (e) {
    const name = (e as { name?: string; Code?: string }).name;
    const code = (e as { Code?: string }).Code;
    if (name === 'DryRunOperation' || code === 'DryRunOperation') return 'allowed';
    throw e;
  }
  // A call that succeeds with DryRun set is not a dry run at all: refuse to trust it.
  throw new AppError('internal', 'a DryRun call was executed instead of checked', {
    reason: 'dry_run_not_honoured',
  });
}
