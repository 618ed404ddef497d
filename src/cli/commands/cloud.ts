// `axiom connection ...`, `axiom scan` (both through the HTTPS API) and `axiom worker` (the job
// worker alone, on the installation). See docs/cli.md.
import { Option, type Command } from 'commander';
import type { Connection, TestReport } from '../../cloud/connections.js';
import { AppError } from '../../errors.js';
import { onShutdown } from '../../lifecycle.js';
import { SEVERITIES } from '../../findings/vocabulary.js';
import { awsAccessKeyIdPattern } from '../../security/redact.js';
import { facilityRef, readPages, uuidArg, wholeNumber, withClient, urlOption } from '../api.js';
import { ExitCode, type CliContext, type Lazy } from '../main.js';

type Onboarded = Connection & {
  onboarding: {
    scanRole: {
      trustPolicy: unknown;
      permissionsPolicy: unknown;
      cloudFormation: string;
      terraform: string;
    };
  };
};

function refuseKeys(values: unknown[]): void {
  for (const v of values) {
    awsAccessKeyIdPattern.lastIndex = 0;
    if (typeof v === 'string' && awsAccessKeyIdPattern.test(v))
      throw new AppError(
        'invalid_input',
        'Axiom never accepts AWS access keys: connect with an IAM role ARN',
        {
          reason: 'credentials_refused',
        },
      );
  }
}

function printConnection(ctx: CliContext, c: Onboarded, withPolicy: boolean): void {
  ctx.io.out(`connection ${c.id}  account ${c.account_id}  status ${c.status}`);
  if (c.status_reason) ctx.io.out(`  ${c.status_reason}`);
  const roles = Object.entries(c.execution_roles ?? {});
  if (roles.length)
    ctx.io.out(
      `execution roles (opt-in, per action class): ${roles.map(([cls, on]) => `${cls} ${on ? 'yes' : 'no'}`).join(', ')}`,
    );
  for (const e of c.external_ids)
    ctx.io.out(
      `External ID: ${e.external_id}${e.current ? '' : ` (previous; presented until ${e.accepted_until})`}`,
    );
  if (withPolicy) {
    ctx.io.out('Trust policy of the scan role:');
    ctx.io.out(JSON.stringify(c.onboarding.scanRole.trustPolicy, null, 2));
    ctx.io.out(
      `Permissions policy, CloudFormation and Terraform: axiom connection show ${c.id} --json`,
    );
  }
}

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

/** A resource of a connection's inventory, as GET /api/v1/connections/:id/inventory lists it. */
interface Resource {
  arn: string;
  type: string;
  region: string;
  removed_at: string | null;
}

/** An option value that must match `re`; refused before any request otherwise. */
function pattern(v: string, re: RegExp, message: string): string {
  if (!re.test(v)) throw new AppError('invalid_input', message, { reason: 'usage' });
  return v;
}

