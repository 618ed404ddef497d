// `axiom domain list|add` and `axiom sso list|add-oidc|add-saml|disable`: single sign-on set up from a
// terminal, over the HTTPS API (growth tier and above; configuration:review organization-wide to
// change, read to list; the database decides). An OpenID client secret is read from standard input,
// never from the command line, sealed by the server before it is stored, and never shown again.
import fs from 'node:fs';
import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { isProviderUrl, PROVIDER_URL_RULE } from '../../identity/urls.js';
import { urlOption, uuidArg, withClient } from '../api.js';
import type { CliContext, Lazy } from '../main.js';
import { readAll } from '../signing.js';

interface Provider {
  id: string;
  kind: string;
  name: string;
  issuer: string | null;
  client_id: string | null;
  has_client_secret: boolean;
  idp_entity_id: string | null;
  idp_sso_url: string | null;
  default_grants: unknown[] | null;
  disabled_at: string | null;
}

const grantRule =
  /^([a-z]+):([a-z]+)(?:@([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}))?$/;

/** `--grant domain:level[@facility]`, repeatable: the grants a person provisioned at sign-in gets. */
function grants(values: string[] | undefined): Array<Record<string, string | null>> {
  return (values ?? []).map((v) => {
    const m = grantRule.exec(v);
    if (!m)
      throw new AppError(
        'invalid_input',
        `--grant ${v.slice(0, 80)}: expected domain:level or domain:level@<facility id>, e.g. security:read`,
        { reason: 'usage' },
      );
    return { domain: m[1]!, level: m[2]!, facility_id: m[3] ?? null };
  });
}

