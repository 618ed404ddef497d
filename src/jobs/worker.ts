// The worker process: graphile-worker running the scan and schedule tasks with the agent's service
// session (opened per job with the installation worker secret). `axiom start` runs it beside the
// HTTPS server (startWorker), `axiom worker` alone.
import { EventEmitter } from 'node:events';
import {
  makeWorkerUtils,
  run,
  type JobHelpers,
  type Runner,
  type Task,
  type WorkerEvents,
} from 'graphile-worker';
import pg from 'pg';
import type { Config } from '../config/index.js';
import type { Api } from '../db/api.js';
import type { OpenDatabase } from '../db/database.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CloudSettings } from '../cloud/aws.js';
import { runScan, type ScanLimits } from '../cloud/scanner.js';
import { runExecution } from '../execution/job.js';
import { autopilot } from '../plans/autopilot.js';
import type { WaitOptions } from '../execution/wait.js';
import type { DataKeys } from '../security/datakeys.js';
import {
  TASK_EXECUTE,
  TASK_SCAN,
  TASK_SCHEDULE,
  executePayload,
  graphileLogger,
  queueFrom,
  queuePool,
  scanPayload,
  schedulePayload,
  type Queue,
} from './queue.js';

export interface WorkerDeps {
  /** axiom_worker's connection string: the queue schema, and api.* calls. */
  connectionString: string;
  /** An Api on an axiom_worker pool. */
  api: Api;
  workerSecret: string;
  dataKeys: DataKeys;
  settings: CloudSettings;
  limits: ScanLimits;
  logger: Logger;
  concurrency: number;
  pollIntervalMs?: number;
  /** Polling of AWS waits in executions (tests shorten it). */
  executionWait?: Partial<WaitOptions>;
  /** How often a running worker looks for jobs of dead workers to release (default one minute). */
  deadWorkerSweepMs?: number;
}

export interface RunningWorker {
  runner: Runner;
  /** The ids this process's worker pool locks jobs with (held alive by advisory locks). */
  lockIds(): string[];
  stop(): Promise<void>;
}

function parse<T>(
  schema: {
    safeParse(
      v: unknown,
    ): { success: true; data: T } | { success: false; error: { message: string } };
  },
  payload: unknown,
  task: string,
): T {
  const r = schema.safeParse(payload);
  if (!r.success) {
    // The job fails with a clear message; nothing has been read or written.
    throw new Error(`malformed ${task} job payload: ${r.error.message.slice(0, 500)}`);
  }
  return r.data;
}

async function agentFor(deps: WorkerDeps, organizationId: string) {
  const s = await deps.api.raw<{ token: string }>('agent_session_open', [
    deps.workerSecret,
    organizationId,
  ]);
  return { token: s.token };
}

