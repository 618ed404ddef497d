// Issue 9 load benchmark: the read endpoints people hit most — the findings list (the dashboard's first
// page, 50 findings) and a change request's detail — over the real HTTPS server (TLS, helmet, cookies,
// rate limits, zod, one api.* call as axiom_user: session check, grants, RLS, the session event), driven
// by autocannon at a fixed concurrency. Target: ≥ 2,000 requests/s with p99 ≤ 50 ms on this machine.
//
// Baselines in the same run, on the same server and TLS: a route that answers without the database (the
// HTTP floor), and routes that run the same queries directly as the PostgreSQL superuser (no RLS, no
// function layer, no session check, no session event).
//
// The server, its embedded PostgreSQL and the seeding run in a child process; autocannon runs here, so
// the load generator does not share the server's event loop. CPU per request is read from /proc for the
// server's Node process and for its PostgreSQL processes separately (where the time goes).
// Run: npm run bench http   (BENCH_HTTP_CONNECTIONS, BENCH_HTTP_SECONDS, BENCH_HTTP_FINDINGS to tune;
// BENCH_HTTP_PROFILE=1 writes a V8 CPU profile of the server process during each workload to a temporary
// directory and prints the functions with the most self time)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Session } from 'node:inspector';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type pg from 'pg';
import pino from 'pino';
import { Agent, request } from 'undici';
import { createConnection } from '../src/cloud/connections.js';
import { loadConfig } from '../src/config/index.js';
import { catalogDefaults, evaluate, toSyncCandidates } from '../src/findings/engine.js';
import { effectiveConfiguration } from '../src/findings/config.js';
import { createLogger } from '../src/logger.js';
import { DataKeys } from '../src/security/datakeys.js';
import { LocalKeyFile } from '../src/security/kek.js';
import { KekRing } from '../src/security/kms.js';
import { generateOrgKeyPair, wrapOrgKey } from '../src/security/orgkeys.js';
import { startServer } from '../src/server/index.js';
import { generateInventory, NOW } from './inventory.js';
import { table, writeSection, type Row } from './report.js';
import { startBenchCluster, type BenchCluster } from './support.js';

const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 10);
const FINDINGS = Number(process.env.BENCH_HTTP_FINDINGS ?? 2000);
const CHANGE_REQUESTS = 20;
const PLANS = 20;
const PLAN_STEPS = 2;
const PAGE = 50;

// The queries of api.finding_list (first page by severity, built as json text since migration 095),
// api.plan_get and api.change_request_get, as the superuser runs them: no RLS, no function layer.
const BASELINE_FINDINGS = `select json_build_object('items', coalesce(json_agg(internal.finding_item(x)
           order by x.severity_rank desc, x.last_seen_at desc, x.id desc), '[]'),
         'next_cursor', null, 'sort', 'severity') as r
    from (select f.* from core.findings f where f.organization_id = $1
           order by f.severity_rank desc, f.last_seen_at desc, f.id desc limit $2) x`;
const BASELINE_CHANGE_REQUEST = `select internal.change_request_json(c) || jsonb_build_object('proposed_record',
           (select internal.record_json(r) from core.records r
             where r.kind = c.target_kind and r.record_id = c.proposed_record_id)) as r
    from core.change_requests c where c.organization_id = $1 and c.id = $2`;
const BASELINE_PLAN = `select internal.plan_json(h) || jsonb_build_object(
           'versions', (select jsonb_agg(jsonb_build_object('record_id', r.record_id, 'version', r.version,
                          'state', r.lifecycle_state, 'record_hash', encode(r.record_hash, 'hex'),
                          'created_at', r.created_at, 'change_request_id', r.change_request_id) order by r.version)
                          from core.records r where r.kind = 'plan' and r.id = h.id),
           'executions', coalesce((select jsonb_agg(jsonb_build_object('id', e.id, 'kind', e.kind,
                          'status', e.status, 'started_at', e.started_at, 'finished_at', e.finished_at)
                          order by e.started_at)
                          from core.executions e where e.plan_id = h.id), '[]'::jsonb)) as r
    from (select r.* from core.records r where r.kind = 'plan' and r.organization_id = $1 and r.id = $2
           order by r.version desc limit 1) h`;

