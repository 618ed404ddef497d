// `axiom finding list|show|acknowledge|suppress|unsuppress` (alias `axiom findings`), through the
// HTTPS API (docs/cli.md): what the scans found, filtered and paged as the dashboard does, one
// finding with its evidence, check and lifecycle, and triage with the grants the database asks for.
import { Option, type Command } from 'commander';
import { AppError } from '../../errors.js';
import { facilityRef, readPages, urlOption, uuidArg, wholeNumber, withClient } from '../api.js';
import { SEVERITIES } from '../../findings/vocabulary.js';
import type { CliContext, Lazy } from '../main.js';

export interface Finding {
  id: string;
  check_id: string;
  resource_arn: string;
  resource_id: string;
  region: string;
  domain: string;
  severity: string;
  status: string;
  suppressed_until: string | null;
  suppression_reason: string | null;
  first_seen_at: string;
  last_seen_at: string;
  resolved_at: string | null;
  evidence: unknown;
  estimated_monthly_saving_usd: number | string | null;
  version: number;
}

interface FindingDetail extends Finding {
  versions: Array<{
    version: number;
    created_at: string;
    change_reason: string;
    content: { event?: string; status?: string };
  }>;
  check: {
    title: string;
    rationale: string;
    compliance: Record<string, string[]>;
    remediation: { action: string; summary: string; manualReviewRequired: boolean };
  } | null;
}

/** Pages the server serves at most (api.finding_list). */
const MAX_LIMIT = 500;

function saving(f: Finding): string {
  const usd = f.estimated_monthly_saving_usd;
  return usd === null ? '' : `  ~$${Number(usd).toFixed(2)}/month`;
}

/** Findings as `axiom finding list` prints them: columns line up however long the check ids are. */
export function findingLines(items: Finding[]): string[] {
  const width = Math.max(30, ...items.map((f) => f.check_id.length));
  return items.map((f) => findingLine(f, width));
}

/** One finding on a line; `checkWidth`: the check column's width (the longest check id listed). */
export function findingLine(f: Finding, checkWidth = 30): string {
  const until =
    f.status === 'suppressed' && f.suppressed_until ? ` until ${f.suppressed_until}` : '';
  return `${f.id}  ${f.severity.padEnd(8)}  ${(f.status + until).padEnd(12)}  ${f.check_id.padEnd(checkWidth)}  ${f.resource_id} (${f.region})${saving(f)}`;
}

function printDetail(ctx: CliContext, f: FindingDetail): void {
  ctx.io.out(`finding ${f.id} v${f.version}  ${f.severity}  ${f.status}  ${f.domain}`);
  ctx.io.out(`  check:     ${f.check_id}${f.check ? `: ${f.check.title}` : ''}`);
  ctx.io.out(`  resource:  ${f.resource_arn} (${f.region})`);
  ctx.io.out(`  seen:      first ${f.first_seen_at}, last ${f.last_seen_at}`);
  if (f.resolved_at) ctx.io.out(`  resolved:  ${f.resolved_at}`);
  if (f.status === 'suppressed')
    ctx.io.out(`  suppressed until ${f.suppressed_until ?? '?'}: ${f.suppression_reason ?? ''}`);
  if (f.estimated_monthly_saving_usd !== null) ctx.io.out(`  saving:   ${saving(f).trim()}`);
  if (f.check) {
    ctx.io.out(`  why:       ${f.check.rationale}`);
    const refs = Object.entries(f.check.compliance)
      .filter(([, ids]) => ids.length > 0)
      .map(([framework, ids]) => `${framework} ${ids.join(', ')}`);
    if (refs.length) ctx.io.out(`  controls:  ${refs.join('; ')}`);
    ctx.io.out(
      `  fix:       ${f.check.remediation.summary}${f.check.remediation.manualReviewRequired ? ' (manual)' : `  (axiom plan create --finding ${f.id})`}`,
    );
  }
  ctx.io.out('  evidence:');
  for (const line of JSON.stringify(f.evidence, null, 2).split('\n')) ctx.io.out(`    ${line}`);
  ctx.io.out('  history:');
  for (const v of f.versions)
    ctx.io.out(
      `    v${v.version}  ${v.created_at}  ${v.content.event ?? v.content.status ?? ''}  ${v.change_reason}`,
    );
}

