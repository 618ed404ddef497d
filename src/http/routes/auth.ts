// Sign-in, sessions, personal API tokens and single sign-on.
//
// The session token travels in an HttpOnly, Secure, SameSite=Strict cookie (browsers) or as a bearer
// token (the CLI). Sign-in answers JSON only, so a cross-site form cannot sign a victim in; every
// state-changing request with the cookie needs the CSRF token returned at sign-in and by GET
// /auth/session. Identity-provider callbacks are browser navigations: they answer with a small HTML
// page (success or the error), never JSON.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, isAppError } from '../../errors.js';
import type { CliSignIn } from '../../identity/context.js';
import { oidcCallback, oidcProvider, oidcStart } from '../../identity/oidc.js';
import { samlAcs, samlMetadata, samlStart } from '../../identity/saml.js';
import type { HttpDeps } from '../server.js';
import { define, SESSION_COOKIE, idParams, reasonBody, shortText } from './define.js';

interface LoginResult {
  token: string;
  session_id: string;
  expires_at: string;
  idle_timeout_seconds: number;
}

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'an organization slug');
const email = z.string().min(3).max(320);
const password = z.string().min(1).max(1024);

export function clientInfo(req: FastifyRequest): { ip: string; user_agent?: string } {
  const ua = req.headers['user-agent'];
  return { ip: req.ip, ...(ua ? { user_agent: ua.slice(0, 512) } : {}) };
}

/** Set the session cookie and return what the browser may see (never the token itself). */
function startCookieSession(reply: FastifyReply, s: LoginResult): Record<string, unknown> {
  void reply.setCookie(SESSION_COOKIE, s.token, {
    path: '/',
    httpOnly: true,
    secure: true,
    sameSite: 'strict',
    expires: new Date(s.expires_at),
  });
  return {
    session_id: s.session_id,
    expires_at: s.expires_at,
    idle_timeout_seconds: s.idle_timeout_seconds,
    csrf_token: reply.generateCsrf(),
  };
}