export function tasks(
  deps: WorkerDeps,
  queueOf: (helpers: JobHelpers) => Queue,
): Record<string, Task> {
  return {
    [TASK_SCAN]: async (payload, helpers) => {
      const p = parse(scanPayload, payload, TASK_SCAN);
      const agent = await agentFor(deps, p.organization_id);
      const log = deps.logger.child({ job: helpers.job.id, task: TASK_SCAN });
      const outcome = await runScan({ ...deps, logger: log }, agent, p.organization_id, p.scan_id);
      log.info(
        { scanId: p.scan_id, status: outcome.status, resources: outcome.resources },
        'scan job done',
      );
      // At auto_apply, the agent starts the low-risk fixes it has earned (the database decides).
      const queue = queueOf(helpers);
      const auto = await autopilot({ api: deps.api, logger: log }, agent, p.scan_id, (id) =>
        queue.enqueueExecution({ organization_id: p.organization_id, execution_id: id }),
      ).catch((e: unknown) => {
        log.warn({ err: e }, 'auto-apply after the scan failed');
        return { proposed: [], started: [] };
      });
      if (auto.proposed.length > 0) log.info(auto, 'auto-apply after the scan');
    },
    [TASK_EXECUTE]: async (payload, helpers) => {
      const p = parse(executePayload, payload, TASK_EXECUTE);
      const agent = await agentFor(deps, p.organization_id);
      const log = deps.logger.child({ job: helpers.job.id, task: TASK_EXECUTE });
      const outcome = await runExecution(
        { ...deps, logger: log, ...(deps.executionWait ? { wait: deps.executionWait } : {}) },
        agent,
        p.organization_id,
        p.execution_id,
      );
      log.info({ executionId: p.execution_id, status: outcome.status }, 'execution job done');
    },
    [TASK_SCHEDULE]: async (payload, helpers) => {
      const p = parse(schedulePayload, payload, TASK_SCHEDULE);
      const agent = await agentFor(deps, p.organization_id);
      const log = deps.logger.child({ job: helpers.job.id, task: TASK_SCHEDULE });
      const conn = await deps.api.call<{ status: string; schedule_hours: number | null }>(
        'connection_get',
        agent,
        p.connection_id,
      );
      if (conn.status === 'disconnected' || !conn.schedule_hours) {
        log.info({ connectionId: p.connection_id }, 'schedule ended');
        return;
      }
      const queue = queueOf(helpers);
      try {
        const scan = await deps.api.call<{ id: string }>(
          'scan_start',
          agent,
          p.connection_id,
          'schedule',
        );
        await queue.enqueueScan({ organization_id: p.organization_id, scan_id: scan.id });
      } catch (e) {
        // A scan in progress, or a connection that is not active: skip this turn, keep the schedule.
        if (!(e instanceof AppError && (e.code === 'conflict' || e.code === 'forbidden'))) throw e;
        log.info({ connectionId: p.connection_id, reason: e.reason }, 'scheduled scan skipped');
      }
      await queue.schedule(p, new Date(Date.now() + conn.schedule_hours * 3_600_000));
    },
  };
}

// A worker's liveness, visible to every other worker: for each id it locks jobs with (its pool's and
// its workers'), it holds a session advisory lock on a connection of its own for as long as it lives.
// A lock id whose advisory lock can be taken belongs to a worker whose connection is gone: dead.
const LIVENESS_CLASS = 424_242;
const livenessKey = 'select $1::int as k1, hashtext($2) as k2';

const takeLock = async (client: pg.Client, id: string): Promise<void> => {
  await client.query(`select pg_advisory_lock(k.k1, k.k2) from (${livenessKey}) k`, [
    LIVENESS_CLASS,
    id,
  ]);
};

/**
 * A worker's liveness locks, on a connection of their own. When the database ends that connection (a
 * restart, a terminated backend) the locks go with it and peers would take this worker for dead and
 * release the jobs it runs: it connects again and takes every lock again, retrying each second until
 * it has them or the worker stops. Steps run one after the other.
 */
class Liveness {
  private client: pg.Client | undefined;
  private readonly ids: string[] = [];
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly connectionString: string,
    private readonly logger: Logger,
    private readonly retryMs = 1000,
  ) {}

  async start(): Promise<void> {
    this.client = await this.connect();
  }

  /** Hold the lock of `id` for as long as this worker lives. */
  hold(id: string): void {
    this.ids.push(id);
    this.after(async () => {
      if (this.client) await takeLock(this.client, id);
    });
  }

  lockIds(): string[] {
    return [...this.ids];
  }

  /** Once every step asked for so far is done. */
  settled(): Promise<void> {
    return this.chain;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.chain;
    await this.client?.end();
    this.client = undefined;
  }

  private after(step: () => Promise<void>): void {
    this.chain = this.chain
      .then(step)
      .catch((e: unknown) => this.logger.warn({ err: e }, 'could not hold the liveness locks'));
  }

  private async connect(): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: this.connectionString });
    // Logged, not thrown: an uncaught exception would end the process.
    c.on('error', (e) => {
      this.logger.warn({ err: e }, 'the worker liveness connection failed');
      if (this.client !== c) return;
      this.client = undefined;
      this.after(() => this.reconnect());
    });
    await c.connect();
    return c;
  }

  private async reconnect(): Promise<void> {
    while (!this.stopped) {
      let c: pg.Client | undefined;
      try {
        c = await this.connect();
        for (const id of this.ids) await takeLock(c, id);
        if (this.stopped) {
          await c.end();
          return;
        }
        this.client = c;
        this.logger.warn({ locks: this.ids.length }, 'the worker liveness locks are held again');
        return;
      } catch (e) {
        this.logger.warn({ err: e }, 'could not take the liveness locks again; retrying');
        await c?.end().catch(() => undefined);
        await new Promise((r) => setTimeout(r, this.retryMs));
      }
    }
  }
}

