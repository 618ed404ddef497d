// The HTTPS server and a real graphile-worker on the sandbox cloud, for tests that go through the job
// queue (scans, executions): the server gets a queue that forwards to one opened as axiom_worker once
// the test database exists, and the worker runs as axiom_worker with the sandbox's platform identity.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { CloudDeps } from '../../src/cloud/connections.js';
import { Api, createPool } from '../../src/db/api.js';
import { connectionString } from '../../src/db/bootstrap.js';
import { openQueue, type Queue } from '../../src/jobs/queue.js';
import { startWorker, type RunningWorker } from '../../src/jobs/worker.js';
import { createLogger, type Logger } from '../../src/logger.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { cloudDeps } from './cloud.js';
import type { TestDatabase } from './db.js';
import { useTestServer, type TestServer } from './http.js';

export const quietLogger = (): Logger =>
  createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

export interface TestWorker {
  worker: RunningWorker;
  /** The worker's cloud dependencies (its api as axiom_worker), for running a job's code directly. */
  cloud: CloudDeps;
  /** The worker's own connections, as axiom_worker. */
  pool: pg.Pool;
  /** A queue opened as axiom_worker (enqueue scans and executions). */
  queue: Queue;
  stop(): Promise<void>;
}

/** A real graphile-worker as axiom_worker on the sandbox, with short waits; and a queue beside it. */
export async function startTestWorker(
  t: TestDatabase,
  sandbox: () => Sandbox,
  opts: { logger?: () => Logger; concurrency?: number; deadWorkerSweepMs?: number } = {},
): Promise<TestWorker> {
  const target = connectionString(t.target('axiom_worker'));
  const pool = createPool(target, 4);
  const deps = cloudDeps(new Api(pool), sandbox());
  const worker = await startWorker({
    connectionString: target,
    api: deps.api,
    workerSecret: t.workerSecret,
    dataKeys: deps.dataKeys,
    settings: deps.settings,
    limits: { concurrency: 8, ratePerSecond: 1000, serviceBudgetMs: 60_000 },
    logger: (opts.logger ?? quietLogger)(),
    concurrency: opts.concurrency ?? 1,
    pollIntervalMs: 100,
    executionWait: { pollMs: 5, timeoutMs: 10_000 },
    ...(opts.deadWorkerSweepMs ? { deadWorkerSweepMs: opts.deadWorkerSweepMs } : {}),
  });
  const queue = await openQueue(target, quietLogger());
  return {
    worker,
    cloud: deps,
    pool,
    queue,
    stop: async () => {
      await queue.close();
      await worker.stop();
      await pool.end();
    },
  };
}

/** How many times the job with this key has been taken (0 while it waits; the row stays if it failed). */
export async function jobAttempts(superuser: pg.Pool, key: string): Promise<number> {
  const r = await superuser.query<{ attempts: number }>(
    'select attempts from graphile_worker._private_jobs where key = $1',
    [key],
  );
  return r.rows[0]?.attempts ?? 0;
}

export interface WorkerServer {
  server: TestServer;
  worker: RunningWorker;
  /** The queue the server enqueues into (opened as axiom_worker). */
  queue: Queue;
}

/**
 * useTestServer with cloud settings from the sandbox and a worker beside it. The worker starts in a
 * beforeAll registered after the server's, and stops (with its queue and pool) after all tests.
 */
export function useWorkerServer(
  sandbox: () => Sandbox,
  opts: { logger?: () => Logger; concurrency?: number } = {},
): () => WorkerServer {
  let queue: Queue | undefined;
  // The server starts before the worker role's queue can be opened: it gets a queue that forwards.
  const forwarding: Queue = {
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
      queue: forwarding,
    },
  }));
  let running: TestWorker | undefined;
  beforeAll(async () => {
    running = await startTestWorker(server().db, sandbox, opts);
    queue = running.queue;
  }, 120_000);
  afterAll(async () => {
    await running?.stop();
  });
  return () => ({ server: server(), worker: running!.worker, queue: running!.queue });
}

/**
 * The real worker in a process of its own (test/jobs/worker-child.ts), as axiom_worker on `db`, for
 * tests that kill it or start it elsewhere (`cwd`); resolves once it is ready.
 */
export function spawnWorkerChild(opts: {
  db: string;
  workerSecret: string;
  kekFile: string;
  cloud: { endpointUrl: string; platformAccountId: string; platformCredentials: unknown };
  cwd?: string;
}): Promise<ChildProcess> {
  const child = path.join(path.dirname(fileURLToPath(import.meta.url)), '../jobs/worker-child.ts');
  const p = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), child], {
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      CHILD_WORKER_DB: opts.db,
      CHILD_WORKER_SECRET: opts.workerSecret,
      CHILD_WORKER_KEK: opts.kekFile,
      CHILD_WORKER_CLOUD: JSON.stringify(opts.cloud),
    },
  });
  return new Promise((resolve, reject) => {
    p.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(p);
    });
    p.on('exit', (code) =>
      reject(new Error(`the child worker exited (${code}) before it was ready`)),
    );
  });
}
