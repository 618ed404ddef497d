// From findings to a proposed plan: the findings (one facility, one connection), the inventory their
// connection's scans stored, a candidate per finding, the executable steps in the executor's order
// (irreversible last, one step per action and resource), the blast radius over that inventory, the
// rollback summary per step. The database then checks the content and decides the risk tier, the
// approvers and the cap (api.plan_propose); nothing computed here is trusted for that.
import { randomUUID } from 'node:crypto';
import type { CloudSettings } from '../cloud/aws.js';
import type { AnyInventoryResource } from '../cloud/inventory.js';
import { sealContext } from '../cloud/scanner.js';
import type { Api, Caller } from '../db/api.js';
import { AppError } from '../errors.js';
import { dryRunPlan, type DryRunReport } from '../execution/dry-run.js';
import { validatePlan } from '../execution/executor.js';
import { sessionPolicyFor } from '../execution/permissions.js';
import { assumeExecutionRole } from '../execution/role.js';
import type { DataKeys } from '../security/datakeys.js';
import type { PlanStep } from '../execution/params.js';
import { assessPlan, type BlastRadius } from './blast-radius.js';
import { ACTION_FOR_CHECK } from '../execution/catalog.js';
import {
  buildCandidate,
  executableCandidate,
  planStepsOf,
  type CandidateOptions,
  type ExecutableCandidate,
  type RemediationCandidate,
} from './candidates.js';

interface FindingView {
  id: string;
  facility_id: string;
  connection_id: string;
  check_id: string;
  resource_arn: string;
  status: string;
}

/** What a reviewer reads for one step (kept in the signed plan content). */
export interface PlanStepSummary {
  actionId: string;
  resourceArn: string;
  resourceId: string;
  region: string;
  checkId: string;
  riskTier: string;
  cli: string[];
  terraform: ExecutableCandidate['terraformPreview'];
  rollback: ExecutableCandidate['rollbackPlan'];
  verification: string[];
}

export interface PlanDraft {
  facilityId: string;
  content: {
    connection_id: string;
    action_class: string;
    steps: PlanStep[];
    finding_ids: string[];
    blast_radius: { resources: string[] };
    rollback_summary: string[];
    summary: {
      steps: PlanStepSummary[];
      blastRadius: Pick<BlastRadius, 'touched' | 'dependents'>;
      manual: Array<{ findingId: string; checkId: string; reason: string }>;
    };
  };
  candidates: RemediationCandidate[];
}

