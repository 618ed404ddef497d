// Every executable action against the sandbox with the real SDK, as the opt-in execution role
// narrowed by the plan's session policy: apply + verify changes what it should, then a requested
// rollback restores the account exactly — the state dumps before and after differ only in the
// paths AWS cannot restore (new rule ids, versioning Suspended, a new volume id...), and those
// are asserted exactly, not ignored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffStates, type ProblemId, type StateDump } from '../../src/sandbox/index.js';
import {
  executePlan,
  rollbackExecution,
  type ExecutionResult,
} from '../../src/execution/executor.js';
import { EXECUTABLE_ACTIONS, type ExecutableActionId } from '../../src/execution/catalog.js';
import { findAwsCredential } from '../../src/security/redact.js';
import type { CandidateOptions, ExecutableCandidate } from '../../src/plans/candidates.js';
import {
  WAIT,
  candidateFor,
  credentialsFor,
  executable,
  inventory,
  paths,
  planOf,
  planted,
  startEnv,
  type Env,
} from './support.js';

let env: Env;
beforeAll(async () => {
  env = await startEnv('exec-actions', { include: ['s3_bucket_no_encryption'] });
});
afterAll(() => env.sb.stop());

const dump = (): StateDump => env.sb.control.dumpState(env.accountId);
const aws = () => ({ endpoint: env.sb.endpoint });

async function run(c: ExecutableCandidate): Promise<ExecutionResult> {
  const plan = planOf(env, [c]);
  const r = await executePlan({
    plan,
    credentials: await credentialsFor(env, plan),
    aws: aws(),
    wait: WAIT,
  });
  return r;
}
async function undo(c: ExecutableCandidate, r: ExecutionResult): Promise<ExecutionResult> {
  const plan = planOf(env, [c], r.progress.planId);
  return rollbackExecution({
    plan,
    progress: r.progress,
    credentials: await credentialsFor(env, plan),
    aws: aws(),
    wait: WAIT,
  });
}

interface Case {
  problem: ProblemId;
  opts?: () => CandidateOptions;
  /** Paths the change must touch (JSON Pointer prefixes in the dump). */
  changes: (c: ExecutableCandidate, before: StateDump) => string[];
  /** What AWS cannot restore: the exact diff left after the rollback. */
  leftover?: (c: ExecutableCandidate, before: StateDump, after: StateDump) => string[];
}

const p = (c: ExecutableCandidate) =>
  c.parameters as Record<string, string> & {
    region: string;
    bucket: string;
    instanceId: string;
    resourceId: string;
  };
const bucketPath = (c: ExecutableCandidate) => `/s3/buckets/${p(c).bucket}`;
const esc = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

const CASES: Record<
  Exclude<
    ExecutableActionId,
    | 'ec2.modify_volume_gp3'
    | 'ec2.snapshot_and_delete_volume'
    | 'ec2.release_address'
    | 'ec2.delete_snapshot'
  >,
  Case
