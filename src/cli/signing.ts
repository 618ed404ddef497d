// An e-signature from the command line: a challenge for a change request (a plan's or a controlled
// record's) with the meaning the person signs, answered with their password (read without echo from
// the terminal or from standard input) or, with --sso, by signing in again at the organization's
// OpenID provider in a browser (prompt=login, max_age=0; the provider returns to the server, which
// records the factor on the challenge while this command waits for it). Signatures whose policy needs
// a security key are made in the dashboard: the CLI says so and signs nothing.
import type { Command } from 'commander';
import { read } from 'read';
import { AppError } from '../errors.js';
import type { CallApi } from './api.js';
import type { CliContext } from './main.js';

/** How a person answers a signature challenge from the CLI (the options signingOptions adds). */
export interface SigningMethod {
  passwordStdin?: boolean;
  sso?: { browser: boolean; timeoutMs: number };
}

/** --password-stdin, --sso, --no-browser and --timeout, for a command that signs. */
export function signingOptions(cmd: Command): Command {
  return cmd
    .option('--password-stdin', 'read the password from standard input')
    .option(
      '--sso',
      'sign by signing in again at your identity provider in a browser, instead of a password',
    )
    .option('--no-browser', 'with --sso: print the sign-in URL instead of opening a browser')
    .option('--timeout <seconds>', 'with --sso: how long to wait for the sign-in (default 300)');
}

/** The method the options name; refused (before anything is sent) when they do not go together. */
export function signingMethod(o: {
  passwordStdin?: boolean;
  sso?: boolean;
  browser?: boolean;
  timeout?: string;
}): SigningMethod {
  const usage = (m: string) => new AppError('invalid_input', m, { reason: 'usage' });
  if (!o.sso) {
    if (o.browser === false || o.timeout !== undefined)
      throw usage('--no-browser and --timeout go with --sso');
    return { passwordStdin: o.passwordStdin === true };
  }
  if (o.passwordStdin) throw usage('--sso signs without a password: no --password-stdin');
  const timeout = o.timeout ?? '300';
  if (!/^\d{1,4}$/.test(timeout) || +timeout < 1 || +timeout > 3600)
    throw usage('--timeout is a whole number of seconds from 1 to 3600');
  return { sso: { browser: o.browser !== false, timeoutMs: +timeout * 1000 } };
}

/**
 * Standard input as text, without its last line break; refused (before anything is sent) once it
 * passes `maxBytes` — 64 KiB unless a caller allows more — instead of holding whatever arrives.
 */
export async function readAll(
  input: NodeJS.ReadableStream,
  maxBytes: number = 64 * 1024,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const b = Buffer.from(chunk as Buffer);
    size += b.length;
    if (size > maxBytes)
      throw new AppError(
        'invalid_input',
        `standard input is larger than ${Math.floor(maxBytes / 1024)} KiB`,
        { reason: 'usage' },
      );
    chunks.push(b);
  }
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function password(ctx: CliContext, fromStdin: boolean | undefined): Promise<string> {
  const p = fromStdin
    ? await readAll(ctx.stdin ?? process.stdin)
    : String(
        await read({
          prompt: 'Password (to sign): ',
          silent: true,
          replace: '',
          input: ctx.stdin ?? process.stdin,
          output: ctx.promptOutput ?? process.stderr,
        }),
      );
  if (!p)
    throw new AppError('invalid_input', 'a password is required to sign', { reason: 'usage' });
  return p;
}

interface Challenge {
  id: string;
  required_factors: string[][];
  identification_required: boolean;
  satisfied_factors?: string[];
  consumed_at?: string | null;
  expires_at?: string;
}

const FACTOR_WORDS: Record<string, string> = {
  password: 'your password',
  webauthn: 'a security key',
  oidc_reauth: 'a fresh sign-in at your identity provider (--sso)',
};

/** Sign change request `id` with `meaning`: a challenge, answered with the password or with --sso. */
export async function signChangeRequest(
  ctx: CliContext,
  api: CallApi,
  id: string,
  meaning: 'approved' | 'rejected',
  how: SigningMethod,
): Promise<{ challenge_id: string }> {
  const ch = await api.call<Challenge>('POST', '/api/v1/signatures/challenges', {
    target: { type: 'change_request', id },
    meaning,
  });
  const factor = how.sso ? 'oidc_reauth' : 'password';
  if (!ch.required_factors.some((set) => set.length === 1 && set[0] === factor))
    throw new AppError(
      'rule_violation',
      `this signature needs ${ch.required_factors.map((set) => set.map((f) => FACTOR_WORDS[f] ?? f).join(' + ')).join(' or ')}${ch.required_factors.some((set) => set.includes('webauthn')) ? '; a security key signs in the dashboard' : ''}`,
      { reason: 'factors_missing' },
    );
  if (how.sso) {
    await reauthenticate(ctx, api, ch, how.sso);
    return { challenge_id: ch.id };
  }
  const secret = await password(ctx, how.passwordStdin);
  const who = ch.identification_required
    ? await api.call<{ principal: { email: string } }>('GET', '/api/v1/auth/session')
    : null;
  await api.call('POST', `/api/v1/signatures/challenges/${ch.id}/password`, {
    password: secret,
    ...(who ? { identification: who.principal.email } : {}),
  });
  return { challenge_id: ch.id };
}

/**
 * Answer `ch` by signing in again at the organization's OpenID provider: the server gives the URL
 * (bound to this challenge and its signer), the browser signs in there and returns to the server,
 * which records the factor on the challenge. This command only waits for it to be recorded.
 */
async function reauthenticate(
  ctx: CliContext,
  api: CallApi,
  ch: Challenge,
  o: { browser: boolean; timeoutMs: number },
): Promise<void> {
  const { redirect_url: url } = await api.call<{ redirect_url: string }>(
    'POST',
    `/api/v1/signatures/challenges/${ch.id}/oidc`,
    {},
  );
  ctx.io.err(
    o.browser
      ? `Opening your browser to sign in again at your identity provider. If it does not open, visit:\n  ${url}`
      : `Sign in again at your identity provider, in your browser:\n  ${url}`,
  );
  if (o.browser) {
    // Loaded only here: every other command starts without it.
    const { default: open } = await import('open');
    await open(url).catch(() => undefined);
  }
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const now = await api.call<Challenge>('GET', `/api/v1/signatures/challenges/${ch.id}`);
    if (now.satisfied_factors?.includes('oidc_reauth')) return;
    if (now.consumed_at || (now.expires_at && Date.parse(now.expires_at) <= Date.now()))
      throw new AppError('gone', 'the signature challenge expired or was used; sign again', {
        reason: 'challenge_expired',
      });
    if (Date.now() > deadline)
      throw new AppError(
        'unauthenticated',
        `no sign-in at the identity provider came back within ${Math.round(o.timeoutMs / 1000)} s; nothing was signed`,
        { reason: 'sso_timeout' },
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}
