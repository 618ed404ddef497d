// Blast radius: the resources a plan touches plus the resources that depend on them, found by a
// breadth-first walk (up to 3 hops) over the references the inventory records — a security
// group's network interfaces and their instances, an instance's volumes and Elastic IPs, a
// volume's instance, the buckets under an account-wide block, the trails writing to a bucket.
// Its class (contained 1–5, moderate 6–20, broad 21+) and the actions' reversibility give the
// plan's risk tier.
import type { AnyInventoryResource, InventoryResource, ResourceType } from '../cloud/inventory.js';
import { ACTIONS, isExecutableAction, type ActionId, type RiskTier } from '../execution/catalog.js';

export type BlastRadiusClass = 'contained' | 'moderate' | 'broad';

export interface Dependent {
  arn: string;
  type: ResourceType;
  resourceId: string;
  /** Hops from the nearest touched resource (1..maxHops). */
  hops: number;
  /** The resource it was reached from, and why it depends on it. */
  from: string;
  via: string;
}

export interface BlastRadius {
  touched: string[];
  dependents: Dependent[];
  /** touched + dependents */
  total: number;
  class: BlastRadiusClass;
  /** Touched ARNs that are not in the inventory (their dependents are unknown). */
  unknown: string[];
}

export const MAX_HOPS = 3;

/** contained 1–5, moderate 6–20, broad 21+ (Axiom resolves the published 20/20+ overlap this way). */
export function blastRadiusClass(total: number): BlastRadiusClass {
  return total <= 5 ? 'contained' : total <= 20 ? 'moderate' : 'broad';
}

type Edge = { to: AnyInventoryResource; via: string };

/** Who depends on each resource, from the references the inventory carries. */
export function dependencyIndex(inventory: AnyInventoryResource[]): Map<string, Edge[]> {
  const out = new Map<string, Edge[]>();
  const add = (
    from: AnyInventoryResource | undefined,
    to: AnyInventoryResource | undefined,
    via: string,
  ) => {
    if (!from || !to || from.arn === to.arn) return;
    const list = out.get(from.arn) ?? [];
    if (!list.some((e) => e.to.arn === to.arn)) list.push({ to, via });
    out.set(from.arn, list);
  };
  const of = <T extends ResourceType>(t: T) =>
    inventory.filter((r): r is InventoryResource<T> & AnyInventoryResource => r.type === t);
  const key = (r: AnyInventoryResource, id: string) => `${r.accountId}/${r.region}/${id}`;
  const byId = new Map<string, AnyInventoryResource>();
  for (const r of inventory) byId.set(key(r, r.resourceId), r);
  const find = (near: AnyInventoryResource, id: string | null) =>
    id ? byId.get(key(near, id)) : undefined;

  const enis = of('AWS::EC2::NetworkInterface');
  const instances = of('AWS::EC2::Instance');
  const volumes = of('AWS::EC2::Volume');
  const eips = of('AWS::EC2::EIP');
  const buckets = of('AWS::S3::Bucket');

  for (const g of of('AWS::EC2::SecurityGroup')) {
    for (const id of g.data.networkInterfaceIds)
      add(g, find(g, id), 'network interface in the group');
    for (const n of enis)
      if (n.region === g.region && n.data.groupIds.includes(g.data.groupId))
        add(g, n, 'network interface in the group');
    for (const i of instances)
      if (i.region === g.region && i.data.securityGroupIds.includes(g.data.groupId))
        add(g, i, 'instance in the group');
    for (const d of of('AWS::RDS::DBInstance'))
      if (d.region === g.region && d.data.securityGroupIds.includes(g.data.groupId))
        add(g, d, 'DB instance in the group');
  }
  for (const n of enis) {
    add(n, find(n, n.data.instanceId), 'instance using the interface');
    for (const a of eips)
      if (a.region === n.region && a.data.networkInterfaceId === n.data.networkInterfaceId)
        add(n, a, 'Elastic IP on the interface');
  }
  for (const i of instances) {
    for (const id of i.data.volumeIds) add(i, find(i, id), "the instance's volume");
    for (const id of i.data.networkInterfaceIds)
      add(i, find(i, id), "the instance's network interface");
    for (const a of eips)
      if (a.region === i.region && a.data.instanceId === i.data.instanceId)
        add(i, a, "the instance's Elastic IP");
  }
  for (const v of volumes) {
    for (const a of v.data.attachments) {
      add(v, find(v, a.instanceId), 'instance the volume is attached to');
      const inst = find(v, a.instanceId);
      if (inst) add(inst, v, "the instance's volume");
    }
  }
  for (const a of eips) {
    add(a, find(a, a.data.instanceId), 'instance behind the address');
    add(a, find(a, a.data.networkInterfaceId), 'interface behind the address');
  }
  for (const pab of of('AWS::S3::AccountPublicAccessBlock'))
    for (const b of buckets)
      if (b.accountId === pab.accountId) add(pab, b, 'bucket under the account-wide block');
  const bucketByName = new Map(buckets.map((b) => [`${b.accountId}/${b.data.name}`, b]));
  for (const t of of('AWS::CloudTrail::Trail'))
    if (t.data.s3BucketName)
      add(
        bucketByName.get(`${t.accountId}/${t.data.s3BucketName}`),
        t,
        'trail delivering to the bucket',
      );
  for (const b of buckets)
    if (b.data.logging)
      add(
        bucketByName.get(`${b.accountId}/${b.data.logging.targetBucket}`),
        b,
        'bucket logging into it',
      );
  const users = new Map(of('AWS::IAM::User').map((u) => [`${u.accountId}/${u.data.userName}`, u]));
  for (const k of of('AWS::IAM::AccessKey'))
    add(k, users.get(`${k.accountId}/${k.data.userName}`), "the key's user");
  return out;
}

