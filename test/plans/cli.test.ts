// `axiom plan ...` and `axiom execution ...` in-process against the real HTTPS server, its job queue
// and a worker, with the sandbox behind them: a person proposes a plan from findings, a reviewer
// approves it with their password (an e-signature), starts it, watches it finish, dry-runs and asks
// for a rollback; the author's own approval is refused with exit code 2.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScan } from '../../src/cloud/scanner.js';
import { executionRolePolicy } from '../../src/execution/permissions.js';
import type { Queue } from '../../src/jobs/queue.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { cloudDeps } from '../support/cloud.js';
import { createUser, type TestUser } from '../support/fixtures.js';
import { runInProcess, type CliResult } from '../support/cli.js';
import { useTestServer } from '../support/http.js';
import { quietLogger, startTestWorker, type TestWorker } from '../support/worker.js';
import { planWorld, type PlanWorld } from './support.js';

let sb: Sandbox;
let queue: Queue | undefined;
const lazyQueue: Queue = {
  enqueueScan: (p) => queue!.enqueueScan(p),
  enqueueExecution: (p) => queue!.enqueueExecution(p),
  schedule: (p, at) => queue!.schedule(p, at),
  close: async () => {},
};
// The sandbox starts first (the server's cloud settings name its endpoint).
beforeAll(async () => {
  sb = await startSandbox({
    accounts: [
      {
        seed: 'plans-cli',
        size: 25,
        regions: ['us-east-1'],
        include: ['s3_bucket_no_public_access_block', 'kms_rotation_off'],
      },
    ],
    delays: { snapshotMs: 0, instanceTransitionMs: 0, volumeModificationMs: 0 },
  });
});
const s = useTestServer({}, () => ({
  cloud: {
    settings: {
      endpointUrl: sb.endpoint,
      platformAccountId: sb.platform.accountId,
      platformCredentials: sb.platform.credentials,
    },
    queue: lazyQueue,
  },
}));
const quiet = quietLogger;

let w: PlanWorld;
let proposer: TestUser;
let testWorker: TestWorker | undefined;
let dir: string;

beforeAll(async () => {
  const t = s().db;
  const accountId = sb.accounts[0]!.accountId;
  w = await planWorld(t, {
    accountId,
    scanRoleArn: `arn:aws:iam::${accountId}:role/AxiomScanRole`,
    roleArn: (cls) => `arn:aws:iam::${accountId}:role/AxiomExecution-${cls}`,
  });
  const conn = await t.api.call<{ external_ids: Array<{ external_id: string }> }>(
    'connection_get',
    w.org.admin.caller,
    w.connectionId,
  );
  const externalId = conn.external_ids[0]!.external_id;
  sb.control.createScanRole(accountId, { externalId });
  sb.control.createScanRole(accountId, {
    externalId,
    roleName: 'AxiomExecution-security',
    managedPolicyArns: [],
    inlinePolicy: executionRolePolicy('security'),
  });
  const scan = await t.api.call<{ id: string }>(
    'scan_start',
    w.org.admin.caller,
    w.connectionId,
    'manual',
  );
  await runScan(
    {
      ...cloudDeps(t.api, sb),
      logger: quiet(),
      limits: { concurrency: 8, ratePerSecond: 1000, serviceBudgetMs: 60_000 },
    },
    w.agent,
    w.org.id,
    scan.id,
  );
  proposer = await createUser(t, w.org, [
    { domain: 'security', level: 'author', facility: w.facility },
    { domain: 'configuration', level: 'read', facility: w.facility },
  ]);
  testWorker = await startTestWorker(t, () => sb);
  queue = testWorker.queue;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-plans-cli-'));
  fs.mkdirSync(path.join(dir, 'tls'));
  fs.writeFileSync(path.join(dir, 'tls', 'cert.pem'), s().server.tls.cert);
});

