// The real HTTPS server on the per-file test database, and a small client that behaves like a browser
// (a cookie jar, the CSRF header when asked) or like the CLI (a bearer token). Requests go over TLS to
// the server's self-signed certificate, trusted explicitly — nothing here disables verification.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, inject } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { LocalKeyFile } from '../../src/security/kek.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/index.js';
import { useTestDatabase, type TestDatabase } from './db.js';

export interface TestServer {
  db: TestDatabase;
  server: RunningServer;
  /** Every log line the server wrote (JSON), for tests that search logs for secrets. */
  logs: string[];
  client(): HttpClient;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: T;
}

interface Cookie {
  name: string;
  value: string;
  attributes: string;
}

export class HttpClient {
  readonly cookies = new Map<string, Cookie>();
  csrf: string | undefined;
  bearer: string | undefined;

  constructor(
    readonly base: string,
    private readonly dispatcher: Agent,
  ) {}

  async request<T = Record<string, unknown>>(
    method: string,
    url: string,
    opts: {
      json?: unknown;
      body?: string;
      headers?: Record<string, string>;
      /** Send the CSRF header (default: when one is known). */
      csrf?: boolean;
    } = {},
  ): Promise<HttpResponse<T>> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (this.cookies.size > 0)
      headers.cookie = [...this.cookies.values()].map((c) => `${c.name}=${c.value}`).join('; ');
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    if ((opts.csrf ?? true) && this.csrf) headers['x-csrf-token'] = this.csrf;
    let body: string | undefined = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] ??= 'application/json';
    }
    const res = await request(new URL(url, this.base), {
      method: method as 'GET',
      headers,
      body,
      dispatcher: this.dispatcher,
    });
    const text = await res.body.text();
    const setCookie = res.headers['set-cookie'];
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const attributes = attrs.join(';');
      const expired =
        /expires=Thu, 01 Jan 1970/i.test(attributes) || /max-age=0\b/i.test(attributes);
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, { name, value, attributes });
    }
    let parsed: unknown = undefined;
    if (String(res.headers['content-type'] ?? '').includes('application/json') && text) {
      parsed = JSON.parse(text);
      const token = (parsed as { csrf_token?: unknown }).csrf_token;
      if (typeof token === 'string') this.csrf = token;
    }
    return { status: res.statusCode, headers: res.headers, text, body: parsed as T };
  }

  get<T = Record<string, unknown>>(url: string): Promise<HttpResponse<T>> {
    return this.request<T>('GET', url);
  }

  post<T = Record<string, unknown>>(url: string, json: unknown = {}): Promise<HttpResponse<T>> {
    return this.request<T>('POST', url, { json });
  }

  /** Sign in with a password as a browser does (cookie + CSRF token). */
  async login(
    organization: string,
    email: string,
    password: string,
  ): Promise<HttpResponse<Record<string, unknown>>> {
    return await this.post('/api/v1/auth/login', { organization, email, password });
  }
}

/** beforeAll/afterAll: a test database and the HTTPS server on it. */
export function useTestServer(
  env: Record<string, string> = {},
  more: () => Pick<ServerOptions, 'cloud'> = () => ({}),
): () => TestServer {
  const db = useTestDatabase();
  let s: TestServer | undefined;
  let dir = '';
  beforeAll(async () => {
    const t = db();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-http-'));
    const logs: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logs.push(chunk.toString('utf8'));
        cb();
      },
    });
    const config = loadConfig({
      AXIOM_DATA_DIR: dir,
      AXIOM_HTTP_HOST: '127.0.0.1',
      AXIOM_HTTP_PORT: '0',
      AXIOM_LOG_LEVEL: 'info',
      AXIOM_RATE_LIMIT_PER_MINUTE: '100000',
      // The periodic audit tasks stay off (their first run would land 30 s into a test file, adding
      // checkpoints and audit events a test does not expect); tests run them directly.
      AXIOM_CHECKPOINT_INTERVAL_SECONDS: '0',
      AXIOM_RETENTION_INTERVAL_SECONDS: '0',
      ...env,
    });
    const server = await startServer({
      config,
      logger: createLogger({ level: 'info', destination: sink }),
      db: {
        targets: { user: t.target('axiom_user') } as never,
        secrets: { workerSecret: t.workerSecret } as never,
      },
      kek: LocalKeyFile.open(inject('cluster').kekFile),
      ...more(),
    });
    const dispatcher = new Agent({ connect: { ca: server.tls.cert } });
    s = {
      db: t,
      server,
      logs,
      client: () => new HttpClient(server.url, dispatcher),
    };
  });
  afterAll(async () => {
    await s?.server.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (!s) throw new Error('the test server is not ready');
    return s;
  };
}
