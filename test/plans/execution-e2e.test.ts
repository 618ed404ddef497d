// Issue 7 end to end, against the sandbox over HTTP with the real AWS SDK and the real database:
// scan → findings → a plan the agent proposes → approved with an e-signature (password) → started →
// the execute_plan job (graphile-worker) assumes the execution role with the plan's session policy and
// runs it → the account changed, every action audited, memory updated. Then a failure injected
// mid-plan (the account afterwards equals the account before, field by field), a worker killed
// mid-execution (the next run resumes, no action applied twice), and a rollback on request (itself a
// plan, approved) that puts the account back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScan } from '../../src/cloud/scanner.js';
import type { Caller } from '../../src/db/api.js';
import { AppError } from '../../src/errors.js';
import { executionRolePolicy } from '../../src/execution/permissions.js';
import { runExecution, type ExecutionJobDeps } from '../../src/execution/job.js';
import type { Queue } from '../../src/jobs/queue.js';
import { proposePlanForFindings } from '../../src/plans/service.js';
import { diffStates, startSandbox, type Sandbox, type StateDump } from '../../src/sandbox/index.js';
import { cloudDeps } from '../support/cloud.js';
import { useTestDatabase } from '../support/db.js';
import { quietLogger, startTestWorker, type TestWorker } from '../support/worker.js';
import { auditEvents, approvePlan, planWorld, type Plan, type PlanWorld } from './support.js';

const db = useTestDatabase();
const WAIT = { pollMs: 5, timeoutMs: 10_000 };
const quiet = quietLogger;

let sb: Sandbox;
let accountId: string;
let w: PlanWorld;
let deps: ExecutionJobDeps;
let testWorker: TestWorker | undefined;
let queue: Queue;

interface Finding {
  id: string;
  check_id: string;
  resource_arn: string;
}
interface Execution {
  id: string;
  status: string;
  kind: string;
  progress: { steps: Array<{ state: string }> } | null;
}

beforeAll(async () => {
  const t = db();
  sb = await startSandbox({
    accounts: [
      {
        seed: 'plans-e2e',
        size: 30,
        regions: ['us-east-1'],
        include: [
          's3_bucket_no_public_access_block',
          'ec2_imdsv2_not_required',
          'rds_no_deletion_protection',
          'kms_rotation_off',
          'cloudtrail_no_log_validation',
          'ebs_volume_unattached',
        ],
      },
    ],
    delays: { snapshotMs: 0, instanceTransitionMs: 0, volumeModificationMs: 0 },
  });
  accountId = sb.accounts[0]!.accountId;
  w = await planWorld(t, {
    accountId,
    scanRoleArn: `arn:aws:iam::${accountId}:role/AxiomScanRole`,
    roleArn: (cls) => `arn:aws:iam::${accountId}:role/AxiomExecution-${cls}`,
  });
  // The customer creates the roles with the connection's External ID.
  const conn = await t.api.call<{ external_ids: Array<{ external_id: string }> }>(
    'connection_get',
    w.org.admin.caller,
    w.connectionId,
  );
  const externalId = conn.external_ids[0]!.external_id;
  sb.control.createScanRole(accountId, { externalId });
  for (const cls of ['security', 'cost', 'drift'] as const)
    sb.control.createScanRole(accountId, {
      externalId,
      roleName: `AxiomExecution-${cls}`,
      managedPolicyArns: [],
      inlinePolicy: executionRolePolicy(cls),
    });
  const cloud = cloudDeps(t.api, sb);
  const scan = await t.api.call<{ id: string }>(
    'scan_start',
    w.org.admin.caller,
    w.connectionId,
    'manual',
  );
  const outcome = await runScan(
    {
      ...cloud,
      logger: quiet(),
      limits: { concurrency: 8, ratePerSecond: 1000, serviceBudgetMs: 60_000 },
    },
    w.agent,
    w.org.id,
    scan.id,
  );
  expect(outcome.status).toBe('succeeded');

  testWorker = await startTestWorker(t, () => sb);
  deps = { ...testWorker.cloud, logger: quiet(), wait: WAIT };
  queue = testWorker.queue;
});

afterAll(async () => {
  await testWorker?.stop();
  await sb?.stop();
});

const dump = (): StateDump => sb.control.dumpState(accountId);
const used = new Set<string>();

/** Unused findings of these checks, one each. */
async function findingsOf(...checks: string[]): Promise<string[]> {
  const page = await db().api.call<{ items: Finding[] }>('finding_list', w.reviewer.caller, {
    connection_id: w.connectionId,
    status: 'active',
    limit: 500,
  });
  return checks.map((check) => {
    const f =
      page.items.find((x) => x.check_id === check && !used.has(x.id)) ??
      page.items.find((x) => x.check_id === check);
    if (!f) throw new Error(`no finding ${check}`);
    used.add(f.id);
    return f.id;
  });
}

