// The S3 collector's calls per bucket go to the bucket's region under that (region, s3) caller: the scan
// unit is global (the bucket list), but a bucket's nine configuration reads go to its regional endpoint
// and take that region's concurrency, not one queue for every bucket of the account.
import { describe, expect, it } from 'vitest';
import { AwsSession } from '../../src/cloud/aws.js';
import { collectS3, type CollectContext } from '../../src/cloud/collectors.js';
import { useSandbox } from '../support/cloud.js';

const sandbox = useSandbox({
  accounts: [{ seed: 'collectors-test', size: 80, regions: ['us-east-1', 'eu-west-1'] }],
});

describe('collectS3', () => {
  it('sends each bucket’s calls through the caller of the bucket’s region', async () => {
    const sb = sandbox();
    const account = sb.accounts[0]!;
    const session = new AwsSession(
      { endpointUrl: sb.endpoint },
      account.adminCredentials,
      () => {},
    );
    const calls = new Map<string, number>();
    const counting =
      (name: string): CollectContext['call'] =>
      (fn) => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        return fn();
      };
    const regional = new Map<string, CollectContext['call']>();
    try {
      const items = await collectS3({
        session,
        accountId: account.accountId,
        region: 'us-east-1',
        call: counting('unit'),
        callIn: (region) => {
          if (!regional.has(region)) regional.set(region, counting(region));
          return regional.get(region)!;
        },
        now: new Date(),
        ownRoleNames: new Set(),
      });
      const buckets = items.filter((r) => r.type === 'AWS::S3::Bucket');
      const byRegion = new Map<string, number>();
      for (const b of buckets) byRegion.set(b.region, (byRegion.get(b.region) ?? 0) + 1);
      // Buckets in both regions, each region's calls through its own caller: at least the nine
      // configuration reads per bucket there; the unit's own caller only lists (account block, buckets).
      expect([...byRegion.keys()].sort()).toEqual(['eu-west-1', 'us-east-1']);
      expect([...regional.keys()].sort()).toEqual(['eu-west-1', 'us-east-1']);
      for (const [region, n] of byRegion) expect(calls.get(region)).toBeGreaterThanOrEqual(9 * n);
      expect(calls.get('unit')).toBe(2);
    } finally {
      session.close();
    }
  });
});
