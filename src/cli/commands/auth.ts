// `axiom login`, `axiom logout`, `axiom whoami` and `axiom token create`: the CLI signs in to the
// HTTPS API like any client (the password is checked in the database; `--sso` signs in at the
// organization's identity provider in a browser that hands back to a loopback port), keeps the
// session token in <data dir>/cli-session (mode 0600), and creates personal API tokens shown once.
import type { Command } from 'commander';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../../config/index.js';
import { read } from 'read';
import { AppError } from '../../errors.js';
import {
  clientFor,
  forgetSession,
  parseServerUrl,
  readStoredSession,
  sessionFile,
  storeSession,
  type AxiomClient,
} from '../client.js';
import type { CliContext, Lazy } from '../main.js';
import { urlOption, uuidArg, withAxiomClient } from '../api.js';
import { readAll } from '../signing.js';

interface Whoami {
  principal: { id: string; email: string; display_name: string };
  organization: { id: string; slug: string; name: string };
  session: { id: string; kind: string; expires_at: string };
}

const slugRule = /^[a-z0-9][a-z0-9-]{1,62}$/;
const scopeRule =
  /^([a-z]+):([a-z]+)(?:@([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}))?$/;

function usage(message: string, reason: string): AppError {
  return new AppError('invalid_input', message, { reason });
}

/** Ask on the terminal (the prompt goes to stderr; a silent prompt does not echo what is typed). */
async function ask(ctx: CliContext, prompt: string, silent = false): Promise<string> {
  const answer = await read({
    prompt,
    silent,
    replace: '',
    input: ctx.stdin ?? process.stdin,
    output: ctx.promptOutput ?? process.stderr,
  });
  // A silent prompt swallows the Enter key's echo too: end the line.
  if (silent) (ctx.promptOutput ?? process.stderr).write('\n');
  // A password is taken as typed; names and addresses without stray spaces.
  return silent ? String(answer) : String(answer).trim();
}

const withClient = <T>(
  ctx: CliContext,
  lazy: Pick<Lazy, 'config'>,
  url: string | undefined,
  fn: (client: AxiomClient) => Promise<T>,
): Promise<T> => withAxiomClient(ctx, lazy.config(), url, fn);

function describe(who: Whoami, url: string): string {
  return (
    `signed in to ${url} as ${who.principal.display_name} <${who.principal.email}>` +
    ` in ${who.organization.slug} (session expires ${who.session.expires_at})`
  );
}

interface Session {
  token: string;
  session_id: string;
  expires_at: string;
}

/** Keep the new session in <data dir>/cli-session and say who signed in. */
async function finishLogin(
  ctx: CliContext,
  config: Config,
  url: string,
  s: Session,
  json: boolean | undefined,
): Promise<void> {
  storeSession(config.dataDir, {
    url,
    token: s.token,
    session_id: s.session_id,
    expires_at: s.expires_at,
  });
  const client = clientFor(config, { ...ctx.env, AXIOM_TOKEN: s.token }, { url });
  try {
    const who = await client.call<Whoami>('GET', '/api/v1/auth/session');
    if (json)
      ctx.io.json({
        url,
        principal: who.principal,
        organization: who.organization,
        session: { id: who.session.id, expires_at: who.session.expires_at },
        session_file: sessionFile(config.dataDir),
      });
    else ctx.io.out(describe(who, url));
  } finally {
    await client.close();
  }
}

/**
 * `axiom login --sso`, as native apps sign in (RFC 8252): listen on a loopback port, send the person's
 * browser to the server's sign-in start with that port and the SHA-256 of a random verifier, wait for
 * the browser to bring back a single-use code, and exchange code and verifier for a session. The
 * server redirects only to 127.0.0.1; a code without this process's verifier is worth nothing.
 */
