// The findings engine: pure, deterministic functions over one scan's inventory. evaluate() runs every
// enabled check of the catalog over the resources and returns finding candidates — the check, the
// resource, and as evidence only the metadata fields that triggered it. The scan job passes the
// candidates to api.finding_sync, which deduplicates them against earlier scans and versions their
// lifecycle. The exact definitions match docs/sandbox.md (the sandbox's answer key) and
// docs/findings.md.
import type {
  AnyInventoryResource,
  InventoryResource,
  PublicAccessBlock,
  ResourceType,
  ScannedService,
} from '../cloud/inventory.js';
import { CHECKS, checkById, type Check, type FindingDomain, type Severity } from './catalog.js';
import {
  effectiveConfiguration,
  type BaselineRule,
  type EffectiveConfiguration,
  type Thresholds,
} from './config.js';
import { fingerprintResource } from './fingerprint.js';
import { awsPrincipals, fullBlock, hasExternalIdCondition, principalAccount } from './policy.js';
import {
  dbInstanceMonthlyUsd,
  gp2ToGp3MonthlySavingUsd,
  instanceMonthlyUsd,
  publicIpv4MonthlyUsd,
  snapshotMonthlyUsd,
  volumeMonthlyUsd,
} from './prices.js';
import { evaluateS3Public } from './s3.js';

export interface FindingCandidate {
  checkId: string;
  resourceArn: string;
  resourceType: string;
  resourceId: string;
  accountId: string;
  region: string;
  domain: FindingDomain;
  severity: Severity;
  /** The metadata fields that triggered the finding (and the thresholds they were held against). */
  evidence: Record<string, unknown>;
  /** Cost checks: estimated monthly saving in USD from the price table (absent when unpriceable). */
  estimatedMonthlySavingUsd?: number;
}

export interface EvaluationContext {
  /** The time of the scan: ages and windows are measured against it. */
  now: Date | string | number;
  /** Which checks run, thresholds, required tags, baselines; default: the catalog's defaults. */
  configuration?: EffectiveConfiguration;
  /**
   * Services the scan collected completely. Checks that conclude from an absence (no logging trail)
   * run only when their service is complete. Default: every service.
   */
  completeServices?: readonly ScannedService[];
}

const DAY = 86_400_000;

/** The catalog's defaults as an effective configuration. */
export function defaultConfiguration(): EffectiveConfiguration {
  return effectiveConfiguration(catalogDefaults());
}

export function catalogDefaults(): {
  enabledByDefault: string[];
  known: ReadonlySet<string>;
} {
  return {
    enabledByDefault: CHECKS.filter((c) => c.enabledByDefault).map((c) => c.id),
    known: new Set(CHECKS.map((c) => c.id)),
  };
}

/** The services a finding of this check about this resource type depends on (resolution needs them all complete). */
export function servicesFor(check: Check, resourceType: string): ScannedService[] {
  if (check.services.length > 0) return [...check.services];
  return [serviceOfType(resourceType)];
}

export function serviceOfType(resourceType: string): ScannedService {
  const m = /^AWS::([A-Za-z0-9]+)::/.exec(resourceType);
  switch (m?.[1]) {
    case 'S3':
      return 's3';
    case 'EC2':
      return 'ec2';
    case 'RDS':
      return 'rds';
    case 'CloudTrail':
      return 'cloudtrail';
    case 'IAM':
      return 'iam';
    case 'KMS':
      return 'kms';
    default:
      throw new Error(`no service for resource type ${resourceType}`);
  }
}

function toMs(v: Date | string | number): number {
  const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms)) throw new Error(`not a time: ${String(v)}`);
  return ms;
}

