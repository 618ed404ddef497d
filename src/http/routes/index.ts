// Every HTTP route of the API. Each one validates its input and makes one api.* call (two where a
// server-side verification comes first: WebAuthn, identity-provider answers, sealing a client secret).
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../server.js';
import { registerAdminRoutes } from './admin.js';
import { registerAuditRoutes } from './audit.js';
import { registerAuthRoutes } from './auth.js';
import { registerFindingRoutes } from './findings.js';
import { registerCloudRoutes } from './cloud.js';
import { registerRecordRoutes } from './records.js';
import { registerSignatureRoutes } from './signatures.js';

export { SESSION_COOKIE, CSRF_COOKIE } from './define.js';

export async function registerRoutes(app: FastifyInstance, deps: HttpDeps): Promise<void> {
  app.get(
    '/api/v1/health',
    { schema: { summary: 'Liveness (no database call).', tags: ['health'], security: [] } },
    async () => ({ ok: true }),
  );
  registerAuthRoutes(app, deps);
  registerSignatureRoutes(app, deps);
  registerAdminRoutes(app, deps);
  registerRecordRoutes(app, deps);
  registerAuditRoutes(app, deps);
  registerFindingRoutes(app, deps);
  registerCloudRoutes(app, deps);
  await Promise.resolve();
}