function clearCookie(reply: FastifyReply): void {
  void reply.clearCookie(SESSION_COOKIE, {
    path: '/',
    httpOnly: true,
    secure: true,
    sameSite: 'strict',
  });
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page a browser lands on after an identity provider (no script: a meta refresh). */
function landingPage(
  reply: FastifyReply,
  status: number,
  title: string,
  text: string,
  next?: string,
): FastifyReply {
  const refresh = next ? `<meta http-equiv="refresh" content="0;url=${escapeHtml(next)}">` : '';
  const link = next
    ? `<p><a href="${escapeHtml(next)}">Continue</a></p>`
    : '<p><a href="/">Back to Axiom</a></p>';
  return reply
    .status(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8">${refresh}<title>${escapeHtml(title)}</title></head>` +
        `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>${link}</body></html>`,
    );
}

function failurePage(req: FastifyRequest, reply: FastifyReply, e: unknown): FastifyReply {
  const err = isAppError(e)
    ? e
    : new AppError('internal', 'an internal error occurred', { cause: e });
  if (err.code === 'internal') req.log.error({ err: err.cause ?? err }, 'sign-in callback failed');
  else req.log.info({ code: err.code, reason: err.reason }, 'sign-in refused');
  return landingPage(
    reply,
    err.httpStatus,
    'Sign-in failed',
    `${err.publicMessage} (request ${req.id})`,
  );
}

/** The CLI's part of a sign-in start URL: both or neither. */
function cliSignIn(q: { cli_port?: string; cli_challenge?: string }): CliSignIn {
  if (q.cli_port === undefined && q.cli_challenge === undefined) return {};
  const port = Number(q.cli_port);
  if (q.cli_challenge === undefined || !Number.isInteger(port) || port < 1024 || port > 65535)
    throw new AppError(
      'invalid_input',
      'a sign-in for the CLI names cli_port (1024-65535) and cli_challenge together',
      { reason: 'invalid_cli_port' },
    );
  return { cli_port: port, cli_challenge: q.cli_challenge };
}

export function registerAuthRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { api, identity } = deps;
  const tags = ['sign-in and sessions'];

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/auth/login',
    summary:
      'Sign in with a password. Browsers get the session cookie and a CSRF token; `"client": "cli"` returns the token instead (no cookie). Give new_password to change an expired password while signing in.',
    tags,
    auth: 'none',
    body: z.object({
      organization: slug,
      email,
      password,
      new_password: password.optional(),
      client: z.enum(['browser', 'cli']).default('browser'),
    }),
    handler: async ({ req, reply, body }) => {
      const s = body.new_password
        ? await api.raw<LoginResult>('session_login_password_change', [
            body.organization,
            body.email,
            body.password,
            body.new_password,
            clientInfo(req),
          ])
        : await api.raw<LoginResult>('session_login_password', [
            body.organization,
            body.email,
            body.password,
            clientInfo(req),
          ]);
      if (body.client === 'cli') return s;
      return startCookieSession(reply, s);
    },
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/auth/session',
    summary:
      'Who is signed in: principal, organization, session and grants; with a fresh CSRF token.',
    tags,
    handler: async ({ reply, caller }) => {
      const who = await api.call<Record<string, unknown>>('session_whoami', caller);
      return { ...who, csrf_token: reply.generateCsrf() };
    },
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/auth/logout',
    summary: 'Sign out of this session.',
    tags,
    handler: async ({ reply, caller }) => {
      const r = await api.call('session_logout', caller);
      clearCookie(reply);
      return r;
    },
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/auth/logout-everywhere',
    summary:
      'Sign out everywhere: every web session of the signed-in person ends (API tokens stay; revoke them one by one).',
    tags,
    handler: async ({ reply, caller }) => {
      const r = await api.call('session_revoke_all', caller);
      clearCookie(reply);
      return r;
    },
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/auth/password',
    summary: 'Change your password (the current one is verified in the database).',
    tags,
    body: z.object({ current_password: password, new_password: password }),
    handler: async ({ body, caller }) =>
      await api.call('password_change', caller, body.current_password, body.new_password),
  });

  define(app, deps, {
    method: 'GET',
    url: '/api/v1/sessions',
    summary: 'Your sessions and API tokens (never the token values).',
    tags,
    handler: async ({ caller }) => ({ sessions: await api.call('session_list', caller) }),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/sessions/:id/revoke',
    summary:
      'Revoke a session or API token: your own, or (administrators) anyone’s in the organization.',
    tags,
    params: idParams,
    body: reasonBody,
    handler: async ({ params, body, caller }) =>
      await api.call('session_revoke', caller, params.id, body.reason),
  });

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/tokens',
    summary:
      'Create a personal API token. Shown once; stored hashed; expires in 1–365 days; optionally scoped to a subset of your grants (never more).',
    tags,
    status: 201,
    body: z.object({
      name: shortText(100),
      expires_in_days: z.number().int().min(1).max(365),
      scope: z
        .array(
          z.object({
            domain: shortText(40),
            level: shortText(20),
            facility_id: z.uuid().nullable().optional(),
          }),
        )
        .min(1)
        .max(50)
        .optional(),
    }),
    handler: async ({ body, caller }) =>
      await api.call(
        'api_token_create',
        caller,
        body.name,
        body.expires_in_days,
        body.scope ?? null,
      ),
  });

  // --- Single sign-on -------------------------------------------------------------------------

  /**
   * A sign-in started by `axiom login --sso`: the identity is verified, so the database records it
   * under a single-use code, and the browser takes the code to the CLI's loopback port (always
   * 127.0.0.1: never a URL from the request). The CLI exchanges it with its verifier for a session.
   */
  async function handOffToCli(
    reply: FastifyReply,
    providerId: string,
    requestId: string,
    verified: object,
  ): Promise<FastifyReply> {
    const h = await api.raw<{ code: string; cli_port: number }>('sso_cli_handoff_create', [
      identity.serviceSecret,
      providerId,
      requestId,
      verified,
    ]);
    const to = new URL(`http://127.0.0.1:${h.cli_port}/callback`);
    to.searchParams.set('code', h.code);
    return await reply
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .redirect(to.toString(), 302);
  }

  define(app, deps, {
    method: 'POST',
    url: '/api/v1/auth/sso/cli/exchange',
    summary:
      'Finish `axiom login --sso`: exchange the single-use code the browser brought to the CLI, with the verifier whose SHA-256 started the sign-in, for a session token (no cookie). The code is spent on the first attempt.',
    tags,
    auth: 'none',
    body: z.object({
      code: z.string().min(1).max(200),
      code_verifier: z.string().min(43).max(128),
    }),
    handler: async ({ req, body }) =>
      await api.raw<LoginResult>('session_login_sso_cli', [
        identity.serviceSecret,
        body.code,
        body.code_verifier,
        clientInfo(req),
      ]),
  });

  app.get(
    '/api/v1/auth/sso/:organization/start',
    {
      schema: {
        summary: 'Start single sign-on: redirects to the organization’s identity provider.',
        tags,
        security: [],
        params: z.object({ organization: slug }),
        querystring: z.object({
          provider: z.uuid().optional(),
          // `axiom login --sso`: the CLI's loopback port and the SHA-256 of its verifier.
          cli_port: z
            .string()
            .regex(/^[0-9]{4,5}$/)
            .optional(),
          cli_challenge: z
            .string()
            .regex(/^[A-Za-z0-9_-]{43}$/)
            .optional(),
        }),
      },
    },
    async (req, reply) => {
      const { organization } = req.params as { organization: string };
      const q = req.query as { provider?: string; cli_port?: string; cli_challenge?: string };
      try {
        const cli = cliSignIn(q);
        const p = await oidcProvider(identity, organization, q.provider);
        const url =
          p.kind === 'saml'
            ? await samlStart(identity, p, cli)
            : await oidcStart(identity, p, 'login', cli);
        return await reply.header('cache-control', 'no-store').redirect(url, 302);
      } catch (e) {
        return failurePage(req, reply, e);
      }
    },
  );

  app.get(
    '/api/v1/auth/sso/:organization/saml-metadata',
    {
      schema: {
        summary: 'The SAML service-provider metadata to give the identity provider.',
        tags,
        security: [],
        params: z.object({ organization: slug }),
        querystring: z.object({ provider: z.uuid().optional() }),
      },
    },
    async (req, reply) => {
      const { organization } = req.params as { organization: string };
      const { provider } = req.query as { provider?: string };
      const p = await oidcProvider(identity, organization, provider);
      if (p.kind !== 'saml')
        throw new AppError('not_found', 'no SAML provider', { reason: 'provider_not_found' });
      return reply.type('application/samlmetadata+xml').send(samlMetadata(identity, p));
    },
  );

  app.get(
    '/api/v1/auth/oidc/callback',
    {
      schema: {
        summary:
          'Where the OpenID provider returns the browser (sign-in or e-signature re-authentication). Answers with an HTML page.',
        tags,
        security: [],
        querystring: z.record(z.string(), z.string().max(4096)),
      },
    },
    async (req, reply) => {
      try {
        const here = new URL(req.url, identity.publicUrl);
        const r = await oidcCallback(identity, here);
        if (r.purpose === 'reauth') {
          const challengeId = r.request.signature_challenge_id;
          if (!challengeId || !r.request.principal_id) {
            throw new AppError('unauthenticated', 'the re-authentication request is incomplete', {
              reason: 'state_mismatch',
            });
          }
          const authTime = r.identity.auth_time ? new Date(r.identity.auth_time * 1000) : null;
          await api.raw('signature_factor_oidc', [
            identity.serviceSecret,
            challengeId,
            r.request.principal_id,
            r.provider.id,
            r.identity.subject,
            authTime,
          ]);
          return landingPage(
            reply,
            200,
            'Identity confirmed',
            'Return to Axiom to complete the signature.',
            `/#/signatures/${challengeId}`,
          );
        }
        if (r.request.cli_port !== null)
          return await handOffToCli(reply, r.provider.id, r.request.id, r.identity);
        const s = await api.raw<LoginResult>('session_login_sso', [
          identity.serviceSecret,
          r.provider.id,
          r.identity,
          clientInfo(req),
        ]);
        startCookieSession(reply, s);
        return landingPage(reply, 200, 'Signed in', 'You are signed in to Axiom.', '/');
      } catch (e) {
        return failurePage(req, reply, e);
      }
    },
  );

  app.post(
    '/api/v1/auth/saml/:id/acs',
    {
      // A cross-site POST from the identity provider by design: the RelayState (single use, recorded
      // at the start of this sign-in) and the signed assertion are what protect it, not a CSRF token.
      schema: {
        summary: 'SAML assertion consumer service (HTTP-POST binding). Answers with an HTML page.',
        tags,
        security: [],
        params: idParams,
        body: z.object({
          SAMLResponse: z.string().max(256 * 1024),
          RelayState: z.string().max(512).optional(),
        }),
      },
    },
    async (req, reply) => {
      try {
        const { id } = req.params as { id: string };
        const r = await samlAcs(
          identity,
          id,
          req.body as { SAMLResponse: string; RelayState?: string },
        );
        if (r.request.cli_port !== null)
          return await handOffToCli(reply, r.provider.id, r.request.id, r.identity);
        const s = await api.raw<LoginResult>('session_login_sso', [
          identity.serviceSecret,
          r.provider.id,
          r.identity,
          clientInfo(req),
        ]);
        startCookieSession(reply, s);
        return landingPage(reply, 200, 'Signed in', 'You are signed in to Axiom.', '/');
      } catch (e) {
        return failurePage(req, reply, e);
      }
    },
  );
}
