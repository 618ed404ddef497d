// The executor against the sandbox: a failure injected mid-plan rolls the completed actions back
// in reverse order and leaves the account exactly as before; a crash (progress not stored) is
// resumed from the stored progress without applying anything twice; the recheck aborts when the
// resource changed after approval or after pre-flight; bad plans are refused before any call.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { EC2Client, ModifyInstanceMetadataOptionsCommand } from '@aws-sdk/client-ec2';
import { diffStates, type StateDump } from '../../src/sandbox/index.js';
import { AppError } from '../../src/errors.js';
import {
  executePlan,
  rollbackExecution,
  type ExecutionProgress,
  type ProgressUpdate,
} from '../../src/execution/executor.js';
import type { ExecutionPlan } from '../../src/execution/params.js';
import { findAwsCredential } from '../../src/security/redact.js';
import type { ExecutableCandidate } from '../../src/plans/candidates.js';
import {
  WAIT,
  candidateFor,
  credentialsFor,
  executable,
  paths,
  planOf,
  startEnv,
  writeCalls,
  type Env,
} from './support.js';

let env: Env;
beforeAll(async () => {
  env = await startEnv('exec-executor');
});
afterAll(() => env.sb.stop());
beforeEach(() => {
  env.sb.control.clearFaults();
  env.sb.control.clearCalls();
});

const dump = (): StateDump => env.sb.control.dumpState(env.accountId);
const aws = () => ({ endpoint: env.sb.endpoint, maxAttempts: 1 });
const admin = () => env.sb.accounts[0]!.adminCredentials;

/** Three security actions whose inverse restores AWS exactly. */
function securityTrio(): ExecutableCandidate[] {
  return [
    executable(candidateFor(env, 's3_bucket_no_public_access_block')),
    executable(candidateFor(env, 'ec2_imdsv2_not_required')),
    executable(candidateFor(env, 'rds_no_deletion_protection')),
  ];
}

/** The bucket block had a configuration (put it back) or none (delete it). */
const undoPab = (plan: ExecutionPlan) =>
  (plan.steps[0]!.approvedState as { publicAccessBlock: unknown }).publicAccessBlock
    ? 'PutPublicAccessBlock'
    : 'DeletePublicAccessBlock';

/** A store that keeps what onProgress delivered, as a job would in its database. */
function store(opts: { crashWhen?: (u: ProgressUpdate, n: number) => boolean } = {}) {
  const saved: ExecutionProgress[] = [];
  const events: ProgressUpdate['audit'][] = [];
  let n = 0;
  return {
    saved,
    events,
    last: () => saved[saved.length - 1]!,
    onProgress: (u: ProgressUpdate) => {
      n++;
      if (opts.crashWhen?.(u, n)) throw new Error('worker killed');
      saved.push(JSON.parse(JSON.stringify(u.progress)) as ExecutionProgress);
      if (u.audit) events.push(u.audit);
    },
  };
}

