// Shared setup for the plan tests: an organization with a facility, reviewers, an active connection
// with execution roles (sealed, as the product stores them), facility configuration changed through a
// signed change request, plans proposed through api.plan_propose, and the audit/session rows a refusal
// leaves (read as the superuser: verification only).
import { randomUUID } from 'node:crypto';
import { setExecutionRole } from '../../src/cloud/connections.js';
import { runScan } from '../../src/cloud/scanner.js';
import { executionRolePolicy } from '../../src/execution/permissions.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { cloudDeps } from '../support/cloud.js';
import { quietLogger } from '../support/worker.js';
import type { Caller } from '../../src/db/api.js';
import type { DataKeys } from '../../src/security/datakeys.js';
import type { TestDatabase } from '../support/db.js';
import { activeConnection, connectionDeps } from '../support/scans.js';
import {
  agentSession,
  approveChange,
  createFacility,
  createOrg,
  createUser,
  type TestOrg,
  type TestUser,
} from '../support/fixtures.js';

export interface PlanWorld {
  org: TestOrg;
  facility: string;
  agent: Caller;
  /** review in security/cost/drift and configuration at the facility. */
  reviewer: TestUser;
  reviewer2: TestUser;
  /** author in security/cost/drift at the facility. */
  author: TestUser;
  /** review in configuration at the facility (approves facility configuration). */
  configReviewer: TestUser;
  connectionId: string;
  accountId: string;
  keys: DataKeys;
}

export interface Plan {
  id: string;
  record_id: string;
  record_hash: string;
  version: number;
  state: string;
  risk_tier: string;
  required_approvals: number;
  content: Record<string, unknown> & {
    steps: unknown[];
    blast_radius: { resources: string[]; total: number; class: string };
  };
  change_request: { id: string; proposed_record_hash: string; state: string };
  approvals: { valid: number; given: number };
}

const EXEC = ['security', 'cost', 'drift'] as const;

export async function planWorld(
  t: TestDatabase,
  opts: {
    env?: 'production' | 'staging' | 'development';
    accountId?: string;
    roleArn?: (cls: string) => string;
    scanRoleArn?: string;
  } = {},
): Promise<PlanWorld> {
  const org = await createOrg(t);
  const facility = await createFacility(t, org, undefined, opts.env ?? 'staging');
  const agent = await agentSession(t, org);
  const review = (extra: { domain: string; level: string }[] = []) => [
    ...EXEC.map((d) => ({ domain: d, level: 'review', facility })),
    ...extra.map((e) => ({ ...e, facility })),
  ];
  const reviewer = await createUser(t, org, review([{ domain: 'configuration', level: 'review' }]));
  const reviewer2 = await createUser(t, org, review());
  const author = await createUser(
    t,
    org,
    EXEC.map((d) => ({ domain: d, level: 'author', facility })),
  );
  const configReviewer = await createUser(t, org, [
    { domain: 'configuration', level: 'review', facility },
  ]);
  const accountId =
    opts.accountId ?? String(100_000_000_000 + Math.floor(Math.random() * 899_999_999_999));
  const conn = await addConnection(t, org, facility, reviewer, accountId, opts);
  return {
    org,
    facility,
    agent,
    reviewer,
    reviewer2,
    author,
    configReviewer,
    connectionId: conn.id,
    accountId,
    keys: connectionDeps(t).dataKeys,
  };
}

/** Change the facility's configuration the only way there is: a change request, signed. */
export async function configure(
  t: TestDatabase,
  w: PlanWorld,
  change: Record<string, unknown>,
): Promise<void> {
  const list = await t.api.call<Array<{ id: string; content: Record<string, unknown> }>>(
    'record_list',
    w.org.admin.caller,
    'facility_configuration',
    w.facility,
  );
  const current = list[0]!;
  const cr = await t.api.call<{ id: string; proposed_record_hash: string }>(
    'record_propose',
    w.org.admin.caller,
    'facility_configuration',
    w.facility,
    current.id,
    null,
    { ...current.content, ...change },
    'trust settings',
    'test changes the trust settings',
  );
  await t.api.call('change_request_submit', w.org.admin.caller, cr.id);
  const done = await approveChange<{ state: string }>(t, w.configReviewer, cr);
  if (done.state !== 'approved') throw new Error(`configuration change is ${done.state}`);
}

let bucketCounter = 0;
/** A synthetic plan content of `n` bucket steps (the database's view; no cloud needed). */
export function bucketPlan(
  w: PlanWorld,
  n = 1,
  opts: {
    actionId?: string;
    extraResources?: number;
    rollback?: boolean;
    cls?: string;
    findingIds?: string[];
  } = {},
): Record<string, unknown> {
  const steps = Array.from({ length: n }, () => {
    const bucket = `bucket-${++bucketCounter}-${randomUUID().slice(0, 6)}`;
    return {
      actionId: opts.actionId ?? 's3.put_bucket_public_access_block',
      resourceArn: `arn:aws:s3:::${bucket}`,
      region: 'us-east-1',
      params: { bucket, region: 'us-east-1' },
      approvedState: { publicAccessBlock: null },
    };
  });
  const extra = Array.from(
    { length: opts.extraResources ?? 0 },
    (_, i) => `arn:aws:ec2:us-east-1:${w.accountId}:instance/i-${String(i).padStart(8, '0')}`,
  );
  return {
    connection_id: w.connectionId,
    action_class: opts.cls ?? 'security',
    steps,
    finding_ids: opts.findingIds ?? [],
    blast_radius: { resources: [...steps.map((s) => s.resourceArn), ...extra] },
    ...(opts.rollback === false
      ? {}
      : { rollback_summary: steps.map(() => 'put previous flags back') }),
    // Claims the database must not believe.
    risk_tier: 'low',
    required_approvals: 0,
  };
}

