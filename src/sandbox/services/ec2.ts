// EC2 (ec2Query): instances, volumes, snapshots, security groups and rules, network
// interfaces, Elastic IPs, AMIs, EBS default encryption, regions; the write operations
// remediation uses; DryRun; filters and NextToken pagination.
import * as sdk from '@aws-sdk/client-ec2';
import { AwsError } from '../errors.js';
import { KNOWN_REGIONS } from '../engine.js';
import { op, type Ctx, type AnyOp, type ServiceDef } from '../framework.js';
import { ec2Id } from '../ids.js';
import { globMatch } from '../policy.js';
import type { OperationSchema } from '../protocols/serde.js';
import type {
  Ec2Region,
  Image,
  Instance,
  InstanceStateName,
  NetworkInterface,
  SecurityGroup,
  SecurityGroupRule,
  Snapshot,
  Tag,
  Volume,
} from '../state.js';
import { date, page, removeTags, req, setTags } from '../util.js';

const s = (x: unknown): OperationSchema => x as OperationSchema;
const STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

// ---------- lazy settlement of time-based transitions ----------
export function settleInstance(i: Instance, now: number): Instance {
  if (i.transition && i.transition.at <= now) {
    i.state = i.transition.to;
    delete i.transition;
  }
  return i;
}
export function settleSnapshot(sn: Snapshot, now: number): Snapshot {
  if (sn.state === 'pending' && sn.completeAt <= now) sn.state = 'completed';
  return sn;
}
export function settleVolume(v: Volume, now: number): Volume {
  if (v.state === 'creating' && v.createTime <= now) v.state = 'available';
  if (v.modification && v.modification.state !== 'completed' && v.modification.completeAt <= now)
    v.modification.state = 'completed';
  return v;
}
export function settleRegion(r: Ec2Region, now: number): void {
  for (const i of r.instances.values()) settleInstance(i, now);
  for (const sn of r.snapshots.values()) settleSnapshot(sn, now);
  for (const v of r.volumes.values()) settleVolume(v, now);
}

// ---------- filters ----------
type Extractor<T> = (
  r: T,
) => string | number | boolean | (string | number | undefined)[] | undefined;

function matchFilters<T extends { tags: Tag[] }>(
  ctx: Ctx,
  items: Iterable<T>,
  filters: sdk.Filter[] | undefined,
  extractors: Record<string, Extractor<T>>,
): T[] {
  const list = [...items];
  if (!filters?.length) return list;
  const preds = filters.map((f) => {
    const name = f.Name ?? '';
    const values = f.Values ?? [];
    let get: ((r: T) => (string | undefined)[]) | undefined;
    if (name.startsWith('tag:')) {
      const key = name.slice(4);
      get = (r) => r.tags.filter((t) => t.Key === key).map((t) => t.Value);
    } else if (name === 'tag-key') get = (r) => r.tags.map((t) => t.Key);
    else if (name === 'tag-value') get = (r) => r.tags.map((t) => t.Value);
    else {
      const ex = extractors[name];
      if (ex)
        get = (r) => {
          const v = ex(r);
          if (v === undefined) return [];
          return (Array.isArray(v) ? v : [v]).map((x) => (x === undefined ? undefined : String(x)));
        };
    }
    if (!get) throw new AwsError('InvalidParameterValue', `The filter '${name}' is invalid`);
    const g = get;
    return (r: T) =>
      g(r).some((actual) => actual !== undefined && values.some((v) => globMatch(v, actual)));
  });
  return list.filter((r) => preds.every((p) => p(r)));
}

function paginate<T>(
  ctx: Ctx,
  items: T[],
  input: { MaxResults?: number; NextToken?: string },
  min: number,
  max: number,
) {
  if (input.MaxResults !== undefined && (input.MaxResults < min || input.MaxResults > max))
    throw new AwsError(
      'InvalidParameterValue',
      `Value ( ${input.MaxResults} ) for parameter maxResults is invalid. Expecting a value between ${min} and ${max}.`,
    );
  if (input.MaxResults === undefined && input.NextToken === undefined)
    return { items, next: undefined };
  return page(
    items,
    input.NextToken,
    input.MaxResults ?? max,
    `ec2:${ctx.operation}:${ctx.region}`,
    () => new AwsError('InvalidParameterValue', 'The specified NextToken is not valid.'),
  );
}

const ec2State = (ctx: Ctx): Ec2Region => ctx.regionState.ec2;
const arn = (ctx: Ctx, type: string, id: string, withAccount = true): string =>
  `arn:aws:ec2:${ctx.region}:${withAccount ? ctx.account.id : ''}:${type}/${id}`;

function notFound(kind: string, id: string): AwsError {
  const messages: Record<string, string> = {
    'InvalidInstanceID.NotFound': `The instance ID '${id}' does not exist`,
    'InvalidVolume.NotFound': `The volume '${id}' does not exist.`,
    'InvalidSnapshot.NotFound': `The snapshot '${id}' does not exist.`,
    'InvalidGroup.NotFound': `The security group '${id}' does not exist`,
    'InvalidAllocationID.NotFound': `The allocation ID '${id}' does not exist`,
    'InvalidAMIID.NotFound': `The image id '[${id}]' does not exist`,
    'InvalidNetworkInterfaceID.NotFound': `The networkInterface ID '${id}' does not exist`,
    'InvalidSecurityGroupRuleId.NotFound': `The security group rule ID '${id}' does not exist`,
  };
  return new AwsError(kind, messages[kind] ?? `The ID '${id}' does not exist`);
}

function byIds<T>(
  map: Map<string, T>,
  ids: string[] | undefined,
  kind: string,
  prefix: string,
): T[] | undefined {
  if (!ids?.length) return undefined;
  return ids.map((id) => {
    if (!id.startsWith(`${prefix}-`))
      throw new AwsError(kind.replace('.NotFound', '.Malformed'), `Invalid id: "${id}"`);
    const r = map.get(id);
    if (!r) throw notFound(kind, id);
    return r;
  });
}

const gmt = (ms: number): string =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' GMT');

// ---------- output shapes ----------
function groupRef(r: Ec2Region, id: string): sdk.GroupIdentifier {
  return { GroupId: id, GroupName: r.securityGroups.get(id)?.name ?? id };
}

function eniOut(ctx: Ctx, r: Ec2Region, n: NetworkInterface): sdk.NetworkInterface {
  const addr = [...r.addresses.values()].find((a) => a.eniId === n.id);
  const inst = n.instanceId ? r.instances.get(n.instanceId) : undefined;
  const publicIp = addr?.publicIp ?? inst?.publicIp;
  return {
    NetworkInterfaceId: n.id,
    AvailabilityZone: n.az,
    Description: n.description,
    Groups: n.groupIds.map((g) => groupRef(r, g)),
    InterfaceType: 'interface',
    MacAddress: n.macAddress,
    OwnerId: ctx.account.id,
    PrivateIpAddress: n.privateIp,
    Status: n.instanceId ? 'in-use' : 'available',
    SubnetId: n.subnetId,
    VpcId: n.vpcId,
    Attachment: n.instanceId
      ? {
          AttachmentId: `eni-attach-${n.id.slice(4)}`,
          DeviceIndex: 0,
          InstanceId: n.instanceId,
          InstanceOwnerId: ctx.account.id,
          Status: 'attached',
        }
      : undefined,
    Association: publicIp
      ? { PublicIp: publicIp, IpOwnerId: addr ? ctx.account.id : 'amazon' }
      : undefined,
    TagSet: [],
  };
}