export function registerFindingCommands(program: Command, ctx: CliContext, lazy: Lazy): void {
  void lazy;
  const finding = program
    .command('finding')
    .alias('findings')
    .description('what the scans found, and triage (over the HTTPS API)');

  finding
    .command('list')
    .description('findings you may read, most severe first; one page unless --all')
    .option('--facility <facility>', 'only this facility (id or slug)')
    .option('--connection <id>', 'only this connection')
    .addOption(
      new Option('--domain <domain>', 'only this domain').choices(['security', 'cost', 'drift']),
    )
    .addOption(new Option('--severity <severity>', 'only this severity').choices(SEVERITIES))
    .addOption(
      new Option('--status <status>', 'only this status (active: open or acknowledged)').choices([
        'open',
        'acknowledged',
        'suppressed',
        'resolved',
        'active',
      ]),
    )
    .option('--check <id>', 'only this check (axiom finding show gives a finding’s check)')
    .option('--resource <text>', 'resource id or ARN containing this text')
    .addOption(
      new Option('--sort <order>', 'order of the list').choices([
        'severity',
        'last_seen',
        'first_seen',
        'saving',
      ]),
    )
    .option(
      '--limit <n>',
      `findings per page, 1 to ${MAX_LIMIT} (default 50)`,
      wholeNumber('--limit', MAX_LIMIT),
    )
    .option('--cursor <cursor>', 'the next page (printed after a page that has more)')
    .option('--all', 'every page')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(
      async (o: {
        facility?: string;
        connection?: string;
        domain?: string;
        severity?: string;
        status?: string;
        check?: string;
        resource?: string;
        sort?: string;
        limit?: number;
        cursor?: string;
        all?: boolean;
        json?: boolean;
        url?: string;
      }) => {
        const q = new URLSearchParams();
        if (o.connection) q.set('connection_id', uuidArg(o.connection));
        for (const [k, v] of [
          ['domain', o.domain],
          ['severity', o.severity],
          ['status', o.status],
          ['check_id', o.check],
          ['resource', o.resource],
          ['sort', o.sort],
        ] as const)
          if (v !== undefined) q.set(k, v);
        if (o.limit !== undefined) q.set('limit', String(o.limit));
        const { items, next_cursor: next } = await withClient(ctx, o.url, async (api) => {
          if (o.facility) q.set('facility_id', await facilityRef(api, o.facility));
          return await readPages<Finding>(api, '/api/v1/findings', q, o);
        });
        if (o.json) {
          ctx.io.json({ items, next_cursor: next });
          return;
        }
        if (items.length === 0) ctx.io.out('no findings');
        for (const line of findingLines(items)) ctx.io.out(line);
        if (next) ctx.io.out(`more: axiom finding list ... --cursor ${next}  (or --all)`);
      },
    );

  finding
    .command('show <id>')
    .description('a finding: its check, evidence, compliance references, fix and history')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (id: string, o: { json?: boolean; url?: string }) => {
      const f = await withClient(ctx, o.url, (api) =>
        api.call<FindingDetail>('GET', `/api/v1/findings/${uuidArg(id)}`),
      );
      if (o.json) ctx.io.json(f);
      else printDetail(ctx, f);
    });

  finding
    .command('acknowledge <id>')
    .description('acknowledge an open finding (operate in its domain); scans keep it acknowledged')
    .option('--note <text>', 'a note (3 to 2000 characters)')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (id: string, o: { note?: string; json?: boolean; url?: string }) => {
      const f = await withClient(ctx, o.url, (api) =>
        api.call<Finding>('POST', `/api/v1/findings/${uuidArg(id)}/acknowledge`, {
          ...(o.note !== undefined ? { note: o.note } : {}),
        }),
      );
      if (o.json) ctx.io.json(f);
      else ctx.io.out(findingLine(f));
    });

  finding
    .command('suppress <id>')
    .description(
      'suppress a finding with a reason until a time, at most 366 days ahead (author in its domain); it reopens then',
    )
    .requiredOption('--reason <text>', 'why (3 to 2000 characters)')
    .option('--until <time>', 'an ISO 8601 time with its offset, e.g. 2027-03-31T00:00:00Z')
    .option('--days <n>', 'or: for this many days (1 to 366)', wholeNumber('--days', 366))
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(
      async (
        id: string,
        o: { reason: string; until?: string; days?: number; json?: boolean; url?: string },
      ) => {
        if ((o.until === undefined) === (o.days === undefined))
          throw new AppError('invalid_input', 'give either --until or --days', { reason: 'usage' });
        const until = o.until ?? new Date(Date.now() + o.days! * 86_400_000).toISOString();
        const f = await withClient(ctx, o.url, (api) =>
          api.call<Finding>('POST', `/api/v1/findings/${uuidArg(id)}/suppress`, {
            reason: o.reason,
            until,
          }),
        );
        if (o.json) ctx.io.json(f);
        else ctx.io.out(findingLine(f));
      },
    );

  finding
    .command('unsuppress <id>')
    .description('end a suppression now (author in the finding’s domain)')
    .requiredOption('--reason <text>', 'why (3 to 2000 characters)')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (id: string, o: { reason: string; json?: boolean; url?: string }) => {
      const f = await withClient(ctx, o.url, (api) =>
        api.call<Finding>('POST', `/api/v1/findings/${uuidArg(id)}/unsuppress`, {
          reason: o.reason,
        }),
      );
      if (o.json) ctx.io.json(f);
      else ctx.io.out(findingLine(f));
    });
}
