// The CLI's HTTPS client for commands that talk to a running Axiom server (AXIOM_URL) with a bearer
// token (AXIOM_TOKEN). It trusts the system's CAs plus AXIOM_CA_FILE (by default the server's
// self-signed certificate in <data dir>/tls); verification is never turned off. The token is sent in
// the Authorization header only and never printed.
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import type { Config } from '../config/index.js';
import { ConfigError } from '../config/index.js';
import { AppError, errorCodes, type ErrorCode } from '../errors.js';

export interface ClientOptions {
  url: string;
  token: string;
  caFile?: string | undefined;
}

export class AxiomClient {
  private readonly dispatcher: Agent;

  constructor(private readonly opts: ClientOptions) {
    const ca = opts.caFile
      ? [...rootCertificates, fs.readFileSync(opts.caFile, 'utf8')]
      : undefined;
    this.dispatcher = new Agent({ connect: ca ? { ca } : {} });
  }

  static fromConfig(config: Config): AxiomClient {
    if (!config.client.token)
      throw new ConfigError(
        'this command talks to the Axiom server: set AXIOM_TOKEN to an API token (and AXIOM_URL if it is not https://localhost:8443)',
      );
    return new AxiomClient({
      url: config.client.url,
      token: config.client.token,
      caFile: config.client.caFile,
    });
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async send(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body?: unknown,
  ): Promise<Dispatcher.ResponseData> {
    const url = new URL(path, this.opts.url);
    try {
      return await request(url, {
        method,
        dispatcher: this.dispatcher,
        headers: {
          authorization: `Bearer ${this.opts.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (e) {
      throw new AppError('unavailable', `cannot reach ${this.opts.url}: ${(e as Error).message}`, {
        reason: 'server_unreachable',
        cause: e,
      });
    }
  }

  /** A JSON answer, or the server's error as an AppError. */
  async json<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    const text = await res.body.text();
    if (res.statusCode >= 400) throw errorOf(res.statusCode, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new AppError('internal', `the server answered ${path} with something other than JSON`);
    }
  }

  /** A streamed answer (an export): the body, once the status says it is not an error. */
  async stream(path: string): Promise<Readable> {
    const res = await this.send('GET', path);
    if (res.statusCode >= 400) throw errorOf(res.statusCode, await res.body.text());
    return res.body;
  }
}

function errorOf(status: number, text: string): AppError {
  let body: { code?: string; reason?: string; message?: string } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not our error shape
  }
  const code: ErrorCode =
    body.code && body.code in errorCodes
      ? (body.code as ErrorCode)
      : status === 401
        ? 'unauthenticated'
        : status === 403
          ? 'forbidden'
          : 'internal';
  return new AppError(code, body.message ?? `the server answered ${status}`, {
    ...(body.reason ? { reason: body.reason } : {}),
  });
}