function instanceOut(ctx: Ctx, r: Ec2Region, i: Instance): sdk.Instance {
  settleInstance(i, ctx.now);
  const eni = r.networkInterfaces.get(i.eniId);
  const groups = eni?.groupIds ?? [];
  return {
    InstanceId: i.id,
    ImageId: i.imageId,
    State: { Code: STATE_CODES[i.state], Name: i.state },
    PrivateDnsName: `ip-${i.privateIp.replace(/\./g, '-')}.${ctx.region}.compute.internal`,
    PublicDnsName: i.publicIp
      ? `ec2-${i.publicIp.replace(/\./g, '-')}.${ctx.region}.compute.amazonaws.com`
      : '',
    StateTransitionReason: i.stateTransitionReason,
    KeyName: i.keyName,
    AmiLaunchIndex: 0,
    InstanceType: i.type as sdk._InstanceType,
    LaunchTime: date(i.launchTime),
    Placement: { AvailabilityZone: i.az, Tenancy: 'default', GroupName: '' },
    Monitoring: { State: 'disabled' },
    SubnetId: i.subnetId,
    VpcId: i.vpcId,
    PrivateIpAddress: i.privateIp,
    PublicIpAddress: i.publicIp,
    Architecture: i.architecture,
    RootDeviceType: 'ebs',
    RootDeviceName: '/dev/xvda',
    BlockDeviceMappings: i.blockDevices.map((b) => ({
      DeviceName: b.device,
      Ebs: {
        AttachTime: date(b.attachTime),
        DeleteOnTermination: b.deleteOnTermination,
        Status: 'attached',
        VolumeId: b.volumeId,
      },
    })),
    SecurityGroups: groups.map((g) => groupRef(r, g)),
    NetworkInterfaces: eni
      ? [
          {
            NetworkInterfaceId: eni.id,
            SubnetId: eni.subnetId,
            VpcId: eni.vpcId,
            Description: eni.description,
            OwnerId: ctx.account.id,
            Status: 'in-use',
            MacAddress: eni.macAddress,
            PrivateIpAddress: eni.privateIp,
            Groups: groups.map((g) => groupRef(r, g)),
            Attachment: {
              AttachmentId: `eni-attach-${eni.id.slice(4)}`,
              DeviceIndex: 0,
              Status: 'attached',
              AttachTime: date(i.launchTime),
              DeleteOnTermination: true,
            },
            Association: i.publicIp ? { PublicIp: i.publicIp, IpOwnerId: 'amazon' } : undefined,
            InterfaceType: 'interface',
          },
        ]
      : [],
    EbsOptimized: false,
    EnaSupport: true,
    Hypervisor: 'xen',
    VirtualizationType: 'hvm',
    PlatformDetails: 'Linux/UNIX',
    UsageOperation: 'RunInstances',
    Tags: i.tags.length ? i.tags : undefined,
    StateReason:
      i.state === 'stopped' || i.state === 'stopping'
        ? {
            Code: 'Client.UserInitiatedShutdown',
            Message: 'Client.UserInitiatedShutdown: User initiated shutdown',
          }
        : undefined,
    MetadataOptions: {
      State: 'applied',
      HttpTokens: i.metadata.httpTokens,
      HttpPutResponseHopLimit: i.metadata.hopLimit,
      HttpEndpoint: i.metadata.httpEndpoint,
      HttpProtocolIpv6: 'disabled',
      InstanceMetadataTags: i.metadata.instanceMetadataTags,
    },
  };
}

function volumeOut(ctx: Ctx, v: Volume): sdk.Volume {
  settleVolume(v, ctx.now);
  return {
    VolumeId: v.id,
    Size: v.size,
    VolumeType: v.type as sdk.VolumeType,
    Iops: v.iops,
    Throughput: v.throughput,
    AvailabilityZone: v.az,
    Encrypted: v.encrypted,
    KmsKeyId: v.kmsKeyId,
    State: v.state as sdk.VolumeState,
    CreateTime: date(v.createTime),
    SnapshotId: v.snapshotId ?? '',
    MultiAttachEnabled: false,
    Attachments: v.attachment
      ? [
          {
            VolumeId: v.id,
            InstanceId: v.attachment.instanceId,
            Device: v.attachment.device,
            State: 'attached',
            AttachTime: date(v.attachment.attachTime),
            DeleteOnTermination: v.attachment.deleteOnTermination,
          },
        ]
      : [],
    Tags: v.tags.length ? v.tags : undefined,
  };
}

function snapshotOut(ctx: Ctx, sn: Snapshot): sdk.Snapshot {
  settleSnapshot(sn, ctx.now);
  return {
    SnapshotId: sn.id,
    VolumeId: sn.volumeId,
    VolumeSize: sn.volumeSize,
    State: sn.state,
    Progress: sn.state === 'completed' ? '100%' : '0%',
    StartTime: date(sn.startTime),
    Encrypted: sn.encrypted,
    KmsKeyId: sn.kmsKeyId,
    Description: sn.description,
    OwnerId: ctx.account.id,
    StorageTier: 'standard',
    Tags: sn.tags.length ? sn.tags : undefined,
  };
}

function ruleOut(ctx: Ctx, g: SecurityGroup, rule: SecurityGroupRule): sdk.SecurityGroupRule {
  return {
    SecurityGroupRuleId: rule.id,
    GroupId: g.id,
    GroupOwnerId: ctx.account.id,
    IsEgress: rule.egress,
    IpProtocol: rule.protocol,
    FromPort: rule.fromPort,
    ToPort: rule.toPort,
    CidrIpv4: rule.cidrIpv4,
    CidrIpv6: rule.cidrIpv6,
    PrefixListId: rule.prefixListId,
    ReferencedGroupInfo: rule.referencedGroupId
      ? { GroupId: rule.referencedGroupId, UserId: ctx.account.id }
      : undefined,
    Description: rule.description,
    Tags: rule.tags,
    SecurityGroupRuleArn: arn(ctx, 'security-group-rule', rule.id),
  };
}

function permissionsOut(ctx: Ctx, rules: SecurityGroupRule[]): sdk.IpPermission[] {
  const groups = new Map<string, sdk.IpPermission>();
  for (const r of rules) {
    const key = `${r.protocol}|${r.fromPort}|${r.toPort}`;
    let p = groups.get(key);
    if (!p) {
      p = {
        IpProtocol: r.protocol,
        IpRanges: [],
        Ipv6Ranges: [],
        PrefixListIds: [],
        UserIdGroupPairs: [],
      };
      if (r.protocol !== '-1') {
        p.FromPort = r.fromPort;
        p.ToPort = r.toPort;
      }
      groups.set(key, p);
    }
    if (r.cidrIpv4) p.IpRanges!.push({ CidrIp: r.cidrIpv4, Description: r.description });
    if (r.cidrIpv6) p.Ipv6Ranges!.push({ CidrIpv6: r.cidrIpv6, Description: r.description });
    if (r.prefixListId)
      p.PrefixListIds!.push({ PrefixListId: r.prefixListId, Description: r.description });
    if (r.referencedGroupId)
      p.UserIdGroupPairs!.push({
        GroupId: r.referencedGroupId,
        UserId: ctx.account.id,
        Description: r.description,
      });
  }
  return [...groups.values()];
}

function groupOut(ctx: Ctx, g: SecurityGroup): sdk.SecurityGroup {
  return {
    GroupId: g.id,
    GroupName: g.name,
    Description: g.description,
    VpcId: g.vpcId,
    OwnerId: ctx.account.id,
    IpPermissions: permissionsOut(
      ctx,
      g.rules.filter((r) => !r.egress),
    ),
    IpPermissionsEgress: permissionsOut(
      ctx,
      g.rules.filter((r) => r.egress),
    ),
    Tags: g.tags.length ? g.tags : undefined,
    SecurityGroupArn: arn(ctx, 'security-group', g.id),
  };
}

function imageOut(ctx: Ctx, img: Image): sdk.Image {
  return {
    ImageId: img.id,
    Name: img.name,
    Description: img.description,
    CreationDate: new Date(img.creationDate).toISOString(),
    Architecture: img.architecture,
    ImageLocation: `${ctx.account.id}/${img.name}`,
    ImageType: 'machine',
    OwnerId: ctx.account.id,
    Public: img.launchGroups.includes('all'),
    State: 'available',
    RootDeviceName: img.rootDeviceName,
    RootDeviceType: 'ebs',
    VirtualizationType: 'hvm',
    Hypervisor: 'xen',
    EnaSupport: true,
    PlatformDetails: 'Linux/UNIX',
    BlockDeviceMappings: img.snapshotId
      ? [
          {
            DeviceName: img.rootDeviceName,
            Ebs: {
              SnapshotId: img.snapshotId,
              VolumeSize: 8,
              VolumeType: 'gp3',
              DeleteOnTermination: true,
              Encrypted: false,
            },
          },
        ]
      : [],
    Tags: img.tags.length ? img.tags : undefined,
  };
}

