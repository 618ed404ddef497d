// The worker process: graphile-worker running the scan and schedule tasks with the agent's service
// session (opened per job with the installation worker secret). `axiom start` runs it beside the
// HTTPS server (startWorker), `axiom worker` alone.
import { makeWorkerUtils, run, type JobHelpers, type Runner, type Task } from 'graphile-worker';
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
}

export interface RunningWorker {
  runner: Runner;
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

export async function startWorker(deps: WorkerDeps): Promise<RunningWorker> {
  const runner = await run({
    connectionString: deps.connectionString,
    concurrency: deps.concurrency,
    noHandleSignals: true,
    pollInterval: deps.pollIntervalMs ?? 2000,
    logger: graphileLogger(deps.logger),
    taskList: tasks(deps, (helpers) => queueFrom(helpers)),
  });
  return {
    runner,
    stop: async () => {
      await runner.stop();
    },
  };
}

/**
 * Jobs left locked by a worker that died (killed, out of memory, power loss). graphile-worker frees such
 * a lock only after four hours. When this process is the only worker of the database — the embedded
 * server belongs to one Axiom process — every lock found before it starts is a dead worker's: they are
 * released at once, so an interrupted execution resumes from its recorded progress now (the executor
 * never applies an action twice). Returns the dead workers' ids.
 */
export async function releaseDeadWorkerLocks(
  connectionString: string,
  logger: Logger,
): Promise<string[]> {
  const utils = await makeWorkerUtils({ connectionString, logger: graphileLogger(logger) });
  try {
    await utils.migrate();
    const ids = await utils.withPgClient(async (client) => {
      const r = await client.query<{ locked_by: string }>(
        `select distinct locked_by from graphile_worker._private_jobs where locked_by is not null`,
      );
      return r.rows.map((x) => x.locked_by);
    });
    if (ids.length > 0) {
      await utils.forceUnlockWorkers(ids);
      logger.warn(
        { workers: ids },
        'released the jobs of workers that stopped without finishing them',
      );
    }
    return ids;
  } finally {
    await utils.release();
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
  /** This is the database's only worker (embedded server): release dead workers' locks at start. */
  soleWorker?: boolean;
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
  if (opts.soleWorker) await releaseDeadWorkerLocks(target, logger);
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
    stop: async () => {
      await worker.stop();
      await pool.end();
    },
  };
}
