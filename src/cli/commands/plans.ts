// `axiom plan list|show|create|revise|approve|reject|revoke-approval`, `axiom execution
// list|start|show|rollback|dry-run` and `axiom memory`, through the HTTPS API (docs/cli.md,
// docs/execution.md). Approving or rejecting is an e-signature: the CLI asks for a challenge on the
// plan's change request and answers it with the password (read from the terminal or
// --password-stdin); plans whose signing policy needs a security key are signed in the dashboard.
import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import {
  facilityRef,
  principalNames,
  readJsonObject,
  urlOption,
  timeoutSeconds,
  uuidArg,
  withClient,
  type CallApi,
} from '../api.js';
import { signChangeRequest, signingMethod, signingOptions } from '../signing.js';
import { ExitCode, type CliContext, type Lazy } from '../main.js';
import { progressBar } from '../progress.js';

interface Plan {
  id: string;
  version: number;
  state: string;
  record_hash: string;
  risk_tier: string;
  required_approvals: number;
  facility_id: string;
  domain: string;
  created_at: string;
  content: {
    /** The AWS account the plan acts on (derived by the database from the plan's connection). */
    account_id?: string;
    steps: Array<{ actionId: string; resourceArn: string }>;
    blast_radius: { total: number; class: string; resources?: string[] };
    rollback_summary?: string[];
    rollback_of?: string | null;
    finding_ids?: string[];
  };
  change_request: { id: string; state: string; title: string };
  /** On a plan's detail: its executions (and rollbacks), oldest first. */
  executions?: Array<{ id: string; kind: string; status: string; started_at: string | null }>;
  approvals: { valid: number; given: number };
}

export interface Execution {
  id: string;
  plan_id: string;
  kind: string;
  status: string;
  auto_applied: boolean;
  /** On an execution's detail: who started it, and the plan version it runs (what was signed). */
  created_by?: string;
  plan_record_hash?: string;
  plan?: { account_id?: string | null };
  progress: {
    steps: Array<{
      index: number;
      actionId: string;
      resourceArn: string;
      state: string;
      rollback?: { status: string };
    }>;
  } | null;
}

