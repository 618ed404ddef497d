// `axiom facility list`, `axiom user list|add|disable`, `axiom grant list|create|revoke|history` and
// `axiom delegation create|revoke`, through the HTTPS API (docs/cli.md): the people of the
// organization, what each may do, and time-limited delegations. The database decides every grant
// (configuration:review to grant and to disable people; holding the source grant to delegate) and
// says which rule a refused delegation broke; these commands shape the input and print the answer.
// A person may be named by e-mail and a facility by slug; both are looked up through the API.
import { Option, type Command } from 'commander';
import { AppError } from '../../errors.js';
import {
  type CallApi,
  facilityRef,
  principalNames,
  principalRef,
  urlOption,
  uuidArg,
  withClient,
} from '../api.js';
import type { CliContext, Lazy } from '../main.js';
import { readAll } from '../signing.js';

interface Principal {
  id: string;
  email: string | null;
  display_name: string;
  kind: string;
  is_agent: boolean;
  created_at: string;
  disabled_at: string | null;
}

interface Grant {
  id: string;
  principal_id: string;
  domain: string;
  facility_id: string | null;
  level: string;
  granted_by: string | null;
  reason: string;
  valid_from: string;
  valid_until: string | null;
  delegation_type: string | null;
  source_grant_id: string | null;
  created_at: string;
  revoked_at: string | null;
  revoke_reason: string | null;
  in_force: boolean;
}

interface GrantHistory {
  grant: Grant;
  delegations: Grant[];
  events: Array<{
    occurred_at: string;
    event_type: string;
    actor_id: string;
    reason: string | null;
  }>;
}

interface Facility {
  id: string;
  slug: string;
  name: string;
  environment_tier: string;
  retired_at: string | null;
}

const DOMAINS = ['security', 'cost', 'drift', 'configuration', 'audit'];
const LEVELS = ['read', 'operate', 'author', 'review'];

function usage(message: string, reason = 'usage'): AppError {
  return new AppError('invalid_input', message, { reason });
}

/** --until TIME or --days N (exactly one when `required`), as an ISO 8601 time. */
function expiry(o: { until?: string; days?: string }, required: boolean): string | undefined {
  if (o.until !== undefined && o.days !== undefined)
    throw usage('give --until or --days, not both');
  if (o.days !== undefined) {
    const n = Number(o.days);
    if (!/^\d+$/.test(o.days) || n < 1 || n > 3660)
      throw usage('--days is a whole number from 1 to 3660');
    return new Date(Date.now() + n * 86_400_000).toISOString();
  }
  if (o.until !== undefined) {
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(o.until))
      throw usage('--until is an ISO 8601 time with its offset, e.g. 2027-03-31T00:00:00Z');
    return o.until;
  }
  if (required) throw usage('give --until or --days: a delegation always ends');
  return undefined;
}

function where(g: Grant, facilities: Map<string, string>): string {
  return g.facility_id === null
    ? 'organization-wide'
    : `at ${facilities.get(g.facility_id) ?? g.facility_id}`;
}

function grantLine(g: Grant, facilities: Map<string, string>): string {
  const state = g.revoked_at
    ? 'revoked'
    : g.in_force
      ? 'in force'
      : g.valid_until && g.valid_until < new Date().toISOString()
        ? 'expired'
        : 'not in force';
  const until = g.valid_until ? ` until ${g.valid_until}` : '';
  const delegated = g.delegation_type
    ? `  (${g.delegation_type} delegation of ${g.source_grant_id ?? '?'})`
    : '';
  return `${g.id}  ${`${g.domain}:${g.level}`.padEnd(21)}  ${where(g, facilities).padEnd(20)}  ${state}${until}${delegated}`;
}

async function facilityNames(api: CallApi): Promise<Map<string, string>> {
  const { facilities } = await api.call<{ facilities: Facility[] }>('GET', '/api/v1/facilities');
  return new Map(facilities.map((f) => [f.id, f.slug]));
}

