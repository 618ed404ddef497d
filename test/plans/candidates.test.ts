// Remediation candidates from hand-built findings: the right rules, exact CLI commands (shell-safe),
// Terraform or an honest manual-review reason, rollback plan, verification lines, permissions,
// and the refusals (wrong resource type, nothing to fix, missing facility values).
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { arnFor } from '../../src/cloud/inventory.js';
import {
  ACTION_FOR_CHECK,
  EXECUTABLE_ACTIONS,
  isExecutableAction,
} from '../../src/execution/catalog.js';
import { PREVIEWS, shq } from '../../src/plans/previews.js';
import {
  buildCandidate,
  planStepsOf,
  type ExecutableCandidate,
  type ManualCandidate,
  type RemediationCandidate,
} from '../../src/plans/candidates.js';
import { ACCOUNT, REGION, bucket, eip, group, instance, res, rule, volume } from './fixtures.js';

const exec = (c: RemediationCandidate): ExecutableCandidate => {
  if (c.manualReviewRequired) throw new Error(`manual: ${c.reason}`);
  return c;
};
const manual = (c: RemediationCandidate): ManualCandidate => {
  if (!c.manualReviewRequired) throw new Error('expected a manual candidate');
  return c;
};

describe('security-group rules', () => {
  const g = group('sg-0123456789abcdef0', [
    rule('sgr-00000000000000001'), // tcp 22 from anywhere
    rule('sgr-00000000000000002', { cidrIpv4: null, cidrIpv6: '::/0', fromPort: 0, toPort: 65535 }),
    rule('sgr-00000000000000003', { fromPort: 443, toPort: 443 }),
    rule('sgr-00000000000000004', { cidrIpv4: '10.0.0.0/8' }),
    rule('sgr-00000000000000005', { isEgress: true, protocol: '-1', fromPort: -1, toPort: -1 }),
  ]);

  it('revokes exactly the rules the check is about, by rule id', () => {
    const c = exec(buildCandidate({ checkId: 'sg_open_ssh', resource: g }));
    expect(c.actionId).toBe('ec2.revoke_security_group_rule');
    expect(c.parameters).toMatchObject({ region: REGION, groupId: 'sg-0123456789abcdef0' });
    expect([...(c.parameters as { ruleIds: string[] }).ruleIds].sort()).toEqual([
      'sgr-00000000000000001',
      'sgr-00000000000000002',
    ]);
    expect(c.cliPreview).toEqual([
      `aws ec2 revoke-security-group-ingress --group-id sg-0123456789abcdef0 --security-group-rule-ids ${(c.parameters as { ruleIds: string[] }).ruleIds.join(' ')} --region ${REGION}`,
    ]);
    expect(c.terraformPreview).toMatchObject({ manualReviewRequired: true });
    expect(c.rollbackPlan.reversibility).toBe('reversible_with_new_identity');
    expect(c.rollbackPlan.caveats.join(' ')).toMatch(/new rule id/);
    expect(c.permissions).toContainEqual({
      phase: 'apply',
      action: 'ec2:RevokeSecurityGroupIngress',
      resource: `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/sg-0123456789abcdef0`,
    });
    // The approved state is the whole group, ports -1 normalised to null.
    const approved = c.step.approvedState as {
      rules: { ruleId: string; fromPort: number | null }[];
    };
    expect(approved.rules).toHaveLength(5);
    expect(approved.rules.find((r) => r.ruleId === 'sgr-00000000000000005')!.fromPort).toBeNull();
    expect(c.riskTier).toBe('low');
    expect(c.dryRunAvailable).toBe('DryRun');
  });

  it('open-all-ports and default-group checks pick their own rules; none matching is refused', () => {
    expect(
      (
        exec(buildCandidate({ checkId: 'sg_open_all_ports', resource: g })).parameters as {
          ruleIds: string[];
        }
      ).ruleIds,
    ).toEqual(['sgr-00000000000000002']);
    const def = group(
      'sg-0000000000000000d',
      [
        rule('sgr-0000000000000000a', {
          cidrIpv4: null,
          referencedGroupId: 'sg-0000000000000000d',
          protocol: '-1',
          fromPort: -1,
          toPort: -1,
        }),
        rule('sgr-0000000000000000b', { isEgress: true, protocol: '-1', fromPort: -1, toPort: -1 }),
      ],
      { name: 'default' },
    );
    const d = exec(buildCandidate({ checkId: 'sg_default_has_rules', resource: def }));
    expect([...(d.parameters as { ruleIds: string[] }).ruleIds].sort()).toEqual([
      'sgr-0000000000000000a',
      'sgr-0000000000000000b',
    ]);
    // Ingress and egress are revoked by their own commands.
    expect(d.cliPreview).toEqual([
      `aws ec2 revoke-security-group-ingress --group-id sg-0000000000000000d --security-group-rule-ids sgr-0000000000000000a --region ${REGION}`,
      `aws ec2 revoke-security-group-egress --group-id sg-0000000000000000d --security-group-rule-ids sgr-0000000000000000b --region ${REGION}`,
    ]);
    const clean = group('sg-0000000000000000c', [
      rule('sgr-0000000000000000c', { fromPort: 443, toPort: 443 }),
    ]);
    expect(() => buildCandidate({ checkId: 'sg_open_ssh', resource: clean })).toThrow(
      expect.objectContaining({ code: 'invalid_input', reason: 'nothing_to_remediate' }),
    );
  });
});

