// `npm run bench findings`: the findings engine over 100,000 inventory resources (a realistic mix,
// generated here, about 3% of them with a planted problem), against the floor of a single pass that
// only reads every resource's type; then the database side: api.finding_sync of a scan with 1,000
// findings (first seen, seen again, resolved), against a plain INSERT of 1,000 rows in the same run.
import { randomUUID } from 'node:crypto';
import { createConnection } from '../src/cloud/connections.js';
import { DataKeys } from '../src/security/datakeys.js';
import { KekRing } from '../src/security/kms.js';
import os from 'node:os';
import {
  arnFor,
  type AnyInventoryResource,
  type PolicyDocument,
  type PolicyStatement,
} from '../src/cloud/inventory.js';
import { effectiveConfiguration } from '../src/findings/config.js';
import { catalogDefaults, evaluate, toSyncCandidates } from '../src/findings/engine.js';
import { fingerprintResource } from '../src/findings/fingerprint.js';
import { LocalKeyFile } from '../src/security/kek.js';
import { generateOrgKeyPair, wrapOrgKey } from '../src/security/orgkeys.js';
import { table, writeSection, type Row } from './report.js';
import { startBenchCluster } from './support.js';

const N = Number(process.env.BENCH_FINDINGS_RESOURCES ?? 100_000);
const RUNS = Number(process.env.BENCH_FINDINGS_RUNS ?? 5);
const NOW = Date.UTC(2026, 10, 30);
const DAY = 86_400_000;
const ACCOUNT = '123456789012';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A realistic mix of resource types; about 3% of the resources carry one planted problem. */
export function generateInventory(n: number, seed = 1): AnyInventoryResource[] {
  const r = rng(seed);
  const bad = (): boolean => r() < 0.03;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const ago = (min: number, max: number): string =>
    new Date(NOW - (min + r() * (max - min)) * DAY).toISOString();
  const regions = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
  const tags = (): Record<string, string> =>
    bad()
      ? { Owner: 'web' }
      : {
          Owner: pick(['web', 'data', 'ml']),
          Environment: pick(['prod', 'dev']),
          CostCenter: 'cc-1',
        };
  const out: AnyInventoryResource[] = [];
  const base = (
    type: string,
    arn: string,
    id: string,
    region: string,
    tg: Record<string, string> = {},
  ) => ({
    arn,
    type,
    resourceId: id,
    accountId: ACCOUNT,
    region,
    tags: tg,
  });
  out.push({
    ...base(
      'AWS::S3::AccountPublicAccessBlock',
      arnFor.accountPublicAccessBlock(ACCOUNT),
      ACCOUNT,
      'global',
    ),
    type: 'AWS::S3::AccountPublicAccessBlock',
    data: { publicAccessBlock: null },
  });
  out.push({
    ...base('AWS::IAM::Root', arnFor.root(ACCOUNT), ACCOUNT, 'global'),
    type: 'AWS::IAM::Root',
    data: { accountAccessKeysPresent: false, accountMfaEnabled: true },
  });
  out.push({
    ...base('AWS::IAM::PasswordPolicy', arnFor.passwordPolicy(ACCOUNT), ACCOUNT, 'global'),
    type: 'AWS::IAM::PasswordPolicy',
    data: {
      policy: {
        minimumPasswordLength: 14,
        requireSymbols: true,
        requireNumbers: true,
        requireUppercaseCharacters: true,
        requireLowercaseCharacters: true,
        passwordReusePrevention: 24,
        maxPasswordAge: 90,
      },
    },
  });
  for (const region of regions)
    out.push({
      ...base(
        'AWS::EC2::EbsEncryptionByDefault',
        arnFor.ebsEncryptionByDefault(ACCOUNT, region),
        ACCOUNT,
        region,
      ),
      type: 'AWS::EC2::EbsEncryptionByDefault',
      data: { enabled: !bad() },
    });
  const mix: Array<[number, (i: number) => AnyInventoryResource]> = [
    [
      0.25,
      (i) => {
        const region = pick(regions);
        const id = `i-${i.toString(16).padStart(17, '0')}`;
        const idle = bad();
        const stopped = !idle && bad();
        return {
          ...base(
            'AWS::EC2::Instance',
            `arn:aws:ec2:${region}:${ACCOUNT}:instance/${id}`,
            id,
            region,
            tags(),
          ),
          type: 'AWS::EC2::Instance',
          data: {
            instanceId: id,
            instanceType: pick(['t3.micro', 'm5.large', 'c5.large', 'r5.large']),
            state: stopped ? 'stopped' : 'running',
            launchTime: ago(20, 700),
            stoppedSince: stopped ? ago(31, 200) : null,
            imageId: 'ami-1',
            platform: null,
            metadataOptions: {
              httpTokens: bad() ? 'optional' : 'required',
              httpEndpoint: 'enabled',
            },
            securityGroupIds: ['sg-1'],
            networkInterfaceIds: [`eni-${i}`],
            volumeIds: [`vol-${i}`],
            publicIp: null,
            utilization: stopped
              ? null
              : {
                  windowDays: 14,
                  cpuAverageDaily: Array.from({ length: 14 }, () =>
                    idle ? 0.5 + r() : 15 + r() * 40,
                  ),
                  networkBytesDaily: Array.from({ length: 14 }, () =>
                    idle ? 1e6 * r() : 1e9 * (1 + r()),
                  ),
                },
          },
        };
      },
    ],
    [
      0.16,
      (i) => {
        const region = pick(regions);
        const id = `snap-${i.toString(16)}`;
        return {
          ...base('AWS::EC2::Snapshot', `arn:aws:ec2:${region}::snapshot/${id}`, id, region),
          type: 'AWS::EC2::Snapshot',
          data: {
            snapshotId: id,
            volumeId: 'vol-1',
            volumeSizeGiB: pick([8, 50, 100]),
            startTime: bad() ? ago(91, 700) : ago(1, 80),
            state: 'completed',
            encrypted: true,
            createVolumePermission: { groups: bad() ? ['all'] : [], userIds: [] },
          },
        };
      },
    ],
    [
      0.06,
      (i) => {
        const region = pick(regions);
        const id = `sg-${i.toString(16)}`;
        const open = bad();
        return {
          ...base(
            'AWS::EC2::SecurityGroup',
            `arn:aws:ec2:${region}:${ACCOUNT}:security-group/${id}`,
            id,
            region,
          ),
          type: 'AWS::EC2::SecurityGroup',
          data: {
            groupId: id,
            groupName: `app-${i}`,
            vpcId: 'vpc-1',
            description: 'app',
            networkInterfaceIds: [],
            rules: [
              {
                ruleId: `sgr-a${i}`,
                isEgress: false,
                protocol: 'tcp',
                fromPort: 443,
                toPort: 443,
                cidrIpv4: '0.0.0.0/0',
                cidrIpv6: null,
                referencedGroupId: null,
                prefixListId: null,
                description: null,
              },
              {
                ruleId: `sgr-b${i}`,
                isEgress: false,
                protocol: 'tcp',
                fromPort: open ? 22 : 5432,
                toPort: open ? 22 : 5432,
                cidrIpv4: open ? '0.0.0.0/0' : '10.0.0.0/8',
                cidrIpv6: null,
                referencedGroupId: null,
                prefixListId: null,
                description: null,
              },
              {
                ruleId: `sgr-c${i}`,
                isEgress: true,
                protocol: '-1',
                fromPort: -1,
                toPort: -1,
                cidrIpv4: '0.0.0.0/0',
                cidrIpv6: null,
                referencedGroupId: null,
                prefixListId: null,
                description: null,
              },
            ],
          },
        };
      },
    ],
    [
      0.05,
      (i) => {
        const name = `bucket-${i}`;
        const policy: PolicyDocument = {
          Version: '2012-10-17',
          Statement: [
            bad()
              ? {
                  Sid: 'Public',
                  Effect: 'Allow',
                  Principal: '*',
                  Action: 's3:GetObject',
                  Resource: `arn:aws:s3:::${name}/*`,
                }
              : {
                  Sid: 'Tls',
                  Effect: 'Deny',
                  Principal: '*',
                  Action: 's3:*',
                  Resource: `arn:aws:s3:::${name}/*`,
                  Condition: { Bool: { 'aws:SecureTransport': 'false' } },
                },
          ],
        };
        const full = {
          blockPublicAcls: true,
          ignorePublicAcls: true,
          blockPublicPolicy: true,
          restrictPublicBuckets: true,
        };
        return {
          ...base('AWS::S3::Bucket', `arn:aws:s3:::${name}`, name, pick(regions), tags()),
          type: 'AWS::S3::Bucket',
          data: {
            name,
            creationDate: ago(30, 900),
            publicAccessBlock: bad() ? null : full,
            objectOwnership: 'BucketOwnerEnforced',
            acl: [],
            policy,
            policyIsPublic: null,
            encryption: { algorithm: 'AES256', kmsKeyId: null, bucketKeyEnabled: false },
            versioning: bad() ? null : 'Enabled',
            mfaDelete: false,
            logging: bad() ? null : { targetBucket: 'logs', targetPrefix: name },
            lifecycleRuleCount: 1,
          },
        };
      },
    ],
    [
      0.025,
      (i) => {
        const region = pick(regions);
        const id = `eipalloc-${i}`;
        const loose = bad();
        return {
          ...base('AWS::EC2::EIP', `arn:aws:ec2:${region}:${ACCOUNT}:elastic-ip/${id}`, id, region),
          type: 'AWS::EC2::EIP',
          data: {
            allocationId: id,
            publicIp: '3.3.3.3',
            associationId: loose ? null : `eipassoc-${i}`,
            instanceId: null,
            networkInterfaceId: null,
          },
        };
      },
    ],
    [
      0.025,
      (i) => {
        const region = pick(regions);
        const id = `ami-${i}`;
        return {
          ...base('AWS::EC2::Image', `arn:aws:ec2:${region}::image/${id}`, id, region),
          type: 'AWS::EC2::Image',
          data: {
            imageId: id,
            name: 'golden',
            creationDate: ago(1, 300),
            state: 'available',
            launchPermission: { groups: bad() ? ['all'] : [], userIds: [] },
          },
        };
      },
    ],
    [
      0.03,
      (i) => {
        const region = pick(regions);
        const id = `db-${i}`;
        const idle = bad();
        return {
          ...base(
            'AWS::RDS::DBInstance',
            `arn:aws:rds:${region}:${ACCOUNT}:db:${id}`,
            id,
            region,
            tags(),
          ),
          type: 'AWS::RDS::DBInstance',
          data: {
            dbInstanceIdentifier: id,
            engine: pick(['postgres', 'mysql']),
            engineVersion: '16',
            instanceClass: pick(['db.t3.medium', 'db.m5.large']),
            status: 'available',
            allocatedStorageGiB: 100,
            multiAz: false,
            publiclyAccessible: bad(),
            storageEncrypted: !bad(),
            backupRetentionPeriod: bad() ? 0 : 7,
            deletionProtection: !bad(),
            createTime: ago(20, 700),
            securityGroupIds: [],
            utilization: {
              windowDays: 14,
              maxConnectionsDaily: Array.from({ length: 14 }, () =>
                idle ? 0 : 5 + Math.floor(r() * 30),
              ),
              cpuAverageDaily: [],
            },
          },
        };
      },
    ],
    [
      0.025,
      (i) => {
        const region = pick(regions);
        const id = `rds-snap-${i}`;
        return {
          ...base(
            'AWS::RDS::DBSnapshot',
            `arn:aws:rds:${region}:${ACCOUNT}:snapshot:${id}`,
            id,
            region,
          ),
          type: 'AWS::RDS::DBSnapshot',
          data: {
            dbSnapshotIdentifier: id,
            dbInstanceIdentifier: 'db-1',
            snapshotType: 'manual',
            createTime: ago(1, 60),
            encrypted: true,
            allocatedStorageGiB: 100,
            restoreAttribute: bad() ? ['all'] : [],
          },
        };
      },
    ],
    [
      0.02,
      (i) => {
        const name = `user-${i}`;
        return {
          ...base('AWS::IAM::User', `arn:aws:iam::${ACCOUNT}:user/${name}`, name, 'global'),
          type: 'AWS::IAM::User',
          data: {
            userName: name,
            userId: `AIDA${i}`,
            createDate: ago(100, 900),
            consoleAccess: r() < 0.5,
            mfaDeviceCount: bad() ? 0 : 1,
            passwordLastUsed: null,
          },
        };
      },
    ],
    [
      0.03,
      (i) => {
        const fp = (i * 2654435761).toString(16).padStart(16, '0').slice(-16);
        return {
          ...base('AWS::IAM::AccessKey', arnFor.accessKey(ACCOUNT, `user-${i}`, fp), fp, 'global'),
          type: 'AWS::IAM::AccessKey',
          data: {
            userName: `user-${i}`,
            fingerprint: fp,
            lastFour: 'ABCD',
            status: 'Active',
            createDate: bad() ? ago(91, 800) : ago(1, 40),
            lastUsedDate: bad() ? null : ago(0, 2),
            lastUsedService: 's3',
          },
        };
      },
    ],
    [
      0.02,
      (i) => {
        const name = `role-${i}`;
        const vendor = bad();
        return {
          ...base('AWS::IAM::Role', `arn:aws:iam::${ACCOUNT}:role/${name}`, name, 'global'),
          type: 'AWS::IAM::Role',
          data: {
            roleName: name,
            roleId: `AROA${i}`,
            createDate: ago(10, 900),
            maxSessionDuration: 3600,
            attachedPolicyArns: [],
            trustPolicy: {
              Version: '2012-10-17',
              Statement: [
                (vendor
                  ? {
                      Effect: 'Allow',
                      Principal: { AWS: 'arn:aws:iam::999988887777:root' },
                      Action: 'sts:AssumeRole',
                    }
                  : {
                      Effect: 'Allow',
                      Principal: { Service: 'ec2.amazonaws.com' },
                      Action: 'sts:AssumeRole',
                    }) as PolicyStatement,
              ],
            },
          },
        };
      },
    ],
    [
      0.012,
      (i) => {
        const region = pick(regions);
        const id = `key-${i}`;
        return {
          ...base('AWS::KMS::Key', `arn:aws:kms:${region}:${ACCOUNT}:key/${id}`, id, region),
          type: 'AWS::KMS::Key',
          data: {
            keyId: id,
            keyManager: 'CUSTOMER',
            keyState: 'Enabled',
            keySpec: 'SYMMETRIC_DEFAULT',
            keyUsage: 'ENCRYPT_DECRYPT',
            rotationEnabled: !bad(),
            aliases: [],
          },
        };
      },
    ],
    [
      0.0005,
      (i) => {
        const name = `trail-${i}`;
        return {
          ...base(
            'AWS::CloudTrail::Trail',
            `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/${name}`,
            name,
            'us-east-1',
          ),
          type: 'AWS::CloudTrail::Trail',
          data: {
            name,
            homeRegion: 'us-east-1',
            isMultiRegionTrail: true,
            logFileValidationEnabled: !bad(),
            isLogging: true,
            s3BucketName: 'logs',
            kmsKeyId: null,
            isOrganizationTrail: false,
          },
        };
      },
    ],
  ];
  const volume = (i: number): AnyInventoryResource => {
    const region = pick(regions);
    const id = `vol-${i}`;
    const loose = bad();
    return {
      ...base(
        'AWS::EC2::Volume',
        `arn:aws:ec2:${region}:${ACCOUNT}:volume/${id}`,
        id,
        region,
        tags(),
      ),
      type: 'AWS::EC2::Volume',
      data: {
        volumeId: id,
        volumeType: bad() ? 'gp2' : 'gp3',
        sizeGiB: pick([8, 20, 100, 500]),
        iops: 3000,
        throughput: 125,
        encrypted: !bad(),
        kmsKeyId: null,
        state: loose ? 'available' : 'in-use',
        createTime: ago(1, 700),
        snapshotId: null,
        attachments: loose
          ? []
          : [{ instanceId: 'i-1', device: '/dev/xvda', deleteOnTermination: true }],
      },
    };
  };
  let i = 0;
  for (const [share, make] of mix)
    for (let k = Math.round(share * n); k > 0 && out.length < n; k--) out.push(make(i++));
  while (out.length < n) out.push(volume(i++));
  return out;
}