describe('a failure injected mid-plan', () => {
  it("fails the 2nd action's apply, rolls the 1st back, leaves the 3rd untouched; state as before", async () => {
    const plan = planOf(env, securityTrio());
    const credentials = await credentialsFor(env, plan);
    const before = dump();
    env.sb.control.injectFault({
      kind: 'accessDenied',
      service: 'ec2',
      operation: 'ModifyInstanceMetadataOptions',
      accountId: env.accountId,
    });
    const s = store();
    const r = await executePlan({
      plan,
      credentials,
      aws: aws(),
      wait: WAIT,
      onProgress: s.onProgress,
    });
    expect(r.status).toBe('failed');
    expect(r.progress.failure).toMatchObject({
      stepIndex: 1,
      phase: 'apply',
      reason: 'UnauthorizedOperation',
    });
    expect(r.progress.steps.map((x) => x.state)).toEqual(['rolled_back', 'failed', 'pending']);
    expect(r.progress.steps[1]!.rollback?.status).toBe('not_needed');
    // Field by field, the account is what it was.
    expect(diffStates(before, dump())).toEqual([]);
    // The order: apply 1, (apply 2 refused), undo 1; nothing on 3.
    const writes = writeCalls(env).map((c) => c.operation);
    expect(writes).toEqual(['PutPublicAccessBlock', undoPab(plan)]);
    expect(writeCalls(env, 'ModifyDBInstance')).toEqual([]);
    expect(s.events.map((e) => `${e!.type}#${e!.stepIndex}`)).toEqual([
      'execution.action_applied#0',
      'execution.action_failed#1',
      'execution.action_rolled_back#0',
    ]);
    expect(s.last().status).toBe('failed');
  });

  it('rolls every completed action back in reverse order when the last one fails', async () => {
    const candidates = [
      ...securityTrio(),
      executable(candidateFor(env, 'rds_public')),
      executable(candidateFor(env, 'cloudtrail_not_logging')),
      executable(candidateFor(env, 'kms_rotation_off')),
    ];
    const plan = planOf(env, candidates);
    const credentials = await credentialsFor(env, plan);
    const before = dump();
    env.sb.control.injectFault({
      kind: 'accessDenied',
      service: 'kms',
      operation: 'EnableKeyRotation',
    });
    const r = await executePlan({ plan, credentials, aws: aws(), wait: WAIT });
    expect(r.status).toBe('failed');
    expect(r.progress.steps.map((x) => x.state)).toEqual([
      'rolled_back',
      'rolled_back',
      'rolled_back',
      'rolled_back',
      'rolled_back',
      'failed',
    ]);
    const rolledBack = r.audit
      .filter((a) => a.type === 'execution.action_rolled_back')
      .map((a) => a.stepIndex);
    expect(rolledBack).toEqual([4, 3, 2, 1, 0]);
    const undo = writeCalls(env)
      .slice(5)
      .map((c) => c.operation);
    expect(undo).toEqual([
      'StopLogging',
      'ModifyDBInstance',
      'ModifyDBInstance',
      'ModifyInstanceMetadataOptions',
      undoPab(plan),
    ]);
    expect(diffStates(before, dump())).toEqual([]);
  });

  it('cost actions: a failed third step restarts the instance and restores the volume from its snapshot', async () => {
    const cost = await startEnv('exec-cost-midplan');
    try {
      const stop = executable(candidateFor(cost, 'ec2_idle'));
      const del = executable(candidateFor(cost, 'ebs_volume_unattached'));
      const gp3 = executable(candidateFor(cost, 'ebs_volume_gp2'));
      const plan = planOf(cost, [stop, del, gp3]);
      const credentials = await credentialsFor(cost, plan);
      const before = cost.sb.control.dumpState(cost.accountId);
      cost.sb.control.injectFault({
        kind: 'accessDenied',
        service: 'ec2',
        operation: 'ModifyVolume',
      });
      const r = await executePlan({
        plan,
        credentials,
        aws: { endpoint: cost.sb.endpoint, maxAttempts: 1 },
        wait: WAIT,
      });
      expect(r.status).toBe('failed');
      expect(r.progress.steps.map((x) => x.state)).toEqual([
        'rolled_back',
        'rolled_back',
        'failed',
      ]);
      expect(
        r.audit.filter((a) => a.type === 'execution.action_rolled_back').map((a) => a.stepIndex),
      ).toEqual([1, 0]);
      const { region: vr, volumeId } = del.parameters as { region: string; volumeId: string };
      const { region: ir, instanceId } = stop.parameters as { region: string; instanceId: string };
      const snapshotId = r.progress.steps[1]!.artifacts.snapshotId!;
      const restored = r.progress.steps[1]!.artifacts.restoredVolumeId!;
      const after = cost.sb.control.dumpState(cost.accountId);
      type Ec2 = {
        ec2: {
          volumes: Record<string, Record<string, unknown>>;
          instances: Record<string, Record<string, unknown>>;
        };
      };
      const hadPublicIp = !!(before.regions as Record<string, Ec2>)[ir]!.ec2.instances[instanceId]!
        .publicIp;
      // Exactly what AWS cannot restore: the volume's id (and its kept snapshot), the auto-assigned IP.
      expect(paths(diffStates(before, after)).sort()).toEqual(
        [
          `added /regions/${vr}/ec2/snapshots/${snapshotId}`,
          `added /regions/${vr}/ec2/volumes/${restored}`,
          `removed /regions/${vr}/ec2/volumes/${volumeId}`,
          ...(hadPublicIp ? [`changed /regions/${ir}/ec2/instances/${instanceId}/publicIp`] : []),
        ].sort(),
      );
      // Field by field, the rest of the restored volume and the instance are as they were.
      const vol = (d: typeof before, id: string) => {
        const {
          createTime: _t,
          snapshotId: _s,
          ...rest
        } = (d.regions as Record<string, Ec2>)[vr]!.ec2.volumes[id]!;
        return rest;
      };
      expect(vol(after, restored)).toEqual(vol(before, volumeId));
      const inst = (d: typeof before) => {
        const { publicIp: _p, ...rest } = (d.regions as Record<string, Ec2>)[ir]!.ec2.instances[
          instanceId
        ]!;
        return rest;
      };
      expect(inst(after)).toEqual(inst(before));
    } finally {
      await cost.sb.stop();
    }
  });

  it('a verification failure rolls back the failed step too (its change had landed)', async () => {
    const [c] = securityTrio();
    const plan = planOf(env, [c!]);
    const credentials = await credentialsFor(env, plan);
    const before = dump();
    let fault: string | undefined;
    const r = await executePlan({
      plan,
      credentials,
      aws: aws(),
      wait: { pollMs: 2, timeoutMs: 50 },
      onProgress: ({ progress }) => {
        const st = progress.steps[0]!.state;
        // Once applied, every read of the block is refused: verification cannot pass.
        if (st === 'applied')
          fault = env.sb.control.injectFault({
            kind: 'accessDenied',
            service: 's3',
            operation: 'GetPublicAccessBlock',
          });
        if (st === 'failed' && fault) env.sb.control.removeFault(fault);
      },
    });
    expect(r.progress.steps[0]!.error?.phase).toBe('verify');
    expect(r.progress.steps[0]!.state).toBe('failed');
    expect(r.progress.steps[0]!.rollback?.status).toBe('rolled_back');
    expect(r.status).toBe('failed');
    expect(diffStates(before, dump())).toEqual([]);
  });
});