/** Milliseconds since an ISO time; NaN when the time is absent or unreadable. */
function ageMs(now: number, iso: string | null | undefined): number {
  return iso ? now - Date.parse(iso) : NaN;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

type ByType = { [T in ResourceType]: InventoryResource<T>[] };

/** Resources by type; a resource listed twice (same type and ARN) counts once, the first listing. */
function group(resources: readonly AnyInventoryResource[]): {
  by: ByType;
  unique: readonly AnyInventoryResource[];
} {
  const by = {} as Record<string, AnyInventoryResource[]>;
  const arns = new Map<string, Set<string>>();
  let unique: AnyInventoryResource[] | null = null;
  for (let i = 0; i < resources.length; i++) {
    const r = resources[i]!;
    let seen = arns.get(r.type);
    if (!seen) arns.set(r.type, (seen = new Set()));
    if (seen.has(r.arn)) {
      // The first duplicate: from here on, keep a filtered copy.
      unique ??= resources.slice(0, i);
      continue;
    }
    seen.add(r.arn);
    unique?.push(r);
    (by[r.type] ??= []).push(r);
  }
  return { by: by as unknown as ByType, unique: unique ?? resources };
}

const list = <T extends ResourceType>(by: ByType, t: T): InventoryResource<T>[] => by[t] ?? [];

interface Emit {
  (
    check: Check,
    r: { arn: string; type: string; resourceId: string; accountId: string; region: string },
    evidence: Record<string, unknown>,
    saving?: number | null,
  ): void;
}

const ANYWHERE_V4 = '0.0.0.0/0';
const ANYWHERE_V6 = '::/0';

/**
 * Run the enabled checks over one scan's inventory. Deterministic: the same resources and context give
 * the same candidates in the same order (check id, then resource ARN); one candidate per (check, ARN).
 */
export function evaluate(
  resources: readonly AnyInventoryResource[],
  ctx: EvaluationContext,
): FindingCandidate[] {
  const now = toMs(ctx.now);
  const cfg = ctx.configuration ?? defaultConfiguration();
  const t: Thresholds = cfg.thresholds;
  const complete = (s: ScannedService): boolean =>
    ctx.completeServices === undefined || ctx.completeServices.includes(s);
  const on = (id: string): Check | null => {
    if (!cfg.enabledChecks.has(id)) return null;
    const c = checkById(id);
    if (!c) throw new Error(`check ${id} is enabled but not in the catalog`);
    return c;
  };
  const { by, unique } = group(resources);
  resources = unique;
  const out: FindingCandidate[] = [];
  const seen = new Set<string>();
  const emit: Emit = (check, r, evidence, saving) => {
    const key = `${check.id}\u0000${r.arn}`;
    if (seen.has(key)) return;
    seen.add(key);
    const c: FindingCandidate = {
      checkId: check.id,
      resourceArn: r.arn,
      resourceType: r.type,
      resourceId: r.resourceId,
      accountId: r.accountId,
      region: r.region,
      domain: check.domain,
      severity: check.severity,
      evidence,
    };
    if (saving !== undefined && saving !== null) c.estimatedMonthlySavingUsd = saving;
    out.push(c);
  };

  // ---------------------------------------------------------------- S3
  const accountBlocks = new Map<string, PublicAccessBlock | null>();
  for (const r of list(by, 'AWS::S3::AccountPublicAccessBlock'))
    accountBlocks.set(r.accountId, r.data.publicAccessBlock);
  const cAccountBlock = on('s3_account_public_access_block_off');
  if (cAccountBlock)
    for (const r of list(by, 'AWS::S3::AccountPublicAccessBlock'))
      if (!fullBlock(r.data.publicAccessBlock))
        emit(cAccountBlock, r, { publicAccessBlock: r.data.publicAccessBlock });
  {
    const cAcl = on('s3_bucket_public_acl');
    const cPolicy = on('s3_bucket_public_policy');
    const cNoBlock = on('s3_bucket_no_public_access_block');
    const cEnc = on('s3_bucket_no_encryption');
    const cVer = on('s3_bucket_versioning_off');
    const cLog = on('s3_bucket_logging_off');
    for (const r of list(by, 'AWS::S3::Bucket')) {
      const d = r.data;
      // An account without a collected block is treated as having none (the stricter reading).
      const account = accountBlocks.get(r.accountId) ?? null;
      if (cAcl || cPolicy) {
        const e = evaluateS3Public(d, account);
        if (cAcl && e.aclPublic)
          emit(cAcl, r, {
            publicGrants: e.publicGrants,
            objectOwnership: d.objectOwnership,
            bucketIgnorePublicAcls: d.publicAccessBlock?.ignorePublicAcls ?? null,
            accountIgnorePublicAcls: account?.ignorePublicAcls ?? null,
          });
        if (cPolicy && e.policyPublic)
          emit(cPolicy, r, {
            publicStatements: e.publicStatements,
            bucketRestrictPublicBuckets: d.publicAccessBlock?.restrictPublicBuckets ?? null,
            accountRestrictPublicBuckets: account?.restrictPublicBuckets ?? null,
          });
      }
      if (cNoBlock && !fullBlock(d.publicAccessBlock) && !fullBlock(account))
        emit(cNoBlock, r, {
          bucketPublicAccessBlock: d.publicAccessBlock,
          accountPublicAccessBlock: account,
        });
      if (cEnc && d.encryption === null) emit(cEnc, r, { encryption: null });
      if (cVer && d.versioning !== 'Enabled') emit(cVer, r, { versioning: d.versioning });
      if (cLog && d.logging === null) emit(cLog, r, { logging: null });
    }
  }

  // ---------------------------------------------------------------- security groups
  {
    const cSsh = on('sg_open_ssh');
    const cRdp = on('sg_open_rdp');
    const cAll = on('sg_open_all_ports');
    const cDef = on('sg_default_has_rules');
    for (const r of list(by, 'AWS::EC2::SecurityGroup')) {
      const ssh: unknown[] = [];
      const rdp: unknown[] = [];
      const all: unknown[] = [];
      for (const rule of r.data.rules) {
        if (rule.isEgress) continue;
        const source =
          rule.cidrIpv4 === ANYWHERE_V4
            ? ANYWHERE_V4
            : rule.cidrIpv6 === ANYWHERE_V6
              ? ANYWHERE_V6
              : null;
        if (!source) continue;
        const proto = rule.protocol.toLowerCase();
        const from = rule.fromPort ?? 0;
        const to = rule.toPort ?? 65535;
        const allProtocols = proto === '-1' || proto === 'all';
        const tcp = proto === 'tcp' || proto === '6';
        const summary = {
          ruleId: rule.ruleId,
          protocol: rule.protocol,
          fromPort: rule.fromPort,
          toPort: rule.toPort,
          source,
        };
        if (allProtocols || (tcp && from <= 22 && 22 <= to)) ssh.push(summary);
        if (allProtocols || (tcp && from <= 3389 && 3389 <= to)) rdp.push(summary);
        if (allProtocols || (rule.fromPort === 0 && rule.toPort === 65535)) all.push(summary);
      }
      if (cSsh && ssh.length) emit(cSsh, r, { rules: ssh });
      if (cRdp && rdp.length) emit(cRdp, r, { rules: rdp });
      if (cAll && all.length) emit(cAll, r, { rules: all });
      if (cDef && r.data.groupName === 'default' && r.data.rules.length > 0)
        emit(cDef, r, {
          groupName: 'default',
          rules: r.data.rules.map((x) => ({
            ruleId: x.ruleId,
            direction: x.isEgress ? 'egress' : 'ingress',
            protocol: x.protocol,
            fromPort: x.fromPort,
            toPort: x.toPort,
            source: x.cidrIpv4 ?? x.cidrIpv6 ?? x.referencedGroupId ?? x.prefixListId,
          })),
        });
    }
  }

  // ---------------------------------------------------------------- instances, volumes, snapshots, images, EIPs
  const volumes = new Map<string, InventoryResource<'AWS::EC2::Volume'>>();
  for (const v of list(by, 'AWS::EC2::Volume'))
    volumes.set(`${v.accountId}/${v.region}/${v.data.volumeId}`, v);
  {
    const cImds = on('ec2_imdsv2_not_required');
    const cIdle = on('ec2_idle');
    const cStopped = on('ec2_stopped_long');
    const window = t.ec2_idle_window_days;
    for (const r of list(by, 'AWS::EC2::Instance')) {
      const d = r.data;
      if (
        cImds &&
        d.state !== 'terminated' &&
        d.metadataOptions.httpTokens === 'optional' &&
        d.metadataOptions.httpEndpoint === 'enabled'
      )
        emit(cImds, r, { state: d.state, metadataOptions: d.metadataOptions });
      if (
        cIdle &&
        d.state === 'running' &&
        d.utilization &&
        ageMs(now, d.launchTime) >= window * DAY
      ) {
        const u = d.utilization;
        if (
          u.windowDays >= window &&
          u.cpuAverageDaily.length >= u.windowDays &&
          u.networkBytesDaily.length >= u.windowDays
        ) {
          const cpu = u.cpuAverageDaily.slice(-window);
          const net = u.networkBytesDaily.slice(-window);
          if (
            cpu.every((x) => x < t.ec2_idle_cpu_percent) &&
            net.every((x) => x < t.ec2_idle_network_bytes_per_day)
          )
            emit(
              cIdle,
              r,
              {
                state: d.state,
                instanceType: d.instanceType,
                launchTime: d.launchTime,
                windowDays: window,
                cpuAverageDaily: cpu.map(round2),
                networkBytesDaily: net,
                thresholds: {
                  cpuPercent: t.ec2_idle_cpu_percent,
                  networkBytesPerDay: t.ec2_idle_network_bytes_per_day,
                },
              },
              instanceMonthlyUsd(d.instanceType, r.region),
            );
        }
      }
      if (
        cStopped &&
        d.state === 'stopped' &&
        ageMs(now, d.stoppedSince) > t.ec2_stopped_days * DAY
      ) {
        let saving: number | null = null;
        for (const id of d.volumeIds) {
          const v = volumes.get(`${r.accountId}/${r.region}/${id}`);
          const usd = v ? volumeMonthlyUsd({ ...v.data, region: r.region }) : null;
          if (usd !== null) saving = round2((saving ?? 0) + usd);
        }
        emit(
          cStopped,
          r,
          {
            state: d.state,
            stoppedSince: d.stoppedSince,
            days: Math.floor(ageMs(now, d.stoppedSince) / DAY),
            volumeIds: d.volumeIds,
            thresholdDays: t.ec2_stopped_days,
          },
          saving,
        );
      }
    }
  }
  {
    const cEnc = on('ebs_volume_unencrypted');
    const cUnatt = on('ebs_volume_unattached');
    const cGp2 = on('ebs_volume_gp2');
    for (const r of list(by, 'AWS::EC2::Volume')) {
      const d = r.data;
      if (cEnc && !d.encrypted) emit(cEnc, r, { encrypted: false });
      if (cUnatt && d.state === 'available')
        emit(
          cUnatt,
          r,
          {
            state: d.state,
            attachments: d.attachments.length,
            volumeType: d.volumeType,
            sizeGiB: d.sizeGiB,
          },
          volumeMonthlyUsd({ ...d, region: r.region }),
        );
      if (cGp2 && d.volumeType === 'gp2')
        emit(
          cGp2,
          r,
          { volumeType: d.volumeType, sizeGiB: d.sizeGiB, iops: d.iops },
          gp2ToGp3MonthlySavingUsd({ sizeGiB: d.sizeGiB, iops: d.iops, region: r.region }),
        );
    }
  }
  {
    const cPub = on('ebs_snapshot_public');
    const cOld = on('ebs_snapshot_old');
    for (const r of list(by, 'AWS::EC2::Snapshot')) {
      const d = r.data;
      if (cPub && d.createVolumePermission.groups.includes('all'))
        emit(cPub, r, { createVolumePermission: { groups: d.createVolumePermission.groups } });
      if (cOld && ageMs(now, d.startTime) > t.ebs_snapshot_age_days * DAY)
        emit(
          cOld,
          r,
          {
            startTime: d.startTime,
            days: Math.floor(ageMs(now, d.startTime) / DAY),
            volumeSizeGiB: d.volumeSizeGiB,
            thresholdDays: t.ebs_snapshot_age_days,
          },
          snapshotMonthlyUsd(d.volumeSizeGiB, r.region),
        );
    }
  }
  {
    const c = on('ami_public');
    if (c)
      for (const r of list(by, 'AWS::EC2::Image'))
        if (r.data.launchPermission.groups.includes('all'))
          emit(c, r, { launchPermission: { groups: r.data.launchPermission.groups } });
  }
  {
    const c = on('eip_unassociated');
    if (c)
      for (const r of list(by, 'AWS::EC2::EIP'))
        if (r.data.associationId === null)
          emit(
            c,
            r,
            { associationId: null, publicIp: r.data.publicIp },
            publicIpv4MonthlyUsd(r.region),
          );
  }
  {
    const c = on('ebs_default_encryption_off');
    if (c)
      for (const r of list(by, 'AWS::EC2::EbsEncryptionByDefault'))
        if (!r.data.enabled) emit(c, r, { enabled: false });
  }

  // ---------------------------------------------------------------- RDS
  {
    const cPub = on('rds_public');
    const cEnc = on('rds_unencrypted');
    const cBak = on('rds_no_backups');
    const cDel = on('rds_no_deletion_protection');
    const cIdle = on('rds_idle');
    const window = t.rds_idle_window_days;
    for (const r of list(by, 'AWS::RDS::DBInstance')) {
      const d = r.data;
      if (cPub && d.publiclyAccessible) emit(cPub, r, { publiclyAccessible: true });
      if (cEnc && !d.storageEncrypted) emit(cEnc, r, { storageEncrypted: false });
      if (cBak && d.backupRetentionPeriod === 0) emit(cBak, r, { backupRetentionPeriod: 0 });
      if (cDel && !d.deletionProtection) emit(cDel, r, { deletionProtection: false });
      if (
        cIdle &&
        d.status === 'available' &&
        d.utilization &&
        ageMs(now, d.createTime) >= window * DAY
      ) {
        const u = d.utilization;
        if (u.windowDays >= window && u.maxConnectionsDaily.length >= u.windowDays) {
          const conns = u.maxConnectionsDaily.slice(-window);
          if (conns.every((x) => x <= t.rds_idle_max_connections))
            emit(
              cIdle,
              r,
              {
                status: d.status,
                instanceClass: d.instanceClass,
                createTime: d.createTime,
                windowDays: window,
                maxConnectionsDaily: conns,
                thresholdMaxConnections: t.rds_idle_max_connections,
              },
              dbInstanceMonthlyUsd(d.instanceClass, d.engine, d.multiAz, r.region),
            );
        }
      }
    }
    const cSnap = on('rds_snapshot_public');
    if (cSnap)
      for (const r of list(by, 'AWS::RDS::DBSnapshot'))
        if (r.data.restoreAttribute.includes('all'))
          emit(cSnap, r, { restoreAttribute: r.data.restoreAttribute });
  }

  // ---------------------------------------------------------------- CloudTrail
  {
    const cSingle = on('cloudtrail_single_region');
    const cValid = on('cloudtrail_no_log_validation');
    const cLog = on('cloudtrail_not_logging');
    const covered = new Set<string>();
    for (const r of list(by, 'AWS::CloudTrail::Trail')) {
      const d = r.data;
      if (d.isMultiRegionTrail && d.isLogging) covered.add(r.accountId);
      if (cSingle && !d.isMultiRegionTrail)
        emit(cSingle, r, { isMultiRegionTrail: false, homeRegion: d.homeRegion });
      if (cValid && !d.logFileValidationEnabled)
        emit(cValid, r, { logFileValidationEnabled: false });
      if (cLog && !d.isLogging) emit(cLog, r, { isLogging: false });
    }
    const cMissing = on('cloudtrail_missing');
    if (cMissing && complete('cloudtrail')) {
      const accounts = [...new Set(resources.map((r) => r.accountId))].sort();
      for (const a of accounts)
        if (!covered.has(a))
          emit(
            cMissing,
            {
              arn: `arn:aws:iam::${a}:root`,
              type: 'AWS::::Account',
              resourceId: a,
              accountId: a,
              region: 'global',
            },
            {
              trails: list(by, 'AWS::CloudTrail::Trail')
                .filter((x) => x.accountId === a)
                .map((x) => ({
                  name: x.data.name,
                  isMultiRegionTrail: x.data.isMultiRegionTrail,
                  isLogging: x.data.isLogging,
                }))
                .sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)),
            },
          );
    }
  }

  // ---------------------------------------------------------------- IAM, KMS
  {
    const cKeys = on('iam_root_access_keys');
    const cMfa = on('iam_root_mfa_off');
    for (const r of list(by, 'AWS::IAM::Root')) {
      if (cKeys && r.data.accountAccessKeysPresent)
        emit(cKeys, r, { accountAccessKeysPresent: true });
      if (cMfa && !r.data.accountMfaEnabled) emit(cMfa, r, { accountMfaEnabled: false });
    }
    const cUser = on('iam_user_console_no_mfa');
    if (cUser)
      for (const r of list(by, 'AWS::IAM::User'))
        if (r.data.consoleAccess && r.data.mfaDeviceCount === 0)
          emit(cUser, r, { consoleAccess: true, mfaDeviceCount: 0 });
    const cOld = on('iam_access_key_old');
    const cUnused = on('iam_access_key_unused');
    for (const r of list(by, 'AWS::IAM::AccessKey')) {
      const d = r.data;
      if (d.status !== 'Active') continue;
      const age = ageMs(now, d.createDate);
      if (cOld && age > t.iam_access_key_max_age_days * DAY)
        emit(cOld, r, {
          status: d.status,
          userName: d.userName,
          lastFour: d.lastFour,
          createDate: d.createDate,
          ageDays: Math.floor(age / DAY),
          thresholdDays: t.iam_access_key_max_age_days,
        });
      if (cUnused) {
        const limit = t.iam_access_key_unused_days * DAY;
        const unused = d.lastUsedDate === null ? age > limit : ageMs(now, d.lastUsedDate) > limit;
        if (unused)
          emit(cUnused, r, {
            status: d.status,
            userName: d.userName,
            lastFour: d.lastFour,
            createDate: d.createDate,
            lastUsedDate: d.lastUsedDate,
            thresholdDays: t.iam_access_key_unused_days,
          });
      }
    }
    const cPw = on('iam_password_policy_weak');
    if (cPw)
      for (const r of list(by, 'AWS::IAM::PasswordPolicy')) {
        const p = r.data.policy;
        const problems: string[] = [];
        if (!p) problems.push('no_password_policy');
        else {
          if (p.minimumPasswordLength < t.password_min_length) problems.push('minimum_length');
          if (
            p.passwordReusePrevention === null ||
            p.passwordReusePrevention < t.password_reuse_prevention
          )
            problems.push('reuse_prevention');
        }
        if (problems.length)
          emit(cPw, r, {
            problems,
            minimumPasswordLength: p?.minimumPasswordLength ?? null,
            passwordReusePrevention: p?.passwordReusePrevention ?? null,
            required: {
              minimumPasswordLength: t.password_min_length,
              passwordReusePrevention: t.password_reuse_prevention,
            },
          });
      }
    const cTrust = on('iam_role_third_party_trust_no_external_id');
    if (cTrust)
      for (const r of list(by, 'AWS::IAM::Role')) {
        const bad: unknown[] = [];
        for (const s of r.data.trustPolicy.Statement) {
          if (s.Effect !== 'Allow' || hasExternalIdCondition(s)) continue;
          const third = awsPrincipals(s.Principal).filter(
            (p) =>
              p === '*' || (principalAccount(p) !== null && principalAccount(p) !== r.accountId),
          );
          if (third.length) bad.push({ sid: s.Sid ?? null, principals: third });
        }
        if (bad.length) emit(cTrust, r, { statements: bad });
      }
    const cKms = on('kms_rotation_off');
    if (cKms)
      for (const r of list(by, 'AWS::KMS::Key'))
        if (
          r.data.keyManager === 'CUSTOMER' &&
          r.data.keyState === 'Enabled' &&
          r.data.rotationEnabled === false
        )
          emit(cKms, r, { keyManager: 'CUSTOMER', keyState: 'Enabled', rotationEnabled: false });
  }

  // ---------------------------------------------------------------- drift
  {
    const c = on('tags_missing');
    if (c) {
      const required = cfg.requiredTags;
      const types = new Set<string>(required.resourceTypes);
      for (const r of resources) {
        if (!types.has(r.type)) continue;
        if (r.type === 'AWS::EC2::Instance' && r.data.state === 'terminated') continue;
        let missing: string[] | null = null;
        let invalid: Array<{ key: string; value: string }> | null = null;
        for (const tag of required.tags) {
          const v = r.tags[tag.key];
          if (v === undefined) (missing ??= []).push(tag.key);
          else if (tag.allowedValues && !tag.allowedValues.includes(v))
            (invalid ??= []).push({ key: tag.key, value: v });
        }
        if (missing || invalid) emit(c, r, { missing: missing ?? [], invalid: invalid ?? [] });
      }
    }
  }
  {
    const c = on('drift_configuration_baseline');
    if (c && cfg.baselineRules.length) {
      const rulesByType = new Map<string, Array<{ rule: BaselineRule; path: string[] }>>();
      for (const rule of cfg.baselineRules) {
        let l = rulesByType.get(rule.resource_type);
        if (!l) rulesByType.set(rule.resource_type, (l = []));
        l.push({ rule, path: rule.path.split('.') });
      }
      for (const r of resources) {
        const rules = rulesByType.get(r.type);
        if (!rules) continue;
        const violations: unknown[] = [];
        for (const { rule, path } of rules) {
          const actual = readPath(r.data, path);
          if (!baselineHolds(rule, actual))
            violations.push({
              rule: rule.id,
              path: rule.path,
              expected: expectation(rule),
              actual: actual === undefined ? null : actual,
            });
        }
        if (violations.length) emit(c, r, { violations });
      }
    }
  }
  {
    const inv = cfg.acceptedInventory;
    const cChanged = on('drift_changed_since_baseline');
    const cNew = on('drift_new_since_baseline');
    if (inv && (cChanged || cNew))
      for (const r of resources) {
        const accepted = inv.fingerprints.get(r.arn);
        if (accepted === undefined) {
          if (cNew) emit(cNew, r, { acceptedAt: inv.acceptedAt });
        } else if (cChanged) {
          const current = fingerprintResource(r);
          if (current !== accepted)
            emit(cChanged, r, {
              acceptedAt: inv.acceptedAt,
              acceptedFingerprint: accepted,
              currentFingerprint: current,
            });
        }
      }
  }

  out.sort((a, b) =>
    a.checkId < b.checkId
      ? -1
      : a.checkId > b.checkId
        ? 1
        : a.resourceArn < b.resourceArn
          ? -1
          : a.resourceArn > b.resourceArn
            ? 1
            : 0,
  );
  return out;
}