> = {
  's3.put_account_public_access_block': {
    problem: 's3_account_public_access_block_off',
    changes: () => ['/s3/accountPublicAccessBlock'],
  },
  's3.put_bucket_public_access_block': {
    problem: 's3_bucket_no_public_access_block',
    changes: (c) => [`${bucketPath(c)}/publicAccessBlock`],
  },
  's3.enable_default_encryption': {
    problem: 's3_bucket_no_encryption',
    changes: (c) => [`${bucketPath(c)}/encryption`],
  },
  's3.enable_versioning': {
    problem: 's3_bucket_versioning_off',
    changes: (c) => [`${bucketPath(c)}/versioning`],
    // AWS: a bucket never returns to "never versioned"; Suspended is as close as it gets.
    leftover: (c, before) =>
      (before.s3 as { buckets: Record<string, { versioning?: string }> }).buckets[p(c).bucket]!
        .versioning
        ? []
        : [`added ${bucketPath(c)}/versioning`],
  },
  's3.enable_access_logging': {
    problem: 's3_bucket_logging_off',
    opts: () => ({
      loggingTarget: {
        bucket: inventory(env).find(
          (r) =>
            r.type === 'AWS::S3::Bucket' &&
            r.resourceId !== planted(env, 's3_bucket_logging_off')[0]!.resourceId,
        )!.resourceId,
        prefix: 'logs/',
      },
    }),
    changes: (c) => [`${bucketPath(c)}/logging`],
  },
  'ec2.revoke_security_group_rule': {
    problem: 'sg_open_ssh',
    changes: (c) => [`/regions/${p(c).region}/ec2/securityGroups/${p(c).groupId}/rules`],
    // Re-authorised rules get new ids: the rule (same content, description, tags) is back.
    leftover: (c, before) => {
      const { region, groupId, ruleIds } = c.parameters as {
        region: string;
        groupId: string;
        ruleIds: string[];
      };
      const rules = (
        before.regions as Record<
          string,
          { ec2: { securityGroups: Record<string, { rules: Record<string, { id: string }> }> } }
        >
      )[region]!.ec2.securityGroups[groupId]!.rules;
      return Object.entries(rules)
        .filter(([, r]) => ruleIds.includes(r.id))
        .map(
          ([sig]) =>
            `changed /regions/${region}/ec2/securityGroups/${groupId}/rules/${esc(sig)}/id`,
        )
        .sort();
    },
  },
  'ec2.require_imdsv2': {
    problem: 'ec2_imdsv2_not_required',
    changes: (c) => [
      `/regions/${p(c).region}/ec2/instances/${p(c).instanceId}/metadata/httpTokens`,
    ],
  },
  'ec2.enable_ebs_default_encryption': {
    problem: 'ebs_default_encryption_off',
    changes: (c) => [`/regions/${p(c).region}/ec2/ebsEncryptionByDefault`],
  },
  'ec2.disable_snapshot_public': {
    problem: 'ebs_snapshot_public',
    changes: (c) => [
      `/regions/${p(c).region}/ec2/snapshots/${p(c).snapshotId}/createVolumePermission/groups`,
    ],
  },
  'ec2.disable_image_public': {
    problem: 'ami_public',
    changes: (c) => [`/regions/${p(c).region}/ec2/images/${p(c).imageId}/launchPermission/groups`],
  },
  'ec2.stop_instance': {
    problem: 'ec2_idle',
    changes: (c) => [`/regions/${p(c).region}/ec2/instances/${p(c).instanceId}/state`],
    // An auto-assigned public IPv4 changes across stop/start (an Elastic IP would stay).
    leftover: (c, before) => {
      const i = (
        before.regions as Record<
          string,
          { ec2: { instances: Record<string, { publicIp?: string }> } }
        >
      )[p(c).region]!.ec2.instances[p(c).instanceId]!;
      return i.publicIp
        ? [`changed /regions/${p(c).region}/ec2/instances/${p(c).instanceId}/publicIp`]
        : [];
    },
  },
  'rds.disable_public_access': {
    problem: 'rds_public',
    changes: (c) => [
      `/regions/${p(c).region}/rds/instances/${p(c).dbInstanceIdentifier}/publiclyAccessible`,
    ],
  },
  'rds.enable_backups': {
    problem: 'rds_no_backups',
    changes: (c) => [
      `/regions/${p(c).region}/rds/instances/${p(c).dbInstanceIdentifier}/backupRetentionPeriod`,
    ],
  },
  'rds.enable_deletion_protection': {
    problem: 'rds_no_deletion_protection',
    changes: (c) => [
      `/regions/${p(c).region}/rds/instances/${p(c).dbInstanceIdentifier}/deletionProtection`,
    ],
  },
  'rds.disable_snapshot_public': {
    problem: 'rds_snapshot_public',
    changes: (c) => [`/regions/${p(c).region}/rds/snapshots/${p(c).dbSnapshotIdentifier}/restore`],
  },
  'cloudtrail.enable_log_validation': {
    problem: 'cloudtrail_no_log_validation',
    changes: (c) => [`/regions/${p(c).region}/cloudtrail/${p(c).trailName}/logFileValidation`],
  },
  'cloudtrail.start_logging': {
    problem: 'cloudtrail_not_logging',
    changes: (c) => [`/regions/${p(c).region}/cloudtrail/${p(c).trailName}/isLogging`],
  },
  'cloudtrail.enable_multi_region': {
    problem: 'cloudtrail_single_region',
    // A multi-region trail must include global service events (restored by the rollback).
    changes: (c) => [
      `/regions/${p(c).region}/cloudtrail/${p(c).trailName}/isMultiRegion`,
      `/regions/${p(c).region}/cloudtrail/${p(c).trailName}/includeGlobalServiceEvents`,
    ],
  },
  'iam.deactivate_access_key': {
    problem: 'iam_access_key_old',
    changes: (c) => [`/iam/users/${p(c).userName}/accessKeys`],
  },
  'iam.update_password_policy': {
    problem: 'iam_password_policy_weak',
    changes: () => ['/iam/passwordPolicy'],
  },
  'kms.enable_key_rotation': {
    problem: 'kms_rotation_off',
    changes: (c) => [`/regions/${p(c).region}/kms/${p(c).keyId}/rotationEnabled`],
  },
  'tags.add_required_tags': {
    problem: 'tags_missing',
    opts: () => ({
      requiredTags: { Owner: 'platform-team', Environment: 'prod', CostCenter: 'cc-42' },
    }),
    changes: (c) => [
      `/regions/${p(c).region}/ec2/${p(c).resourceId.startsWith('i-') ? 'instances' : 'volumes'}/${p(c).resourceId}/tags`,
    ],
  },
};