/** Every current inventory resource of a connection (pages of 1000). */
export async function loadInventory(
  api: Pick<Api, 'call'>,
  caller: Caller,
  connectionId: string,
): Promise<AnyInventoryResource[]> {
  const out: AnyInventoryResource[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: AnyInventoryResource[]; next_cursor: string | null } = await api.call(
      'inventory_list',
      caller,
      connectionId,
      {},
      cursor,
      1000,
    );
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

export async function planFromFindings(
  api: Pick<Api, 'call'>,
  caller: Caller,
  findingIds: string[],
  opts: CandidateOptions = {},
): Promise<PlanDraft> {
  const ids = [...new Set(findingIds)];
  if (ids.length === 0 || ids.length > 100)
    throw new AppError('invalid_input', 'a plan answers 1 to 100 findings', {
      reason: 'invalid_findings',
    });
  const findings: FindingView[] = [];
  for (const id of ids) findings.push(await api.call<FindingView>('finding_get', caller, id));
  const first = findings[0]!;
  if (findings.some((f) => f.connection_id !== first.connection_id))
    throw new AppError('invalid_input', 'a plan covers findings of one connection', {
      reason: 'findings_mixed',
    });
  const inventory = await loadInventory(api, caller, first.connection_id);
  const byArn = new Map(inventory.map((r) => [r.arn, r]));
  const candidates = findings.map((f) => {
    const resource = byArn.get(f.resource_arn);
    if (!resource)
      throw new AppError('not_found', `the resource of finding ${f.id} is not in the inventory`, {
        reason: 'resource_not_found',
      });
    return buildCandidate({ checkId: f.check_id, resource }, undefined, opts);
  });
  const executable = candidates.filter((c): c is ExecutableCandidate => !c.manualReviewRequired);
  if (executable.length === 0)
    throw new AppError('rule_violation', 'none of these findings has an executable remediation', {
      reason: 'nothing_to_remediate',
    });
  const classes = new Set(executable.map((c) => c.actionClass));
  if (classes.size > 1)
    throw new AppError(
      'rule_violation',
      `these findings need ${[...classes].join(' and ')} actions: one plan runs one action class`,
      { reason: 'action_class_mismatch' },
    );
  // One step per (action, resource): two findings fixed by the same change share it.
  const seen = new Set<string>();
  const unique = executable.filter((c) => {
    const k = `${c.actionId} ${c.resourceArn}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const steps = planStepsOf(unique);
  const candidateOf = (s: PlanStep) => unique.find((c) => c.step === s)!;
  validatePlan({
    planId: 'draft',
    accountId: unique[0]!.accountId,
    actionClass: unique[0]!.actionClass,
    steps,
  });
  const reviewed = reviewedContent(steps.map(candidateOf), inventory);
  return {
    facilityId: first.facility_id,
    candidates,
    content: {
      connection_id: first.connection_id,
      action_class: unique[0]!.actionClass,
      steps,
      finding_ids: ids,
      blast_radius: reviewed.blast_radius,
      rollback_summary: reviewed.rollback_summary,
      summary: {
        ...reviewed.summary,
        manual: candidates
          .map((c, i) => ({ c, f: findings[i]! }))
          .filter(({ c }) => c.manualReviewRequired)
          .map(({ c, f }) => ({
            findingId: f.id,
            checkId: f.check_id,
            reason: c.manualReviewRequired ? c.reason : '',
          })),
      },
    },
  };
}

/** A new version of a plan's content as a caller gives it (POST /api/v1/plans/:id/versions). */
export interface PlanRevision {
  connection_id: string;
  action_class: 'security' | 'cost' | 'drift';
  steps: Array<{
    actionId: string;
    resourceArn: string;
    region?: string | undefined;
    params: Record<string, unknown>;
    approvedState?: unknown;
  }>;
  finding_ids?: string[] | undefined;
}

/**
 * Write a new version of a plan that has not run (api.plan_revise) from the steps a caller gives.
 * What reviewers read and what decides how many must sign is derived here, as for a proposal, never
 * taken from the caller: the blast radius (touched resources and their dependents over the
 * connection's stored inventory), the rollback summary and the per-step summary (CLI, Terraform,
 * rollback, verification) from each step's own parameters. Every step's resource must be in that
 * inventory. The database then checks the content and decides the risk tier and the approvers.
 */
export async function revisePlan<T = unknown>(
  api: Pick<Api, 'call'>,
  caller: Caller,
  planId: string,
  content: PlanRevision,
  reason: string,
): Promise<T> {
  const current = await api.call<
    PlanView & {
      content: {
        finding_ids?: string[];
        summary?: { steps?: PlanStepSummary[]; manual?: PlanDraft['content']['summary']['manual'] };
      };
    }
  >('plan_get', caller, planId);
  if (content.connection_id !== current.content.connection_id)
    throw new AppError(
      'rule_violation',
      "a new version keeps the plan's connection; propose a plan for another connection",
      { reason: 'item_identity_changed' },
    );
  const steps = content.steps.map((s) => ({
    actionId: s.actionId,
    resourceArn: s.resourceArn,
    params: s.params,
    approvedState: s.approvedState ?? null,
  }));
  // The executor's own validation (parameters per action, order, each step acting on the resource it
  // names) against the plan's account, before anything else.
  const plan = validatePlan({
    planId,
    accountId: current.content.account_id,
    actionClass: content.action_class,
    steps,
  });
  const inventory = await loadInventory(api, caller, content.connection_id);
  const byArn = new Map(inventory.map((r) => [r.arn, r]));
  const before = current.content.summary?.steps ?? [];
  const described = plan.steps.map((s) => {
    const r = byArn.get(s.resourceArn);
    if (!r)
      throw new AppError(
        'not_found',
        `${s.resourceArn} is not in the connection's inventory: a plan acts on scanned resources`,
        { reason: 'resource_not_found' },
      );
    const checkId =
      before.find((b) => b.actionId === s.actionId && b.resourceArn === s.resourceArn)?.checkId ??
      Object.entries(ACTION_FOR_CHECK).find(([, a]) => a === s.actionId)?.[0] ??
      s.actionId;
    return executableCandidate(
      {
        checkId,
        actionId: s.actionId,
        resourceArn: r.arn,
        resourceType: r.type,
        resourceId: r.resourceId,
        accountId: r.accountId,
        region: r.region,
      },
      r,
      s.params,
      s.approvedState,
    );
  });
  const reviewed = reviewedContent(described, inventory);
  const answered = await answeredFindings(
    api,
    caller,
    [...(current.content.finding_ids ?? []), ...(content.finding_ids ?? [])],
    plan.steps,
    current.content.summary?.manual ?? [],
  );
  return await api.call<T>(
    'plan_revise',
    caller,
    planId,
    {
      connection_id: content.connection_id,
      action_class: content.action_class,
      steps: content.steps,
      finding_ids: answered.ids,
      ...reviewed,
      summary: { ...reviewed.summary, manual: answered.manual },
    },
    reason,
  );
}