describe('S3', () => {
  it('bucket block: exact CLI, Terraform with an import when a block exists', () => {
    const none = exec(
      buildCandidate({ checkId: 's3_bucket_public_acl', resource: bucket('my-bucket') }),
    );
    expect(none.cliPreview).toEqual([
      `aws s3api put-public-access-block --bucket my-bucket --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true --region ${REGION}`,
    ]);
    const tf = none.terraformPreview;
    expect(tf.manualReviewRequired).toBe(false);
    expect(!tf.manualReviewRequired && tf.hcl).toContain(
      'resource "aws_s3_bucket_public_access_block" "my_bucket"',
    );
    expect(!tf.manualReviewRequired && tf.hcl).not.toContain('import {');
    expect(none.step.approvedState).toEqual({ publicAccessBlock: null });
    expect(none.rollbackPlan.strategy).toMatch(/delete-public-access-block/);
    const some = exec(
      buildCandidate({
        checkId: 's3_bucket_no_public_access_block',
        resource: bucket('my-bucket', {
          publicAccessBlock: {
            blockPublicAcls: true,
            ignorePublicAcls: false,
            blockPublicPolicy: false,
            restrictPublicBuckets: false,
          },
        }),
      }),
    );
    expect(!some.terraformPreview.manualReviewRequired && some.terraformPreview.hcl).toContain(
      'import {',
    );
    expect(some.rollbackPlan.strategy).toMatch(/BlockPublicAcls=true,IgnorePublicAcls=false/);
    expect(some.verification[0]).toMatch(/all four flags true/);
  });

  it('access logging needs a target from the facility policy, and never the bucket itself', () => {
    const b = bucket('logged-bucket');
    const m = manual(buildCandidate({ checkId: 's3_bucket_logging_off', resource: b }));
    expect(m.reason).toMatch(/target bucket/);
    expect(m.wouldBe).toBe('s3.enable_access_logging');
    expect(
      manual(
        buildCandidate({ checkId: 's3_bucket_logging_off', resource: b }, undefined, {
          loggingTarget: { bucket: 'logged-bucket' },
        }),
      ).reason,
    ).toMatch(/itself/);
    const c = exec(
      buildCandidate({ checkId: 's3_bucket_logging_off', resource: b }, undefined, {
        loggingTarget: { bucket: 'central-logs' },
      }),
    );
    expect(c.parameters).toEqual({
      bucket: 'logged-bucket',
      region: REGION,
      targetBucket: 'central-logs',
      targetPrefix: 'logged-bucket/',
    });
    expect(c.cliPreview[0]).toBe(
      `aws s3api put-bucket-logging --bucket logged-bucket --bucket-logging-status '{"LoggingEnabled":{"TargetBucket":"central-logs","TargetPrefix":"logged-bucket/"}}' --region ${REGION}`,
    );
  });

  it('versioning is partially reversible (medium); the account block is global', () => {
    const v = exec(
      buildCandidate({ checkId: 's3_bucket_versioning_off', resource: bucket('vv-bucket') }),
    );
    expect(v.rollbackPlan.reversibility).toBe('partially_reversible');
    expect(v.riskTier).toBe('medium');
    expect(v.rollbackPlan.strategy).toMatch(/Suspended/);
    const pab = res(
      'AWS::S3::AccountPublicAccessBlock',
      ACCOUNT,
      { publicAccessBlock: null },
      { arn: arnFor.accountPublicAccessBlock(ACCOUNT), region: 'global' },
    );
    const a = exec(
      buildCandidate({ checkId: 's3_account_public_access_block_off', resource: pab }),
    );
    expect(a.cliPreview[0]).toMatch(
      /^aws s3control put-public-access-block --account-id 123456789012 /,
    );
    expect(a.permissions.map((x) => `${x.action} ${x.resource}`)).toContain(
      's3:PutAccountPublicAccessBlock *',
    );
  });
});