function modificationOut(v: Volume): sdk.VolumeModification {
  const m = v.modification!;
  return {
    VolumeId: v.id,
    ModificationState: m.state,
    TargetSize: m.target.size,
    TargetIops: m.target.iops,
    TargetVolumeType: m.target.type as sdk.VolumeType,
    TargetThroughput: m.target.throughput,
    OriginalSize: m.original.size,
    OriginalIops: m.original.iops,
    OriginalVolumeType: m.original.type as sdk.VolumeType,
    OriginalThroughput: m.original.throughput,
    Progress: m.state === 'completed' ? 100 : 0,
    StartTime: date(m.startTime),
    EndTime: m.state === 'completed' ? date(m.completeAt) : undefined,
  };
}

function tagsFromSpecs(specs: sdk.TagSpecification[] | undefined, type: string): Tag[] {
  const out: Tag[] = [];
  for (const spec of specs ?? []) {
    if (spec.ResourceType && spec.ResourceType !== type) continue;
    setTags(out, spec.Tags ?? []);
  }
  return out;
}

function instance(ctx: Ctx, id: string | undefined): Instance {
  const r = ec2State(ctx);
  if (!id)
    throw new AwsError('MissingParameter', 'The request must contain the parameter InstanceId');
  const i = r.instances.get(id);
  if (!i) {
    if (!id.startsWith('i-'))
      throw new AwsError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
    throw notFound('InvalidInstanceID.NotFound', id);
  }
  return settleInstance(i, ctx.now);
}
function volume(ctx: Ctx, id: string | undefined): Volume {
  if (!id)
    throw new AwsError('MissingParameter', 'The request must contain the parameter VolumeId');
  const v = ec2State(ctx).volumes.get(id);
  if (!v) throw notFound('InvalidVolume.NotFound', id);
  return settleVolume(v, ctx.now);
}
function group(ctx: Ctx, id: string | undefined, name?: string): SecurityGroup {
  const r = ec2State(ctx);
  if (id) {
    const g = r.securityGroups.get(id);
    if (!g) throw notFound('InvalidGroup.NotFound', id);
    return g;
  }
  if (name) {
    const g = [...r.securityGroups.values()].find((x) => x.name === name);
    if (!g) throw notFound('InvalidGroup.NotFound', name);
    return g;
  }
  throw new AwsError(
    'MissingParameter',
    'The request must contain the parameter groupId or groupName',
  );
}

function randomPublicIp(): string {
  const b = () => Math.floor(Math.random() * 254) + 1;
  return `${[3, 18, 34, 52, 54][Math.floor(Math.random() * 5)]}.${b()}.${b()}.${b()}`;
}

function normProtocol(p: string | undefined): string {
  const v = (p ?? '').toLowerCase();
  if (v === '6') return 'tcp';
  if (v === '17') return 'udp';
  if (v === '1') return 'icmp';
  if (v === 'all' || v === '-1') return '-1';
  if (['tcp', 'udp', 'icmp', 'icmpv6'].includes(v)) return v;
  throw new AwsError(
    'InvalidParameterValue',
    `Invalid value '${p}' for IP protocol. Unknown protocol.`,
  );
}

function rulesFromPermissions(
  perms: sdk.IpPermission[],
  egress: boolean,
  tags: Tag[],
): SecurityGroupRule[] {
  const out: SecurityGroupRule[] = [];
  for (const p of perms) {
    const protocol = normProtocol(p.IpProtocol);
    const fromPort = protocol === '-1' ? -1 : (p.FromPort ?? -1);
    const toPort = protocol === '-1' ? -1 : (p.ToPort ?? -1);
    if (protocol === 'tcp' || protocol === 'udp') {
      if (fromPort < 0 || toPort > 65535 || fromPort > toPort)
        throw new AwsError('InvalidParameterValue', `Invalid port range ${fromPort}-${toPort}`);
    }
    const base = { egress, protocol, fromPort, toPort, tags: tags.map((t) => ({ ...t })) };
    for (const r of p.IpRanges ?? [])
      out.push({ ...base, id: '', cidrIpv4: r.CidrIp, description: r.Description });
    for (const r of p.Ipv6Ranges ?? [])
      out.push({ ...base, id: '', cidrIpv6: r.CidrIpv6, description: r.Description });
    for (const r of p.PrefixListIds ?? [])
      out.push({ ...base, id: '', prefixListId: r.PrefixListId, description: r.Description });
    for (const r of p.UserIdGroupPairs ?? [])
      out.push({ ...base, id: '', referencedGroupId: r.GroupId, description: r.Description });
  }
  return out;
}

const samePeer = (a: SecurityGroupRule, b: SecurityGroupRule): boolean =>
  a.egress === b.egress &&
  a.protocol === b.protocol &&
  a.fromPort === b.fromPort &&
  a.toPort === b.toPort &&
  a.cidrIpv4 === b.cidrIpv4 &&
  a.cidrIpv6 === b.cidrIpv6 &&
  a.prefixListId === b.prefixListId &&
  a.referencedGroupId === b.referencedGroupId;

function findTaggable(ctx: Ctx, id: string): { tags: Tag[] } {
  const r = ec2State(ctx);
  const found =
    r.instances.get(id) ??
    r.volumes.get(id) ??
    r.snapshots.get(id) ??
    r.securityGroups.get(id) ??
    r.images.get(id) ??
    r.addresses.get(id);
  if (found) return found;
  const prefix = id.split('-')[0];
  const kinds: Record<string, string> = {
    i: 'InvalidInstanceID.NotFound',
    vol: 'InvalidVolume.NotFound',
    snap: 'InvalidSnapshot.NotFound',
    sg: 'InvalidGroup.NotFound',
    ami: 'InvalidAMIID.NotFound',
    eipalloc: 'InvalidAllocationID.NotFound',
  };
  const kind = prefix ? kinds[prefix] : undefined;
  if (!kind) throw new AwsError('InvalidID', `The ID '${id}' is not valid`);
  throw notFound(kind, id);
}

function resourceTypeOf(id: string): string {
  const p = id.split('-')[0];
  return (
    {
      i: 'instance',
      vol: 'volume',
      snap: 'snapshot',
      sg: 'security-group',
      ami: 'image',
      eipalloc: 'elastic-ip',
    }[p ?? ''] ?? 'resource'
  );
}

const instanceFilters: Record<string, Extractor<Instance>> = {
  'instance-id': (i) => i.id,
  'instance-state-name': (i) => i.state,
  'instance-state-code': (i) => STATE_CODES[i.state],
  'instance-type': (i) => i.type,
  'availability-zone': (i) => i.az,
  'vpc-id': (i) => i.vpcId,
  'subnet-id': (i) => i.subnetId,
  'image-id': (i) => i.imageId,
  'ip-address': (i) => i.publicIp,
  'private-ip-address': (i) => i.privateIp,
  'network-interface.network-interface-id': (i) => i.eniId,
  'metadata-options.http-tokens': (i) => i.metadata.httpTokens,
  'metadata-options.http-endpoint': (i) => i.metadata.httpEndpoint,
  'launch-time': (i) => new Date(i.launchTime).toISOString(),
  'key-name': (i) => i.keyName,
  architecture: (i) => i.architecture,
};

/** RevokeSecurityGroupIngress / RevokeSecurityGroupEgress: by rule ids, or by exact permissions. */
function revokeRules(
  ctx: Ctx,
  g: SecurityGroup,
  input: { SecurityGroupRuleIds?: string[]; IpPermissions?: sdk.IpPermission[] },
  egress: boolean,
): sdk.RevokeSecurityGroupIngressResult {
  const revoked: SecurityGroupRule[] = [];
  if (input.SecurityGroupRuleIds?.length) {
    if (input.IpPermissions?.length)
      throw new AwsError(
        'InvalidParameterCombination',
        'The parameter SecurityGroupRuleIds cannot be used with IpPermissions',
      );
    for (const id of input.SecurityGroupRuleIds) {
      const rule = g.rules.find((r) => r.id === id && r.egress === egress);
      if (!rule) throw notFound('InvalidSecurityGroupRuleId.NotFound', id);
      revoked.push(rule);
    }
  } else if (input.IpPermissions?.length) {
    for (const wanted of rulesFromPermissions(input.IpPermissions, egress, [])) {
      const rule = g.rules.find((r) => samePeer(r, wanted));
      if (!rule)
        throw new AwsError(
          'InvalidPermission.NotFound',
          'The specified rule does not exist in this security group.',
        );
      revoked.push(rule);
    }
  } else
    throw new AwsError(
      'MissingParameter',
      'The request must contain the parameter ipPermissions or securityGroupRuleIds',
    );
  g.rules = g.rules.filter((r) => !revoked.includes(r));
  return {
    Return: true,
    RevokedSecurityGroupRules: revoked.map((r) => ({
      SecurityGroupRuleId: r.id,
      GroupId: g.id,
      IsEgress: egress,
      IpProtocol: r.protocol,
      FromPort: r.fromPort,
      ToPort: r.toPort,
      CidrIpv4: r.cidrIpv4,
      CidrIpv6: r.cidrIpv6,
      PrefixListId: r.prefixListId,
      ReferencedGroupId: r.referencedGroupId,
      Description: r.description,
    })),
  };
}