/** A row of GET /api/v1/executions. */
interface ExecutionRow {
  id: string;
  plan_id: string;
  facility_id: string;
  kind: string;
  action_class: string;
  status: string;
  auto_applied: boolean;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** The largest plan content the CLI sends (the API's default body limit is 1 MiB). */
const MAX_PLAN_CONTENT_BYTES = 1024 * 1024 - 4096;

/**
 * What is derived from a plan's steps, never taken from a caller: by the database (account, risk tier,
 * approvals, rollback verification; 070's plan_content) and by the server for a new version (the blast
 * radius, the rollback summary and what reviewers read per step; revisePlan in src/plans/service.ts).
 */
const DERIVED = [
  'account_id',
  'risk_tier',
  'required_approvals',
  'rollback_verified',
  'rollback_of',
  'blast_radius',
  'rollback_summary',
  'summary',
];

/**
 * A plan's content (as `axiom plan show --json` prints it, edited or not) as the API takes a new
 * version of it: what is derived from the steps is left out, to be derived again; anything else goes
 * as it is, so a misspelt field is refused by the server rather than dropped here.
 */
export function revisable(content: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(content).filter(([k]) => !DERIVED.includes(k)));
}

/** A plan's stored content as the API takes a new version of it, without the steps numbered in `drop` (from 1). */
export function withoutSteps(content: Plan['content'], drop: Set<number>): Record<string, unknown> {
  const steps = content.steps;
  for (const n of drop)
    if (!Number.isInteger(n) || n < 1 || n > steps.length)
      throw new AppError('invalid_input', `the plan has steps 1 to ${steps.length}; no step ${n}`, {
        reason: 'usage',
      });
  if (drop.size >= steps.length)
    throw new AppError('invalid_input', 'a plan keeps at least one step; reject it instead', {
      reason: 'usage',
    });
  return {
    ...revisable(content as unknown as Record<string, unknown>),
    steps: steps.filter((_, i) => !drop.has(i + 1)),
  };
}

function printPlan(ctx: CliContext, p: Plan): void {
  ctx.io.out(
    `plan ${p.id} v${p.version}  ${p.state}  ${p.domain}  risk ${p.risk_tier}  approvals ${p.approvals.valid}/${p.required_approvals}  blast radius ${p.content.blast_radius.total} (${p.content.blast_radius.class})`,
  );
  if (p.content.account_id) ctx.io.out(`  AWS account ${p.content.account_id}`);
  // A rollback plan runs each step's rollback: say so, rather than list the actions as if they ran.
  const undo = typeof p.content.rollback_of === 'string';
  if (undo)
    ctx.io.out(
      `  rolls back execution ${p.content.rollback_of}: executing it undoes each step below`,
    );
  p.content.steps.forEach((s, i) => {
    ctx.io.out(`  ${i + 1}. ${undo ? 'undo ' : ''}${s.actionId}  ${s.resourceArn}`);
    const rb = p.content.rollback_summary?.[i];
    if (rb) ctx.io.out(`     ${undo ? 'runs' : 'rollback'}: ${rb}`);
  });
  // Why it exists: the findings it answers (kept in step with its steps by the server); a rollback
  // plan carries those of the execution it undoes, whose fix it takes back.
  const findings = p.content.finding_ids ?? [];
  const plural = findings.length === 1 ? '' : 's';
  if (findings.length)
    ctx.io.out(
      undo
        ? `  undoes the fix of finding${plural} ${findings.join(', ')}`
        : `  answers finding${plural} ${findings.join(', ')}`,
    );
  ctx.io.out(`  record hash ${p.record_hash}`);
  for (const e of p.executions ?? [])
    ctx.io.out(
      `  execution ${e.id}  ${e.kind}  ${e.status}${e.started_at ? `  started ${e.started_at}` : ''}`,
    );
}

/** An execution as people read it: who started it by e-mail (one more request). */
async function printExecution(ctx: CliContext, api: CallApi, e: Execution): Promise<void> {
  const who = await principalNames(api);
  for (const line of executionLines(e, who)) ctx.io.out(line);
}

/**
 * An execution as `axiom execution show` prints it. A rollback starts from the progress of the
 * execution it undoes: until the worker has undone a step, that step still says "verified", so a
 * rollback's steps show how far the undo got instead.
 */
export function executionLines(e: Execution, who: (id: string) => string = (id) => id): string[] {
  const undo = e.kind === 'rollback';
  return [
    `execution ${e.id}  ${e.kind}  ${e.status}${e.auto_applied ? '  (auto-applied)' : ''}  plan ${e.plan_id}`,
    ...(e.created_by && e.plan_record_hash
      ? [
          `  AWS account ${e.plan?.account_id ?? '-'}  started by ${e.auto_applied ? 'the agent (auto-apply)' : who(e.created_by)}  plan version ${e.plan_record_hash}`,
        ]
      : []),
    ...(e.progress?.steps ?? []).map(
      (s) =>
        `  ${s.index + 1}. ${undo ? 'undo ' : ''}${s.actionId}  ${s.resourceArn}  ${undo ? (s.rollback?.status ?? 'waiting') : s.state}`,
    ),
  ];
}

/** How an execution ends: the statuses it stays in. */
const FINISHED = ['succeeded', 'failed', 'rolled_back', 'rollback_incomplete'];

/**
 * Follow an execution until it ends (a bar of its steps done, on a terminal), or give up after
 * `timeout` seconds: the execution goes on without this command (exit 2).
 */
export async function followExecution(
  ctx: CliContext,
  api: CallApi,
  started: Execution,
  timeout: number,
  drawBar: boolean,
): Promise<Execution> {
  const bar = drawBar
    ? await progressBar(ctx, 'execution [{bar}] {value}/{total} steps | {status}', 1, {
        status: started.status,
      })
    : undefined;
  const deadline = Date.now() + timeout * 1000;
  try {
    for (;;) {
      const e = await api.call<Execution>('GET', `/api/v1/executions/${started.id}`);
      const steps = e.progress?.steps ?? [];
      bar?.setTotal(Math.max(1, steps.length));
      bar?.update(steps.filter((s) => s.state !== 'pending' && s.state !== 'preflighted').length, {
        status: e.status,
      });
      if (FINISHED.includes(e.status)) return e;
      if (Date.now() > deadline)
        throw new AppError(
          'unavailable',
          `execution ${e.id} is still ${e.status} after ${timeout} s; it goes on without this command (axiom execution show ${e.id})`,
          { reason: 'timeout' },
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    bar?.stop();
  }
}

export function registerPlanCommands(program: Command, ctx: CliContext, lazy: Lazy): void {
  void lazy;
  const plan = program.command('plan').description('remediation plans (over the HTTPS API)');

  plan
    .command('list')
    .description('the newest version of each plan you may read')
    .option('--facility <facility>', 'only this facility (id or slug)')
    .option('--state <state>', 'in_review, effective, rejected, retired or superseded')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (o: { facility?: string; state?: string; json?: boolean; url?: string }) => {
      const q = new URLSearchParams();
      if (o.state) q.set('state', o.state);
      const list = await withClient(ctx, o.url, async (api) => {
        if (o.facility) q.set('facility_id', await facilityRef(api, o.facility));
        return await api.call<Plan[]>('GET', `/api/v1/plans${q.size ? `?${q.toString()}` : ''}`);
      });
      if (o.json) ctx.io.json(list);
      else if (list.length === 0) ctx.io.out('no plans');
      else for (const p of list) printPlan(ctx, p);
    });

  plan
    .command('show <id>')
    .description('a plan: steps, risk, approvals, rollback')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (id: string, o: { json?: boolean; url?: string }) => {
      const p = await withClient(ctx, o.url, (api) =>
        api.call<Plan>('GET', `/api/v1/plans/${uuidArg(id)}`),
      );
      if (o.json) ctx.io.json(p);
      else printPlan(ctx, p);
    });

  plan
    .command('create')
    .description('propose a plan for findings of one connection; it is submitted for approval')
    .requiredOption('--finding <id...>', 'finding ids (one or more)')
    .option('--title <text>', 'a title')
    .option('--reason <text>', 'why')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(
      async (o: {
        finding: string[];
        title?: string;
        reason?: string;
        json?: boolean;
        url?: string;
      }) => {
        const body = {
          finding_ids: o.finding.map(uuidArg),
          ...(o.title ? { title: o.title } : {}),
          ...(o.reason ? { reason: o.reason } : {}),
        };
        const p = await withClient(ctx, o.url, (api) =>
          api.call<Plan>('POST', '/api/v1/plans', body),
        );
        if (o.json) ctx.io.json(p);
        else {
          printPlan(ctx, p);
          ctx.io.out(`Then: axiom plan approve ${p.id} (by a reviewer who did not author it)`);
        }
      },
    );

  for (const meaning of ['approved', 'rejected'] as const) {
    const verb = meaning === 'approved' ? 'approve' : 'reject';
    const cmd = plan
      .command(`${verb} <id>`)
      .description(
        `${verb} the plan's current version with an e-signature (your password, or --sso), bound to its record hash`,
      );
    signingOptions(cmd).option('--json', 'machine output').addOption(urlOption());
    if (meaning === 'approved') cmd.option('--comment <text>', 'a comment');
    else cmd.requiredOption('--reason <text>', 'why it is rejected');
    cmd.action(
      async (
        id: string,
        o: {
          passwordStdin?: boolean;
          sso?: boolean;
          browser?: boolean;
          timeout?: string;
          comment?: string;
          reason?: string;
          json?: boolean;
          url?: string;
        },
      ) => {
        const planId = uuidArg(id);
        const how = signingMethod(o);
        const cr = await withClient(ctx, o.url, async (api) => {
          const p = await api.call<Plan>('GET', `/api/v1/plans/${planId}`);
          const signature = await signChangeRequest(ctx, api, p.change_request.id, meaning, how);
          return await api.call<{ state: string }>('POST', `/api/v1/plans/${planId}/${verb}`, {
            record_hash: p.record_hash,
            signature,
            ...(meaning === 'approved'
              ? o.comment
                ? { comment: o.comment }
                : {}
              : { reason: o.reason }),
          });
        });
        if (o.json) ctx.io.json(cr);
        else {
          ctx.io.out(`plan ${planId}: change request ${cr.state}`);
          // What happens next: an approved plan waits to be started.
          if (cr.state === 'approved') ctx.io.out(`Then: axiom execution start ${planId}`);
        }
      },
    );
  }

  plan
    .command('revise <id>')
    .description(
      'a new version of a plan that has not run, without some steps or with edited content; its approvals so far no longer count',
    )
    .option('--drop-step <n,...>', 'the step numbers to leave out (axiom plan show)')
    .option(
      '--content-file <file>',
      'the new content as JSON (`-` for standard input): the content of axiom plan show ID --json, edited',
    )
    .requiredOption('--reason <text>', 'why')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(
      async (
        id: string,
        o: {
          dropStep?: string;
          contentFile?: string;
          reason: string;
          json?: boolean;
          url?: string;
        },
      ) => {
        const pid = uuidArg(id);
        if ((o.dropStep === undefined) === (o.contentFile === undefined))
          throw new AppError('invalid_input', 'give one of --drop-step and --content-file', {
            reason: 'usage',
          });
        if (o.dropStep !== undefined && !/^\d{1,3}(,\d{1,3})*$/.test(o.dropStep))
          throw new AppError('invalid_input', '--drop-step is step numbers, e.g. 2 or 2,3', {
            reason: 'usage',
          });
        const edited =
          o.contentFile === undefined
            ? undefined
            : revisable(
                await readJsonObject(ctx, o.contentFile, '--content-file', MAX_PLAN_CONTENT_BYTES),
              );
        const drop = new Set((o.dropStep ?? '').split(',').map(Number));
        const p = await withClient(ctx, o.url, async (api) => {
          const content =
            edited ??
            withoutSteps((await api.call<Plan>('GET', `/api/v1/plans/${pid}`)).content, drop);
          return await api.call<Plan>('POST', `/api/v1/plans/${pid}/versions`, {
            content,
            reason: o.reason,
          });
        });
        if (o.json) ctx.io.json(p);
        else {
          printPlan(ctx, p);
          ctx.io.out(
            `Then: axiom plan approve ${p.id} (the earlier version's approvals do not count)`,
          );
        }
      },
    );

  plan
    .command('revoke-approval <id>')
    .description('take your approval back (until the plan starts)')
    .requiredOption('--reason <text>', 'why')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (id: string, o: { reason: string; json?: boolean; url?: string }) => {
      const p = await withClient(ctx, o.url, (api) =>
        api.call<Plan>('POST', `/api/v1/plans/${uuidArg(id)}/revoke-approval`, {
          reason: o.reason,
        }),
      );
      if (o.json) ctx.io.json(p);
      else printPlan(ctx, p);
    });