describe('EC2 cost', () => {
  it('snapshot-then-delete: three commands in order, only for unattached volumes', () => {
    const c = exec(
      buildCandidate({
        checkId: 'ebs_volume_unattached',
        resource: volume('vol-0123456789abcdef0'),
      }),
    );
    expect(c.cliPreview.map((x) => x.split(' ').slice(0, 3).join(' '))).toEqual([
      'aws ec2 create-snapshot',
      'aws ec2 wait',
      'aws ec2 delete-volume',
    ]);
    expect(c.rollbackPlan).toMatchObject({
      reversibility: 'reversible_with_new_identity',
      dataLossRisk: 'low',
    });
    expect(c.riskTier).toBe('medium');
    expect(
      manual(
        buildCandidate({
          checkId: 'ebs_volume_unattached',
          resource: volume('vol-0123456789abcdef1', { attachedTo: 'i-1' }),
        }),
      ).reason,
    ).toMatch(/attached/);
  });

  it('gp3 keeps at least the gp2 performance in its exact command', () => {
    const small = exec(
      buildCandidate({
        checkId: 'ebs_volume_gp2',
        resource: volume('vol-00000000000000001', { type: 'gp2', size: 100, iops: 300 }),
      }),
    );
    expect(small.cliPreview[0]).toBe(
      `aws ec2 modify-volume --volume-id vol-00000000000000001 --volume-type gp3 --iops 3000 --throughput 125 --region ${REGION}`,
    );
    const big = exec(
      buildCandidate({
        checkId: 'ebs_volume_gp2',
        resource: volume('vol-00000000000000002', { type: 'gp2', size: 2000, iops: 6000 }),
      }),
    );
    expect(big.cliPreview[0]).toContain('--iops 6000 --throughput 250');
    expect(big.rollbackPlan.expectedRecoveryTime).toBe('PT6H');
  });

  it('an Elastic IP release is irreversible and high risk; an associated one is not released', () => {
    const c = exec(
      buildCandidate({
        checkId: 'eip_unassociated',
        resource: eip('eipalloc-00000000000000001', null),
      }),
    );
    expect(c.rollbackPlan).toMatchObject({
      reversibility: 'irreversible',
      expectedRecoveryTime: 'none',
    });
    expect(c.riskTier).toBe('high');
    expect(
      manual(
        buildCandidate({
          checkId: 'eip_unassociated',
          resource: eip('eipalloc-00000000000000002', 'i-1'),
        }),
      ).reason,
    ).toMatch(/associated/);
  });

  it('an instance in an Auto Scaling group is not stopped', () => {
    const i = instance('i-00000000000000001', { tags: { 'aws:autoscaling:groupName': 'web' } });
    expect(manual(buildCandidate({ checkId: 'ec2_idle', resource: i })).reason).toMatch(
      /Auto Scaling/,
    );
    const ok = exec(
      buildCandidate({ checkId: 'ec2_idle', resource: instance('i-00000000000000002') }),
    );
    expect(!ok.terraformPreview.manualReviewRequired && ok.terraformPreview.hcl).toContain(
      'aws_ec2_instance_state',
    );
    expect(ok.rollbackPlan.downtimeRisk).toBe('high');
  });
});

