// Hand-built inventory records for the plan tests (src/cloud/inventory.ts shapes).
import type {
  AnyInventoryResource,
  InventoryResource,
  ResourceDataByType,
  ResourceType,
} from '../../src/cloud/inventory.js';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

export function res<T extends ResourceType>(
  type: T,
  resourceId: string,
  data: ResourceDataByType[T],
  opts: { arn?: string; region?: string; tags?: Record<string, string> } = {},
): AnyInventoryResource {
  const region = opts.region ?? (type.startsWith('AWS::IAM') ? 'global' : REGION);
  const kind: Record<string, string> = {
    'AWS::EC2::Instance': 'instance',
    'AWS::EC2::Volume': 'volume',
    'AWS::EC2::SecurityGroup': 'security-group',
    'AWS::EC2::NetworkInterface': 'network-interface',
    'AWS::EC2::EIP': 'elastic-ip',
  };
  const arn =
    opts.arn ??
    (kind[type]
      ? `arn:aws:ec2:${region}:${ACCOUNT}:${kind[type]}/${resourceId}`
      : type === 'AWS::S3::Bucket'
        ? `arn:aws:s3:::${resourceId}`
        : `arn:test:${type}:${resourceId}`);
  return {
    arn,
    type,
    resourceId,
    accountId: ACCOUNT,
    region,
    tags: opts.tags ?? {},
    data,
  } as InventoryResource<T> as AnyInventoryResource;
}

export const instance = (
  id: string,
  o: { volumes?: string[]; enis?: string[]; sgs?: string[]; tags?: Record<string, string> } = {},
) =>
  res(
    'AWS::EC2::Instance',
    id,
    {
      instanceId: id,
      instanceType: 't3.micro',
      state: 'running',
      launchTime: '2026-01-01T00:00:00.000Z',
      stoppedSince: null,
      imageId: null,
      platform: null,
      metadataOptions: { httpTokens: 'optional', httpEndpoint: 'enabled' },
      securityGroupIds: o.sgs ?? [],
      networkInterfaceIds: o.enis ?? [],
      volumeIds: o.volumes ?? [],
      publicIp: null,
      utilization: null,
    },
    { tags: o.tags ?? {} },
  );

export const volume = (
  id: string,
  o: { attachedTo?: string; type?: string; size?: number; iops?: number | null } = {},
) =>
  res('AWS::EC2::Volume', id, {
    volumeId: id,
    volumeType: o.type ?? 'gp3',
    sizeGiB: o.size ?? 100,
    iops: o.iops === undefined ? 3000 : o.iops,
    throughput: o.type === 'gp2' ? null : 125,
    encrypted: true,
    kmsKeyId: null,
    state: o.attachedTo ? 'in-use' : 'available',
    createTime: '2026-01-01T00:00:00.000Z',
    snapshotId: null,
    attachments: o.attachedTo
      ? [{ instanceId: o.attachedTo, device: '/dev/sdf', deleteOnTermination: false }]
      : [],
  });

export const eni = (id: string, instanceId: string | null, groupIds: string[]) =>
  res('AWS::EC2::NetworkInterface', id, {
    networkInterfaceId: id,
    instanceId,
    groupIds,
    privateIp: '10.0.0.1',
    publicIp: null,
  });

export const eip = (id: string, instanceId: string | null) =>
  res('AWS::EC2::EIP', id, {
    allocationId: id,
    publicIp: '3.3.3.3',
    associationId: instanceId ? `eipassoc-${id}` : null,
    instanceId,
    networkInterfaceId: null,
  });

export const group = (
  id: string,
  rules: InventoryResource<'AWS::EC2::SecurityGroup'>['data']['rules'],
  o: { name?: string; enis?: string[] } = {},
) =>
  res('AWS::EC2::SecurityGroup', id, {
    groupId: id,
    groupName: o.name ?? `app-${id}`,
    vpcId: 'vpc-1',
    description: 'test',
    rules,
    networkInterfaceIds: o.enis ?? [],
  });

export const bucket = (
  name: string,
  o: Partial<InventoryResource<'AWS::S3::Bucket'>['data']> = {},
) =>
  res('AWS::S3::Bucket', name, {
    name,
    creationDate: null,
    publicAccessBlock: null,
    objectOwnership: null,
    acl: [],
    policy: null,
    policyIsPublic: null,
    encryption: { algorithm: 'AES256', kmsKeyId: null, bucketKeyEnabled: false },
    versioning: null,
    mfaDelete: false,
    logging: null,
    lifecycleRuleCount: 0,
    ...o,
  });

export const rule = (
  ruleId: string,
  o: Partial<InventoryResource<'AWS::EC2::SecurityGroup'>['data']['rules'][number]> = {},
) => ({
  ruleId,
  isEgress: false,
  protocol: 'tcp',
  fromPort: 22,
  toPort: 22,
  cidrIpv4: '0.0.0.0/0',
  cidrIpv6: null,
  referencedGroupId: null,
  prefixListId: null,
  description: null,
  ...o,
});