/** AuthorizeSecurityGroupIngress / AuthorizeSecurityGroupEgress: new rule ids; duplicates refused. */
function authorizeRules(
  ctx: Ctx,
  g: SecurityGroup,
  perms: sdk.IpPermission[],
  tagSpecs: sdk.TagSpecification[] | undefined,
  egress: boolean,
): sdk.AuthorizeSecurityGroupIngressResult {
  if (!perms.length)
    throw new AwsError('MissingParameter', 'The request must contain the parameter ipPermissions');
  const added = rulesFromPermissions(perms, egress, tagsFromSpecs(tagSpecs, 'security-group-rule'));
  for (const rule of added) {
    if (rule.referencedGroupId && !ec2State(ctx).securityGroups.has(rule.referencedGroupId))
      throw notFound('InvalidGroup.NotFound', rule.referencedGroupId);
    if (
      g.rules.some((r) => samePeer(r, rule)) ||
      added.filter((r) => samePeer(r, rule)).length > 1
    ) {
      const peer = rule.cidrIpv4 ?? rule.cidrIpv6 ?? rule.prefixListId ?? rule.referencedGroupId;
      throw new AwsError(
        'InvalidPermission.Duplicate',
        `the specified rule "peer: ${peer}, ${rule.protocol === '-1' ? 'ALL' : rule.protocol.toUpperCase()}, from port: ${rule.fromPort}, to port: ${rule.toPort}, ALLOW" already exists`,
      );
    }
  }
  for (const rule of added) {
    rule.id = ec2Id('sgr');
    g.rules.push(rule);
  }
  return { Return: true, SecurityGroupRules: added.map((r) => ruleOut(ctx, g, r)) };
}