async function signInWithSso(
  ctx: CliContext,
  anon: AxiomClient,
  o: { organization: string; provider?: string; browser: boolean; timeoutMs: number },
): Promise<Session> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  let arrived!: (code: string) => void;
  const code = new Promise<string>((resolve) => (arrived = resolve));
  const page = (status: number, title: string, text: string) =>
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>` +
    `<body><h1>${title}</h1><p>${text}</p></body></html>`;
  const loopback = http.createServer((req, res) => {
    const at = new URL(req.url ?? '/', 'http://127.0.0.1');
    const got = at.searchParams.get('code');
    const ok = req.method === 'GET' && at.pathname === '/callback' && !!got && got.length <= 200;
    res.writeHead(ok ? 200 : 400, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    });
    res.end(
      ok
        ? page(
            200,
            'Signed in',
            'Axiom received the sign-in. Return to your terminal; you can close this tab.',
          )
        : page(
            400,
            'Not a sign-in',
            'This address only receives the sign-in of `axiom login --sso`.',
          ),
    );
    if (ok) arrived(got);
  });
  await new Promise<void>((resolve, reject) => {
    loopback.once('error', reject);
    loopback.listen(0, '127.0.0.1', resolve);
  });
  try {
    const port = (loopback.address() as AddressInfo).port;
    const start = new URL(
      `/api/v1/auth/sso/${encodeURIComponent(o.organization)}/start`,
      anon.opts.url,
    );
    if (o.provider) start.searchParams.set('provider', o.provider);
    start.searchParams.set('cli_port', String(port));
    start.searchParams.set('cli_challenge', challenge);
    ctx.io.err(
      o.browser
        ? `Opening your browser to sign in. If it does not open, visit:\n  ${start.toString()}`
        : `Sign in in your browser at:\n  ${start.toString()}`,
    );
    if (o.browser) {
      // The URL is printed above in case no browser can be started here.
      // Loaded only here: every other command starts without it.
      const { default: open } = await import('open');
      await open(start.toString()).catch(() => undefined);
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new AppError(
              'unauthenticated',
              `no sign-in came back from the browser within ${Math.round(o.timeoutMs / 1000)} s`,
              { reason: 'sso_timeout' },
            ),
          ),
        o.timeoutMs,
      );
    });
    let got: string;
    try {
      got = await Promise.race([code, timedOut]);
    } finally {
      clearTimeout(timer);
    }
    return await anon.call<Session>('POST', '/api/v1/auth/sso/cli/exchange', {
      body: { code: got, code_verifier: verifier },
      auth: false,
    });
  } finally {
    loopback.closeAllConnections();
    await new Promise<void>((resolve) => loopback.close(() => resolve()));
  }
}

/** A row of GET /api/v1/sessions (never a token value). */
interface SessionRow {
  id: string;
  kind: string;
  name: string | null;
  auth_method: string;
  created_at: string;
  expires_at: string;
  last_seen_at: string | null;
  revoked_at: string | null;
  current: boolean;
}

const sessionState = (s: SessionRow, now: number): string =>
  s.revoked_at ? 'revoked' : Date.parse(s.expires_at) <= now ? 'expired' : 'active';

/**
 * `list` and `revoke <id>` under `parent`: your sessions (web and CLI sign-ins, API tokens), or only
 * your API tokens when `tokens`. Revoking goes through api.session_revoke: your own, or anyone's in the
 * organization for an administrator.
 */
function registerSessionCommands(
  parent: Command,
  ctx: CliContext,
  lazy: Lazy,
  tokens: boolean,
): void {
  const what = tokens ? 'API token' : 'session or API token';
  parent
    .command('list')
    .description(
      tokens
        ? 'your API tokens in force (never their values); --all adds revoked and expired ones'
        : 'your sessions and API tokens in force; --all adds revoked and expired ones',
    )
    .option('--all', 'also the revoked and expired ones')
    .addOption(urlOption())
    .option('--json', 'machine output')
    .action(async (opts: { all?: boolean; url?: string; json?: boolean }) => {
      const { sessions } = await withClient(ctx, lazy, opts.url, (c) =>
        c.call<{ sessions: SessionRow[] }>('GET', '/api/v1/sessions'),
      );
      const now = Date.now();
      const rows = sessions.filter(
        (s) =>
          (!tokens || s.kind === 'api_token') && (opts.all || sessionState(s, now) === 'active'),
      );
      if (opts.json) return ctx.io.json(rows);
      if (rows.length === 0) return ctx.io.out(tokens ? 'no API tokens' : 'no sessions');
      for (const s of rows)
        ctx.io.out(
          [
            s.id,
            sessionState(s, now).padEnd(7),
            (s.kind === 'api_token'
              ? `token "${s.name ?? ''}"`
              : `${s.kind} (${s.auth_method})`
            ).padEnd(20),
            `since ${s.created_at}`,
            `last used ${s.last_seen_at ?? '-'}`,
            `expires ${s.expires_at}`,
            s.current ? '(this one)' : '',
          ]
            .join('  ')
            .trimEnd(),
        );
    });
  parent
    .command('revoke <id>')
    .description(`revoke a ${what} (yours, or anyone's in the organization as an administrator)`)
    .option('--reason <text>', 'why', 'revoked from the command line')
    .addOption(urlOption())
    .option('--json', 'machine output')
    .action(async (id: string, opts: { reason: string; url?: string; json?: boolean }) => {
      const sid = uuidArg(id);
      await withClient(ctx, lazy, opts.url, async (c) => {
        const { sessions } = await c.call<{ sessions: SessionRow[] }>('GET', '/api/v1/sessions');
        const mine = sessions.find((s) => s.id === sid);
        // Only a token by this name: a session id given to `token revoke` is refused, not revoked.
        if (tokens && mine && mine.kind !== 'api_token')
          throw usage(
            `${id} is a ${mine.kind} session, not an API token: axiom session revoke`,
            'not_a_token',
          );
        const r = await c.call<unknown>('POST', `/api/v1/sessions/${sid}/revoke`, {
          body: { reason: opts.reason },
        });
        // Revoking the session this command signed in with is signing out: forget the stored one
        // too (unless the credentials came from AXIOM_TOKEN, which this command does not own).
        const signedOut = mine?.current === true && !ctx.env.AXIOM_TOKEN;
        if (signedOut) forgetSession(lazy.config().dataDir);
        if (opts.json) ctx.io.json(r);
        else {
          ctx.io.out(`revoked ${tokens ? 'API token' : 'session'} ${sid}`);
          if (signedOut)
            ctx.io.out('it was this sign-in: signed out (axiom login to sign in again)');
        }
      });
    });
}