describe('resume after a crash', () => {
  it('a worker killed between apply and its record: the resumed run recognises the change, applies nothing twice', async () => {
    const plan = planOf(env, securityTrio());
    const credentials = await credentialsFor(env, plan);
    const before = dump();
    // The progress write that would record step 1 as applied never happens.
    const s = store({ crashWhen: (u) => u.progress.steps[1]!.state === 'applied' });
    await expect(
      executePlan({ plan, credentials, aws: aws(), wait: WAIT, onProgress: s.onProgress }),
    ).rejects.toMatchObject({ code: 'unavailable', reason: 'progress_not_persisted' });
    const persisted = s.last();
    expect(persisted.steps.map((x) => x.state)).toEqual(['verified', 'preflighted', 'pending']);
    expect(writeCalls(env, 'ModifyInstanceMetadataOptions')).toHaveLength(1);

    // A new worker, a new executor, the stored progress.
    const s2 = store();
    const r = await executePlan({
      plan,
      credentials,
      progress: persisted,
      aws: aws(),
      wait: WAIT,
      onProgress: s2.onProgress,
    });
    expect(r.status).toBe('succeeded');
    expect(r.progress.steps[1]!.applied).toEqual({ alreadyApplied: true });
    for (const op of ['PutPublicAccessBlock', 'ModifyInstanceMetadataOptions', 'ModifyDBInstance'])
      expect(writeCalls(env, op), op).toHaveLength(1);
    // The audit trail has each application once across both runs.
    const applied = [...s.events, ...s2.events].filter(
      (e) => e!.type === 'execution.action_applied',
    );
    expect(applied.map((e) => e!.stepIndex)).toEqual([0, 1, 2]);
    // A resume of a finished execution does nothing.
    const again = await executePlan({
      plan,
      credentials,
      progress: r.progress,
      aws: aws(),
      wait: WAIT,
    });
    expect(again.status).toBe('succeeded');
    expect(writeCalls(env)).toHaveLength(3);
    // Put things back for the other tests.
    const rb = await rollbackExecution({
      plan,
      credentials,
      progress: r.progress,
      aws: aws(),
      wait: WAIT,
    });
    expect(rb.status).toBe('rolled_back');
    expect(diffStates(before, dump())).toEqual([]);
  });

  it('crash after every single transition: each resume completes with one write per action', async () => {
    const plan = planOf(env, securityTrio());
    const credentials = await credentialsFor(env, plan);
    const before = dump();
    // 1 (start) + 3 per step + 1 (finish) = 11 progress writes in a clean run; crash at each.
    for (let crashAt = 1; crashAt <= 11; crashAt++) {
      env.sb.control.clearCalls();
      const s = store({ crashWhen: (_u, n) => n === crashAt });
      let progress: ExecutionProgress | undefined;
      try {
        const r = await executePlan({
          plan,
          credentials,
          aws: aws(),
          wait: WAIT,
          onProgress: s.onProgress,
        });
        progress = r.progress;
      } catch (e) {
        expect((e as AppError).reason).toBe('progress_not_persisted');
        progress = s.saved.length ? s.last() : undefined;
      }
      const r = await executePlan({
        plan,
        credentials,
        ...(progress ? { progress } : {}),
        aws: aws(),
        wait: WAIT,
      });
      expect(r.status, `crash at ${crashAt}`).toBe('succeeded');
      for (const op of [
        'PutPublicAccessBlock',
        'ModifyInstanceMetadataOptions',
        'ModifyDBInstance',
      ])
        expect(writeCalls(env, op), `${op}, crash at ${crashAt}`).toHaveLength(1);
      await rollbackExecution({ plan, credentials, progress: r.progress, aws: aws(), wait: WAIT });
      expect(diffStates(before, dump())).toEqual([]);
    }
  });

  it('a crash after the pre-flight snapshot: the resume reuses it, one snapshot, one delete', async () => {
    const c = executable(candidateFor(env, 'ebs_volume_unattached'));
    const plan = planOf(env, [c]);
    const credentials = await credentialsFor(env, plan);
    const s = store({ crashWhen: (u) => u.progress.steps[0]!.state === 'preflighted' });
    await expect(
      executePlan({ plan, credentials, aws: aws(), wait: WAIT, onProgress: s.onProgress }),
    ).rejects.toMatchObject({ reason: 'progress_not_persisted' });
    // The snapshot id was stored before anything depended on it.
    expect(s.last().steps[0]!.state).toBe('pending');
    expect(s.last().steps[0]!.artifacts.snapshotId).toMatch(/^snap-/);
    const r = await executePlan({ plan, credentials, progress: s.last(), aws: aws(), wait: WAIT });
    expect(r.status).toBe('succeeded');
    expect(writeCalls(env, 'CreateSnapshot')).toHaveLength(1);
    expect(writeCalls(env, 'DeleteVolume')).toHaveLength(1);
    expect(r.progress.steps[0]!.artifacts.snapshotId).toBe(s.last().steps[0]!.artifacts.snapshotId);
    // Crash inside the rollback: the restored volume exists but its id was never stored (the
    // checkpoint write fails). The resume finds it by its marker tag: no second volume.
    const s2 = store({ crashWhen: (u) => !!u.progress.steps[0]!.artifacts.restoredVolumeId });
    await expect(
      rollbackExecution({
        plan,
        credentials,
        progress: r.progress,
        aws: aws(),
        wait: WAIT,
        onProgress: s2.onProgress,
      }),
    ).rejects.toMatchObject({ reason: 'progress_not_persisted' });
    const rb = await rollbackExecution({
      plan,
      credentials,
      progress: s2.last(),
      aws: aws(),
      wait: WAIT,
    });
    expect(rb.status).toBe('rolled_back');
    expect(writeCalls(env, 'CreateVolume')).toHaveLength(1);
  });
});