function readPath(data: unknown, path: string[]): unknown {
  let v: unknown = data;
  for (const p of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

function baselineHolds(rule: BaselineRule, actual: unknown): boolean {
  if (rule.exists !== undefined) return (actual !== undefined && actual !== null) === rule.exists;
  if (rule.equals !== undefined)
    return actual === rule.equals || (actual === undefined && rule.equals === null);
  const a = actual === undefined ? null : actual;
  if (rule.in) return rule.in.some((x) => x === a);
  if (rule.not_in) return !rule.not_in.some((x) => x === a);
  return true;
}

function expectation(rule: BaselineRule): Record<string, unknown> {
  if (rule.exists !== undefined) return { exists: rule.exists };
  if (rule.equals !== undefined) return { equals: rule.equals };
  if (rule.in) return { in: rule.in };
  return { not_in: rule.not_in };
}

/** The candidates as api.finding_sync takes them. */
export function toSyncCandidates(
  candidates: readonly FindingCandidate[],
): Array<Record<string, unknown>> {
  return candidates.map((c) => ({
    check_id: c.checkId,
    resource_arn: c.resourceArn,
    resource_type: c.resourceType,
    resource_id: c.resourceId,
    region: c.region,
    domain: c.domain,
    severity: c.severity,
    evidence: c.evidence,
    estimated_monthly_saving_usd: c.estimatedMonthlySavingUsd ?? null,
  }));
}
