// The cloud API over HTTPS with the job queue and a worker (issue 5): connect, test, scan through the
// queue with live progress, read the inventory with filters and pages; AWS keys refused; a hostile
// job payload fails clearly and writes nothing; axiom_worker reads no table.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { makeWorkerUtils, type WorkerUtils } from 'graphile-worker';
import { connectionString } from '../../src/db/bootstrap.js';
import type { Queue } from '../../src/jobs/queue.js';
import { createLogger } from '../../src/logger.js';
import { createFacility, createOrg, createUser, type TestOrg } from '../support/fixtures.js';
import { customerRole, useSandbox } from '../support/cloud.js';
import { useTestServer, type HttpClient } from '../support/http.js';
import { runCli } from '../support/cli.js';
import { startTestWorker, type TestWorker } from '../support/worker.js';

const sandbox = useSandbox({ accounts: [{ seed: 'http-test', size: 25, regions: ['us-east-1'] }] });
let queue: Queue | undefined;
// The server starts before the worker role's queue can be opened: it gets a queue that forwards.
const lazyQueue: Queue = {
  enqueueScan: (p) => queue!.enqueueScan(p),
  enqueueExecution: (p) => queue!.enqueueExecution(p),
  schedule: (p, at) => queue!.schedule(p, at),
  close: async () => {},
};
const server = useTestServer({}, () => ({
  cloud: {
    settings: {
      endpointUrl: sandbox().endpoint,
      platformAccountId: sandbox().platform.accountId,
      platformCredentials: sandbox().platform.credentials,
    },
    queue: lazyQueue,
  },
}));
let testWorker: TestWorker | undefined;
let utils: WorkerUtils;
const workerLogs: string[] = [];
let org: TestOrg;
let facility: string;
let http: HttpClient;

beforeAll(async () => {
  const s = server();
  const t = s.db;
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      workerLogs.push(chunk.toString('utf8'));
      cb();
    },
  });
  testWorker = await startTestWorker(t, sandbox, {
    logger: () => createLogger({ level: 'info', destination: sink }),
    concurrency: 2,
  });
  queue = testWorker.queue;
  utils = await makeWorkerUtils({ connectionString: connectionString(t.target('axiom_worker')) });
  org = await createOrg(t);
  facility = await createFacility(t, org);
  http = s.client();
  http.bearer = org.admin.token;
});

afterAll(async () => {
  await utils?.release();
  await testWorker?.stop();
});

