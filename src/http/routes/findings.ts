// Findings: the check catalog, the findings of the facilities the caller may read (filter, sort, keyset
// pages, dashboard counts), one finding with its lifecycle versions and its check, and triage
// (acknowledge, suppress with a reason and an expiry, unsuppress). Scans reconcile findings through
// api.finding_sync from the job queue, not over HTTP.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { CHECKS, checkById, DOMAINS, SEVERITIES } from '../../findings/catalog.js';
import { effectiveConfiguration, type ConfigurationRecord } from '../../findings/config.js';
import { catalogDefaults } from '../../findings/engine.js';
import type { HttpDeps } from '../server.js';
import { define, idParams } from './define.js';

const text = (max = 2000) => z.string().min(3).max(max);

export function registerFindingRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { api } = deps;
  const tags = ['findings'];

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/checks',
    summary:
      'The check catalog: every check with its domain, severity, resource types, rationale, evidence fields, compliance references, remediation and thresholds.',
    tags,
    auth: 'none',
    handler: async () => ({ checks: CHECKS }),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/findings',
    summary:
      'Findings you may read, filtered and sorted; page with `cursor` (the `next_cursor` of the previous page).',
    tags,
    query: z
      .object({
        facility_id: z.uuid().optional(),
        connection_id: z.uuid().optional(),
        domain: z.enum(DOMAINS).optional(),
        severity: z.enum(SEVERITIES).optional(),
        status: z.enum(['open', 'acknowledged', 'suppressed', 'resolved', 'active']).optional(),
        check_id: z
          .string()
          .regex(/^[a-z][a-z0-9_]{2,60}$/)
          .optional(),
        resource_arn: z.string().min(5).max(2048).optional(),
        resource: z.string().min(1).max(200).optional(),
        sort: z.enum(['severity', 'last_seen', 'first_seen', 'saving']).optional(),
        cursor: z.string().min(1).max(500).optional(),
        limit: z.coerce.number().int().min(1).max(500).optional(),
      })
      .strict(),
    handler: async ({ query, caller }) => await api.call('finding_list', caller, query),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/findings/counts',
    summary:
      'Counts for dashboards: by status, and the active findings by severity and domain, with their estimated monthly savings.',
    tags,
    query: z
      .object({ facility_id: z.uuid().optional(), connection_id: z.uuid().optional() })
      .strict(),
    handler: async ({ query, caller }) => await api.call('finding_counts', caller, query),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/findings/:id',
    summary: 'One finding, every version of its lifecycle, and its check from the catalog.',
    tags,
    params: idParams,
    handler: async ({ params, caller }) => {
      const f = await api.call<{ check_id: string }>('finding_get', caller, params.id);
      return { ...f, check: checkById(f.check_id) ?? null };
    },
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/findings/:id/acknowledge',
    summary:
      'Acknowledge an open finding (operate in its domain). It stays acknowledged while scans see it.',
    tags,
    params: idParams,
    body: z.object({ note: text().optional() }).strict(),
    handler: async ({ params, body, caller }) =>
      await api.call('finding_acknowledge', caller, params.id, body.note ?? null),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/findings/:id/suppress',
    summary:
      'Suppress a finding until a time (at most 366 days ahead) with a reason (author in its domain). It reopens when the suppression expires.',
    tags,
    params: idParams,
    body: z.object({ reason: text(), until: z.iso.datetime({ offset: true }) }).strict(),
    handler: async ({ params, body, caller }) =>
      await api.call('finding_suppress', caller, params.id, body.reason, body.until),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/findings/:id/unsuppress',
    summary: 'End a suppression now (author in the finding’s domain).',
    tags,
    params: idParams,
    body: z.object({ reason: text() }).strict(),
    handler: async ({ params, body, caller }) =>
      await api.call('finding_unsuppress', caller, params.id, body.reason),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/facilities/:id/finding-configuration',
    summary:
      'The check configurations, required tags and baselines in force at a facility, and the effective configuration they give.',
    tags,
    params: idParams,
    handler: async ({ params, caller }) => {
      const r = await api.call<{ records: ConfigurationRecord[] }>(
        'finding_configuration',
        caller,
        params.id,
      );
      let cfg;
      try {
        cfg = effectiveConfiguration(catalogDefaults(), r.records);
      } catch (e) {
        throw new AppError('internal', 'a configuration record in force does not parse', {
          cause: e,
        });
      }
      return {
        ...r,
        effective: {
          enabled_checks: [...cfg.enabledChecks].sort(),
          thresholds: cfg.thresholds,
          required_tags: cfg.requiredTags,
          baseline_rules: cfg.baselineRules,
          accepted_inventory: cfg.acceptedInventory
            ? {
                accepted_at: cfg.acceptedInventory.acceptedAt,
                resources: cfg.acceptedInventory.fingerprints.size,
              }
            : null,
        },
      };
    },
  });
}