function timeIt(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function stats(ms: number[]): { median: number; min: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]! };
}

async function engineBench(): Promise<{ rows: Row[]; findings: number; all: number }> {
  const t0 = Date.now();
  const inventory = generateInventory(N);
  const genMs = Date.now() - t0;
  const defaults = effectiveConfiguration(catalogDefaults());
  // Every check on, including the drift checks against a configuration baseline and an accepted
  // inventory covering every resource (so each resource is fingerprinted).
  const accepted = Object.fromEntries(
    inventory.map((r, k) => [r.arn, k % 50 === 0 ? '0000000000000000' : fingerprintResource(r)]),
  );
  const everything = effectiveConfiguration(catalogDefaults(), [
    {
      kind: 'check_configuration',
      facility_id: 'f',
      item_key: 'checks',
      content: { enabled_checks: ['drift_new_since_baseline'] },
    },
    {
      kind: 'baseline',
      facility_id: 'f',
      item_key: 'configuration',
      content: {
        type: 'configuration',
        rules: [
          {
            id: 'imdsv2',
            resource_type: 'AWS::EC2::Instance',
            path: 'metadataOptions.httpTokens',
            equals: 'required',
          },
          { id: 'gp3', resource_type: 'AWS::EC2::Volume', path: 'volumeType', in: ['gp3', 'io2'] },
          {
            id: 'versioned',
            resource_type: 'AWS::S3::Bucket',
            path: 'versioning',
            equals: 'Enabled',
          },
        ],
      },
    },
    {
      kind: 'baseline',
      facility_id: 'f',
      item_key: 'inventory',
      content: {
        type: 'accepted_inventory',
        accepted_at: '2026-11-01T00:00:00Z',
        resources: accepted,
      },
    },
  ]);
  const floor: number[] = [];
  const def: number[] = [];
  const all: number[] = [];
  let findings = 0;
  let allFindings = 0;
  let sink = 0;
  // Warm-up, then measured runs, interleaved so load on the shared machine hits all three alike.
  evaluate(inventory, { now: NOW, configuration: defaults });
  for (let run = 0; run < RUNS; run++) {
    floor.push(
      timeIt(() => {
        const counts = new Map<string, number>();
        for (const r of inventory) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
        sink += counts.size;
      }),
    );
    def.push(
      timeIt(() => (findings = evaluate(inventory, { now: NOW, configuration: defaults }).length)),
    );
    all.push(
      timeIt(
        () => (allFindings = evaluate(inventory, { now: NOW, configuration: everything }).length),
      ),
    );
  }
  if (sink < 0) process.stdout.write('');
  const row = (name: string, ms: number[], found: number | string): Row => {
    const s = stats(ms);
    return {
      pass: name,
      resources: N,
      'median ms': s.median,
      'min ms': s.min,
      'resources/s (median)': Math.round(N / (s.median / 1000)),
      findings: found,
    };
  };
  process.stdout.write(`generated ${N} resources in ${genMs} ms\n`);
  return {
    rows: [
      row('floor: read every resource’s type', floor, '—'),
      row('evaluate: default checks', def, findings),
      row(
        'evaluate: every check + configuration baseline + accepted inventory (fingerprints)',
        all,
        allFindings,
      ),
    ],
    findings,
    all: allFindings,
  };
}

