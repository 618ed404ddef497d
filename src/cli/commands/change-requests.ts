// `axiom change-request list|show|submit|review|approve|reject|withdraw` (alias `axiom cr`), through
// the HTTPS API (docs/cli.md): the change management of controlled records (policies, check and
// facility configurations, plans) from a terminal. Approving or rejecting is an e-signature over the
// exact proposed version (its record hash), answered with the password; the database decides who may.
import { Option, type Command } from 'commander';
import { AppError } from '../../errors.js';
import { contentChanges } from '../../records/content-changes.js';
import { type CallApi, facilityRef, urlOption, uuidArg, withClient } from '../api.js';
import type { CliContext, Lazy } from '../main.js';
import { signChangeRequest, signingMethod, signingOptions } from '../signing.js';

interface ChangeRequest {
  id: string;
  state: string;
  title: string;
  domain: string;
  reason: string;
  author_id: string;
  target_kind: string;
  target_item_id: string;
  facility_id: string | null;
  created_at: string;
  submitted_at: string | null;
  decided_at: string | null;
  required_approvals: number;
  proposed_record_hash: string;
  decisions: Array<{
    decision: string;
    principal_id: string;
    comment: string | null;
    created_at: string;
  }>;
  proposed_record?: { version?: number; record_id?: string; content: unknown } | null;
}

/** The effective version a record's new version would replace (GET /api/v1/records/:kind/:item). */
interface Effective {
  record_id: string;
  version: number;
  content: Record<string, unknown>;
}

const STATES = ['draft', 'in_review', 'approved', 'rejected', 'withdrawn'];

const recordHash = (v: string): string => {
  if (!/^[0-9a-f]{64}$/.test(v))
    throw new AppError('invalid_input', '--record-hash is a SHA-256 hash in lowercase hex', {
      reason: 'usage',
    });
  return v;
};

function summary(cr: ChangeRequest): string {
  const approvals = cr.decisions.filter((d) => d.decision === 'approved').length;
  return `${cr.id}  ${cr.state.padEnd(9)}  ${cr.target_kind.padEnd(22)}  approvals ${approvals}/${cr.required_approvals}  ${cr.title}`;
}

/**
 * While a change request is open, the version its new version would replace: what a reviewer compares
 * it with before signing. Undefined for a first version, a plan (axiom plan show), a decided change
 * request, or when the record cannot be read.
 */
async function replaced(api: CallApi, cr: ChangeRequest): Promise<Effective | undefined> {
  const p = cr.proposed_record;
  if (!p || (p.version ?? 1) < 2 || cr.target_kind === 'plan') return undefined;
  if (cr.state !== 'draft' && cr.state !== 'in_review') return undefined;
  try {
    const r = await api.call<{ effective: Effective | null }>(
      'GET',
      `/api/v1/records/${cr.target_kind}/${cr.target_item_id}`,
    );
    return r.effective && r.effective.record_id !== p.record_id ? r.effective : undefined;
  } catch {
    return undefined;
  }
}

/** What the new version changes against `before`, a line per setting. */
export function changeLines(before: Effective, after: Record<string, unknown>): string[] {
  const changes = contentChanges(before.content, after);
  const json = (v: unknown): string => JSON.stringify(v);
  return [
    `  what changes against version ${before.version} (effective):`,
    ...(changes.length === 0
      ? ['    nothing: the new version says what the effective one says']
      : changes.map((c) =>
          c.kind === 'added'
            ? `    ${c.key}: added ${json(c.after)}`
            : c.kind === 'removed'
              ? `    ${c.key}: removed (was ${json(c.before)})`
              : `    ${c.key}: ${json(c.before)} -> ${json(c.after)}`,
        )),
  ];
}

function printDetail(ctx: CliContext, cr: ChangeRequest, before?: Effective): void {
  ctx.io.out(`change request ${cr.id}  ${cr.state}  ${cr.domain}`);
  ctx.io.out(`  title:     ${cr.title}`);
  ctx.io.out(`  reason:    ${cr.reason}`);
  ctx.io.out(
    `  changes:   ${cr.target_kind} ${cr.target_item_id}${cr.proposed_record?.version ? ` (to version ${cr.proposed_record.version})` : ''}`,
  );
  ctx.io.out(`  author:    ${cr.author_id}, ${cr.created_at}`);
  ctx.io.out(`  approvals: ${cr.required_approvals} required`);
  for (const d of cr.decisions)
    ctx.io.out(
      `    ${d.decision.padEnd(8)}  ${d.principal_id}  ${d.created_at}${d.comment ? `  ${d.comment}` : ''}`,
    );
  ctx.io.out(`  record hash ${cr.proposed_record_hash} (what a signature is bound to)`);
  if (cr.target_kind === 'plan') ctx.io.out(`  the plan: axiom plan show ${cr.target_item_id}`);
  else if (cr.proposed_record) {
    if (before)
      for (const line of changeLines(before, cr.proposed_record.content as Record<string, unknown>))
        ctx.io.out(line);
    ctx.io.out('  proposed content:');
    for (const line of JSON.stringify(cr.proposed_record.content, null, 2).split('\n'))
      ctx.io.out(`    ${line}`);
  }
}

