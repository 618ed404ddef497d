// The audit trail: reading (audit:read), verifying, exporting (audit:read organization-wide), retention
// and legal hold (audit:review to change), signed checkpoints on demand (audit:review) and compliance
// reports per control (audit:read). Each route makes its api call(s); the export streams page by page.
import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { startExport } from '../../audit/export.js';
import { AppError } from '../../errors.js';
import type { HttpDeps } from '../server.js';
import { define } from './define.js';

const cursor = z.string().min(1).max(200);
const limit = z.coerce.number().int().min(1).max(5000).optional();
const instant = z.iso.datetime({ offset: true });

export function registerAuditRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { api } = deps;
  const tags = ['audit'];

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/audit/events',
    summary:
      'Audit events, newest first; page backwards with `before` (the `next` of the previous page). Archived entries are not listed.',
    tags,
    query: z.object({
      limit,
      before: cursor.optional(),
      event_type: z.string().max(100).optional(),
      target_id: z.uuid().optional(),
    }),
    handler: async ({ query, caller }) => await api.call('audit_event_list', caller, query),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/audit/session-events',
    summary:
      'Every call made with a session, allowed or refused, newest first (archived ones aside).',
    tags,
    query: z.object({
      limit,
      before: cursor.optional(),
      outcome: z.enum(['ok', 'denied', 'error']).optional(),
      principal_id: z.uuid().optional(),
    }),
    handler: async ({ query, caller }) => await api.call('session_event_list', caller, query),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/audit/verify',
    summary:
      'Verify the organization’s hash chains and records now (the result is itself recorded).',
    tags,
    handler: async ({ caller }) => await api.call('chain_verify', caller),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/audit/export',
    summary:
      'The organization’s whole audit trail (audit and session events, signatures, every version of every controlled record, the published checkpoints) as JSON Lines or CSV, streamed. Verify it offline with `axiom audit verify FILE`. Requires audit:read organization-wide.',
    tags,
    query: z.object({ format: z.enum(['jsonl', 'csv']).default('jsonl') }),
    handler: async ({ query, caller, reply }) => {
      const { manifest, chunks } = await startExport(api, caller, {
        format: query.format,
        ...(deps.audit ? { checkpoints: deps.audit.checkpoints.store } : {}),
      });
      const day = String(manifest.exported_at).slice(0, 10);
      void reply
        .header(
          'content-type',
          query.format === 'csv'
            ? 'text/csv; charset=utf-8'
            : 'application/x-ndjson; charset=utf-8',
        )
        .header(
          'content-disposition',
          `attachment; filename="axiom-audit-${manifest.organization_slug as string}-${day}.${query.format}"`,
        )
        .header('cache-control', 'no-store');
      return reply.send(Readable.from(chunks, { objectMode: false }));
    },
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/audit/export/pages',
    summary:
      'One page of one export stream (start with stream=manifest), for clients that page themselves.',
    tags,
    query: z.object({ stream: z.string().min(1).max(100), cursor: cursor.optional(), limit }),
    handler: async ({ query, caller }) =>
      await api.call(
        'audit_export',
        caller,
        query.stream,
        query.cursor ?? null,
        query.limit ?? 1000,
        'json',
      ),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/audit/checkpoints',
    summary:
      'Sign and publish a checkpoint of the organization’s chains now (audit:review organization-wide). The signing key never enters the database.',
    tags,
    status: 201,
    handler: async ({ caller }) => {
      if (!deps.audit)
        throw new AppError('unavailable', 'checkpoints are not configured on this server', {
          reason: 'checkpoints_unavailable',
        });
      return await deps.audit.checkpoints.forCaller(caller);
    },
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/audit/retention',
    summary:
      'Retention of the audit trail: plan tier, days of viewable history, legal hold, and what is archived.',
    tags,
    handler: async ({ caller }) => await api.call('audit_retention_get', caller),
  });

  define(app, deps, {
    method: 'PUT',
    url: '/api/v1/audit/legal-hold',
    summary:
      'Place (hold: true) or lift (false) a legal hold: nothing is archived while it is set (audit:review organization-wide).',
    tags,
    body: z.object({ hold: z.boolean(), reason: z.string().min(3).max(1000) }),
    handler: async ({ body, caller }) =>
      await api.call('audit_legal_hold_set', caller, body.hold, body.reason),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/audit/compliance/controls',
    summary:
      'Every SOC 2, ISO 27001 and Part 11 control reference with the event types that are its evidence.',
    tags,
    handler: async ({ caller }) => await api.call('compliance_controls', caller),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/audit/compliance/report',
    summary:
      'The evidence for one control over a period [from, to): counts per event type and the events, oldest first, paged with `cursor`.',
    tags,
    query: z.object({
      control: z
        .string()
        .regex(/^[A-Za-z0-9.()]{2,20}$/, 'a control such as CC6.1, A.8.15 or 11.10(e)'),
      from: instant,
      to: instant,
      cursor: cursor.optional(),
      limit,
    }),
    handler: async ({ query, caller }) =>
      await api.call(
        'compliance_report',
        caller,
        query.control,
        query.from,
        query.to,
        query.cursor ?? null,
        query.limit ?? 500,
      ),
  });
}