/** The server's rule for a provider URL (src/identity/urls.ts), checked before any request. */
function providerUrl(flag: string): (v: string) => string {
  return (v) => {
    if (v.length > 2048 || !isProviderUrl(v))
      throw new AppError('invalid_input', `${flag} is ${PROVIDER_URL_RULE}`, { reason: 'usage' });
    return v;
  };
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function printProvider(ctx: CliContext, p: Provider): void {
  ctx.io.out(
    `${p.id}  ${p.kind.padEnd(4)}  ${p.disabled_at ? `disabled ${p.disabled_at}` : 'active'}  ${p.name}  ${p.kind === 'oidc' ? `${p.issuer ?? ''} client ${p.client_id ?? ''}${p.has_client_secret ? ' (secret stored sealed)' : ''}` : `${p.idp_entity_id ?? ''} at ${p.idp_sso_url ?? ''}`}`,
  );
}

/** What both kinds of provider take: grants for people provisioned at sign-in, --json, --url. */
function providerOptions(c: Command): Command {
  return c
    .option(
      '--grant <domain:level[@facility]>',
      'a grant for people provisioned at sign-in',
      collect,
    )
    .option('--json', 'machine output')
    .addOption(urlOption());
}

/** POST a provider's configuration and print what the server kept (never a secret). */
async function configure(
  ctx: CliContext,
  o: { json?: boolean; url?: string },
  body: Record<string, unknown>,
): Promise<void> {
  const p = await withClient(ctx, o.url, (api) =>
    api.call<Provider>('POST', '/api/v1/sso-providers', body),
  );
  if (o.json) ctx.io.json(p);
  else printProvider(ctx, p);
}

export function registerSsoCommands(program: Command, ctx: CliContext, lazy: Lazy): void {
  void lazy;
  const domain = program
    .command('domain')
    .alias('domains')
    .description('verified e-mail domains: single sign-on provisions people only from these');
  domain
    .command('list')
    .description('the verified domains (configuration:read)')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (o: { json?: boolean; url?: string }) => {
      const { domains } = await withClient(ctx, o.url, (api) =>
        api.call<{ domains: Array<{ domain: string; verified_at?: string; created_at?: string }> }>(
          'GET',
          '/api/v1/domains',
        ),
      );
      if (o.json) return ctx.io.json(domains);
      if (domains.length === 0) return ctx.io.out('no verified domains');
      for (const d of domains) ctx.io.out(`${d.domain}  ${d.verified_at ?? d.created_at ?? ''}`);
    });
  domain
    .command('add <domain>')
    .description('record a domain you have verified you control (configuration:review)')
    .requiredOption('--reason <text>', 'how it was verified (kept in the audit trail)')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (name: string, o: { reason: string; json?: boolean; url?: string }) => {
      if (!/^(?=.{3,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(name))
        throw new AppError('invalid_input', `${name.slice(0, 80)} is not a domain name`, {
          reason: 'usage',
        });
      const r = await withClient(ctx, o.url, (api) =>
        api.call<unknown>('POST', '/api/v1/domains', { domain: name, reason: o.reason }),
      );
      if (o.json) ctx.io.json(r);
      else ctx.io.out(`verified domain ${name} recorded`);
    });

  const sso = program
    .command('sso')
    .description('single sign-on identity providers (growth tier and above)');
  sso
    .command('list')
    .description('the providers, without their secrets (configuration:read)')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (o: { json?: boolean; url?: string }) => {
      const { providers } = await withClient(ctx, o.url, (api) =>
        api.call<{ providers: Provider[] }>('GET', '/api/v1/sso-providers'),
      );
      if (o.json) return ctx.io.json(providers);
      if (providers.length === 0) return ctx.io.out('no identity providers');
      for (const p of providers) printProvider(ctx, p);
    });
  providerOptions(sso.command('add-oidc'))
    .description(
      'an OpenID Connect provider; the client secret comes from standard input (configuration:review)',
    )
    .requiredOption('--name <name>', 'what people see on the sign-in page')
    .requiredOption(
      '--issuer <url>',
      'the issuer URL (https; plain http only on this machine)',
      providerUrl('--issuer'),
    )
    .requiredOption('--client-id <id>', 'the client id Axiom is registered with')
    .option('--client-secret-stdin', 'read the client secret from standard input')
    .action(
      async (o: {
        name: string;
        issuer: string;
        clientId: string;
        clientSecretStdin?: boolean;
        grant?: string[];
        json?: boolean;
        url?: string;
      }) => {
        const defaultGrants = grants(o.grant);
        const secret = o.clientSecretStdin ? await readAll(ctx.stdin ?? process.stdin) : undefined;
        if (secret !== undefined && (secret.length < 1 || secret.length > 4096))
          throw new AppError('invalid_input', 'the client secret has 1 to 4096 characters', {
            reason: 'usage',
          });
        await configure(ctx, o, {
          kind: 'oidc',
          name: o.name,
          issuer: o.issuer,
          client_id: o.clientId,
          ...(secret !== undefined ? { client_secret: secret } : {}),
          ...(defaultGrants.length ? { default_grants: defaultGrants } : {}),
        });
      },
    );
  providerOptions(sso.command('add-saml'))
    .description('a SAML 2.0 provider (configuration:review)')
    .requiredOption('--name <name>', 'what people see on the sign-in page')
    .requiredOption('--idp-entity-id <id>', 'the identity provider’s entity id')
    .requiredOption(
      '--idp-sso-url <url>',
      'its single sign-on URL (https; plain http only on this machine)',
      providerUrl('--idp-sso-url'),
    )
    .requiredOption('--idp-certificate-file <file>', 'its signing certificate (PEM)')
    .requiredOption('--sp-entity-id <id>', 'Axiom’s entity id as registered at the provider')
    .action(
      async (o: {
        name: string;
        idpEntityId: string;
        idpSsoUrl: string;
        idpCertificateFile: string;
        spEntityId: string;
        grant?: string[];
        json?: boolean;
        url?: string;
      }) => {
        const defaultGrants = grants(o.grant);
        let certificate: string;
        try {
          if (fs.statSync(o.idpCertificateFile).size > 16_384) throw new RangeError();
          certificate = fs.readFileSync(o.idpCertificateFile, 'utf8');
        } catch {
          throw new AppError(
            'invalid_input',
            `--idp-certificate-file ${o.idpCertificateFile} cannot be read (a PEM file up to 16 KiB)`,
            { reason: 'usage' },
          );
        }
        if (!certificate.includes('-----BEGIN CERTIFICATE-----'))
          throw new AppError('invalid_input', 'the certificate file is not a PEM certificate', {
            reason: 'usage',
          });
        await configure(ctx, o, {
          kind: 'saml',
          name: o.name,
          idp_entity_id: o.idpEntityId,
          idp_sso_url: o.idpSsoUrl,
          idp_certificate: certificate,
          sp_entity_id: o.spEntityId,
          ...(defaultGrants.length ? { default_grants: defaultGrants } : {}),
        });
      },
    );
  sso
    .command('disable <id>')
    .description('stop sign-ins through a provider (configuration:review)')
    .requiredOption('--reason <text>', 'why (kept in the audit trail)')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (id: string, o: { reason: string; json?: boolean; url?: string }) => {
      const p = await withClient(ctx, o.url, (api) =>
        api.call<Provider>('POST', `/api/v1/sso-providers/${uuidArg(id)}/disable`, {
          reason: o.reason,
        }),
      );
      if (o.json) ctx.io.json(p);
      else printProvider(ctx, p);
    });
}
