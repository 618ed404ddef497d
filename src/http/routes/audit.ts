// Reading, verifying and exporting the audit trail (audit:read organization-wide).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { HttpDeps } from '../server.js';
import { define } from './define.js';

const cursor = z.string().min(1).max(200);
const limit = z.coerce.number().int().min(1).max(5000).optional();

export function registerAuditRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { api } = deps;
  const tags = ['audit'];

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/audit/events',
    summary:
      'Audit events, newest first; page backwards with `before` (the `next` of the previous page).',
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
    summary: 'Every call made with a session, allowed or refused, newest first.',
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
      'One page of an export stream (start with stream=manifest). Each row carries every hashed field, so the chains can be verified offline.',
    tags,
    query: z.object({ stream: z.string().min(1).max(100), cursor: cursor.optional(), limit }),
    handler: async ({ query, caller }) =>
      await api.call(
        'audit_export',
        caller,
        query.stream,
        query.cursor ?? null,
        query.limit ?? 1000,
      ),
  });
}