export async function propose(
  t: TestDatabase,
  caller: Caller,
  w: PlanWorld,
  content: Record<string, unknown>,
): Promise<Plan> {
  return await t.api.call<Plan>(
    'plan_propose',
    caller,
    w.facility,
    content,
    'remediate public buckets',
    'findings say the buckets are public',
  );
}

/** Approve a plan's current version with an e-signature. */
export async function approvePlan(t: TestDatabase, approver: TestUser, plan: Plan): Promise<void> {
  await approveChange(t, approver, plan.change_request);
}

/** The audit events of a type in an organization, newest first (superuser: verification only). */
export async function auditEvents(
  t: TestDatabase,
  orgId: string,
  type: string,
): Promise<Array<{ details: Record<string, unknown>; reason: string | null; target_id: string }>> {
  const r = await t.superuser.query(
    `select details, reason, target_id from audit.audit_events
      where organization_id = $1 and event_type = $2 order by occurred_at desc`,
    [orgId, type],
  );
  return r.rows;
}

/** The session events of an operation, newest first. */
export async function sessionEvents(
  t: TestDatabase,
  orgId: string,
  operation: string,
): Promise<Array<{ outcome: string; error_code: string | null }>> {
  const r = await t.superuser.query(
    `select outcome, error_code from audit.session_events
      where organization_id = $1 and operation = $2 order by occurred_at desc`,
    [orgId, operation],
  );
  return r.rows;
}

/** Time travel for expiry: make a change request's decisions older (superuser, triggers off). */
export async function ageApprovals(
  t: TestDatabase,
  changeRequestId: string,
  hours: number,
): Promise<void> {
  const c = await t.superuser.connect();
  try {
    await c.query('begin');
    await c.query(`set local session_replication_role = replica`);
    await c.query(
      `update core.change_request_decisions set created_at = created_at - make_interval(hours => $2)
        where change_request_id = $1`,
      [changeRequestId, hours],
    );
    await c.query('commit');
  } finally {
    c.release();
  }
}

/**
 * A plan world connected to a sandbox account: the customer's scan role and execution roles (one per
 * class, with Axiom's execution policies) made with the connection's External ID.
 */
export async function sandboxWorld(
  t: TestDatabase,
  sb: Sandbox,
  classes: ReadonlyArray<'security' | 'cost' | 'drift'> = EXEC,
): Promise<PlanWorld> {
  const accountId = sb.accounts[0]!.accountId;
  const w = await planWorld(t, {
    accountId,
    scanRoleArn: `arn:aws:iam::${accountId}:role/AxiomScanRole`,
    roleArn: (cls) => `arn:aws:iam::${accountId}:role/AxiomExecution-${cls}`,
  });
  const conn = await t.api.call<{ external_ids: Array<{ external_id: string }> }>(
    'connection_get',
    w.org.admin.caller,
    w.connectionId,
  );
  const externalId = conn.external_ids[0]!.external_id;
  sb.control.createScanRole(accountId, { externalId });
  for (const cls of classes)
    sb.control.createScanRole(accountId, {
      externalId,
      roleName: `AxiomExecution-${cls}`,
      managedPolicyArns: [],
      inlinePolicy: executionRolePolicy(cls),
    });
  return w;
}

/** One scan of the world's connection, run in-process as the agent; it must succeed. */
export async function scanWorld(t: TestDatabase, sb: Sandbox, w: PlanWorld): Promise<string> {
  const scan = await t.api.call<{ id: string }>(
    'scan_start',
    w.org.admin.caller,
    w.connectionId,
    'manual',
  );
  const outcome = await runScan(
    {
      ...cloudDeps(t.api, sb),
      logger: quietLogger(),
      limits: { concurrency: 8, ratePerSecond: 1000, serviceBudgetMs: 60_000 },
    },
    w.agent,
    w.org.id,
    scan.id,
  );
  if (outcome.status !== 'succeeded') throw new Error(`the scan ${outcome.status}`);
  return scan.id;
}

/**
 * An active connection of `facility` to `accountId` (tested, with an execution role for each class,
 * set by `roleSetter`, a reviewer).
 */
export async function addConnection(
  t: TestDatabase,
  org: TestOrg,
  facility: string,
  roleSetter: TestUser,
  accountId: string,
  opts: { scanRoleArn?: string; roleArn?: (cls: string) => string } = {},
): Promise<{ id: string }> {
  const conn = await activeConnection(t, org, facility, {
    accountId,
    ...(opts.scanRoleArn ? { roleArn: opts.scanRoleArn } : {}),
  });
  const deps = connectionDeps(t);
  for (const cls of EXEC)
    await setExecutionRole(
      deps,
      roleSetter.caller,
      conn.id,
      cls,
      opts.roleArn?.(cls) ?? `arn:aws:iam::${accountId}:role/AxiomExecution-${cls}`,
    );
  return conn;
}
