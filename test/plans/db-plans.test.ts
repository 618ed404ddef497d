// Plans, approvals, executions and the trust ladder in the database (issue 7): every rule is tried
// for real through the api functions, and every refusal leaves its session event (and, for a
// forbidden thing, an authz.denied audit event). The cloud side (the job, the executor against the
// sandbox) is in test/plans/execution-e2e.test.ts.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { setExecutionRole } from '../../src/cloud/connections.js';
import { ACTIONS } from '../../src/execution/catalog.js';
import { Api, type Caller } from '../../src/db/api.js';
import { connectionString } from '../../src/db/bootstrap.js';
import { useTestDatabase } from '../support/db.js';
import { agentSession, createOrg, createUser, refused, signFor } from '../support/fixtures.js';
import {
  addConnection,
  ageApprovals,
  approvePlan,
  auditEvents,
  bucketPlan,
  configure,
  planWorld,
  propose,
  sessionEvents,
  type Plan,
  type PlanWorld,
} from './support.js';

const db = useTestDatabase();
let w: PlanWorld;

beforeAll(async () => {
  w = await planWorld(db());
});

interface Execution {
  id: string;
  status: string;
  kind: string;
  auto_applied: boolean;
}

/** What the job does, without a cloud: start, store a progress record, finish with `status`. */
async function run(
  caller: Caller,
  plan: Plan,
  status: 'succeeded' | 'failed' = 'succeeded',
): Promise<Execution> {
  const t = db();
  const e = await t.api.call<Execution>('execution_start', caller, plan.id);
  const steps = (plan.content.steps as Array<{ actionId: string; resourceArn: string }>).map(
    (s, index) => ({
      index,
      actionId: s.actionId,
      resourceArn: s.resourceArn,
      state: status === 'succeeded' ? 'verified' : index === 0 ? 'failed' : 'pending',
      artifacts: {},
      ...(status === 'failed' && index === 0 ? { rollback: { status: 'not_needed' } } : {}),
    }),
  );
  const progress = {
    version: 1,
    executionId: e.id,
    planId: plan.id,
    planSha256: '0'.repeat(64),
    status,
    steps,
    ...(status === 'failed'
      ? { failure: { stepIndex: 0, phase: 'apply', code: 'aws', reason: 'X', message: 'x' } }
      : {}),
    startedAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
  };
  await t.api.call('execution_progress', caller, e.id, { ...progress, status: 'running' }, null);
  return await t.api.call<Execution>('execution_finish', caller, e.id, status, progress);
}

describe('action types', () => {
  it('are the execution catalog, action for action', async () => {
    const rows = (
      await db().superuser.query<{
        action_id: string;
        action_class: string;
        reversibility: string;
        base_risk: string;
      }>(`select * from internal.action_types order by action_id`)
    ).rows;
    const catalog = Object.values(ACTIONS)
      .map((a) => ({
        action_id: a.id,
        action_class: a.actionClass,
        reversibility: a.reversibility,
        base_risk: a.baseRisk,
      }))
      .sort((a, b) => (a.action_id < b.action_id ? -1 : 1));
    expect(rows).toEqual(catalog);
  });
});

