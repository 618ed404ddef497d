// The execution role's reach: the session policy built from a plan lets the session touch the
// plan's resources and nothing else (the sandbox refuses the rest, as AWS would), stays within
// STS's 2048 characters or is refused, and the dry run checks every permission the plan would
// use while changing nothing.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { diffStates } from '../../src/sandbox/index.js';
import { AppError } from '../../src/errors.js';
import { executePlan } from '../../src/execution/executor.js';
import { dryRunPlan } from '../../src/execution/dry-run.js';
import type { ExecutionPlan, PlanStep } from '../../src/execution/params.js';
import {
  SESSION_POLICY_MAX_CHARS,
  executionRoleActions,
  executionRolePolicy,
  sessionPolicyFor,
} from '../../src/execution/permissions.js';
import { assumeExecutionRole } from '../../src/execution/role.js';
import {
  WAIT,
  candidateFor,
  credentialsFor,
  executable,
  planOf,
  planted,
  startEnv,
  writeCalls,
  type Env,
} from './support.js';

let env: Env;
beforeAll(async () => {
  env = await startEnv('exec-session');
});
afterAll(() => env.sb.stop());
beforeEach(() => {
  env.sb.control.clearCalls();
  env.sb.control.clearFaults();
});
const dump = () => env.sb.control.dumpState(env.accountId);
const aws = () => ({ endpoint: env.sb.endpoint, maxAttempts: 1 });

