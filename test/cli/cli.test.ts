// The operator commands whose flags and exit codes are promises: db migrate, demo seed, verify.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connectionString } from '../../src/db/bootstrap.js';
import { runCli } from '../support/cli.js';

const cluster = inject('cluster');
const dirs: string[] = [];
const dbs: string[] = [];

function dataDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-cli-'));
  dirs.push(d);
  // Share the suite's role passwords: the bootstrap step sets them, and other test files use them.
  fs.copyFileSync(path.join(cluster.workDir, 'secrets.json'), path.join(d, 'secrets.json'));
  fs.copyFileSync(cluster.kekFile, path.join(d, 'kek.json'));
  return d;
}

function externalEnv(): Record<string, string> {
  const name = `axiom_cli_${randomBytes(4).toString('hex')}`;
  dbs.push(name);
  return {
    AXIOM_DATA_DIR: dataDir(),
    DATABASE_URL: connectionString({
      host: cluster.host,
      port: cluster.port,
      database: name,
      user: cluster.superuser,
      password: cluster.superuserPassword,
    }),
    AXIOM_BCRYPT_COST: '4',
    AXIOM_ORG_KEY_BITS: '2048',
  };
}

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
  for (const d of dbs) await c.query(`drop database if exists ${d} with (force)`);
  await c.end();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('axiom db migrate', () => {
  it('bootstraps and migrates the embedded server, then finds nothing left to do', async () => {
    const env = {
      AXIOM_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-cli-embedded-')),
      AXIOM_BCRYPT_COST: '4',
    };
    dirs.push(env.AXIOM_DATA_DIR);
    const first = await runCli(['db', 'migrate'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^migrated to schema version \d+ \(\d+ applied\)/);
    const second = await runCli(['db', 'migrate', '--json'], env);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({
      applied: [],
      embedded: true,
      database: 'axiom',
    });
    expect(fs.statSync(path.join(env.AXIOM_DATA_DIR, 'secrets.json')).mode & 0o077).toBe(0);
    // The embedded server was stopped: no runtime file left behind.
    expect(fs.existsSync(path.join(env.AXIOM_DATA_DIR, 'runtime.json'))).toBe(false);
  });

  it('uses an external PostgreSQL given by DATABASE_URL', async () => {
    const env = externalEnv();
    const r = await runCli(['db', 'migrate', '--json'], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ embedded: false });
  });

  it('exits 2 on a bad configuration or an unreachable database', async () => {
    expect((await runCli(['db', 'migrate'], { DATABASE_URL: 'mysql://nope' })).code).toBe(2);
    // With --json, the configuration error is one JSON object on stderr.
    const json = await runCli(['db', 'migrate', '--json'], { DATABASE_URL: 'mysql://nope' });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr.trim().split('\n').at(-1)!)).toMatchObject({
      error: {
        code: 'invalid_input',
        reason: 'configuration',
        message: expect.stringMatching(/DATABASE_URL/),
      },
    });
    const r = await runCli(['db', 'migrate'], {
      AXIOM_DATA_DIR: dataDir(),
      DATABASE_URL: 'postgres://x:y@127.0.0.1:1/axiom',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error/);
  });
});

describe('axiom demo seed', () => {
  it('prints the admin sign-in and a last line AXIOM_TOKEN=…, or one JSON object with --json', async () => {
    const env = externalEnv();
    const text = await runCli(['demo', 'seed'], env);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^AXIOM_TOKEN=axt_[A-Za-z0-9_-]{43}$/);
    expect(text.stdout).toMatch(/sign in as: admin@demo\.example\.com/);
    expect(text.stdout).toMatch(/password: {3}\S{12,}/);

    const json = await runCli(['demo', 'seed', '--json'], env);
    expect(json.code).toBe(0);
    const seed = JSON.parse(json.stdout) as Record<string, unknown> & {
      facility_ids: string[];
      organization_slug: string;
    };
    expect(seed).toMatchObject({
      organization_id: expect.any(String),
      token: expect.stringMatching(/^axt_/),
    });
    expect(seed.facility_ids).toHaveLength(2);
    expect(seed.organization_slug).toBe('demo-2'); // the first run took "demo"
  });
});

describe('axiom verify', () => {
  it('exits 0 when intact, 1 naming the first broken record, 2 on any other error', async () => {
    const env = externalEnv();
    expect((await runCli(['demo', 'seed', '--json'], env)).code).toBe(0);
    const ok = await runCli(['verify'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^intact: \d+ records in \d+ chains verified/);

    // A superuser rewrites one policy version, triggers bypassed.
    const c = new pg.Client({ connectionString: env.DATABASE_URL });
    await c.connect();
    const target = (
      await c.query<{ record_id: string }>(
        `select record_id from core.policies order by created_at limit 1`,
      )
    ).rows[0]!.record_id;
    await c.query('begin');
    await c.query('set local session_replication_role = replica');
    await c.query(
      `update core.policies set change_reason = change_reason || '!' where record_id = $1`,
      [target],
    );
    await c.query('commit');
    await c.end();
    const broken = await runCli(['verify'], env);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain(`core.policies record_id ${target}`);

    const error = await runCli(['verify'], {
      ...env,
      DATABASE_URL: env.DATABASE_URL!.replace(/:\d+\//, ':1/'),
    });
    expect(error.code).toBe(2);
  });

  it('exits 2 on an unknown command', async () => {
    expect((await runCli(['frobnicate'], { AXIOM_DATA_DIR: dataDir() })).code).toBe(2);
  });
});
