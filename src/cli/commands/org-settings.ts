// `axiom organization show|set` and `axiom alert list`, over the HTTPS API: the organization's identity
// settings (passwords, lockout, sessions, signing continuity, delegation length), changed by an
// administrator (configuration:review organization-wide, audited with the before and after state), and
// the security alerts (lockouts, cloned authenticators, ...) that audit:read sees.
import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { urlOption, wholeNumber, withClient } from '../api.js';
import type { CliContext, Lazy } from '../main.js';

interface Organization {
  id: string;
  slug: string;
  name: string;
  plan_tier: string;
  legal_hold: boolean;
  [setting: string]: unknown;
}

/** The settings, in the order people read them, with what each means. */
const SETTINGS: Array<[key: string, meaning: string]> = [
  ['password_min_length', 'characters at least'],
  ['password_history', 'previous passwords that may not be reused'],
  ['password_max_age_days', 'days before a password must be changed (none: never)'],
  ['lockout_threshold', 'wrong passwords in a row before the account locks'],
  ['lockout_minutes', 'minutes a locked account stays locked'],
  ['session_idle_minutes', 'minutes of inactivity that end a session'],
  ['session_max_hours', 'hours after which any session ends'],
  ['signing_continuity_minutes', 'minutes within which a second signature needs only the password'],
  ['max_delegation_days', 'days a delegation may last at most'],
];

/** `key=value` arguments → the settings object; a whole number, or `none` where it is allowed. */
function parseSettings(args: string[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const a of args) {
    const m = /^([a-z_]{1,64})=(\d{1,6}|none)$/.exec(a);
    if (!m || !SETTINGS.some(([k]) => k === m[1]))
      throw new AppError(
        'invalid_input',
        `${a.slice(0, 80)}: expected setting=value, one of ${SETTINGS.map(([k]) => k).join(', ')}, with a whole number (or none for password_max_age_days)`,
        { reason: 'usage' },
      );
    if (m[2] === 'none' && m[1] !== 'password_max_age_days')
      throw new AppError('invalid_input', `${m[1]} is a whole number`, { reason: 'usage' });
    out[m[1]!] = m[2] === 'none' ? null : Number(m[2]);
  }
  return out;
}

function print(ctx: CliContext, o: Organization): void {
  ctx.io.out(`${o.name} (${o.slug})  plan ${o.plan_tier}${o.legal_hold ? '  legal hold set' : ''}`);
  for (const [key, meaning] of SETTINGS)
    ctx.io.out(`  ${key.padEnd(28)}  ${String(o[key] ?? 'none').padStart(5)}  ${meaning}`);
}

export function registerOrgSettingsCommands(program: Command, ctx: CliContext, lazy: Lazy): void {
  void lazy;
  const org = program
    .command('organization')
    .alias('org')
    .description('the organization and its identity settings (over the HTTPS API)');

  org
    .command('show')
    .description('name, plan, legal hold and every identity setting with what it means')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (o: { json?: boolean; url?: string }) => {
      const r = await withClient(ctx, o.url, (api) =>
        api.call<Organization>('GET', '/api/v1/organization'),
      );
      if (o.json) ctx.io.json(r);
      else print(ctx, r);
    });

  org
    .command('set <setting=value...>')
    .description(
      'change identity settings, e.g. lockout_threshold=5 (configuration:review; audited before and after)',
    )
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (args: string[], o: { json?: boolean; url?: string }) => {
      const body = parseSettings(args);
      const r = await withClient(ctx, o.url, (api) =>
        api.call<Organization>('PATCH', '/api/v1/organization/settings', body),
      );
      if (o.json) ctx.io.json(r);
      else print(ctx, r);
    });

  program
    .command('alert')
    .alias('alerts')
    .description('security alerts (over the HTTPS API)')
    .command('list')
    .description('lockouts, cloned authenticators and the like, newest first (audit:read)')
    .option('--limit <n>', 'at most this many, 1 to 500 (default 100)', wholeNumber('--limit', 500))
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (o: { limit?: number; json?: boolean; url?: string }) => {
      const { alerts } = await withClient(ctx, o.url, (api) =>
        api.call<{
          alerts: Array<{ created_at: string; severity: string; kind: string; message: string }>;
        }>('GET', `/api/v1/alerts?limit=${o.limit ?? 100}`),
      );
      if (o.json) return ctx.io.json(alerts);
      if (alerts.length === 0) return ctx.io.out('no alerts');
      for (const a of alerts)
        ctx.io.out(`${a.created_at}  ${a.severity.padEnd(8)}  ${a.kind.padEnd(24)}  ${a.message}`);
    });
}
