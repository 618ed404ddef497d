// `axiom connection ...` (through the HTTPS API) and `axiom worker` (the job worker alone, on the
// installation). `axiom scan` is in scans.ts. See docs/cli.md.
import { Option, type Command } from 'commander';
import type { Connection, TestReport } from '../../cloud/connections.js';
import { AppError } from '../../errors.js';
import { onShutdown } from '../../lifecycle.js';
import { awsAccessKeyIdPattern } from '../../security/redact.js';
import { arnPaging, facilityRef, readPages, urlOption, uuidArg, withClient } from '../api.js';
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
