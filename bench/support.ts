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
  /** CPU seconds used so far by the server: the postmaster and all its children (Linux; 0 elsewhere). */
  serverCpuSeconds(): number;
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
    serverCpuSeconds: () => serverCpuSeconds(path.join(dir, 'pg', 'postmaster.pid')),
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

/** utime + stime of a process and of its children that are still running, from /proc (Linux). */
function serverCpuSeconds(pidFile: string): number {
  if (!fs.existsSync('/proc/self/stat')) return 0;
  const postmaster = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  const ticks = 100; // USER_HZ on Linux
  let total = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the command name (which may contain spaces): state ppid ... utime(12) stime(13).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(entry) === postmaster || Number(f[1]) === postmaster)
      total += (Number(f[11]) + Number(f[12])) / ticks;
  }
  return total;
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

export interface Workload {
  name: string;
  op: (client: number, i: number) => Promise<void>;
}

export interface Measured {
  name: string;
  ops: number;
  seconds: number;
  rate: number;
  /** Server CPU (every PostgreSQL process of the cluster) per operation, in microseconds. */
  serverCpuUs: number;
}

/**
 * Run the workloads in turns of `slice` seconds each (A, B, C, A, B, C, ...) until each has run for
 * `seconds`: a baseline and the workloads compared with it see the same machine, even when other
 * work on a shared machine comes and goes during the run.
 */
export async function interleaved(
  b: BenchCluster,
  clients: number,
  seconds: number,
  slice: number,
  workloads: Workload[],
): Promise<Measured[]> {
  const out = workloads.map((w) => ({ name: w.name, ops: 0, seconds: 0, cpu: 0 }));
  const rounds = Math.max(1, Math.round(seconds / slice));
  // Each client of each workload numbers its operations across all turns (unique keys stay unique).
  const next = workloads.map(() => new Array<number>(clients).fill(0));
  for (let r = 0; r < rounds; r++) {
    for (const [k, w] of workloads.entries()) {
      const cpu0 = b.serverCpuSeconds();
      const t0 = process.hrtime.bigint();
      const res = await throughput(clients, slice, (c) => w.op(c, next[k]![c]!++));
      out[k]!.seconds += Number(process.hrtime.bigint() - t0) / 1e9;
      out[k]!.ops += res.ops;
      out[k]!.cpu += b.serverCpuSeconds() - cpu0;
    }
  }
  return out.map((o) => ({
    name: o.name,
    ops: o.ops,
    seconds: o.seconds,
    rate: o.ops / o.seconds,
    serverCpuUs: o.ops ? (o.cpu * 1e6) / o.ops : 0,
  }));
}