describe('the session policy', () => {
  it('names the plan resources for every write and stays under 2048 characters', () => {
    const plan = planOf(env, [
      executable(candidateFor(env, 's3_bucket_versioning_off')),
      executable(candidateFor(env, 'ec2_imdsv2_not_required')),
      executable(candidateFor(env, 'sg_open_ssh')),
    ]);
    const text = sessionPolicyFor(plan);
    expect(text.length).toBeLessThanOrEqual(SESSION_POLICY_MAX_CHARS);
    const doc = JSON.parse(text) as { Statement: { Action: string[]; Resource: string[] }[] };
    const writes = doc.Statement.filter((s) =>
      s.Action.some((a) => /:(Put|Modify|Revoke|Authorize)/.test(a)),
    );
    for (const s of writes) expect(s.Resource).not.toContain('*');
    const resources = writes.flatMap((s) => s.Resource);
    const bucket = (plan.steps[0]!.params as { bucket: string }).bucket;
    expect(resources).toContain(`arn:aws:s3:::${bucket}`);
    expect(
      resources.some((r) =>
        r.endsWith(`instance/${(plan.steps[1]!.params as { instanceId: string }).instanceId}`),
      ),
    ).toBe(true);
    expect(
      resources.some((r) =>
        r.endsWith(`security-group/${(plan.steps[2]!.params as { groupId: string }).groupId}`),
      ),
    ).toBe(true);
  });

  it('is refused, not widened, when the plan is too big for one session', () => {
    const step = executable(candidateFor(env, 's3_bucket_versioning_off')).step;
    const steps: PlanStep[] = Array.from({ length: 40 }, (_, i) => ({
      ...step,
      resourceArn: `arn:aws:s3:::bucket-number-${i}-with-a-long-name`,
      params: { bucket: `bucket-number-${i}-with-a-long-name`, region: 'us-east-1' },
    })) as PlanStep[];
    const plan: ExecutionPlan = {
      planId: 'big',
      accountId: env.accountId,
      actionClass: 'security',
      steps,
    };
    expect(() => sessionPolicyFor(plan)).toThrow(
      expect.objectContaining({ code: 'rule_violation', reason: 'session_policy_too_large' }),
    );
  });

  it('credentials for one plan cannot touch a resource outside it (refused by the sandbox)', async () => {
    const a = executable(candidateFor(env, 's3_bucket_versioning_off'));
    const other = executable(candidateFor(env, 's3_bucket_no_public_access_block'));
    const planA = planOf(env, [a]);
    const credentials = await credentialsFor(env, planA);
    const { bucket } = a.parameters as { bucket: string };
    const { bucket: outside, region } = other.parameters as { bucket: string; region: string };
    const s3 = new S3Client({
      endpoint: env.sb.endpoint,
      region,
      forcePathStyle: true,
      credentials,
      maxAttempts: 1,
    });
    const before = dump();
    // The role itself may change versioning on any bucket; this session may not, outside its plan.
    await expect(
      s3.send(
        new PutBucketVersioningCommand({
          Bucket: outside,
          VersioningConfiguration: { Status: 'Enabled' },
        }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(diffStates(before, dump())).toEqual([]);
    // An executor given another plan with these credentials fails at its first read, changing nothing.
    const planB = planOf(env, [other]);
    const r = await executePlan({ plan: planB, credentials, aws: aws(), wait: WAIT });
    expect(r.status).toBe('failed');
    expect(r.progress.steps[0]!.error).toMatchObject({
      phase: 'preflight',
      reason: 'AccessDenied',
    });
    expect(writeCalls(env)).toEqual([]);
    expect(diffStates(before, dump())).toEqual([]);
    // Within the plan it works.
    const ok = await executePlan({ plan: planA, credentials, aws: aws(), wait: WAIT });
    expect(ok.status).toBe('succeeded');
    expect(writeCalls(env, 'PutBucketVersioning')).toHaveLength(1);
    expect(bucket).not.toBe(outside);
  });
});

describe('assuming the execution role', () => {
  it('refuses a wrong External ID, a bad ARN and an oversized policy with clear errors', async () => {
    const role = env.roles.security;
    const plan = planOf(env, [executable(candidateFor(env, 's3_bucket_versioning_off'))]);
    const base = {
      platformCredentials: env.sb.platform.credentials,
      endpoint: env.sb.endpoint,
      roleArn: role.roleArn,
      externalId: role.externalId,
      executionId: 'e1',
      sessionPolicy: sessionPolicyFor(plan),
    };
    await expect(
      assumeExecutionRole({ ...base, externalId: 'not-the-external-id' }),
    ).rejects.toMatchObject({
      code: 'forbidden',
      reason: 'execution_role_unavailable',
    });
    await expect(
      assumeExecutionRole({ ...base, roleArn: 'arn:aws:iam::1:user/x' }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
      reason: 'invalid_role_arn',
    });
    await expect(
      assumeExecutionRole({ ...base, sessionPolicy: ' '.repeat(2049) }),
    ).rejects.toMatchObject({
      code: 'rule_violation',
      reason: 'session_policy_too_large',
    });
    await expect(assumeExecutionRole({ ...base, durationSeconds: 7200 })).rejects.toMatchObject({
      reason: 'invalid_duration',
    });
    const ok = await assumeExecutionRole(base);
    expect(ok.accessKeyId).toMatch(/^ASIA/);
    // The session carries the policy: STS recorded it (it is what narrows the role).
    const call = env.sb.control.calls({ operation: 'AssumeRole' }).pop();
    expect(call?.status).toBe(200);
  });

  it('execution role policies list the class actions (reads included), never "*"', () => {
    for (const cls of ['security', 'cost', 'drift'] as const) {
      const actions = executionRoleActions(cls);
      expect(actions.some((a) => a.includes('*'))).toBe(false);
      expect(executionRolePolicy(cls).Statement[0]!.Action).toEqual(actions);
    }
    expect(executionRoleActions('cost')).toEqual(
      expect.arrayContaining([
        'ec2:CreateSnapshot',
        'ec2:DeleteVolume',
        'ec2:CreateVolume',
        'ec2:DescribeVolumes',
        'ec2:StartInstances',
      ]),
    );
    expect(executionRoleActions('security')).not.toContain('ec2:DeleteVolume');
    expect(executionRoleActions('drift')).toEqual(
      expect.arrayContaining([
        'ec2:CreateTags',
        'ec2:DeleteTags',
        'ec2:DescribeInstances',
        'ec2:DescribeVolumes',
      ]),
    );
  });
});

describe('dry run', () => {
  const plan = () =>
    planOf(env, [
      executable(
        candidateFor(env, 's3_bucket_logging_off', {
          loggingTarget: { bucket: planted(env, 's3_bucket_versioning_off')[0]!.resourceId },
        }),
      ),
      executable(candidateFor(env, 'ec2_imdsv2_not_required')),
      executable(candidateFor(env, 'rds_no_backups')),
      executable(candidateFor(env, 'sg_default_has_rules')),
    ]);

  it('runs the whole plan, changes nothing, and finds nothing in the way', async () => {
    const p = plan();
    const credentials = await credentialsFor(env, p, { dryRun: true });
    const before = dump();
    const report = await dryRunPlan({ plan: p, credentials, aws: aws() });
    expect(report.problems).toEqual([]);
    expect(report.steps.flatMap((s) => s.problems)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(diffStates(before, dump())).toEqual([]);
    expect(writeCalls(env)).toEqual([]);
    // EC2 permissions were checked for real with DryRun; the rest simulated.
    const imds = report.steps[1]!.permissions;
    expect(imds.filter((c) => c.via === 'DryRun').map((c) => `${c.phase}:${c.decision}`)).toEqual([
      'apply:allowed',
      'rollback:allowed',
    ]);
    expect(
      env.sb.control.calls({ operation: 'ModifyInstanceMetadataOptions' }).map((c) => c.errorCode),
    ).toEqual(['DryRunOperation', 'DryRunOperation']);
    expect(
      report.steps[2]!.permissions.every(
        (c) => c.via === 'SimulatePrincipalPolicy' && c.decision === 'allowed',
      ),
    ).toBe(true);
    expect(report.steps[1]!.expectedAfter).toEqual({
      httpTokens: 'required',
      httpEndpoint: 'enabled',
    });
    // The default group's ingress and egress rules: both revocations checked.
    expect(
      report.steps[3]!.permissions.filter((c) => c.via === 'DryRun')
        .map((c) => c.action)
        .sort(),
    ).toEqual([
      'ec2:AuthorizeSecurityGroupEgress',
      'ec2:AuthorizeSecurityGroupIngress',
      'ec2:RevokeSecurityGroupEgress',
      'ec2:RevokeSecurityGroupIngress',
    ]);
  });

  it('reports the permissions the execution role lacks, and a state that no longer matches', async () => {
    const p = plan();
    // A customer who left two actions out of the security role's policy.
    const policy = executionRolePolicy('security');
    policy.Statement[0]!.Action = policy.Statement[0]!.Action.filter(
      (a) => a !== 'ec2:ModifyInstanceMetadataOptions' && a !== 'rds:ModifyDBInstance',
    );
    const r = env.sb.control.createScanRole(env.accountId, {
      externalId: 'limited-ext-id',
      roleName: 'AxiomExecutionSecurityRoleLimited',
      managedPolicyArns: [],
      inlinePolicy: policy,
    });
    const credentials = await assumeExecutionRole({
      platformCredentials: env.sb.platform.credentials,
      endpoint: env.sb.endpoint,
      roleArn: r.roleArn,
      externalId: 'limited-ext-id',
      executionId: 'dry',
      sessionPolicy: sessionPolicyFor(p, { simulateAsRoleArn: r.roleArn }),
    });
    const before = dump();
    const report = await dryRunPlan({ plan: p, credentials, aws: aws() });
    expect(report.ok).toBe(false);
    const denied = report.steps.flatMap((s) =>
      s.permissions
        .filter((c) => c.decision === 'denied')
        .map((c) => `${c.phase} ${c.action} via ${c.via}`),
    );
    expect(denied.sort()).toEqual(
      [
        'apply ec2:ModifyInstanceMetadataOptions via DryRun',
        'rollback ec2:ModifyInstanceMetadataOptions via DryRun',
        'apply rds:ModifyDBInstance via SimulatePrincipalPolicy',
        'rollback rds:ModifyDBInstance via SimulatePrincipalPolicy',
      ].sort(),
    );
    expect(report.steps[1]!.problems.join(' ')).toMatch(/ec2:ModifyInstanceMetadataOptions/);
    expect(diffStates(before, dump())).toEqual([]);

    // A plan approved on a state that has since changed: the dry run says so.
    const stale = JSON.parse(JSON.stringify(p)) as ExecutionPlan;
    (stale.steps[1]!.approvedState as { httpTokens: string }).httpTokens = 'required';
    const creds = await credentialsFor(env, stale, { dryRun: true });
    const report2 = await dryRunPlan({ plan: stale, credentials: creds, aws: aws() });
    expect(report2.steps[1]!.matchesApproval).toBe(false);
    expect(report2.ok).toBe(false);
    expect(diffStates(before, dump())).toEqual([]);
    expect(writeCalls(env)).toEqual([]);
  });

  it('refuses an invalid plan like a live run', async () => {
    const p = plan();
    const credentials = await credentialsFor(env, p, { dryRun: true });
    const e = await dryRunPlan({ plan: { ...p, steps: [] }, credentials, aws: aws() }).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).reason).toBe('invalid_plan');
  });
});
