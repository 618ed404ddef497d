// Plans, approvals, executions and memory (issue 7). A plan is proposed from findings (the server
// builds the candidates and the blast radius over the stored inventory; the database decides the risk
// tier and the approvers), approved or rejected with an e-signature over its record hash, revoked by
// its approver until it runs, started (the execute_plan job runs it) and rolled back on request (a
// plan of its own). Dry runs assume the execution role with simulation only: nothing changes.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Caller } from '../../db/api.js';
import { AppError } from '../../errors.js';
import { EXECUTABLE_ACTIONS } from '../../execution/catalog.js';
import { dryRunStoredPlan, proposePlanForFindings, revisePlan } from '../../plans/service.js';
import type { HttpDeps } from '../server.js';
import { define, idParams, reasonBody } from './define.js';

const hash = z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex characters');
const signature = z.object({ challenge_id: z.uuid() }).strict();
const stepSchema = z
  .object({
    actionId: z.enum(EXECUTABLE_ACTIONS),
    resourceArn: z.string().min(10).max(2048),
    region: z.string().max(30).optional(),
    params: z.record(z.string(), z.unknown()),
    approvedState: z.unknown(),
  })
  .strict();
const planContent = z
  .object({
    connection_id: z.uuid(),
    action_class: z.enum(['security', 'cost', 'drift']),
    steps: z.array(stepSchema).min(1).max(100),
    // Findings the new steps answer, added to the plan's own; kept only if a step fixes them.
    finding_ids: z.array(z.uuid()).max(100).optional(),
    blast_radius: z
      .object({ resources: z.array(z.string().min(10).max(2048)).max(10000) })
      .optional(),
    rollback_summary: z.array(z.string().min(1).max(2000)).max(100).optional(),
    summary: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

interface PlanView {
  id: string;
  change_request: { id: string };
}

export function registerPlanRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { api } = deps;
  const tags = ['plans'];
  const cloud = deps.cloud;

  const changeRequestOf = async (caller: Caller, planId: string): Promise<string> =>
    (await api.call<PlanView>('plan_get', caller, planId)).change_request.id;

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/plans',
    summary: 'The newest version of each plan you may read.',
    tags,
    query: z
      .object({
        facility_id: z.uuid().optional(),
        state: z.enum(['in_review', 'effective', 'rejected', 'retired', 'superseded']).optional(),
      })
      .strict(),
    handler: async ({ query, caller }) =>
      await api.call('plan_list', caller, query.facility_id ?? null, query.state ?? null),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/plans',
    summary:
      'Propose a plan for findings of one connection (one action class); it is submitted for approval. The database computes its risk tier, approvers and blast-radius class, and refuses it over the facility cap.',
    tags,
    status: 201,
    body: z
      .object({
        finding_ids: z.array(z.uuid()).min(1).max(100),
        title: z.string().min(3).max(200).optional(),
        reason: z.string().min(3).max(2000).optional(),
      })
      .strict(),
    handler: async ({ body, caller }) =>
      await proposePlanForFindings(api, caller, body.finding_ids, {
        ...(body.title ? { title: body.title } : {}),
        ...(body.reason ? { reason: body.reason } : {}),
      }),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/plans/:id',
    summary:
      'A plan: its newest version, change request, approvals that count, versions and executions.',
    tags,
    params: idParams,
    handler: async ({ params, caller }) => await api.call('plan_get', caller, params.id),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/plans/:id/versions',
    summary:
      'A new version of a plan that has not run, from its steps: the open change request is withdrawn (its approvals never count again). The blast radius, rollback summary and per-step summary are derived by the server from the steps and the stored inventory, as for a proposal; any sent are ignored.',
    tags,
    status: 201,
    params: idParams,
    body: z.object({ content: planContent, reason: z.string().min(3).max(2000) }).strict(),
    handler: async ({ params, body, caller }) =>
      await revisePlan(api, caller, params.id, body.content, body.reason),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/plans/:id/approve',
    summary:
      'Approve the plan with an e-signature (answer a signature challenge on its change request first); bound to the record hash you saw.',
    tags,
    params: idParams,
    body: z
      .object({ record_hash: hash, signature, comment: z.string().min(1).max(2000).optional() })
      .strict(),
    handler: async ({ params, body, caller }) =>
      await api.call(
        'change_request_approve',
        caller,
        await changeRequestOf(caller, params.id),
        body.record_hash,
        body.signature,
        body.comment ?? null,
      ),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/plans/:id/reject',
    summary: 'Reject the plan with an e-signature and a reason.',
    tags,
    params: idParams,
    body: z.object({ record_hash: hash, signature, reason: z.string().min(3).max(2000) }).strict(),
    handler: async ({ params, body, caller }) =>
      await api.call(
        'change_request_reject',
        caller,
        await changeRequestOf(caller, params.id),
        body.record_hash,
        body.reason,
        body.signature,
      ),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/plans/:id/revoke-approval',
    summary: 'Take your approval of the plan back (until it starts running).',
    tags,
    params: idParams,
    body: reasonBody,
    handler: async ({ params, body, caller }) =>
      await api.call('plan_approval_revoke', caller, params.id, body.reason),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/plans/:id/executions',
    summary:
      'Start the plan: approved with unexpired approvals (or low risk under auto-apply), the connection holding the execution role of its class. The worker runs it.',
    tags,
    status: 202,
    params: idParams,
    handler: async ({ params, caller }) => {
      if (!cloud?.queue) {
        await api.call('session_whoami', caller);
        throw new AppError('unavailable', 'no job queue is configured on this server', {
          reason: 'queue_unavailable',
        });
      }
      const e = await api.call<{ id: string }>('execution_start', caller, params.id);
      const org = await cloud.deps.dataKeys.organizationOf(caller);
      await cloud.queue.enqueueExecution({ organization_id: org, execution_id: e.id });
      return e;
    },
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/plans/:id/dry-run',
    summary:
      'Dry-run the plan with the execution role (DryRun and policy simulation only): what each step would read, change and need. Nothing changes.',
    tags,
    params: idParams,
    handler: async ({ params, caller }) => {
      if (!cloud) {
        await api.call('session_whoami', caller);
        throw new AppError('unavailable', 'this server has no cloud configuration', {
          reason: 'cloud_unavailable',
        });
      }
      return await dryRunStoredPlan(cloud.deps, caller, params.id);
    },
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/executions',
    summary: 'Executions you may read, newest first.',
    tags,
    query: z.object({ facility_id: z.uuid().optional(), plan_id: z.uuid().optional() }).strict(),
    handler: async ({ query, caller }) =>
      await api.call('execution_list', caller, query.facility_id ?? null, query.plan_id ?? null),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/executions/:id',
    summary: 'An execution: status, progress per step, the plan it ran.',
    tags,
    params: idParams,
    handler: async ({ params, caller }) => await api.call('execution_get', caller, params.id),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/executions/:id/rollback',
    summary:
      'Request a rollback of a succeeded execution of reversible actions: a plan of its own, to approve and start.',
    tags,
    status: 201,
    params: idParams,
    body: reasonBody,
    handler: async ({ params, body, caller }) =>
      await api.call('execution_rollback_request', caller, params.id, body.reason),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/memory',
    summary:
      "The organization's operational memory: outcomes, consecutive successes and confidence per action type, recent executions.",
    tags,
    query: z.object({ action_id: z.enum(EXECUTABLE_ACTIONS).optional() }).strict(),
    handler: async ({ query, caller }) =>
      await api.call('memory_get', caller, query.action_id ?? null),
  });
}