async function syncBench(): Promise<Row[]> {
  const b = await startBenchCluster();
  try {
    const kek = LocalKeyFile.open(
      `${process.env.TMPDIR ?? '/tmp'}/axiom-bench-kek-${process.pid}.json`,
      { create: true },
    );
    const slug = `bench-findings-${randomUUID().slice(0, 6)}`;
    const password = 'bench-findings-password-xyz';
    const org = await b.api.raw<{ organization_id: string }>('organization_bootstrap', [
      b.secrets.bootstrapSecret,
      {
        slug,
        name: slug,
        plan_tier: 'enterprise',
        admin: { email: `a@${slug}.x`, display_name: 'A', password },
        key: await wrapOrgKey(kek, await generateOrgKeyPair(3072), slug),
      },
    ]);
    const admin = {
      token: (
        await b.api.raw<{ token: string }>('session_login_password', [
          slug,
          `a@${slug}.x`,
          password,
          '{}',
        ])
      ).token,
    };
    const facility = (
      await b.api.call<{ id: string }>('facility_create', admin, 'f', 'F', 'staging')
    ).id;
    const agent = {
      token: (
        await b.api.raw<{ token: string }>('agent_session_open', [
          b.secrets.workerSecret,
          org.organization_id,
        ])
      ).token,
    };
    const inventory = generateInventory(40_000, 7);
    const candidates = toSyncCandidates(evaluate(inventory, { now: NOW })).slice(0, 1000);
    const all = ['s3', 'ec2', 'rds', 'cloudtrail', 'iam', 'kms', 'cloudwatch'];
    const su = b.pool('superuser', 1);
    await su.query(
      'create table public.bench_findings_raw (id uuid primary key, organization_id uuid, check_id text, resource_arn text, evidence jsonb)',
    );
    const rows: Row[] = [];
    const measure = async (name: string, fn: () => Promise<unknown>, versions: number) => {
      const t0 = process.hrtime.bigint();
      await fn();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      rows.push({
        step: name,
        findings: candidates.length,
        'new versions': versions,
        ms,
        'ms per finding': ms / candidates.length,
      });
    };
    await measure(
      'baseline: one INSERT of 1,000 rows (superuser, no RLS, no versions, no audit)',
      () =>
        su.query(
          `insert into public.bench_findings_raw select gen_random_uuid(), $1, c ->> 'check_id', c ->> 'resource_arn', c -> 'evidence'
             from jsonb_array_elements($2::jsonb) c`,
          [org.organization_id, JSON.stringify(candidates)],
        ),
      0,
    );
    // Findings are reconciled only by the agent from a scan it is running (migration 060): a real
    // connection, and a scan started and claimed before each measured sync (outside the timing).
    const keys = new DataKeys(b.api, new KekRing(kek));
    const conn = await createConnection(
      { api: b.api, dataKeys: keys, settings: { platformAccountId: '111111111111' } },
      admin,
      {
        facilityId: facility,
        accountId: '123456789012',
        roleArn: 'arn:aws:iam::123456789012:role/Bench',
      },
    );
    const report = await keys.seal(
      admin,
      org.organization_id,
      '{}',
      `connection:${org.organization_id}:${conn.id}:state`,
    );
    await b.api.call(
      'connection_test_result',
      admin,
      conn.id,
      true,
      { code: 'ok' },
      report.sealed,
      report.dataKeyId,
    );
    const running = async (): Promise<string> => {
      const scan = await b.api.call<{ id: string }>('scan_start', admin, conn.id, 'manual');
      await b.api.call('scan_claim', agent, scan.id);
      return scan.id;
    };
    const finish = (id: string) =>
      b.api.call('scan_finish', agent, id, 'succeeded', [], {}, [], false);
    let scan = await running();
    await measure(
      'finding_sync, first scan: 1,000 opened (a version and a sealed audit event each)',
      () => b.api.call('finding_sync', agent, facility, conn.id, scan, all, candidates),
      candidates.length,
    );
    await finish(scan);
    scan = await running();
    await measure(
      'finding_sync, next scan: 1,000 seen again (observation only)',
      () => b.api.call('finding_sync', agent, facility, conn.id, scan, all, candidates),
      0,
    );
    await finish(scan);
    scan = await running();
    await measure(
      'finding_sync, complete scan without them: 1,000 resolved',
      () => b.api.call('finding_sync', agent, facility, conn.id, scan, all, []),
      candidates.length,
    );
    await finish(scan);
    return rows;
  } finally {
    await b.stop();
  }
}