/** The hash to sign or review: the one given (the version the person read), else the current one. */
async function hashFor(api: CallApi, id: string, given: string | undefined): Promise<string> {
  if (given !== undefined) return recordHash(given);
  return (await api.call<ChangeRequest>('GET', `/api/v1/change-requests/${id}`))
    .proposed_record_hash;
}

export function registerChangeRequestCommands(program: Command, ctx: CliContext, lazy: Lazy): void {
  void lazy;
  const hashOption = () =>
    new Option(
      '--record-hash <hash>',
      'the proposed version you read (axiom change-request show); refused if it changed since',
    );
  const cr = program
    .command('change-request')
    .alias('cr')
    .description('change requests of controlled records and plans (over the HTTPS API)');

  cr.command('list')
    .description('change requests you may read, newest first')
    .addOption(new Option('--state <state>', 'only this state').choices(STATES))
    .option('--facility <facility>', 'only this facility (id or slug)')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (o: { state?: string; facility?: string; json?: boolean; url?: string }) => {
      const q = new URLSearchParams();
      if (o.state) q.set('state', o.state);
      const r = await withClient(ctx, o.url, async (api) => {
        if (o.facility) q.set('facility_id', await facilityRef(api, o.facility));
        return await api.call<{ change_requests: ChangeRequest[] }>(
          'GET',
          `/api/v1/change-requests${q.size ? `?${q.toString()}` : ''}`,
        );
      });
      if (o.json) ctx.io.json(r.change_requests);
      else if (r.change_requests.length === 0) ctx.io.out('no change requests');
      else for (const c of r.change_requests) ctx.io.out(summary(c));
    });

  cr.command('show <id>')
    .description('a change request: what it changes, its decisions and the proposed content')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (id: string, o: { json?: boolean; url?: string }) => {
      const { c, before } = await withClient(ctx, o.url, async (api) => {
        const c = await api.call<ChangeRequest>('GET', `/api/v1/change-requests/${uuidArg(id)}`);
        return { c, before: o.json ? undefined : await replaced(api, c) };
      });
      if (o.json) ctx.io.json(c);
      else printDetail(ctx, c, before);
    });

  cr.command('submit <id>')
    .description('submit your draft for review')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (id: string, o: { json?: boolean; url?: string }) => {
      const c = await withClient(ctx, o.url, (api) =>
        api.call<ChangeRequest>('POST', `/api/v1/change-requests/${uuidArg(id)}/submit`),
      );
      if (o.json) ctx.io.json(c);
      else ctx.io.out(summary(c));
    });

  cr.command('review <id>')
    .description('record a review of the proposed version (not a signature)')
    .requiredOption('--comment <text>', 'what you found')
    .addOption(hashOption())
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(
      async (
        id: string,
        o: { comment: string; recordHash?: string; json?: boolean; url?: string },
      ) => {
        const crId = uuidArg(id);
        const c = await withClient(ctx, o.url, async (api) =>
          api.call<ChangeRequest>('POST', `/api/v1/change-requests/${crId}/review`, {
            record_hash: await hashFor(api, crId, o.recordHash),
            comment: o.comment,
          }),
        );
        if (o.json) ctx.io.json(c);
        else ctx.io.out(summary(c));
      },
    );

  for (const meaning of ['approved', 'rejected'] as const) {
    const verb = meaning === 'approved' ? 'approve' : 'reject';
    const cmd = cr
      .command(`${verb} <id>`)
      .description(
        `${verb} the proposed version with an e-signature (your password, or --sso), bound to its record hash`,
      )
      .addOption(hashOption());
    signingOptions(cmd).option('--json', 'machine output').addOption(urlOption());
    if (meaning === 'approved') cmd.option('--comment <text>', 'a comment');
    else cmd.requiredOption('--reason <text>', 'why it is rejected');
    cmd.action(
      async (
        id: string,
        o: {
          recordHash?: string;
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
        const crId = uuidArg(id);
        const how = signingMethod(o);
        const c = await withClient(ctx, o.url, async (api) => {
          const hash = await hashFor(api, crId, o.recordHash);
          const { challenge_id } = await signChangeRequest(ctx, api, crId, meaning, how);
          return await api.call<ChangeRequest>('POST', `/api/v1/change-requests/${crId}/${verb}`, {
            record_hash: hash,
            challenge_id,
            ...(meaning === 'approved'
              ? o.comment
                ? { comment: o.comment }
                : {}
              : { reason: o.reason }),
          });
        });
        if (o.json) ctx.io.json(c);
        else ctx.io.out(summary(c));
      },
    );
  }

  cr.command('withdraw <id>')
    .description('withdraw your change request')
    .requiredOption('--reason <text>', 'why')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (id: string, o: { reason: string; json?: boolean; url?: string }) => {
      const c = await withClient(ctx, o.url, (api) =>
        api.call<ChangeRequest>('POST', `/api/v1/change-requests/${uuidArg(id)}/withdraw`, {
          reason: o.reason,
        }),
      );
      if (o.json) ctx.io.json(c);
      else ctx.io.out(summary(c));
    });
}
