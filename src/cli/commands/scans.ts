// `axiom scan --connection ID` (a scan now, with a progress bar), `axiom scan list|show|changes`: a
// connection's scans over the HTTPS API, as the dashboard's scan pages show them. See docs/cli.md.
import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { SEVERITIES } from '../../findings/vocabulary.js';
import type { Connection } from '../../cloud/connections.js';
import {
  arnPaging,
  readPages,
  timeoutSeconds,
  urlOption,
  uuidArg,
  wholeNumber,
  withClient,
  type CallApi,
} from '../api.js';
import { ExitCode, type CliContext, type Lazy } from '../main.js';
import { progressBar } from '../progress.js';

/** A scan as GET /api/v1/scans/:id returns it (the list has the same fields but resources_by_type). */
export interface Scan {
  id: string;
  connection_id: string;
  trigger: string;
  status: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  progress: { units_total?: number; units_done?: number; resources_found?: number } | null;
  errors: Array<{ unit: string; code: string; message: string }> | null;
  summary: {
    resources?: number;
    durationMs?: number;
    changes?: Record<string, number>;
    findings?: { bySeverity: Record<string, number>; estimatedMonthlySavingsUsd: number };
  } | null;
  resources_by_type?: Record<string, number>;
}

const resources = (s: Scan): number => s.summary?.resources ?? s.progress?.resources_found ?? 0;

const duration = (s: Scan): string =>
  s.summary?.durationMs !== undefined ? `${(s.summary.durationMs / 1000).toFixed(1)} s` : '-';

/**
 * A scan as `axiom scan` ends and `axiom scan show` prints it: what it read, what changed, what it
 * found, and for a partial or failed scan what could not be read and what that means for findings
 * (the dashboard's scan page says the same).
 */
export function scanLines(s: Scan): string[] {
  const lines = [`scan ${s.id}: ${s.status} (${s.trigger})  connection ${s.connection_id}`];
  lines.push(
    `  queued ${s.created_at}${s.started_at ? `, started ${s.started_at}` : ''}${s.finished_at ? `, finished ${s.finished_at}` : ''}${s.summary?.durationMs !== undefined ? ` (${duration(s)})` : ''}`,
  );
  if (s.status === 'queued' || s.status === 'running') {
    const p = s.progress ?? {};
    lines.push(
      `  ${p.units_done ?? 0} of ${p.units_total ?? '?'} services×regions read, ${p.resources_found ?? 0} resources so far`,
    );
  }
  for (const [type, n] of Object.entries(s.resources_by_type ?? {}).sort())
    lines.push(`  ${String(n).padStart(6)}  ${type}`);
  const ch = s.summary?.changes;
  if (ch)
    lines.push(
      `changes: ${ch.added ?? 0} added, ${ch.changed ?? 0} changed, ${ch.removed ?? 0} removed`,
    );
  const f = s.summary?.findings;
  if (f)
    lines.push(
      `findings: ${SEVERITIES.map((sev) => `${f.bySeverity[sev] ?? 0} ${sev}`).join(', ')}; estimated savings $${f.estimatedMonthlySavingsUsd.toFixed(2)}/month`,
    );
  if (s.status === 'partial')
    lines.push(
      'partial: some services or regions could not be read (below). Findings of what was read completely were reconciled; the others were kept as they were, never resolved on missing data.',
    );
  if (s.status === 'failed')
    lines.push('failed: nothing could be read completely. Existing findings are unchanged.');
  for (const e of s.errors ?? []) lines.push(`  error ${e.unit}: ${e.code}: ${e.message}`);
  return lines;
}

/**
 * The connection whose scans `scan list` reads: --connection, else the only one you may read that is
 * not disconnected. None or several: a usage error that names them.
 */
async function listedConnection(api: CallApi, given: string | undefined): Promise<string> {
  if (given !== undefined) return uuidArg(given);
  const { connections } = await api.call<{ connections: Connection[] }>(
    'GET',
    '/api/v1/connections',
  );
  const live = connections.filter((c) => c.status !== 'disconnected');
  if (live.length === 1) return live[0]!.id;
  throw new AppError(
    'invalid_input',
    live.length === 0
      ? 'no connection to list the scans of: pass --connection ID (axiom connection list)'
      : `you may read ${live.length} connections: pass --connection ID, one of ${live
          .map((c) => `${c.id} (${c.account_id}, ${c.name})`)
          .join(', ')}`,
    { reason: 'usage' },
  );
}

