// Shared setup for the execution tests: a small sandbox account, the opt-in execution role a
// customer would create from Axiom's policy, credentials assumed with the plan's session policy,
// and candidates built from the account's planted problems.
import { randomUUID } from 'node:crypto';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import {
  startSandbox,
  type AnswerKeyEntry,
  type ProblemId,
  type Sandbox,
  type StateDiff,
} from '../../src/sandbox/index.js';
import type { ActionClass } from '../../src/execution/catalog.js';
import type { ExecutionPlan } from '../../src/execution/params.js';
import { executionRolePolicy, sessionPolicyFor } from '../../src/execution/permissions.js';
import { assumeExecutionRole } from '../../src/execution/role.js';
import {
  buildCandidate,
  type CandidateOptions,
  type ExecutableCandidate,
  type RemediationCandidate,
} from '../../src/plans/candidates.js';
import { findingFor, inventoryFromDump } from './inventory.js';

export const WAIT = { pollMs: 5, timeoutMs: 10_000 };
export const FAST_DELAYS = { snapshotMs: 40, instanceTransitionMs: 40, volumeModificationMs: 40 };

export interface Env {
  sb: Sandbox;
  accountId: string;
  roles: Record<ActionClass, { roleArn: string; externalId: string }>;
}

export async function startEnv(
  seed: string,
  opts: { size?: number; include?: ProblemId[] } = {},
): Promise<Env> {
  const sb = await startSandbox({
    accounts: [
      {
        seed,
        size: opts.size ?? 60,
        regions: ['us-east-1', 'eu-west-1'],
        ...(opts.include ? { include: opts.include } : {}),
      },
    ],
    delays: FAST_DELAYS,
  });
  const accountId = sb.accounts[0]!.accountId;
  const roles = {} as Env['roles'];
  for (const cls of ['security', 'cost', 'drift'] as const) {
    const externalId = randomUUID();
    const r = sb.control.createScanRole(accountId, {
      externalId,
      roleName: `AxiomExecution${cls[0]!.toUpperCase()}${cls.slice(1)}Role`,
      managedPolicyArns: [],
      inlinePolicy: executionRolePolicy(cls),
    });
    roles[cls] = { roleArn: r.roleArn, externalId };
  }
  return { sb, accountId, roles };
}

export function inventory(env: Env) {
  return inventoryFromDump(env.sb.control.dumpState(env.accountId));
}

/** Every answer-key entry of a problem. */
export function planted(env: Env, problem: ProblemId): AnswerKeyEntry[] {
  return env.sb.control.answerKey(env.accountId).filter((e) => e.problem === problem);
}

export function candidateFor(
  env: Env,
  problem: ProblemId,
  opts: CandidateOptions = {},
  pick: (e: AnswerKeyEntry) => boolean = () => true,
): RemediationCandidate {
  const entry = planted(env, problem).find(pick);
  if (!entry) throw new Error(`no planted ${problem}`);
  return buildCandidate(findingFor(inventory(env), entry), undefined, opts);
}

export function executable(c: RemediationCandidate): ExecutableCandidate {
  if (c.manualReviewRequired) throw new Error(`${c.checkId} is manual: ${c.reason}`);
  return c;
}

export function planOf(
  env: Env,
  candidates: ExecutableCandidate[],
  planId: string = randomUUID(),
): ExecutionPlan {
  return {
    planId,
    accountId: env.accountId,
    actionClass: candidates[0]!.actionClass,
    steps: candidates.map((c) => c.step),
  };
}

/** The execution role of the plan's class, assumed with the plan's session policy. */
export async function credentialsFor(
  env: Env,
  plan: ExecutionPlan,
  opts: { dryRun?: boolean; sessionPolicy?: string } = {},
): Promise<AwsCredentialIdentity> {
  const role = env.roles[plan.actionClass];
  return assumeExecutionRole({
    platformCredentials: env.sb.platform.credentials,
    endpoint: env.sb.endpoint,
    roleArn: role.roleArn,
    externalId: role.externalId,
    executionId: plan.planId,
    sessionPolicy:
      opts.sessionPolicy ??
      sessionPolicyFor(plan, opts.dryRun ? { simulateAsRoleArn: role.roleArn } : {}),
  });
}

/** Write calls the sandbox answered (no Describe/Get/List), optionally for one operation. */
export function writeCalls(env: Env, operation?: string) {
  return env.sb.control
    .calls({ accountId: env.accountId })
    .filter(
      (c) =>
        c.status < 300 &&
        !/^(Describe|Get|List|Simulate|Head)/.test(c.operation) &&
        c.service !== 'sts' &&
        (operation === undefined || c.operation === operation),
    );
}

export const paths = (d: StateDiff[]) => d.map((x) => `${x.kind} ${x.path}`);
