// A worker killed for real (SIGKILL, in its own process) in the middle of an execution: its job stays
// locked by the dead worker (graphile-worker would free it only after four hours). While it lived, its
// advisory liveness lock kept other workers off its job; once dead, the next worker to start releases
// it, resumes the execution from its recorded progress and finishes it without applying any action
// twice.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectionString } from '../../src/db/bootstrap.js';
import { openQueue, type Queue } from '../../src/jobs/queue.js';
import { releaseDeadWorkerLocks } from '../../src/jobs/worker.js';
import { proposePlanForFindings } from '../../src/plans/service.js';
import { useSandbox } from '../support/cloud.js';
import { useTestDatabase } from '../support/db.js';
import {
  quietLogger,
  spawnWorkerChild,
  startTestWorker,
  type TestWorker,
} from '../support/worker.js';
import {
  approvePlan,
  sandboxWorld,
  scanWorld,
  type Plan,
  type PlanWorld,
} from '../plans/support.js';

const db = useTestDatabase();
const sandbox = useSandbox({
  accounts: [
    {
      seed: 'worker-crash',
      size: 25,
      regions: ['us-east-1'],
      include: ['s3_bucket_no_public_access_block'],
    },
  ],
});
let w: PlanWorld;
let target = '';
let child: ChildProcess | undefined;
let peer: TestWorker | undefined;
let queue: Queue | undefined;

interface Execution {
  id: string;
  status: string;
  progress: { steps: Array<{ state: string }> } | null;
}

beforeAll(async () => {
  const t = db();
  w = await sandboxWorld(t, sandbox(), ['security']);
  await scanWorld(t, sandbox(), w);
  target = connectionString(t.target('axiom_worker'));
  queue = await openQueue(target, quietLogger());
}, 120_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await peer?.stop();
  await queue?.close();
});

async function execution(id: string): Promise<Execution> {
  return await db().api.call<Execution>('execution_get', w.reviewer.caller, id);
}

function startChild(): Promise<ChildProcess> {
  const sb = sandbox();
  return spawnWorkerChild({
    db: target,
    workerSecret: db().workerSecret,
    kekFile: inject('cluster').kekFile,
    cloud: {
      endpointUrl: sb.endpoint,
      platformAccountId: sb.platform.accountId,
      platformCredentials: sb.platform.credentials,
    },
  });
}

describe('a worker killed mid-execution', () => {
  it('leaves its job locked; the next worker releases it, resumes and applies nothing twice', async () => {
    const t = db();
    const sb = sandbox();
    const page = await t.api.call<{ items: Array<{ id: string }> }>(
      'finding_list',
      w.reviewer.caller,
      {
        connection_id: w.connectionId,
        check_id: 's3_bucket_no_public_access_block',
        status: 'open',
        limit: 3,
      },
    );
    expect(page.items.length).toBeGreaterThan(0);
    const plan = await proposePlanForFindings<Plan>(
      t.api,
      w.agent,
      page.items.map((f) => f.id),
    );
    await approvePlan(t, w.reviewer, plan);
    const steps = plan.content.steps.length;
    // Every PutPublicAccessBlock is answered 2.5 s late: the worker is killed while it waits.
    const fault = sb.control.injectFault({
      kind: 'latency',
      service: 's3',
      operation: 'PutPublicAccessBlock',
      latencyMs: 2500,
    });
    sb.control.clearCalls();
    child = await startChild();
    const started = await t.api.call<{ id: string }>('execution_start', w.reviewer.caller, plan.id);
    await queue!.enqueueExecution({ organization_id: w.org.id, execution_id: started.id });
    await expect
      .poll(async () => (await execution(started.id)).progress?.steps[0]?.state, {
        timeout: 30_000,
        interval: 50,
      })
      .toBe('preflighted');
    await new Promise((r) => setTimeout(r, 300));
    const lockedBy = async (): Promise<Array<string | null>> =>
      (
        await t.superuser.query<{ locked_by: string | null }>(
          `select locked_by from graphile_worker.jobs where task_identifier = 'execute_plan'`,
        )
      ).rows.map((r) => r.locked_by);
    const [childLock] = await lockedBy();
    expect(childLock).toBeTruthy();
    // While it lives, its job is left alone (it holds an advisory lock per lock id) — by a sweep, and
    // by a peer worker that starts now. The peer sweeps every 4 s: its first sweep comes after the
    // killed worker's in-flight PutPublicAccessBlock has landed (2.5 s), as an AWS call sent before a
    // crash may, so the resume finds the effect in place and does not apply it again.
    expect(await releaseDeadWorkerLocks(target, quietLogger())).toEqual([]);
    peer = await startTestWorker(t, sandbox, { deadWorkerSweepMs: 4000 });
    await new Promise((r) => setTimeout(r, 700));
    expect(await lockedBy()).toEqual([childLock]);

    child.kill('SIGKILL');
    await new Promise<void>((resolve) => child!.once('exit', () => resolve()));
    child = undefined;
    sb.control.removeFault(fault);
    // Its connection gone, its advisory lock is free: the peer's sweep releases the job and resumes
    // the execution from its recorded progress (graphile-worker alone would wait four hours).
    await expect
      .poll(async () => (await execution(started.id)).status, { timeout: 60_000, interval: 200 })
      .toBe('succeeded');
    // One PutPublicAccessBlock per bucket over both workers' lives: none applied twice.
    const puts = sb.control
      .calls({ accountId: w.accountId })
      .filter((c) => c.operation === 'PutPublicAccessBlock' && c.status < 300);
    expect(puts).toHaveLength(steps);
  });
});