interface ChildInfo {
  url: string;
  ca: string;
  slug: string;
  email: string;
  password: string;
  findings: number;
  changeRequests: string[];
  plans: string[];
  seedSeconds: number;
  probe: Row[];
  /** Connections of the server's pool (and of the baseline's). */
  poolSize: number;
}

/** The child: a durable cluster, a seeded organization, the HTTPS server with the baseline routes. */
async function serve(): Promise<void> {
  const b = await startBenchCluster();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-bench-http-'));
  try {
    await seedAndServe(b, dir);
  } finally {
    await b.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

async function seedAndServe(b: BenchCluster, dir: string): Promise<void> {
  const t0 = Date.now();
  const kek = LocalKeyFile.open(path.join(dir, 'kek.json'), { create: true });
  const slug = `bench-http-${process.pid}`;
  const adminEmail = `a@${slug}.x`;
  const email = `analyst@${slug}.x`;
  const password = 'bench-http-password-1';
  const org = await b.api.raw<{ organization_id: string }>('organization_bootstrap', [
    b.secrets.bootstrapSecret,
    {
      slug,
      name: slug,
      plan_tier: 'growth',
      admin: { email: adminEmail, display_name: 'A', password },
      key: await wrapOrgKey(kek, await generateOrgKeyPair(2048), slug),
    },
  ]);
  const admin = {
    token: (
      await b.api.raw<{ token: string }>('session_login_password', [
        slug,
        adminEmail,
        password,
        '{}',
      ])
    ).token,
  };
  const facility = (
    await b.api.call<{ id: string }>('facility_create', admin, 'prod', 'Prod', 'production')
  ).id;
  const agent = {
    token: (
      await b.api.raw<{ token: string }>('agent_session_open', [
        b.secrets.workerSecret,
        org.organization_id,
      ])
    ).token,
  };

  // Findings: what the engine raises over a generated inventory, reconciled by the agent from a scan
  // it is running, in one call as the scan job does.
  const keys = new DataKeys(b.api, new KekRing(kek));
  const conn = await createConnection(
    { api: b.api, dataKeys: keys, settings: { platformAccountId: '111111111111' } },
    admin,
    {
      facilityId: facility,
      accountId: '123456789012',
      roleArn: 'arn:aws:iam::123456789012:role/Bench',
    },
  );
  const report = await keys.seal(
    admin,
    org.organization_id,
    '{}',
    `connection:${org.organization_id}:${conn.id}:state`,
  );
  await b.api.call(
    'connection_test_result',
    admin,
    conn.id,
    true,
    { code: 'ok' },
    report.sealed,
    report.dataKeyId,
  );
  const scan = await b.api.call<{ id: string }>('scan_start', admin, conn.id, 'manual');
  await b.api.call('scan_claim', agent, scan.id);
  const candidates = toSyncCandidates(
    evaluate(generateInventory(Math.ceil(FINDINGS / 0.07), 11), {
      now: NOW,
      configuration: effectiveConfiguration(catalogDefaults()),
    }),
  ).slice(0, FINDINGS);
  const services = ['s3', 'ec2', 'rds', 'cloudtrail', 'iam', 'kms', 'cloudwatch'];
  await b.api.call('finding_sync', agent, facility, conn.id, scan.id, services, candidates);
  await b.api.call('scan_finish', agent, scan.id, 'succeeded', [], {}, [], false);

  // Change requests: policies proposed and submitted for review.
  const changeRequests: string[] = [];
  for (let i = 0; i < CHANGE_REQUESTS; i++) {
    const cr = await b.api.call<{ id: string }>(
      'record_propose',
      admin,
      'policy',
      i % 2 ? facility : null,
      null,
      `approvals-${i}`,
      { type: 'approval_rules', min: 1 + (i % 3) },
      `Approval rules ${i}`,
      'load benchmark',
    );
    await b.api.call('change_request_submit', admin, cr.id);
    changeRequests.push(cr.id);
  }

  // The person who reads: an analyst with read in every domain, organization-wide (an administrator
  // cannot grant itself anything). The initial password is replaced at the first sign-in.
  const analyst = await b.api.call<{ id: string }>(
    'principal_create',
    admin,
    email,
    'Analyst',
    'initial-bench-password-1q',
  );
  for (const domain of ['security', 'cost', 'drift', 'configuration'])
    await b.api.call('grant_create', admin, analyst.id, domain, null, 'read', 'load benchmark');
  await b.api.raw('session_login_password_change', [
    slug,
    email,
    'initial-bench-password-1q',
    password,
    '{}',
  ]);

  // Plans: remediation plans of two steps each (the blast-radius cap of a production facility), proposed by an engineer (author in security at the
  // facility) and waiting for approval, as the dashboard's plan page shows them.
  const engineerEmail = `engineer@${slug}.x`;
  const engineer = await b.api.call<{ id: string }>(
    'principal_create',
    admin,
    engineerEmail,
    'Engineer',
    'initial-bench-password-1q',
  );
  await b.api.call('grant_create', admin, engineer.id, 'security', facility, 'author', 'bench');
  await b.api.raw('session_login_password_change', [
    slug,
    engineerEmail,
    'initial-bench-password-1q',
    password,
    '{}',
  ]);
  const author = {
    token: (
      await b.api.raw<{ token: string }>('session_login_password', [
        slug,
        engineerEmail,
        password,
        '{}',
      ])
    ).token,
  };
  const plans: string[] = [];
  for (let i = 0; i < PLANS; i++) {
    const steps = Array.from({ length: PLAN_STEPS }, (_, j) => {
      const bucket = `bench-bucket-${i}-${j}`;
      return {
        actionId: 's3.put_bucket_public_access_block',
        resourceArn: `arn:aws:s3:::${bucket}`,
        region: 'us-east-1',
        params: { bucket, region: 'us-east-1' },
        approvedState: { publicAccessBlock: null },
      };
    });
    const plan = await b.api.call<{ id: string }>(
      'plan_propose',
      author,
      facility,
      {
        connection_id: conn.id,
        action_class: 'security',
        steps,
        finding_ids: [],
        blast_radius: { resources: steps.map((s) => s.resourceArn) },
        rollback_summary: steps.map(() => 'put the previous public access block back'),
      },
      `Block public access on ${PLAN_STEPS} buckets`,
      'load benchmark',
    );
    plans.push(plan.id);
  }

  // The baseline's pool is the size of the server's (AXIOM_DB_POOL_SIZE, or its default here).
  const poolEnv = process.env.AXIOM_DB_POOL_SIZE
    ? { AXIOM_DB_POOL_SIZE: process.env.AXIOM_DB_POOL_SIZE }
    : {};
  const poolSize = loadConfig({ AXIOM_DATA_DIR: dir, ...poolEnv }).dbPoolSize;
  const su = b.pool('superuser', poolSize);
  await su.query('analyze');
  const probe = await probeDatabase(
    b,
    su,
    org.organization_id,
    slug,
    email,
    password,
    changeRequests[0]!,
    plans[0]!,
  );
  const config = loadConfig({
    AXIOM_DATA_DIR: dir,
    AXIOM_HTTP_HOST: '127.0.0.1',
    AXIOM_HTTP_PORT: '0',
    // The benchmark signs in once and sends every request with that session: lift the per-session
    // limit so it measures the server, not the limiter (the limiter itself still runs on every request).
    AXIOM_RATE_LIMIT_PER_MINUTE: '1000000',
    ...poolEnv,
  });
  // Logs go to a file as a deployment's would go to its collector (pino at the default level).
  const logFile = path.join(dir, 'server.log');
  const server = await startServer({
    config,
    logger: createLogger({ level: config.logLevel, destination: pino.destination(logFile) }),
    db: {
      targets: { user: b.target('axiom_user') } as never,
      secrets: { workerSecret: b.secrets.workerSecret } as never,
    },
    kek,
    extend: (app) => {
      const orgId = org.organization_id;
      app.get('/bench/noop', async () => ({ ok: true }));
      // The same query as api.finding_list's first page by severity, by the superuser: no RLS, no
      // function, no session, no session event.
      app.get('/bench/baseline/findings', async () => {
        const r = await su.query<{ r: unknown }>(BASELINE_FINDINGS, [orgId, PAGE]);
        return r.rows[0]!.r;
      });
      app.get<{ Params: { id: string } }>('/bench/baseline/plans/:id', async (req) => {
        const r = await su.query<{ r: unknown }>(BASELINE_PLAN, [orgId, req.params.id]);
        return r.rows[0]!.r;
      });
      app.get<{ Params: { id: string } }>('/bench/baseline/change-requests/:id', async (req) => {
        const r = await su.query<{ r: unknown }>(BASELINE_CHANGE_REQUEST, [orgId, req.params.id]);
        return r.rows[0]!.r;
      });
    },
  });
  const info: ChildInfo = {
    url: server.url,
    ca: server.tls.cert,
    slug,
    email,
    password,
    findings: candidates.length,
    changeRequests,
    plans,
    seedSeconds: (Date.now() - t0) / 1000,
    probe,
    poolSize,
  };
  process.stdout.write(JSON.stringify(info) + '\n');
  // Commands from the parent: a CPU profile of this process around a workload, and quit.
  const inspector = new Session();
  inspector.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      inspector.post(method, params, (err, r) => (err ? reject(err) : resolve(r))),
    );
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (line === 'quit') break;
    if (line === 'profile-start') {
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: 200 });
      await post('Profiler.start');
    } else if (line.startsWith('profile-stop ')) {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      fs.writeFileSync(line.slice('profile-stop '.length), JSON.stringify(profile));
    }
    process.stdout.write('done\n');
  }
  inspector.disconnect();
  await server.close();
}

