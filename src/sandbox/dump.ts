// Deterministic state dumps and their differences, so a test can prove that a rollback
// restored an account exactly. Volatile things (request counters, key material, secrets,
// the admin key's last-used stamp) are left out.
import crypto from 'node:crypto';
import { settleRegion } from './services/ec2.js';
import { settleDbSnapshot } from './services/rds.js';
import type { Account, SecurityGroupRule, Tag } from './state.js';

export type StateDump = Record<string, unknown>;

export interface StateDiff {
  /** JSON Pointer to the changed value (RFC 6901 escaping). */
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();
const tags = (t: Tag[]): Record<string, string> =>
  Object.fromEntries(t.map((x) => [x.Key, x.Value]));
const sorted = (a: string[]): string[] => [...a].sort();

/** Sort object keys recursively and drop undefined values. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = canonical(x);
    }
    return out;
  }
  return v;
}

export function ruleSignature(r: SecurityGroupRule): string {
  const peer = r.cidrIpv4 ?? r.cidrIpv6 ?? r.prefixListId ?? r.referencedGroupId ?? '?';
  return `${r.egress ? 'egress' : 'ingress'}:${r.protocol}:${r.fromPort}-${r.toPort}:${peer}`;
}

export function dumpAccount(account: Account, now: number): StateDump {
  const regions: Record<string, unknown> = {};
  for (const [name, r] of [...account.regions].sort(([a], [b]) => (a < b ? -1 : 1))) {
    settleRegion(r.ec2, now);
    for (const sn of r.rds.snapshots.values()) settleDbSnapshot(sn, now);
    const e = r.ec2;
    regions[name] = {
      ec2: {
        ebsEncryptionByDefault: e.ebsEncryptionByDefault,
        vpcId: e.vpcId,
        instances: Object.fromEntries(
          [...e.instances.values()].map((i) => [
            i.id,
            {
              type: i.type,
              state: i.state,
              stateTransitionReason: i.stateTransitionReason,
              launchTime: iso(i.launchTime),
              imageId: i.imageId,
              az: i.az,
              subnetId: i.subnetId,
              privateIp: i.privateIp,
              publicIp: i.publicIp,
              eniId: i.eniId,
              keyName: i.keyName,
              blockDevices: Object.fromEntries(i.blockDevices.map((b) => [b.device, b.volumeId])),
              metadata: { ...i.metadata },
              tags: tags(i.tags),
            },
          ]),
        ),
        volumes: Object.fromEntries(
          [...e.volumes.values()].map((v) => [
            v.id,
            {
              size: v.size,
              type: v.type,
              iops: v.iops,
              throughput: v.throughput,
              az: v.az,
              encrypted: v.encrypted,
              kmsKeyId: v.kmsKeyId,
              state: v.state,
              createTime: iso(v.createTime),
              snapshotId: v.snapshotId,
              attachment: v.attachment
                ? { instanceId: v.attachment.instanceId, device: v.attachment.device }
                : undefined,
              modification: v.modification
                ? {
                    state: v.modification.state,
                    startTime: iso(v.modification.startTime),
                    original: v.modification.original,
                    target: v.modification.target,
                  }
                : undefined,
              tags: tags(v.tags),
            },
          ]),
        ),
        snapshots: Object.fromEntries(
          [...e.snapshots.values()].map((s) => [
            s.id,
            {
              volumeId: s.volumeId,
              volumeSize: s.volumeSize,
              state: s.state,
              startTime: iso(s.startTime),
              encrypted: s.encrypted,
              description: s.description,
              createVolumePermission: {
                groups: sorted(s.createVolumeGroups),
                userIds: sorted(s.createVolumeUserIds),
              },
              tags: tags(s.tags),
            },
          ]),
        ),
        securityGroups: Object.fromEntries(
          [...e.securityGroups.values()].map((g) => [
            g.id,
            {
              name: g.name,
              description: g.description,
              vpcId: g.vpcId,
              tags: tags(g.tags),
              rules: Object.fromEntries(
                g.rules.map((r) => [
                  ruleSignature(r),
                  { id: r.id, description: r.description, tags: tags(r.tags) },
                ]),
              ),
            },
          ]),
        ),
        networkInterfaces: Object.fromEntries(
          [...e.networkInterfaces.values()].map((n) => [
            n.id,
            {
              instanceId: n.instanceId,
              groupIds: sorted(n.groupIds),
              subnetId: n.subnetId,
              privateIp: n.privateIp,
            },
          ]),
        ),
        addresses: Object.fromEntries(
          [...e.addresses.values()].map((a) => [
            a.allocationId,
            {
              publicIp: a.publicIp,
              associationId: a.associationId,
              instanceId: a.instanceId,
              tags: tags(a.tags),
            },
          ]),
        ),
        images: Object.fromEntries(
          [...e.images.values()].map((i) => [
            i.id,
            {
              name: i.name,
              description: i.description,
              creationDate: iso(i.creationDate),
              launchPermission: {
                groups: sorted(i.launchGroups),
                userIds: sorted(i.launchUserIds),
              },
              tags: tags(i.tags),
            },
          ]),
        ),
      },
      rds: {
        instances: Object.fromEntries(
          [...r.rds.instances.values()].map((d) => [
            d.id,
            {
              instanceClass: d.instanceClass,
              engine: d.engine,
              engineVersion: d.engineVersion,
              status: d.status,
              publiclyAccessible: d.publiclyAccessible,
              storageEncrypted: d.storageEncrypted,
              backupRetentionPeriod: d.backupRetentionPeriod,
              deletionProtection: d.deletionProtection,
              multiAZ: d.multiAZ,
              allocatedStorage: d.allocatedStorage,
              pending: d.pending,
              tags: tags(d.tags),
            },
          ]),
        ),
        snapshots: Object.fromEntries(
          [...r.rds.snapshots.values()].map((s) => [
            s.id,
            {
              dbInstanceId: s.dbInstanceId,
              type: s.type,
              status: s.status,
              createTime: iso(s.createTime),
              encrypted: s.encrypted,
              restore: sorted(s.restoreAttrs),
              tags: tags(s.tags),
            },
          ]),
        ),
      },
      cloudtrail: Object.fromEntries(
        [...r.trails.values()].map((t) => [
          t.name,
          {
            s3BucketName: t.s3BucketName,
            s3KeyPrefix: t.s3KeyPrefix,
            isMultiRegion: t.isMultiRegion,
            includeGlobalServiceEvents: t.includeGlobalServiceEvents,
            logFileValidation: t.logFileValidation,
            kmsKeyId: t.kmsKeyId,
            isLogging: t.isLogging,
            eventSelectors: t.eventSelectors,
          },
        ]),
      ),
      kms: Object.fromEntries(
        [...r.kms.values()].map((k) => [
          k.id,
          {
            description: k.description,
            state: k.state,
            manager: k.manager,
            rotationEnabled: k.rotationEnabled,
            rotationPeriodDays: k.rotationPeriodDays,
            aliases: sorted(k.aliases),
            tags: tags(k.tags),
          },
        ]),
      ),
      secrets: Object.fromEntries(
        [...r.secrets.values()].map((s) => [
          s.name,
          {
            arn: s.arn,
            description: s.description,
            valueSha256: crypto.createHash('sha256').update(s.value).digest('hex'),
            lastChangedDate: iso(s.lastChangedDate),
            tags: tags(s.tags),
          },
        ]),
      ),
    };
  }
  const { iam, s3 } = account;
  const dump = {
    accountId: account.id,
    name: account.name,
    enabledRegions: sorted(account.enabledRegions),
    iam: {
      root: {
        mfaEnabled: iam.root.mfaEnabled,
        accessKeys: iam.root.accessKeys.map((k) => ({
          active: k.active,
          lastRotated: iso(k.lastRotated),
        })),
      },
      passwordPolicy: iam.passwordPolicy,
      users: Object.fromEntries(
        [...iam.users.values()].map((u) => [
          u.name,
          {
            id: u.id,
            createDate: iso(u.createDate),
            passwordEnabled: u.passwordEnabled,
            mfaDevices: u.mfaDevices.map((d) => d.serial).sort(),
            accessKeys: Object.fromEntries(
              u.accessKeys.map((k) => [
                k.id,
                {
                  status: k.status,
                  createDate: iso(k.createDate),
                  lastUsed: u.name === account.adminUserName ? undefined : iso(k.lastUsed?.date),
                },
              ]),
            ),
            inline: u.inline,
            attached: sorted(u.attached),
            tags: tags(u.tags),
          },
        ]),
      ),
      roles: Object.fromEntries(
        [...iam.roles.values()].map((r) => [
          r.name,
          {
            arn: r.arn,
            trustPolicy: r.trustPolicy,
            description: r.description,
            maxSessionDuration: r.maxSessionDuration,
            inline: r.inline,
            attached: sorted(r.attached),
            tags: tags(r.tags),
          },
        ]),
      ),
    },
    s3: {
      accountPublicAccessBlock: s3.accountPublicAccessBlock,
      buckets: Object.fromEntries(
        [...s3.buckets.values()].map((b) => [
          b.name,
          {
            region: b.region,
            grants: b.grants
              .map(
                (g) =>
                  `${g.grantee.type === 'Group' ? g.grantee.uri : g.grantee.id}:${g.permission}`,
              )
              .sort(),
            policy: b.policy,
            publicAccessBlock: b.publicAccessBlock,
            encryption: b.encryption,
            versioning: b.versioning,
            lifecycle: b.lifecycle,
            logging: b.logging,
            ownership: b.ownership,
            website: b.website,
            tags: tags(b.tags),
            objects: Object.fromEntries(
              [...b.objects].map(([key, o]) => [key, { etag: o.etag, size: o.body.length }]),
            ),
          },
        ]),
      ),
    },
    regions,
  };
  return canonical(dump) as StateDump;
}

const escape = (k: string): string => k.replace(/~/g, '~0').replace(/\//g, '~1');

function globToRegExp(glob: string): RegExp {
  const segments = glob.replace(/^\/+/, '').split('/');
  const src = segments
    .map((seg) =>
      seg === '**'
        ? '(?:/[^/]+)*'
        : `/${seg
            .split('*')
            .map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
            .join('[^/]*')}`,
    )
    .join('');
  return new RegExp(`^${src}$`);
}

/**
 * Differences between two dumps, as JSON Pointer paths. `ignore` takes globs over those paths
 * ('*' one segment, '**' any number), e.g. '/regions/*\/ec2/securityGroups/*\/rules/*\/id'.
 */
export function diffStates(a: unknown, b: unknown, opts: { ignore?: string[] } = {}): StateDiff[] {
  const ignores = (opts.ignore ?? []).map(globToRegExp);
  const out: StateDiff[] = [];
  const skip = (path: string) => ignores.some((re) => re.test(path));
  const walk = (x: unknown, y: unknown, path: string) => {
    if (skip(path)) return;
    if (x === y) return;
    const xo = x !== null && typeof x === 'object';
    const yo = y !== null && typeof y === 'object';
    if (xo && yo && Array.isArray(x) === Array.isArray(y)) {
      if (Array.isArray(x) && Array.isArray(y)) {
        if (JSON.stringify(x) !== JSON.stringify(y))
          out.push({ path: path || '/', kind: 'changed', before: x, after: y });
        return;
      }
      const keys = new Set([...Object.keys(x as object), ...Object.keys(y as object)]);
      for (const k of [...keys].sort()) {
        const p = `${path}/${escape(k)}`;
        const xv = (x as Record<string, unknown>)[k];
        const yv = (y as Record<string, unknown>)[k];
        if (xv === undefined && yv !== undefined) {
          if (!skip(p)) out.push({ path: p, kind: 'added', after: yv });
        } else if (yv === undefined && xv !== undefined) {
          if (!skip(p)) out.push({ path: p, kind: 'removed', before: xv });
        } else walk(xv, yv, p);
      }
      return;
    }
    out.push({ path: path || '/', kind: 'changed', before: x, after: y });
  };
  walk(a, b, '');
  return out;
}