  program
    .command('memory')
    .description(
      'operational memory: each action type’s outcomes, streak of successes and confidence, the trust ladder’s evidence',
    )
    .option('--action <id>', 'only this action type, e.g. s3.put_bucket_public_access_block')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (o: { action?: string; json?: boolean; url?: string }) => {
      if (o.action !== undefined && !/^[a-z0-9]+\.[a-z0-9_]+$/.test(o.action))
        throw new AppError('invalid_input', `${o.action} is not an action type`, {
          reason: 'usage',
        });
      const m = await withClient(ctx, o.url, (api) =>
        api.call<{
          actions: Array<{
            action_id: string;
            action_class: string;
            reversibility: string;
            base_risk: string;
            succeeded: number;
            failed: number;
            rolled_back: number;
            consecutive_successes: number;
            confidence: number | null;
          }>;
          executions: unknown[];
        }>('GET', `/api/v1/memory${o.action ? `?action_id=${o.action}` : ''}`),
      );
      if (o.json) return ctx.io.json(m);
      for (const a of m.actions)
        ctx.io.out(
          `${a.action_id.padEnd(44)}  ${a.action_class.padEnd(8)}  ${a.reversibility.padEnd(12)}  risk ${a.base_risk.padEnd(6)}  ${a.succeeded} ok / ${a.failed} failed / ${a.rolled_back} rolled back  streak ${a.consecutive_successes}  confidence ${a.confidence === null ? '-' : Number(a.confidence).toFixed(2)}`,
        );
      ctx.io.out(`${m.executions.length} recent execution(s): axiom execution list`);
    });

  const execution = program
    .command('execution')
    .description('executions of approved plans (over the HTTPS API)');

  execution
    .command('list')
    .description('executions you may read, newest first (at most 500)')
    .option('--plan <id>', 'only the executions of this plan (rollbacks are plans of their own)')
    .option('--facility <facility>', 'only this facility, by id or slug')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (o: { plan?: string; facility?: string; json?: boolean; url?: string }) => {
      const plan = o.plan === undefined ? undefined : uuidArg(o.plan);
      const list = await withClient(ctx, o.url, async (api) => {
        const q = new URLSearchParams();
        if (plan) q.set('plan_id', plan);
        if (o.facility) q.set('facility_id', await facilityRef(api, o.facility));
        const qs = q.toString();
        return await api.call<ExecutionRow[]>('GET', `/api/v1/executions${qs ? `?${qs}` : ''}`);
      });
      if (o.json) return ctx.io.json(list);
      if (list.length === 0) return ctx.io.out('no executions');
      for (const e of list)
        ctx.io.out(
          `${e.id}  ${e.kind.padEnd(8)}  ${e.status.padEnd(11)}  ${e.action_class.padEnd(8)}  plan ${e.plan_id}  ${e.started_at ?? `queued ${e.created_at}`}${e.auto_applied ? '  (auto-applied)' : ''}`,
        );
    });

  execution
    .command('start <plan-id>')
    .description(
      'start an approved plan; the worker runs it (--wait: follow it to its end, exit 0 succeeded, 1 otherwise)',
    )
    .option('--wait', 'follow the execution with a progress bar until it ends')
    .option('--timeout <seconds>', 'with --wait: give up waiting after this long', '1800')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(
      async (id: string, o: { wait?: boolean; timeout: string; json?: boolean; url?: string }) => {
        const planId = uuidArg(id);
        const timeout = timeoutSeconds(o.timeout);
        const e = await withClient(ctx, o.url, async (api) => {
          const started = await api.call<Execution>('POST', `/api/v1/plans/${planId}/executions`);
          const e = o.wait ? await followExecution(ctx, api, started, timeout, !o.json) : started;
          if (o.json) ctx.io.json(e);
          else {
            await printExecution(ctx, api, e);
            if (!o.wait) ctx.io.out(`Then: axiom execution show ${e.id}`);
          }
          return e;
        });
        if (o.wait && e.status !== 'succeeded') throw new ExitCode(1);
      },
    );

  execution
    .command('show <id>')
    .description('an execution with its progress per step')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (id: string, o: { json?: boolean; url?: string }) => {
      const execId = uuidArg(id);
      await withClient(ctx, o.url, async (api) => {
        const e = await api.call<Execution>('GET', `/api/v1/executions/${execId}`);
        if (o.json) ctx.io.json(e);
        else await printExecution(ctx, api, e);
      });
    });

  execution
    .command('rollback <id>')
    .description('request a rollback of a succeeded execution (a plan to approve and start)')
    .requiredOption('--reason <text>', 'why')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (id: string, o: { reason: string; json?: boolean; url?: string }) => {
      const p = await withClient(ctx, o.url, (api) =>
        api.call<Plan>('POST', `/api/v1/executions/${uuidArg(id)}/rollback`, { reason: o.reason }),
      );
      if (o.json) ctx.io.json(p);
      else {
        printPlan(ctx, p);
        ctx.io.out(`Then: axiom plan approve ${p.id}, and axiom execution start ${p.id}`);
      }
    });

  execution
    .command('dry-run <plan-id>')
    .description('what the plan would read, change and need, with DryRun and simulation only')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (id: string, o: { json?: boolean; url?: string }) => {
      const r = await withClient(ctx, o.url, (api) =>
        api.call<{
          ok: boolean;
          problems: string[];
          steps: Array<{
            index: number;
            actionId: string;
            matchesApproval: boolean;
            problems: string[];
          }>;
        }>('POST', `/api/v1/plans/${uuidArg(id)}/dry-run`),
      );
      if (o.json) ctx.io.json(r);
      else {
        ctx.io.out(`dry run: ${r.ok ? 'nothing stands in the way' : 'problems found'}`);
        for (const s of r.steps)
          ctx.io.out(
            `  ${s.index + 1}. ${s.actionId}  ${s.matchesApproval ? 'as approved' : 'CHANGED since approval'}${s.problems.length ? `  ${s.problems.join('; ')}` : ''}`,
          );
        for (const p of r.problems) ctx.io.out(`  ${p}`);
      }
    });
}
