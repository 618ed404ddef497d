// graphile-worker looks up its task ids once, on its first look for jobs, and keeps the answer, a
// failure included: a worker whose first lookup failed (the database restarting as Axiom starts, a
// terminated backend) would never take a job. Axiom's worker checks its first look and starts again.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { connectionString } from '../../src/db/bootstrap.js';
import { releaseDeadWorkerLocks } from '../../src/jobs/worker.js';
import { createLogger } from '../../src/logger.js';
import { useSandbox } from '../support/cloud.js';
import { useTestDatabase } from '../support/db.js';
import { jobAttempts, quietLogger, startTestWorker, type TestWorker } from '../support/worker.js';

const db = useTestDatabase();
const sandbox = useSandbox({
  accounts: [{ seed: 'worker-first-lookup', size: 10, regions: ['us-east-1'] }],
});

describe('the worker', () => {
  it('takes jobs even when its first look for them failed', async () => {
    const su = db().superuser;
    const target = connectionString(db().target('axiom_worker'));
    // The queue's tables exist (a worker has run here before).
    await releaseDeadWorkerLocks(target, quietLogger(), { migrate: true });
    // Hold the task table so the worker's first lookup waits on it; then end that backend.
    const holder = await su.connect();
    let w: TestWorker | undefined;
    try {
      await holder.query('begin');
      await holder.query('lock table graphile_worker._private_tasks in access exclusive mode');
      const logged: string[] = [];
      const logger = () =>
        createLogger({
          level: 'warn',
          destination: new Writable({
            write: (chunk: Buffer, _e, cb) => {
              logged.push((JSON.parse(chunk.toString()) as { msg: string }).msg);
              cb();
            },
          }),
        });
      const starting = startTestWorker(db(), sandbox, { logger });
      starting.catch(() => undefined);
      let waiting: number[] = [];
      await expect
        .poll(
          async () => {
            waiting = (
              await su.query<{ pid: number }>(
                `select pid from pg_stat_activity
                  where usename = 'axiom_worker' and datname = current_database()
                    and wait_event_type = 'Lock'`,
              )
            ).rows.map((r) => r.pid);
            return waiting.length;
          },
          { timeout: 30_000, interval: 50 },
        )
        .toBeGreaterThan(0);
      await su.query('select pg_terminate_backend(pid) from unnest($1::int[]) pid', [waiting]);
      await holder.query('commit');
      w = await starting;
      expect(logged).toContain('the worker could not look for jobs; starting it again');
      const scanId = randomUUID();
      await w.queue.enqueueScan({ organization_id: randomUUID(), scan_id: scanId });
      // Taken: a scan that does not exist fails its one attempt.
      await expect
        .poll(() => jobAttempts(su, `scan:${scanId}`), { timeout: 15_000, interval: 100 })
        .toBe(1);
    } finally {
      await holder.query('rollback').catch(() => undefined);
      holder.release();
      await w?.stop();
    }
  });
});
