// `axiom audit events` and `axiom audit sessions`: the audit trail read page by page over the HTTPS
// API, as the dashboard's Audit page shows it (audit:read organization-wide, decided by the
// database). Newest first, people by e-mail (ids with --json); a full page ends with the command that
// shows the next one. Also `axiom audit retention`, `axiom audit legal-hold on|off` and `axiom audit
// chains` (the server verifies the organization's chains now).
import { Argument, Option, type Command } from 'commander';
import { AppError } from '../../errors.js';
import {
  principalNames,
  principalRef,
  urlOption,
  uuidArg,
  wholeNumber,
  withClient,
} from '../api.js';
import { ExitCode, type CliContext } from '../main.js';

interface AuditEvent {
  occurred_at: string;
  event_type: string;
  actor_id: string | null;
  domain: string | null;
  target_table: string | null;
  target_id: string | null;
  reason: string | null;
  has_state: boolean;
  cursor: string;
}

interface SessionEvent {
  occurred_at: string;
  principal_id: string | null;
  operation: string;
  target_type: string | null;
  target_id: string | null;
  outcome: string;
  error_code: string | null;
  client_ip: string | null;
  cursor: string;
}

/** The most api.audit_event_list and api.session_event_list return at once. */
const MAX_LIMIT = 500;

function cursorArg(v: string): string {
  // The server's cursor: a timestamp and an id (what a previous page printed).
  if (v.length > 200 || !/^[0-9T:.+\- Z]+\|[0-9a-f-]{36}$/i.test(v))
    throw new AppError('invalid_input', '--before is the cursor a previous page printed', {
      reason: 'usage',
    });
  return v;
}

interface PageOptions {
  limit?: number;
  before?: string;
  json?: boolean;
  url?: string;
}

/** The options both listings share: page size, the next page's cursor, --json and --url. */
function pageOptions(c: Command, what: string): Command {
  return c
    .option(
      '--limit <n>',
      `${what} per page, 1 to ${MAX_LIMIT} (default 50)`,
      wholeNumber('--limit', MAX_LIMIT),
    )
    .option('--before <cursor>', 'the next page (printed after a full page)', cursorArg)
    .option('--json', 'machine output')
    .addOption(urlOption());
}

/** The query of one page: its size and, when given, where it starts. */
function pageQuery(o: PageOptions): URLSearchParams {
  const q = new URLSearchParams({ limit: String(o.limit ?? 50) });
  if (o.before) q.set('before', o.before);
  return q;
}

/** After a full page, the command that shows the next one. */
function printMore(
  ctx: CliContext,
  command: string,
  o: PageOptions,
  page: Array<{ cursor: string }>,
): void {
  if (page.length === (o.limit ?? 50))
    ctx.io.out(`more: axiom audit ${command} ... --before '${page[page.length - 1]!.cursor}'`);
}

