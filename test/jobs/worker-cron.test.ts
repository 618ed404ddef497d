// graphile-worker reads a `crontab` file from the directory a worker starts in, by default, and enqueues
// whatever it schedules. Axiom schedules its own recurring work: a worker started in a directory that
// holds such a file (here one that would backfill an hour of `execute_plan` jobs at once) must ignore
// it. The worker runs in its own process so that its working directory is the one holding the file.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connectionString } from '../../src/db/bootstrap.js';
import { useTestDatabase } from '../support/db.js';
import { spawnWorkerChild } from '../support/worker.js';

const db = useTestDatabase();
let child: ChildProcess | undefined;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-worker-cron-'));

afterAll(() => {
  child?.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the worker', () => {
  it('ignores a crontab file in the directory it starts in', async () => {
    fs.writeFileSync(
      path.join(dir, 'crontab'),
      '* * * * * execute_plan ?fill=1h&id=planted {"organization_id":"x","execution_id":"y"}\n',
    );
    child = await spawnWorkerChild({
      db: connectionString(db().target('axiom_worker')),
      workerSecret: db().workerSecret,
      kekFile: inject('cluster').kekFile,
      // Never called: no job runs in this test.
      cloud: {
        endpointUrl: 'http://127.0.0.1:9',
        platformAccountId: '111111111111',
        platformCredentials: { accessKeyId: 'unused', secretAccessKey: 'unused' },
      },
      cwd: dir,
    });
    // graphile-worker registers and backfills a crontab within moments of starting; give it ample
    // time to have done so, then find no trace of it.
    await new Promise((r) => setTimeout(r, 3000));
    const su = db().superuser;
    const known = await su.query('select identifier from graphile_worker._private_known_crontabs');
    expect(known.rows).toEqual([]);
    const jobs = await su.query(
      `select id from graphile_worker.jobs where task_identifier = 'execute_plan'`,
    );
    expect(jobs.rows).toEqual([]);
  });
});