export function registerAuthCommands(program: Command, ctx: CliContext, lazy: Lazy): void {
  program
    .command('login')
    .description('sign in to an Axiom server; the session is kept in <data dir>/cli-session (0600)')
    .option('--organization <slug>', 'organization slug (asked when missing)')
    .option('--email <email>', 'e-mail address (asked when missing)')
    .option('--password-stdin', 'read the password from standard input (for scripts)')
    .option(
      '--sso',
      "sign in with the organization's single sign-on in a browser (the browser hands the sign-in back to this command on a loopback port)",
    )
    .option(
      '--provider <id>',
      'with --sso: the identity provider, when the organization has several',
    )
    .option('--no-browser', 'with --sso: print the sign-in URL instead of opening a browser')
    .option('--timeout <seconds>', 'with --sso: how long to wait for the browser (default 300)')
    .option('--url <url>', 'the server (default AXIOM_URL, else https://localhost:8443)')
    .option('--json', 'print who signed in as JSON')
    .action(
      async (opts: {
        organization?: string;
        email?: string;
        passwordStdin?: boolean;
        sso?: boolean;
        provider?: string;
        browser: boolean;
        timeout?: string;
        url?: string;
        json?: boolean;
      }) => {
        const config = lazy.config();
        // The server first: a bad --url or certificate setting fails before anything is asked.
        if (opts.url) parseServerUrl(opts.url);
        if (!opts.sso && (opts.provider || !opts.browser || opts.timeout))
          throw usage('--provider, --no-browser and --timeout go with --sso', 'usage');
        if (opts.sso) {
          if (opts.email || opts.passwordStdin)
            throw usage('--sso signs in at the identity provider: no --email or password', 'usage');
          if (
            opts.provider &&
            !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(opts.provider)
          )
            throw usage('--provider is an identity provider id (a UUID)', 'invalid_provider');
          const timeout = opts.timeout ?? '300';
          if (!/^\d{1,4}$/.test(timeout) || +timeout < 1 || +timeout > 3600)
            throw usage('--timeout is a whole number of seconds from 1 to 3600', 'invalid_timeout');
          const organization = opts.organization ?? (await ask(ctx, 'Organization: '));
          if (!slugRule.test(organization))
            throw usage(`"${organization}" is not an organization slug`, 'invalid_organization');
          await withClient(ctx, { ...lazy, config: () => config }, opts.url, async (anon) => {
            const s = await signInWithSso(ctx, anon, {
              organization,
              provider: opts.provider,
              browser: opts.browser,
              timeoutMs: +timeout * 1000,
            });
            await finishLogin(ctx, config, anon.opts.url, s, opts.json);
          });
          return;
        }
        if (opts.passwordStdin && (!opts.organization || !opts.email))
          throw usage(
            '--password-stdin needs --organization and --email (standard input carries the password only)',
            'usage',
          );
        const organization = opts.organization ?? (await ask(ctx, 'Organization: '));
        if (!slugRule.test(organization))
          throw usage(`"${organization}" is not an organization slug`, 'invalid_organization');
        const email = opts.email ?? (await ask(ctx, 'E-mail: '));
        if (!/^[^@\s]{1,64}@[^@\s]{1,255}$/.test(email))
          throw usage('the e-mail address must look like name@domain', 'invalid_email');
        const password = opts.passwordStdin
          ? await readAll(ctx.stdin ?? process.stdin)
          : await ask(ctx, 'Password: ', true);
        if (!password) throw usage('a password is required', 'invalid_password');

        await withClient(ctx, { ...lazy, config: () => config }, opts.url, async (anon) => {
          const signIn = (newPassword?: string) =>
            anon.call<Session>('POST', '/api/v1/auth/login', {
              body: {
                organization,
                email,
                password,
                client: 'cli',
                ...(newPassword ? { new_password: newPassword } : {}),
              },
              auth: false,
            });
          let s: Session;
          try {
            s = await signIn();
          } catch (e) {
            // An expired password, or one an administrator set: the person chooses a new one now.
            const mustChange =
              e instanceof AppError &&
              (e.reason === 'password_change_required' || e.reason === 'password_expired');
            if (!mustChange) throw e;
            if (opts.passwordStdin)
              throw new AppError(
                'unauthenticated',
                `${e.publicMessage}: run \`axiom login\` in a terminal to choose a new password`,
                { reason: e.reason },
              );
            ctx.io.err(e.publicMessage);
            const next = await ask(ctx, 'New password: ', true);
            if ((await ask(ctx, 'New password again: ', true)) !== next)
              throw usage('the new passwords differ; nothing was changed', 'password_mismatch');
            s = await signIn(next);
          }
          await finishLogin(ctx, config, anon.opts.url, s, opts.json);
        });
      },
    );

  program
    .command('logout')
    .description('end the stored session (on the server too) and forget it')
    .action(async () => {
      const config = lazy.config();
      const stored = readStoredSession(config.dataDir);
      if (!stored) {
        ctx.io.out('not signed in');
        return;
      }
      try {
        await withClient(
          { ...ctx, env: { ...ctx.env, AXIOM_TOKEN: stored.token } },
          lazy,
          stored.url,
          async (c) => await c.call('POST', '/api/v1/auth/logout'),
        );
      } catch (e) {
        // An expired or revoked session is over already; anything else is reported, the file still goes.
        if (!(e instanceof AppError && e.code === 'unauthenticated')) {
          forgetSession(config.dataDir);
          throw e;
        }
      }
      forgetSession(config.dataDir);
      ctx.io.out(`signed out of ${stored.url}`);
    });

  program
    .command('whoami')
    .description('who the CLI is signed in as (AXIOM_TOKEN, else the stored session)')
    .option('--url <url>', 'the server (default AXIOM_URL, else the stored session’s)')
    .option('--json', 'print JSON')
    .action(async (opts: { url?: string; json?: boolean }) => {
      await withClient(ctx, lazy, opts.url, async (c) => {
        const who = await c.call<Whoami>('GET', '/api/v1/auth/session');
        if (opts.json) ctx.io.json({ url: c.opts.url, ...who, csrf_token: undefined });
        else ctx.io.out(describe(who, c.opts.url));
      });
    });

  const token = program.command('token').description('personal API tokens');
  registerSessionCommands(token, ctx, lazy, true);
  registerSessionCommands(
    program.command('session').description('your sessions and API tokens'),
    ctx,
    lazy,
    false,
  );
  token
    .command('create')
    .description('create a personal API token (shown once; stored hashed by the server)')
    .requiredOption('--name <name>', 'what the token is for (1-100 characters)')
    .requiredOption('--expires-in-days <days>', 'lifetime in days (1-365)')
    .option(
      '--scope <domain:level[@facility]...>',
      'limit the token to these grants (never more than yours), e.g. audit:read',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--url <url>', 'the server (default AXIOM_URL, else the stored session’s)')
    .option('--json', 'print the token and its details as JSON')
    .action(
      async (opts: {
        name: string;
        expiresInDays: string;
        scope?: string[];
        url?: string;
        json?: boolean;
      }) => {
        const name = opts.name.trim();
        if (name.length < 1 || name.length > 100)
          throw usage('--name has 1 to 100 characters', 'invalid_name');
        if (
          !/^\d{1,3}$/.test(opts.expiresInDays) ||
          +opts.expiresInDays < 1 ||
          +opts.expiresInDays > 365
        )
          throw usage('--expires-in-days is a whole number from 1 to 365', 'invalid_expiry');
        const scope = (opts.scope ?? []).map((s) => {
          const m = scopeRule.exec(s);
          if (!m)
            throw usage(
              `--scope ${s}: expected domain:level or domain:level@<facility id>, e.g. audit:read`,
              'invalid_scope',
            );
          return { domain: m[1]!, level: m[2]!, facility_id: m[3] ?? null };
        });
        await withClient(ctx, lazy, opts.url, async (c) => {
          const t = await c.call<{
            token: string;
            session_id: string;
            expires_at: string;
            name?: string;
          }>('POST', '/api/v1/tokens', {
            body: {
              name,
              expires_in_days: Number(opts.expiresInDays),
              ...(scope.length ? { scope } : {}),
            },
          });
          if (opts.json) {
            ctx.io.json({ ...t, name, scope: scope.length ? scope : null });
            return;
          }
          ctx.io.out(`created API token "${name}" (id ${t.session_id}, expires ${t.expires_at})`);
          ctx.io.out(
            scope.length
              ? `scope: ${scope.map((x) => `${x.domain}:${x.level}${x.facility_id ? '@' + x.facility_id : ''}`).join(', ')}`
              : 'scope: all of your grants',
          );
          ctx.io.out('it is shown only now; keep it secret');
          ctx.io.out(`AXIOM_TOKEN=${t.token}`);
        });
      },
    );
}