/**
 * The findings a new version of a plan answers, derived like the rest of what reviewers read: of the
 * findings the plan answered and those the caller adds, a finding stays when a step applies its
 * check's remediation to its resource, or when the plan listed it for manual review before (that
 * entry is kept). A finding whose step was left out is no longer claimed; the caller cannot claim one
 * no step fixes. Each finding is read with the caller's grants (finding_get).
 */
async function answeredFindings(
  api: Pick<Api, 'call'>,
  caller: Caller,
  ids: string[],
  steps: Array<{ actionId: string; resourceArn: string }>,
  manual: PlanDraft['content']['summary']['manual'],
): Promise<{ ids: string[]; manual: PlanDraft['content']['summary']['manual'] }> {
  const unique = [...new Set(ids)];
  if (unique.length > 100)
    throw new AppError('invalid_input', 'a plan answers at most 100 findings', {
      reason: 'invalid_findings',
    });
  const kept: string[] = [];
  for (const id of unique) {
    if (manual.some((m) => m.findingId === id)) {
      kept.push(id);
      continue;
    }
    const f = await api.call<FindingView>('finding_get', caller, id);
    const action = ACTION_FOR_CHECK[f.check_id as keyof typeof ACTION_FOR_CHECK];
    if (steps.some((s) => s.resourceArn === f.resource_arn && s.actionId === action)) kept.push(id);
  }
  return { ids: kept, manual: manual.filter((m) => kept.includes(m.findingId)) };
}

/**
 * What is derived from a plan's steps (as candidates, in the plan's order) for reviewers, and what
 * the database counts to decide the risk: the blast radius over the inventory (touched resources and
 * their dependents), the rollback summary, and per step what reviewers read before they sign (it is
 * part of the signed record): the exact AWS CLI commands, the Terraform equivalent, how it is undone
 * and what is checked afterwards.
 */
function reviewedContent(candidates: ExecutableCandidate[], inventory: AnyInventoryResource[]) {
  const { blastRadius } = assessPlan(
    candidates.map((c) => c.step),
    inventory,
  );
  return {
    blast_radius: {
      resources: [...blastRadius.touched, ...blastRadius.dependents.map((d) => d.arn)],
    },
    rollback_summary: candidates.map((c) => c.rollbackPlan.strategy),
    summary: {
      steps: candidates.map(stepSummary),
      blastRadius: { touched: blastRadius.touched, dependents: blastRadius.dependents },
    },
  };
}

