// Deterministic account generator: a seed, a size and regions give the same account every time,
// with a known set of planted problems (the ANSWER KEY) and false-positive traps. The exact
// meaning of every problem id is documented in docs/sandbox.md; keep the two in step.
import crypto from 'node:crypto';
import { createRng, type Rng } from './prng.js';
import { accessKeyId, ec2Id, principalId, secretAccessKey, uuid } from './ids.js';
import { newKey } from './services/kms.js';
import { canonicalUserId, ALL_USERS } from './services/s3.js';
import {
  newRegion,
  type Account,
  type Bucket,
  type DbInstance,
  type DbSnapshot,
  type IamRole,
  type IamUser,
  type Instance,
  type RegionState,
  type SecurityGroup,
  type SecurityGroupRule,
  type Snapshot,
  type Tag,
  type Volume,
} from './state.js';

export const PROBLEMS = [
  's3_account_public_access_block_off',
  's3_bucket_public_acl',
  's3_bucket_public_policy',
  's3_bucket_no_public_access_block',
  's3_bucket_no_encryption',
  's3_bucket_versioning_off',
  's3_bucket_logging_off',
  'sg_open_ssh',
  'sg_open_rdp',
  'sg_open_all_ports',
  'sg_default_has_rules',
  'ec2_imdsv2_not_required',
  'ebs_default_encryption_off',
  'ebs_volume_unencrypted',
  'ebs_snapshot_public',
  'ami_public',
  'rds_public',
  'rds_unencrypted',
  'rds_no_backups',
  'rds_no_deletion_protection',
  'rds_snapshot_public',
  'cloudtrail_missing',
  'cloudtrail_single_region',
  'cloudtrail_no_log_validation',
  'cloudtrail_not_logging',
  'iam_root_access_keys',
  'iam_root_mfa_off',
  'iam_user_console_no_mfa',
  'iam_access_key_old',
  'iam_access_key_unused',
  'iam_password_policy_weak',
  'iam_role_third_party_trust_no_external_id',
  'kms_rotation_off',
  'ebs_volume_unattached',
  'ebs_volume_gp2',
  'eip_unassociated',
  'ec2_idle',
  'ec2_stopped_long',
  'ebs_snapshot_old',
  'rds_idle',
  'tags_missing',
] as const;
export type ProblemId = (typeof PROBLEMS)[number];

/** Planted unless omitted; the two opt-in problems change the account's shape (see docs). */
const OPT_IN: ProblemId[] = ['cloudtrail_missing', 's3_bucket_no_encryption'];

export interface AnswerKeyEntry {
  problem: ProblemId;
  resourceType: string;
  resourceId: string;
  resourceArn: string;
  /** AWS region, or 'global' for IAM and account-wide S3 settings. */
  region: string;
}

export interface TrapEntry {
  trap: string;
  /** The problem this resource looks like but is not. */
  looksLike: ProblemId;
  resourceType: string;
  resourceId: string;
  resourceArn: string;
  region: string;
}

export interface GenerateOptions {
  seed: string;
  /** Approximate number of resources (tens to 20,000+). */
  size: number;
  /** Regions to populate; default ['us-east-1', 'eu-west-1']. */
  regions?: string[];
  /** 12 digits; default derived from the seed. */
  accountId?: string;
  /** Display name / alias; default derived from the seed. */
  name?: string;
  /** Reference time (epoch ms) for ages; default the current UTC day's midnight. */
  now?: number;
  /** Problems not to plant (the account is clean of them). */
  omit?: ProblemId[];
  /** Opt-in problems to plant: cloudtrail_missing, s3_bucket_no_encryption. */
  include?: ProblemId[];
}

export interface GeneratedAccount {
  account: Account;
  answerKey: AnswerKeyEntry[];
  traps: TrapEntry[];
  /** The administrator user's credentials (the customer's own admin). */
  admin: { userName: string; accessKeyId: string; secretAccessKey: string };
  /** Every IAM user access key generated, with its secret, for registration with the engine. */
  userKeys: { userName: string; accessKeyId: string; secretAccessKey: string }[];
}

export const REQUIRED_TAGS = ['Owner', 'Environment', 'CostCenter'] as const;
const DAY = 86_400_000;

export function accountIdFromSeed(seed: string): string {
  const h = crypto.createHash('sha256').update(`account:${seed}`).digest();
  let digits = '';
  for (let i = 0; digits.length < 11; i++) digits += String(h[i]! % 10);
  return `2${digits}`;
}