export function registerAuditEventCommands(audit: Command, ctx: CliContext): void {
  const eventsCommand = audit
    .command('events')
    .description(
      'audit events (every change, by whom, why), newest first (audit:read organization-wide)',
    )
    .option('--type <event_type>', 'only this event type, e.g. grant.created, plan.approved')
    .option('--target <id>', 'only events about this id (target or related)');
  pageOptions(eventsCommand, 'events').action(
    async (o: PageOptions & { type?: string; target?: string }) => {
      const q = pageQuery(o);
      if (o.type) q.set('event_type', o.type);
      if (o.target) q.set('target_id', uuidArg(o.target));
      const [events, who] = await withClient(ctx, o.url, async (api) => {
        const list = await api.call<AuditEvent[]>('GET', `/api/v1/audit/events?${q.toString()}`);
        return [list, o.json ? null : await principalNames(api)] as const;
      });
      if (!who) {
        ctx.io.json(events);
        return;
      }
      if (events.length === 0) ctx.io.out('no audit events');
      for (const e of events) {
        const target = e.target_table ? `  ${e.target_table} ${e.target_id ?? ''}` : '';
        ctx.io.out(
          `${e.occurred_at}  ${e.event_type.padEnd(28)}  by ${who(e.actor_id)}${target}${e.reason ? `  "${e.reason}"` : ''}`,
        );
      }
      printMore(ctx, 'events', o, events);
    },
  );

  const sessionsCommand = audit
    .command('sessions')
    .description(
      'every call made with a session, allowed or refused, newest first (audit:read organization-wide)',
    )
    .addOption(
      new Option('--outcome <outcome>', 'only this outcome').choices(['ok', 'denied', 'error']),
    )
    .option('--principal <person>', 'only this person’s calls, by id or e-mail');
  pageOptions(sessionsCommand, 'calls').action(
    async (o: PageOptions & { outcome?: string; principal?: string }) => {
      const q = pageQuery(o);
      if (o.outcome) q.set('outcome', o.outcome);
      const [events, who] = await withClient(ctx, o.url, async (api) => {
        if (o.principal) q.set('principal_id', await principalRef(api, o.principal));
        const list = await api.call<SessionEvent[]>(
          'GET',
          `/api/v1/audit/session-events?${q.toString()}`,
        );
        return [list, o.json ? null : await principalNames(api)] as const;
      });
      if (!who) {
        ctx.io.json(events);
        return;
      }
      if (events.length === 0) ctx.io.out('no session events');
      for (const e of events)
        ctx.io.out(
          `${e.occurred_at}  ${e.outcome.padEnd(6)}  ${e.operation.padEnd(28)}  by ${who(e.principal_id)}${e.error_code ? `  ${e.error_code}` : ''}${e.client_ip ? `  from ${e.client_ip}` : ''}`,
        );
      printMore(ctx, 'sessions', o, events);
    },
  );

  registerRetentionCommands(audit, ctx);
  audit
    .command('chains')
    .description(
      'have the server verify the organization’s chains now (audit:read; recorded): exit 0 intact, 1 broken',
    )
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (o: { json?: boolean; url?: string }) => {
      const r = await withClient(ctx, o.url, (api) =>
        api.call<{
          intact: boolean;
          problems: Array<{ table: string; record_id: string | null; problem: string }>;
          counts: Record<string, number> | null;
        }>('POST', '/api/v1/audit/verify'),
      );
      if (o.json) ctx.io.json(r);
      else {
        for (const [table, n] of Object.entries(r.counts ?? {}).sort())
          ctx.io.out(`  ${String(n).padStart(8)}  ${table}`);
        for (const p of r.problems)
          ctx.io.out(`BROKEN ${p.table} ${p.record_id ?? '-'} (${p.problem})`);
        ctx.io.out(r.intact ? 'intact' : `${r.problems.length} problem(s), the first named first`);
      }
      if (!r.intact) throw new ExitCode(1);
    });
}

interface Retention {
  plan_tier: string;
  retention_days: number | null;
  legal_hold: boolean;
  archived_before: string | null;
}

/** `axiom audit retention` and `axiom audit legal-hold on|off`, over the HTTPS API. */
function registerRetentionCommands(audit: Command, ctx: CliContext): void {
  const print = (r: Retention): void => {
    ctx.io.out(
      `plan ${r.plan_tier}: ${r.retention_days === null ? 'the whole trail stays viewable' : `${r.retention_days} days of the trail stay viewable`}`,
    );
    ctx.io.out(`legal hold: ${r.legal_hold ? 'set (nothing is archived while it is)' : 'none'}`);
    ctx.io.out(
      r.archived_before
        ? `archived: entries before ${r.archived_before} (still in every export and verification)`
        : 'archived: nothing',
    );
  };
  audit
    .command('retention')
    .description('how long the trail stays viewable, the legal hold, what is archived (audit:read)')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (o: { json?: boolean; url?: string }) => {
      const r = await withClient(ctx, o.url, (api) =>
        api.call<Retention>('GET', '/api/v1/audit/retention'),
      );
      if (o.json) ctx.io.json(r);
      else print(r);
    });
  audit
    .command('legal-hold')
    .description(
      'place (on) or lift (off) a legal hold: nothing is archived while it is set (audit:review)',
    )
    .addArgument(new Argument('<state>', 'on or off').choices(['on', 'off']))
    .requiredOption('--reason <text>', 'why (kept in the audit trail)')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (state: string, o: { reason: string; json?: boolean; url?: string }) => {
      const r = await withClient(ctx, o.url, (api) =>
        api.call<Retention>('PUT', '/api/v1/audit/legal-hold', {
          hold: state === 'on',
          reason: o.reason,
        }),
      );
      if (o.json) ctx.io.json(r);
      else print(r);
    });
}