/** What a reviewer reads for one step of a plan. */
function stepSummary(c: ExecutableCandidate): PlanStepSummary {
  return {
    actionId: c.actionId,
    resourceArn: c.resourceArn,
    resourceId: c.resourceId,
    region: c.region,
    checkId: c.checkId,
    riskTier: c.riskTier,
    cli: c.cliPreview,
    terraform: c.terraformPreview,
    rollback: c.rollbackPlan,
    verification: c.verification,
  };
}

/** Build and propose a plan for these findings (api.plan_propose decides risk and approvers). */
export async function proposePlanForFindings<T = unknown>(
  api: Pick<Api, 'call'>,
  caller: Caller,
  findingIds: string[],
  text: { title?: string; reason?: string } = {},
  opts: CandidateOptions = {},
): Promise<T> {
  const draft = await planFromFindings(api, caller, findingIds, opts);
  return await api.call<T>(
    'plan_propose',
    caller,
    draft.facilityId,
    draft.content,
    text.title ?? `Remediate ${findingIds.length} finding${findingIds.length === 1 ? '' : 's'}`,
    text.reason ?? 'remediation of scanned findings',
  );
}

interface PlanView {
  id: string;
  content: {
    connection_id: string;
    account_id: string;
    action_class: 'security' | 'cost' | 'drift';
    steps: Array<{
      actionId: string;
      resourceArn: string;
      params: unknown;
      approvedState: unknown;
    }>;
  };
  record_hash: string;
}

/**
 * Dry-run a plan: the execution role of its class, assumed by the caller (author in the class's
 * domain) with the plan's session policy plus simulation on the role itself; every step's
 * pre-flight read, approval comparison and permissions (DryRun or SimulatePrincipalPolicy). Nothing
 * changes in the account and nothing is stored.
 */
export async function dryRunStoredPlan(
  deps: { api: Pick<Api, 'call'>; dataKeys: DataKeys; settings: CloudSettings },
  caller: Caller,
  planId: string,
): Promise<DryRunReport> {
  const p = await deps.api.call<PlanView>('plan_get', caller, planId);
  const plan = validatePlan({
    planId: p.id,
    planHash: p.record_hash,
    accountId: p.content.account_id,
    actionClass: p.content.action_class,
    steps: p.content.steps.map((s) => ({
      actionId: s.actionId,
      resourceArn: s.resourceArn,
      params: s.params,
      approvedState: s.approvedState,
    })),
  });
  const creds = await deps.api.call<{ role_arn_sealed: string; external_ids: string[] }>(
    'connection_credentials',
    caller,
    p.content.connection_id,
    plan.actionClass,
  );
  const org = await deps.dataKeys.organizationOf(caller);
  const roleArn = await deps.dataKeys.open(
    caller,
    org,
    creds.role_arn_sealed,
    sealContext(org, p.content.connection_id, plan.actionClass),
  );
  const credentials = await assumeExecutionRole({
    ...(deps.settings.platformCredentials
      ? { platformCredentials: deps.settings.platformCredentials }
      : {}),
    ...(deps.settings.endpointUrl ? { endpoint: deps.settings.endpointUrl } : {}),
    roleArn,
    externalId: creds.external_ids[0] ?? '',
    executionId: `dryrun-${randomUUID()}`,
    sessionPolicy: sessionPolicyFor(plan, { simulateAsRoleArn: roleArn }),
  });
  return await dryRunPlan({
    plan,
    credentials,
    executionRoleArn: roleArn,
    ...(deps.settings.endpointUrl ? { aws: { endpoint: deps.settings.endpointUrl } } : {}),
  });
}