describe('every action: apply + verify, then rollback restores the account', () => {
  it('covers every executable action id', () => {
    const covered = new Set([
      ...Object.keys(CASES),
      'ec2.modify_volume_gp3',
      'ec2.snapshot_and_delete_volume',
      'ec2.release_address',
      'ec2.delete_snapshot',
    ]);
    expect([...EXECUTABLE_ACTIONS].filter((a) => !covered.has(a))).toEqual([]);
  });

  for (const [actionId, k] of Object.entries(CASES) as [ExecutableActionId, Case][]) {
    it(actionId, async () => {
      const c = executable(
        candidateFor(
          env,
          k.problem,
          k.opts?.() ?? {},
          // tags_missing is planted on RDS too (manual there): take an EC2 resource.
          (e) => k.problem !== 'tags_missing' || e.resourceType !== 'AWS::RDS::DBInstance',
        ),
      );
      expect(c.actionId).toBe(actionId);
      const before = dump();
      const r = await run(c);
      expect(r.progress.steps[0]!.error).toBeUndefined();
      expect(r.status).toBe('succeeded');
      expect(r.progress.steps[0]!.state).toBe('verified');

      // The change landed where it should, and only there.
      const applied = dump();
      const changed = paths(diffStates(before, applied));
      expect(changed.length).toBeGreaterThan(0);
      const allowed = k.changes(c, before);
      for (const path of changed)
        expect(
          allowed.some((a) => path.split(' ')[1]!.startsWith(a)) || false,
          `${path} is outside ${allowed.join(', ')}`,
        ).toBe(true);

      // One audit event: before, after, rollback strategy; never an access key.
      expect(r.audit.map((a) => a.type)).toEqual(['execution.action_applied']);
      const ev = r.audit[0]!;
      expect(ev.before).toBeTruthy();
      expect(ev.after).toBeTruthy();
      expect(ev.rollbackStrategy.description.length).toBeGreaterThan(10);
      expect(findAwsCredential(JSON.parse(JSON.stringify(r)))).toBeUndefined();

      // Rollback on request.
      const rb = await undo(c, r);
      expect(rb.progress.steps[0]!.rollback?.error).toBeUndefined();
      expect(rb.status).toBe('rolled_back');
      expect(rb.progress.steps[0]!.state).toBe('rolled_back');
      expect(rb.audit.map((a) => a.type)).toEqual(['execution.action_rolled_back']);
      const after = dump();
      const left = paths(diffStates(before, after));
      expect(left.sort()).toEqual(k.leftover ? k.leftover(c, before, after) : []);
    });
  }
});

describe('the default security group', () => {
  it('revokes its ingress and egress rules by id and re-authorises both (new ids only)', async () => {
    const c = executable(candidateFor(env, 'sg_default_has_rules'));
    const { region, groupId } = c.parameters as { region: string; groupId: string };
    const rulesOf = (d: StateDump) =>
      (
        d.regions as Record<
          string,
          { ec2: { securityGroups: Record<string, { rules: Record<string, { id: string }> }> } }
        >
      )[region]!.ec2.securityGroups[groupId]!.rules;
    const before = dump();
    const sigs = Object.keys(rulesOf(before));
    expect(sigs.some((s) => s.startsWith('egress:'))).toBe(true);
    expect(sigs.some((s) => s.startsWith('ingress:'))).toBe(true);
    const r = await run(c);
    expect(r.status).toBe('succeeded');
    expect(rulesOf(dump())).toEqual({});
    const rb = await undo(c, r);
    expect(rb.status).toBe('rolled_back');
    expect(paths(diffStates(before, dump())).sort()).toEqual(
      sigs
        .map((s) => `changed /regions/${region}/ec2/securityGroups/${groupId}/rules/${esc(s)}/id`)
        .sort(),
    );
  });
});

