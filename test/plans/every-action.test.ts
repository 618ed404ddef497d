// The whole loop for every action type a finding leads to, against the sandbox with the real SDK and
// the real database: scan → a finding of each remediable check → a plan the agent proposes → the
// approvals its risk tier needs, signed → the execute_plan job → succeeded (each action verified its
// expected state) and the finding's resource really changed in the sandbox account.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_FOR_CHECK, isExecutableAction } from '../../src/execution/catalog.js';
import { type Queue } from '../../src/jobs/queue.js';
import { proposePlanForFindings } from '../../src/plans/service.js';
import { diffStates } from '../../src/sandbox/index.js';
import { useSandbox } from '../support/cloud.js';
import { useTestDatabase } from '../support/db.js';
import {
  approvePlan,
  configure,
  sandboxWorld,
  scanWorld,
  type Plan,
  type PlanWorld,
} from './support.js';
import { startTestWorker, type TestWorker } from '../support/worker.js';

// Every check whose fix is executable.
const CHECKS = Object.entries(ACTION_FOR_CHECK)
  .filter(([, action]) => isExecutableAction(action))
  .map(([check]) => check);

const db = useTestDatabase();
const sandbox = useSandbox({
  accounts: [{ seed: 'every-action', size: 60, regions: ['us-east-1'], include: CHECKS as never }],
  delays: { snapshotMs: 0, instanceTransitionMs: 0, volumeModificationMs: 0 },
});
let w: PlanWorld;
let running: TestWorker | undefined;
let queue: Queue;

// What two fixes need from the facility's policy (without them they are manual, by design): where
// access logs go, and the values of the required tags.
const INPUTS = {
  loggingTarget: { bucket: 'axiom-access-logs', prefix: 'logs/' },
  requiredTags: Object.fromEntries(
    ['Owner', 'CostCenter', 'Environment', 'Team', 'Project', 'Application', 'Name'].map((k) => [
      k,
      `${k.toLowerCase()}-value`,
    ]),
  ),
};

interface Finding {
  id: string;
  check_id: string;
  resource_arn: string;
}

beforeAll(async () => {
  const t = db();
  w = await sandboxWorld(t, sandbox());
  await scanWorld(t, sandbox(), w);
  // The bucket access logs go to.
  const s3 = new S3Client({
    endpoint: sandbox().endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: sandbox().accounts[0]!.adminCredentials,
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'axiom-access-logs' }));
  s3.destroy();
  // Account-wide actions (the account's public access block, EBS default encryption) reach every
  // resource of their kind: this staging facility allows that blast radius.
  await configure(t, w, { blast_radius_cap: 100 });
  running = await startTestWorker(t, sandbox, { deadWorkerSweepMs: 60_000 });
  queue = running.queue;
}, 180_000);

afterAll(async () => {
  await running?.stop();
});

describe('the whole loop, for every action type', () => {
  it('plans, approves with e-signatures, executes through the job and changes the account', async () => {
    const t = db();
    const page = await t.api.call<{ items: Finding[] }>('finding_list', w.reviewer.caller, {
      connection_id: w.connectionId,
      status: 'active',
      limit: 500,
    });
    // The findings of each action type (a fix can be manual for one resource and not another: the
    // first finding whose plan can be proposed is taken).
    const byAction = new Map<string, Finding[]>();
    for (const f of page.items) {
      const action = ACTION_FOR_CHECK[f.check_id];
      if (action && isExecutableAction(action))
        byAction.set(action, [...(byAction.get(action) ?? []), f]);
    }
    const expected = new Set(CHECKS.map((c) => ACTION_FOR_CHECK[c]!));
    expect([...byAction.keys()].sort()).toEqual([...expected].sort());
    const outcomes: Record<string, string> = {};
    for (const [action, findings] of byAction) {
      const before = sandbox().control.dumpState(w.accountId);
      let plan: Plan | undefined;
      let refusal = '';
      for (const finding of findings) {
        try {
          plan = await proposePlanForFindings<Plan>(t.api, w.agent, [finding.id], {}, INPUTS);
          break;
        } catch (err) {
          refusal = (err as Error).message;
        }
      }
      if (!plan) {
        outcomes[action] = `not proposed: ${refusal}`;
        continue;
      }
      await approvePlan(t, w.reviewer, plan);
      if (plan.required_approvals > 1) await approvePlan(t, w.reviewer2, plan);
      const e = await t.api.call<{ id: string }>('execution_start', w.reviewer.caller, plan.id);
      await queue.enqueueExecution({ organization_id: w.org.id, execution_id: e.id });
      let status = 'queued';
      const deadline = Date.now() + 30_000;
      while (['queued', 'running', 'rolling_back'].includes(status) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        status = (await t.api.call<{ status: string }>('execution_get', w.reviewer.caller, e.id))
          .status;
      }
      const changed = diffStates(before, sandbox().control.dumpState(w.accountId)).length > 0;
      outcomes[action] = `${status}${changed ? '' : ' (account unchanged)'}`;
    }
    expect(outcomes).toEqual(Object.fromEntries([...byAction.keys()].map((a) => [a, 'succeeded'])));
  });
});
