// Deterministic CloudWatch series: a value per resource, metric and 5-minute bucket, derived
// from hashes, so the same question always gets the same answer. Idle resources are low.
import { fnvDigits, fnvEnd, fnvText, unit } from './prng.js';
import type { Account, RegionState } from './state.js';

export const SAMPLE_MS = 5 * 60 * 1000;

interface Source {
  id: string;
  profile: 'idle' | 'normal';
  from: number;
  /** No data after this time (a stopped instance). */
  until?: number;
}

function source(
  region: RegionState,
  namespace: string,
  dims: Record<string, string>,
): Source | undefined {
  if (namespace === 'AWS/EC2' && dims.InstanceId) {
    const i = region.ec2.instances.get(dims.InstanceId);
    if (!i) return undefined;
    const stopped = i.state === 'stopped' || i.state === 'stopping' || i.state === 'terminated';
    return {
      id: i.id,
      profile: i.profile,
      from: i.launchTime,
      until: stopped ? (i.stoppedAt ?? i.launchTime) : undefined,
    };
  }
  if (namespace === 'AWS/RDS' && dims.DBInstanceIdentifier) {
    const d = region.rds.instances.get(dims.DBInstanceIdentifier);
    if (!d) return undefined;
    return { id: d.resourceId, profile: d.profile, from: d.createTime };
  }
  return undefined;
}

/**
 * The values of one resource's metric by 5-minute sample: undefined when the resource had no data then.
 * Sample b is derived from unit(`${id}|${metric}|${b}`) and unit(`${id}|base|${metric}`); the second is
 * the same for every sample, and the first continues FNV-1a from the state after `${id}|${metric}|`, so
 * a series of thousands of samples makes no strings (the values are those of the plain formulas).
 */
function sampler(src: Source, metric: string): (bucket: number) => number | undefined {
  const base = unit(`${src.id}|base|${metric}`);
  const prefix = fnvText(`${src.id}|${metric}|`);
  const idle = src.profile === 'idle';
  // Consecutive samples share all digits but the last: the state after the others is kept.
  let tens = -1;
  let afterTens = prefix;
  const noise = (bucket: number): number => {
    if (bucket < 0 || !Number.isSafeInteger(bucket))
      return fnvEnd(fnvText(String(bucket), prefix)) / 4294967296;
    const t = Math.floor(bucket / 10);
    if (t !== tens) {
      tens = t;
      afterTens = t === 0 ? prefix : fnvDigits(t, prefix);
    }
    return fnvEnd(Math.imul(afterTens ^ (48 + (bucket % 10)), 0x01000193)) / 4294967296;
  };
  const value = ((): ((u: number) => number) | undefined => {
    switch (metric) {
      case 'CPUUtilization':
        // idle: 0.2–1.5 %, normal: 15–60 %
        return idle ? (u) => 0.2 + base * 1.0 + u * 0.3 : (u) => 15 + base * 35 + u * 10;
      case 'NetworkIn':
      case 'NetworkOut':
        // bytes per 5 minutes. idle: 1–8 KB (≤ 2.3 MB/day); normal: 2–20 MB
        return idle ? (u) => 1000 + base * 5000 + u * 2000 : (u) => 2e6 + base * 15e6 + u * 3e6;
      case 'DatabaseConnections':
        return idle ? () => 0 : (u) => Math.round(5 + base * 30 + u * 5);
      case 'FreeStorageSpace':
        return () => 10e9 + base * 50e9;
      default:
        return undefined;
    }
  })();
  return (bucket) => {
    const t = bucket * SAMPLE_MS;
    if (value === undefined || t < src.from || (src.until !== undefined && t > src.until))
      return undefined;
    return value(noise(bucket));
  };
}

export interface Datapoint {
  timestamp: number;
  values: number[];
}

/** Samples grouped by period between start and end (aligned to the period). */
export function series(
  account: Account,
  regionName: string,
  namespace: string,
  metric: string,
  dims: Record<string, string>,
  start: number,
  end: number,
  periodSeconds: number,
): Datapoint[] {
  const region = account.regions.get(regionName);
  if (!region) return [];
  const src = source(region, namespace, dims);
  if (!src) return [];
  const periodMs = Math.max(60, periodSeconds) * 1000;
  const out: Datapoint[] = [];
  const sample = sampler(src, metric);
  const first = Math.ceil(start / periodMs) * periodMs;
  for (let p = first; p < end; p += periodMs) {
    const values: number[] = [];
    const b0 = Math.floor(p / SAMPLE_MS);
    const b1 = Math.max(b0 + 1, Math.floor((p + periodMs) / SAMPLE_MS));
    for (let b = b0; b < b1; b++) {
      const v = sample(b);
      if (v !== undefined) values.push(v);
    }
    if (values.length) out.push({ timestamp: p, values });
  }
  return out;
}

export function statistic(values: number[], stat: string): number {
  const sum = values.reduce((a, b) => a + b, 0);
  switch (stat) {
    case 'Sum':
      return sum;
    case 'Minimum':
      return Math.min(...values);
    case 'Maximum':
      return Math.max(...values);
    case 'SampleCount':
      return values.length;
    default: {
      const pm = /^p(\d+(?:\.\d+)?)$/.exec(stat);
      if (pm) {
        const sorted = [...values].sort((a, b) => a - b);
        const idx = Math.min(sorted.length - 1, Math.floor((Number(pm[1]) / 100) * sorted.length));
        return sorted[idx]!;
      }
      return sum / values.length;
    }
  }
}