async function main(): Promise<void> {
  const engine = await engineBench();
  process.stdout.write(table(engine.rows));
  const sync = process.env.BENCH_FINDINGS_DB === '0' ? [] : await syncBench();
  if (sync.length) process.stdout.write(table(sync));
  const evalRow = engine.rows[1]!;
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
  writeSection(
    'findings',
    'Findings engine and finding sync',
    `Engine: \`evaluate()\` over ${N.toLocaleString('en')} generated inventory resources (instances 25 %, snapshots 16 %, security groups 6 %, buckets 5 %, volumes ≈ 24 %, databases, IAM, KMS, …; about 3 % with a planted problem), ${RUNS} runs after a warm-up, interleaved with the floor (a single pass reading every resource's type). Target: ≤ 5 s for 100,000 resources — the default checks took a median of ${Math.round(Number(evalRow['median ms']))} ms (load average during the run: ${load}, on 2 shared cores; the minimum is the better estimate of the engine's own cost).

${table(engine.rows)}
Database: \`api.finding_sync\` of one scan of 1,000 findings (embedded PostgreSQL, fsync on), against a plain INSERT of the same 1,000 candidates in the same run. Each state change is a version in core.records whose audit event seals the before/after content with the organization's OpenPGP key; that sealing is most of the cost of opening and resolving.

${sync.length ? table(sync) : '(skipped: BENCH_FINDINGS_DB=0)\n'}`,
  );
}

await main();
