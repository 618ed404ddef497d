// `axiom check list|show`: the check catalog as the server runs it (GET /api/v1/checks) — what Axiom
// looks for, why, which compliance controls it maps to and how a finding is remediated. Read-only;
// which checks run at a facility, and their thresholds, are check configurations (`axiom record`).
import { Option, type Command } from 'commander';
import { AppError } from '../../errors.js';
import type { Check } from '../../findings/catalog.js';
import { DOMAINS, SEVERITIES } from '../../findings/vocabulary.js';
import { urlOption, withClient } from '../api.js';
import type { CliContext, Lazy } from '../main.js';

async function catalog(ctx: CliContext, url: string | undefined): Promise<Check[]> {
  const { checks } = await withClient(ctx, url, (api) =>
    api.call<{ checks: Check[] }>('GET', '/api/v1/checks'),
  );
  return checks;
}

const refs = (c: Check): string =>
  [
    ...c.compliance.cisAwsFoundationsV3.map((r) => `CIS ${r}`),
    ...c.compliance.awsFsbp.map((r) => `FSBP ${r}`),
  ].join(', ') || '-';

export function registerCheckCommands(program: Command, ctx: CliContext, lazy: Lazy): void {
  void lazy;
  const check = program
    .command('check')
    .alias('checks')
    .description('the check catalog: what the scans look for, and why');

  check
    .command('list')
    .description('every check: id, domain, severity, title; off-by-default ones say so')
    .addOption(new Option('--domain <domain>', 'only this domain').choices(DOMAINS))
    .addOption(new Option('--severity <severity>', 'only this severity').choices(SEVERITIES))
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (o: { domain?: string; severity?: string; json?: boolean; url?: string }) => {
      const checks = (await catalog(ctx, o.url)).filter(
        (c) =>
          (o.domain === undefined || c.domain === o.domain) &&
          (o.severity === undefined || c.severity === o.severity),
      );
      if (o.json) return ctx.io.json(checks);
      if (checks.length === 0) return ctx.io.out('no checks');
      for (const c of checks)
        ctx.io.out(
          `${c.id.padEnd(36)}  ${c.domain.padEnd(8)}  ${c.severity.padEnd(13)}  ${c.title}${c.enabledByDefault ? '' : '  (off by default)'}`,
        );
    });

  check
    .command('show <id>')
    .description('one check: rationale, evidence, compliance references, remediation, thresholds')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (id: string, o: { json?: boolean; url?: string }) => {
      if (!/^[a-z][a-z0-9_]{2,60}$/.test(id))
        throw new AppError('invalid_input', `${id} is not a check id (axiom check list)`, {
          reason: 'usage',
        });
      const c = (await catalog(ctx, o.url)).find((x) => x.id === id);
      if (!c)
        throw new AppError('not_found', `no check is named ${id} (axiom check list)`, {
          reason: 'check_not_found',
        });
      if (o.json) return ctx.io.json(c);
      const r = c.remediation;
      for (const l of [
        `${c.id}: ${c.title}`,
        `  ${c.domain}, ${c.severity}${c.enabledByDefault ? '' : ', off by default (a check configuration enables it)'}${c.estimatesSavings ? ', estimates a monthly saving' : ''}`,
        `  about: ${c.resourceTypes.join(', ')}`,
        `  why: ${c.rationale}`,
        `  reads: ${c.evidenceFields.join(', ')}`,
        `  compliance: ${refs(c)}`,
        `  remediation: ${r.summary}`,
        r.manualReviewRequired
          ? '    done by a person (no automated action)'
          : `    action ${r.action}, ${r.reversibility ?? 'reversibility unknown'}, risk ${r.riskTier ?? '-'}; needs ${r.executionPermissions.join(', ') || 'no permission'}`,
        ...(c.thresholds.length ? [`  thresholds: ${c.thresholds.join(', ')}`] : []),
      ])
        ctx.io.out(l);
    });
}
