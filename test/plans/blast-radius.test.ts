// Blast radius over hand-built inventories: dependents found through the recorded references up
// to 3 hops (and not 4), classes at their boundaries, and the risk tier the plan gets from its
// actions and its radius.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  approversRequired,
  assessPlan,
  blastRadius,
  blastRadiusClass,
  riskTier,
} from '../../src/plans/blast-radius.js';
import { arnFor } from '../../src/cloud/inventory.js';
import { ACCOUNT, bucket, eip, eni, group, instance, res, rule, volume } from './fixtures.js';

describe('dependents', () => {
  it("a security group reaches its interfaces, their instances, and the instances' volumes and addresses", () => {
    const inv = [
      group('sg-1', [rule('sgr-1')], { enis: ['eni-1'] }),
      eni('eni-1', 'i-1', ['sg-1']),
      eni('eni-2', 'i-2', ['sg-1']), // found through the interface's own groups
      eni('eni-3', 'i-3', ['sg-other']),
      instance('i-1', { volumes: ['vol-1'], enis: ['eni-1'], sgs: ['sg-1'] }),
      instance('i-2', { enis: ['eni-2'], sgs: ['sg-1'] }),
      instance('i-3', { enis: ['eni-3'] }),
      volume('vol-1', { attachedTo: 'i-1' }),
      eip('eipalloc-1', 'i-2'),
      volume('vol-9'),
    ];
    const r = blastRadius([inv[0]!.arn], inv);
    const byHop = (h: number) =>
      r.dependents
        .filter((d) => d.hops === h)
        .map((d) => d.resourceId)
        .sort();
    expect(byHop(1)).toEqual(['eni-1', 'eni-2', 'i-1', 'i-2']);
    expect(byHop(2)).toEqual(['eipalloc-1', 'vol-1']);
    expect(r.dependents.map((d) => d.resourceId)).not.toContain('i-3');
    expect(r.dependents.map((d) => d.resourceId)).not.toContain('vol-9');
    expect(r.total).toBe(7);
    expect(r.class).toBe('moderate');
    expect(r.dependents.find((d) => d.resourceId === 'vol-1')!.via).toBe("the instance's volume");
  });

  it('stops at 3 hops', () => {
    // b0 ← b1 ← b2 ← b3 ← b4: each bucket logs into the previous one.
    const inv = [0, 1, 2, 3, 4].map((i) =>
      bucket(`b${i}`, i ? { logging: { targetBucket: `b${i - 1}`, targetPrefix: '' } } : {}),
    );
    const r = blastRadius(['arn:aws:s3:::b0'], inv);
    expect(r.dependents.map((d) => `${d.resourceId}@${d.hops}`)).toEqual(['b1@1', 'b2@2', 'b3@3']);
    expect(blastRadius(['arn:aws:s3:::b0'], inv, { maxHops: 4 }).dependents).toHaveLength(4);
  });

  it('a volume reaches its instance, an instance its volumes and Elastic IPs, a key its user; cycles end', () => {
    const inv = [
      instance('i-1', { volumes: ['vol-1', 'vol-2'] }),
      volume('vol-1', { attachedTo: 'i-1' }),
      volume('vol-2', { attachedTo: 'i-1' }),
      eip('eipalloc-1', 'i-1'),
      res(
        'AWS::IAM::User',
        'alice',
        {
          userName: 'alice',
          userId: 'AIDA',
          createDate: '2026-01-01T00:00:00.000Z',
          consoleAccess: false,
          mfaDeviceCount: 0,
          passwordLastUsed: null,
        },
        { arn: `arn:aws:iam::${ACCOUNT}:user/alice` },
      ),
      res('AWS::IAM::AccessKey', 'fp', {
        userName: 'alice',
        fingerprint: '0123456789abcdef',
        lastFour: 'WXYZ',
        status: 'Active',
        createDate: '2026-01-01T00:00:00.000Z',
        lastUsedDate: null,
        lastUsedService: null,
      }),
    ];
    const fromVolume = blastRadius([inv[1]!.arn], inv)
      .dependents.map((d) => d.resourceId)
      .sort();
    expect(fromVolume).toEqual(['eipalloc-1', 'i-1', 'vol-2']);
    expect(
      blastRadius([inv[0]!.arn], inv)
        .dependents.map((d) => d.resourceId)
        .sort(),
    ).toEqual(['eipalloc-1', 'vol-1', 'vol-2']);
    expect(blastRadius([inv[5]!.arn], inv).dependents.map((d) => d.resourceId)).toEqual(['alice']);
  });

  it('an account-wide block reaches every bucket of the account; a bucket, the trails writing to it', () => {
    const buckets = Array.from({ length: 25 }, (_, i) => bucket(`b-${i}`));
    const pab = res(
      'AWS::S3::AccountPublicAccessBlock',
      ACCOUNT,
      { publicAccessBlock: null },
      {
        arn: arnFor.accountPublicAccessBlock(ACCOUNT),
        region: 'global',
      },
    );
    const trail = res('AWS::CloudTrail::Trail', 'main', {
      name: 'main',
      homeRegion: 'us-east-1',
      isMultiRegionTrail: true,
      logFileValidationEnabled: true,
      isLogging: true,
      s3BucketName: 'b-3',
      kmsKeyId: null,
      isOrganizationTrail: false,
    });
    const inv = [pab, trail, ...buckets];
    const r = blastRadius([pab.arn], inv);
    expect(r.total).toBe(27); // the block, 25 buckets, and the trail behind b-3 (hop 2)
    expect(r.class).toBe('broad');
    expect(blastRadius(['arn:aws:s3:::b-3'], inv).dependents.map((d) => d.resourceId)).toEqual([
      'main',
    ]);
  });

  it('names touched resources the inventory does not know', () => {
    const r = blastRadius(['arn:aws:s3:::ghost'], [bucket('real')]);
    expect(r.unknown).toEqual(['arn:aws:s3:::ghost']);
    expect(r.total).toBe(1);
  });
});

