// Cloud connections, scans and inventory (issue 5). Role ARNs are sealed before any api call sees
// them; scans are queued (the worker runs them) and read back with their live progress.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  createConnection,
  roleArnPattern,
  setExecutionRole,
  testConnection,
  withOnboarding,
  type CloudDeps,
  type Connection,
} from '../../cloud/connections.js';
import { AppError } from '../../errors.js';
import type { Queue } from '../../jobs/queue.js';
import type { HttpDeps } from '../server.js';
import { define, idParams, reasonBody } from './define.js';

export interface CloudHttpDeps {
  deps: CloudDeps;
  /** Absent: scans cannot be started over HTTP (503). */
  queue?: Queue | undefined;
}

const accountId = z.string().regex(/^[0-9]{12}$/, 'a 12-digit AWS account id');
const roleArn = z.string().max(2048).regex(roleArnPattern, 'an IAM role ARN');
const region = z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-[0-9]$/, 'an AWS region');
const classParams = z.object({ id: z.uuid(), class: z.enum(['cost', 'security', 'drift']) });

export function registerCloudRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const cloud = deps.cloud;
  if (!cloud) return;
  const { api } = deps;
  const c = cloud.deps;
  const tags = ['cloud'];
  const present = (x: Connection) => withOnboarding(c.settings, x);

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/connections',
    summary: 'Connections at the facilities where you can read configuration.',
    tags,
    query: z.object({ facility_id: z.uuid().optional() }),
    handler: async ({ query, caller }) => ({
      connections: await api.call('connection_list', caller, query.facility_id ?? null),
    }),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/connections',
    summary:
      'Connect an AWS account: Axiom generates the External ID and the onboarding material (trust and permissions policies, CloudFormation, Terraform).',
    tags,
    status: 201,
    body: z.strictObject({
      facility_id: z.uuid(),
      account_id: accountId,
      role_arn: roleArn,
      name: z.string().min(1).max(200).optional(),
      regions: z.array(region).min(1).max(40).nullable().optional(),
      schedule_hours: z
        .union([z.literal(1), z.literal(6), z.literal(12), z.literal(24), z.literal(168)])
        .nullable()
        .optional(),
    }),
    handler: async ({ body, caller }) => {
      const conn = await createConnection(c, caller, {
        facilityId: body.facility_id,
        accountId: body.account_id,
        roleArn: body.role_arn,
        name: body.name,
        regions: body.regions ?? null,
        scheduleHours: body.schedule_hours ?? null,
      });
      if (body.schedule_hours && cloud.queue) {
        const org = await c.dataKeys.organizationOf(caller);
        await cloud.queue.schedule(
          { organization_id: org, connection_id: conn.id },
          new Date(Date.now() + body.schedule_hours * 3_600_000),
        );
      }
      return present(conn);
    },
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/connections/:id',
    summary: 'A connection, its External IDs and its onboarding material.',
    tags,
    params: idParams,
    handler: async ({ params, caller }) =>
      present(await api.call<Connection>('connection_get', caller, params.id)),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/connections/:id/test',
    summary:
      'Assume the role and read once per service: activates the connection, or reports what failed (AccessDenied causes, missing permissions, unsafe trust).',
    tags,
    params: idParams,
    handler: async ({ params, caller }) => {
      const { report, connection } = await testConnection(c, caller, params.id);
      return { report, connection: present(connection) };
    },
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/connections/:id/rotate-external-id',
    summary:
      'Issue a new External ID; the previous one is still presented during the grace period, never after it.',
    tags,
    params: idParams,
    body: z.strictObject({ grace_seconds: z.number().int().min(0).max(7_776_000) }),
    handler: async ({ params, body, caller }) =>
      present(
        await api.call<Connection>(
          'connection_rotate_external_id',
          caller,
          params.id,
          body.grace_seconds,
        ),
      ),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/connections/:id/disconnect',
    summary: 'Disconnect: no role of this connection is ever assumed again.',
    tags,
    params: idParams,
    body: reasonBody,
    handler: async ({ params, body, caller }) =>
      present(await api.call<Connection>('connection_disconnect', caller, params.id, body.reason)),
  });

  define(app, deps, {
    method: 'PUT',
    url: '/api/v1/connections/:id/execution-roles/:class',
    summary: 'Opt in to an execution role for one action class (its ARN is stored sealed).',
    tags,
    params: classParams,
    body: z.strictObject({ role_arn: roleArn }),
    handler: async ({ params, body, caller }) =>
      present(await setExecutionRole(c, caller, params.id, params.class, body.role_arn)),
  });

  define(app, deps, {
    method: 'DELETE',
    url: '/api/v1/connections/:id/execution-roles/:class',
    summary: 'Remove the execution role of one action class.',
    tags,
    params: classParams,
    handler: async ({ params, caller }) =>
      present(await setExecutionRole(c, caller, params.id, params.class, null)),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/connections/:id/scans',
    summary: 'Queue a scan of an active connection (one at a time per connection).',
    tags,
    status: 202,
    params: idParams,
    handler: async ({ params, caller }) => {
      if (!cloud.queue) {
        // Who is asking comes first: a dead session hears 401, not that the server lacks a queue.
        await api.call('session_whoami', caller);
        throw new AppError('unavailable', 'no job queue is configured on this server', {
          reason: 'queue_unavailable',
        });
      }
      const scan = await api.call<{ id: string }>('scan_start', caller, params.id, 'manual');
      const org = await c.dataKeys.organizationOf(caller);
      await cloud.queue.enqueueScan({ organization_id: org, scan_id: scan.id });
      return scan;
    },
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/connections/:id/scans',
    summary: 'Scans of a connection, newest first.',
    tags,
    params: idParams,
    query: z.object({ limit: z.coerce.number().int().min(1).max(500).optional() }),
    handler: async ({ params, query, caller }) => ({
      scans: await api.call('scan_list', caller, params.id, query.limit ?? null),
    }),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/scans/:id',
    summary:
      'A scan: status, live progress (services and regions done, resources found), errors, summary.',
    tags,
    params: idParams,
    handler: async ({ params, caller }) => await api.call('scan_get', caller, params.id),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/scans/:id/changes',
    summary: 'What a scan added, changed and removed (paginated by ARN).',
    tags,
    params: idParams,
    query: z.object({
      cursor: z.string().max(2048).optional(),
      limit: z.coerce.number().int().min(1).max(1000).optional(),
    }),
    handler: async ({ params, query, caller }) =>
      await api.call('scan_changes', caller, params.id, query.cursor ?? null, query.limit ?? null),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/connections/:id/inventory',
    summary: 'The inventory of a connection (metadata only), filtered and paginated by ARN.',
    tags,
    params: idParams,
    query: z.object({
      type: z
        .string()
        .regex(/^AWS::[A-Za-z0-9]*::[A-Za-z0-9]+$/)
        .optional(),
      region: z.union([region, z.literal('global')]).optional(),
      arn_prefix: z.string().max(2048).optional(),
      removed: z.enum(['true', 'false']).optional(),
      changed_in_scan: z.uuid().optional(),
      cursor: z.string().max(2048).optional(),
      limit: z.coerce.number().int().min(1).max(1000).optional(),
    }),
    handler: async ({ params, query, caller }) => {
      const filters: Record<string, unknown> = {};
      if (query.type) filters.type = query.type;
      if (query.region) filters.region = query.region;
      if (query.arn_prefix) filters.arn_prefix = query.arn_prefix;
      if (query.removed) filters.removed = query.removed === 'true';
      if (query.changed_in_scan) filters.changed_in_scan = query.changed_in_scan;
      return await api.call(
        'inventory_list',
        caller,
        params.id,
        filters,
        query.cursor ?? null,
        query.limit ?? null,
      );
    },
  });
}
