// The engine against the sandbox's answer key: for several generated accounts (different seeds,
// sizes, regions, the opt-in problems, the account block on), every planted problem is found and
// nothing else — traps included. The account state is read into the inventory contract by a
// test-only reader; the same comparison through the scanner and the real SDK is written at merge.
import { describe, expect, it } from 'vitest';
import { fingerprintAccessKeyId } from '../../src/cloud/inventory.js';
import { evaluate } from '../../src/findings/engine.js';
import { generateAccount, type GenerateOptions } from '../../src/sandbox/generator.js';
import { inventoryFromState } from './state-inventory.js';

const NOW = Date.UTC(2026, 10, 30);

function keyOf(problem: string, type: string, id: string, region: string): string {
  return `${problem}|${type}|${id}|${region}`;
}

function compare(opts: GenerateOptions) {
  const g = generateAccount({ now: NOW, ...opts });
  const inventory = inventoryFromState(g.account, NOW);
  const found = evaluate(inventory, { now: NOW });
  const expected = new Set(
    g.answerKey.map((a) =>
      keyOf(
        a.problem,
        a.resourceType,
        a.resourceType === 'AWS::IAM::AccessKey'
          ? fingerprintAccessKeyId(a.resourceId)
          : a.resourceId,
        a.region,
      ),
    ),
  );
  const actual = new Set(
    found.map((f) => keyOf(f.checkId, f.resourceType, f.resourceId, f.region)),
  );
  return {
    g,
    found,
    missed: [...expected].filter((k) => !actual.has(k)).sort(),
    extra: [...actual].filter((k) => !expected.has(k)).sort(),
  };
}

describe('the engine and the sandbox answer key', () => {
  const accounts: Array<[string, GenerateOptions]> = [
    ['default account, 2 regions', { seed: 'findings-a', size: 300 }],
    [
      'larger account, 3 regions',
      { seed: 'findings-b', size: 900, regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'] },
    ],
    [
      'opt-in problems (no logging multi-region trail, pre-2023 encryption)',
      { seed: 'findings-c', size: 300, include: ['cloudtrail_missing', 's3_bucket_no_encryption'] },
    ],
    [
      'account-level block on: public ACL and policy buckets become traps',
      {
        seed: 'findings-d',
        size: 300,
        omit: ['s3_account_public_access_block_off'],
        regions: ['eu-west-1'],
      },
    ],
  ];
  for (const [name, opts] of accounts) {
    it(`finds exactly the answer key: ${name}`, () => {
      const { g, missed, extra, found } = compare(opts);
      expect(g.answerKey.length).toBeGreaterThan(30);
      expect(missed).toEqual([]);
      expect(extra).toEqual([]);
      // No trap resource carries the finding it looks like.
      for (const trap of g.traps) {
        const id = trap.resourceType === 'AWS::IAM::User' ? null : trap.resourceId;
        const hits = found.filter(
          (f) =>
            f.checkId === trap.looksLike &&
            (id === null ? f.resourceArn.startsWith(`${trap.resourceArn}/`) : f.resourceId === id),
        );
        expect({ trap: trap.trap, hits }).toEqual({ trap: trap.trap, hits: [] });
      }
    });
  }

  it('covers every problem id of the sandbox with a check of the same id', () => {
    const { g } = compare({
      seed: 'findings-e',
      size: 300,
      include: ['cloudtrail_missing', 's3_bucket_no_encryption'],
    });
    const planted = new Set(g.answerKey.map((a) => a.problem));
    expect(planted.size).toBeGreaterThanOrEqual(40);
  });
});
