// The CLI's HTTPS client: every command that works on an organization talks to the Axiom server's API
// (never to the database). TLS is always verified: against AXIOM_CA_FILE, else the self-signed
// certificate the server wrote to <data dir>/tls/cert.pem when it is there, else the system CAs.
// A command authenticates with AXIOM_TOKEN when it is set, else with the session `axiom login` stored
// in <data dir>/cli-session (mode 0600). Errors the server answers become AppErrors with its code and
// reason, so the CLI prints them and exits 2.
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import type { Config } from '../config/index.js';
import { AppError, errorCodes, type ErrorCode } from '../errors.js';
import { findAwsCredential } from '../security/redact.js';

export interface StoredSession {
  url: string;
  token: string;
  session_id: string;
  expires_at: string;
}

export const sessionFile = (dataDir: string): string => path.join(dataDir, 'cli-session');

export function readStoredSession(dataDir: string): StoredSession | undefined {
  let text: string;
  try {
    text = fs.readFileSync(sessionFile(dataDir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const s = JSON.parse(text) as Partial<StoredSession>;
    if (typeof s.token === 'string' && typeof s.url === 'string') return s as StoredSession;
  } catch {
    // fall through: a damaged file is as good as none
  }
  return undefined;
}

/** Write the session file atomically, readable by its owner only. */
export function storeSession(dataDir: string, s: StoredSession): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = sessionFile(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(s) + '\n', { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

export function forgetSession(dataDir: string): boolean {
  try {
    fs.unlinkSync(sessionFile(dataDir));
    return true;
  } catch {
    return false;
  }
}

/** The certificate(s) to trust, if not the system's. */
export function trustedCa(config: Pick<Config, 'dataDir' | 'cli'>): string | undefined {
  if (config.cli.caFile) {
    try {
      return fs.readFileSync(config.cli.caFile, 'utf8');
    } catch (e) {
      throw new AppError('invalid_input', `AXIOM_CA_FILE cannot be read: ${config.cli.caFile}`, {
        reason: 'ca_file',
        cause: e,
      });
    }
  }
  const selfSigned = path.join(config.dataDir, 'tls', 'cert.pem');
  return fs.existsSync(selfSigned) ? fs.readFileSync(selfSigned, 'utf8') : undefined;
}

export interface ClientOptions {
  url: string;
  ca?: string | undefined;
  token?: string | undefined;
  /** Without a token: why there is none (where the stored session was looked for), for the error. */
  noTokenBecause?: string | undefined;
}

export class AxiomClient {
  private readonly dispatcher: Agent;

  constructor(readonly opts: ClientOptions) {
    this.dispatcher = new Agent({
      connect: { ...(opts.ca ? { ca: opts.ca } : {}), rejectUnauthorized: true },
    });
  }

  /** The token this client authenticates with (throws when there is none). */
  private bearer(): string {
    if (!this.opts.token)
      throw new AppError(
        'unauthenticated',
        `not signed in: run \`axiom login\` or set AXIOM_TOKEN${this.opts.noTokenBecause ? ` (${this.opts.noTokenBecause})` : ''}`,
        { reason: 'no_session' },
      );
    return this.opts.token;
  }

  async call<T>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    route: string,
    opts: { body?: unknown; auth?: boolean } = {},
  ): Promise<T> {
    // Axiom never accepts AWS access keys: refused here, before anything is sent.
    const found = findAwsCredential(opts.body);
    if (found)
      throw new AppError(
        'invalid_input',
        `Axiom never accepts AWS access keys; the request contained ${found}. Connect with an IAM role instead`,
        { reason: 'credentials_refused' },
      );
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.auth ?? true) headers.authorization = `Bearer ${this.bearer()}`;
    let body: string | undefined;
    if (opts.body !== undefined || method !== 'GET') {
      body = JSON.stringify(opts.body ?? {});
      headers['content-type'] = 'application/json';
    }
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(new URL(route, this.opts.url), {
        method,
        headers,
        body,
        dispatcher: this.dispatcher,
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
    } catch (e) {
      throw new AppError(
        'unavailable',
        `cannot reach ${this.opts.url}: ${describeNetworkError(e)}`,
        {
          reason: 'server_unreachable',
          cause: e,
        },
      );
    }
    const text = await res.body.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return parsed as T;
    const err = parsed as { code?: string; reason?: string; message?: string } | undefined;
    const code: ErrorCode =
      err?.code && err.code in errorCodes ? (err.code as ErrorCode) : statusCode(res.statusCode);
    throw new AppError(code, err?.message ?? `the server answered ${res.statusCode}`, {
      ...(err?.reason ? { reason: err.reason } : {}),
    });
  }

  /**
   * A streamed answer (an export): the body as it arrives, once the status says it is not an error.
   * No body timeout: a long export keeps sending.
   */
  async stream(route: string): Promise<Readable> {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(new URL(route, this.opts.url), {
        method: 'GET',
        headers: { authorization: `Bearer ${this.bearer()}` },
        dispatcher: this.dispatcher,
        headersTimeout: 120_000,
        bodyTimeout: 0,
      });
    } catch (e) {
      throw new AppError(
        'unavailable',
        `cannot reach ${this.opts.url}: ${describeNetworkError(e)}`,
        {
          reason: 'server_unreachable',
          cause: e,
        },
      );
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return res.body;
    const text = await res.body.text();
    let err: { code?: string; reason?: string; message?: string } | undefined;
    try {
      err = JSON.parse(text) as typeof err;
    } catch {
      err = undefined;
    }
    const code: ErrorCode =
      err?.code && err.code in errorCodes ? (err.code as ErrorCode) : statusCode(res.statusCode);
    throw new AppError(code, err?.message ?? `the server answered ${res.statusCode}`, {
      ...(err?.reason ? { reason: err.reason } : {}),
    });
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

function statusCode(status: number): ErrorCode {
  const found = Object.entries(errorCodes).find(([, s]) => s === status);
  return (found?.[0] as ErrorCode | undefined) ?? (status >= 500 ? 'internal' : 'invalid_input');
}

function describeNetworkError(e: unknown): string {
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err.code ?? err.cause?.code;
  if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code))
    return `the server's TLS certificate is not trusted (${code}); set AXIOM_CA_FILE to its certificate`;
  return err.cause?.message ?? err.message ?? String(e);
}

export const DEFAULT_URL = 'https://localhost:8443';

/** An https origin given with --url (the same rule as AXIOM_URL). */
export function parseServerUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new AppError('invalid_input', `--url must be an https URL, not ${value}`, {
      reason: 'invalid_url',
    });
  }
  if (u.protocol !== 'https:' || (u.pathname !== '/' && u.pathname !== '') || u.search)
    throw new AppError('invalid_input', '--url must be an https origin such as https://host:8443', {
      reason: 'invalid_url',
    });
  return u.origin;
}

/**
 * The server a command talks to: --url, else AXIOM_URL, else the server of the stored session, else
 * https://localhost:8443. It authenticates with AXIOM_TOKEN if set, else with the stored session when
 * that session was made with the same server.
 */
export function clientFor(
  config: Pick<Config, 'dataDir' | 'cli'>,
  env: Record<string, string | undefined>,
  flags: { url?: string | undefined } = {},
): AxiomClient {
  const stored = readStoredSession(config.dataDir);
  const url =
    (flags.url ? parseServerUrl(flags.url) : undefined) ??
    config.cli.url ??
    stored?.url ??
    DEFAULT_URL;
  const token = env.AXIOM_TOKEN || (stored && stored.url === url ? stored.token : undefined);
  // `axiom login` keeps its session in the data directory, relative to where Axiom runs by default.
  const noTokenBecause = token
    ? undefined
    : stored
      ? `the stored session is for ${stored.url}, not ${url}`
      : `no stored session in ${sessionFile(config.dataDir)}; AXIOM_DATA_DIR says where it is kept`;
  return new AxiomClient({ url, ca: trustedCa(config), token, noTokenBecause });
}