/**
 * Where the time goes inside PostgreSQL and in JSON: each call made serially on one connection (no HTTP),
 * median of many, before any load — the same calls as the HTTP workloads, with and without the security
 * layers, and the cheapest api call (session check + session event, nothing else).
 */
async function probeDatabase(
  b: BenchCluster,
  su: pg.Pool,
  orgId: string,
  slug: string,
  email: string,
  password: string,
  changeRequest: string,
  plan: string,
): Promise<Row[]> {
  const { token } = await b.api.raw<{ token: string }>('session_login_password', [
    slug,
    email,
    password,
    '{}',
  ]);
  const caller = JSON.stringify({ token, ip: '127.0.0.1', request_id: 'bench' });
  const user = await b.pool('axiom_user', 1).connect();
  const owner = await su.connect();
  const N = 300;
  const time = async (c: pg.PoolClient, sql: string, args: unknown[]) => {
    const ms: number[] = [];
    let text = '';
    for (let i = 0; i < N + 20; i++) {
      const t = process.hrtime.bigint();
      const r = await c.query<{ r: unknown }>(sql, args);
      if (i >= 20) ms.push(Number(process.hrtime.bigint() - t) / 1e6);
      text = JSON.stringify(r.rows[0]?.r);
    }
    ms.sort((x, y) => x - y);
    return { median: ms[Math.floor(N / 2)]!, bytes: Buffer.byteLength(text), text };
  };
  const rows: Row[] = [];
  const add = (name: string, m: { median: number; bytes: number }) =>
    rows.push({ call: name, 'median ms': m.median, 'result bytes': m.bytes });
  try {
    add('superuser: select 1 (round trip)', await time(owner, 'select 1 as r', []));
    add(
      'axiom_user: api.session_whoami (session check + session event)',
      await time(user, 'select api.session_whoami($1) as r', [caller]),
    );
    add(
      `superuser: findings page (${PAGE}) query`,
      await time(owner, BASELINE_FINDINGS, [orgId, PAGE]),
    );
    const list = await time(user, 'select api.finding_list($1, $2) as r', [
      caller,
      JSON.stringify({ limit: PAGE }),
    ]);
    add(`axiom_user: api.finding_list limit ${PAGE}`, list);
    add('superuser: plan detail query', await time(owner, BASELINE_PLAN, [orgId, plan]));
    add(
      'axiom_user: api.plan_get',
      await time(user, 'select api.plan_get($1, $2) as r', [caller, plan]),
    );
    add(
      'superuser: change request query',
      await time(owner, BASELINE_CHANGE_REQUEST, [orgId, changeRequest]),
    );
    add(
      'axiom_user: api.change_request_get',
      await time(user, 'select api.change_request_get($1, $2) as r', [caller, changeRequest]),
    );
    // The Node side of a findings page: parse what pg returns, serialize the reply.
    const ms: number[] = [];
    for (let i = 0; i < N; i++) {
      const t = process.hrtime.bigint();
      JSON.stringify(JSON.parse(list.text));
      ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    ms.sort((x, y) => x - y);
    rows.push({
      call: `Node: JSON.parse + JSON.stringify of the findings page`,
      'median ms': ms[Math.floor(N / 2)]!,
      'result bytes': list.bytes,
    });
  } finally {
    user.release();
    owner.release();
  }
  return rows;
}

/** Self time by where the code lives (a package, Node's internals, Axiom's source) and by function. */
function summarizeProfile(file: string): string {
  interface Node {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    nodes: Node[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const where = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const us = p.timeDeltas[i] ?? 0;
    total += us;
    const f = byId.get(id)!.callFrame;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f.url)?.[1];
    const place = pkg
      ? pkg
      : f.url.startsWith('node:')
        ? 'node internals'
        : f.url.includes('/src/')
          ? 'axiom src'
          : f.url
            ? 'other'
            : f.functionName || '(native)';
    where.set(place, (where.get(place) ?? 0) + us);
    const name = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    fns.set(name, (fns.get(name) ?? 0) + us);
  });
  const top = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, us]) => `  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${name}`)
      .join('\n');
  return `self time by place:\n${top(where, 12)}\nby function:\n${top(fns, 20)}\n`;
}