/** How many times a worker is started before its start fails (see runLooking). */
const START_ATTEMPTS = 5;

/**
 * graphile-worker (0.18.0) looks its task ids up on a runner's first look for jobs and keeps the
 * result for the runner's life, a failure included: a runner whose first lookup failed (the database
 * restarting as Axiom starts, its backend terminated) fails every later look and never takes a job.
 * So a start is done only once a first look has succeeded; a runner whose first look failed is stopped
 * and started again (a new runner looks the ids up again), up to START_ATTEMPTS times, a second apart.
 */
async function runLooking(
  logger: Logger,
  events: WorkerEvents,
  start: () => Promise<Runner>,
): Promise<Runner> {
  for (let attempt = 1; ; attempt++) {
    const looked = firstLook(events);
    const runner = await start();
    const look = await looked;
    if (look.ok) return runner;
    await runner.stop();
    if (attempt === START_ATTEMPTS) throw look.error;
    logger.warn(
      { err: look.error, attempt },
      'the worker could not look for jobs; starting it again',
    );
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The outcome of the first look for jobs to end. */
function firstLook(events: WorkerEvents): Promise<{ ok: true } | { ok: false; error: unknown }> {
  return new Promise((resolve) => {
    const done = (look: { ok: true } | { ok: false; error: unknown }): void => {
      events.off('worker:getJob:empty', found);
      events.off('job:start', found);
      events.off('worker:getJob:error', failed);
      resolve(look);
    };
    const found = (): void => done({ ok: true });
    const failed = ({ error }: { error: unknown }): void => done({ ok: false, error });
    events.on('worker:getJob:empty', found);
    events.on('job:start', found);
    events.on('worker:getJob:error', failed);
  });
}

export async function startWorker(deps: WorkerDeps): Promise<RunningWorker> {
  // Jobs a dead worker left locked are released first (graphile-worker would wait four hours).
  await releaseDeadWorkerLocks(deps.connectionString, deps.logger, { migrate: true });
  const liveness = new Liveness(deps.connectionString, deps.logger);
  await liveness.start();
  const pool = queuePool(deps.connectionString, deps.logger, Math.max(10, deps.concurrency + 4));
  const events = new EventEmitter() as WorkerEvents;
  events.on('pool:create', ({ workerPool }) => liveness.hold(workerPool.id));
  events.on('worker:create', ({ worker }) => liveness.hold(worker.workerId));
  let runner: Runner;
  try {
    runner = await runLooking(deps.logger, events, () =>
      run({
        pgPool: pool,
        concurrency: deps.concurrency,
        noHandleSignals: true,
        pollInterval: deps.pollIntervalMs ?? 2000,
        logger: graphileLogger(deps.logger),
        events,
        taskList: tasks(deps, (helpers) => queueFrom(helpers)),
        // No cron schedule: without this graphile-worker reads a `crontab` file from whatever
        // directory Axiom was started in and enqueues what it says. Axiom schedules its own work.
        parsedCronItems: [],
      }),
    );
    await liveness.settled();
  } catch (e) {
    await liveness.stop();
    await pool.end();
    throw e;
  }
  // A peer that dies while this worker runs: its jobs are looked for every minute, not only at starts.
  let sweeping: Promise<void> | undefined;
  const sweep = setInterval(() => {
    sweeping ??= releaseDeadWorkerLocks(deps.connectionString, deps.logger)
      .then(() => undefined)
      .catch((e: unknown) => deps.logger.warn({ err: e }, 'the dead-worker sweep failed'))
      .finally(() => (sweeping = undefined));
  }, deps.deadWorkerSweepMs ?? 60_000);
  sweep.unref();
  return {
    runner,
    lockIds: () => liveness.lockIds(),
    stop: async () => {
      clearInterval(sweep);
      // A sweep under way finishes first: nothing of this worker outlives stop().
      await sweeping;
      await runner.stop();
      await liveness.stop();
      await pool.end();
    },
  };
}

/**
 * Jobs left locked by a worker that died (killed, out of memory, power loss): graphile-worker frees such a
 * lock only after four hours. A live worker holds an advisory lock per id it locks jobs with (see
 * startWorker); an id whose advisory lock can be taken is a dead worker's, and its jobs are released at
 * once, so an interrupted execution resumes from its recorded progress now (the executor never applies
 * an action twice). Live workers' jobs are left alone. Returns the dead workers' ids.
 */
export async function releaseDeadWorkerLocks(
  connectionString: string,
  logger: Logger,
  opts: { migrate?: boolean } = {},
): Promise<string[]> {
  const pool = queuePool(connectionString, logger, 2);
  const utils = await makeWorkerUtils({ pgPool: pool, logger: graphileLogger(logger) }).catch(
    async (e: unknown) => {
      await pool.end();
      throw e;
    },
  );
  try {
    // Before a worker's first run the queue schema may not exist yet; the sweeps skip this.
    if (opts.migrate) await utils.migrate();
    const dead = await utils.withPgClient(async (client) => {
      const r = await client.query<{ locked_by: string }>(
        `select distinct locked_by from graphile_worker._private_jobs where locked_by is not null`,
      );
      const out: string[] = [];
      for (const { locked_by: id } of r.rows) {
        const got = await client.query<{ free: boolean }>(
          `select pg_try_advisory_lock(k.k1, k.k2) as free from (${livenessKey}) k`,
          [LIVENESS_CLASS, id],
        );
        if (got.rows[0]?.free) {
          out.push(id);
          await client.query(`select pg_advisory_unlock(k.k1, k.k2) from (${livenessKey}) k`, [
            LIVENESS_CLASS,
            id,
          ]);
        }
      }
      return out;
    });
    if (dead.length > 0) {
      await utils.forceUnlockWorkers(dead);
      logger.warn(
        { workers: dead },
        'released the jobs of workers that stopped without finishing them',
      );
    }
    return dead;
  } finally {
    await utils.release();
    await pool.end();
  }
}

/**
 * The worker of an installation, from its configuration: an axiom_worker pool for the api calls and the
 * queue, the key ring and the cloud settings. Used by `axiom start` and `axiom worker`.
 */
export async function startInstallationWorker(opts: {
  config: Config;
  logger: Logger;
  db: Pick<OpenDatabase, 'targets' | 'secrets'>;
  /** Settings beyond the configuration (the demo's sandbox: its endpoint and platform identity). */
  settings?: Partial<CloudSettings>;
}): Promise<RunningWorker> {
  const { config, logger, db } = opts;
  const [{ cloudDeps, scanLimits }, { Api, createPool }, { connectionString }, { LocalKeyFile }] =
    await Promise.all([
      import('../cloud/index.js'),
      import('../db/api.js'),
      import('../db/bootstrap.js'),
      import('../security/kek.js'),
    ]);
  const target = connectionString(db.targets.worker);
  const pool = createPool(target, config.cloud.workerConcurrency * 2 + 2);
  const api = new Api(pool);
  const deps = cloudDeps(
    config,
    api,
    LocalKeyFile.open(config.kekFile, { create: true }),
    opts.settings,
  );
  const worker = await startWorker({
    connectionString: target,
    api,
    workerSecret: db.secrets.workerSecret,
    dataKeys: deps.dataKeys,
    settings: deps.settings,
    limits: scanLimits(config),
    logger,
    concurrency: config.cloud.workerConcurrency,
  });
  return {
    runner: worker.runner,
    lockIds: worker.lockIds,
    stop: async () => {
      await worker.stop();
      await pool.end();
    },
  };
}