/** Resources touched plus their dependents up to `maxHops` hops. */
export function blastRadius(
  touchedArns: string[],
  inventory: AnyInventoryResource[],
  opts: { maxHops?: number; index?: Map<string, Edge[]> } = {},
): BlastRadius {
  const maxHops = opts.maxHops ?? MAX_HOPS;
  const index = opts.index ?? dependencyIndex(inventory);
  const known = new Set(inventory.map((r) => r.arn));
  const touched = [...new Set(touchedArns)];
  const seen = new Set(touched);
  const dependents: Dependent[] = [];
  let frontier = touched.filter((a) => known.has(a));
  for (let hop = 1; hop <= maxHops && frontier.length; hop++) {
    const next: string[] = [];
    for (const arn of frontier)
      for (const e of index.get(arn) ?? []) {
        if (seen.has(e.to.arn)) continue;
        seen.add(e.to.arn);
        dependents.push({
          arn: e.to.arn,
          type: e.to.type,
          resourceId: e.to.resourceId,
          hops: hop,
          from: arn,
          via: e.via,
        });
        next.push(e.to.arn);
      }
    frontier = next;
  }
  const total = touched.length + dependents.length;
  return {
    touched,
    dependents,
    total,
    class: blastRadiusClass(total),
    unknown: touched.filter((a) => !known.has(a)),
  };
}

const ORDER: RiskTier[] = ['low', 'medium', 'high'];
const max = (a: RiskTier, b: RiskTier): RiskTier => (ORDER.indexOf(a) >= ORDER.indexOf(b) ? a : b);

/**
 * The plan's risk tier: the highest of its actions' (irreversible → high, partially reversible →
 * medium, stop/snapshot-and-delete → medium, else low), raised by the blast radius (moderate →
 * at least medium, broad → high). Manual actions are never executed and do not count.
 */
export function riskTier(actions: ActionId[], radius: BlastRadiusClass): RiskTier {
  let tier: RiskTier = 'low';
  for (const a of actions) if (isExecutableAction(a)) tier = max(tier, ACTIONS[a].baseRisk);
  if (radius === 'moderate') tier = max(tier, 'medium');
  if (radius === 'broad') tier = 'high';
  return tier;
}

/** Distinct approvers a tier needs (never the author): high needs two. */
export const approversRequired = (tier: RiskTier): number => (tier === 'high' ? 2 : 1);

/** The risk assessment of a set of plan steps over the inventory they were built from. */
export function assessPlan(
  steps: { actionId: ActionId; resourceArn: string }[],
  inventory: AnyInventoryResource[],
  opts: { blastRadiusCap?: number } = {},
): {
  blastRadius: BlastRadius;
  riskTier: RiskTier;
  approversRequired: number;
  /** Medium plans need a verified rollback path before approval (Axiom's rule). */
  rollbackVerificationRequired: boolean;
  withinCap: boolean;
} {
  const radius = blastRadius(
    steps.map((s) => s.resourceArn),
    inventory,
  );
  const tier = riskTier(
    steps.map((s) => s.actionId),
    radius.class,
  );
  return {
    blastRadius: radius,
    riskTier: tier,
    approversRequired: approversRequired(tier),
    rollbackVerificationRequired: tier !== 'low',
    withinCap: radius.total <= (opts.blastRadiusCap ?? 5),
  };
}