describe('proposing a plan', () => {
  it('computes the risk tier, blast-radius class and approvers itself, ignoring the claims', async () => {
    const t = db();
    const low = await propose(t, w.agent, w, bucketPlan(w, 1));
    expect(low).toMatchObject({ risk_tier: 'low', required_approvals: 1, state: 'in_review' });
    expect(low.content.blast_radius).toMatchObject({ total: 1, class: 'contained' });
    expect(low.change_request.state).toBe('in_review');
    const versioning = await propose(
      t,
      w.author.caller,
      w,
      bucketPlan(w, 1, { actionId: 's3.enable_versioning' }),
    );
    expect(versioning).toMatchObject({ risk_tier: 'medium', required_approvals: 1 });
    const release = await propose(t, w.agent, w, {
      ...bucketPlan(w, 1, { cls: 'cost' }),
      steps: [
        {
          actionId: 'ec2.release_address',
          resourceArn: `arn:aws:ec2:us-east-1:${w.accountId}:elastic-ip/eipalloc-0123456789abcdef0`,
          params: { region: 'us-east-1', allocationId: 'eipalloc-0123456789abcdef0' },
          approvedState: { associationId: null },
        },
      ],
      rollback_summary: ['none'],
    });
    expect(release).toMatchObject({ risk_tier: 'high', required_approvals: 2 });
    expect(release.content.rollback_verified).toBe(false);
    expect((await auditEvents(t, w.org.id, 'plan.proposed')).length).toBeGreaterThanOrEqual(3);
  });

  it('refuses a plan over the blast-radius cap, mixed classes, bad order and unverified rollbacks', async () => {
    const t = db();
    const over = await refused(
      propose(t, w.agent, w, bucketPlan(w, 1, { extraResources: 5 })),
      'rule_violation',
      'blast_radius_cap',
    );
    expect(over.message).toMatch(/6 resources.*at most 5/);
    const mixed = bucketPlan(w, 1);
    (mixed.steps as Array<Record<string, unknown>>)[0]!.actionId = 'ec2.stop_instance';
    await refused(propose(t, w.agent, w, mixed), 'rule_violation', 'action_class_mismatch');
    const noRollback = bucketPlan(w, 1, { actionId: 's3.enable_versioning', rollback: false });
    await refused(propose(t, w.agent, w, noRollback), 'rule_violation', 'rollback_unverified');
    await refused(
      propose(t, w.agent, w, { ...bucketPlan(w, 1), steps: 'x' }),
      'invalid_input',
      'invalid_plan',
    );
    await refused(
      propose(t, w.agent, w, { ...bucketPlan(w, 1), rollback_of: randomUUID() }),
      'invalid_input',
      'invalid_plan',
    );
    // A reader cannot author.
    const reader = await createUser(t, w.org, [
      { domain: 'security', level: 'read', facility: w.facility },
    ]);
    await refused(propose(t, reader.caller, w, bucketPlan(w, 1)), 'forbidden', 'missing_grant');
    const denied = await sessionEvents(t, w.org.id, 'plan.propose');
    expect(denied.filter((e) => e.outcome === 'denied').map((e) => e.error_code)).toEqual(
      expect.arrayContaining(['blast_radius_cap', 'action_class_mismatch', 'missing_grant']),
    );
  });

  it('refuses a step whose params act on another resource than its resourceArn, on every path', async () => {
    const t = db();
    type Step = { actionId: string; resourceArn: string; params: Record<string, unknown> };
    const withStep = (f: (s: Step) => void, cls = 'security'): Record<string, unknown> => {
      const p = bucketPlan(w, 1, { cls });
      f((p.steps as Step[])[0]!);
      return p;
    };
    const eip = (arnAccount: string) => (s: Step) => {
      s.actionId = 'ec2.release_address';
      s.resourceArn = `arn:aws:ec2:us-east-1:${arnAccount}:elastic-ip/eipalloc-0123456789abcdef0`;
      s.params = { region: 'us-east-1', allocationId: 'eipalloc-0123456789abcdef0' };
    };
    const bad: Array<[string, Record<string, unknown>, RegExp]> = [
      // The approvers would see a harmless bucket in the blast radius; the executor would block
      // another one.
      [
        'another bucket',
        withStep((s) => (s.params.bucket = 'production-data')),
        /resourceArn arn:aws:s3:::bucket-\S+ is not what its params act on \(s3 production-data\)/,
      ],
      [
        'another region',
        withStep((s) => {
          eip(w.accountId)(s);
          s.params.region = 'eu-west-1';
        }, 'cost'),
        /not what its params act on \(ec2 eu-west-1 elastic-ip/,
      ],
      ['another account', withStep(eip('999999999999'), 'cost'), /in account 999999999999/],
      [
        'no identifying parameter',
        withStep((s) => delete s.params.bucket),
        /params do not name the resource/,
      ],
      [
        "another account's public access block",
        withStep((s) => {
          s.actionId = 's3.put_account_public_access_block';
          s.resourceArn = 'arn:aws:s3::999999999999:account-public-access-block';
          s.params = { accountId: '999999999999' };
        }),
        /account 999999999999/,
      ],
    ];
    for (const [what, content, message] of bad) {
      const e = await refused(
        propose(t, w.author.caller, w, content),
        'rule_violation',
        'step_target_mismatch',
      );
      expect(e.message, what).toMatch(message);
      expect(e.message).toMatch(/^step 0 \(\S+\): .*: a step acts on the resource it names$/);
    }
    // The same step in a new version of a plan: refused, and the plan and its change request stay.
    const v1 = await propose(t, w.author.caller, w, bucketPlan(w, 1));
    await refused(
      t.api.call('plan_revise', w.author.caller, v1.id, bad[0]![1], 'harmless, trust me'),
      'rule_violation',
      'step_target_mismatch',
    );
    const after = await t.api.call<Plan>('plan_get', w.author.caller, v1.id);
    expect(after).toMatchObject({ version: 1, state: 'in_review', record_hash: v1.record_hash });
    expect(after.change_request).toMatchObject({ id: v1.change_request.id, state: 'in_review' });
    // Consistent steps in every ARN form still pass (the other forms: test/plans/execution-e2e).
    const ok = await propose(t, w.author.caller, w, withStep(eip(w.accountId), 'cost'));
    expect(ok.content.blast_radius.resources).toContain(
      `arn:aws:ec2:us-east-1:${w.accountId}:elastic-ip/eipalloc-0123456789abcdef0`,
    );
  });

  it('keeps a plan on its connection: a new version for another account is refused', async () => {
    const t = db();
    const other = await addConnection(t, w.org, w.facility, w.reviewer, '222233334444');
    const v1 = await propose(t, w.author.caller, w, bucketPlan(w, 1));
    const moved = { ...bucketPlan(w, 1), connection_id: other.id };
    // The same content is a plan of its own for that connection (the check is on versions only).
    expect((await propose(t, w.author.caller, w, moved)).content.account_id).toBe('222233334444');
    await refused(
      t.api.call('plan_revise', w.author.caller, v1.id, moved, 'the other account instead'),
      'rule_violation',
      'item_identity_changed',
    );
    const after = await t.api.call<Plan>('plan_get', w.author.caller, v1.id);
    expect(after).toMatchObject({ version: 1, record_hash: v1.record_hash });
    expect(after.change_request.state).toBe('in_review');
  });

  it('raises the class with the blast radius: moderate is medium, broad is high (cap permitting)', async () => {
    const t = db();
    const w2 = await planWorld(t);
    await configure(t, w2, { blast_radius_cap: 50 });
    const moderate = await propose(t, w2.agent, w2, bucketPlan(w2, 1, { extraResources: 6 }));
    expect(moderate).toMatchObject({ risk_tier: 'medium', required_approvals: 1 });
    expect(moderate.content.blast_radius.class).toBe('moderate');
    const broad = await propose(t, w2.agent, w2, bucketPlan(w2, 1, { extraResources: 25 }));
    expect(broad).toMatchObject({ risk_tier: 'high', required_approvals: 2 });
  });
});

describe('approvals', () => {
  it('refuses self-approval and the agent, each with an audit event', async () => {
    const t = db();
    const plan = await propose(t, w.reviewer.caller, w, bucketPlan(w, 1));
    await refused(approvePlan(t, w.reviewer, plan), 'forbidden', 'self_approval');
    const agentPlan = await propose(t, w.agent, w, bucketPlan(w, 1));
    await refused(
      t.api.call(
        'change_request_approve',
        w.agent,
        agentPlan.change_request.id,
        agentPlan.record_hash,
        null,
        null,
      ),
      'forbidden',
    );
    await refused(
      t.api.call(
        'signature_challenge_create',
        w.agent,
        { type: 'change_request', id: agentPlan.change_request.id },
        'approved',
      ),
      'forbidden',
      'agent_cannot_sign',
    );
    const denied = await auditEvents(t, w.org.id, 'authz.denied');
    expect(denied.map((d) => d.details.code)).toEqual(
      expect.arrayContaining(['self_approval', 'agent_cannot_sign']),
    );
  });

  it('voids approvals when the plan changes', async () => {
    const t = db();
    const v1 = await propose(t, w.author.caller, w, bucketPlan(w, 1));
    // The reviewer looked at version 1 and signs it after the author changed the plan.
    const signature = await signFor(
      t,
      w.reviewer,
      { type: 'change_request', id: v1.change_request.id },
      'approved',
    );
    const v2 = await t.api.call<Plan>(
      'plan_revise',
      w.author.caller,
      v1.id,
      bucketPlan(w, 1),
      'another bucket',
    );
    expect(v2).toMatchObject({ version: 2, state: 'in_review' });
    expect(v2.record_hash).not.toBe(v1.record_hash);
    await refused(
      t.api.call(
        'change_request_approve',
        w.reviewer.caller,
        v1.change_request.id,
        v1.record_hash,
        signature,
        null,
      ),
      'conflict',
      'not_in_review',
    );
    await refused(
      t.api.call(
        'change_request_approve',
        w.reviewer.caller,
        v2.change_request.id,
        v1.record_hash,
        signature,
        null,
      ),
      'conflict',
      'record_changed',
    );
    // An approved version changed afterwards: the new version is not approved, nothing runs.
    await approvePlan(t, w.reviewer, v2);
    const v3 = await t.api.call<Plan>(
      'plan_revise',
      w.author.caller,
      v1.id,
      bucketPlan(w, 1),
      'yet another bucket',
    );
    expect(v3.approvals.given).toBe(0);
    await refused(t.api.call('execution_start', w.agent, v1.id), 'forbidden', 'approval_required');
  });

  it('counts two approvers signing at the same moment, and needs two distinct people for high risk', async () => {
    const t = db();
    const plan = await propose(t, w.agent, w, {
      ...bucketPlan(w, 1, { cls: 'cost' }),
      steps: [
        {
          actionId: 'ec2.delete_snapshot',
          resourceArn: `arn:aws:ec2:us-east-1:${w.accountId}:snapshot/snap-0123456789abcdef0`,
          params: { region: 'us-east-1', snapshotId: 'snap-0123456789abcdef0' },
          approvedState: { exists: true },
        },
      ],
    });
    expect(plan.required_approvals).toBe(2);
    await approvePlan(t, w.reviewer, plan);
    await refused(approvePlan(t, w.reviewer, plan), 'conflict', 'already_approved');
    let got = await t.api.call<Plan>('plan_get', w.reviewer.caller, plan.id);
    expect(got).toMatchObject({ state: 'in_review', approvals: { given: 1 } });

    const both = await propose(t, w.agent, w, {
      ...bucketPlan(w, 1, { cls: 'cost' }),
      steps: [
        {
          actionId: 'ec2.delete_snapshot',
          resourceArn: `arn:aws:ec2:us-east-1:${w.accountId}:snapshot/snap-0123456789abcdef1`,
          params: { region: 'us-east-1', snapshotId: 'snap-0123456789abcdef1' },
          approvedState: { exists: true },
        },
      ],
    });
    // Two approvers at once, made deterministic: the first approval is left uncommitted in its own
    // transaction; the second must wait for it (the change request is locked), then count both and
    // make the plan effective. Without the lock it would count one and leave the plan in review.
    const cr = both.change_request as { id: string; proposed_record_hash: string };
    const sigA = await signFor(t, w.reviewer, { type: 'change_request', id: cr.id }, 'approved');
    const sigB = await signFor(t, w.reviewer2, { type: 'change_request', id: cr.id }, 'approved');
    const held = new pg.Client(connectionString(t.target('axiom_user')));
    await held.connect();
    try {
      await held.query('begin');
      await new Api(held as unknown as pg.Pool).call(
        'change_request_approve',
        w.reviewer.caller,
        cr.id,
        cr.proposed_record_hash,
        sigA,
        null,
      );
      let secondDone = false;
      const second = t.api
        .call<{ state: string }>(
          'change_request_approve',
          w.reviewer2.caller,
          cr.id,
          cr.proposed_record_hash,
          sigB,
          null,
        )
        .finally(() => (secondDone = true));
      await new Promise((r) => setTimeout(r, 500));
      expect(secondDone).toBe(false);
      await held.query('commit');
      expect((await second).state).toBe('approved');
    } finally {
      await held.end();
    }
    got = await t.api.call<Plan>('plan_get', w.reviewer.caller, both.id);
    expect(got).toMatchObject({ state: 'effective', approvals: { given: 2, valid: 2 } });
    expect(got.change_request.state).toBe('approved');
  });

  it('does not count an expired approval when execution starts', async () => {
    const t = db();
    const plan = await propose(t, w.agent, w, bucketPlan(w, 1));
    await approvePlan(t, w.reviewer, plan);
    await ageApprovals(t, plan.change_request.id, 25);
    const r = await refused(
      t.api.call('execution_start', w.agent, plan.id),
      'gone',
      'approval_expired',
    );
    expect(r.message).toMatch(/expire after 24 hours/);
    expect((await sessionEvents(t, w.org.id, 'execution.start'))[0]).toMatchObject({
      outcome: 'error',
      error_code: 'approval_expired',
    });
    // Audited like every refusal of the trust ladder (migration 092).
    expect((await auditEvents(t, w.org.id, 'authz.denied'))[0]!.details).toMatchObject({
      operation: 'execution.start',
      code: 'approval_expired',
    });
  });

  it('lets an approver revoke until execution starts', async () => {
    const t = db();
    const plan = await propose(t, w.agent, w, bucketPlan(w, 1));
    await refused(
      t.api.call('plan_approval_revoke', w.reviewer.caller, plan.id, 'changed my mind'),
      'not_found',
      'approval_not_found',
    );
    await approvePlan(t, w.reviewer, plan);
    await t.api.call('plan_approval_revoke', w.reviewer.caller, plan.id, 'changed my mind');
    expect((await auditEvents(t, w.org.id, 'plan.approval_revoked'))[0]!.target_id).toBe(plan.id);
    await refused(t.api.call('execution_start', w.agent, plan.id), 'conflict', 'approvals_missing');

    const other = await propose(t, w.agent, w, bucketPlan(w, 1));
    await approvePlan(t, w.reviewer, other);
    const e = await t.api.call<Execution>('execution_start', w.agent, other.id);
    expect(e).toMatchObject({ status: 'queued', kind: 'apply', auto_applied: false });
    await refused(
      t.api.call('plan_approval_revoke', w.reviewer.caller, other.id, 'too late now'),
      'conflict',
      'execution_started',
    );
    await refused(t.api.call('execution_start', w.agent, other.id), 'conflict', 'already_executed');
  });
});

describe('executions', () => {
  it('takes progress and outcomes from the agent only, and refuses a finished execution', async () => {
    const t = db();
    const plan = await propose(t, w.agent, w, bucketPlan(w, 1));
    await approvePlan(t, w.reviewer, plan);
    const e = await t.api.call<Execution>('execution_start', w.reviewer.caller, plan.id);
    const progress = {
      version: 1,
      executionId: e.id,
      planId: plan.id,
      planSha256: '0'.repeat(64),
      status: 'running',
      steps: [{ index: 0, state: 'pending', artifacts: {} }],
    };
    await refused(
      t.api.call('execution_progress', w.reviewer.caller, e.id, progress, null),
      'forbidden',
      'agent_only',
    );
    await refused(
      t.api.call(
        'execution_progress',
        w.agent,
        e.id,
        { ...progress, executionId: randomUUID() },
        null,
      ),
      'invalid_input',
      'invalid_progress',
    );
    await refused(
      t.api.call('execution_progress', w.agent, e.id, progress, {
        type: 'execution.action_applied',
        stepIndex: 3,
      }),
      'invalid_input',
      'invalid_audit',
    );
    const got = await t.api.call<Execution>('execution_get', w.reviewer.caller, e.id);
    expect(got.status).toBe('queued');
    await t.api.call('execution_finish', w.agent, e.id, 'succeeded', {
      ...progress,
      status: 'succeeded',
    });
    await refused(
      t.api.call('execution_progress', w.agent, e.id, progress, null),
      'conflict',
      'execution_finished',
    );
  });

  it("refuses to start without the execution role of the plan's class, or on a disconnected connection", async () => {
    const t = db();
    const w4 = await planWorld(t);
    const plan = await propose(t, w4.agent, w4, bucketPlan(w4, 1));
    await approvePlan(t, w4.reviewer, plan);
    await setExecutionRole(
      { api: t.api, dataKeys: w4.keys, settings: { platformAccountId: '111111111111' } },
      w4.reviewer.caller,
      w4.connectionId,
      'security',
      null,
    );
    await refused(
      t.api.call('execution_start', w4.agent, plan.id),
      'rule_violation',
      'execution_role_missing',
    );
    await t.api.call('connection_disconnect', w4.org.admin.caller, w4.connectionId, 'offboarded');
    await refused(
      t.api.call('execution_start', w4.agent, plan.id),
      'conflict',
      'connection_not_active',
    );
  });

  it('refuses to start in a facility below execute_with_approval', async () => {
    const t = db();
    const w2 = await planWorld(t);
    const plan = await propose(t, w2.agent, w2, bucketPlan(w2, 1));
    await approvePlan(t, w2.reviewer, plan);
    await configure(t, w2, { autonomy_tier: 'recommend' });
    await refused(t.api.call('execution_start', w2.agent, plan.id), 'forbidden', 'autonomy_tier');
    await configure(t, w2, { autonomy_tier: 'scan_only' });
    await refused(propose(t, w2.agent, w2, bucketPlan(w2, 1)), 'forbidden', 'autonomy_tier');
  });
});

describe('the trust ladder', () => {
  it('auto-applies a low-risk plan only at auto_apply, after enough successes, never high risk; a failure demotes', async () => {
    const t = db();
    const w3 = await planWorld(t);
    // Below the tier: an unapproved plan does not run.
    const early = await propose(t, w3.agent, w3, bucketPlan(w3, 1));
    await refused(
      t.api.call('execution_start', w3.agent, early.id),
      'forbidden',
      'approval_required',
    );
    expect((await auditEvents(t, w3.org.id, 'authz.denied')).map((d) => d.details.code)).toContain(
      'approval_required',
    );

    await configure(t, w3, { autonomy_tier: 'auto_apply', auto_apply_after: 2 });
    await refused(
      t.api.call('execution_start', w3.agent, early.id),
      'forbidden',
      'trust_insufficient',
    );
    for (let i = 0; i < 2; i++) {
      const p = await propose(t, w3.agent, w3, bucketPlan(w3, 1));
      await approvePlan(t, w3.reviewer, p);
      expect((await run(w3.agent, p)).status).toBe('succeeded');
    }
    let memory = await t.api.call<{
      actions: Array<{
        action_id: string;
        succeeded: number;
        consecutive_successes: number;
        confidence: number;
      }>;
    }>('memory_get', w3.reviewer.caller, 's3.put_bucket_public_access_block');
    expect(memory.actions[0]).toMatchObject({ succeeded: 2, consecutive_successes: 2 });
    expect(memory.actions[0]!.confidence).toBeGreaterThan(0.3);

    const auto = await run(w3.agent, early);
    expect(auto).toMatchObject({ status: 'succeeded', auto_applied: true });
    expect((await auditEvents(t, w3.org.id, 'execution.started'))[0]!.details).toMatchObject({
      auto_applied: true,
      approvals: 0,
    });

    // A high-risk plan never auto-applies, however long the streak.
    const high = await propose(
      t,
      w3.agent,
      w3,
      bucketPlan(w3, 1, { actionId: 's3.enable_versioning' }),
    );
    expect(high.risk_tier).toBe('medium');
    await refused(
      t.api.call('execution_start', w3.agent, high.id),
      'forbidden',
      'auto_apply_not_low_risk',
    );
    const release = await propose(t, w3.agent, w3, {
      ...bucketPlan(w3, 1, { cls: 'cost' }),
      steps: [
        {
          actionId: 'ec2.release_address',
          resourceArn: `arn:aws:ec2:us-east-1:${w3.accountId}:elastic-ip/eipalloc-0123456789abcdef0`,
          params: { region: 'us-east-1', allocationId: 'eipalloc-0123456789abcdef0' },
          approvedState: { associationId: null },
        },
      ],
    });
    await refused(
      t.api.call('execution_start', w3.agent, release.id),
      'forbidden',
      'auto_apply_high_risk',
    );

    // A failure resets the streak: the next unapproved plan waits for approvals again.
    const failing = await propose(t, w3.agent, w3, bucketPlan(w3, 1));
    expect((await run(w3.agent, failing, 'failed')).status).toBe('failed');
    memory = await t.api.call(
      'memory_get',
      w3.reviewer.caller,
      's3.put_bucket_public_access_block',
    );
    expect(memory.actions[0]).toMatchObject({ succeeded: 3, consecutive_successes: 0 });
    const after = await propose(t, w3.agent, w3, bucketPlan(w3, 1));
    await refused(
      t.api.call('execution_start', w3.agent, after.id),
      'forbidden',
      'trust_insufficient',
    );
  });

  it('never auto-applies in production', async () => {
    const t = db();
    const wp = await planWorld(t, { env: 'production' });
    await configure(t, wp, { autonomy_tier: 'auto_apply', auto_apply_after: 1 });
    const p = await propose(t, wp.agent, wp, bucketPlan(wp, 1));
    await approvePlan(t, wp.reviewer, p);
    await run(wp.agent, p);
    const unapproved = await propose(t, wp.agent, wp, bucketPlan(wp, 1));
    await refused(
      t.api.call('execution_start', wp.agent, unapproved.id),
      'forbidden',
      'approval_required_production',
    );
  });

  it('never lets the agent raise its autonomy tier or its permissions', async () => {
    const t = db();
    const list = await t.api.call<Array<{ id: string; content: Record<string, unknown> }>>(
      'record_list',
      w.org.admin.caller,
      'facility_configuration',
      w.facility,
    );
    await refused(
      t.api.call(
        'record_propose',
        w.agent,
        'facility_configuration',
        w.facility,
        list[0]!.id,
        null,
        { ...list[0]!.content, autonomy_tier: 'auto_apply', auto_apply_after: 1 },
        'more autonomy',
        'the agent would like more',
      ),
      'forbidden',
      'missing_grant',
    );
    await refused(
      t.api.call(
        'grant_create',
        w.agent,
        w.org.agentId,
        'configuration',
        w.facility,
        'review',
        'x',
        null,
      ),
      'forbidden',
    );
    // Even a superuser (past RLS) cannot write a configuration version in the agent's name: the trigger.
    const err = await db()
      .superuser.query(
        `insert into core.records (kind, id, organization_id, facility_id, domain, item_key, content, created_by,
                                   change_reason, lifecycle_state)
         values ('facility_configuration', $1, $2, $3, 'configuration', 'facility', '{"autonomy_tier":"auto_apply"}', $4,
                 'agent raises itself', 'draft')`,
        [list[0]!.id, w.org.id, w.facility, w.org.agentId],
      )
      .then(
        () => null,
        (e: { code?: string; message?: string }) => e,
      );
    expect(err?.code).toBe('AX403');
    expect((await auditEvents(t, w.org.id, 'authz.denied')).length).toBeGreaterThan(0);
  });
});

describe('tenant isolation', () => {
  it('keeps another organization away from plans, executions and memory', async () => {
    const t = db();
    const plan = await propose(t, w.agent, w, bucketPlan(w, 1));
    await approvePlan(t, w.reviewer, plan);
    const e = await run(w.agent, plan);
    const other = await createOrg(t);
    const spy = await createUser(t, other, [
      { domain: 'security', level: 'review', facility: null },
    ]);
    await refused(t.api.call('plan_get', spy.caller, plan.id), 'not_found', 'plan_not_found');
    await refused(
      t.api.call('execution_get', spy.caller, e.id),
      'not_found',
      'execution_not_found',
    );
    await refused(
      t.api.call('plan_approval_revoke', spy.caller, plan.id, 'cross-tenant'),
      'not_found',
    );
    expect(await t.api.call('plan_list', spy.caller, null, null)).toEqual([]);
    const memory = await t.api.call<{
      actions: Array<{ succeeded: number }>;
      executions: unknown[];
    }>('memory_get', spy.caller, null);
    expect(memory.actions.every((a) => a.succeeded === 0)).toBe(true);
    expect(memory.executions).toEqual([]);
    const agentB = await agentSession(t, other);
    await refused(t.api.call('execution_start', agentB, plan.id), 'not_found');
    expect((await sessionEvents(t, other.id, 'plan.get'))[0]).toMatchObject({
      outcome: 'error',
      error_code: 'plan_not_found',
    });
  });

  it('shows a token in memory only the executions its scope may read (101)', async () => {
    const t = db();
    const plan = await propose(t, w.agent, w, bucketPlan(w, 1));
    await approvePlan(t, w.reviewer, plan);
    const e = await run(w.agent, plan);
    const u = await createUser(t, w.org, [
      { domain: 'security', level: 'read', facility: null },
      { domain: 'cost', level: 'read', facility: null },
    ]);
    const classes = new Map(
      (
        await t.api.call<Array<{ id: string; action_class: string }>>(
          'execution_list',
          u.caller,
          null,
          null,
        )
      ).map((x) => [x.id, x.action_class]),
    );
    type Memory = { executions: Array<{ id: string }> };
    const mine = await t.api.call<Memory>('memory_get', u.caller, null);
    expect(mine.executions.map((x) => x.id)).toContain(e.id);
    const { token } = await t.api.call<{ token: string }>('api_token_create', u.caller, 'c', 7, [
      { domain: 'cost', level: 'read', facility_id: null },
    ]);
    const scoped = await t.api.call<Memory>('memory_get', { token }, null);
    expect(scoped.executions.map((x) => x.id)).not.toContain(e.id);
    expect(scoped.executions.every((x) => classes.get(x.id) === 'cost')).toBe(true);
  });
});