/** The paging options of a listing by ARN: page size, --cursor, --all, --json and --url. */
function arnPaging(c: Command, what: string, url: Option): Command {
  return c
    .option(
      '--limit <n>',
      `${what} per page, 1 to 1000 (default 100)`,
      wholeNumber('--limit', 1000),
    )
    .option('--cursor <arn>', 'the next page (printed after a page that has more)')
    .option('--all', 'every page')
    .option('--json', 'machine output')
    .addOption(url);
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

export function registerCloudCommands(program: Command, ctx: CliContext, lazy: Lazy): void {
  const url = urlOption();
  const connection = program
    .command('connection')
    .description('cloud account connections (over the HTTPS API)');

  connection
    .command('add')
    .description(
      'connect an AWS account: prints the External ID and the trust policy to create the role with',
    )
    .requiredOption('--facility <facility>', 'the facility, by id or slug (axiom facility list)')
    .requiredOption('--account <id>', 'the 12-digit AWS account id')
    .requiredOption('--role-arn <arn>', 'the scan role ARN (arn:aws:iam::ACCOUNT:role/NAME)')
    .option('--name <name>', 'a name for the connection')
    .option('--regions <list>', 'comma-separated regions to scan (default: every enabled region)')
    .option('--schedule-hours <n>', 'scan on a schedule: 1, 6, 12, 24 or 168 hours')
    .option('--json', 'machine output')
    .addOption(url)
    .action(
      async (o: {
        facility: string;
        account: string;
        roleArn: string;
        name?: string;
        regions?: string;
        scheduleHours?: string;
        json?: boolean;
        url?: string;
      }) => {
        refuseKeys([o.facility, o.account, o.roleArn, o.name, o.regions]);
        const body = {
          account_id: o.account,
          role_arn: o.roleArn,
          ...(o.name ? { name: o.name } : {}),
          ...(o.regions ? { regions: o.regions.split(',').map((r) => r.trim()) } : {}),
          ...(o.scheduleHours ? { schedule_hours: Number(o.scheduleHours) } : {}),
        };
        const c = await withClient(ctx, o.url, async (api) =>
          api.call<Onboarded>('POST', '/api/v1/connections', {
            facility_id: await facilityRef(api, o.facility),
            ...body,
          }),
        );
        if (o.json) ctx.io.json(c);
        else {
          printConnection(ctx, c, true);
          ctx.io.out(`Then: axiom connection test ${c.id}`);
        }
      },
    );

  connection
    .command('show <id>')
    .description('a connection with its onboarding material')
    .option('--json', 'machine output')
    .addOption(url)
    .action(async (id: string, o: { json?: boolean; url?: string }) => {
      const c = await withClient(ctx, o.url, (api) =>
        api.call<Onboarded>('GET', `/api/v1/connections/${uuidArg(id)}`),
      );
      if (o.json) ctx.io.json(c);
      else printConnection(ctx, c, true);
    });

  connection
    .command('list')
    .description('connections you can read')
    .option('--json', 'machine output')
    .addOption(url)
    .action(async (o: { json?: boolean; url?: string }) => {
      const r = await withClient(ctx, o.url, (api) =>
        api.call<{ connections: Connection[] }>('GET', '/api/v1/connections'),
      );
      if (o.json) ctx.io.json(r.connections);
      else
        for (const c of r.connections)
          ctx.io.out(`${c.id}  ${c.account_id}  ${c.status}  ${c.name}`);
    });

  connection
    .command('test <id>')
    .description('assume the role and read once per service (exit 1 when the test fails)')
    .option('--json', 'machine output')
    .addOption(url)
    .action(async (id: string, o: { json?: boolean; url?: string }) => {
      const r = await withClient(ctx, o.url, (api) =>
        api.call<{ report: TestReport; connection: Onboarded }>(
          'POST',
          `/api/v1/connections/${uuidArg(id)}/test`,
        ),
      );
      if (o.json) ctx.io.json(r);
      else {
        ctx.io.out(`${r.report.ok ? 'OK' : 'FAILED'} (${r.report.code}): ${r.report.message}`);
        for (const cause of r.report.possibleCauses ?? []) ctx.io.out(`  - ${cause}`);
        for (const c of r.report.checks)
          ctx.io.out(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.action}${c.code ? ` (${c.code})` : ''}`);
        ctx.io.out(`connection status: ${r.connection.status}`);
      }
      if (!r.report.ok) throw new ExitCode(1);
    });

  connection
    .command('rotate-external-id <id>')
    .description(
      'issue a new External ID; the previous one is presented during the grace period only',
    )
    .option('--grace-hours <n>', 'grace period in hours (0 to 2160)', '24')
    .option('--json', 'machine output')
    .addOption(url)
    .action(async (id: string, o: { graceHours: string; json?: boolean; url?: string }) => {
      const hours = Number(o.graceHours);
      if (!Number.isFinite(hours) || hours < 0 || hours > 2160)
        throw new AppError('invalid_input', '--grace-hours is from 0 to 2160', {
          reason: 'invalid_grace',
        });
      const c = await withClient(ctx, o.url, (api) =>
        api.call<Onboarded>('POST', `/api/v1/connections/${uuidArg(id)}/rotate-external-id`, {
          grace_seconds: Math.round(hours * 3600),
        }),
      );
      if (o.json) ctx.io.json(c);
      else {
        printConnection(ctx, c, true);
        ctx.io.out(
          "Update the role's trust policy (it may list both IDs during the grace period).",
        );
      }
    });

  connection
    .command('disconnect <id>')
    .description('stop every future role assumption for this connection (final)')
    .option('--reason <text>', 'why', 'disconnected from the command line')
    .option('--json', 'machine output')
    .addOption(url)
    .action(async (id: string, o: { reason: string; json?: boolean; url?: string }) => {
      const c = await withClient(ctx, o.url, (api) =>
        api.call<Onboarded>('POST', `/api/v1/connections/${uuidArg(id)}/disconnect`, {
          reason: o.reason,
        }),
      );
      if (o.json) ctx.io.json(c);
      else
        ctx.io.out(`connection ${c.id} disconnected. Delete the IAM role in the account as well.`);
    });

  // Execution roles: the opt-in, per action class, to let approved plans change the account.
  const executionRole = connection
    .command('execution-role')
    .description(
      'opt in to (or out of) changes in the account: one role per action class, used only for approved plans',
    );
  const classOption = () =>
    new Option('--class <class>', 'the action class')
      .choices(['security', 'cost', 'drift'])
      .makeOptionMandatory();
  executionRole
    .command('set <connection-id>')
    .description(
      'set the role of an action class (create it from axiom connection show ID --json: onboarding.executionRoles)',
    )
    .addOption(classOption())
    .requiredOption('--role-arn <arn>', 'the role ARN, in the connection’s account')
    .option('--json', 'machine output')
    .addOption(url)
    .action(
      async (id: string, o: { class: string; roleArn: string; json?: boolean; url?: string }) => {
        refuseKeys([o.roleArn]);
        const c = await withClient(ctx, o.url, (api) =>
          api.call<Onboarded>(
            'PUT',
            `/api/v1/connections/${uuidArg(id)}/execution-roles/${o.class}`,
            { role_arn: o.roleArn },
          ),
        );
        // The ARN is stored sealed and never printed back.
        if (o.json) ctx.io.json(c);
        else printConnection(ctx, c, false);
      },
    );
  executionRole
    .command('remove <connection-id>')
    .description('remove the role of an action class: its approved plans can no longer run')
    .addOption(classOption())
    .option('--json', 'machine output')
    .addOption(url)
    .action(async (id: string, o: { class: string; json?: boolean; url?: string }) => {
      const c = await withClient(ctx, o.url, (api) =>
        api.call<Onboarded>(
          'DELETE',
          `/api/v1/connections/${uuidArg(id)}/execution-roles/${o.class}`,
        ),
      );
      if (o.json) ctx.io.json(c);
      else printConnection(ctx, c, false);
    });

  arnPaging(connection.command('inventory <id>'), 'resources', url)
    .description(
      'what the scans found in the account (metadata only), by ARN; one page unless --all',
    )
    .option('--type <type>', 'only this resource type, e.g. AWS::EC2::Instance', (v: string) =>
      pattern(v, /^AWS::[A-Za-z0-9]*::[A-Za-z0-9]+$/, '--type is a type such as AWS::S3::Bucket'),
    )
    .option('--region <region>', 'only this region, or global', (v: string) =>
      pattern(
        v,
        /^(global|[a-z]{2}(-gov)?-[a-z]+-\d)$/,
        '--region is a region such as eu-west-1, or global',
      ),
    )
    .option('--arn-prefix <prefix>', 'only ARNs that start with this')
    .option('--removed', 'also resources the scans no longer see')
    .action(
      async (
        id: string,
        o: {
          type?: string;
          region?: string;
          arnPrefix?: string;
          removed?: boolean;
          limit?: number;
          cursor?: string;
          all?: boolean;
          json?: boolean;
          url?: string;
        },
      ) => {
        const q = new URLSearchParams({ limit: String(o.limit ?? 100) });
        if (o.type) q.set('type', o.type);
        if (o.region) q.set('region', o.region);
        if (o.arnPrefix) q.set('arn_prefix', o.arnPrefix);
        if (o.removed) q.set('removed', 'true');
        const path = `/api/v1/connections/${uuidArg(id)}/inventory`;
        const r = await withClient(ctx, o.url, (api) => readPages<Resource>(api, path, q, o));
        if (o.json) return ctx.io.json(r);
        if (r.items.length === 0) ctx.io.out('no resources');
        for (const x of r.items)
          ctx.io.out(
            `${x.arn}  ${x.type}  ${x.region}${x.removed_at ? `  removed ${x.removed_at}` : ''}`,
          );
        if (r.next_cursor)
          ctx.io.out(
            `more: axiom connection inventory ${id} ... --cursor '${r.next_cursor}'  (or --all)`,
          );
      },
    );

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
      // Checked before the scan is queued: a bad value must not leave a scan behind.
      const timeout = Number(o.timeout);
      if (!/^\d+$/.test(o.timeout) || timeout < 1 || timeout > 86_400)
        throw new AppError(
          'invalid_input',
          '--timeout is a whole number of seconds from 1 to 86400',
          {
            reason: 'usage',
          },
        );
      // Loaded on use: the other commands start faster without it.
      const { default: cliProgress } = await import('cli-progress');
      const result = await withClient(ctx, o.url, async (api) => {
        const started = await api.call<{ id: string }>('POST', `/api/v1/connections/${id}/scans`);
        const bar = new cliProgress.SingleBar(
          {
            format:
              'scan [{bar}] {value}/{total} services×regions | {resources} resources | {status}',
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        if (!o.json) bar.start(1, 0, { resources: 0, status: 'queued' });
        const deadline = Date.now() + timeout * 1000;
        let scan: Scan;
        try {
          for (;;) {
            scan = await api.call<Scan>('GET', `/api/v1/scans/${started.id}`);
            if (!o.json) {
              bar.setTotal(Math.max(1, scan.progress?.units_total ?? 1));
              bar.update(scan.progress?.units_done ?? 0, {
                resources: scan.progress?.resources_found ?? 0,
                status: scan.status,
              });
            }
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
          if (!o.json) bar.stop();
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
    .requiredOption('--connection <id>', 'connection id')
    .option('--limit <n>', 'at most this many, 1 to 500 (default 20)', wholeNumber('--limit', 500))
    .option('--json', 'machine output')
    .addOption(url)
    .action(async (o: { connection: string; limit?: number; json?: boolean; url?: string }) => {
      const id = uuidArg(o.connection);
      const limit = o.limit ?? 20;
      const r = await withClient(ctx, o.url, (api) =>
        api.call<{ scans: Scan[] }>('GET', `/api/v1/connections/${id}/scans?limit=${limit}`),
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

  program
    .command('worker')
    .description('run the job worker (scans, schedules) until interrupted')
    .action(async () => {
      const [{ openDatabase }, { startInstallationWorker }] = await Promise.all([
        import('../../db/database.js'),
        import('../../jobs/worker.js'),
      ]);
      const config = lazy.config();
      const logger = lazy.logger();
      const db = await openDatabase(config, logger, { migrate: false });
      onShutdown(() => db.stop());
      const worker = await startInstallationWorker({ config, logger, db });
      onShutdown(() => worker.stop());
      ctx.io.out(
        `Axiom worker running (${config.cloud.workerConcurrency} at a time). Press Ctrl-C to stop.`,
      );
      await new Promise<void>(() => {});
    });
}
