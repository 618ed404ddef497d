// The HTTPS API (Fastify). Routes parse and validate shape (zod), then make exactly one call of an
// api.* function as axiom_user with the caller's session token; nothing here reads or writes a table.
// One error shape for everything: { requestId, code, reason?, message }.
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { createHash, randomUUID } from 'node:crypto';
import type { CheckpointService } from '../audit/checkpoints.js';
import type { Api } from '../db/api.js';
import { AppError, isAppError } from '../errors.js';
import type { IdentityDeps } from '../identity/context.js';
import type { Logger } from '../logger.js';
import { findAwsCredential } from '../security/redact.js';
import type { TlsMaterial } from './tls.js';
import { CSRF_COOKIE, SESSION_COOKIE, registerRoutes } from './routes/index.js';
import { registerDashboard } from './web.js';
import type { CloudHttpDeps } from './routes/cloud.js';
import fastifyFormbody from '@fastify/formbody';

export interface HttpConfig {
  publicUrl: string;
  /** Requests per minute per session (or per IP without one). */
  rateLimitPerMinute: number;
  bodyLimitBytes: number;
}

export interface HttpDeps {
  api: Api;
  logger: Logger;
  identity: IdentityDeps;
  config: HttpConfig;
  /** Cloud connections, scans and inventory (src/http/routes/cloud.ts); absent: no cloud routes. */
  cloud?: CloudHttpDeps;
  /** Signed checkpoints (on demand, and embedded in exports); absent when not configured. */
  audit?: { checkpoints: CheckpointService };
  /** Extra route registrations (the dashboard, later capabilities). */
  extend?: (app: FastifyInstance) => Promise<void> | void;
}

export type App = FastifyInstance;

function errorBody(req: FastifyRequest, e: AppError): Record<string, unknown> {
  return { requestId: req.id, ...e.toJSON() };
}

export async function buildServer(deps: HttpDeps, tls?: TlsMaterial): Promise<FastifyInstance> {
  // Typed as a plain instance: routes declare their schemas through src/http/routes/define.ts.
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }),
    bodyLimit: deps.config.bodyLimitBytes,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    trustProxy: false,
    ...(tls ? { https: { key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' as const } } : {}),
  }) as unknown as FastifyInstance;

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });

  // One place maps every error to a status and the stable shape.
  app.setErrorHandler((err: FastifyError, req, reply) => {
    let e: AppError;
    if (isAppError(err)) {
      e = err;
    } else if (hasZodFastifySchemaValidationErrors(err)) {
      const first = err.validation[0];
      const where = first?.instancePath
        ? `${err.validationContext ?? 'body'}${first.instancePath.replace(/\//g, '.')}`
        : (err.validationContext ?? 'request');
      e = new AppError('invalid_input', `${where}: ${first?.message ?? 'invalid'}`, {
        reason: 'schema',
      });
    } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      e = new AppError('payload_too_large', 'the request body is too large', {
        reason: 'body_too_large',
      });
    } else if (
      err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ||
      err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
    ) {
      e = new AppError('invalid_input', 'send JSON (content-type: application/json)', {
        reason: 'content_type',
      });
    } else if (
      err.statusCode === 400 ||
      err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
      err instanceof SyntaxError
    ) {
      e = new AppError('invalid_input', 'the request body is not valid JSON', {
        reason: 'malformed_json',
      });
    } else if (err.statusCode === 429) {
      e = new AppError('rate_limited', 'too many requests; slow down', { reason: 'rate_limited' });
    } else if (err.code === 'FST_CSRF_INVALID_TOKEN' || err.code === 'FST_CSRF_MISSING_SECRET') {
      e = new AppError(
        'forbidden',
        'a state-changing request needs the x-csrf-token header of this session',
        { reason: 'csrf' },
      );
    } else if (err.statusCode === 415) {
      e = new AppError('invalid_input', 'send JSON (content-type: application/json)', {
        reason: 'content_type',
      });
    } else {
      req.log.error({ err }, 'unhandled error');
      e = new AppError('internal', 'an internal error occurred', { cause: err });
    }
    if (e.code === 'internal' || e.code === 'unavailable')
      req.log.error({ err: e.cause ?? e, message: e.message }, 'request failed');
    else req.log.info({ code: e.code, reason: e.reason }, 'request refused');
    void reply.status(e.httpStatus).send(errorBody(req, e));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .send(
        errorBody(req, new AppError('not_found', 'no such route', { reason: 'route_not_found' })),
      );
  });

  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'", 'https:', 'http://127.0.0.1:*', 'http://localhost:*'],
      },
    },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    crossOriginEmbedderPolicy: false,
  });
  await app.register(fastifyCookie);
  // SAML's HTTP-POST binding is a form post; nothing else accepts forms.
  await app.register(fastifyFormbody, { bodyLimit: 512 * 1024 });
  await app.register(fastifyCsrf, {
    cookieKey: CSRF_COOKIE,
    cookieOpts: { path: '/', httpOnly: true, sameSite: 'strict', secure: true, signed: false },
    getToken: (req) => req.headers['x-csrf-token'] as string | undefined,
  });
  await app.register(fastifyRateLimit, {
    max: deps.config.rateLimitPerMinute,
    timeWindow: 60_000,
    // Per session when there is one (hashed: the token itself never becomes a key), else per address.
    keyGenerator: (req) => {
      const t = bearerOrCookie(req);
      return t
        ? `s:${createHash('sha256').update(t).digest('base64url').slice(0, 22)}`
        : `ip:${req.ip}`;
    },
    errorResponseBuilder: (_req, ctx) => {
      const e = new AppError(
        'rate_limited',
        `too many requests; retry in ${Math.ceil(ctx.ttl / 1000)} s`,
        { reason: 'rate_limited' },
      );
      return Object.assign(e, { statusCode: 429 });
    },
  });

  // Axiom never accepts AWS access keys: a request carrying one is refused before any route sees it,
  // and the value is not logged (request bodies are never logged).
  app.addHook('preValidation', async (req) => {
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([k]) => k !== 'authorization' && k !== 'cookie'),
    );
    const found =
      findAwsCredential(req.body) ??
      findAwsCredential(req.query) ??
      findAwsCredential(req.params) ??
      findAwsCredential(headers);
    if (found) {
      throw new AppError(
        'invalid_input',
        `Axiom never accepts AWS access keys; the request contained ${found}. Connect with an IAM role instead`,
        {
          reason: 'credentials_refused',
        },
      );
    }
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Axiom API',
        version: '1',
        description: 'Every route calls one api.* function in PostgreSQL as axiom_user.',
      },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
          token: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ session: [] }, { token: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs' });

  await registerRoutes(app, deps);
  await registerDashboard(app);
  await deps.extend?.(app);
  return app;
}

export function bearerOrCookie(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth && /^Bearer\s+\S+$/i.test(auth)) return auth.replace(/^Bearer\s+/i, '');
  return req.cookies?.[SESSION_COOKIE];
}

export type Reply = FastifyReply;
