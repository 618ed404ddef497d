// Administration: the organization and its settings, alerts, verified domains, identity providers,
// facilities, people, grants and delegations. The database checks every grant; these routes only
// shape the input.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { clientSecretContext, sealClientSecret } from '../../identity/context.js';
import { isProviderUrl, PROVIDER_URL_RULE } from '../../identity/urls.js';
import type { HttpDeps } from '../server.js';
import { define, idParams, reasonBody, shortText } from './define.js';

const reason = z.string().min(1).max(2000);
const grantShape = z.object({
  domain: shortText(40),
  level: shortText(20),
  facility_id: z.uuid().nullable().optional(),
});

export function registerAdminRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { api, identity } = deps;

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/organization',
    summary: 'The organization and its settings.',
    tags: ['organization'],
    handler: async ({ caller }) => await api.call('organization_get', caller),
  });

  define(app, deps, {
    method: 'PATCH',
    url: '/api/v1/organization/settings',
    summary:
      'Change password, lockout, session and signing settings (configuration:review organization-wide). Only the keys given change.',
    tags: ['organization'],
    body: z.record(
      z.string().max(64),
      z.union([z.number(), z.boolean(), z.string().max(200), z.null()]),
    ),
    handler: async ({ body, caller }) =>
      await api.call('organization_settings_update', caller, body),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/organization/key',
    summary: 'The organization’s OpenPGP public key (audit states are sealed to it).',
    tags: ['organization'],
    handler: async ({ caller }) => await api.call('organization_key_get', caller),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/alerts',
    summary: 'Security alerts (lockouts, replayed authenticators, ...), newest first.',
    tags: ['organization'],
    query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
    handler: async ({ query, caller }) => ({
      alerts: await api.call('alert_list', caller, query.limit),
    }),
  });

  // --- Domains and identity providers -------------------------------------------------------------
  // An identity provider's URLs: TLS, or plain HTTP on this machine only, which is what sign-in
  // accepts (src/identity/oidc.ts); refused here rather than at the first sign-in.
  const providerUrl = z
    .url()
    .max(2048)
    .refine((v) => isProviderUrl(v), PROVIDER_URL_RULE);
  const sso = ['single sign-on'];
  define(app, deps, {
    method: 'GET',
    url: '/api/v1/domains',
    summary: 'Verified e-mail domains (just-in-time provisioning is limited to these).',
    tags: sso,
    handler: async ({ caller }) => ({ domains: await api.call('domain_list', caller) }),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/domains',
    summary: 'Record a verified e-mail domain (configuration:review organization-wide).',
    tags: sso,
    status: 201,
    body: z.object({ domain: shortText(253), reason }),
    handler: async ({ body, caller }) =>
      await api.call('domain_verify', caller, body.domain, body.reason),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/sso-providers',
    summary: 'Identity providers (secrets never shown).',
    tags: sso,
    handler: async ({ caller }) => ({ providers: await api.call('sso_provider_list', caller) }),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/sso-providers',
    summary:
      'Configure an OpenID Connect or SAML provider (growth tier and above). An OpenID client secret is sealed with the key-encryption key before it is stored.',
    tags: sso,
    status: 201,
    body: z.object({
      kind: z.enum(['oidc', 'saml']),
      name: shortText(100),
      issuer: providerUrl.optional(),
      client_id: shortText(512).optional(),
      client_secret: z.string().min(1).max(4096).optional(),
      idp_entity_id: shortText(2048).optional(),
      idp_sso_url: providerUrl.optional(),
      idp_certificate: z.string().min(1).max(16_384).optional(),
      sp_entity_id: shortText(2048).optional(),
      default_grants: z.array(grantShape).max(50).optional(),
    }),
    handler: async ({ body, caller }) => {
      const { client_secret, ...config } = body;
      let sealed: string | undefined;
      if (client_secret) {
        const who = await api.call<{ organization: { id: string } }>('session_whoami', caller);
        sealed = await sealClientSecret(
          identity.kek,
          client_secret,
          clientSecretContext({
            organization_id: who.organization.id,
            issuer: config.issuer ?? null,
            client_id: config.client_id ?? null,
          }),
        );
      }
      return await api.call('sso_provider_configure', caller, {
        ...config,
        ...(sealed ? { client_secret_sealed: sealed } : {}),
      });
    },
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/sso-providers/:id/disable',
    summary: 'Disable an identity provider.',
    tags: sso,
    params: idParams,
    body: reasonBody,
    handler: async ({ params, body, caller }) =>
      await api.call('sso_provider_disable', caller, params.id, body.reason),
  });

  // --- Facilities, people, grants --------------------------------------------------------------
  const people = ['people and grants'];
  define(app, deps, {
    method: 'GET',
    url: '/api/v1/facilities',
    summary: 'Facilities (environments) of the organization.',
    tags: ['facilities'],
    handler: async ({ caller }) => ({ facilities: await api.call('facility_list', caller) }),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/facilities',
    summary: 'Create a facility (configuration:review organization-wide).',
    tags: ['facilities'],
    status: 201,
    body: z.object({
      slug: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/),
      name: shortText(200),
      environment: shortText(40),
    }),
    handler: async ({ body, caller }) =>
      await api.call('facility_create', caller, body.slug, body.name, body.environment),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/principals',
    summary: 'People and service principals of the organization.',
    tags: people,
    handler: async ({ caller }) => ({ principals: await api.call('principal_list', caller) }),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/principals',
    summary:
      'Add a person (with an initial password, which they must replace at the first sign-in, or for single sign-on only).',
    tags: people,
    status: 201,
    body: z.object({
      email: z.string().min(3).max(320),
      display_name: shortText(200),
      password: z.string().min(1).max(1024).optional(),
    }),
    handler: async ({ body, caller }) =>
      await api.call(
        'principal_create',
        caller,
        body.email,
        body.display_name,
        body.password ?? null,
      ),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/principals/:id/disable',
    summary: 'Disable a person: their sessions end and they can no longer sign.',
    tags: people,
    params: idParams,
    body: reasonBody,
    handler: async ({ params, body, caller }) =>
      await api.call('principal_disable', caller, params.id, body.reason),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/grants',
    summary: 'Grants: yours, or (with configuration:read) another principal’s.',
    tags: people,
    query: z.object({
      principal_id: z.uuid().optional(),
      include_inactive: z.enum(['true', 'false']).default('false'),
    }),
    handler: async ({ query, caller }) => ({
      grants: await api.call(
        'grant_list',
        caller,
        query.principal_id ?? null,
        query.include_inactive === 'true',
      ),
    }),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/grants',
    summary:
      'Grant a principal an operation level in a domain, organization-wide or at one facility.',
    tags: people,
    status: 201,
    body: grantShape.extend({
      principal_id: z.uuid(),
      reason,
      valid_until: z.iso.datetime({ offset: true }).optional(),
    }),
    handler: async ({ body, caller }) =>
      await api.call(
        'grant_create',
        caller,
        body.principal_id,
        body.domain,
        body.facility_id ?? null,
        body.level,
        body.reason,
        body.valid_until ?? null,
      ),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/grants/:id/history',
    summary: 'Every version of a grant.',
    tags: people,
    params: idParams,
    handler: async ({ params, caller }) => ({
      versions: await api.call('grant_history', caller, params.id),
    }),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/grants/:id/revoke',
    summary: 'Revoke a grant (and the delegations made from it).',
    tags: people,
    params: idParams,
    body: reasonBody,
    handler: async ({ params, body, caller }) =>
      await api.call('grant_revoke', caller, params.id, body.reason),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/delegations',
    summary: 'Delegate one of your grants (time-limited; never more than you hold).',
    tags: people,
    status: 201,
    body: z.object({
      source_grant_id: z.uuid(),
      delegate_id: z.uuid(),
      delegation_type: shortText(40),
      valid_until: z.iso.datetime({ offset: true }),
      reason,
    }),
    handler: async ({ body, caller }) =>
      await api.call(
        'delegation_create',
        caller,
        body.source_grant_id,
        body.delegate_id,
        body.delegation_type,
        body.valid_until,
        body.reason,
      ),
  });
}
