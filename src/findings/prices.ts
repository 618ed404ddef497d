// The price table behind the estimated monthly savings of cost findings. These are ESTIMATES:
// on-demand list prices for us-east-1 as published on the AWS pricing pages below (Linux, single-AZ,
// no Savings Plans, Reserved Instances, free tier or private pricing), times a per-region multiplier.
// A figure Axiom cannot price (an unknown instance class or volume type) is left out rather than guessed.
//
// Sources (us-east-1 list prices):
//   EBS volumes and snapshots   https://aws.amazon.com/ebs/pricing/
//   EC2 on-demand instances     https://aws.amazon.com/ec2/pricing/on-demand/
//   Public IPv4 addresses       https://aws.amazon.com/vpc/pricing/ (USD 0.005 per IP-hour since 2024-02-01)
//   RDS on-demand instances     https://aws.amazon.com/rds/postgresql/pricing/ and /rds/mysql/pricing/
// Region multipliers: the ratio of each region's EBS gp3 storage list price to us-east-1's (USD 0.08 per
// GB-month), applied to every price. Compute prices differ from that ratio by a few percent per region,
// so outside us-east-1 the figures are rougher still.

/** AWS bills by the hour; a month is 730 hours on its pricing pages. */
export const HOURS_PER_MONTH = 730;

/** USD per GB-month of provisioned EBS storage, by volume type (us-east-1). */
export const EBS_STORAGE_PER_GB_MONTH: Record<string, number> = {
  gp3: 0.08,
  gp2: 0.1,
  io1: 0.125,
  io2: 0.125,
  st1: 0.045,
  sc1: 0.015,
  standard: 0.05,
};

/** Provisioned performance on top of storage (us-east-1). */
export const EBS_GP3_IOPS_PER_MONTH = 0.005; // per IOPS-month above 3,000
export const EBS_GP3_THROUGHPUT_PER_MIBPS_MONTH = 0.04; // per MiB/s-month above 125
export const EBS_IO1_IOPS_PER_MONTH = 0.065; // per provisioned IOPS-month (io1; io2's first tier)
export const EBS_SNAPSHOT_PER_GB_MONTH = 0.05; // standard tier

/** Public IPv4 address, in use or idle (us-east-1), USD per hour. */
export const PUBLIC_IPV4_PER_HOUR = 0.005;

/** EC2 on-demand, Linux, USD per hour (us-east-1). */
export const EC2_PER_HOUR: Record<string, number> = {
  't2.micro': 0.0116,
  't2.small': 0.023,
  't2.medium': 0.0464,
  't3.nano': 0.0052,
  't3.micro': 0.0104,
  't3.small': 0.0208,
  't3.medium': 0.0416,
  't3.large': 0.0832,
  't3.xlarge': 0.1664,
  't3.2xlarge': 0.3328,
  't4g.micro': 0.0084,
  't4g.small': 0.0168,
  't4g.medium': 0.0336,
  't4g.large': 0.0672,
  'm5.large': 0.096,
  'm5.xlarge': 0.192,
  'm5.2xlarge': 0.384,
  'm5.4xlarge': 0.768,
  'm6i.large': 0.096,
  'm6i.xlarge': 0.192,
  'm6i.2xlarge': 0.384,
  'm6g.large': 0.077,
  'm6g.xlarge': 0.154,
  'c5.large': 0.085,
  'c5.xlarge': 0.17,
  'c5.2xlarge': 0.34,
  'c6i.large': 0.085,
  'c6i.xlarge': 0.17,
  'r5.large': 0.126,
  'r5.xlarge': 0.252,
  'r5.2xlarge': 0.504,
  'r6i.large': 0.126,
  'r6i.xlarge': 0.252,
};

/** RDS single-AZ on-demand, USD per hour (us-east-1), by engine family. Multi-AZ doubles it. */
export const RDS_PER_HOUR: Record<string, { postgres: number; mysql: number }> = {
  'db.t3.micro': { postgres: 0.018, mysql: 0.017 },
  'db.t3.small': { postgres: 0.036, mysql: 0.034 },
  'db.t3.medium': { postgres: 0.072, mysql: 0.068 },
  'db.t3.large': { postgres: 0.145, mysql: 0.136 },
  'db.m5.large': { postgres: 0.178, mysql: 0.171 },
  'db.m5.xlarge': { postgres: 0.356, mysql: 0.342 },
  'db.m6g.large': { postgres: 0.159, mysql: 0.152 },
  'db.r5.large': { postgres: 0.25, mysql: 0.24 },
  'db.r6g.large': { postgres: 0.225, mysql: 0.215 },
};