const ops: Record<string, AnyOp> = {
  DescribeRegions: op<sdk.DescribeRegionsRequest, sdk.DescribeRegionsResult>({
    schema: s(sdk.DescribeRegions$),
    handler: (ctx, input) => {
      const enabled = ctx.account.enabledRegions;
      const names = input.AllRegions
        ? KNOWN_REGIONS
        : KNOWN_REGIONS.filter((r) => enabled.includes(r));
      let regions = names.map((n) => ({
        RegionName: n,
        Endpoint: `ec2.${n}.amazonaws.com`,
        OptInStatus: enabled.includes(n) ? 'opt-in-not-required' : 'not-opted-in',
        tags: [] as Tag[],
      }));
      if (input.RegionNames?.length)
        regions = regions.filter((r) => input.RegionNames!.includes(r.RegionName));
      regions = matchFilters(ctx, regions, input.Filters, {
        'region-name': (r) => r.RegionName,
        'opt-in-status': (r) => r.OptInStatus,
        endpoint: (r) => r.Endpoint,
      });
      return { Regions: regions.map(({ tags: _t, ...r }) => r) };
    },
  }),
  DescribeInstances: op<sdk.DescribeInstancesRequest, sdk.DescribeInstancesResult>({
    schema: s(sdk.DescribeInstances$),
    handler: (ctx, input) => {
      const r = ec2State(ctx);
      if (input.InstanceIds?.length && input.MaxResults !== undefined)
        throw new AwsError(
          'InvalidParameterCombination',
          'The parameter instancesSet cannot be used with the parameter maxResults',
        );
      const base =
        byIds(r.instances, input.InstanceIds, 'InvalidInstanceID.NotFound', 'i') ??
        r.instances.values();
      const settled = [...base].map((i) => settleInstance(i, ctx.now));
      const list = matchFilters(ctx, settled, input.Filters, {
        ...instanceFilters,
        'instance.group-id': (i) => r.networkInterfaces.get(i.eniId)?.groupIds ?? [],
        'instance.group-name': (i) =>
          (r.networkInterfaces.get(i.eniId)?.groupIds ?? []).map(
            (g) => r.securityGroups.get(g)?.name,
          ),
        'block-device-mapping.volume-id': (i) => i.blockDevices.map((b) => b.volumeId),
      });
      const p = paginate(ctx, list, input, 5, 1000);
      return {
        Reservations: p.items.map((i) => ({
          ReservationId: i.reservationId,
          OwnerId: ctx.account.id,
          Groups: [],
          Instances: [instanceOut(ctx, r, i)],
        })),
        NextToken: p.next,
      };
    },
  }),
  DescribeVolumes: op<sdk.DescribeVolumesRequest, sdk.DescribeVolumesResult>({
    schema: s(sdk.DescribeVolumes$),
    handler: (ctx, input) => {
      const r = ec2State(ctx);
      if (input.VolumeIds?.length && input.MaxResults !== undefined)
        throw new AwsError(
          'InvalidParameterCombination',
          'The parameter volumeSet cannot be used with the parameter maxResults',
        );
      const base =
        byIds(r.volumes, input.VolumeIds, 'InvalidVolume.NotFound', 'vol') ?? r.volumes.values();
      const list = matchFilters(
        ctx,
        [...base].map((v) => settleVolume(v, ctx.now)),
        input.Filters,
        {
          'volume-id': (v) => v.id,
          status: (v) => v.state,
          'volume-type': (v) => v.type,
          encrypted: (v) => v.encrypted,
          size: (v) => v.size,
          'availability-zone': (v) => v.az,
          'snapshot-id': (v) => v.snapshotId,
          'attachment.instance-id': (v) => v.attachment?.instanceId,
          'attachment.status': (v) => (v.attachment ? 'attached' : undefined),
          'attachment.device': (v) => v.attachment?.device,
          'create-time': (v) => new Date(v.createTime).toISOString(),
        },
      );
      const p = paginate(ctx, list, input, 5, 500);
      return { Volumes: p.items.map((v) => volumeOut(ctx, v)), NextToken: p.next };
    },
  }),
  DescribeVolumesModifications: op<
    sdk.DescribeVolumesModificationsRequest,
    sdk.DescribeVolumesModificationsResult
  >({
    schema: s(sdk.DescribeVolumesModifications$),
    handler: (ctx, input) => {
      const r = ec2State(ctx);
      let vols: Volume[];
      if (input.VolumeIds?.length) {
        vols = input.VolumeIds.map((id) => {
          const v = volume(ctx, id);
          if (!v.modification)
            throw new AwsError(
              'InvalidVolumeModification.NotFound',
              `Modification for volume '${id}' does not exist.`,
            );
          return v;
        });
      } else
        vols = [...r.volumes.values()]
          .map((v) => settleVolume(v, ctx.now))
          .filter((v) => v.modification);
      const list = matchFilters(ctx, vols, input.Filters, {
        'volume-id': (v) => v.id,
        'modification-state': (v) => v.modification?.state,
        'target-volume-type': (v) => v.modification?.target.type,
        'original-volume-type': (v) => v.modification?.original.type,
      });
      const p = paginate(ctx, list, input, 5, 500);
      return { VolumesModifications: p.items.map(modificationOut), NextToken: p.next };
    },
  }),
  DescribeSnapshots: op<sdk.DescribeSnapshotsRequest, sdk.DescribeSnapshotsResult>({
    schema: s(sdk.DescribeSnapshots$),
    handler: (ctx, input) => {
      const r = ec2State(ctx);
      if (
        input.OwnerIds?.length &&
        !input.OwnerIds.some((o) => o === 'self' || o === ctx.account.id)
      )
        return { Snapshots: [] };
      const base =
        byIds(r.snapshots, input.SnapshotIds, 'InvalidSnapshot.NotFound', 'snap') ??
        r.snapshots.values();
      const list = matchFilters(
        ctx,
        [...base].map((sn) => settleSnapshot(sn, ctx.now)),
        input.Filters,
        {
          'snapshot-id': (sn) => sn.id,
          'volume-id': (sn) => sn.volumeId,
          status: (sn) => sn.state,
          encrypted: (sn) => sn.encrypted,
          'owner-id': () => ctx.account.id,
          'start-time': (sn) => new Date(sn.startTime).toISOString(),
          description: (sn) => sn.description,
        },
      );
      const p = paginate(ctx, list, input, 5, 1000);
      return { Snapshots: p.items.map((sn) => snapshotOut(ctx, sn)), NextToken: p.next };
    },
  }),
  DescribeSnapshotAttribute: op<
    sdk.DescribeSnapshotAttributeRequest,
    sdk.DescribeSnapshotAttributeResult
  >({
    schema: s(sdk.DescribeSnapshotAttribute$),
    resource: (i, ctx) => arn(ctx, 'snapshot', i.SnapshotId ?? '*', false),
    handler: (ctx, input) => {
      const id = req<string>(ctx, input, 'SnapshotId');
      const attr = req<string>(ctx, input, 'Attribute');
      const sn = ec2State(ctx).snapshots.get(id);
      if (!sn) throw notFound('InvalidSnapshot.NotFound', id);
      if (attr === 'createVolumePermission')
        return {
          SnapshotId: id,
          CreateVolumePermissions: [
            ...sn.createVolumeGroups.map((g) => ({ Group: g as sdk.PermissionGroup })),
            ...sn.createVolumeUserIds.map((u) => ({ UserId: u })),
          ],
        };
      if (attr === 'productCodes') return { SnapshotId: id, ProductCodes: [] };
      throw new AwsError(
        'InvalidParameterValue',
        `Value (${attr}) for parameter attribute is invalid.`,
      );
    },
  }),
  ModifySnapshotAttribute: op<sdk.ModifySnapshotAttributeRequest, Record<string, never>>({
    schema: s(sdk.ModifySnapshotAttribute$),
    resource: (i, ctx) => arn(ctx, 'snapshot', i.SnapshotId ?? '*', false),
    handler: (ctx, input) => {
      const id = req<string>(ctx, input, 'SnapshotId');
      const sn = ec2State(ctx).snapshots.get(id);
      if (!sn) throw notFound('InvalidSnapshot.NotFound', id);
      if (input.Attribute && input.Attribute !== 'createVolumePermission')
        throw new AwsError(
          'InvalidParameterValue',
          `Value (${input.Attribute}) for parameter attribute is invalid.`,
        );
      const add: sdk.CreateVolumePermission[] = [...(input.CreateVolumePermission?.Add ?? [])];
      const remove: sdk.CreateVolumePermission[] = [
        ...(input.CreateVolumePermission?.Remove ?? []),
      ];
      const legacy = [
        ...(input.GroupNames ?? []).map((g) => ({ Group: g as sdk.PermissionGroup })),
        ...(input.UserIds ?? []).map((u) => ({ UserId: u })),
      ];
      if (input.OperationType === 'add') add.push(...legacy);
      else if (input.OperationType === 'remove') remove.push(...legacy);
      if (sn.encrypted && add.some((p) => p.Group === 'all'))
        throw new AwsError(
          'InvalidParameter',
          'Encrypted snapshots with EBS default key cannot be shared',
        );
      for (const p of add) {
        if (p.Group && p.Group !== 'all')
          throw new AwsError('InvalidParameterValue', `Invalid group name ${p.Group}`);
        if (p.Group && !sn.createVolumeGroups.includes(p.Group))
          sn.createVolumeGroups.push(p.Group);
        if (p.UserId && !sn.createVolumeUserIds.includes(p.UserId))
          sn.createVolumeUserIds.push(p.UserId);
      }
      for (const p of remove) {
        if (p.Group) sn.createVolumeGroups = sn.createVolumeGroups.filter((g) => g !== p.Group);
        if (p.UserId) sn.createVolumeUserIds = sn.createVolumeUserIds.filter((u) => u !== p.UserId);
      }
      return {};
    },
  }),
  DescribeSecurityGroups: op<sdk.DescribeSecurityGroupsRequest, sdk.DescribeSecurityGroupsResult>({
    schema: s(sdk.DescribeSecurityGroups$),
    handler: (ctx, input) => {
      const r = ec2State(ctx);
      let base: SecurityGroup[] = byIds(
        r.securityGroups,
        input.GroupIds,
        'InvalidGroup.NotFound',
        'sg',
      ) ?? [...r.securityGroups.values()];
      if (input.GroupNames?.length) base = input.GroupNames.map((n) => group(ctx, undefined, n));
      const list = matchFilters(ctx, base, input.Filters, {
        'group-id': (g) => g.id,
        'group-name': (g) => g.name,
        'vpc-id': (g) => g.vpcId,
        description: (g) => g.description,
        'owner-id': () => ctx.account.id,
        'ip-permission.from-port': (g) => g.rules.filter((x) => !x.egress).map((x) => x.fromPort),
        'ip-permission.to-port': (g) => g.rules.filter((x) => !x.egress).map((x) => x.toPort),
        'ip-permission.cidr': (g) => g.rules.filter((x) => !x.egress).map((x) => x.cidrIpv4),
        'ip-permission.ipv6-cidr': (g) => g.rules.filter((x) => !x.egress).map((x) => x.cidrIpv6),
        'ip-permission.protocol': (g) => g.rules.filter((x) => !x.egress).map((x) => x.protocol),
      });
      const p = paginate(ctx, list, input, 5, 1000);
      return { SecurityGroups: p.items.map((g) => groupOut(ctx, g)), NextToken: p.next };
    },
  }),
  DescribeSecurityGroupRules: op<
    sdk.DescribeSecurityGroupRulesRequest,
    sdk.DescribeSecurityGroupRulesResult
  >({
    schema: s(sdk.DescribeSecurityGroupRules$),
    handler: (ctx, input) => {
      const r = ec2State(ctx);
      type Row = { g: SecurityGroup; rule: SecurityGroupRule; tags: Tag[] };
      const rows: Row[] = [];
      for (const g of r.securityGroups.values())
        for (const rule of g.rules) rows.push({ g, rule, tags: rule.tags });
      let base = rows;
      if (input.SecurityGroupRuleIds?.length) {
        base = input.SecurityGroupRuleIds.map((id) => {
          const row = rows.find((x) => x.rule.id === id);
          if (!row) throw notFound('InvalidSecurityGroupRuleId.NotFound', id);
          return row;
        });
      }
      const list = matchFilters(ctx, base, input.Filters, {
        'group-id': (x) => x.g.id,
        'security-group-rule-id': (x) => x.rule.id,
        'is-egress': (x) => x.rule.egress,
      });
      const p = paginate(ctx, list, input, 5, 1000);
      return {
        SecurityGroupRules: p.items.map((x) => ruleOut(ctx, x.g, x.rule)),
        NextToken: p.next,
      };
    },
  }),
  DescribeNetworkInterfaces: op<
    sdk.DescribeNetworkInterfacesRequest,
    sdk.DescribeNetworkInterfacesResult
  >({
    schema: s(sdk.DescribeNetworkInterfaces$),
    handler: (ctx, input) => {
      const r = ec2State(ctx);
      const base = byIds(
        r.networkInterfaces,
        input.NetworkInterfaceIds,
        'InvalidNetworkInterfaceID.NotFound',
        'eni',
      ) ?? [...r.networkInterfaces.values()];
      const list = matchFilters(
        ctx,
        base.map((n) => ({ n, tags: [] as Tag[] })),
        input.Filters,
        {
          'group-id': (x) => x.n.groupIds,
          'network-interface-id': (x) => x.n.id,
          'attachment.instance-id': (x) => x.n.instanceId,
          'vpc-id': (x) => x.n.vpcId,
          'subnet-id': (x) => x.n.subnetId,
          'availability-zone': (x) => x.n.az,
          status: (x) => (x.n.instanceId ? 'in-use' : 'available'),
        },
      );
      const p = paginate(ctx, list, input, 5, 1000);
      return { NetworkInterfaces: p.items.map((x) => eniOut(ctx, r, x.n)), NextToken: p.next };
    },
  }),
  DescribeAddresses: op<sdk.DescribeAddressesRequest, sdk.DescribeAddressesResult>({
    schema: s(sdk.DescribeAddresses$),
    handler: (ctx, input) => {
      const r = ec2State(ctx);
      let base = byIds(
        r.addresses,
        input.AllocationIds,
        'InvalidAllocationID.NotFound',
        'eipalloc',
      ) ?? [...r.addresses.values()];
      if (input.PublicIps?.length) {
        base = input.PublicIps.map((ip) => {
          const a = [...r.addresses.values()].find((x) => x.publicIp === ip);
          if (!a) throw new AwsError('InvalidAddress.NotFound', `Address '${ip}' not found.`);
          return a;
        });
      }
      const list = matchFilters(ctx, base, input.Filters, {
        'allocation-id': (a) => a.allocationId,
        'public-ip': (a) => a.publicIp,
        'association-id': (a) => a.associationId,
        'instance-id': (a) => a.instanceId,
        'network-interface-id': (a) => a.eniId,
        domain: () => 'vpc',
      });
      return {
        Addresses: list.map((a) => ({
          AllocationId: a.allocationId,
          PublicIp: a.publicIp,
          AssociationId: a.associationId,
          InstanceId: a.instanceId,
          NetworkInterfaceId: a.eniId,
          NetworkInterfaceOwnerId: a.eniId ? ctx.account.id : undefined,
          PrivateIpAddress: a.eniId ? r.networkInterfaces.get(a.eniId)?.privateIp : undefined,
          Domain: 'vpc',
          PublicIpv4Pool: 'amazon',
          NetworkBorderGroup: ctx.region,
          Tags: a.tags.length ? a.tags : undefined,
        })),
      };
    },
  }),
  DescribeImages: op<sdk.DescribeImagesRequest, sdk.DescribeImagesResult>({
    schema: s(sdk.DescribeImages$),
    handler: (ctx, input) => {
      const r = ec2State(ctx);
      if (input.Owners?.length && !input.Owners.some((o) => o === 'self' || o === ctx.account.id))
        return { Images: [] };
      const base = byIds(r.images, input.ImageIds, 'InvalidAMIID.NotFound', 'ami') ?? [
        ...r.images.values(),
      ];
      const list = matchFilters(ctx, base, input.Filters, {
        'image-id': (i) => i.id,
        name: (i) => i.name,
        'is-public': (i) => i.launchGroups.includes('all'),
        'owner-id': () => ctx.account.id,
        state: () => 'available',
        architecture: (i) => i.architecture,
      });
      const p = paginate(ctx, list, input, 1, 1000);
      return { Images: p.items.map((i) => imageOut(ctx, i)), NextToken: p.next };
    },
  }),
  DescribeImageAttribute: op<sdk.DescribeImageAttributeRequest, sdk.ImageAttribute>({
    schema: s(sdk.DescribeImageAttribute$),
    resource: (i, ctx) => arn(ctx, 'image', i.ImageId ?? '*', false),
    handler: (ctx, input) => {
      const id = req<string>(ctx, input, 'ImageId');
      const attr = req<string>(ctx, input, 'Attribute');
      const img = ec2State(ctx).images.get(id);
      if (!img) throw notFound('InvalidAMIID.NotFound', id);
      if (attr === 'launchPermission')
        return {
          ImageId: id,
          LaunchPermissions: [
            ...img.launchGroups.map((g) => ({ Group: g as sdk.PermissionGroup })),
            ...img.launchUserIds.map((u) => ({ UserId: u })),
          ],
        };
      if (attr === 'description')
        return { ImageId: id, Description: { Value: img.description ?? '' } };
      throw new AwsError(
        'InvalidParameterValue',
        `Value (${attr}) for parameter attribute is invalid.`,
      );
    },
  }),
  ModifyImageAttribute: op<sdk.ModifyImageAttributeRequest, Record<string, never>>({
    schema: s(sdk.ModifyImageAttribute$),
    resource: (i, ctx) => arn(ctx, 'image', i.ImageId ?? '*', false),
    handler: (ctx, input) => {
      const id = req<string>(ctx, input, 'ImageId');
      const img = ec2State(ctx).images.get(id);
      if (!img) throw notFound('InvalidAMIID.NotFound', id);
      const add = [...(input.LaunchPermission?.Add ?? [])];
      const remove = [...(input.LaunchPermission?.Remove ?? [])];
      const legacy = [
        ...(input.UserGroups ?? []).map((g) => ({ Group: g as sdk.PermissionGroup })),
        ...(input.UserIds ?? []).map((u) => ({ UserId: u })),
      ];
      if (input.OperationType === 'add') add.push(...legacy);
      else if (input.OperationType === 'remove') remove.push(...legacy);
      for (const p of add) {
        if (p.Group && !img.launchGroups.includes(p.Group)) img.launchGroups.push(p.Group);
        if (p.UserId && !img.launchUserIds.includes(p.UserId)) img.launchUserIds.push(p.UserId);
      }
      for (const p of remove) {
        if (p.Group) img.launchGroups = img.launchGroups.filter((g) => g !== p.Group);
        if (p.UserId) img.launchUserIds = img.launchUserIds.filter((u) => u !== p.UserId);
      }
      if (input.Description?.Value !== undefined) img.description = input.Description.Value;
      return {};
    },
  }),
  GetEbsEncryptionByDefault: op<
    sdk.GetEbsEncryptionByDefaultRequest,
    sdk.GetEbsEncryptionByDefaultResult
  >({
    schema: s(sdk.GetEbsEncryptionByDefault$),
    handler: (ctx) => ({
      EbsEncryptionByDefault: ec2State(ctx).ebsEncryptionByDefault,
      SseType: 'sse-ebs',
    }),
  }),
  EnableEbsEncryptionByDefault: op<
    sdk.EnableEbsEncryptionByDefaultRequest,
    sdk.EnableEbsEncryptionByDefaultResult
  >({
    schema: s(sdk.EnableEbsEncryptionByDefault$),
    handler: (ctx) => {
      ec2State(ctx).ebsEncryptionByDefault = true;
      return { EbsEncryptionByDefault: true };
    },
  }),
  DisableEbsEncryptionByDefault: op<
    sdk.DisableEbsEncryptionByDefaultRequest,
    sdk.DisableEbsEncryptionByDefaultResult
  >({
    schema: s(sdk.DisableEbsEncryptionByDefault$),
    handler: (ctx) => {
      ec2State(ctx).ebsEncryptionByDefault = false;
      return { EbsEncryptionByDefault: false };
    },
  }),
  StopInstances: op<sdk.StopInstancesRequest, sdk.StopInstancesResult>({
    schema: s(sdk.StopInstances$),
    resource: (i, ctx) => arn(ctx, 'instance', i.InstanceIds?.[0] ?? '*'),
    handler: (ctx, input) => {
      const ids = req<string[]>(ctx, input, 'InstanceIds');
      const list = ids.map((id) => instance(ctx, id));
      for (const i of list) ctx.authorize('ec2:StopInstances', arn(ctx, 'instance', i.id));
      return {
        StoppingInstances: list.map((i) => {
          const previous = i.state;
          if (previous === 'terminated' || previous === 'shutting-down')
            throw new AwsError(
              'IncorrectInstanceState',
              `This instance '${i.id}' is not in a state from which it can be stopped.`,
            );
          if (previous === 'running' || previous === 'pending') {
            i.state = 'stopping';
            i.transition = { to: 'stopped', at: ctx.now + ctx.engine.delays.instanceTransitionMs };
            i.stateTransitionReason = `User initiated (${gmt(ctx.now)})`;
            i.stoppedAt = ctx.now;
            const eip = [...ec2State(ctx).addresses.values()].some((a) => a.instanceId === i.id);
            if (!eip) delete i.publicIp;
          }
          settleInstance(i, ctx.now);
          return {
            InstanceId: i.id,
            PreviousState: { Code: STATE_CODES[previous], Name: previous },
            CurrentState: { Code: STATE_CODES[i.state], Name: i.state },
          };
        }),
      };
    },
  }),
  StartInstances: op<sdk.StartInstancesRequest, sdk.StartInstancesResult>({
    schema: s(sdk.StartInstances$),
    resource: (i, ctx) => arn(ctx, 'instance', i.InstanceIds?.[0] ?? '*'),
    handler: (ctx, input) => {
      const ids = req<string[]>(ctx, input, 'InstanceIds');
      const list = ids.map((id) => instance(ctx, id));
      for (const i of list) ctx.authorize('ec2:StartInstances', arn(ctx, 'instance', i.id));
      return {
        StartingInstances: list.map((i) => {
          const previous = i.state;
          if (previous === 'stopping')
            throw new AwsError(
              'IncorrectInstanceState',
              `The instance '${i.id}' is not in a state from which it can be started.`,
            );
          if (previous === 'terminated' || previous === 'shutting-down')
            throw new AwsError(
              'IncorrectInstanceState',
              `The instance '${i.id}' is not in a state from which it can be started.`,
            );
          if (previous === 'stopped') {
            i.state = 'pending';
            i.transition = { to: 'running', at: ctx.now + ctx.engine.delays.instanceTransitionMs };
            i.stateTransitionReason = '';
            delete i.stoppedAt;
            const eip = [...ec2State(ctx).addresses.values()].find((a) => a.instanceId === i.id);
            if (eip) i.publicIp = eip.publicIp;
            else if (i.assignPublicIp) i.publicIp = randomPublicIp();
          }
          settleInstance(i, ctx.now);
          return {
            InstanceId: i.id,
            PreviousState: { Code: STATE_CODES[previous], Name: previous },
            CurrentState: { Code: STATE_CODES[i.state], Name: i.state },
          };
        }),
      };
    },
  }),
  ModifyInstanceAttribute: op<sdk.ModifyInstanceAttributeRequest, Record<string, never>>({
    schema: s(sdk.ModifyInstanceAttribute$),
    resource: (i, ctx) => arn(ctx, 'instance', i.InstanceId ?? '*'),
    handler: (ctx, input) => {
      const i = instance(ctx, input.InstanceId);
      const newType =
        input.InstanceType?.Value ?? (input.Attribute === 'instanceType' ? input.Value : undefined);
      if (newType !== undefined) {
        if (i.state !== 'stopped')
          throw new AwsError(
            'IncorrectInstanceState',
            `The instance '${i.id}' is not in the 'stopped' state.`,
          );
        if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(newType))
          throw new AwsError(
            'InvalidParameterValue',
            `Value (${newType}) for parameter instanceType is invalid.`,
          );
        i.type = newType;
      }
      if (input.Groups?.length) {
        const r = ec2State(ctx);
        for (const g of input.Groups) group(ctx, g);
        const eni = r.networkInterfaces.get(i.eniId);
        if (eni) eni.groupIds = [...input.Groups];
      }
      return {};
    },
  }),
  ModifyInstanceMetadataOptions: op<
    sdk.ModifyInstanceMetadataOptionsRequest,
    sdk.ModifyInstanceMetadataOptionsResult
  >({
    schema: s(sdk.ModifyInstanceMetadataOptions$),
    resource: (i, ctx) => arn(ctx, 'instance', i.InstanceId ?? '*'),
    handler: (ctx, input) => {
      const i = instance(ctx, input.InstanceId);
      if (input.HttpTokens !== undefined) {
        if (input.HttpTokens !== 'optional' && input.HttpTokens !== 'required')
          throw new AwsError(
            'InvalidParameterValue',
            `Value (${input.HttpTokens}) for parameter HttpTokens is invalid.`,
          );
        i.metadata.httpTokens = input.HttpTokens;
      }
      if (input.HttpEndpoint !== undefined) i.metadata.httpEndpoint = input.HttpEndpoint;
      if (input.HttpPutResponseHopLimit !== undefined) {
        if (input.HttpPutResponseHopLimit < 1 || input.HttpPutResponseHopLimit > 64)
          throw new AwsError(
            'InvalidParameterValue',
            'The HttpPutResponseHopLimit must be between 1 and 64.',
          );
        i.metadata.hopLimit = input.HttpPutResponseHopLimit;
      }
      if (input.InstanceMetadataTags !== undefined)
        i.metadata.instanceMetadataTags = input.InstanceMetadataTags;
      return {
        InstanceId: i.id,
        InstanceMetadataOptions: {
          State: 'pending',
          HttpTokens: i.metadata.httpTokens,
          HttpPutResponseHopLimit: i.metadata.hopLimit,
          HttpEndpoint: i.metadata.httpEndpoint,
          HttpProtocolIpv6: 'disabled',
          InstanceMetadataTags: i.metadata.instanceMetadataTags,
        },
      };
    },
  }),
  CreateSnapshot: op<sdk.CreateSnapshotRequest, sdk.Snapshot>({
    schema: s(sdk.CreateSnapshot$),
    resource: (i, ctx) => arn(ctx, 'volume', i.VolumeId ?? '*'),
    handler: (ctx, input) => {
      const v = volume(ctx, input.VolumeId);
      const sn: Snapshot = {
        id: ec2Id('snap'),
        volumeId: v.id,
        volumeSize: v.size,
        state: 'pending',
        startTime: ctx.now,
        completeAt: ctx.now + ctx.engine.delays.snapshotMs,
        encrypted: v.encrypted,
        kmsKeyId: v.kmsKeyId,
        description: input.Description ?? '',
        createVolumeGroups: [],
        createVolumeUserIds: [],
        tags: tagsFromSpecs(input.TagSpecifications, 'snapshot'),
      };
      ec2State(ctx).snapshots.set(sn.id, sn);
      const out = snapshotOut(ctx, sn);
      return { ...out, State: 'pending', Progress: '' };
    },
  }),
  DeleteSnapshot: op<sdk.DeleteSnapshotRequest, Record<string, never>>({
    schema: s(sdk.DeleteSnapshot$),
    resource: (i, ctx) => arn(ctx, 'snapshot', i.SnapshotId ?? '*', false),
    handler: (ctx, input) => {
      const id = req<string>(ctx, input, 'SnapshotId');
      const r = ec2State(ctx);
      if (!r.snapshots.has(id)) throw notFound('InvalidSnapshot.NotFound', id);
      const image = [...r.images.values()].find((i) => i.snapshotId === id);
      if (image)
        throw new AwsError(
          'InvalidSnapshot.InUse',
          `The snapshot ${id} is currently in use by ${image.id}`,
        );
      r.snapshots.delete(id);
      return {};
    },
  }),
  CreateVolume: op<sdk.CreateVolumeRequest, sdk.Volume>({
    schema: s(sdk.CreateVolume$),
    handler: (ctx, input) => {
      const r = ec2State(ctx);
      const az = req<string>(ctx, input, 'AvailabilityZone');
      if (!az.startsWith(ctx.region))
        throw new AwsError('InvalidParameterValue', `Invalid availability zone: [${az}]`);
      let size = input.Size;
      let encrypted = input.Encrypted ?? r.ebsEncryptionByDefault;
      let kmsKeyId = input.KmsKeyId;
      if (input.SnapshotId) {
        const sn = r.snapshots.get(input.SnapshotId);
        if (!sn) throw notFound('InvalidSnapshot.NotFound', input.SnapshotId);
        settleSnapshot(sn, ctx.now);
        if (sn.state !== 'completed')
          throw new AwsError('IncorrectState', `Snapshot is in invalid state - pending`);
        size ??= sn.volumeSize;
        if (size < sn.volumeSize)
          throw new AwsError(
            'InvalidParameterValue',
            `Volume of ${size}GiB is too small; minimum is ${sn.volumeSize}GiB`,
          );
        if (sn.encrypted) {
          encrypted = true;
          kmsKeyId ??= sn.kmsKeyId;
        }
      }
      if (size === undefined)
        throw new AwsError(
          'MissingParameter',
          'The request must contain the parameter size/snapshot',
        );
      const type = input.VolumeType ?? 'gp2';
      const v: Volume = {
        id: ec2Id('vol'),
        size,
        type,
        iops:
          input.Iops ??
          (type === 'gp3' ? 3000 : type === 'gp2' ? Math.max(100, size * 3) : undefined),
        throughput: input.Throughput ?? (type === 'gp3' ? 125 : undefined),
        az,
        encrypted,
        kmsKeyId: encrypted
          ? (kmsKeyId ?? `arn:aws:kms:${ctx.region}:${ctx.account.id}:alias/aws/ebs`)
          : undefined,
        state: 'creating',
        createTime: ctx.now,
        snapshotId: input.SnapshotId,
        tags: tagsFromSpecs(input.TagSpecifications, 'volume'),
      };
      r.volumes.set(v.id, v);
      const out = volumeOut(ctx, v);
      v.state = 'available';
      return { ...out, State: 'creating' };
    },
  }),
  DeleteVolume: op<sdk.DeleteVolumeRequest, Record<string, never>>({
    schema: s(sdk.DeleteVolume$),
    resource: (i, ctx) => arn(ctx, 'volume', i.VolumeId ?? '*'),
    handler: (ctx, input) => {
      const v = volume(ctx, input.VolumeId);
      if (v.attachment)
        throw new AwsError(
          'VolumeInUse',
          `Volume ${v.id} is currently attached to ${v.attachment.instanceId}`,
        );
      ec2State(ctx).volumes.delete(v.id);
      return {};
    },
  }),
  ModifyVolume: op<sdk.ModifyVolumeRequest, sdk.ModifyVolumeResult>({
    schema: s(sdk.ModifyVolume$),
    resource: (i, ctx) => arn(ctx, 'volume', i.VolumeId ?? '*'),
    handler: (ctx, input) => {
      const v = volume(ctx, input.VolumeId);
      const m = v.modification;
      if (m && m.state !== 'completed')
        throw new AwsError(
          'IncorrectModificationState',
          `Cannot modify volume ${v.id} while a previous modification is in progress.`,
        );
      if (m && ctx.now - m.startTime < 6 * 3600 * 1000)
        throw new AwsError(
          'IncorrectModificationState',
          `You've reached the maximum modification rate per volume limit. Wait at least 6 hours between modifications per EBS volume.`,
        );
      const original = { type: v.type, size: v.size, iops: v.iops, throughput: v.throughput };
      const type = input.VolumeType ?? v.type;
      const size = input.Size ?? v.size;
      if (size < v.size)
        throw new AwsError(
          'InvalidParameterValue',
          `New size cannot be smaller than existing size`,
        );
      const iops =
        input.Iops ??
        (type === 'gp3'
          ? v.type === 'gp3'
            ? v.iops
            : 3000
          : type === 'gp2'
            ? Math.max(100, size * 3)
            : v.iops);
      const throughput =
        input.Throughput ?? (type === 'gp3' ? (v.type === 'gp3' ? v.throughput : 125) : undefined);
      v.type = type;
      v.size = size;
      v.iops = iops;
      v.throughput = throughput;
      v.modification = {
        state: 'modifying',
        startTime: ctx.now,
        completeAt: ctx.now + ctx.engine.delays.volumeModificationMs,
        original,
        target: { type, size, iops, throughput },
      };
      const out = modificationOut(v);
      settleVolume(v, ctx.now);
      return { VolumeModification: out };
    },
  }),
  RevokeSecurityGroupIngress: op<
    sdk.RevokeSecurityGroupIngressRequest,
    sdk.RevokeSecurityGroupIngressResult
  >({
    schema: s(sdk.RevokeSecurityGroupIngress$),
    resource: (i, ctx) => arn(ctx, 'security-group', i.GroupId ?? '*'),
    handler: (ctx, input) =>
      revokeRules(ctx, group(ctx, input.GroupId, input.GroupName), input, false),
  }),
  RevokeSecurityGroupEgress: op<
    sdk.RevokeSecurityGroupEgressRequest,
    sdk.RevokeSecurityGroupEgressResult
  >({
    schema: s(sdk.RevokeSecurityGroupEgress$),
    resource: (i, ctx) => arn(ctx, 'security-group', i.GroupId ?? '*'),
    handler: (ctx, input) => revokeRules(ctx, group(ctx, input.GroupId), input, true),
  }),
  AuthorizeSecurityGroupIngress: op<
    sdk.AuthorizeSecurityGroupIngressRequest,
    sdk.AuthorizeSecurityGroupIngressResult
  >({
    schema: s(sdk.AuthorizeSecurityGroupIngress$),
    resource: (i, ctx) => arn(ctx, 'security-group', i.GroupId ?? '*'),
    handler: (ctx, input) => {
      let perms = input.IpPermissions ?? [];
      if (!perms.length && input.IpProtocol)
        perms = [
          {
            IpProtocol: input.IpProtocol,
            FromPort: input.FromPort,
            ToPort: input.ToPort,
            IpRanges: input.CidrIp ? [{ CidrIp: input.CidrIp }] : [],
          },
        ];
      return authorizeRules(
        ctx,
        group(ctx, input.GroupId, input.GroupName),
        perms,
        input.TagSpecifications,
        false,
      );
    },
  }),
  AuthorizeSecurityGroupEgress: op<
    sdk.AuthorizeSecurityGroupEgressRequest,
    sdk.AuthorizeSecurityGroupEgressResult
  >({
    schema: s(sdk.AuthorizeSecurityGroupEgress$),
    resource: (i, ctx) => arn(ctx, 'security-group', i.GroupId ?? '*'),
    handler: (ctx, input) =>
      authorizeRules(
        ctx,
        group(ctx, input.GroupId),
        input.IpPermissions ?? [],
        input.TagSpecifications,
        true,
      ),
  }),
  ReleaseAddress: op<sdk.ReleaseAddressRequest, Record<string, never>>({
    schema: s(sdk.ReleaseAddress$),
    resource: (i, ctx) => arn(ctx, 'elastic-ip', i.AllocationId ?? '*'),
    handler: (ctx, input) => {
      const r = ec2State(ctx);
      let a = input.AllocationId ? r.addresses.get(input.AllocationId) : undefined;
      if (!a && input.PublicIp)
        a = [...r.addresses.values()].find((x) => x.publicIp === input.PublicIp);
      if (!a) {
        if (!input.AllocationId && !input.PublicIp)
          throw new AwsError(
            'MissingParameter',
            'The request must contain the parameter AllocationId',
          );
        throw notFound('InvalidAllocationID.NotFound', input.AllocationId ?? input.PublicIp ?? '');
      }
      if (a.associationId)
        throw new AwsError('InvalidIPAddress.InUse', `Address ${a.publicIp} is in use.`);
      r.addresses.delete(a.allocationId);
      return {};
    },
  }),
  CreateTags: op<sdk.CreateTagsRequest, Record<string, never>>({
    schema: s(sdk.CreateTags$),
    // Authorised per resource (the first here, every one in the handler), as AWS does.
    resource: (i, ctx) => {
      const id = i.Resources?.[0] ?? '*';
      return arn(ctx, resourceTypeOf(id), id);
    },
    handler: (ctx, input) => {
      const ids = req<string[]>(ctx, input, 'Resources');
      const tags = req<sdk.Tag[]>(ctx, input, 'Tags');
      const targets = ids.map((id) => findTaggable(ctx, id));
      ids.forEach((id) => ctx.authorize('ec2:CreateTags', arn(ctx, resourceTypeOf(id), id)));
      for (const t of targets) setTags(t.tags, tags);
      return {};
    },
  }),
  DeleteTags: op<sdk.DeleteTagsRequest, Record<string, never>>({
    schema: s(sdk.DeleteTags$),
    // Authorised per resource (the first here, every one in the handler), as AWS does.
    resource: (i, ctx) => {
      const id = i.Resources?.[0] ?? '*';
      return arn(ctx, resourceTypeOf(id), id);
    },
    handler: (ctx, input) => {
      const ids = req<string[]>(ctx, input, 'Resources');
      const targets = ids.map((id) => findTaggable(ctx, id));
      ids.forEach((id) => ctx.authorize('ec2:DeleteTags', arn(ctx, resourceTypeOf(id), id)));
      for (const t of targets) {
        if (!input.Tags?.length) t.tags.splice(0, t.tags.length);
        else removeTags(t.tags, input.Tags);
      }
      return {};
    },
  }),
};

export const ec2Service: ServiceDef = {
  signingName: 'ec2',
  name: 'ec2',
  protocol: 'ec2',
  actionPrefix: 'ec2',
  xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/',
  ops,
  precheck: (ctx, operation, input) => {
    if (input.DryRun !== true) return;
    const def = ops[operation]!;
    const action = def.action ?? `ec2:${operation}`;
    const resource = def.resource ? def.resource(input, ctx) : '*';
    ctx.authorize(action, resource);
    throw new AwsError(
      'DryRunOperation',
      'Request would have succeeded, but DryRun flag is set.',
      412,
    );
  },
};
