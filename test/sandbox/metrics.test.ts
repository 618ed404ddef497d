// CloudWatch series: the sampler that continues FNV-1a from a per-series prefix (no string per sample)
// gives exactly the values of the plain formulas over `${id}|${metric}|${bucket}` strings, which the
// documented answer key and every earlier scan were computed with.
import { describe, expect, it } from 'vitest';
import { generateAccount } from '../../src/sandbox/generator.js';
import { SAMPLE_MS, series } from '../../src/sandbox/metrics.js';
import { fnvDigits, fnvText, hash32, unit } from '../../src/sandbox/prng.js';

const NOW = Date.UTC(2026, 10, 1);
const DAY = 86_400_000;

/** The plain formulas, one string per sample (the sandbox's original form, kept here as the reference). */
function plainSample(
  id: string,
  profile: 'idle' | 'normal',
  metric: string,
  bucket: number,
): number | undefined {
  const u = unit(`${id}|${metric}|${bucket}`);
  const base = unit(`${id}|base|${metric}`);
  const idle = profile === 'idle';
  switch (metric) {
    case 'CPUUtilization':
      return idle ? 0.2 + base * 1.0 + u * 0.3 : 15 + base * 35 + u * 10;
    case 'NetworkIn':
    case 'NetworkOut':
      return idle ? 1000 + base * 5000 + u * 2000 : 2e6 + base * 15e6 + u * 3e6;
    case 'DatabaseConnections':
      return idle ? 0 : Math.round(5 + base * 30 + u * 5);
    case 'FreeStorageSpace':
      return 10e9 + base * 50e9;
    default:
      return undefined;
  }
}

describe('sandbox metric series', () => {
  it('continuing FNV-1a over digits equals hashing the whole string', () => {
    for (const n of [0, 7, 10, 99, 100, 5_893_344, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER]) {
      const prefix = 'i-0abc|CPUUtilization|';
      expect(fnvDigits(n, fnvText(prefix))).toBe(fnvText(prefix + String(n)));
    }
    expect(hash32('')).toBe(hash32(''));
    expect(hash32('abc')).not.toBe(hash32('abd'));
  });

  it('every sample of every metric equals the plain formula, for idle and normal instances and databases', () => {
    const { account } = generateAccount({
      seed: 'metrics',
      size: 200,
      regions: ['us-east-1'],
      now: NOW,
    });
    const region = account.regions.get('us-east-1')!;
    const instances = [...region.ec2.instances.values()].filter((i) => i.state === 'running');
    const idle = instances.filter((i) => i.profile === 'idle').slice(0, 3);
    const normal = instances.filter((i) => i.profile === 'normal').slice(0, 3);
    expect(idle.length).toBeGreaterThan(0);
    expect(normal.length).toBeGreaterThan(0);
    let compared = 0;
    for (const i of [...idle, ...normal]) {
      for (const metric of ['CPUUtilization', 'NetworkIn', 'NetworkOut']) {
        const points = series(
          account,
          'us-east-1',
          'AWS/EC2',
          metric,
          { InstanceId: i.id },
          NOW - 3 * DAY,
          NOW,
          3600,
        );
        expect(points.length).toBeGreaterThan(0);
        for (const p of points) {
          const b0 = Math.floor(p.timestamp / SAMPLE_MS);
          const want = p.values.map((_, k) => plainSample(i.id, i.profile, metric, b0 + k));
          expect(p.values).toEqual(want);
          compared += p.values.length;
        }
      }
    }
    const dbs = [...region.rds.instances.values()].slice(0, 3);
    for (const d of dbs) {
      for (const metric of ['DatabaseConnections', 'CPUUtilization', 'FreeStorageSpace']) {
        for (const p of series(
          account,
          'us-east-1',
          'AWS/RDS',
          metric,
          { DBInstanceIdentifier: d.id },
          NOW - DAY,
          NOW,
          300,
        )) {
          const b = Math.floor(p.timestamp / SAMPLE_MS);
          expect(p.values).toEqual([plainSample(d.resourceId, d.profile, metric, b)]);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });
});
