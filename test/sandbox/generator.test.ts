// The generator: determinism, scale, and an independent reading of the documented problem
// definitions (docs/sandbox.md) against the generated state, which must find exactly the
// answer key — every planted problem, nothing else (traps included).
import { describe, expect, it } from 'vitest';
import {
  generateAccount,
  PROBLEMS,
  type AnswerKeyEntry,
  type GenerateOptions,
} from '../../src/sandbox/generator.js';
import { dumpAccount } from '../../src/sandbox/dump.js';
import { isPolicyPublic, parsePolicy } from '../../src/sandbox/policy.js';
import { ALL_USERS, AUTHENTICATED_USERS } from '../../src/sandbox/services/s3.js';
import { series, statistic } from '../../src/sandbox/metrics.js';
import type { Account } from '../../src/sandbox/state.js';

const NOW = Date.UTC(2026, 10, 1);
const DAY = 86_400_000;
const base: GenerateOptions = {
  seed: 'gen',
  size: 300,
  regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'],
  now: NOW,
};

/** The documented definitions, read straight off the state. */
function reference(a: Account): string[] {
  const out: string[] = [];
  const add = (p: string, id: string, region: string) => out.push(`${p}|${id}|${region}`);
  const full = (p?: {
    BlockPublicAcls: boolean;
    IgnorePublicAcls: boolean;
    BlockPublicPolicy: boolean;
    RestrictPublicBuckets: boolean;
  }) =>
    !!p &&
    p.BlockPublicAcls &&
    p.IgnorePublicAcls &&
    p.BlockPublicPolicy &&
    p.RestrictPublicBuckets;
  const acctPab = a.s3.accountPublicAccessBlock;
  if (!full(acctPab)) add('s3_account_public_access_block_off', a.id, 'global');
  for (const b of a.s3.buckets.values()) {
    const ignoreAcls = !!(acctPab?.IgnorePublicAcls || b.publicAccessBlock?.IgnorePublicAcls);
    const restrict = !!(
      acctPab?.RestrictPublicBuckets || b.publicAccessBlock?.RestrictPublicBuckets
    );
    const publicGrant = b.grants.some(
      (g) =>
        g.grantee.type === 'Group' &&
        (g.grantee.uri === ALL_USERS || g.grantee.uri === AUTHENTICATED_USERS),
    );
    if (publicGrant && !ignoreAcls && b.ownership !== 'BucketOwnerEnforced')
      add('s3_bucket_public_acl', b.name, b.region);
    if (b.policy && isPolicyPublic(parsePolicy(b.policy)) && !restrict)
      add('s3_bucket_public_policy', b.name, b.region);
    if (!full(b.publicAccessBlock) && !full(acctPab))
      add('s3_bucket_no_public_access_block', b.name, b.region);
    if (!b.encryption) add('s3_bucket_no_encryption', b.name, b.region);
    if (b.versioning !== 'Enabled') add('s3_bucket_versioning_off', b.name, b.region);
    if (!b.logging) add('s3_bucket_logging_off', b.name, b.region);
  }
  let multiLogging = false;
  for (const [r, st] of a.regions) {
    const e = st.ec2;
    if (!e.ebsEncryptionByDefault) add('ebs_default_encryption_off', a.id, r);
    for (const g of e.securityGroups.values()) {
      const open = g.rules.filter(
        (x) => !x.egress && (x.cidrIpv4 === '0.0.0.0/0' || x.cidrIpv6 === '::/0'),
      );
      const covers = (port: number) =>
        open.some(
          (x) =>
            x.protocol === '-1' || (x.protocol === 'tcp' && x.fromPort <= port && port <= x.toPort),
        );
      if (covers(22)) add('sg_open_ssh', g.id, r);
      if (covers(3389)) add('sg_open_rdp', g.id, r);
      if (open.some((x) => x.protocol === '-1' || (x.fromPort <= 0 && x.toPort >= 65535)))
        add('sg_open_all_ports', g.id, r);
      if (g.name === 'default' && g.rules.length > 0) add('sg_default_has_rules', g.id, r);
    }
    const tagsOk = (t: { Key: string }[]) =>
      ['Owner', 'Environment', 'CostCenter'].every((k) => t.some((x) => x.Key === k));
    for (const i of e.instances.values()) {
      if (
        i.state !== 'terminated' &&
        i.metadata.httpTokens === 'optional' &&
        i.metadata.httpEndpoint === 'enabled'
      )
        add('ec2_imdsv2_not_required', i.id, r);
      if (!tagsOk(i.tags)) add('tags_missing', i.id, r);
      if (i.state === 'stopped' && NOW - (i.stoppedAt ?? NOW) > 30 * DAY)
        add('ec2_stopped_long', i.id, r);
      if (i.state === 'running' && NOW - i.launchTime >= 14 * DAY) {
        const cpu = series(
          a,
          r,
          'AWS/EC2',
          'CPUUtilization',
          { InstanceId: i.id },
          NOW - 14 * DAY,
          NOW,
          86400,
        ).map((p) => statistic(p.values, 'Average'));
        const nin = series(
          a,
          r,
          'AWS/EC2',
          'NetworkIn',
          { InstanceId: i.id },
          NOW - 14 * DAY,
          NOW,
          86400,
        ).map((p) => statistic(p.values, 'Sum'));
        const nout = series(
          a,
          r,
          'AWS/EC2',
          'NetworkOut',
          { InstanceId: i.id },
          NOW - 14 * DAY,
          NOW,
          86400,
        ).map((p) => statistic(p.values, 'Sum'));
        if (Math.max(...cpu) < 5 && Math.max(...nin.map((v, k) => v + nout[k]!)) < 5e6)
          add('ec2_idle', i.id, r);
      }
    }
    for (const v of e.volumes.values()) {
      if (!v.encrypted) add('ebs_volume_unencrypted', v.id, r);
      if (v.state === 'available') add('ebs_volume_unattached', v.id, r);
      if (v.type === 'gp2') add('ebs_volume_gp2', v.id, r);
      if (!tagsOk(v.tags)) add('tags_missing', v.id, r);
    }
    for (const s of e.snapshots.values()) {
      if (s.createVolumeGroups.includes('all')) add('ebs_snapshot_public', s.id, r);
      if (NOW - s.startTime > 90 * DAY) add('ebs_snapshot_old', s.id, r);
    }
    for (const img of e.images.values())
      if (img.launchGroups.includes('all')) add('ami_public', img.id, r);
    for (const ad of e.addresses.values())
      if (!ad.associationId) add('eip_unassociated', ad.allocationId, r);
    for (const d of st.rds.instances.values()) {
      if (d.publiclyAccessible) add('rds_public', d.id, r);
      if (!d.storageEncrypted) add('rds_unencrypted', d.id, r);
      if (d.backupRetentionPeriod === 0) add('rds_no_backups', d.id, r);
      if (!d.deletionProtection) add('rds_no_deletion_protection', d.id, r);
      if (!tagsOk(d.tags)) add('tags_missing', d.id, r);
      if (d.status === 'available' && NOW - d.createTime >= 14 * DAY) {
        const c = series(
          a,
          r,
          'AWS/RDS',
          'DatabaseConnections',
          { DBInstanceIdentifier: d.id },
          NOW - 14 * DAY,
          NOW,
          86400,
        ).map((p) => statistic(p.values, 'Maximum'));
        if (Math.max(...c) === 0) add('rds_idle', d.id, r);
      }
    }
    for (const s of st.rds.snapshots.values())
      if (s.restoreAttrs.includes('all')) add('rds_snapshot_public', s.id, r);
    for (const t of st.trails.values()) {
      if (!t.isMultiRegion) add('cloudtrail_single_region', t.name, r);
      if (!t.logFileValidation) add('cloudtrail_no_log_validation', t.name, r);
      if (!t.isLogging) add('cloudtrail_not_logging', t.name, r);
      if (t.isMultiRegion && t.isLogging) multiLogging = true;
    }
    for (const k of st.kms.values())
      if (k.manager === 'CUSTOMER' && k.state === 'Enabled' && !k.rotationEnabled)
        add('kms_rotation_off', k.id, r);
  }
  if (!multiLogging) add('cloudtrail_missing', a.id, 'global');
  const { iam } = a;
  if (iam.root.accessKeys.some((k) => k.active)) add('iam_root_access_keys', a.id, 'global');
  if (!iam.root.mfaEnabled) add('iam_root_mfa_off', a.id, 'global');
  const pp = iam.passwordPolicy;
  if (!pp || pp.MinimumPasswordLength < 14 || (pp.PasswordReusePrevention ?? 0) < 24)
    add('iam_password_policy_weak', a.id, 'global');
  for (const u of iam.users.values()) {
    if (u.passwordEnabled && u.mfaDevices.length === 0)
      add('iam_user_console_no_mfa', u.name, 'global');
    for (const k of u.accessKeys) {
      if (k.status !== 'Active') continue;
      if (NOW - k.createDate > 90 * DAY) add('iam_access_key_old', k.id, 'global');
      const lastUse = k.lastUsed?.date;
      if (NOW - k.createDate > 45 * DAY && (lastUse === undefined || NOW - lastUse > 45 * DAY))
        add('iam_access_key_unused', k.id, 'global');
    }
  }
  for (const role of iam.roles.values()) {
    const doc = parsePolicy(role.trustPolicy);
    const bad = doc.Statement.some((s) => {
      if (s.Effect !== 'Allow' || !s.Principal || s.Principal === '*') return false;
      const foreign = (s.Principal.AWS ?? []).some((p) => {
        const m = /^(?:arn:aws:iam::)?(\d{12})/.exec(p);
        return m && m[1] !== a.id;
      });
      const ext = Object.entries(s.Condition ?? {}).some(
        ([op, e]) =>
          op.startsWith('StringEquals') &&
          Object.keys(e).some((key) => key.toLowerCase() === 'sts:externalid'),
      );
      return foreign && !ext;
    });
    if (bad) add('iam_role_third_party_trust_no_external_id', role.name, 'global');
  }
  return out.sort();
}

