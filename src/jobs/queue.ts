// The job queue (graphile-worker, PostgreSQL): scans and per-connection schedules are jobs. The queue
// lives in the graphile_worker schema, owned by axiom_worker; both the web process (to enqueue) and
// the workers connect to it as axiom_worker, which can execute api.* and holds no privilege on core,
// audit or internal. Payloads carry identifiers only; workers validate them before doing anything.
import {
  Logger as GraphileLogger,
  makeWorkerUtils,
  type LogLevel,
  type WorkerUtils,
} from 'graphile-worker';
import pg from 'pg';
import { z } from 'zod';
import type { Logger } from '../logger.js';

export const TASK_SCAN = 'scan';
export const TASK_SCHEDULE = 'scan_schedule';
export const TASK_EXECUTE = 'execute_plan';

export const scanPayload = z.strictObject({ organization_id: z.uuid(), scan_id: z.uuid() });
export const schedulePayload = z.strictObject({
  organization_id: z.uuid(),
  connection_id: z.uuid(),
});
export const executePayload = z.strictObject({
  organization_id: z.uuid(),
  execution_id: z.uuid(),
});
export type ScanPayload = z.infer<typeof scanPayload>;
export type ExecutePayload = z.infer<typeof executePayload>;
export type SchedulePayload = z.infer<typeof schedulePayload>;

/** graphile-worker's log lines through Axiom's logger. */
export function graphileLogger(logger: Logger): GraphileLogger {
  const log = logger.child({ component: 'queue' });
  return new GraphileLogger(() => (level: LogLevel, message: string, meta?: unknown) => {
    const fields = { meta: meta as Record<string, unknown> | undefined };
    if (level === 'error') log.error(fields, message);
    else if (level === 'warning') log.warn(fields, message);
    else if (level === 'info') log.info(fields, message);
    else log.debug(fields, message);
  });
}

export interface Queue {
  /** Run this scan now (one job per scan: the job key is the scan id). */
  enqueueScan(p: ScanPayload): Promise<void>;
  /**
   * Run this execution (one job per execution). Retried when the worker could not store progress
   * or died: each attempt resumes from the stored progress.
   */
  enqueueExecution(p: ExecutePayload): Promise<void>;
  /** (Re)schedule a connection's next scheduled scan. */
  schedule(p: SchedulePayload, runAt: Date): Promise<void>;
  close(): Promise<void>;
}

export function queueFrom(
  utils: Pick<WorkerUtils, 'addJob'>,
  close: () => Promise<void> = async () => {},
): Queue {
  return {
    enqueueScan: async (p) => {
      await utils.addJob(TASK_SCAN, scanPayload.parse(p), {
        jobKey: `scan:${p.scan_id}`,
        maxAttempts: 1,
      });
    },
    enqueueExecution: async (p) => {
      await utils.addJob(TASK_EXECUTE, executePayload.parse(p), {
        jobKey: `execution:${p.execution_id}`,
        maxAttempts: 10,
      });
    },
    schedule: async (p, runAt) => {
      await utils.addJob(TASK_SCHEDULE, schedulePayload.parse(p), {
        jobKey: `schedule:${p.connection_id}`,
        jobKeyMode: 'replace',
        runAt,
        maxAttempts: 3,
      });
    },
    close,
  };
}

/**
 * A pool for graphile-worker that keeps its error listener for as long as it lives. A pool that
 * graphile-worker makes itself loses its listener when it is released; a connection the database ends
 * meanwhile (a restart, a terminated backend) would then be an uncaught exception.
 */
export function queuePool(connectionString: string, logger: Logger, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString, max });
  const failed = (e: Error): void => {
    logger.warn({ err: e }, 'a job queue database connection failed');
  };
  // Idle clients report through the pool, clients in use through themselves (graphile-worker checks
  // both are handled).
  pool.on('error', failed);
  pool.on('connect', (client) => client.on('error', failed));
  return pool;
}

/** A queue client for processes that only enqueue (the web server). */
export async function openQueue(connectionString: string, logger: Logger): Promise<Queue> {
  const pool = queuePool(connectionString, logger, 4);
  const utils = await makeWorkerUtils({ pgPool: pool, logger: graphileLogger(logger) }).catch(
    async (e: unknown) => {
      await pool.end();
      throw e;
    },
  );
  return queueFrom(utils, async () => {
    await utils.release();
    await pool.end();
  });
}