describe('recheck: the state must be the approved one', () => {
  it('a resource changed after approval: aborted before any change, nothing written', async () => {
    const c = executable(candidateFor(env, 's3_bucket_versioning_off'));
    const { bucket, region } = c.parameters as { bucket: string; region: string };
    const plan = planOf(env, [c]);
    const credentials = await credentialsFor(env, plan);
    // After approval, someone turns versioning on and off again (now Suspended).
    const s3 = new S3Client({
      endpoint: env.sb.endpoint,
      region,
      forcePathStyle: true,
      credentials: admin(),
    });
    const was = (c.step.approvedState as { versioning: string | null }).versioning;
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: bucket,
        VersioningConfiguration: { Status: was === 'Suspended' ? 'Enabled' : 'Suspended' },
      }),
    );
    env.sb.control.clearCalls();
    const before = dump();
    const r = await executePlan({ plan, credentials, aws: aws(), wait: WAIT });
    expect(r.status).toBe('failed');
    expect(r.progress.steps[0]!.error).toMatchObject({
      phase: 'preflight',
      code: 'conflict',
      reason: 'state_changed_since_approval',
    });
    expect(r.progress.steps[0]!.preflight).toBeUndefined();
    expect(writeCalls(env)).toEqual([]);
    expect(diffStates(before, dump())).toEqual([]);
  });

  it('a resource changed between pre-flight and apply: aborted, earlier steps rolled back', async () => {
    const [pab, imds] = securityTrio();
    const plan = planOf(env, [pab!, imds!]);
    const credentials = await credentialsFor(env, plan);
    const { instanceId, region } = imds!.parameters as { instanceId: string; region: string };
    const ec2 = new EC2Client({ endpoint: env.sb.endpoint, region, credentials: admin() });
    const before = dump();
    let changed = false;
    const r = await executePlan({
      plan,
      credentials,
      aws: aws(),
      wait: WAIT,
      onProgress: async ({ progress }) => {
        // The instance's owner requires IMDSv2 by hand right after Axiom's pre-flight read.
        if (!changed && progress.steps[1]!.state === 'preflighted') {
          changed = true;
          await ec2.send(
            new ModifyInstanceMetadataOptionsCommand({
              InstanceId: instanceId,
              HttpTokens: 'required',
              HttpEndpoint: 'disabled',
            }),
          );
        }
      },
    });
    expect(r.status).toBe('failed');
    expect(r.progress.steps[1]!.error).toMatchObject({
      phase: 'recheck',
      reason: 'state_changed_since_preflight',
    });
    expect(r.progress.steps[0]!.state).toBe('rolled_back');
    // Axiom wrote nothing to the instance; the owner's change stands; the bucket is restored.
    expect(
      writeCalls(env).filter(
        (c) =>
          c.caller.includes('AxiomExecution') && c.operation === 'ModifyInstanceMetadataOptions',
      ),
    ).toEqual([]);
    const left = paths(diffStates(before, dump()));
    expect(left.sort()).toEqual(
      [
        `changed /regions/${region}/ec2/instances/${instanceId}/metadata/httpEndpoint`,
        `changed /regions/${region}/ec2/instances/${instanceId}/metadata/httpTokens`,
      ].sort(),
    );
    await ec2.send(
      new ModifyInstanceMetadataOptionsCommand({
        InstanceId: instanceId,
        HttpTokens: 'optional',
        HttpEndpoint: 'enabled',
      }),
    );
    expect(diffStates(before, dump())).toEqual([]);
  });
});

