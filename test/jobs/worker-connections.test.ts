// The database ends the worker's connections (a restart, a terminated backend): the worker logs it and
// goes on with new connections; nothing becomes an uncaught exception (which would end the process:
// `axiom start` runs the worker in the same process as the HTTPS server).
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { createLogger } from '../../src/logger.js';
import { useSandbox } from '../support/cloud.js';
import { useTestDatabase } from '../support/db.js';
import { jobAttempts, startTestWorker, type TestWorker } from '../support/worker.js';

const db = useTestDatabase();
const sandbox = useSandbox({
  accounts: [{ seed: 'worker-connections', size: 10, regions: ['us-east-1'] }],
});
let w: TestWorker | undefined;

afterAll(async () => {
  await w?.stop();
});

describe('the worker', () => {
  it('survives its database connections being terminated, and runs the next job', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown): void => {
      uncaught.push(e);
    };
    process.on('uncaughtException', onUncaught);
    const logged: Array<{ level: number; msg: string }> = [];
    const logger = () =>
      createLogger({
        level: 'warn',
        destination: new Writable({
          write: (chunk: Buffer, _e, cb) => {
            logged.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
            cb();
          },
        }),
      });
    try {
      w = await startTestWorker(db(), sandbox, { logger });
      const su = db().superuser;
      const terminated = (
        await su.query<{ pid: number }>(
          `select pid from pg_stat_activity
            where usename = 'axiom_worker' and datname = current_database()`,
        )
      ).rows.map((r) => r.pid);
      expect(terminated.length).toBeGreaterThan(0);
      await su.query('select pg_terminate_backend(pid) from unnest($1::int[]) pid', [terminated]);
      // Gone on the server (each sent its client the reason before it exited).
      await expect
        .poll(
          async () =>
            (
              await su.query<{ n: number }>(
                'select count(*)::int as n from pg_stat_activity where pid = any($1)',
                [terminated],
              )
            ).rows[0]!.n,
        )
        .toBe(0);
      // It works on: a job enqueued now is taken (a scan that does not exist fails its one attempt).
      // (This test's own queue client may still hand out a connection the database ended: a query on
      // it fails, as any client's would after a restart, and the pool replaces it. Retried here.)
      const scanId = randomUUID();
      const job = { organization_id: randomUUID(), scan_id: scanId };
      for (let attempt = 1; ; attempt++) {
        try {
          await w.queue.enqueueScan(job);
          break;
        } catch (e) {
          if (attempt === 5) throw e;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      await expect
        .poll(() => jobAttempts(su, `scan:${scanId}`), { timeout: 30_000, interval: 100 })
        .toBe(1);
      expect(uncaught).toEqual([]);
      // Its liveness locks went with their connection (peers would take it for dead and release its
      // jobs): it has connected again and holds every one of them again.
      const ids = w.worker.lockIds();
      expect(ids.length).toBeGreaterThan(0);
      await expect
        .poll(
          async () =>
            (
              await su.query<{ n: number }>(
                `select count(*)::int as n from pg_locks l
                   join pg_stat_activity a on a.pid = l.pid
                  where l.locktype = 'advisory' and l.granted and l.classid = 424242
                    and l.objsubid = 2 and a.usename = 'axiom_worker'
                    and l.objid = any (select hashtext(x)::oid from unnest($1::text[]) x)`,
                [ids],
              )
            ).rows[0]!.n,
          { timeout: 15_000, interval: 100 },
        )
        .toBe(ids.length);
      // Logged as warnings, not thrown.
      await expect
        .poll(() => logged.some((l) => /connection failed/.test(l.msg)), { timeout: 15_000 })
        .toBe(true);
      await w.stop();
      w = undefined;
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