const keyOf = (k: AnswerKeyEntry[]) =>
  k.map((e) => `${e.problem}|${e.resourceId}|${e.region}`).sort();

describe('generateAccount', () => {
  it('is deterministic for the same inputs and differs for another seed', () => {
    const a = generateAccount(base);
    const b = generateAccount(base);
    expect(dumpAccount(b.account, NOW)).toEqual(dumpAccount(a.account, NOW));
    expect(b.answerKey).toEqual(a.answerKey);
    const c = generateAccount({ ...base, seed: 'other' });
    expect(JSON.stringify(dumpAccount(c.account, NOW))).not.toBe(
      JSON.stringify(dumpAccount(a.account, NOW)),
    );
  });

  it('plants every default problem, and the documented definitions find exactly the answer key', () => {
    const g = generateAccount(base);
    const planted = new Set(g.answerKey.map((e) => e.problem));
    for (const p of PROBLEMS)
      if (p !== 'cloudtrail_missing' && p !== 's3_bucket_no_encryption')
        expect(planted.has(p), p).toBe(true);
    expect(reference(g.account)).toEqual(keyOf(g.answerKey));
  });

  it('opt-in problems and omitted problems keep the key exact', () => {
    const g = generateAccount({
      ...base,
      seed: 'opt',
      include: ['cloudtrail_missing', 's3_bucket_no_encryption'],
      omit: ['s3_account_public_access_block_off', 'ec2_idle'],
    });
    const planted = new Set(g.answerKey.map((e) => e.problem));
    expect(planted.has('cloudtrail_missing')).toBe(true);
    expect(planted.has('s3_bucket_no_encryption')).toBe(true);
    expect(planted.has('ec2_idle')).toBe(false);
    expect(planted.has('s3_account_public_access_block_off')).toBe(false);
    expect(planted.has('s3_bucket_public_acl')).toBe(false);
    expect(g.traps.some((t) => t.trap === 'public_acl_masked_by_account_block')).toBe(true);
    expect(reference(g.account)).toEqual(keyOf(g.answerKey));
  });

  it('every key entry refers to an existing resource; traps exist and are not in the key', () => {
    const g = generateAccount(base);
    const a = g.account;
    for (const e of g.answerKey) {
      const st = a.regions.get(e.region);
      const exists =
        e.region === 'global'
          ? e.resourceId === a.id ||
            a.iam.users.has(e.resourceId) ||
            a.iam.roles.has(e.resourceId) ||
            [...a.iam.users.values()].some((u) => u.accessKeys.some((k) => k.id === e.resourceId))
          : e.resourceId === a.id ||
            !!st?.ec2.instances.has(e.resourceId) ||
            !!st?.ec2.volumes.has(e.resourceId) ||
            !!st?.ec2.snapshots.has(e.resourceId) ||
            !!st?.ec2.securityGroups.has(e.resourceId) ||
            !!st?.ec2.images.has(e.resourceId) ||
            !!st?.ec2.addresses.has(e.resourceId) ||
            !!st?.rds.instances.has(e.resourceId) ||
            !!st?.rds.snapshots.has(e.resourceId) ||
            !!st?.trails.has(e.resourceId) ||
            !!st?.kms.has(e.resourceId) ||
            a.s3.buckets.get(e.resourceId)?.region === e.region;
      expect(exists, `${e.problem} ${e.resourceId}`).toBe(true);
      expect(e.resourceArn).toMatch(/^arn:aws:/);
    }
    const trapNames = g.traps.map((t) => t.trap);
    expect(trapNames).toEqual(
      expect.arrayContaining([
        'sg_open_443_only',
        'policy_restricted_by_source_vpce',
        'policy_restricted_by_org',
        'policy_restricted_by_source_arn',
        'public_acl_ignored_by_bucket_block',
        'third_party_trust_with_external_id',
      ]),
    );
    for (const t of g.traps)
      expect(
        g.answerKey.some((e) => e.resourceId === t.resourceId && e.problem === t.looksLike),
        t.trap,
      ).toBe(false);
  });

  it('scales: 20,000 resources spread over regions (its speed is in bench/sandbox.ts)', () => {
    const g = generateAccount({
      seed: 'scale',
      size: 20_000,
      regions: ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1'],
      now: NOW,
    });
    let n = g.account.s3.buckets.size + g.account.iam.users.size + g.account.iam.roles.size;
    for (const r of g.account.regions.values())
      n +=
        r.ec2.instances.size +
        r.ec2.volumes.size +
        r.ec2.snapshots.size +
        r.ec2.securityGroups.size +
        r.ec2.addresses.size +
        r.ec2.images.size +
        r.rds.instances.size +
        r.rds.snapshots.size +
        r.kms.size +
        r.secrets.size +
        r.trails.size;
    expect(n).toBeGreaterThanOrEqual(20_000);
    expect(g.answerKey.length).toBeGreaterThan(1000);
  });
});

describe('regions', () => {
  it('us-east-1 is always enabled; when not populated it is empty and clean', () => {
    const g = generateAccount({
      seed: 'eu-only',
      size: 100,
      regions: ['eu-west-1', 'eu-central-1'],
      now: NOW,
    });
    expect(g.account.enabledRegions.sort()).toEqual(['eu-central-1', 'eu-west-1', 'us-east-1']);
    const us = g.account.regions.get('us-east-1')!;
    expect(us.ec2.instances.size + us.ec2.securityGroups.size + us.rds.instances.size).toBe(0);
    expect(g.answerKey.some((e) => e.region === 'us-east-1')).toBe(false);
    expect(reference(g.account)).toEqual(keyOf(g.answerKey));
  });
});
