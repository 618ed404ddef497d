// Controlled records and change management. Records change only through change requests: propose a
// version, submit it, have it reviewed, then approve (an e-signature over the exact proposed version:
// pass the answered challenge) or reject it.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { HttpDeps } from '../server.js';
import { define, idParams, shortText } from './define.js';

const kind = z.object({ kind: z.string().regex(/^[a-z][a-z_]{1,40}$/, 'a record kind') });
const hash = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 hash in hex');
const text = (max = 2000) => z.string().min(1).max(max);

export function registerRecordRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { api } = deps;
  const tags = ['records and change requests'];

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/records/:kind',
    summary:
      'The effective version of each record of a kind (policies, check_configurations, ...).',
    tags,
    params: kind,
    query: z.object({ facility_id: z.uuid().optional() }),
    handler: async ({ params, query, caller }) => ({
      records: await api.call('record_list', caller, params.kind, query.facility_id ?? null),
    }),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/records/:kind/:item_id',
    summary: 'Every version of one record.',
    tags,
    params: kind.extend({ item_id: z.uuid() }),
    handler: async ({ params, caller }) =>
      await api.call('record_get', caller, params.kind, params.item_id),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/records/:kind',
    summary:
      'Propose a new record, or a new version of one (item_id): opens a draft change request; nothing takes effect until it is approved.',
    tags,
    status: 201,
    params: kind,
    body: z.object({
      facility_id: z.uuid().nullable().optional(),
      item_id: z.uuid().nullable().optional(),
      item_key: shortText(200).nullable().optional(),
      content: z.record(z.string(), z.unknown()),
      title: shortText(200),
      reason: text(),
    }),
    handler: async ({ params, body, caller }) =>
      await api.call(
        'record_propose',
        caller,
        params.kind,
        body.facility_id ?? null,
        body.item_id ?? null,
        body.item_key ?? null,
        body.content,
        body.title,
        body.reason,
      ),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/change-requests',
    summary: 'Change requests, optionally by state and facility.',
    tags,
    query: z.object({
      state: z.enum(['draft', 'in_review', 'approved', 'rejected', 'withdrawn']).optional(),
      facility_id: z.uuid().optional(),
    }),
    handler: async ({ query, caller }) => ({
      change_requests: await api.call(
        'change_request_list',
        caller,
        query.state ?? null,
        query.facility_id ?? null,
      ),
    }),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/change-requests/:id',
    summary: 'A change request with its decisions and the proposed record.',
    tags,
    params: idParams,
    handler: async ({ params, caller }) => await api.call('change_request_get', caller, params.id),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/change-requests/:id/submit',
    summary: 'Submit a draft for review.',
    tags,
    params: idParams,
    handler: async ({ params, caller }) =>
      await api.call('change_request_submit', caller, params.id),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/change-requests/:id/review',
    summary: 'Record a review of the exact proposed version (record_hash).',
    tags,
    params: idParams,
    body: z.object({ record_hash: hash, comment: text() }),
    handler: async ({ params, body, caller }) =>
      await api.call('change_request_review', caller, params.id, body.record_hash, body.comment),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/change-requests/:id/approve',
    summary:
      'Approve: an e-signature over the exact proposed version. Pass the challenge (meaning "approved") answered with the required factors.',
    tags,
    params: idParams,
    body: z.object({ record_hash: hash, challenge_id: z.uuid(), comment: text().optional() }),
    handler: async ({ params, body, caller }) =>
      await api.call(
        'change_request_approve',
        caller,
        params.id,
        body.record_hash,
        { challenge_id: body.challenge_id },
        body.comment ?? null,
      ),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/change-requests/:id/reject',
    summary: 'Reject: an e-signature (meaning "rejected") with the reason.',
    tags,
    params: idParams,
    body: z.object({ record_hash: hash, challenge_id: z.uuid(), reason: text() }),
    handler: async ({ params, body, caller }) =>
      await api.call('change_request_reject', caller, params.id, body.record_hash, body.reason, {
        challenge_id: body.challenge_id,
      }),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/change-requests/:id/withdraw',
    summary: 'Withdraw your change request.',
    tags,
    params: idParams,
    body: z.object({ reason: text() }),
    handler: async ({ params, body, caller }) =>
      await api.call('change_request_withdraw', caller, params.id, body.reason),
  });
}