describe('classes and risk', () => {
  it('contained 1–5, moderate 6–20, broad 21+', () => {
    expect([1, 5, 6, 20, 21, 500].map(blastRadiusClass)).toEqual([
      'contained',
      'contained',
      'moderate',
      'moderate',
      'broad',
      'broad',
    ]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 100 }), (n, k) => {
        const order = ['contained', 'moderate', 'broad'];
        return order.indexOf(blastRadiusClass(n)) <= order.indexOf(blastRadiusClass(n + k));
      }),
    );
  });

  it('tier from the actions, raised by the radius; high needs two approvers', () => {
    expect(riskTier(['s3.put_bucket_public_access_block'], 'contained')).toBe('low');
    expect(riskTier(['ec2.revoke_security_group_rule'], 'contained')).toBe('low');
    expect(riskTier(['ec2.stop_instance'], 'contained')).toBe('medium');
    expect(riskTier(['ec2.snapshot_and_delete_volume'], 'contained')).toBe('medium');
    expect(riskTier(['s3.enable_versioning'], 'contained')).toBe('medium');
    expect(riskTier(['ec2.modify_volume_gp3'], 'contained')).toBe('medium');
    expect(riskTier(['ec2.release_address'], 'contained')).toBe('high');
    expect(riskTier(['ec2.delete_snapshot', 'tags.add_required_tags'], 'contained')).toBe('high');
    expect(riskTier(['s3.put_bucket_public_access_block'], 'moderate')).toBe('medium');
    expect(riskTier(['s3.put_bucket_public_access_block'], 'broad')).toBe('high');
    expect(riskTier(['manual'], 'contained')).toBe('low');
    expect([
      approversRequired('low'),
      approversRequired('medium'),
      approversRequired('high'),
    ]).toEqual([1, 1, 2]);
  });

  it('assesses a plan: radius, tier, approvers, cap', () => {
    const inv = [
      group('sg-1', [rule('sgr-1')], { enis: ['eni-1'] }),
      eni('eni-1', 'i-1', ['sg-1']),
      instance('i-1'),
    ];
    const a = assessPlan(
      [{ actionId: 'ec2.revoke_security_group_rule', resourceArn: inv[0]!.arn }],
      inv,
    );
    expect(a.blastRadius.total).toBe(3);
    expect(a.riskTier).toBe('low');
    expect(a.approversRequired).toBe(1);
    expect(a.rollbackVerificationRequired).toBe(false);
    expect(a.withinCap).toBe(true);
    expect(
      assessPlan([{ actionId: 'ec2.revoke_security_group_rule', resourceArn: inv[0]!.arn }], inv, {
        blastRadiusCap: 2,
      }).withinCap,
    ).toBe(false);
  });
});