afterAll(async () => {
  await testWorker?.stop();
  await sb?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function axiom(user: TestUser, args: string[], stdin?: string): Promise<CliResult> {
  return await runInProcess(
    args,
    { AXIOM_DATA_DIR: dir, AXIOM_URL: s().server.url, AXIOM_TOKEN: user.token },
    stdin,
  );
}

describe('axiom plan and axiom execution', () => {
  it('proposes, signs, starts, shows, dry-runs and rolls back over the HTTPS API', async () => {
    const t = s().db;
    const findings = await t.api.call<{ items: Array<{ id: string; check_id: string }> }>(
      'finding_list',
      w.reviewer.caller,
      { connection_id: w.connectionId, status: 'active', limit: 500 },
    );
    const ids = ['s3_bucket_no_public_access_block', 'kms_rotation_off'].map(
      (c) => findings.items.find((f) => f.check_id === c)!.id,
    );
    const created = await axiom(proposer, [
      'plan',
      'create',
      '--finding',
      ...ids,
      '--reason',
      'public bucket, key without rotation',
      '--json',
    ]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const plan = JSON.parse(created.stdout) as { id: string; risk_tier: string; state: string };
    expect(plan).toMatchObject({ risk_tier: 'low', state: 'in_review' });

    // The author holds no review grant: nobody approves their own plan.
    const self = await axiom(
      proposer,
      ['plan', 'approve', plan.id, '--password-stdin'],
      `${proposer.password}\n`,
    );
    expect(self.code).toBe(2);
    expect(self.stderr).toMatch(/requires review in security.*missing_grant/);

    // The key rotation can wait: a second version without step 2, before anyone signs.
    for (const bad of ['3', '1,2', 'two', '0'])
      expect(
        (await axiom(proposer, ['plan', 'revise', plan.id, '--drop-step', bad, '--reason', 'r']))
          .code,
      ).toBe(2);
    const revised = await axiom(proposer, [
      'plan',
      'revise',
      plan.id,
      '--drop-step',
      '2',
      '--reason',
      'the key rotation waits for the next window',
      '--json',
    ]);
    expect(revised.stderr).toBe('');
    const v2 = JSON.parse(revised.stdout) as {
      id: string;
      version: number;
      state: string;
      content: { steps: Array<{ actionId: string }>; blast_radius: { total: number } };
    };
    expect(v2).toMatchObject({ id: plan.id, version: 2, state: 'in_review' });
    expect(v2.content.steps.map((x) => x.actionId)).toEqual(['s3.put_bucket_public_access_block']);
    expect(v2.content.blast_radius.total).toBeGreaterThanOrEqual(1);

    // What reviewers read follows the steps: one summary, of the step that stayed.
    const v2Summary = (v2.content as unknown as { summary: { steps: Array<{ actionId: string }> } })
      .summary.steps;
    expect(v2Summary.map((x) => x.actionId)).toEqual(['s3.put_bucket_public_access_block']);
    // So do the findings it claims to answer: the key's finding went with its step.
    expect((v2.content as unknown as { finding_ids: string[] }).finding_ids).toEqual([ids[0]]);

    // Other edits: a content file, here version 1's content with its steps in the other order, from
    // standard input. What is derived from the steps may stay in the file, even forged: it is derived
    // again, not believed.
    type Content = Record<string, unknown> & { steps: Array<Record<string, unknown>> };
    const v1Content = (JSON.parse(created.stdout) as { content: Content }).content;
    const swapped = {
      ...v1Content,
      steps: [...v1Content.steps].reverse(),
      risk_tier: 'low',
      required_approvals: 0,
      blast_radius: { resources: [] },
      summary: { steps: [{ cli: ['echo harmless'] }] },
    };
    const v3r = await axiom(
      proposer,
      ['plan', 'revise', plan.id, '--content-file', '-', '--reason', 'rotation first', '--json'],
      JSON.stringify(swapped),
    );
    expect(v3r.stderr).toBe('');
    const v3 = JSON.parse(v3r.stdout) as {
      version: number;
      required_approvals: number;
      content: {
        steps: Array<{ actionId: string }>;
        blast_radius: { resources: string[] };
        summary: { steps: Array<{ actionId: string; cli: string[] }> };
      };
    };
    const order = ['kms.enable_key_rotation', 's3.put_bucket_public_access_block'];
    expect(v3).toMatchObject({ version: 3, required_approvals: 1 });
    expect(v3.content.steps.map((x) => x.actionId)).toEqual(order);
    expect(v3.content.summary.steps.map((x) => x.actionId)).toEqual(order);
    expect(v3.content.summary.steps[1]!.cli.join(' ')).toMatch(/aws s3api put-public-access-block/);
    expect(v3.content.blast_radius.resources.length).toBeGreaterThanOrEqual(2);
    // The key's step is back, and with it its finding (listed in the file, answered by a step).
    expect((v3.content as unknown as { finding_ids: string[] }).finding_ids).toEqual(ids);
    // And back to the bucket alone: step 1 is the rotation now.
    const v4r = await axiom(proposer, [
      'plan',
      'revise',
      plan.id,
      '--drop-step',
      '1',
      '--reason',
      'the key rotation waits after all',
      '--json',
    ]);
    const v4 = JSON.parse(v4r.stdout) as typeof v3;
    expect(v4.version).toBe(4);
    expect(v4.content.summary.steps.map((x) => x.actionId)).toEqual([order[1]]);

    // Through the API itself, a forged summary and an empty blast radius are not what is stored;
    // a step on a resource the connection's scans never saw is refused.
    const http = s().client();
    http.bearer = proposer.token;
    const v4Content = { ...v4.content } as Record<string, unknown>;
    for (const k of ['account_id', 'risk_tier', 'required_approvals', 'rollback_verified'])
      delete v4Content[k];
    const forged = await http.post<typeof v3>(`/api/v1/plans/${plan.id}/versions`, {
      content: {
        ...v4Content,
        blast_radius: { resources: [] },
        rollback_summary: ['nothing to undo'],
        summary: { steps: [{ cli: ['echo harmless'] }] },
        finding_ids: ids,
      },
      reason: 'forged previews',
    });
    expect(forged.status).toBe(201);
    // The key's finding is not claimed: no step of this version rotates the key.
    expect((forged.body.content as unknown as { finding_ids: string[] }).finding_ids).toEqual([
      ids[0],
    ]);
    expect(forged.body.content.summary).toEqual(v4.content.summary);
    expect(forged.body.content.blast_radius).toEqual(v4.content.blast_radius);
    expect(forged.body.content).toMatchObject({
      rollback_summary: (v4.content as unknown as { rollback_summary: string[] }).rollback_summary,
    });
    const unseen = 'never-scanned-bucket-0001';
    const notScanned = await http.post<{ reason: string }>(`/api/v1/plans/${plan.id}/versions`, {
      content: {
        ...v4Content,
        steps: [
          {
            ...v4.content.steps[0],
            resourceArn: `arn:aws:s3:::${unseen}`,
            params: { bucket: unseen, region: 'us-east-1' },
          },
        ],
      },
      reason: 'a bucket nobody scanned',
    });
    expect(notScanned.status).toBe(404);
    expect(notScanned.body.reason).toBe('resource_not_found');

    // Refused before or by the server, and the plan stays at version 5: both options or neither,
    // not JSON, a misspelt field, and a step whose params act on another bucket than it names.
    const edited = { ...v4.content } as Record<string, unknown>;
    const otherBucket = {
      ...edited,
      steps: [
        {
          ...v4.content.steps[0],
          params: {
            ...(v4.content.steps[0] as unknown as { params: Record<string, unknown> }).params,
            bucket: 'someone-elses-bucket',
          },
        },
      ],
    };
    for (const [args, stdin, message] of [
      [['--drop-step', '1', '--content-file', '-'], '{}', /one of --drop-step and --content-file/],
      [[], undefined, /one of --drop-step and --content-file/],
      [['--content-file', '-'], 'not json', /not valid JSON/],
      [['--content-file', '-'], JSON.stringify({ ...edited, stpes: [] }), /stpes/],
      [['--content-file', '-'], JSON.stringify(otherBucket), /step_target_mismatch/],
      [
        ['--content-file', '-'],
        JSON.stringify({ ...edited, connection_id: '00000000-0000-4000-8000-000000000000' }),
        /item_identity_changed/,
      ],
    ] as Array<[string[], string | undefined, RegExp]>) {
      const r = await axiom(
        proposer,
        ['plan', 'revise', plan.id, ...args, '--reason', 'refused', '--json'],
        stdin,
      );
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(
      await t.api.call<{ version: number }>('plan_get', w.reviewer.caller, plan.id),
    ).toMatchObject({ version: 5 });

    const dry = await axiom(w.reviewer, ['execution', 'dry-run', plan.id, '--json']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ ok: true });

    const approved = await axiom(
      w.reviewer,
      ['plan', 'approve', plan.id, '--password-stdin', '--comment', 'looks right'],
      `${w.reviewer.password}\n`,
    );
    expect(approved.stderr).toBe('');
    expect(approved.stdout).toContain('change request approved');
    expect(approved.stdout).toContain(`Then: axiom execution start ${plan.id}`);

    const shown = await axiom(w.reviewer, ['plan', 'show', plan.id]);
    expect(shown.stdout).toMatch(/effective .* approvals 1\/1/);
    // Version 5 keeps the bucket's step alone: it answers the bucket's finding, not the key's.
    expect(shown.stdout).toMatch(new RegExp(`^  answers finding ${ids[0]}$`, 'm'));
    expect(shown.stdout.split('\n')[1]).toBe(`  AWS account ${w.accountId}`);

    // A bad --timeout is refused before anything starts (a plan runs once: the start below would be
    // refused as already executed otherwise).
    for (const timeout of ['0', '86401', '1.5', 'soon']) {
      const bad = await axiom(w.reviewer, [
        'execution',
        'start',
        plan.id,
        '--wait',
        '--timeout',
        timeout,
      ]);
      expect({ timeout, code: bad.code }).toEqual({ timeout, code: 2 });
      expect(bad.stderr).toMatch(/invalid_input\/usage/);
    }
    // --wait follows it to its end: exit 0 when it succeeded, with the execution as it ended.
    const started = await axiom(w.reviewer, ['execution', 'start', plan.id, '--wait', '--json']);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const execution = JSON.parse(started.stdout) as { id: string; status: string };
    expect(execution.status).toBe('succeeded');
    // Listed for the plan and the facility; not to someone without read in the action's domain.
    const listed = await axiom(w.reviewer, ['execution', 'list', '--plan', plan.id]);
    expect(listed.stdout).toMatch(
      new RegExp(`^${execution.id}  apply +succeeded +security +plan ${plan.id}  \\S+$`),
    );
    const byFacility = await axiom(w.reviewer, [
      'execution',
      'list',
      '--facility',
      w.facility,
      '--json',
    ]);
    expect((JSON.parse(byFacility.stdout) as Array<{ id: string }>).map((e) => e.id)).toEqual([
      execution.id,
    ]);
    expect(await axiom(w.configReviewer, ['execution', 'list'])).toMatchObject({
      code: 0,
      stdout: 'no executions',
    });
    // Operational memory counts the success toward the action's track record.
    const memory = await axiom(w.reviewer, [
      'memory',
      '--action',
      's3.put_bucket_public_access_block',
    ]);
    expect(memory.stdout).toMatch(
      /^s3\.put_bucket_public_access_block +security +\S+ +risk \S+ +[1-9]\d* ok \/ 0 failed \/ 0 rolled back {2}streak [1-9]/m,
    );
    expect(memory.stdout.split('\n')).toHaveLength(2);
    for (const action of ['S3 anything', 's3.no_such_action']) {
      const r = await axiom(w.reviewer, ['memory', '--action', action]);
      expect({ action, code: r.code }).toEqual({ action, code: 2 });
    }
    const badPlan = await axiom(w.reviewer, ['execution', 'list', '--plan', 'latest']);
    expect(badPlan.code).toBe(2);
    expect(badPlan.stderr).toMatch(/invalid_id/);
    // The plan lists its executions, so the id is never lost.
    const withRuns = await axiom(w.reviewer, ['plan', 'show', plan.id]);
    expect(withRuns.stdout).toMatch(
      new RegExp(`^  execution ${execution.id}  apply  succeeded  started `, 'm'),
    );
    const text = await axiom(w.reviewer, ['execution', 'show', execution.id]);
    // Who started it, in which account, and which signed version of the plan it runs.
    const signed = await t.api.call<{ record_hash: string }>(
      'plan_get',
      w.reviewer.caller,
      plan.id,
    );
    expect(text.stdout.split('\n')[1]).toBe(
      `  AWS account ${w.accountId}  started by ${w.reviewer.email}  plan version ${signed.record_hash}`,
    );
    expect(text.stdout).toMatch(/s3\.put_bucket_public_access_block .* verified/);

    const rollback = await axiom(proposer, [
      'execution',
      'rollback',
      execution.id,
      '--reason',
      'a client broke',
      '--json',
    ]);
    expect(rollback.code).toBe(0);
    expect(JSON.parse(rollback.stdout)).toMatchObject({
      content: { rollback_of: execution.id },
      state: 'in_review',
    });
    // Shown as what it is: each step undone (its rollback runs), not the action again.
    const rollbackId = (JSON.parse(rollback.stdout) as { id: string }).id;
    const undoShown = await axiom(w.reviewer, ['plan', 'show', rollbackId]);
    expect(undoShown.stdout).toContain(
      `rolls back execution ${execution.id}: executing it undoes each step below`,
    );
    expect(undoShown.stdout).toMatch(/1\. undo s3\.put_bucket_public_access_block /);
    expect(undoShown.stdout).toMatch(/ {5}runs: aws s3api /);
    expect(undoShown.stdout).not.toMatch(/rollback:/);
    // The findings it carries are those whose fix it takes back, not findings it answers.
    expect(undoShown.stdout).toMatch(/^ {2}undoes the fix of findings? [0-9a-f-]{36}/m);
    expect(undoShown.stdout).not.toMatch(/answers finding/);
    const originalShown = await axiom(w.reviewer, ['plan', 'show', plan.id]);
    expect(originalShown.stdout).not.toMatch(/undo|rolls back/);
    expect(originalShown.stdout).toMatch(/ {5}rollback: aws s3api /);

    // The rollback, approved and started with --wait while AWS refuses every S3 call: it does not
    // succeed, and --wait says so with exit 1 and the execution as it ended.
    const undoApproved = await axiom(
      w.reviewer,
      ['plan', 'approve', rollbackId, '--password-stdin'],
      `${w.reviewer.password}\n`,
    );
    expect(undoApproved.code).toBe(0);
    const refused = sb.control.injectFault({
      kind: 'accessDenied',
      service: 's3',
      accountId: w.accountId,
    });
    try {
      const undone = await axiom(w.reviewer, [
        'execution',
        'start',
        rollbackId,
        '--wait',
        '--json',
      ]);
      expect(undone.code).toBe(1);
      const ended = JSON.parse(undone.stdout) as { status: string; plan_id: string };
      expect(ended.plan_id).toBe(rollbackId);
      expect(['failed', 'rolled_back', 'rollback_incomplete']).toContain(ended.status);
    } finally {
      sb.control.removeFault(refused);
    }

    const revoke = await axiom(w.reviewer, [
      'plan',
      'revoke-approval',
      plan.id,
      '--reason',
      'too late',
    ]);
    expect(revoke.code).toBe(2);
    expect(revoke.stderr).toMatch(/already started/);

    const list = await axiom(w.reviewer, ['plan', 'list', '--facility', w.facility, '--json']);
    expect((JSON.parse(list.stdout) as unknown[]).length).toBe(2);
    const bad = await axiom(w.reviewer, ['plan', 'show', 'not-an-id']);
    expect(bad.code).toBe(2);
  });
});