async function until<T>(fn: () => Promise<T>, done: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (done(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the cloud API', () => {
  let connectionId: string;
  const acct = (): string => sandbox().accounts[0]!.accountId;

  it('connects an account: 201 with the External ID and the onboarding material, never the ARN', async () => {
    const role = `arn:aws:iam::${acct()}:role/AxiomHttpScan`;
    const r = await http.post<{
      id: string;
      status: string;
      external_ids: Array<{ external_id: string }>;
      onboarding: { scanRole: { cloudFormation: string } };
    }>('/api/v1/connections', {
      facility_id: facility,
      account_id: acct(),
      role_arn: role,
      name: 'http test',
    });
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('pending');
    expect(r.body.onboarding.scanRole.cloudFormation).toContain(
      r.body.external_ids[0]!.external_id,
    );
    expect(r.text).not.toContain('AxiomHttpScan');
    connectionId = r.body.id;
    await customerRole(sandbox(), acct(), {
      name: 'AxiomHttpScan',
      externalIds: [r.body.external_ids[0]!.external_id],
    });
    const tested = await http.post<{ report: { ok: boolean }; connection: { status: string } }>(
      `/api/v1/connections/${connectionId}/test`,
    );
    expect(tested.status).toBe(200);
    expect(tested.body.report.ok).toBe(true);
    expect(tested.body.connection.status).toBe('active');
  });

  it('refuses a body carrying an AWS access key, and logs nothing of it', async () => {
    const key = 'AKIAZZZZZZZZZZZZZZZZ';
    const r = await http.post('/api/v1/connections', {
      facility_id: facility,
      account_id: acct(),
      role_arn: `arn:aws:iam::${acct()}:role/X`,
      name: key,
    });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'invalid_input', reason: 'credentials_refused' });
    const h = await http.request('GET', `/api/v1/connections`, {
      headers: { 'x-note': `secret ${key}` },
    });
    expect(h.status).toBe(400);
    expect(server().logs.join('')).not.toContain(key);
  });

  it('scans through the queue with live progress, then pages through the inventory', async () => {
    const started = await http.post<{ id: string; status: string }>(
      `/api/v1/connections/${connectionId}/scans`,
    );
    expect(started.status).toBe(202);
    const again = await http.post(`/api/v1/connections/${connectionId}/scans`);
    expect(again.status).toBe(409);
    const scan = await until(
      () =>
        http.get<{
          status: string;
          progress: { units_total?: number; units_done?: number; resources_found?: number };
        }>(`/api/v1/scans/${started.body.id}`),
      (r) => !['queued', 'running'].includes(r.body.status),
    );
    expect(scan.body.status).toBe('succeeded');
    expect(scan.body.progress.units_done).toBe(scan.body.progress.units_total);
    const total = scan.body.progress.resources_found!;
    expect(total).toBeGreaterThan(20);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: {
        status: number;
        body: { items: Array<{ arn: string }>; next_cursor: string | null };
      } = await http.get(
        `/api/v1/connections/${connectionId}/inventory?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((i) => i.arn));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen.length).toBe(total);
    expect(new Set(seen).size).toBe(total);
    const volumes = await http.get<{ items: Array<{ type: string; region: string }> }>(
      `/api/v1/connections/${connectionId}/inventory?type=AWS::EC2::Volume&region=us-east-1`,
    );
    expect(volumes.body.items.length).toBeGreaterThan(0);
    expect(volumes.body.items.every((i) => i.type === 'AWS::EC2::Volume')).toBe(true);
    const bad = await http.get(`/api/v1/connections/${connectionId}/inventory?limit=0`);
    expect(bad.status).toBe(400);
    const list = await http.get<{ scans: Array<{ id: string }> }>(
      `/api/v1/connections/${connectionId}/scans`,
    );
    expect(list.body.scans[0]!.id).toBe(started.body.id);
  });

  it('runs scheduled scans: the schedule job starts a scan as the agent and books the next one', async () => {
    const t = server().db;
    const acct = sandbox().accounts[0]!.accountId;
    const facility3 = await createFacility(t, org);
    const created = await http.post<{ id: string; external_ids: Array<{ external_id: string }> }>(
      '/api/v1/connections',
      {
        facility_id: facility3,
        account_id: acct,
        role_arn: `arn:aws:iam::${acct}:role/AxiomSchedScan`,
        schedule_hours: 24,
      },
    );
    expect(created.status).toBe(201);
    const id = created.body.id;
    const booking = async () =>
      (
        await t.superuser.query<{ run_at: Date; attempts: number }>(
          `select run_at, attempts from graphile_worker.jobs where key = $1`,
          [`schedule:${id}`],
        )
      ).rows;
    expect((await booking())[0]!.run_at.getTime()).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    await customerRole(sandbox(), acct, {
      name: 'AxiomSchedScan',
      externalIds: [created.body.external_ids[0]!.external_id],
    });
    expect(
      (await http.post<{ report: { ok: boolean } }>(`/api/v1/connections/${id}/test`)).body.report
        .ok,
    ).toBe(true);
    // Its time has come: the worker starts a scheduled scan, runs it, and books the next turn.
    await queue!.schedule({ organization_id: org.id, connection_id: id }, new Date());
    const scans = await until(
      () =>
        t.api.call<Array<{ trigger: string; status: string }>>(
          'scan_list',
          org.admin.caller,
          id,
          10,
        ),
      (list) => list.length === 1 && !['queued', 'running'].includes(list[0]!.status),
    );
    expect(scans).toMatchObject([{ trigger: 'schedule', status: 'succeeded' }]);
    const next = await until(
      booking,
      (rows) => rows.length === 1 && rows[0]!.run_at.getTime() > Date.now() + 23 * 3_600_000,
    );
    expect(next).toHaveLength(1);
  });

  it('fails a malformed or hostile job payload clearly, writing nothing', async () => {
    const t = server().db;
    const count = async (): Promise<number> =>
      (await t.superuser.query<{ n: number }>('select count(*)::int as n from core.scans')).rows[0]!
        .n;
    const before = await count();
    const bad = await utils.addJob(
      'scan',
      { organization_id: 'not-a-uuid', scan_id: 42, extra: 'x' },
      { maxAttempts: 1 },
    );
    const other = await createOrg(t);
    const hostile = await utils.addJob(
      'scan',
      { organization_id: other.id, scan_id: crypto.randomUUID() },
      { maxAttempts: 1 },
    );
    const errors = await until(
      async () =>
        (
          await t.superuser.query<{ id: string; last_error: string | null; attempts: number }>(
            'select id::text, last_error, attempts from graphile_worker.jobs where id = any($1::bigint[])',
            [[bad.id, hostile.id]],
          )
        ).rows,
      (rows) => rows.length === 2 && rows.every((r) => r.attempts >= 1 && r.last_error),
    );
    const byId = new Map(errors.map((r) => [r.id, r.last_error!]));
    expect(byId.get(String(bad.id))).toMatch(/malformed scan job payload/);
    expect(byId.get(String(hostile.id))).toMatch(/scan not found/);
    expect(await count()).toBe(before);
  });

  it('axiom_worker, like axiom_user, reads no table of core or audit', async () => {
    await expect(testWorker!.pool.query('select * from core.scans')).rejects.toThrow(
      /permission denied/,
    );
    await expect(testWorker!.pool.query('select * from audit.audit_events')).rejects.toThrow(
      /permission denied/,
    );
    await expect(testWorker!.pool.query('select * from core.connection_secrets')).rejects.toThrow(
      /permission denied/,
    );
  });
});

describe('the CLI (a real child process, over HTTPS)', () => {
  let env: Record<string, string>;
  let dir: string | undefined;
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-cli-'));
    const ca = path.join(dir, 'ca.pem');
    fs.writeFileSync(ca, server().server.tls.cert);
    env = {
      AXIOM_URL: server().server.url,
      AXIOM_TOKEN: org.admin.token,
      AXIOM_CA_FILE: ca,
      AXIOM_DATA_DIR: dir,
    };
  });

  it('adds (External ID and trust policy), tests, scans with a summary, rotates and disconnects', async () => {
    const acct = sandbox().accounts[0]!.accountId;
    // The facility by its slug (axiom facility list), as a person at a terminal knows it.
    const slug2 = `cli-site-${Date.now().toString(36)}`;
    const site2 = await createFacility(server().db, org, slug2);
    const add = await runCli(
      [
        'connection',
        'add',
        '--facility',
        slug2,
        '--account',
        acct,
        '--role-arn',
        `arn:aws:iam::${acct}:role/AxiomCliScan`,
      ],
      env,
    );
    expect(add.code, add.stderr).toBe(0);
    const id = /connection ([0-9a-f-]{36})/.exec(add.stdout)![1]!;
    const externalId = /External ID: (axm-[0-9a-f]{40})/.exec(add.stdout)![1]!;
    expect(add.stdout).toContain('"sts:ExternalId"');
    await customerRole(sandbox(), acct, { name: 'AxiomCliScan', externalIds: [externalId] });
    const ok = await runCli(['connection', 'test', id], env);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain('connection status: active');
    // A malformed --timeout is refused before a scan is queued.
    const scans = async (): Promise<number> =>
      (
        await server().db.superuser.query<{ n: number }>(
          'select count(*)::int as n from core.scans where connection_id = $1',
          [id],
        )
      ).rows[0]!.n;
    const queuedBefore = await scans();
    for (const timeout of ['abc', '0', '-5', '1.5', '99999999']) {
      const bad = await runCli(['scan', '--connection', id, '--timeout', timeout], env);
      expect({ timeout, code: bad.code }).toEqual({ timeout, code: 2 });
      expect(bad.stderr).toMatch(/--timeout is a whole number/);
    }
    expect(await scans()).toBe(queuedBefore);
    const scan = await runCli(['scan', '--connection', id], env);
    expect(scan.code, scan.stderr).toBe(0);
    expect(scan.stdout).toMatch(/scan [0-9a-f-]{36}: succeeded/);
    expect(scan.stdout).toMatch(/\d+ {2}AWS::EC2::Instance/);
    expect(scan.stdout).toMatch(/changes: \d+ added, 0 changed, 0 removed/);
    // The scan is in the connection's history; what it added and the inventory read back page by page.
    const history = await runCli(['scan', 'list', '--connection', id, '--json'], env);
    const [last] = JSON.parse(history.stdout) as Array<{
      id: string;
      status: string;
      summary: { changes: { added: number } };
    }>;
    expect(last!.status).toBe('succeeded');
    const added = await runCli(['scan', 'changes', last!.id, '--all', '--json'], env);
    const changes = JSON.parse(added.stdout) as { items: Array<{ change: string; arn: string }> };
    expect(changes.items.length).toBe(last!.summary.changes.added);
    expect(new Set(changes.items.map((c) => c.change))).toEqual(new Set(['added']));
    const firstPage = await runCli(['connection', 'inventory', id, '--limit', '2'], env);
    const [a, b, more] = firstPage.stdout.split('\n');
    expect(a).toMatch(/^arn:aws:\S+ {2}AWS::\S+ {2}(global|[a-z0-9-]+)$/);
    expect(more).toMatch(
      new RegExp(`^more: axiom connection inventory ${id} \\.\\.\\. --cursor '`),
    );
    const cursor = /--cursor '([^']+)'/.exec(more!)![1]!;
    expect(cursor).toBe(b!.split('  ')[0]);
    const nextPage = await runCli(
      ['connection', 'inventory', id, '--limit', '2', '--cursor', cursor, '--json'],
      env,
    );
    const next = JSON.parse(nextPage.stdout) as { items: Array<{ arn: string }> };
    expect(next.items[0]!.arn > cursor).toBe(true);
    const instances = await runCli(
      ['connection', 'inventory', id, '--type', 'AWS::EC2::Instance', '--all', '--json'],
      env,
    );
    const typed = JSON.parse(instances.stdout) as { items: Array<{ type: string }> };
    expect(typed.items.length).toBe(Number(/(\d+) {2}AWS::EC2::Instance/.exec(scan.stdout)![1]));
    expect(new Set(typed.items.map((r) => r.type))).toEqual(new Set(['AWS::EC2::Instance']));
    for (const bad of [
      ['--type', 'ec2'],
      ['--region', "eu-west-1' or 1=1"],
      ['--all', '--cursor', cursor],
      ['--limit', '1001'],
    ]) {
      const r = await runCli(['connection', 'inventory', id, ...bad], env);
      expect({ bad, code: r.code }).toEqual({ bad, code: 2 });
    }
    // Opting in to execution for one action class (review in configuration and in the class's domain;
    // the administrator lacks the latter here): the ARN is sealed, never printed back.
    const execArn = `arn:aws:iam::${acct}:role/AxiomExecution-security`;
    const denied = await runCli(
      ['connection', 'execution-role', 'set', id, '--class', 'security', '--role-arn', execArn],
      env,
    );
    expect(denied.code).toBe(2);
    expect(denied.stderr).toMatch(/requires review in security .*forbidden\/missing_grant/);
    const secReviewer = await createUser(server().db, org, [
      { domain: 'security', level: 'review', facility: site2 },
      { domain: 'configuration', level: 'review', facility: site2 },
    ]);
    const asReviewer = { ...env, AXIOM_TOKEN: secReviewer.token };
    const set = await runCli(
      ['connection', 'execution-role', 'set', id, '--class', 'security', '--role-arn', execArn],
      asReviewer,
    );
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(
      'execution roles (opt-in, per action class): cost no, drift no, security yes',
    );
    expect(set.stdout + set.stderr).not.toContain(execArn);
    const sealed = async (): Promise<Array<{ plain: boolean }>> =>
      (
        await server().db.superuser.query<{ plain: boolean }>(
          `select position(convert_to($2, 'UTF8') in ciphertext) > 0 as plain
             from core.connection_secrets
            where connection_id = $1 and slot = 'security' and retired_at is null`,
          [id, execArn],
        )
      ).rows;
    expect(await sealed()).toEqual([{ plain: false }]);
    for (const [bad, message] of [
      [
        ['--class', 'admin', '--role-arn', execArn],
        /argument 'admin' is invalid. Allowed choices are/,
      ],
      [['--class', 'cost', '--role-arn', 'arn:aws:iam::999999999999:role/Elsewhere'], /account/],
      [['--class', 'cost', '--role-arn', 'AKIAIOSFODNN7EXAMPLE'], /never accepts AWS access keys/],
    ] as Array<[string[], RegExp]>) {
      const r = await runCli(['connection', 'execution-role', 'set', id, ...bad], asReviewer);
      expect({ bad, code: r.code }).toEqual({ bad, code: 2 });
      expect(r.stderr).toMatch(message);
    }
    const removed = await runCli(
      ['connection', 'execution-role', 'remove', id, '--class', 'security', '--json'],
      asReviewer,
    );
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({
      execution_roles: { security: false, cost: false, drift: false },
    });
    expect(await sealed()).toEqual([]);
    const rotated = await runCli(
      ['connection', 'rotate-external-id', id, '--grace-hours', '1', '--json'],
      env,
    );
    expect(rotated.code).toBe(0);
    expect((JSON.parse(rotated.stdout) as { external_ids: unknown[] }).external_ids).toHaveLength(
      2,
    );
    const gone = await runCli(['connection', 'disconnect', id, '--reason', 'done with it'], env);
    expect(gone.code).toBe(0);
    expect(gone.stdout).toContain('disconnected');
  }, 300_000);

  it('refuses an AWS access key on the command line with exit 2, sending nothing', async () => {
    const r = await runCli(
      [
        'connection',
        'add',
        '--facility',
        facility,
        '--account',
        '123456789012',
        '--role-arn',
        'AKIAZZZZZZZZZZZZZZZZ',
      ],
      { ...env, AXIOM_URL: 'https://127.0.0.1:9' },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('never accepts AWS access keys');
  }, 120_000);
});