// CPU seconds (user + system) of a process and of its descendants, from /proc.
const TICK = 100; // USER_HZ on Linux
function procTable(): Map<number, { ppid: number; cpu: number; comm: string }> {
  const out = new Map<number, { ppid: number; cpu: number; comm: string }>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = s.lastIndexOf(')');
      const comm = s.slice(s.indexOf('(') + 1, close);
      const f = s.slice(close + 2).split(' ');
      out.set(Number(d), {
        ppid: Number(f[1]),
        cpu: (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICK,
        comm,
      });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}
function cpuOf(root: number): { node: number; postgres: number } {
  const t = procTable();
  const kids = new Map<number, number[]>();
  for (const [pid, p] of t) kids.set(p.ppid, [...(kids.get(p.ppid) ?? []), pid]);
  let postgres = 0;
  const walk = (pid: number): void => {
    for (const k of kids.get(pid) ?? []) {
      postgres += t.get(k)!.cpu;
      walk(k);
    }
  };
  walk(root);
  return { node: t.get(root)?.cpu ?? 0, postgres };
}

async function parent(): Promise<void> {
  const profileDir = path.join(os.tmpdir(), `axiom-bench-http-profiles-${process.pid}`);
  const profile = process.env.BENCH_HTTP_PROFILE === '1';
  if (profile) fs.mkdirSync(profileDir, { recursive: true });
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve'],
    { stdio: ['pipe', 'pipe', 'inherit'], env: process.env },
  );
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) throw new Error('the server process ended before it was ready');
  const info = JSON.parse(String(first.value)) as ChildInfo;
  const command = async (line: string): Promise<void> => {
    child.stdin.write(line + '\n');
    const r = await lines.next();
    if (r.done || r.value !== 'done') throw new Error(`the server process answered ${r.value}`);
  };
  process.stdout.write(
    `seeded ${info.findings} findings and ${info.changeRequests.length} change requests in ${info.seedSeconds.toFixed(1)} s; server at ${info.url}\n`,
  );
  try {
    // Sign in as a browser does; every measured request carries the session cookie.
    const dispatcher = new Agent({ connect: { ca: info.ca } });
    const login = await request(new URL('/api/v1/auth/login', info.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        organization: info.slug,
        email: info.email,
        password: info.password,
      }),
      dispatcher,
    });
    await login.body.text();
    if (login.statusCode !== 200) throw new Error(`sign-in answered ${login.statusCode}`);
    const setCookie = login.headers['set-cookie'];
    const cookie = (Array.isArray(setCookie) ? setCookie : [setCookie ?? ''])
      .map((c) => c.split(';')[0]!)
      .join('; ');
    const get = async (p: string): Promise<{ status: number; body: Record<string, unknown> }> => {
      const r = await request(new URL(p, info.url), {
        headers: { cookie },
        dispatcher,
      });
      return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
    };
    // The measured routes answer what they should before any load.
    const checks: Array<[string, (b: Record<string, unknown>) => boolean]> = [
      [`/api/v1/findings?limit=${PAGE}`, (b) => (b.items as unknown[]).length === PAGE],
      [`/bench/baseline/findings`, (b) => (b.items as unknown[]).length === PAGE],
      [`/api/v1/plans/${info.plans[0]}`, (b) => b.id === info.plans[0]],
      [`/bench/baseline/plans/${info.plans[0]}`, (b) => b.id === info.plans[0]],
      [`/api/v1/change-requests/${info.changeRequests[0]}`, (b) => b.id === info.changeRequests[0]],
      [
        `/bench/baseline/change-requests/${info.changeRequests[0]}`,
        (b) => b.id === info.changeRequests[0],
      ],
    ];
    for (const [p, ok] of checks) {
      const r = await get(p);
      if (r.status !== 200 || !ok(r.body))
        throw new Error(`${p} answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
    }
    const api = await get(`/api/v1/findings?limit=${PAGE}`);
    const base = await get(`/bench/baseline/findings`);
    const same =
      JSON.stringify((api.body.items as Array<{ id: string }>).map((f) => f.id)) ===
      JSON.stringify((base.body.items as Array<{ id: string }>).map((f) => f.id));
    if (!same) throw new Error('the baseline query does not return the api page');

    const workloads: Array<{ name: string; paths: string[]; target: string }> = [
      {
        name: 'floor: GET /bench/noop (TLS + Fastify + plugins, no database)',
        paths: ['/bench/noop'],
        target: '',
      },
      {
        name: `baseline: findings page (${PAGE}) by the superuser, no RLS, no api function`,
        paths: ['/bench/baseline/findings'],
        target: '',
      },
      {
        name: `GET /api/v1/findings?limit=${PAGE}`,
        paths: [`/api/v1/findings?limit=${PAGE}`],
        target: '≥ 2000 req/s, p99 ≤ 50 ms',
      },
      {
        name: `baseline: plan detail (${PLAN_STEPS} steps) by the superuser, no RLS, no api function`,
        paths: info.plans.map((id) => `/bench/baseline/plans/${id}`),
        target: '',
      },
      {
        name: 'GET /api/v1/plans/:id',
        paths: info.plans.map((id) => `/api/v1/plans/${id}`),
        target: '≥ 2000 req/s, p99 ≤ 50 ms',
      },
      {
        name: 'baseline: change request detail by the superuser, no RLS, no api function',
        paths: info.changeRequests.map((id) => `/bench/baseline/change-requests/${id}`),
        target: '',
      },
      {
        name: 'GET /api/v1/change-requests/:id',
        paths: info.changeRequests.map((id) => `/api/v1/change-requests/${id}`),
        target: '≥ 2000 req/s, p99 ≤ 50 ms',
      },
    ];
    const u = new URL(info.url);
    const run = async (paths: string[], seconds: number) =>
      await autocannon({
        url: `${u.protocol}//${u.host}`,
        connections: CONNECTIONS,
        duration: seconds,
        headers: { cookie },
        // autocannon does not verify the server certificate (it sets rejectUnauthorized: false); this is
        // the bench's own server on the loopback interface.
        requests: paths.map((p) => ({ method: 'GET', path: p })),
      });
    const rows: Row[] = [];
    for (const w of workloads) {
      await run(w.paths, 2); // warm-up: connections, plans, JIT
      const cpu0 = cpuOf(child.pid!);
      const r = await run(w.paths, SECONDS);
      const cpu1 = cpuOf(child.pid!);
      if (profile) {
        // Outside the measured run: profiling slows the server down.
        const file = path.join(profileDir, `${rows.length}.cpuprofile`);
        await command('profile-start');
        await run(w.paths, SECONDS);
        await command(`profile-stop ${file}`);
        process.stdout.write(`${w.name}: profile ${file}\n${summarizeProfile(file)}`);
      }
      const n = r.requests.total;
      const bad = r.non2xx + r.errors + r.timeouts;
      if (bad > 0) process.stdout.write(`${w.name}: ${bad} failed requests\n`);
      const row: Row = {
        workload: w.name,
        'req/s': Math.round(r.requests.average),
        'p50 ms': r.latency.p50,
        'p99 ms': r.latency.p99,
        failed: bad,
        'server Node CPU ms/req': ((cpu1.node - cpu0.node) * 1000) / n,
        'PostgreSQL CPU ms/req': ((cpu1.postgres - cpu0.postgres) * 1000) / n,
        target: w.target
          ? `${w.target}: ${r.requests.average >= 2000 && r.latency.p99 <= 50 ? 'met' : 'NOT met'}`
          : '',
      };
      rows.push(row);
      process.stdout.write(table([row]));
    }
    const load = os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(', ');
    writeSection(
      'http',
      'HTTPS read endpoints under load (issue 9)',
      `The real HTTPS server (\`startServer\`: TLS 1.2+, helmet, cookies, CSRF, per-session rate limit, zod) on a durable embedded PostgreSQL, with one organization holding ${info.findings} findings and ${info.changeRequests.length} submitted change requests; signed in once with a password as a browser is, every request carries that session cookie. autocannon with ${CONNECTIONS} connections (the issue names no concurrency; this is the load of a busy team's dashboards), ${SECONDS} s per workload after a 2 s warm-up, in the bench process; the server and PostgreSQL in a child process. The change request rows cycle over ${info.changeRequests.length} change requests. The baselines run on the same server, TLS and plugins, with the same queries as the api functions, but as the PostgreSQL superuser: no session check, no grant check, no RLS, no session event. Both use a pool of ${info.poolSize} database connections (AXIOM_DB_POOL_SIZE; its default on this machine).

Where the time goes, without HTTP: each call serially on one connection before the load (median of 300; client-side time, including the round trip and, for api calls, the commit of the session event):

${table(info.probe)}
CPU per request is read from /proc: the server's Node process, and its PostgreSQL processes (the api rows include the session check, the grant check and appending the session event with its hash chain).

1-minute, 5-minute and 15-minute load averages at the end of the run: ${load} (2 cores, shared with other engineers' work).

${table(rows)}
What was found and changed (load branch): before migration 090, api.finding_list sorted every visible finding to return a page (its ORDER BY was CASE expressions no index matched) and built the page's JSON with finding_json(v_rows[i]), which extracted the row from the array again for each of its ~20 fields. In a run on an AMD EPYC machine before the change (load average ≈ 9): the api findings page took 12.1 ms of PostgreSQL CPU per request against 5.7 ms for the superuser's query, and 30 ms against 5.9 ms serially; after it, the api page cost about what the superuser's query cost. The server's Node CPU per request is close to the floor's plus the JSON of the page; a CPU profile of the server (BENCH_HTTP_PROFILE=1) shows the TLS socket writes (writev, ~25–30 % of its samples), pino with its redaction (~10–15 %, two log lines per request at the default info level) and helmet's headers as the largest parts, and the server idle 20–30 % of the time waiting for PostgreSQL.

Migration 095 (2026-12-02, this Intel machine, runs minutes apart): the page was built as jsonb — each finding with jsonb_build_object, the list with jsonb_agg, the page object, then the api envelope, every level walking and re-encoding everything below it — and its rows went through an array of whole rows (array_agg, then unnest to format them); the read grants of the three finding domains took three statements. Timed piece by piece as the superuser (serial medians): the api call 3.0 ms, the same work with json text instead of jsonb 2.4 ms, without the array 2.0 ms; the three grant statements 0.36 ms. Now the page is json text formatted in one statement from the index scan, with one statement for the grants. Before 095: GET /api/v1/findings 409 req/s, p99 140 ms, 3.61 ms of PostgreSQL CPU per request (serially 3.27 ms); after, in two runs minutes later: 587 and 640 req/s, p99 99 and 88 ms, 2.16 and 2.04 ms (serially 1.79–1.99 ms). The plan detail and change request did not change with it (977 and 1,149 req/s before; 1,028–1,086 and 1,294–1,392 after). Runs on this virtual machine move by up to a third from one to the next with nothing else of ours running (the floor row: 4,800–7,900 req/s), so compare rows of the same run: the CPU columns are the steadier figures. Migration 097 (the same afternoon): the small SQL-language helpers PostgreSQL cannot inline (a subquery or an aggregate in the body) were parsed and planned again on every call — internal.valid_approvals ~130 µs a call, twice per plan detail; 095's read-grant helper ~150 µs per findings page (track_functions). In PL/pgSQL their plans are kept: plan detail 1,118 → 1,287 req/s (PostgreSQL CPU 1.28 → 0.98 ms per request), findings page 645 → 718 req/s (2.02 → 1.75 ms), runs minutes apart. The database pool (2026-12-02 evening, back on a 2 × AMD EPYC machine, where everything runs ~40% slower than on the Intel one): the server held 20 connections (and the baseline 20), so under 32 connections of load up to 20 backends ran at once on two cores. Pool sizes tried in turn, runs minutes apart (plan detail req/s and PostgreSQL CPU ms/req): 20 — 872 / 1.45, 903 / 1.40 and 925 / 1.43; 8 — 740 / 1.64 (a disturbed run: every row fell); 6 — 1,003 / 1.09, 1,027 / 1.06 and 944 / 1.14; 3 — 754 / 1.18 (too few to overlap the commits' waits for the disk). At 6 against 20 the PostgreSQL CPU per request is 20–25 % lower in every pair and the throughput 2–15 % higher; the change request row 900 → 956 req/s (1.47 → 1.09 ms). The findings page: 472–498 req/s at 20, 503–520 at 6. Fewer backends than the cores can run spend less CPU per request (contention for the chain lanes, locks and the WAL); the pool is now AXIOM_DB_POOL_SIZE, by default 3 per core (6 here, at most 20), and the baseline uses the same size.

What remains: the target (≥ 2,000 requests/s, p99 ≤ 50 ms) is not met. On two cores shared by the load generator, the server and PostgreSQL, 2,000 requests/s leaves about 1 ms of CPU per request for everything. The findings page costs about that in PostgreSQL alone even as the superuser (fifty findings formatted as ~39 KB of JSON) plus ~0.8 ms in Node (receiving, parsing and re-serializing the page, TLS), so it is bounded to several hundred requests/s with or without the security layers. The plan detail (the endpoint the issue names) costs ~1.0 ms of PostgreSQL CPU per request through the api against ~0.6 ms for the superuser's same query; of the api call's ~0.6 ms (serially, track_functions), half is the work every call does — the session check (begin_call, ~130 µs), the session event with its chain (~135 µs) and the RLS identity checks — and the rest the plan's JSON from ~10 small statements. The security layers' own cost per call — session check, grant check, and the session event every authenticated read appends (chain lock, hash, insert) with its durable commit — is ~0.4 ms of PostgreSQL CPU per request on the plan and change request rows (against their baselines); on the findings page it is ~1.1 ms, where the filters, the read grants of three domains per facility and the RLS condition of the page's statement come on top.`,
    );
  } finally {
    child.stdin.write('quit\n');
    await new Promise((r) => child.once('exit', r));
  }
}

if (process.argv.includes('--serve')) await serve();
else await parent();
