// The demo's cloud account, onboarded the way a customer would: the operator creates a connection
// (Axiom issues the External ID), "the customer" creates the scan role in the sandbox account with the
// trust policy Axiom presented, opts in one execution role per action class, tests the connection and
// starts the first scan. The sandbox keeps its state in memory, so on every start the roles are made
// again from the External ID the database holds, and a fresh scan reads the regenerated account.
import type { Api, Caller } from '../db/api.js';
import {
  createConnection,
  setExecutionRole,
  testConnection,
  type CloudDeps,
  type Connection,
} from '../cloud/connections.js';
import { ACTION_CLASSES } from '../execution/catalog.js';
import { executionRolePolicy } from '../execution/permissions.js';
import type { Queue } from '../jobs/queue.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Sandbox } from '../sandbox/index.js';
import { proposePlanForFindings } from '../plans/service.js';

export interface DemoOperator {
  organization: string;
  email: string;
  password: string;
}

export interface DemoConnection {
  connectionId: string;
  accountId: string;
  scanId: string | null;
  tested: boolean;
}

const SCAN_ROLE = 'AxiomScanRole';
const executionRoleName = (cls: string): string =>
  `AxiomExecute${cls[0]!.toUpperCase()}${cls.slice(1)}`;

/** Connect the demo account (once) and start a scan (every start). */
export async function connectDemo(opts: {
  api: Api;
  deps: CloudDeps;
  sandbox: Sandbox;
  queue: Queue;
  operator: DemoOperator;
  facilityId: string;
  logger: Logger;
}): Promise<DemoConnection> {
  const { api, deps, sandbox } = opts;
  const account = sandbox.accounts[0];
  if (!account) throw new Error('the demo sandbox has no account');
  const accountId = account.accountId;
  const login = await api.raw<{ token: string }>('session_login_password', [
    opts.operator.organization,
    opts.operator.email,
    opts.operator.password,
    { user_agent: 'axiom demo' },
  ]);
  const caller: Caller = { token: login.token };
  try {
    const existing = (
      await api.call<Connection[]>('connection_list', caller, opts.facilityId)
    ).find((c) => c.account_id === accountId && c.status !== 'disconnected');
    const connection =
      existing ??
      (await createConnection(deps, caller, {
        facilityId: opts.facilityId,
        accountId,
        roleArn: `arn:aws:iam::${accountId}:role/${SCAN_ROLE}`,
        name: 'Demo account (sandbox)',
        regions: ['us-east-1', 'eu-west-1'],
      }));
    const externalId = connection.external_ids.find((e) => e.current)?.external_id;
    if (!externalId) throw new Error('the demo connection has no current External ID');

    // What the customer's administrator does in their account with the onboarding material.
    sandbox.control.createScanRole(accountId, { externalId, roleName: SCAN_ROLE });
    let current = connection;
    for (const cls of ACTION_CLASSES) {
      const role = sandbox.control.createScanRole(accountId, {
        externalId,
        roleName: executionRoleName(cls),
        managedPolicyArns: [],
        inlinePolicy: executionRolePolicy(cls),
      });
      if (!current.execution_roles[cls])
        current = await setExecutionRole(deps, caller, connection.id, cls, role.roleArn);
    }

    const { report } = await testConnection(deps, caller, connection.id);
    if (!report.ok) {
      opts.logger.warn({ connection: connection.id }, 'the demo connection did not pass its test');
      return { connectionId: connection.id, accountId, scanId: null, tested: false };
    }
    const scan = await api.call<{ id: string }>('scan_start', caller, connection.id, 'manual');
    const org = await deps.dataKeys.organizationOf(caller);
    await opts.queue.enqueueScan({ organization_id: org, scan_id: scan.id });
    return { connectionId: connection.id, accountId, scanId: scan.id, tested: true };
  } finally {
    await api.call('session_logout', caller).catch(() => undefined);
  }
}

/** How many open findings of a check the agent looks at for one whose fix fits the facility's cap. */
const CANDIDATES_PER_CHECK = 10;

/** Refusals that mean "not this finding" rather than a fault. */
const PASSED_OVER = new Set(['blast_radius_cap', 'nothing_to_remediate']);

/** Findings whose fix the demo's agent proposes first: low-risk, reversible, one resource each. */
const FIRST_PLAN_CHECKS = [
  's3_bucket_no_public_access_block',
  'ec2_imdsv2_not_required',
  'ebs_volume_gp2',
  'kms_rotation_off',
  's3_bucket_no_encryption',
  'rds_no_deletion_protection',
  'iam_password_policy_weak',
  'iam_access_key_unused',
];

/**
 * After the demo's first scan, the agent proposes a few plans (one finding each), so a newcomer finds
 * a plan waiting for an approval. Runs in the background; gives up quietly after `timeoutMs`.
 */
export async function proposeFirstPlans(opts: {
  api: Api;
  workerSecret: string;
  organizationId: string;
  facilityId: string;
  scanId: string;
  logger: Logger;
  max?: number;
  timeoutMs?: number;
}): Promise<string[]> {
  const { api } = opts;
  const opened = await api.raw<{ token: string }>('agent_session_open', [
    opts.workerSecret,
    opts.organizationId,
  ]);
  const agent: Caller = { token: opened.token };
  const proposed: string[] = [];
  try {
    const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
    let status = 'queued';
    while (Date.now() < deadline) {
      status = (await api.call<{ status: string }>('scan_get', agent, opts.scanId)).status;
      if (status !== 'queued' && status !== 'running') break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    if (status !== 'succeeded' && status !== 'partial') return proposed;
    const waiting = await api.call<unknown[]>('plan_list', agent, opts.facilityId, 'in_review');
    if (waiting.length > 0) return proposed;
    for (const check of FIRST_PLAN_CHECKS) {
      if (proposed.length >= (opts.max ?? 3)) break;
      const page = await api.call<{ items: Array<{ id: string }> }>('finding_list', agent, {
        facility_id: opts.facilityId,
        check_id: check,
        status: 'open',
        limit: CANDIDATES_PER_CHECK,
      });
      // The facility caps a plan's blast radius (the demo's production facility at 2 resources), and
      // some findings need a person's judgement (no executable fix): the agent passes such a finding
      // over for the next one, as it would in production.
      for (const finding of page.items) {
        try {
          const plan = await proposePlanForFindings<{ id: string }>(api, agent, [finding.id], {
            title: `Fix ${check.replace(/_/g, ' ')}`,
            reason: 'proposed by the agent after the first scan of the demo account',
          });
          proposed.push(plan.id);
          break;
        } catch (e) {
          if (e instanceof AppError && e.reason !== undefined && PASSED_OVER.has(e.reason)) {
            opts.logger.debug(
              { check, finding: finding.id, reason: e.reason },
              'finding passed over',
            );
            continue;
          }
          opts.logger.warn({ err: e, check }, 'the demo agent could not propose a plan');
          break;
        }
      }
    }
    return proposed;
  } finally {
    await api.call('session_logout', agent).catch(() => undefined);
  }
}