describe('IAM and tags', () => {
  const key = res(
    'AWS::IAM::AccessKey',
    '0123456789abcdef',
    {
      userName: 'deploy-bot',
      fingerprint: '0123456789abcdef',
      lastFour: 'WXYZ',
      status: 'Active',
      createDate: '2025-01-01T00:00:00.000Z',
      lastUsedDate: null,
      lastUsedService: null,
    },
    { arn: arnFor.accessKey(ACCOUNT, 'deploy-bot', '0123456789abcdef') },
  );

  it('access keys are named by fingerprint: the CLI finds the key by its last four characters', () => {
    const c = exec(buildCandidate({ checkId: 'iam_access_key_old', resource: key }));
    expect(c.parameters).toEqual({ userName: 'deploy-bot', fingerprint: '0123456789abcdef' });
    expect(c.cliPreview[0]).toContain(`ends_with(AccessKeyId, 'WXYZ')`);
    expect(c.cliPreview[0]).toMatch(/--status Inactive$/);
    expect(JSON.stringify(c)).not.toMatch(/AKIA[A-Z0-9]{16}/);
    expect(c.terraformPreview).toMatchObject({ manualReviewRequired: true });
  });

  it('password policy: a strong target, exact flags, Terraform with import when one exists', () => {
    const pp = res(
      'AWS::IAM::PasswordPolicy',
      ACCOUNT,
      {
        policy: {
          minimumPasswordLength: 8,
          requireSymbols: false,
          requireNumbers: true,
          requireUppercaseCharacters: false,
          requireLowercaseCharacters: true,
          passwordReusePrevention: null,
          maxPasswordAge: 90,
        },
      },
      { arn: arnFor.passwordPolicy(ACCOUNT) },
    );
    const c = exec(buildCandidate({ checkId: 'iam_password_policy_weak', resource: pp }));
    expect(c.cliPreview[0]).toBe(
      'aws iam update-account-password-policy --minimum-password-length 14 --require-symbols --require-numbers --require-uppercase-characters --require-lowercase-characters --allow-users-to-change-password --password-reuse-prevention 24 --max-password-age 90',
    );
    expect(!c.terraformPreview.manualReviewRequired && c.terraformPreview.hcl).toContain(
      'id = "iam-account-password-policy"',
    );
  });

  it('tags: values from the facility policy, shell-safe; RDS and missing values are manual', () => {
    const i = instance('i-00000000000000003', { tags: { Owner: 'ops' } });
    const c = exec(
      buildCandidate({ checkId: 'tags_missing', resource: i }, undefined, {
        requiredTags: { Owner: 'ignored', Environment: "it's prod", CostCenter: '$(rm -rf /)' },
      }),
    );
    expect(c.parameters).toEqual({
      region: REGION,
      resourceId: 'i-00000000000000003',
      tags: { CostCenter: '$(rm -rf /)', Environment: "it's prod" },
    });
    expect(c.cliPreview[0]).toBe(
      `aws ec2 create-tags --resources i-00000000000000003 --tags 'Key=CostCenter,Value=$(rm -rf /)' 'Key=Environment,Value=it'\\''s prod' --region ${REGION}`,
    );
    expect(c.step.approvedState).toEqual({ tags: { CostCenter: null, Environment: null } });
    const hcl = !c.terraformPreview.manualReviewRequired && c.terraformPreview.hcl;
    expect(hcl).toContain('value       = "$(rm -rf /)"');
    expect(manual(buildCandidate({ checkId: 'tags_missing', resource: i })).reason).toMatch(
      /no values/,
    );
    const db = res('AWS::RDS::DBInstance', 'db-1', {
      dbInstanceIdentifier: 'db-1',
      engine: 'postgres',
      engineVersion: '16',
      instanceClass: 'db.t3.micro',
      status: 'available',
      allocatedStorageGiB: 20,
      multiAz: false,
      publiclyAccessible: false,
      storageEncrypted: true,
      backupRetentionPeriod: 7,
      deletionProtection: true,
      createTime: null,
      securityGroupIds: [],
      utilization: null,
    });
    expect(
      manual(
        buildCandidate({ checkId: 'tags_missing', resource: db }, undefined, {
          requiredTags: { Owner: 'x' },
        }),
      ).reason,
    ).toMatch(/AddTagsToResource/);
  });

  it('shq quotes only what needs quoting', () => {
    expect(shq('plain-value_1.2/x:y')).toBe('plain-value_1.2/x:y');
    expect(shq('a b')).toBe("'a b'");
    expect(shq("a'b")).toBe("'a'\\''b'");
  });
});

describe('the catalog and refusals', () => {
  it('manual checks stay manual; unknown checks are manual with a reason', () => {
    const root = res(
      'AWS::IAM::Root',
      ACCOUNT,
      { accountAccessKeysPresent: true, accountMfaEnabled: false },
      { arn: arnFor.root(ACCOUNT) },
    );
    const m = manual(buildCandidate({ checkId: 'iam_root_mfa_off', resource: root }));
    expect(m.actionId).toBe('manual');
    expect(m.wouldBe).toBeNull();
    expect(manual(buildCandidate({ checkId: 'no_such_check', resource: root })).reason).toMatch(
      /no remediation/,
    );
  });

  it('every executable action has a preview and is named by some check', () => {
    for (const a of EXECUTABLE_ACTIONS) {
      expect(PREVIEWS[a], a).toBeTypeOf('function');
      expect(Object.values(ACTION_FOR_CHECK), a).toContain(a);
    }
    expect(
      Object.values(ACTION_FOR_CHECK).every((a) => a === 'manual' || isExecutableAction(a)),
    ).toBe(true);
  });

  it('an action on the wrong kind of resource is refused', () => {
    const e = (() => {
      try {
        buildCandidate({ checkId: 'x', resource: bucket('b-b-b') }, 'ec2.stop_instance');
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).reason).toBe('action_resource_mismatch');
  });

  it('plan steps put irreversible actions last', () => {
    const steps = planStepsOf([
      buildCandidate({
        checkId: 'eip_unassociated',
        resource: eip('eipalloc-00000000000000003', null),
      }),
      buildCandidate({ checkId: 'ec2_idle', resource: instance('i-00000000000000004') }),
      buildCandidate({ checkId: 'iam_root_mfa_off', resource: instance('i-00000000000000005') }),
    ]);
    expect(steps.map((s) => s.actionId)).toEqual(['ec2.stop_instance', 'ec2.release_address']);
  });
});