export function generateAccount(opts: GenerateOptions): GeneratedAccount {
  const regions = opts.regions?.length ? [...opts.regions] : ['us-east-1', 'eu-west-1'];
  const id = opts.accountId ?? accountIdFromSeed(opts.seed);
  if (!/^\d{12}$/.test(id)) throw new Error(`account id must be 12 digits: ${id}`);
  const now = opts.now ?? Math.floor(Date.now() / DAY) * DAY;
  const rng = createRng(`${opts.seed}/${id}`);
  const size = Math.max(20, Math.floor(opts.size));
  const omit = new Set(opts.omit ?? []);
  const include = new Set(opts.include ?? []);
  const planted = (p: ProblemId): boolean => (OPT_IN.includes(p) ? include.has(p) : !omit.has(p));
  const k = Math.max(1, Math.floor(size / 300)); // planted resources per problem
  const name = opts.name ?? `customer-${id.slice(-4)}`;
  const key: AnswerKeyEntry[] = [];
  const traps: TrapEntry[] = [];
  const mark = (
    problem: ProblemId,
    resourceType: string,
    resourceId: string,
    resourceArn: string,
    region: string,
  ) => key.push({ problem, resourceType, resourceId, resourceArn, region });
  const trap = (
    t: string,
    looksLike: ProblemId,
    resourceType: string,
    resourceId: string,
    resourceArn: string,
    region: string,
  ) => traps.push({ trap: t, looksLike, resourceType, resourceId, resourceArn, region });
  const daysAgo = (r: Rng, min: number, max: number) =>
    now - r.int(min, max) * DAY - r.int(0, DAY / 1000 - 1) * 1000;

  const account: Account = {
    id,
    name,
    seed: opts.seed,
    iam: {
      users: new Map(),
      roles: new Map(),
      root: { createDate: now - 900 * DAY, mfaEnabled: true, accessKeys: [] },
    },
    s3: { buckets: new Map(), legacyNoDefaultEncryption: planted('s3_bucket_no_encryption') },
    regions: new Map(),
    enabledRegions: [...regions],
  };
  const owners = ['platform-team', 'data-team', 'web-team', 'ml-team', 'security'];
  const envs = ['prod', 'staging', 'dev'];
  const fullTags = (r: Rng, nameTag?: string): Tag[] => {
    const t: Tag[] = [
      { Key: 'Owner', Value: r.pick(owners) },
      { Key: 'Environment', Value: r.pick(envs) },
      { Key: 'CostCenter', Value: `cc-${r.int(100, 999)}` },
    ];
    if (nameTag) t.unshift({ Key: 'Name', Value: nameTag });
    return t;
  };
  const dropTag = (r: Rng, tags: Tag[]): void => {
    const victim = r.pick(REQUIRED_TAGS);
    const i = tags.findIndex((t) => t.Key === victim);
    if (i >= 0) tags.splice(i, 1);
  };

  // ---------- counts ----------
  const count = (fraction: number, min: number) => Math.max(min, Math.round(size * fraction));
  const nInstances = count(0.25, 4 * k + 6);
  const nDataVolumes = count(0.07, 3 * k + 2);
  const nUnattached = k;
  const nSnapshots = count(0.16, 2 * k + 3);
  const nSgs = count(0.06, 4);
  const nEips = count(0.025, k + 2);
  const nAmis = count(0.025, k + 2);
  const nDbs = count(0.03, 6 * k + 2);
  const nDbSnaps = count(0.025, k + 2);
  const nBuckets = count(0.05, 5 * k + 8);
  const nUsers = count(0.02, 3 * k + 4);
  const nRoles = count(0.02, 2 * k + 3);
  const nKeys = count(0.012, k + 2);
  const nSecrets = count(0.006, 2);

  // ---------- regions: VPC, subnets, default SG, app SGs ----------
  const regionState = (r: string): RegionState => account.regions.get(r)!;
  const appGroups = new Map<string, SecurityGroup[]>();
  const sgArn = (r: string, g: string) => `arn:aws:ec2:${r}:${id}:security-group/${g}`;
  for (const r of regions) {
    const rr = rng.fork(`region/${r}`);
    const vpc = ec2Id('vpc', rr);
    const st = newRegion(
      r,
      vpc,
      ['a', 'b', 'c'].map((z) => ({ id: ec2Id('subnet', rr), az: `${r}${z}` })),
    );
    st.ec2.ebsEncryptionByDefault = true;
    account.regions.set(r, st);
    const def: SecurityGroup = {
      id: ec2Id('sg', rr),
      name: 'default',
      description: 'default VPC security group',
      vpcId: vpc,
      rules: [],
      tags: [],
    };
    st.ec2.securityGroups.set(def.id, def);
    const groups: SecurityGroup[] = [];
    for (let i = 0; i < Math.max(2, Math.ceil(nSgs / regions.length)); i++) {
      const g: SecurityGroup = {
        id: ec2Id('sg', rr),
        name: `app-${r}-${i}`,
        description: 'application tier',
        vpcId: vpc,
        rules: [],
        tags: [],
      };
      g.rules.push(
        rule(rr, {
          egress: false,
          protocol: 'tcp',
          fromPort: 443,
          toPort: 443,
          cidrIpv4: '10.0.0.0/8',
          description: 'https from VPC',
        }),
      );
      if (i > 0)
        g.rules.push(
          rule(rr, {
            egress: false,
            protocol: 'tcp',
            fromPort: 5432,
            toPort: 5432,
            referencedGroupId: groups[0]!.id,
          }),
        );
      g.rules.push(
        rule(rr, { egress: true, protocol: '-1', fromPort: -1, toPort: -1, cidrIpv4: '0.0.0.0/0' }),
      );
      st.ec2.securityGroups.set(g.id, g);
      groups.push(g);
    }
    appGroups.set(r, groups);
    // AWS managed EBS key (rotates automatically) per region.
    const ebsKey = newKey(id, r, {
      id: uuid(rr),
      description: 'Default key that protects my EBS volumes when no other key is defined',
      manager: 'AWS',
      rotation: true,
      creationDate: now - 700 * DAY,
      material: crypto.randomBytes(32),
    });
    ebsKey.aliases.push('alias/aws/ebs');
    st.kms.set(ebsKey.id, ebsKey);
  }
  function rule(r: Rng, x: Omit<SecurityGroupRule, 'id' | 'tags'>): SecurityGroupRule {
    return { id: ec2Id('sgr', r), tags: [], ...x };
  }

  // ---------- EC2: instances and volumes ----------
  const ec2r = rng.fork('ec2');
  const types = ['t3.micro', 't3.medium', 'm5.large', 'm6i.xlarge', 'c5.large', 'r5.large'];
  const instancesByRegion = new Map<string, Instance[]>();
  const volArn = (r: string, v: string) => `arn:aws:ec2:${r}:${id}:volume/${v}`;
  const instArn = (r: string, i: string) => `arn:aws:ec2:${r}:${id}:instance/${i}`;
  let ipCounter = 10;
  function newVolume(r: string, az: string, opts2: Partial<Volume> = {}): Volume {
    const v: Volume = {
      id: ec2Id('vol', ec2r),
      size: ec2r.pick([8, 20, 50, 100, 200]),
      type: 'gp3',
      iops: 3000,
      throughput: 125,
      az,
      encrypted: true,
      kmsKeyId: `arn:aws:kms:${r}:${id}:alias/aws/ebs`,
      state: 'in-use',
      createTime: daysAgo(ec2r, 30, 400),
      tags: fullTags(ec2r),
      ...opts2,
    };
    regionState(r).ec2.volumes.set(v.id, v);
    return v;
  }
  function attach(r: string, inst: Instance, v: Volume, device: string): void {
    v.attachment = {
      instanceId: inst.id,
      device,
      attachTime: inst.launchTime,
      deleteOnTermination: device === '/dev/xvda',
    };
    v.state = 'in-use';
    inst.blockDevices.push({
      device,
      volumeId: v.id,
      attachTime: inst.launchTime,
      deleteOnTermination: device === '/dev/xvda',
    });
  }
  function newInstance(r: string): Instance {
    const st = regionState(r);
    const subnet = ec2r.pick(st.ec2.subnets);
    const ip = `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
    ipCounter++;
    const hasPublic = ec2r.chance(0.3);
    const i: Instance = {
      id: ec2Id('i', ec2r),
      reservationId: ec2Id('r', ec2r),
      type: ec2r.pick(types),
      state: 'running',
      stateTransitionReason: '',
      launchTime: daysAgo(ec2r, 30, 500),
      imageId: ec2Id('ami', ec2r),
      az: subnet.az,
      vpcId: st.ec2.vpcId,
      subnetId: subnet.id,
      privateIp: ip,
      publicIp: hasPublic
        ? `54.${ec2r.int(1, 254)}.${ec2r.int(1, 254)}.${ec2r.int(1, 254)}`
        : undefined,
      assignPublicIp: hasPublic,
      eniId: ec2Id('eni', ec2r),
      keyName: ec2r.chance(0.5) ? 'ops-key' : undefined,
      architecture: ec2r.chance(0.8) ? 'x86_64' : 'arm64',
      blockDevices: [],
      metadata: {
        httpTokens: 'required',
        httpEndpoint: 'enabled',
        hopLimit: 2,
        instanceMetadataTags: 'disabled',
      },
      tags: [],
      profile: 'normal',
    };
    i.tags = fullTags(ec2r, `srv-${i.id.slice(-6)}`);
    const groups = appGroups.get(r)!;
    st.ec2.networkInterfaces.set(i.eniId, {
      id: i.eniId,
      instanceId: i.id,
      groupIds: [ec2r.pick(groups).id],
      subnetId: subnet.id,
      vpcId: st.ec2.vpcId,
      az: subnet.az,
      privateIp: ip,
      description: '',
      macAddress: `0e:${ec2r.hex(2)}:${ec2r.hex(2)}:${ec2r.hex(2)}:${ec2r.hex(2)}:${ec2r.hex(2)}`,
    });
    st.ec2.instances.set(i.id, i);
    const root = newVolume(r, i.az, {
      size: ec2r.pick([8, 16, 30]),
      createTime: i.launchTime,
      tags: fullTags(ec2r),
    });
    attach(r, i, root, '/dev/xvda');
    let list = instancesByRegion.get(r);
    if (!list) instancesByRegion.set(r, (list = []));
    list.push(i);
    return i;
  }
  const pickRegion = (r: Rng) => r.pick(regions);
  const stopAt = (i: Instance, at: number) => {
    i.state = 'stopped';
    i.stoppedAt = at;
    i.stateTransitionReason = `User initiated (${new Date(at)
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d{3}Z$/, ' GMT')})`;
    if (i.publicIp) delete i.publicIp;
  };

  const plantedInstances: Instance[] = [];
  for (let n = 0; n < k; n++) {
    if (planted('ec2_imdsv2_not_required')) {
      const r = pickRegion(ec2r);
      const i = newInstance(r);
      i.metadata.httpTokens = 'optional';
      mark('ec2_imdsv2_not_required', 'AWS::EC2::Instance', i.id, instArn(r, i.id), r);
      plantedInstances.push(i);
    }
    if (planted('ec2_idle')) {
      const r = pickRegion(ec2r);
      const i = newInstance(r);
      i.profile = 'idle';
      mark('ec2_idle', 'AWS::EC2::Instance', i.id, instArn(r, i.id), r);
      plantedInstances.push(i);
    }
    if (planted('ec2_stopped_long')) {
      const r = pickRegion(ec2r);
      const i = newInstance(r);
      i.launchTime = daysAgo(ec2r, 300, 600);
      stopAt(i, daysAgo(ec2r, 45, 200));
      mark('ec2_stopped_long', 'AWS::EC2::Instance', i.id, instArn(r, i.id), r);
      plantedInstances.push(i);
    }
    if (planted('tags_missing')) {
      const r = pickRegion(ec2r);
      const i = newInstance(r);
      dropTag(ec2r, i.tags);
      mark('tags_missing', 'AWS::EC2::Instance', i.id, instArn(r, i.id), r);
      plantedInstances.push(i);
    }
  }
  // Clean instances; a few stopped recently (not a problem).
  for (let n = plantedInstances.length; n < nInstances; n++) {
    const r = regions[n % regions.length]!;
    const i = newInstance(r);
    if (ec2r.chance(0.05)) stopAt(i, daysAgo(ec2r, 1, 10));
  }
  const allInstances = [...instancesByRegion.values()]
    .flat()
    .filter((i) => !plantedInstances.includes(i) && i.state === 'running');
  const dataHost = (r: string): Instance => {
    const list = allInstances.filter((i) => i.vpcId === regionState(r).ec2.vpcId);
    return list.length ? ec2r.pick(list) : newInstance(r);
  };
  let deviceCounter = 0;
  const nextDevice = () => `/dev/sd${'fghijklmnop'[deviceCounter++ % 11]}`;
  const dataVolume = (r: string, mut: (v: Volume) => void): Volume => {
    const host = dataHost(r);
    const v = newVolume(r, host.az);
    mut(v);
    attach(r, host, v, nextDevice());
    return v;
  };
  for (let n = 0; n < k; n++) {
    if (planted('ebs_volume_unencrypted')) {
      const r = pickRegion(ec2r);
      const v = dataVolume(r, (x) => {
        x.encrypted = false;
        delete x.kmsKeyId;
      });
      mark('ebs_volume_unencrypted', 'AWS::EC2::Volume', v.id, volArn(r, v.id), r);
    }
    if (planted('ebs_volume_gp2')) {
      const r = pickRegion(ec2r);
      const v = dataVolume(r, (x) => {
        x.type = 'gp2';
        x.iops = Math.max(100, x.size * 3);
        delete x.throughput;
      });
      mark('ebs_volume_gp2', 'AWS::EC2::Volume', v.id, volArn(r, v.id), r);
    }
    if (planted('tags_missing')) {
      const r = pickRegion(ec2r);
      const v = dataVolume(r, (x) => dropTag(ec2r, x.tags));
      mark('tags_missing', 'AWS::EC2::Volume', v.id, volArn(r, v.id), r);
    }
  }
  for (let n = 0; n < nUnattached && planted('ebs_volume_unattached'); n++) {
    const r = pickRegion(ec2r);
    const st = regionState(r);
    const v = newVolume(r, ec2r.pick(st.ec2.subnets).az, { state: 'available' });
    mark('ebs_volume_unattached', 'AWS::EC2::Volume', v.id, volArn(r, v.id), r);
  }
  for (let n = 0; n < nDataVolumes; n++) dataVolume(regions[n % regions.length]!, () => undefined);

  // ---------- security groups ----------
  const sgr = rng.fork('sg');
  const plantGroup = (
    r: string,
    nameBase: string,
    rules: Omit<SecurityGroupRule, 'id' | 'tags'>[],
  ): SecurityGroup => {
    const st = regionState(r);
    const g: SecurityGroup = {
      id: ec2Id('sg', sgr),
      name: `${nameBase}-${sgr.hex(4)}`,
      description: nameBase,
      vpcId: st.ec2.vpcId,
      rules: [],
      tags: [],
    };
    for (const x of rules) g.rules.push(rule(sgr, x));
    g.rules.push(
      rule(sgr, { egress: true, protocol: '-1', fromPort: -1, toPort: -1, cidrIpv4: '0.0.0.0/0' }),
    );
    st.ec2.securityGroups.set(g.id, g);
    return g;
  };
  for (let n = 0; n < k; n++) {
    if (planted('sg_open_ssh')) {
      const r = pickRegion(sgr);
      const g = plantGroup(r, 'bastion', [
        {
          egress: false,
          protocol: 'tcp',
          fromPort: 22,
          toPort: 22,
          cidrIpv4: '0.0.0.0/0',
          description: 'ssh',
        },
      ]);
      mark('sg_open_ssh', 'AWS::EC2::SecurityGroup', g.id, sgArn(r, g.id), r);
    }
    if (planted('sg_open_rdp')) {
      const r = pickRegion(sgr);
      const g = plantGroup(r, 'windows-admin', [
        {
          egress: false,
          protocol: 'tcp',
          fromPort: 3389,
          toPort: 3389,
          cidrIpv6: '::/0',
          description: 'rdp',
        },
      ]);
      mark('sg_open_rdp', 'AWS::EC2::SecurityGroup', g.id, sgArn(r, g.id), r);
    }
    if (planted('sg_open_all_ports')) {
      const r = pickRegion(sgr);
      const g = plantGroup(r, 'debug-open', [
        { egress: false, protocol: '-1', fromPort: -1, toPort: -1, cidrIpv4: '0.0.0.0/0' },
      ]);
      mark('sg_open_all_ports', 'AWS::EC2::SecurityGroup', g.id, sgArn(r, g.id), r);
      if (planted('sg_open_ssh'))
        mark('sg_open_ssh', 'AWS::EC2::SecurityGroup', g.id, sgArn(r, g.id), r);
      if (planted('sg_open_rdp'))
        mark('sg_open_rdp', 'AWS::EC2::SecurityGroup', g.id, sgArn(r, g.id), r);
    }
  }
  {
    // Trap: open to the internet on 443 only.
    const r = regions[0]!;
    const g = plantGroup(r, 'public-web', [
      {
        egress: false,
        protocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        cidrIpv4: '0.0.0.0/0',
        description: 'https',
      },
      {
        egress: false,
        protocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        cidrIpv6: '::/0',
        description: 'https v6',
      },
    ]);
    trap(
      'sg_open_443_only',
      'sg_open_all_ports',
      'AWS::EC2::SecurityGroup',
      g.id,
      sgArn(r, g.id),
      r,
    );
  }
  if (planted('sg_default_has_rules')) {
    const r = regions[regions.length - 1]!;
    const def = [...regionState(r).ec2.securityGroups.values()].find((g) => g.name === 'default')!;
    def.rules.push(
      rule(sgr, {
        egress: false,
        protocol: '-1',
        fromPort: -1,
        toPort: -1,
        referencedGroupId: def.id,
      }),
    );
    def.rules.push(
      rule(sgr, { egress: true, protocol: '-1', fromPort: -1, toPort: -1, cidrIpv4: '0.0.0.0/0' }),
    );
    mark('sg_default_has_rules', 'AWS::EC2::SecurityGroup', def.id, sgArn(r, def.id), r);
  }
  if (planted('ebs_default_encryption_off')) {
    for (const r of regions.slice(regions.length > 1 ? 1 : 0)) {
      regionState(r).ec2.ebsEncryptionByDefault = false;
      mark(
        'ebs_default_encryption_off',
        'AWS::EC2::EbsEncryptionByDefault',
        id,
        `arn:aws:ec2:${r}:${id}:ebs-encryption-by-default`,
        r,
      );
    }
  }

  // ---------- snapshots, AMIs, EIPs ----------
  const snr = rng.fork('snapshots');
  const snapArn = (r: string, s: string) => `arn:aws:ec2:${r}::snapshot/${s}`;
  const newSnapshot = (r: string, opts2: Partial<Snapshot> = {}): Snapshot => {
    const vols = [...regionState(r).ec2.volumes.values()];
    const v = vols.length ? snr.pick(vols) : undefined;
    const start = daysAgo(snr, 3, 80);
    const sn: Snapshot = {
      id: ec2Id('snap', snr),
      volumeId: v?.id ?? 'vol-ffffffff',
      volumeSize: v?.size ?? 8,
      state: 'completed',
      startTime: start,
      completeAt: start + 600_000,
      encrypted: true,
      kmsKeyId: `arn:aws:kms:${r}:${id}:alias/aws/ebs`,
      description: `backup ${v?.id ?? ''}`.trim(),
      createVolumeGroups: [],
      createVolumeUserIds: [],
      tags: [],
      ...opts2,
    };
    regionState(r).ec2.snapshots.set(sn.id, sn);
    return sn;
  };
  let snaps = 0;
  for (let n = 0; n < k; n++) {
    if (planted('ebs_snapshot_public')) {
      const r = pickRegion(snr);
      const sn = newSnapshot(r, {
        encrypted: false,
        kmsKeyId: undefined,
        createVolumeGroups: ['all'],
      });
      mark('ebs_snapshot_public', 'AWS::EC2::Snapshot', sn.id, snapArn(r, sn.id), r);
      snaps++;
    }
    if (planted('ebs_snapshot_old')) {
      const r = pickRegion(snr);
      const start = daysAgo(snr, 120, 700);
      const sn = newSnapshot(r, { startTime: start, completeAt: start + 600_000 });
      mark('ebs_snapshot_old', 'AWS::EC2::Snapshot', sn.id, snapArn(r, sn.id), r);
      snaps++;
    }
  }
  {
    const r = regions[0]!;
    const sn = newSnapshot(r, { createVolumeUserIds: ['444455556666'] });
    trap(
      'snapshot_shared_with_one_account',
      'ebs_snapshot_public',
      'AWS::EC2::Snapshot',
      sn.id,
      snapArn(r, sn.id),
      r,
    );
    snaps++;
  }
  for (; snaps < nSnapshots; snaps++) newSnapshot(regions[snaps % regions.length]!);

  const amr = rng.fork('amis');
  for (let n = 0; n < nAmis; n++) {
    const r = n < k && planted('ami_public') ? pickRegion(amr) : regions[n % regions.length]!;
    const img = {
      id: ec2Id('ami', amr),
      name: `golden-image-${amr.hex(6)}`,
      description: 'baked image',
      creationDate: daysAgo(amr, 10, 300),
      architecture: 'x86_64' as const,
      rootDeviceName: '/dev/xvda',
      launchGroups: [] as string[],
      launchUserIds: [] as string[],
      tags: [],
    };
    regionState(r).ec2.images.set(img.id, img);
    if (n < k && planted('ami_public')) {
      img.launchGroups.push('all');
      mark('ami_public', 'AWS::EC2::Image', img.id, `arn:aws:ec2:${r}::image/${img.id}`, r);
    }
  }

  const eir = rng.fork('eips');
  for (let n = 0; n < nEips; n++) {
    const unassoc = n < k && planted('eip_unassociated');
    const r = unassoc ? pickRegion(eir) : regions[n % regions.length]!;
    const a = {
      allocationId: ec2Id('eipalloc', eir),
      publicIp: `3.${eir.int(1, 254)}.${eir.int(1, 254)}.${eir.int(1, 254)}`,
      tags: [] as Tag[],
    } as {
      allocationId: string;
      publicIp: string;
      associationId?: string;
      instanceId?: string;
      eniId?: string;
      tags: Tag[];
    };
    if (!unassoc) {
      const host = dataHost(r);
      a.associationId = ec2Id('eipassoc', eir);
      a.instanceId = host.id;
      a.eniId = host.eniId;
      host.publicIp = a.publicIp;
    }
    regionState(r).ec2.addresses.set(a.allocationId, a);
    if (unassoc)
      mark(
        'eip_unassociated',
        'AWS::EC2::EIP',
        a.allocationId,
        `arn:aws:ec2:${r}:${id}:elastic-ip/${a.allocationId}`,
        r,
      );
  }

  // ---------- RDS ----------
  const rdr = rng.fork('rds');
  const dbArn = (r: string, d: string) => `arn:aws:rds:${r}:${id}:db:${d}`;
  const newDb = (r: string): DbInstance => {
    const st = regionState(r);
    const d: DbInstance = {
      id: `db-${rdr.hex(8)}`,
      resourceId: `db-${rdr.chars(26, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`,
      instanceClass: rdr.pick(['db.t3.medium', 'db.m5.large', 'db.r6g.large']),
      engine: rdr.pick(['postgres', 'mysql']),
      engineVersion: '16.3',
      status: 'available',
      publiclyAccessible: false,
      storageEncrypted: true,
      kmsKeyId: `arn:aws:kms:${r}:${id}:alias/aws/rds`,
      backupRetentionPeriod: 7,
      deletionProtection: true,
      multiAZ: rdr.chance(0.3),
      allocatedStorage: rdr.pick([20, 100, 500]),
      az: rdr.pick(st.ec2.subnets).az,
      createTime: daysAgo(rdr, 40, 700),
      masterUsername: 'admin',
      port: 5432,
      securityGroupIds: [appGroups.get(r)![0]!.id],
      tags: fullTags(rdr),
      profile: 'normal',
    };
    if (d.engine === 'mysql') {
      d.engineVersion = '8.0.39';
      d.port = 3306;
    }
    st.rds.instances.set(d.id, d);
    return d;
  };
  let dbs = 0;
  const rdsProblems: [ProblemId, (d: DbInstance) => void][] = [
    ['rds_public', (d) => (d.publiclyAccessible = true)],
    [
      'rds_unencrypted',
      (d) => {
        d.storageEncrypted = false;
        delete d.kmsKeyId;
      },
    ],
    ['rds_no_backups', (d) => (d.backupRetentionPeriod = 0)],
    ['rds_no_deletion_protection', (d) => (d.deletionProtection = false)],
    ['rds_idle', (d) => (d.profile = 'idle')],
    ['tags_missing', (d) => dropTag(rdr, d.tags)],
  ];
  for (let n = 0; n < k; n++)
    for (const [p, mut] of rdsProblems) {
      if (!planted(p)) continue;
      const r = pickRegion(rdr);
      const d = newDb(r);
      mut(d);
      mark(p, 'AWS::RDS::DBInstance', d.id, dbArn(r, d.id), r);
      dbs++;
    }
  for (; dbs < nDbs; dbs++) newDb(regions[dbs % regions.length]!);
  const newDbSnap = (r: string, opts2: Partial<DbSnapshot> = {}): DbSnapshot => {
    const st = regionState(r);
    const dbList = [...st.rds.instances.values()];
    const d = dbList.length ? rdr.pick(dbList) : newDb(r);
    const created = daysAgo(rdr, 1, 60);
    const sn: DbSnapshot = {
      id: `snap-${d.id}-${rdr.hex(6)}`,
      dbInstanceId: d.id,
      type: 'manual',
      status: 'available',
      createTime: created,
      completeAt: created,
      encrypted: d.storageEncrypted,
      engine: d.engine,
      engineVersion: d.engineVersion,
      allocatedStorage: d.allocatedStorage,
      az: d.az,
      restoreAttrs: [],
      tags: [],
      ...opts2,
    };
    st.rds.snapshots.set(sn.id, sn);
    return sn;
  };
  let dbSnaps = 0;
  for (let n = 0; n < k && planted('rds_snapshot_public'); n++) {
    const r = pickRegion(rdr);
    const sn = newDbSnap(r, { encrypted: false, restoreAttrs: ['all'] });
    mark(
      'rds_snapshot_public',
      'AWS::RDS::DBSnapshot',
      sn.id,
      `arn:aws:rds:${r}:${id}:snapshot:${sn.id}`,
      r,
    );
    dbSnaps++;
  }
  for (; dbSnaps < nDbSnaps; dbSnaps++)
    newDbSnap(regions[dbSnaps % regions.length]!, { encrypted: true });

  // ---------- S3 ----------
  const s3r = rng.fork('s3');
  const ownerId = canonicalUserId(id);
  const accountPabOn = !planted('s3_account_public_access_block_off');
  const FULL = {
    BlockPublicAcls: true,
    IgnorePublicAcls: true,
    BlockPublicPolicy: true,
    RestrictPublicBuckets: true,
  };
  account.s3.accountPublicAccessBlock = accountPabOn
    ? { ...FULL }
    : s3r.chance(0.5)
      ? undefined
      : {
          BlockPublicAcls: true,
          IgnorePublicAcls: false,
          BlockPublicPolicy: true,
          RestrictPublicBuckets: false,
        };
  if (!accountPabOn)
    mark(
      's3_account_public_access_block_off',
      'AWS::S3::AccountPublicAccessBlock',
      id,
      `arn:aws:s3:::account/${id}`,
      'global',
    );
  const logBucketName = `logs-${id}-${s3r.hex(4)}`;
  const bucketArn = (b: string) => `arn:aws:s3:::${b}`;
  const tlsDeny = (b: string) =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'DenyInsecureTransport',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [bucketArn(b), `${bucketArn(b)}/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ],
    });
  let bucketIndex = 0;
  const newBucket = (purpose: string, r?: string): Bucket => {
    const region = r ?? regions[bucketIndex % regions.length]!;
    const name =
      purpose === 'logs'
        ? logBucketName
        : `${purpose}-${id}-${String(bucketIndex).padStart(4, '0')}`;
    bucketIndex++;
    const b: Bucket = {
      name,
      region,
      creationDate: daysAgo(s3r, 30, 1500),
      ownerId,
      grants: [{ grantee: { type: 'CanonicalUser', id: ownerId }, permission: 'FULL_CONTROL' }],
      policy: tlsDeny(name),
      publicAccessBlock: { ...FULL },
      encryption: s3r.chance(0.3)
        ? {
            algorithm: 'aws:kms',
            kmsKeyId: `arn:aws:kms:${region}:${id}:alias/aws/s3`,
            bucketKey: true,
          }
        : { algorithm: 'AES256', bucketKey: false },
      versioning: 'Enabled',
      lifecycle: [
        {
          ID: 'archive',
          Status: 'Enabled',
          Filter: { Prefix: '' },
          Transitions: [{ Days: 90, StorageClass: 'GLACIER' }],
        },
      ],
      logging: { targetBucket: logBucketName, targetPrefix: `${name}/` },
      ownership: 'BucketOwnerEnforced',
      objects: new Map(),
      tags: fullTags(s3r),
    };
    const body = Buffer.from(`sandbox object in ${name}\n`);
    b.objects.set('data/report.csv', {
      body,
      etag: `"${crypto.createHash('md5').update(body).digest('hex')}"`,
      lastModified: b.creationDate + DAY,
      contentType: 'text/csv',
    });
    account.s3.buckets.set(name, b);
    return b;
  };
  newBucket('logs', regions[0]);
  const publicPolicy = (b: string, condition?: Record<string, Record<string, string>>) =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'PublicRead',
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: `${bucketArn(b)}/*`,
          ...(condition ? { Condition: condition } : {}),
        },
      ],
    });
  const makePublicAcl = (b: Bucket) => {
    b.ownership = 'ObjectWriter';
    b.grants.push({ grantee: { type: 'Group', uri: ALL_USERS }, permission: 'READ' });
  };
  for (let n = 0; n < k; n++) {
    if (planted('s3_bucket_public_acl') || accountPabOn) {
      const b = newBucket('public-assets');
      makePublicAcl(b);
      delete b.publicAccessBlock;
      if (accountPabOn)
        trap(
          'public_acl_masked_by_account_block',
          's3_bucket_public_acl',
          'AWS::S3::Bucket',
          b.name,
          bucketArn(b.name),
          b.region,
        );
      else {
        mark('s3_bucket_public_acl', 'AWS::S3::Bucket', b.name, bucketArn(b.name), b.region);
        mark(
          's3_bucket_no_public_access_block',
          'AWS::S3::Bucket',
          b.name,
          bucketArn(b.name),
          b.region,
        );
      }
    }
    if (planted('s3_bucket_public_policy') || accountPabOn) {
      const b = newBucket('website');
      b.policy = publicPolicy(b.name);
      b.website = { indexDocument: 'index.html', errorDocument: 'error.html' };
      delete b.publicAccessBlock;
      if (accountPabOn)
        trap(
          'public_policy_masked_by_account_block',
          's3_bucket_public_policy',
          'AWS::S3::Bucket',
          b.name,
          bucketArn(b.name),
          b.region,
        );
      else {
        mark('s3_bucket_public_policy', 'AWS::S3::Bucket', b.name, bucketArn(b.name), b.region);
        mark(
          's3_bucket_no_public_access_block',
          'AWS::S3::Bucket',
          b.name,
          bucketArn(b.name),
          b.region,
        );
      }
    }
    if (planted('s3_bucket_no_public_access_block') && !accountPabOn) {
      const b = newBucket('internal');
      b.publicAccessBlock = {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: false,
        RestrictPublicBuckets: false,
      };
      mark(
        's3_bucket_no_public_access_block',
        'AWS::S3::Bucket',
        b.name,
        bucketArn(b.name),
        b.region,
      );
    }
    if (planted('s3_bucket_versioning_off')) {
      const b = newBucket('scratch');
      if (s3r.chance(0.5)) b.versioning = 'Suspended';
      else delete b.versioning;
      mark('s3_bucket_versioning_off', 'AWS::S3::Bucket', b.name, bucketArn(b.name), b.region);
    }
    if (planted('s3_bucket_logging_off')) {
      const b = newBucket('analytics');
      delete b.logging;
      mark('s3_bucket_logging_off', 'AWS::S3::Bucket', b.name, bucketArn(b.name), b.region);
    }
    if (planted('s3_bucket_no_encryption')) {
      const b = newBucket('legacy');
      delete b.encryption;
      mark('s3_bucket_no_encryption', 'AWS::S3::Bucket', b.name, bucketArn(b.name), b.region);
    }
  }
  // Traps: Principal "*" restricted by conditions; a public ACL neutralised by the bucket's own block.
  {
    const conds: [string, Record<string, Record<string, string>>][] = [
      [
        'policy_restricted_by_source_vpce',
        { StringEquals: { 'aws:SourceVpce': `vpce-${s3r.hex(17)}` } },
      ],
      [
        'policy_restricted_by_org',
        {
          StringEquals: {
            'aws:PrincipalOrgID': `o-${s3r.chars(10, 'abcdefghijklmnopqrstuvwxyz0123456789')}`,
          },
        },
      ],
      [
        'policy_restricted_by_source_arn',
        {
          ArnEquals: {
            'aws:SourceArn': `arn:aws:cloudfront::${id}:distribution/E${s3r.chars(13, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')}`,
          },
        },
      ],
    ];
    for (const [t, c] of conds) {
      const b = newBucket('shared');
      b.policy = publicPolicy(b.name, c);
      trap(t, 's3_bucket_public_policy', 'AWS::S3::Bucket', b.name, bucketArn(b.name), b.region);
    }
    const b = newBucket('legacy-acl');
    makePublicAcl(b);
    trap(
      'public_acl_ignored_by_bucket_block',
      's3_bucket_public_acl',
      'AWS::S3::Bucket',
      b.name,
      bucketArn(b.name),
      b.region,
    );
  }
  while (account.s3.buckets.size < nBuckets) newBucket('data');

  // ---------- CloudTrail ----------
  const ctr = rng.fork('cloudtrail');
  const home = regions[0]!;
  const trailArn = (r: string, n: string) => `arn:aws:cloudtrail:${r}:${id}:trail/${n}`;
  const addTrail = (
    r: string,
    n: string,
    multi: boolean,
    logging: boolean,
    validation: boolean,
  ) => {
    regionState(r).trails.set(n, {
      name: n,
      homeRegion: r,
      s3BucketName: logBucketName,
      s3KeyPrefix: `cloudtrail/${n}`,
      isMultiRegion: multi,
      includeGlobalServiceEvents: multi,
      logFileValidation: validation,
      isLogging: logging,
      startLoggingTime: daysAgo(ctr, 200, 800),
      stopLoggingTime: logging ? undefined : daysAgo(ctr, 5, 60),
      eventSelectors: [
        {
          ReadWriteType: 'All',
          IncludeManagementEvents: true,
          DataResources: [],
          ExcludeManagementEventSources: [],
        },
      ],
      tags: [],
    });
  };
  const missing = planted('cloudtrail_missing');
  if (missing)
    mark('cloudtrail_missing', 'AWS::::Account', id, `arn:aws:iam::${id}:root`, 'global');
  else addTrail(home, 'organization-audit', true, true, true);
  if (planted('cloudtrail_single_region')) {
    const r = regions[regions.length - 1]!;
    addTrail(r, `regional-${r}`, false, true, true);
    mark(
      'cloudtrail_single_region',
      'AWS::CloudTrail::Trail',
      `regional-${r}`,
      trailArn(r, `regional-${r}`),
      r,
    );
  }
  if (planted('cloudtrail_no_log_validation')) {
    // In the "missing" shape a multi-region logging trail cannot exist, so this one is single-region.
    const r = home;
    addTrail(r, 'ops-trail', !missing, true, false);
    mark(
      'cloudtrail_no_log_validation',
      'AWS::CloudTrail::Trail',
      'ops-trail',
      trailArn(r, 'ops-trail'),
      r,
    );
    if (missing && planted('cloudtrail_single_region'))
      mark(
        'cloudtrail_single_region',
        'AWS::CloudTrail::Trail',
        'ops-trail',
        trailArn(r, 'ops-trail'),
        r,
      );
  }
  if (planted('cloudtrail_not_logging')) {
    addTrail(home, 'paused-trail', true, false, true);
    mark(
      'cloudtrail_not_logging',
      'AWS::CloudTrail::Trail',
      'paused-trail',
      trailArn(home, 'paused-trail'),
      home,
    );
  }
  for (const r of regions) {
    const st = regionState(r);
    for (let n = 0; n < 25; n++) {
      const t = now - ctr.int(1, 14 * 24 * 60) * 60_000;
      st.events.push({
        id: uuid(ctr),
        name: ctr.pick([
          'DescribeInstances',
          'RunInstances',
          'PutObject',
          'ConsoleLogin',
          'AssumeRole',
          'CreateBucket',
        ]),
        time: t,
        source: ctr.pick([
          'ec2.amazonaws.com',
          's3.amazonaws.com',
          'signin.amazonaws.com',
          'sts.amazonaws.com',
        ]),
        username: ctr.pick(['alice', 'bob', 'deploy-bot']),
      });
    }
    st.events.sort((a, b) => a.time - b.time);
  }

  // ---------- KMS, Secrets ----------
  const kmr = rng.fork('kms');
  for (let n = 0; n < nKeys; n++) {
    const r = regions[n % regions.length]!;
    const kk = newKey(id, r, {
      id: uuid(kmr),
      description: `customer key ${n}`,
      rotation: true,
      creationDate: daysAgo(kmr, 30, 900),
    });
    if (n < k && planted('kms_rotation_off')) {
      kk.rotationEnabled = false;
      mark('kms_rotation_off', 'AWS::KMS::Key', kk.id, kk.arn, r);
    }
    kk.aliases.push(`alias/app-${n}`);
    regionState(r).kms.set(kk.id, kk);
  }
  for (let n = 0; n < nSecrets; n++) {
    const r = regions[n % regions.length]!;
    const nm = `prod/app-${n}/db-password`;
    regionState(r).secrets.set(nm, {
      name: nm,
      arn: `arn:aws:secretsmanager:${r}:${id}:secret:${nm}-${kmr.chars(6, 'abcdefghijklmnopqrstuvwxyz')}`,
      value: JSON.stringify({ username: 'app', password: `pw-${kmr.hex(24)}` }),
      description: 'database credentials',
      createdDate: daysAgo(kmr, 30, 400),
      lastChangedDate: daysAgo(kmr, 1, 29),
      tags: [],
    });
  }

  // ---------- IAM ----------
  const iar = rng.fork('iam');
  const userKeys: GeneratedAccount['userKeys'] = [];
  const userArn = (u: string) => `arn:aws:iam::${id}:user/${u}`;
  const newUser = (uname: string, console: boolean): IamUser => {
    const u: IamUser = {
      name: uname,
      id: principalId('AIDA', iar),
      arn: userArn(uname),
      path: '/',
      createDate: daysAgo(iar, 100, 900),
      passwordEnabled: console,
      passwordLastUsed: console ? daysAgo(iar, 0, 5) : undefined,
      passwordLastChanged: console ? daysAgo(iar, 10, 80) : undefined,
      mfaDevices: console
        ? [{ serial: `arn:aws:iam::${id}:mfa/${uname}`, enableDate: daysAgo(iar, 90, 99) }]
        : [],
      accessKeys: [],
      inline: {},
      attached: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
      tags: [],
    };
    account.iam.users.set(uname, u);
    return u;
  };
  const addKey = (
    u: IamUser,
    created: number,
    lastUsed: number | undefined,
    status: 'Active' | 'Inactive' = 'Active',
  ) => {
    const kid = accessKeyId('long', iar);
    const secret = secretAccessKey();
    u.accessKeys.push({
      id: kid,
      secret,
      status,
      createDate: created,
      lastUsed:
        lastUsed === undefined ? undefined : { date: lastUsed, service: 's3', region: home },
    });
    userKeys.push({ userName: u.name, accessKeyId: kid, secretAccessKey: secret });
    return kid;
  };
  const admin = newUser('sandbox-admin', false);
  admin.attached = ['arn:aws:iam::aws:policy/AdministratorAccess'];
  admin.createDate = now - 400 * DAY;
  const adminKey = addKey(admin, now - DAY, now);
  account.adminUserName = admin.name;
  const first = [
    'alice',
    'bob',
    'carol',
    'dave',
    'erin',
    'frank',
    'grace',
    'heidi',
    'ivan',
    'judy',
    'mallory',
    'niaj',
    'olivia',
    'peggy',
    'rupert',
    'sybil',
    'trent',
    'victor',
    'walter',
  ];
  let users = 1;
  const userName = () => `${iar.pick(first)}-${users++}-${iar.hex(3)}`;
  for (let n = 0; n < k; n++) {
    if (planted('iam_user_console_no_mfa')) {
      const u = newUser(userName(), true);
      u.mfaDevices = [];
      mark('iam_user_console_no_mfa', 'AWS::IAM::User', u.name, u.arn, 'global');
    }
    if (planted('iam_access_key_old')) {
      const u = newUser(userName(), false);
      const kid = addKey(u, daysAgo(iar, 120, 800), daysAgo(iar, 0, 3));
      mark('iam_access_key_old', 'AWS::IAM::AccessKey', kid, u.arn, 'global');
    }
    if (planted('iam_access_key_unused')) {
      const u = newUser(userName(), false);
      const kid = addKey(
        u,
        daysAgo(iar, 55, 75),
        iar.chance(0.5) ? undefined : daysAgo(iar, 50, 54),
      );
      mark('iam_access_key_unused', 'AWS::IAM::AccessKey', kid, u.arn, 'global');
    }
  }
  {
    const u = newUser(userName(), false);
    addKey(u, daysAgo(iar, 200, 400), daysAgo(iar, 150, 190), 'Inactive');
    addKey(u, daysAgo(iar, 5, 30), daysAgo(iar, 0, 2));
    trap('inactive_old_key', 'iam_access_key_old', 'AWS::IAM::User', u.name, u.arn, 'global');
  }
  for (; users < nUsers;) {
    const u = newUser(userName(), iar.chance(0.5));
    if (!u.passwordEnabled || iar.chance(0.5)) addKey(u, daysAgo(iar, 5, 40), daysAgo(iar, 0, 2));
  }
  // Root
  if (planted('iam_root_access_keys')) {
    account.iam.root.accessKeys.push({
      active: true,
      lastRotated: daysAgo(iar, 300, 900),
      lastUsed: daysAgo(iar, 20, 200),
    });
    mark('iam_root_access_keys', 'AWS::IAM::Root', id, `arn:aws:iam::${id}:root`, 'global');
  }
  if (planted('iam_root_mfa_off')) {
    account.iam.root.mfaEnabled = false;
    mark('iam_root_mfa_off', 'AWS::IAM::Root', id, `arn:aws:iam::${id}:root`, 'global');
  }
  account.iam.root.passwordLastUsed = daysAgo(iar, 30, 300);
  if (planted('iam_password_policy_weak')) {
    if (iar.chance(0.5))
      account.iam.passwordPolicy = {
        MinimumPasswordLength: 8,
        RequireSymbols: false,
        RequireNumbers: true,
        RequireUppercaseCharacters: true,
        RequireLowercaseCharacters: true,
        AllowUsersToChangePassword: true,
        ExpirePasswords: false,
      };
    mark(
      'iam_password_policy_weak',
      'AWS::IAM::PasswordPolicy',
      id,
      `arn:aws:iam::${id}:root`,
      'global',
    );
  } else
    account.iam.passwordPolicy = {
      MinimumPasswordLength: 14,
      RequireSymbols: true,
      RequireNumbers: true,
      RequireUppercaseCharacters: true,
      RequireLowercaseCharacters: true,
      AllowUsersToChangePassword: true,
      ExpirePasswords: true,
      MaxPasswordAge: 90,
      PasswordReusePrevention: 24,
    };
  // Roles
  const roleArn = (r: string) => `arn:aws:iam::${id}:role/${r}`;
  const newRole = (rname: string, trust: object): IamRole => {
    const r: IamRole = {
      name: rname,
      id: principalId('AROA', iar),
      arn: roleArn(rname),
      path: '/',
      createDate: daysAgo(iar, 30, 900),
      trustPolicy: JSON.stringify({ Version: '2012-10-17', Statement: [trust] }),
      maxSessionDuration: 3600,
      inline: {},
      attached: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
      tags: [],
    };
    account.iam.roles.set(rname, r);
    return r;
  };
  const vendor = () => `9${iar.chars(11, '0123456789')}`;
  let roles = 0;
  for (let n = 0; n < k && planted('iam_role_third_party_trust_no_external_id'); n++, roles++) {
    const r = newRole(`vendor-access-${n}`, {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${vendor()}:root` },
      Action: 'sts:AssumeRole',
    });
    mark('iam_role_third_party_trust_no_external_id', 'AWS::IAM::Role', r.name, r.arn, 'global');
  }
  {
    const r = newRole('monitoring-vendor', {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${vendor()}:root` },
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'sts:ExternalId': `ext-${iar.hex(16)}` } },
    });
    trap(
      'third_party_trust_with_external_id',
      'iam_role_third_party_trust_no_external_id',
      'AWS::IAM::Role',
      r.name,
      r.arn,
      'global',
    );
    roles++;
  }
  for (; roles < nRoles; roles++) {
    if (roles % 2 === 0)
      newRole(`ec2-app-role-${roles}`, {
        Effect: 'Allow',
        Principal: { Service: 'ec2.amazonaws.com' },
        Action: 'sts:AssumeRole',
      });
    else
      newRole(`ops-admin-${roles}`, {
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${id}:root` },
        Action: 'sts:AssumeRole',
      });
  }

  // us-east-1 is always enabled on AWS (and where clients call DescribeRegions): when it is not
  // one of the populated regions it exists empty and clean.
  if (!regions.includes('us-east-1')) {
    const rr = rng.fork('region/us-east-1');
    const st = newRegion(
      'us-east-1',
      ec2Id('vpc', rr),
      ['a', 'b'].map((z) => ({ id: ec2Id('subnet', rr), az: `us-east-1${z}` })),
    );
    st.ec2.ebsEncryptionByDefault = true;
    account.regions.set('us-east-1', st);
    account.enabledRegions.push('us-east-1');
  }
  key.sort((a, b) => (a.problem + a.resourceId < b.problem + b.resourceId ? -1 : 1));
  return {
    account,
    answerKey: key,
    traps,
    admin: {
      userName: admin.name,
      accessKeyId: adminKey,
      secretAccessKey: admin.accessKeys[0]!.secret,
    },
    userKeys,
  };
}
