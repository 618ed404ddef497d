// A durable benchmark cluster: the embedded PostgreSQL with its default (fsync on) settings in a
// temporary directory, bootstrapped and migrated like a real installation.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Api } from '../src/db/api.js';
import { bootstrapCluster, connectionString, type ConnectionTarget } from '../src/db/bootstrap.js';
import { startEmbedded } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { loadOrCreateSecrets, type InstallationSecrets } from '../src/db/secrets.js';

export interface BenchCluster {
  secrets: InstallationSecrets;
  target(role: 'superuser' | 'axiom_user' | 'axiom_owner'): ConnectionTarget;
  api: Api;
  pools: pg.Pool[];
  pool(role: 'superuser' | 'axiom_user', max: number): pg.Pool;
  stop(): Promise<void>;
}

export async function startBenchCluster(): Promise<BenchCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-bench-'));
  const secrets = loadOrCreateSecrets(dir);
  const server = await startEmbedded({
    dataDir: dir,
    port: 0,
    superuserPassword: secrets.superuserPassword,
  });
  const base = { host: server.host, port: server.port, database: 'axiom' };
  const targets = {
    superuser: { ...base, user: 'postgres', password: secrets.superuserPassword },
    axiom_user: { ...base, user: 'axiom_user', password: secrets.userPassword },
    axiom_owner: { ...base, user: 'axiom_owner', password: secrets.ownerPassword },
  };
  await bootstrapCluster({ ...targets.superuser, database: 'postgres' }, 'axiom', secrets);
  if (process.env.BENCH_SYNC_COMMIT === 'off') {
    const c = new pg.Client({ connectionString: connectionString(targets.superuser) });
    await c.connect();
    await c.query('alter system set synchronous_commit = off');
    await c.query('select pg_reload_conf()');
    await c.end();
  }
  await migrate(targets.axiom_owner, {
    bootstrapSecret: secrets.bootstrapSecret,
    workerSecret: secrets.workerSecret,
    bcryptCost: 4,
  });
  const pools: pg.Pool[] = [];
  const pool = (role: 'superuser' | 'axiom_user', max: number): pg.Pool => {
    const p = new pg.Pool({ connectionString: connectionString(targets[role]), max });
    p.on('error', () => {});
    pools.push(p);
    return p;
  };
  const api = new Api(pool('axiom_user', 16));
  return {
    secrets,
    target: (role) => targets[role],
    api,
    pools,
    pool,
    stop: async () => {
      await Promise.all(pools.map((p) => p.end()));
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Run `op` from `clients` concurrent loops for `seconds`; returns operations per second. */
export async function throughput(
  clients: number,
  seconds: number,
  op: (client: number, i: number) => Promise<void>,
): Promise<{ rate: number; ops: number }> {
  const deadline = Date.now() + seconds * 1000;
  let ops = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let i = 0;
      while (Date.now() < deadline) {
        await op(c, i++);
        ops++;
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  return { rate: ops / elapsed, ops };
}