describe('bad input changes nothing', () => {
  const mutate = (plan: ExecutionPlan, f: (p: Record<string, unknown>) => void): unknown => {
    const copy = JSON.parse(JSON.stringify(plan)) as Record<string, unknown>;
    f(copy);
    return copy;
  };

  it('refuses malformed, mixed-class, misordered and duplicate plans before any AWS call', async () => {
    const plan = planOf(env, securityTrio());
    const credentials = await credentialsFor(env, plan);
    const cost = executable(candidateFor(env, 'eip_unassociated'));
    const stop = executable(candidateFor(env, 'ec2_idle'));
    const steps = (p: Record<string, unknown>) => p.steps as Record<string, unknown>[];
    const bad: [unknown, string, string][] = [
      [null, 'invalid_input', 'invalid_plan'],
      [
        mutate(plan, (p) => (steps(p)[0]!.actionId = 'ec2.terminate_everything')),
        'invalid_input',
        'invalid_plan',
      ],
      [
        mutate(
          plan,
          (p) => ((steps(p)[0]!.params as Record<string, unknown>).region = 'us-east-1; rm -rf /'),
        ),
        'invalid_input',
        'invalid_plan',
      ],
      [
        mutate(
          plan,
          (p) => ((steps(p)[1]!.params as Record<string, unknown>).instanceId = '../../etc'),
        ),
        'invalid_input',
        'invalid_plan',
      ],
      [
        mutate(plan, (p) => ((steps(p)[0]!.params as Record<string, unknown>).extra = 1)),
        'invalid_input',
        'invalid_plan',
      ],
      [mutate(plan, (p) => delete steps(p)[0]!.approvedState), 'invalid_input', 'invalid_plan'],
      [mutate(plan, (p) => (p.accountId = '12345')), 'invalid_input', 'invalid_plan'],
      [mutate(plan, (p) => (p.steps = [])), 'invalid_input', 'invalid_plan'],
      [mutate(plan, (p) => (steps(p)[1] = steps(p)[0]!)), 'invalid_input', 'duplicate_step'],
      // A step acts on the resource it names: params naming another bucket, instance or region than
      // resourceArn, or an ARN in another account, would make the blast radius a lie.
      [
        mutate(plan, (p) => {
          (steps(p)[0]!.params as Record<string, unknown>).bucket = 'someone-elses-bucket';
        }),
        'rule_violation',
        'step_target_mismatch',
      ],
      [
        mutate(plan, (p) => {
          (steps(p)[1]!.params as Record<string, unknown>).instanceId = 'i-0123456789abcdef0';
        }),
        'rule_violation',
        'step_target_mismatch',
      ],
      [
        mutate(plan, (p) => {
          (steps(p)[2]!.params as Record<string, unknown>).region = 'ap-south-1';
        }),
        'rule_violation',
        'step_target_mismatch',
      ],
      [
        mutate(plan, (p) => {
          const s = steps(p)[1]!;
          s.resourceArn = (s.resourceArn as string).replace(env.accountId, '999999999999');
        }),
        'rule_violation',
        'step_target_mismatch',
      ],
      [{ ...plan, steps: [...plan.steps, cost.step] }, 'rule_violation', 'action_class_mismatch'],
      [
        { ...plan, actionClass: 'cost', steps: [cost.step, stop.step] },
        'rule_violation',
        'irreversible_not_last',
      ],
    ];
    env.sb.control.clearCalls();
    const before = dump();
    for (const [p, code, reason] of bad) {
      const e = await executePlan({ plan: p as ExecutionPlan, credentials, aws: aws() }).catch(
        (x: unknown) => x,
      );
      expect(e, JSON.stringify(p)?.slice(0, 80)).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe(code);
      expect((e as AppError).reason).toBe(reason);
    }
    expect(env.sb.control.calls({ accountId: env.accountId })).toEqual([]);
    expect(diffStates(before, dump())).toEqual([]);
  });

  it('refuses a stored progress that belongs to another plan or is not a progress record', async () => {
    const plan = planOf(env, securityTrio());
    const credentials = await credentialsFor(env, plan);
    const s = store({ crashWhen: (_u, n) => n === 2 });
    await executePlan({
      plan,
      credentials,
      aws: aws(),
      wait: WAIT,
      onProgress: s.onProgress,
    }).catch(() => undefined);
    const other = { ...plan, steps: plan.steps.slice(0, 2), planId: plan.planId };
    await expect(
      executePlan({
        plan: other,
        credentials,
        progress: { ...s.last(), steps: s.last().steps.slice(0, 2) },
        aws: aws(),
      }),
    ).rejects.toMatchObject({ code: 'conflict', reason: 'plan_changed' });
    await expect(
      executePlan({
        plan,
        credentials,
        progress: { version: 2 } as unknown as ExecutionProgress,
        aws: aws(),
      }),
    ).rejects.toMatchObject({ code: 'invalid_input', reason: 'invalid_progress' });
    await expect(
      rollbackExecution({ plan, credentials, progress: s.last(), aws: aws() }),
    ).rejects.toMatchObject({ code: 'conflict', reason: 'not_rollbackable' });
  });

  it('stores no credentials and no access-key ids in progress or audit events', async () => {
    const c = executable(candidateFor(env, 'iam_access_key_unused'));
    const plan = planOf(env, [c]);
    const credentials = await credentialsFor(env, plan);
    const s = store();
    const r = await executePlan({
      plan,
      credentials,
      aws: aws(),
      wait: WAIT,
      onProgress: s.onProgress,
    });
    expect(r.status).toBe('succeeded');
    const text = JSON.stringify({ saved: s.saved, events: s.events, r });
    expect(text).not.toContain(credentials.secretAccessKey);
    expect(text).not.toContain(credentials.sessionToken!);
    expect(text).not.toContain(credentials.accessKeyId);
    expect(findAwsCredential(JSON.parse(text))).toBeUndefined();
    await rollbackExecution({ plan, credentials, progress: r.progress, aws: aws(), wait: WAIT });
  });
});