async function approvedPlan(...checks: string[]): Promise<Plan> {
  const t = db();
  const plan = await proposePlanForFindings<Plan>(t.api, w.agent, await findingsOf(...checks));
  await approvePlan(t, w.reviewer, plan);
  return plan;
}

function writes(operation?: string) {
  return sb.control
    .calls({ accountId })
    .filter(
      (c) =>
        c.status < 300 &&
        !/^(Describe|Get|List|Simulate|Head)/.test(c.operation) &&
        c.service !== 'sts' &&
        (operation === undefined || c.operation === operation),
    );
}

async function waitFor(id: string): Promise<Execution> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const e = await db().api.call<Execution>('execution_get', w.reviewer.caller, id);
    if (!['queued', 'running', 'rolling_back'].includes(e.status)) return e;
    if (Date.now() > deadline) throw new Error(`execution still ${e.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let looped: { executionId: string; before: StateDump };

describe('the whole loop', () => {
  it('scan → findings → plan → signed approval → the queue job → the account changed and audited', async () => {
    const t = db();
    const plan = await approvedPlan(
      's3_bucket_no_public_access_block',
      'ec2_imdsv2_not_required',
      'rds_no_deletion_protection',
    );
    expect(plan).toMatchObject({ risk_tier: 'low', required_approvals: 1 });
    expect(plan.content.steps).toHaveLength(3);
    const before = dump();
    sb.control.clearCalls();
    const started = await t.api.call<Execution>('execution_start', w.agent, plan.id);
    await queue.enqueueExecution({ organization_id: w.org.id, execution_id: started.id });
    const done = await waitFor(started.id);
    expect(done.status).toBe('succeeded');
    expect(done.progress!.steps.map((s) => s.state)).toEqual(['verified', 'verified', 'verified']);
    const changed = diffStates(before, dump()).map((d) => d.path);
    expect(changed.length).toBeGreaterThanOrEqual(3);
    expect(
      writes()
        .map((c) => c.operation)
        .sort(),
    ).toEqual(['ModifyDBInstance', 'ModifyInstanceMetadataOptions', 'PutPublicAccessBlock']);
    const applied = (await auditEvents(t, w.org.id, 'execution.action_applied')).filter(
      (e) => e.target_id === started.id,
    );
    expect(applied).toHaveLength(3);
    for (const e of applied)
      expect(e.details).toMatchObject({
        reversibility: 'reversible',
        rollback_strategy: expect.any(String),
      });
    // before/after are sealed into the event's state (not in the plain details).
    const sealed = await t.superuser.query<{ n: number }>(
      `select count(*)::int as n from audit.audit_events
        where target_id = $1 and event_type = 'execution.action_applied' and state_ciphertext is not null`,
      [started.id],
    );
    expect(sealed.rows[0]!.n).toBe(3);
    const memory = await t.api.call<{
      actions: Array<{ action_id: string; succeeded: number; consecutive_successes: number }>;
    }>('memory_get', w.reviewer.caller, 'ec2.require_imdsv2');
    expect(memory.actions[0]).toMatchObject({ succeeded: 1, consecutive_successes: 1 });
    looped = { executionId: started.id, before };
  });
});

describe('a failure injected mid-plan', () => {
  it('rolls back what was applied: the account equals the account before, field by field', async () => {
    const t = db();
    const plan = await approvedPlan('kms_rotation_off', 'cloudtrail_no_log_validation');
    const before = dump();
    sb.control.clearCalls();
    const fault = sb.control.injectFault({
      kind: 'accessDenied',
      service: 'cloudtrail',
      operation: 'UpdateTrail',
      accountId,
    });
    try {
      const e = await t.api.call<Execution>('execution_start', w.agent, plan.id);
      expect(await runExecution(deps, w.agent, w.org.id, e.id)).toEqual({ status: 'failed' });
      expect(diffStates(before, dump())).toEqual([]);
      expect(writes().map((c) => c.operation)).toEqual(['EnableKeyRotation', 'DisableKeyRotation']);
      const events = await t.superuser.query<{ event_type: string }>(
        `select event_type from audit.audit_events where target_id = $1 order by occurred_at`,
        [e.id],
      );
      expect(events.rows.map((r) => r.event_type)).toEqual([
        'execution.started',
        'execution.action_applied',
        'execution.action_failed',
        'execution.action_rolled_back',
        'execution.finished',
      ]);
      const memory = await t.api.call<{
        actions: Array<{ failed: number; rolled_back: number; consecutive_successes: number }>;
      }>('memory_get', w.reviewer.caller, 'cloudtrail.enable_log_validation');
      expect(memory.actions[0]).toMatchObject({ failed: 1, consecutive_successes: 0 });
    } finally {
      sb.control.removeFault(fault);
    }
  });
});

describe('a worker killed mid-execution', () => {
  it('resumes from the stored progress and applies no action twice', async () => {
    const t = db();
    // The resources of the failed plan are as they were: their findings still apply.
    const plan = await approvedPlan('kms_rotation_off', 'cloudtrail_no_log_validation');
    sb.control.clearCalls();
    const e = await t.api.call<Execution>('execution_start', w.agent, plan.id);
    // The worker dies when it tries to store its 4th progress record (after the first action's
    // apply, before its verification is recorded).
    let n = 0;
    const dying: ExecutionJobDeps = {
      ...deps,
      api: {
        call: async <T>(fn: string, caller: Caller | null, ...args: unknown[]): Promise<T> => {
          if (fn === 'execution_progress' && ++n >= 4)
            throw new AppError('unavailable', 'worker killed', { reason: 'killed' });
          return await deps.api.call<T>(fn, caller, ...args);
        },
      },
    };
    await expect(runExecution(dying, w.agent, w.org.id, e.id)).rejects.toMatchObject({
      reason: 'progress_not_persisted',
    });
    const mid = await t.api.call<Execution>('execution_get', w.reviewer.caller, e.id);
    expect(mid.status).toBe('running');
    expect(mid.progress!.steps.map((s) => s.state)).toEqual(['applied', 'pending']);
    expect(await runExecution(deps, w.agent, w.org.id, e.id)).toEqual({ status: 'succeeded' });
    expect(writes('EnableKeyRotation')).toHaveLength(1);
    expect(writes('UpdateTrail')).toHaveLength(1);
    // A third run finds it finished and does nothing.
    expect(await runExecution(deps, w.agent, w.org.id, e.id)).toEqual({ status: 'succeeded' });
    expect(writes()).toHaveLength(2);
  });
});

describe('a rollback on request', () => {
  it('is a plan of its own, approved, and puts the account back', async () => {
    const t = db();
    const { executionId, before } = looped;
    const rollbackPlan = await t.api.call<Plan>(
      'execution_rollback_request',
      w.author.caller,
      executionId,
      'the change broke a client',
    );
    expect(rollbackPlan.content.rollback_of).toBe(executionId);
    // Not approved yet: nothing runs.
    await expect(t.api.call('execution_start', w.agent, rollbackPlan.id)).rejects.toMatchObject({
      reason: 'approval_required',
    });
    await approvePlan(t, w.reviewer, rollbackPlan);
    const loopPlan = await t.api.call<{ content: { steps: Array<{ resourceArn: string }> } }>(
      'plan_get',
      w.reviewer.caller,
      (await t.api.call<{ plan_id: string }>('execution_get', w.reviewer.caller, executionId))
        .plan_id,
    );
    const ids = loopPlan.content.steps.map((s) => s.resourceArn.split(/[/:]/).pop()!);
    // Only the first plan's resources (later tests changed and restored others).
    const changedOfLoop = () =>
      diffStates(before, dump())
        .map((d) => d.path)
        .filter((p) => ids.some((id) => p.includes(id)));
    expect(changedOfLoop().length).toBeGreaterThanOrEqual(3);
    const e = await t.api.call<Execution>('execution_start', w.agent, rollbackPlan.id);
    expect(e.kind).toBe('rollback');
    expect(await runExecution(deps, w.agent, w.org.id, e.id)).toEqual({
      status: 'rolled_back',
    });
    expect(changedOfLoop()).toEqual([]);
    const memory = await t.api.call<{ actions: Array<{ rolled_back: number }> }>(
      'memory_get',
      w.reviewer.caller,
      'rds.enable_deletion_protection',
    );
    expect(memory.actions[0]!.rolled_back).toBe(1);
  });
});

describe('a cost action (medium risk, reversible with a new identity)', () => {
  it('snapshots then deletes an unattached volume, and a requested rollback restores it from the snapshot', async () => {
    const t = db();
    const plan = await approvedPlan('ebs_volume_unattached');
    expect(plan).toMatchObject({ risk_tier: 'medium', required_approvals: 1 });
    expect(plan.content.rollback_verified).toBe(true);
    sb.control.clearCalls();
    const e = await t.api.call<Execution>('execution_start', w.agent, plan.id);
    expect(await runExecution(deps, w.agent, w.org.id, e.id)).toEqual({ status: 'succeeded' });
    expect(writes().map((c) => c.operation)).toEqual(['CreateSnapshot', 'DeleteVolume']);
    const rollback = await t.api.call<Plan>(
      'execution_rollback_request',
      w.author.caller,
      e.id,
      'the volume was needed after all',
    );
    await approvePlan(t, w.reviewer, rollback);
    const r = await t.api.call<Execution>('execution_start', w.agent, rollback.id);
    expect(await runExecution(deps, w.agent, w.org.id, r.id)).toEqual({ status: 'rolled_back' });
    expect(writes('CreateVolume')).toHaveLength(1);
  });
});