describe('snapshot then delete a volume', () => {
  it('snapshots first (completed), deletes, and restores a volume equal field by field', async () => {
    const c = executable(candidateFor(env, 'ebs_volume_unattached'));
    const { region, volumeId } = c.parameters as { region: string; volumeId: string };
    const before = dump();
    const r = await run(c);
    expect(r.status).toBe('succeeded');
    const snapshotId = r.progress.steps[0]!.artifacts.snapshotId!;
    const calls = env.sb.control.calls({ accountId: env.accountId });
    const created = calls.findIndex((x) => x.operation === 'CreateSnapshot' && x.status === 200);
    const deleted = calls.findIndex((x) => x.operation === 'DeleteVolume' && x.status === 200);
    expect(created).toBeGreaterThanOrEqual(0);
    expect(deleted).toBeGreaterThan(created);
    // The snapshot was complete before the delete: a describe saw it completed in between.
    const ec2 = (d: StateDump) =>
      (
        d.regions as Record<
          string,
          {
            ec2: {
              volumes: Record<string, Record<string, unknown>>;
              snapshots: Record<string, Record<string, unknown>>;
            };
          }
        >
      )[region]!.ec2;
    expect(ec2(dump()).snapshots[snapshotId]!.state).toBe('completed');
    expect(ec2(dump()).snapshots[snapshotId]!.volumeId).toBe(volumeId);
    expect(ec2(dump()).volumes[volumeId]).toBeUndefined();

    const rb = await undo(c, r);
    expect(rb.status).toBe('rolled_back');
    const restoredId = (rb.progress.steps[0]!.rollback!.result as { volumeId: string }).volumeId;
    expect(restoredId).not.toBe(volumeId);
    const after = dump();
    // AWS cannot restore the id: the old volume is gone, a new one exists, the snapshot stays.
    expect(paths(diffStates(before, after)).sort()).toEqual(
      [
        `added /regions/${region}/ec2/snapshots/${snapshotId}`,
        `added /regions/${region}/ec2/volumes/${restoredId}`,
        `removed /regions/${region}/ec2/volumes/${volumeId}`,
      ].sort(),
    );
    // Field by field, the restored volume is the old one (but for its creation and source).
    const old = ec2(before).volumes[volumeId]!;
    const now = ec2(after).volumes[restoredId]!;
    const { createTime: _a, snapshotId: _b, ...oldFields } = old;
    const { createTime: _c, snapshotId: restoredFrom, ...newFields } = now;
    expect(newFields).toEqual(oldFields);
    expect(restoredFrom).toBe(snapshotId);
  });
});

describe('irreversible actions', () => {
  for (const [problem, actionId] of [
    ['eip_unassociated', 'ec2.release_address'],
    ['ebs_snapshot_old', 'ec2.delete_snapshot'],
  ] as const) {
    it(`${actionId}: applied and verified; a rollback says plainly it cannot undo it`, async () => {
      const c = executable(candidateFor(env, problem));
      expect(c.rollbackPlan.reversibility).toBe('irreversible');
      expect(c.riskTier).toBe('high');
      const before = dump();
      const r = await run(c);
      expect(r.status).toBe('succeeded');
      const gone = paths(diffStates(before, dump()));
      expect(gone).toEqual([
        `removed ${c.resourceArn.includes('elastic-ip') ? `/regions/${c.region}/ec2/addresses/${c.resourceId}` : `/regions/${c.region}/ec2/snapshots/${c.resourceId}`}`,
      ]);
      const rb = await undo(c, r);
      expect(rb.status).toBe('rollback_incomplete');
      expect(rb.progress.steps[0]!.rollback?.status).toBe('irreversible');
      expect(rb.audit.map((a) => a.type)).toEqual(['execution.action_irreversible']);
      expect(paths(diffStates(before, dump()))).toEqual(gone);
    });
  }
});

describe('gp2 → gp3 (partially reversible: one modification per 6 hours)', () => {
  it('applies; the rollback waits out the cooldown, then restores gp2', async () => {
    const c = executable(candidateFor(env, 'ebs_volume_gp2'));
    const { region, volumeId } = c.parameters as { region: string; volumeId: string };
    const before = dump();
    const r = await run(c);
    expect(r.status).toBe('succeeded');
    const vol = () =>
      (
        dump().regions as Record<
          string,
          { ec2: { volumes: Record<string, Record<string, unknown>> } }
        >
      )[region]!.ec2.volumes[volumeId]!;
    expect(vol().type).toBe('gp3');
    expect(vol().iops).toBeGreaterThanOrEqual(3000);

    // Right away, AWS refuses a second modification: the rollback fails and says when to retry.
    const first = await undo(c, r);
    expect(first.status).toBe('rollback_incomplete');
    expect(first.progress.steps[0]!.rollback?.error?.reason).toBe('volume_modification_cooldown');
    expect(first.progress.steps[0]!.rollback?.error?.message).toMatch(/retry the rollback after/);
    expect(vol().type).toBe('gp3');

    // Six hours later (new credentials: the old session expired with the clock) it succeeds.
    env.sb.control.advanceTime(6 * 3600_000 + 1000);
    const second = await undo(c, first);
    expect(second.status).toBe('rolled_back');
    expect(paths(diffStates(before, dump()))).toEqual([
      `added /regions/${region}/ec2/volumes/${esc(volumeId)}/modification`,
    ]);
    expect({ type: vol().type, iops: vol().iops, throughput: vol().throughput }).toEqual({
      type: 'gp2',
      iops: (
        before.regions as Record<
          string,
          { ec2: { volumes: Record<string, Record<string, unknown>> } }
        >
      )[region]!.ec2.volumes[volumeId]!.iops,
      throughput: undefined,
    });
    expect(planted(env, 'ebs_volume_gp2').length).toBeGreaterThan(0);
  });
});
