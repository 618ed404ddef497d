// The trust ladder's top rung, through the real queue: scans run by the worker's scan task; below
// auto_apply the agent proposes and starts nothing; at auto_apply, once an action type has its streak
// of approved successes, a finding a later scan opens is fixed by a plan the agent proposes and starts
// without approvals (the database decided: low risk, not production, streak reached), audited as
// auto-applied; the account really changed.
import {
  CreateBucketCommand,
  DeletePublicAccessBlockCommand,
  GetPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Queue } from '../../src/jobs/queue.js';
import { proposePlanForFindings } from '../../src/plans/service.js';
import { useSandbox } from '../support/cloud.js';
import { useTestDatabase } from '../support/db.js';
import {
  approvePlan,
  auditEvents,
  configure,
  sandboxWorld,
  type Plan,
  type PlanWorld,
} from './support.js';
import { startTestWorker, type TestWorker } from '../support/worker.js';

const db = useTestDatabase();
const sandbox = useSandbox({
  accounts: [
    {
      seed: 'autopilot',
      size: 25,
      regions: ['us-east-1'],
      include: ['s3_bucket_no_public_access_block'],
    },
  ],
});
let w: PlanWorld;
let running: TestWorker | undefined;
let queue: Queue;

interface Execution {
  id: string;
  status: string;
  auto_applied: boolean;
  plan_id: string;
}

beforeAll(async () => {
  const t = db();
  w = await sandboxWorld(t, sandbox(), ['security']);
  running = await startTestWorker(t, sandbox);
  queue = running.queue;
}, 120_000);

afterAll(async () => {
  await running?.stop();
});

async function scanThroughQueue(): Promise<string> {
  const t = db();
  const scan = await t.api.call<{ id: string }>(
    'scan_start',
    w.org.admin.caller,
    w.connectionId,
    'manual',
  );
  await queue.enqueueScan({ organization_id: w.org.id, scan_id: scan.id });
  await expect
    .poll(
      async () =>
        (await t.api.call<{ status: string }>('scan_get', w.org.admin.caller, scan.id)).status,
      { timeout: 60_000, interval: 200 },
    )
    .toBe('succeeded');
  return scan.id;
}

async function executions(): Promise<Execution[]> {
  return await db().api.call<Execution[]>('execution_list', w.reviewer.caller, null, null);
}

async function settle(id: string): Promise<Execution> {
  let e: Execution | undefined;
  await expect
    .poll(
      async () => {
        e = (await executions()).find((x) => x.id === id);
        return e?.status;
      },
      { timeout: 60_000, interval: 200 },
    )
    .toBe('succeeded');
  return e!;
}

describe('auto-apply after a scan', () => {
  it('below auto_apply, a scan proposes and starts nothing', async () => {
    await scanThroughQueue();
    // The worker's scan task has returned once the scan is finished and its job is gone.
    await expect
      .poll(async () => {
        const r = await db().superuser.query(
          `select count(*)::int as n from graphile_worker.jobs where task_identifier = 'scan'`,
        );
        return r.rows[0].n as number;
      })
      .toBe(0);
    expect(await db().api.call<unknown[]>('plan_list', w.reviewer.caller, null, null)).toEqual([]);
    expect(await executions()).toEqual([]);
  });

  it('at auto_apply, after its streak, the agent fixes a new finding without approvals', async () => {
    const t = db();
    await configure(t, w, { autonomy_tier: 'auto_apply', auto_apply_after: 1 });
    // The streak: one approved success of the action type.
    const page = await t.api.call<{ items: Array<{ id: string }> }>(
      'finding_list',
      w.reviewer.caller,
      { connection_id: w.connectionId, check_id: 's3_bucket_no_public_access_block', limit: 1 },
    );
    const plan = await proposePlanForFindings<Plan>(t.api, w.agent, [page.items[0]!.id]);
    await approvePlan(t, w.reviewer, plan);
    const first = await t.api.call<{ id: string }>('execution_start', w.reviewer.caller, plan.id);
    await queue.enqueueExecution({ organization_id: w.org.id, execution_id: first.id });
    expect((await settle(first.id)).auto_applied).toBe(false);

    // Someone creates a bucket and removes its public access block (new buckets get one, as in AWS);
    // the next scan opens its finding.
    const s3 = new S3Client({
      endpoint: sandbox().endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: sandbox().accounts[0]!.adminCredentials,
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'autopilot-new-bucket' }));
    await s3.send(new DeletePublicAccessBlockCommand({ Bucket: 'autopilot-new-bucket' }));
    await scanThroughQueue();
    let auto: Execution | undefined;
    await expect
      .poll(
        async () => {
          auto = (await executions()).find((e) => e.auto_applied);
          return auto?.status;
        },
        { timeout: 60_000, interval: 200 },
      )
      .toBe('succeeded');
    const block = await s3.send(
      new GetPublicAccessBlockCommand({ Bucket: 'autopilot-new-bucket' }),
    );
    expect(block.PublicAccessBlockConfiguration).toMatchObject({
      BlockPublicAcls: true,
      RestrictPublicBuckets: true,
    });
    s3.destroy();
    const started = await auditEvents(t, w.org.id, 'execution.started');
    expect(started.some((e) => e.details.auto_applied === true && e.details.approvals === 0)).toBe(
      true,
    );
  });
});
