// `axiom start` — the first minute: one command brings up the database, the HTTPS API with the
// dashboard, the sandbox cloud and the demo organization, prints the URL and the demo sign-in, and
// stops cleanly on SIGTERM. Run as a child process, like a person at a terminal would.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connectionString } from '../../src/db/bootstrap.js';
import { projectRoot } from '../../src/paths.js';

const cluster = inject('cluster');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-start-'));
fs.copyFileSync(path.join(cluster.workDir, 'secrets.json'), path.join(dir, 'secrets.json'));
const dbName = `axiom_start_${randomBytes(4).toString('hex')}`;
const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  AXIOM_DATA_DIR: dir,
  DATABASE_URL: connectionString({
    host: cluster.host,
    port: cluster.port,
    database: dbName,
    user: cluster.superuser,
    password: cluster.superuserPassword,
  }),
  AXIOM_HTTP_PORT: '0',
  AXIOM_BCRYPT_COST: '4',
  AXIOM_ORG_KEY_BITS: '2048',
  AXIOM_DEMO_SIZE: '60',
  AXIOM_LOG_LEVEL: 'warn',
};

afterAll(async () => {
  const c = new pg.Client({
    connectionString: connectionString({
      host: cluster.host,
      port: cluster.port,
      database: 'postgres',
      user: cluster.superuser,
      password: cluster.superuserPassword,
    }),
  });
  await c.connect();
  await c.query(`drop database if exists ${dbName} with (force)`);
  await c.end();
  fs.rmSync(dir, { recursive: true, force: true });
});

function start(): {
  child: ChildProcess;
  ready: Promise<string>;
  exited: Promise<number | null>;
  stderr: () => string;
} {
  const child = spawn(process.execPath, [path.join(projectRoot, 'bin', 'axiom.js'), 'start'], {
    cwd: projectRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in time:\n${out}\n${err}`)), 90_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', () => reject(new Error(`exited before ready:\n${out}\n${err}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, ready, exited, stderr: () => err };
}

describe('axiom start', () => {
  it('prints the URL and the demo sign-in, serves the dashboard and the API, and stops on SIGTERM; a restart keeps the demo', async () => {
    const first = start();
    const out = await first.ready;
    const url = /Axiom is running at (https:\/\/localhost:\d+)/.exec(out)?.[1];
    const password = /password: +(\S+)/.exec(out)?.[1];
    expect(url).toBeDefined();
    expect(out).toMatch(/organization: +demo/);
    expect(out).toMatch(/e-mail: +admin@demo\.example\.com/);
    expect(out).toMatch(/sandbox cloud: http:\/\/127\.0\.0\.1:\d+ \(demo AWS account \d{12}\)/);
    // The demo sign-in is kept where only this user can read it.
    expect(fs.statSync(path.join(dir, 'demo.json')).mode & 0o077).toBe(0);

    // TLS verified against the certificate the server made, not disabled.
    const dispatcher = new Agent({
      connect: { ca: fs.readFileSync(path.join(dir, 'tls', 'cert.pem'), 'utf8') },
    });
    const page = await request(`${url}/`, { dispatcher });
    expect(page.statusCode).toBe(200);
    expect(await page.body.text()).toMatch(/<div id="app">/);
    const login = await request(`${url}/api/v1/auth/login`, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        organization: 'demo',
        email: 'admin@demo.example.com',
        password,
        client: 'cli',
      }),
    });
    expect(login.statusCode).toBe(200);
    const { token } = (await login.body.json()) as { token: string };
    const who = await request(`${url}/api/v1/auth/session`, {
      dispatcher,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(((await who.body.json()) as { organization: { slug: string } }).organization.slug).toBe(
      'demo',
    );

    // The first minute: the demo account is already connected, its first scan runs by itself and
    // raises findings the operator can open.
    expect(out).toMatch(/the demo account \d{12} is connected; its first scan is running/);
    const operator = /operator[^\n]*\n +e-mail: +(\S+)\n +password: +(\S+)/.exec(out);
    expect(operator?.[1]).toBe('olivia@demo.example.com');
    const opLogin = await request(`${url}/api/v1/auth/login`, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        organization: 'demo',
        email: operator![1],
        password: operator![2],
        client: 'cli',
      }),
    });
    expect(opLogin.statusCode).toBe(200);
    const bearer = {
      authorization: `Bearer ${((await opLogin.body.json()) as { token: string }).token}`,
    };
    const get = async <T>(p: string): Promise<T> => {
      const r = await request(`${url}${p}`, { dispatcher, headers: bearer });
      expect(r.statusCode, p).toBe(200);
      return (await r.body.json()) as T;
    };
    const { connections } = await get<{
      connections: Array<{ id: string; status: string; execution_roles: Record<string, boolean> }>;
    }>('/api/v1/connections');
    expect(connections).toHaveLength(1);
    expect(connections[0]!.status).toBe('active');
    expect(connections[0]!.execution_roles).toEqual({ security: true, cost: true, drift: true });
    let scan: { status: string } | undefined;
    for (let i = 0; i < 120; i++) {
      const { scans } = await get<{ scans: Array<{ status: string }> }>(
        `/api/v1/connections/${connections[0]!.id}/scans`,
      );
      scan = scans[0];
      if (scan && !['queued', 'running'].includes(scan.status)) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(scan?.status).toMatch(/^(succeeded|partial)$/);
    const counts = await get<{ active: number; total: number }>('/api/v1/findings/counts');
    expect(counts.active).toBeGreaterThan(5);
    // ... and the agent has proposed plans for the operator to sign (she did not author them).
    // Three of them: where the first finding of a check needs a fix wider than the facility's
    // blast-radius cap (2 resources), the agent passes it over for another, without a warning.
    let plans: Array<{ state: string; created_by: string; risk_tier: string }> = [];
    for (let i = 0; i < 60 && plans.length < 3; i++) {
      plans = await get<typeof plans>('/api/v1/plans?state=in_review');
      if (plans.length < 3) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(plans).toHaveLength(3);
    expect(first.stderr()).not.toMatch(/could not propose|proposed no plan/);
    const me = await get<{ principal: { id: string } }>('/api/v1/auth/session');
    for (const p of plans) {
      expect(p.created_by).not.toBe(me.principal.id);
      expect(['low', 'medium', 'high']).toContain(p.risk_tier);
    }

    // The server signs its first checkpoint of the demo organization soon after it starts (not an
    // hour later), so an export verifies against one from the first minute.
    const orgId = (
      JSON.parse(fs.readFileSync(path.join(dir, 'demo.json'), 'utf8')) as {
        organizationId: string;
      }
    ).organizationId;
    const signed = (): string[] => {
      try {
        return fs
          .readdirSync(path.join(dir, 'checkpoints', orgId))
          .filter((f) => f.endsWith('.json'));
      } catch {
        return [];
      }
    };
    for (let i = 0; i < 60 && signed().length === 0; i++)
      await new Promise((r) => setTimeout(r, 1000));
    expect(signed().length).toBeGreaterThan(0);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(143);

    // A restart reuses the database and the demo organization: the same sign-in, no second demo.
    const second = start();
    const again = await second.ready;
    expect(/password: +(\S+)/.exec(again)?.[1]).toBe(password);
    // The sandbox is regenerated on every start: the roles are made again from the External ID the
    // database holds, the same connection passes its test and a new scan starts.
    expect(again).toMatch(/the demo account \d{12} is connected; its first scan is running/);
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(130);
    await dispatcher.close();
  }, 180_000);
});
