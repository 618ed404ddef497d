// A small HTTPS client for CLI commands that talk to a running Axiom: the URL from --url or AXIOM_URL
// (default https://localhost:8443), the bearer token from AXIOM_TOKEN, and the server's certificate
// trusted from <data dir>/tls/cert.pem when it exists (or AXIOM_CA_FILE). Verification is never off.
import fs from 'node:fs';
import path from 'node:path';
import { Agent, request } from 'undici';
import { AppError, errorCodes, type ErrorCode } from '../errors.js';
import { findAwsCredential } from '../security/redact.js';

export interface ClientOptions {
  url: string;
  token: string;
  ca?: string | undefined;
}

export function clientOptions(
  env: Record<string, string | undefined>,
  url?: string,
): ClientOptions {
  const token = env.AXIOM_TOKEN;
  if (!token)
    throw new AppError(
      'unauthenticated',
      'set AXIOM_TOKEN to an API token (axiom demo seed prints one)',
      {
        reason: 'no_token',
      },
    );
  const caFile =
    env.AXIOM_CA_FILE ?? path.join(path.resolve(env.AXIOM_DATA_DIR ?? '.axiom'), 'tls', 'cert.pem');
  return {
    url: (url ?? env.AXIOM_URL ?? 'https://localhost:8443').replace(/\/$/, ''),
    token,
    ca: fs.existsSync(caFile) ? fs.readFileSync(caFile, 'utf8') : undefined,
  };
}

export class ApiClient {
  private readonly dispatcher: Agent;

  constructor(private readonly opts: ClientOptions) {
    this.dispatcher = new Agent({ connect: opts.ca ? { ca: opts.ca } : {} });
  }

  async call<T>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    route: string,
    body?: unknown,
  ): Promise<T> {
    // Axiom never accepts AWS access keys: refused here before anything is sent.
    const found = findAwsCredential(body);
    if (found)
      throw new AppError(
        'invalid_input',
        `Axiom never accepts AWS access keys; the request contained ${found}`,
        {
          reason: 'credentials_refused',
        },
      );
    const res = await request(`${this.opts.url}${route}`, {
      method,
      dispatcher: this.dispatcher,
      headers: {
        authorization: `Bearer ${this.opts.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }).catch((e: unknown) => {
      throw new AppError(
        'unavailable',
        `cannot reach Axiom at ${this.opts.url}: ${(e as Error).message}`,
        {
          reason: 'unreachable',
        },
      );
    });
    const text = await res.body.text();
    const parsed = text ? (JSON.parse(text) as unknown) : {};
    if (res.statusCode >= 400) {
      const e = parsed as { code?: string; reason?: string; message?: string };
      const code = (e.code && e.code in errorCodes ? e.code : 'internal') as ErrorCode;
      throw new AppError(code, e.message ?? `HTTP ${res.statusCode}`, {
        ...(e.reason ? { reason: e.reason } : {}),
      });
    }
    return parsed as T;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