/** Region price multipliers relative to us-east-1 (gp3 storage list prices). */
export const REGION_MULTIPLIER: Record<string, number> = {
  'us-east-1': 1,
  'us-east-2': 1,
  'us-west-2': 1,
  'us-west-1': 1.2,
  'ca-central-1': 1.1,
  'eu-west-1': 1.1,
  'eu-west-2': 1.16,
  'eu-west-3': 1.16,
  'eu-central-1': 1.19,
  'eu-north-1': 1.045,
  'ap-south-1': 1.14,
  'ap-northeast-1': 1.2,
  'ap-northeast-2': 1.14,
  'ap-southeast-1': 1.2,
  'ap-southeast-2': 1.2,
  'sa-east-1': 1.9,
};

export function regionMultiplier(region: string): number {
  return REGION_MULTIPLIER[region] ?? 1;
}

const cents = (usd: number): number => Math.round(usd * 100) / 100;

/** Monthly cost of a volume's storage and provisioned performance; null when the type is unknown. */
export function volumeMonthlyUsd(v: {
  volumeType: string;
  sizeGiB: number;
  iops: number | null;
  throughput: number | null;
  region: string;
}): number | null {
  const perGb = EBS_STORAGE_PER_GB_MONTH[v.volumeType];
  if (perGb === undefined) return null;
  let usd = perGb * v.sizeGiB;
  if (v.volumeType === 'gp3') {
    usd += Math.max(0, (v.iops ?? 3000) - 3000) * EBS_GP3_IOPS_PER_MONTH;
    usd += Math.max(0, (v.throughput ?? 125) - 125) * EBS_GP3_THROUGHPUT_PER_MIBPS_MONTH;
  } else if (v.volumeType === 'io1' || v.volumeType === 'io2') {
    usd += (v.iops ?? 0) * EBS_IO1_IOPS_PER_MONTH;
  }
  return cents(usd * regionMultiplier(v.region));
}

/**
 * gp2 → gp3 at the same size. gp2 earns 3 IOPS per GiB (at least 100); a gp2 volume above 3,000 IOPS
 * needs those IOPS provisioned on gp3, which eats into the saving (never below zero).
 */
export function gp2ToGp3MonthlySavingUsd(v: {
  sizeGiB: number;
  iops: number | null;
  region: string;
}): number {
  const gp2 = EBS_STORAGE_PER_GB_MONTH.gp2! * v.sizeGiB;
  const neededIops = Math.max(100, v.iops ?? 3 * v.sizeGiB);
  const gp3 =
    EBS_STORAGE_PER_GB_MONTH.gp3! * v.sizeGiB +
    Math.max(0, neededIops - 3000) * EBS_GP3_IOPS_PER_MONTH;
  return cents(Math.max(0, gp2 - gp3) * regionMultiplier(v.region));
}

/** Upper bound for a snapshot (snapshots are incremental; Axiom sees only the source volume's size). */
export function snapshotMonthlyUsd(sizeGiB: number, region: string): number {
  return cents(EBS_SNAPSHOT_PER_GB_MONTH * sizeGiB * regionMultiplier(region));
}

export function publicIpv4MonthlyUsd(region: string): number {
  return cents(PUBLIC_IPV4_PER_HOUR * HOURS_PER_MONTH * regionMultiplier(region));
}

export function instanceMonthlyUsd(instanceType: string, region: string): number | null {
  const h = EC2_PER_HOUR[instanceType];
  return h === undefined ? null : cents(h * HOURS_PER_MONTH * regionMultiplier(region));
}

export function dbInstanceMonthlyUsd(
  instanceClass: string,
  engine: string,
  multiAz: boolean,
  region: string,
): number | null {
  const row = RDS_PER_HOUR[instanceClass];
  if (!row) return null;
  const family = /postgres/i.test(engine)
    ? 'postgres'
    : /mysql|mariadb/i.test(engine)
      ? 'mysql'
      : null;
  if (!family) return null;
  return cents(row[family] * (multiAz ? 2 : 1) * HOURS_PER_MONTH * regionMultiplier(region));
}
