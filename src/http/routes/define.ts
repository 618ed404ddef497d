// A small vocabulary for routes: each JSON route declares its inputs as zod schemas (validated before
// the handler runs, published in the OpenAPI description) and whether it needs a session. State-changing
// routes authenticated by the session cookie also need the CSRF token; bearer tokens (the CLI,
// automation) carry no ambient authority, so CSRF does not apply to them.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Caller } from '../../db/api.js';
import { AppError } from '../../errors.js';
import type { HttpDeps } from '../server.js';

export const SESSION_COOKIE = '__Host-axiom_session';
export const CSRF_COOKIE = '__Host-axiom_csrf';

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

type Schema = z.ZodType | undefined;
type Infer<S extends Schema> = S extends z.ZodType ? z.infer<S> : undefined;

export interface HandlerInput<B extends Schema, Q extends Schema, P extends Schema> {
  req: FastifyRequest;
  reply: FastifyReply;
  body: Infer<B>;
  query: Infer<Q>;
  params: Infer<P>;
  /** The caller's session (present when the route requires one). */
  caller: Caller;
}

export interface RouteDef<B extends Schema, Q extends Schema, P extends Schema> {
  method: Method;
  url: string;
  summary: string;
  tags: string[];
  /** 'session' (default): a session cookie or bearer token is required. */
  auth?: 'session' | 'none';
  body?: B;
  query?: Q;
  params?: P;
  status?: number;
  handler: (input: HandlerInput<B, Q, P>) => Promise<unknown>;
}

/** The session token a request carries: a bearer token, else the session cookie. */
export function sessionToken(
  req: FastifyRequest,
): { token: string; via: 'bearer' | 'cookie' } | undefined {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer ([A-Za-z0-9_\-.~+/]{10,512}=*)$/.exec(auth);
    if (!m?.[1])
      throw new AppError('unauthenticated', 'the Authorization header must be "Bearer <token>"', {
        reason: 'malformed_authorization',
      });
    return { token: m[1], via: 'bearer' };
  }
  const c = req.cookies[SESSION_COOKIE];
  return c ? { token: c, via: 'cookie' } : undefined;
}

export function callerOf(req: FastifyRequest): Caller {
  const s = sessionToken(req);
  if (!s) throw new AppError('unauthenticated', 'sign in first', { reason: 'no_session' });
  return { token: s.token, ip: req.ip, requestId: req.id };
}

const stateChanging = new Set<Method>(['POST', 'PATCH', 'PUT', 'DELETE']);

/** Verify the CSRF token for a cookie-authenticated state-changing request. */
export async function checkCsrf(
  app: FastifyInstance,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    app.csrfProtection(req, reply, (err?: Error) => (err ? reject(err) : resolve()));
  });
}

export function define<
  B extends Schema = undefined,
  Q extends Schema = undefined,
  P extends Schema = undefined,
>(app: FastifyInstance, deps: HttpDeps, def: RouteDef<B, Q, P>): void {
  void deps;
  const auth = def.auth ?? 'session';
  app.withTypeProvider<ZodTypeProvider>().route({
    method: def.method,
    url: def.url,
    schema: {
      summary: def.summary,
      tags: def.tags,
      ...(def.body ? { body: def.body } : {}),
      ...(def.query ? { querystring: def.query } : {}),
      ...(def.params ? { params: def.params } : {}),
      ...(auth === 'none' ? { security: [] } : {}),
    },
    // Before validation: a request without a session or without its CSRF token is refused as such,
    // whatever its body looks like.
    preValidation: async (req, reply) => {
      if (auth !== 'session') return;
      const s = sessionToken(req);
      if (!s) throw new AppError('unauthenticated', 'sign in first', { reason: 'no_session' });
      if (s.via === 'cookie' && stateChanging.has(def.method)) await checkCsrf(app, req, reply);
    },
    handler: async (req, reply) => {
      const caller: Caller =
        auth === 'session' ? callerOf(req) : { token: '', ip: req.ip, requestId: req.id };
      const data = await def.handler({
        req,
        reply,
        body: req.body as Infer<B>,
        query: req.query as Infer<Q>,
        params: req.params as Infer<P>,
        caller,
      });
      if (def.status) void reply.status(def.status);
      return data ?? {};
    },
  });
}

// Common shapes.
export const uuid = z.uuid();
export const idParams = z.object({ id: z.uuid() });
export const reasonBody = z.object({ reason: z.string().min(1).max(2000) });
export const shortText = (max = 200) => z.string().min(1).max(max);