export function registerScanCommands(program: Command, ctx: CliContext, lazy: Lazy): void {
  void lazy;
  const url = urlOption();
  const scanCommand = program
    .command('scan')
    .description(
      'scan a connection now, with a progress bar; exit 0 succeeded, 1 partial or failed',
    )
    // Not a required option: Commander checks those of every ancestor, and `scan list` / `scan show`
    // are subcommands of this one.
    .option('--connection <id>', 'connection id (required)')
    .option('--json', 'print the scan and its resources per type as JSON')
    .option('--timeout <seconds>', 'give up waiting after this long', '1800')
    .addOption(url)
    .action(async (o: { connection?: string; json?: boolean; timeout: string; url?: string }) => {
      if (o.connection === undefined)
        throw new AppError(
          'invalid_input',
          "required option '--connection <id>' not specified (axiom scan list|show read past scans)",
          { reason: 'usage' },
        );
      const id = uuidArg(o.connection);
      const timeout = timeoutSeconds(o.timeout);
      const result = await withClient(ctx, o.url, async (api) => {
        const started = await api.call<{ id: string }>('POST', `/api/v1/connections/${id}/scans`);
        const bar = o.json
          ? undefined
          : await progressBar(
              ctx,
              'scan [{bar}] {value}/{total} services×regions | {resources} resources | {status}',
              1,
              { resources: 0, status: 'queued' },
            );
        const deadline = Date.now() + timeout * 1000;
        let scan: Scan;
        try {
          for (;;) {
            scan = await api.call<Scan>('GET', `/api/v1/scans/${started.id}`);
            bar?.setTotal(Math.max(1, scan.progress?.units_total ?? 1));
            bar?.update(scan.progress?.units_done ?? 0, {
              resources: scan.progress?.resources_found ?? 0,
              status: scan.status,
            });
            if (!['queued', 'running'].includes(scan.status)) break;
            if (Date.now() > deadline)
              throw new AppError(
                'unavailable',
                `scan ${scan.id} is still ${scan.status} after ${timeout} s; it goes on without this command (the dashboard's scans of the connection, or GET /api/v1/scans/${scan.id})`,
                { reason: 'timeout' },
              );
            await new Promise((r) => setTimeout(r, 500));
          }
        } finally {
          bar?.stop();
        }
        return scan;
      });
      if (o.json)
        ctx.io.json({
          scan: { ...result, resources_by_type: undefined },
          resources_by_type: result.resources_by_type,
          findings_by_rule: null,
        });
      else for (const line of scanLines(result)) ctx.io.out(line);
      if (result.status !== 'succeeded') throw new ExitCode(1);
    });

  // `axiom scan list` and `axiom scan show`: read-only, and named before `axiom scan --connection`
  // runs a scan, so the word after `scan` picks the subcommand.
  scanCommand
    .command('list')
    .description('the scans of a connection, newest first: status, when, how long, what was found')
    .option('--connection <id>', 'connection id (default: your only connection)')
    .option('--limit <n>', 'at most this many, 1 to 500 (default 20)', wholeNumber('--limit', 500))
    .option('--json', 'machine output')
    .addOption(url)
    .action(async (o: { connection?: string; limit?: number; json?: boolean; url?: string }) => {
      // A given id is checked before any request.
      const given = o.connection === undefined ? undefined : uuidArg(o.connection);
      const limit = o.limit ?? 20;
      const r = await withClient(ctx, o.url, async (api) =>
        api.call<{ scans: Scan[] }>(
          'GET',
          `/api/v1/connections/${await listedConnection(api, given)}/scans?limit=${limit}`,
        ),
      );
      if (o.json) return ctx.io.json(r.scans);
      if (r.scans.length === 0) return ctx.io.out('no scans');
      for (const s of r.scans)
        ctx.io.out(
          [
            s.id,
            s.status.padEnd(9),
            s.trigger.padEnd(9),
            s.created_at,
            duration(s).padStart(8),
            `${String(resources(s)).padStart(6)} resources`,
            s.errors?.length ? `${s.errors.length} not read` : '',
          ]
            .join('  ')
            .trimEnd(),
        );
    });

  scanCommand
    .command('show <id>')
    .description(
      'one scan: status, times, resources per type, changes, findings, what could not be read',
    )
    .option('--json', 'machine output')
    .addOption(url)
    .action(async (id: string, o: { json?: boolean; url?: string }) => {
      const s = await withClient(ctx, o.url, (api) =>
        api.call<Scan>('GET', `/api/v1/scans/${uuidArg(id)}`),
      );
      if (o.json) ctx.io.json(s);
      else for (const line of scanLines(s)) ctx.io.out(line);
    });

  arnPaging(scanCommand.command('changes <id>'), 'changes', url)
    .description('what a scan added, changed and removed, by ARN; one page unless --all')
    .action(
      async (
        id: string,
        o: { limit?: number; cursor?: string; all?: boolean; json?: boolean; url?: string },
      ) => {
        const q = new URLSearchParams({ limit: String(o.limit ?? 100) });
        const path = `/api/v1/scans/${uuidArg(id)}/changes`;
        const r = await withClient(ctx, o.url, (api) =>
          readPages<{ arn: string; type: string; change: string }>(api, path, q, o),
        );
        if (o.json) return ctx.io.json(r);
        if (r.items.length === 0) ctx.io.out('no changes');
        for (const c of r.items) ctx.io.out(`${c.change.padEnd(7)}  ${c.type}  ${c.arn}`);
        if (r.next_cursor)
          ctx.io.out(`more: axiom scan changes ${id} ... --cursor '${r.next_cursor}'  (or --all)`);
      },
    );
}