function principalLine(p: Principal): string {
  const kind = p.is_agent ? 'agent' : p.kind;
  const state = p.disabled_at ? `  disabled ${p.disabled_at}` : '';
  return `${p.id}  ${(p.email ?? '-').padEnd(32)}  ${kind.padEnd(7)}  ${p.display_name}${state}`;
}

export function registerOrganizationCommands(program: Command, ctx: CliContext, lazy: Lazy): void {
  void lazy;
  const reasonOption = () =>
    new Option('--reason <text>', 'why (kept in the audit trail)').makeOptionMandatory();

  // --- Facilities ----------------------------------------------------------------------------
  const facility = program
    .command('facility')
    .alias('facilities')
    .description('the facilities (environments) of the organization (over the HTTPS API)');
  facility
    .command('list')
    .description('every facility: id, slug (accepted wherever --facility is), tier and name')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (o: { json?: boolean; url?: string }) => {
      const { facilities } = await withClient(ctx, o.url, (api) =>
        api.call<{ facilities: Facility[] }>('GET', '/api/v1/facilities'),
      );
      if (o.json) ctx.io.json(facilities);
      else
        for (const f of facilities)
          ctx.io.out(
            `${f.id}  ${f.slug.padEnd(24)}  ${f.environment_tier.padEnd(11)}  ${f.name}${f.retired_at ? `  retired ${f.retired_at}` : ''}`,
          );
    });

  facility
    .command('create')
    .description('add a facility (configuration:review organization-wide)')
    .requiredOption('--slug <slug>', 'a short name: lowercase letters, digits and dashes (2-63)')
    .requiredOption('--name <name>', 'a name people read')
    .addOption(
      new Option('--environment <tier>', 'its environment tier')
        .choices(['production', 'staging', 'development'])
        .makeOptionMandatory(),
    )
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(
      async (o: {
        slug: string;
        name: string;
        environment: string;
        json?: boolean;
        url?: string;
      }) => {
        if (!/^[a-z0-9][a-z0-9-]{1,62}$/.test(o.slug))
          throw new AppError(
            'invalid_input',
            '--slug: lowercase letters, digits and dashes, 2 to 63 characters',
            { reason: 'usage' },
          );
        const f = await withClient(ctx, o.url, (api) =>
          api.call<Facility>('POST', '/api/v1/facilities', {
            slug: o.slug,
            name: o.name,
            environment: o.environment,
          }),
        );
        if (o.json) ctx.io.json(f);
        else ctx.io.out(`facility ${f.id}  ${f.slug}  ${f.environment_tier}  ${f.name}`);
      },
    );

  // --- People --------------------------------------------------------------------------------
  const user = program
    .command('user')
    .alias('users')
    .description('the people and service principals of the organization (over the HTTPS API)');

  user
    .command('list')
    .description('everyone in the organization, by e-mail')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (o: { json?: boolean; url?: string }) => {
      const { principals } = await withClient(ctx, o.url, (api) =>
        api.call<{ principals: Principal[] }>('GET', '/api/v1/principals'),
      );
      if (o.json) ctx.io.json(principals);
      else for (const p of principals) ctx.io.out(principalLine(p));
    });

  user
    .command('add')
    .description(
      'add a person (configuration:review): with an initial password from standard input, which they replace at their first sign-in, or for single sign-on only',
    )
    .requiredOption('--email <email>', 'their e-mail address (how they sign in)')
    .requiredOption('--name <name>', 'their display name')
    .option('--password-stdin', 'read the initial password from standard input')
    .option('--sso-only', 'no password: they sign in with the organization’s single sign-on')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(
      async (o: {
        email: string;
        name: string;
        passwordStdin?: boolean;
        ssoOnly?: boolean;
        json?: boolean;
        url?: string;
      }) => {
        if (Boolean(o.passwordStdin) === Boolean(o.ssoOnly))
          throw usage('give --password-stdin (an initial password) or --sso-only');
        if (!/^[^@\s]{1,64}@[^@\s]{1,255}$/.test(o.email))
          throw usage('the e-mail address must look like name@domain', 'invalid_email');
        const password = o.passwordStdin ? await readAll(ctx.stdin ?? process.stdin) : undefined;
        if (o.passwordStdin && !password)
          throw usage('standard input held no password', 'invalid_password');
        const p = await withClient(ctx, o.url, (api) =>
          api.call<Principal>('POST', '/api/v1/principals', {
            email: o.email,
            display_name: o.name,
            ...(password !== undefined ? { password } : {}),
          }),
        );
        if (o.json) ctx.io.json(p);
        else ctx.io.out(principalLine(p));
      },
    );

  user
    .command('disable <person>')
    .description(
      'disable a person, by id or e-mail (configuration:review): their sessions end and they can no longer sign',
    )
    .addOption(reasonOption())
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (ref: string, o: { reason: string; json?: boolean; url?: string }) => {
      const p = await withClient(ctx, o.url, async (api) =>
        api.call<Principal>('POST', `/api/v1/principals/${await principalRef(api, ref)}/disable`, {
          reason: o.reason,
        }),
      );
      if (o.json) ctx.io.json(p);
      else ctx.io.out(principalLine(p));
    });

  // --- Grants --------------------------------------------------------------------------------
  const grant = program
    .command('grant')
    .alias('grants')
    .description(
      'what each person may do: a level in a domain, organization-wide or at a facility',
    );

  grant
    .command('list')
    .description(
      'your grants in force, or (configuration:read) another person’s; delegations you received show their source',
    )
    .option('--principal <person>', 'whose grants, by id or e-mail (default: yours)')
    .option('--all', 'also revoked and expired grants')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (o: { principal?: string; all?: boolean; json?: boolean; url?: string }) => {
      const [grants, names] = await withClient(ctx, o.url, async (api) => {
        const q = new URLSearchParams({ include_inactive: o.all ? 'true' : 'false' });
        if (o.principal) q.set('principal_id', await principalRef(api, o.principal));
        const r = await api.call<{ grants: Grant[] }>('GET', `/api/v1/grants?${q.toString()}`);
        return [r.grants, o.json ? new Map<string, string>() : await facilityNames(api)] as const;
      });
      if (o.json) ctx.io.json(grants);
      else if (grants.length === 0) ctx.io.out('no grants');
      else for (const g of grants) ctx.io.out(grantLine(g, names));
    });

  grant
    .command('create')
    .description(
      'grant a person a level in a domain (configuration:review where the grant applies; never to yourself)',
    )
    .requiredOption('--principal <person>', 'to whom, by id or e-mail')
    .addOption(new Option('--domain <domain>', 'the domain').choices(DOMAINS).makeOptionMandatory())
    .addOption(new Option('--level <level>', 'the level').choices(LEVELS).makeOptionMandatory())
    .option(
      '--facility <facility>',
      'only at this facility, by id or slug (default: organization-wide)',
    )
    .option('--until <time>', 'it ends at this ISO 8601 time (default: until revoked)')
    .option('--days <n>', 'or: it ends after this many days')
    .addOption(reasonOption())
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(
      async (o: {
        principal: string;
        domain: string;
        level: string;
        facility?: string;
        until?: string;
        days?: string;
        reason: string;
        json?: boolean;
        url?: string;
      }) => {
        const validUntil = expiry(o, false);
        const [g, names] = await withClient(ctx, o.url, async (api) => {
          const body = {
            principal_id: await principalRef(api, o.principal),
            domain: o.domain,
            level: o.level,
            facility_id: o.facility ? await facilityRef(api, o.facility) : null,
            reason: o.reason,
            ...(validUntil ? { valid_until: validUntil } : {}),
          };
          const created = await api.call<Grant>('POST', '/api/v1/grants', body);
          return [created, o.json ? new Map<string, string>() : await facilityNames(api)] as const;
        });
        if (o.json) ctx.io.json(g);
        else ctx.io.out(grantLine(g, names));
      },
    );

  grant
    .command('revoke <id>')
    .description(
      'revoke a grant (configuration:review where it applies, or your own delegation); delegations made from it end with it',
    )
    .addOption(reasonOption())
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (id: string, o: { reason: string; json?: boolean; url?: string }) => {
      await revoke(ctx, id, o);
    });

  grant
    .command('history <id>')
    .description(
      'a grant, the delegations made from it, and its audit events (audit:read or configuration:read)',
    )
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (id: string, o: { json?: boolean; url?: string }) => {
      const [h, names] = await withClient(ctx, o.url, async (api) => {
        const r = await api.call<{ versions: GrantHistory }>(
          'GET',
          `/api/v1/grants/${uuidArg(id)}/history`,
        );
        if (o.json) return [r.versions, null] as const;
        return [
          r.versions,
          { facilities: await facilityNames(api), who: await principalNames(api) },
        ] as const;
      });
      if (!names) {
        ctx.io.json(h);
        return;
      }
      const { facilities, who } = names;
      ctx.io.out(grantLine(h.grant, facilities));
      ctx.io.out(`  holder:  ${who(h.grant.principal_id)}`);
      ctx.io.out(`  reason:  ${h.grant.reason}`);
      if (h.grant.revoked_at)
        ctx.io.out(`  revoked: ${h.grant.revoked_at}: ${h.grant.revoke_reason ?? ''}`);
      ctx.io.out(h.delegations.length ? '  delegations:' : '  delegations: none');
      for (const d of h.delegations)
        ctx.io.out(`    ${grantLine(d, facilities)}  to ${who(d.principal_id)}`);
      ctx.io.out('  events:');
      for (const e of h.events)
        ctx.io.out(
          `    ${e.occurred_at}  ${e.event_type}  by ${who(e.actor_id)}  ${e.reason ?? ''}`.trimEnd(),
        );
    });

  // --- Delegations ---------------------------------------------------------------------------
  const delegation = program
    .command('delegation')
    .alias('delegations')
    .description(
      'lend one of your grants for a while (DESIGN.md invariant 9); they are grants: `axiom grant list` and `grant history` show them',
    );

  delegation
    .command('create')
    .description(
      'delegate one of your grants: horizontal (your level at your facility, to someone who holds it elsewhere) or vertical (one level lower, same facility); it needs an end and a reason, and cannot be passed on',
    )
    .requiredOption('--grant <id>', 'your grant to delegate (axiom grant list)')
    .requiredOption('--to <person>', 'the delegate, by id or e-mail')
    .addOption(
      new Option('--type <type>', 'the kind of delegation')
        .choices(['horizontal', 'vertical'])
        .makeOptionMandatory(),
    )
    .option('--until <time>', 'it ends at this ISO 8601 time')
    .option('--days <n>', 'or: it ends after this many days')
    .addOption(reasonOption())
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(
      async (o: {
        grant: string;
        to: string;
        type: string;
        until?: string;
        days?: string;
        reason: string;
        json?: boolean;
        url?: string;
      }) => {
        const validUntil = expiry(o, true)!;
        const source = uuidArg(o.grant);
        const [g, names] = await withClient(ctx, o.url, async (api) => {
          const created = await api.call<Grant>('POST', '/api/v1/delegations', {
            source_grant_id: source,
            delegate_id: await principalRef(api, o.to),
            delegation_type: o.type,
            valid_until: validUntil,
            reason: o.reason,
          });
          return [created, o.json ? new Map<string, string>() : await facilityNames(api)] as const;
        });
        if (o.json) ctx.io.json(g);
        else ctx.io.out(grantLine(g, names));
      },
    );

  delegation
    .command('revoke <id>')
    .description('end a delegation you made (or, with configuration:review, anyone’s)')
    .addOption(reasonOption())
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (id: string, o: { reason: string; json?: boolean; url?: string }) => {
      await revoke(ctx, id, o);
    });
}

async function revoke(
  ctx: CliContext,
  id: string,
  o: { reason: string; json?: boolean; url?: string },
): Promise<void> {
  const [g, names] = await withClient(ctx, o.url, async (api) => {
    const r = await api.call<Grant>('POST', `/api/v1/grants/${uuidArg(id)}/revoke`, {
      reason: o.reason,
    });
    return [r, o.json ? new Map<string, string>() : await facilityNames(api)] as const;
  });
  if (o.json) ctx.io.json(g);
  else ctx.io.out(grantLine(g, names));
}
